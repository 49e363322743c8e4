"""hello: sgxpy's example app.

Reads sales.csv, aggregates it with a local module (report.py), checks the
result with a second interpreter (worker.py, started with subprocess) and
prints a deterministic JSON summary.  Run from any directory:

    /usr/bin/python3 examples/hello/app.py
"""
import csv
import json
import os
import subprocess
import sys

import report

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    with open(os.path.join(HERE, "sales.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    totals = report.totals_by_region(rows)
    check = subprocess.run([sys.executable, os.path.join(HERE, "worker.py")],
                           input=json.dumps(totals), capture_output=True, text=True,
                           check=True)
    result = {"regions": totals, "grand_total": report.grand_total(totals),
              "worker": json.loads(check.stdout)}
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
