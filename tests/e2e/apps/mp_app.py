"""multiprocessing test app: a fork child, a spawn child and a fork Pool.

    /usr/bin/python3 mp_app.py OUTDIR

The fork child writes OUTDIR/fork.txt, the spawn child (a fresh interpreter
exec'd by multiprocessing) writes OUTDIR/spawn.txt, and a Pool of 2 fork
workers squares 0..9; each worker writes OUTDIR/pool-<n>.txt for its first
task.  Prints "mp_app: 285" (sum of squares of 0..9).
"""
import multiprocessing as mp
import os
import sys


def write_tag(path, tag):
    with open(path, "w") as f:
        f.write(tag + "\n")


def square(x):
    path = os.path.join(sys.argv[1], "pool-%d.txt" % os.getpid())
    if not os.path.exists(path):
        write_tag(path, "pool")
    return x * x


def main():
    out = sys.argv[1]
    for method in ("fork", "spawn"):
        ctx = mp.get_context(method)
        p = ctx.Process(target=write_tag, args=(os.path.join(out, method + ".txt"), method))
        p.start()
        p.join()
        if p.exitcode != 0:
            sys.exit("mp_app: %s child exited %s" % (method, p.exitcode))
    with mp.get_context("fork").Pool(2) as pool:
        total = sum(pool.map(square, range(10), chunksize=1))
    print("mp_app: %d" % total)


if __name__ == "__main__":
    main()
