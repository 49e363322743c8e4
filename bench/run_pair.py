"""Paired, interleaved timing of a native command and the same under `sgxpy run`:
    run_pair.py N NATIVE_CMD RUN_CMD      (commands as shell strings)
Prints medians and the median of the per-pair ratios (robust to a noisy host)."""
import statistics
import subprocess
import sys
import time

n, native, run = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ta, tb = [], []
for _ in range(n):
    for cmd, acc in ((native, ta), (run, tb)):
        t = time.perf_counter()
        subprocess.run(cmd, shell=True, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        acc.append(time.perf_counter() - t)
ratios = [b / a for a, b in zip(ta, tb)]
print("native %.1f ms  run %.1f ms  ratio %.3f (median of %d paired runs)"
      % (statistics.median(ta) * 1e3, statistics.median(tb) * 1e3, statistics.median(ratios), n))
