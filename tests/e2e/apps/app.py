"""Subprocess test app: reads data.txt, runs a shell pipeline and a second
Python interpreter on its own script.

    /usr/bin/python3 app.py

Run from any cwd; all names are relative to this file's directory.  Prints one
JSON line: {"lines": 5, "wc": 5, "worker": {"count": 5, "total": 150, ...}}.
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    with open(os.path.join(HERE, "data.txt")) as f:
        lines = f.read().splitlines()
    wc = subprocess.run(["/bin/sh", "-c", "cat data.txt | wc -l"], cwd=HERE,
                        capture_output=True, text=True, check=True).stdout.strip()
    worker = subprocess.run([sys.executable, "worker.py", "data.txt"], cwd=HERE,
                            capture_output=True, text=True, check=True).stdout
    print(json.dumps({"lines": len(lines), "wc": int(wc), "worker": json.loads(worker)},
                     sort_keys=True))


if __name__ == "__main__":
    main()
