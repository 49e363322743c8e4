"""Paired, interleaved timing of a native command and the same under `sgxpy run`:
    run_pair.py N NATIVE_CMD RUN_CMD      (commands as shell strings)
Prints median wall times, the median of the per-pair wall ratios, and the same
for CPU time (user+sys of the whole process tree, from the children's rusage),
which a busy host disturbs less than wall time."""
import resource
import statistics
import subprocess
import sys
import time


def cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


n, native, run = int(sys.argv[1]), sys.argv[2], sys.argv[3]
wall = {native: [], run: []}
cpus = {native: [], run: []}
for _ in range(n):
    for cmd in (native, run):
        c0, t0 = cpu(), time.perf_counter()
        subprocess.run(cmd, shell=True, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        wall[cmd].append(time.perf_counter() - t0)
        cpus[cmd].append(cpu() - c0)


def ratio(d):
    return statistics.median(b / a for a, b in zip(d[native], d[run]))


print("wall: native %.1f ms, run %.1f ms, ratio %.3f | cpu: native %.1f ms, run %.1f ms, "
      "ratio %.3f (medians of %d paired runs)"
      % (statistics.median(wall[native]) * 1e3, statistics.median(wall[run]) * 1e3, ratio(wall),
         statistics.median(cpus[native]) * 1e3, statistics.median(cpus[run]) * 1e3, ratio(cpus), n))
