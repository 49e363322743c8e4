#!/usr/bin/python3
"""Trace overhead on `python3 -c "import numpy"`, side by side in one run.

    bench/trace_bench.py [--runs N] [--sgxpy PATH]

Runs native, `sgxpy trace`, `strace -f -qq --seccomp-bpf -e trace=%file,%process`
and `reprozip trace` (when installed) interleaved, round after round, so that a
noisy neighbour slows all of them alike; prints each one's median wall time and
its ratio to native.  Ratios, not absolute times, are the figures to quote.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = "/usr/bin/python3"
APP = [PY, "-c", "import numpy"]


def commands(sgxpy, work):
    cmds = [("native", APP),
            ("sgxpy trace", [sgxpy, "trace", "-o", f"{work}/t.trace", "--"] + APP),
            ("strace --seccomp-bpf", ["strace", "-f", "-qq", "--seccomp-bpf", "-e",
                                      "trace=%file,%process", "-o", "/dev/null"] + APP)]
    if shutil.which("reprozip"):
        cmds.append(("reprozip trace", ["reprozip", "trace", "--dont-identify-packages",
                                        "--overwrite", "-d", f"{work}/rz"] + APP))
    return cmds


def timed(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--sgxpy", default=os.environ.get("SGXPY", f"{ROOT}/build/sgxpy"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        cmds = commands(args.sgxpy, work)
        times = {name: [] for name, _ in cmds}
        for _ in range(3):                      # warm the page cache
            for _, cmd in cmds:
                timed(cmd)
        for _ in range(args.runs):
            for name, cmd in cmds:
                times[name].append(timed(cmd))
        stats = subprocess.run([args.sgxpy, "trace", "-v", "-o", f"{work}/s.trace", "--"] + APP,
                               capture_output=True, text=True).stderr.strip()
    base = statistics.median(times["native"])
    print(f"python3 -c 'import numpy', {args.runs} interleaved rounds, median wall time")
    print(f"{'':24s} {'ms':>8s} {'x native':>9s}")
    for name, ts in times.items():
        m = statistics.median(ts)
        print(f"{name:24s} {m * 1000:8.1f} {m / base:9.2f}")
    print(stats)


if __name__ == "__main__":
    sys.exit(main())
