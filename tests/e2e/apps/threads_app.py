"""Threads test app: four threads, alive at once, each imports a different
stdlib module and writes its own file.

    /usr/bin/python3 threads_app.py OUTDIR

Prints "threads_app: fractions decimal statistics ipaddress".
"""
import importlib
import os
import sys
import threading

MODULES = ["fractions", "decimal", "statistics", "ipaddress"]


def main():
    out = sys.argv[1]
    barrier = threading.Barrier(len(MODULES) + 1)
    done = {}

    def work(i, name):
        barrier.wait()          # all threads alive at once
        importlib.import_module(name)
        with open(os.path.join(out, "thread-%d.txt" % i), "w") as f:
            f.write(name + "\n")
        done[i] = name
        barrier.wait()

    threads = [threading.Thread(target=work, args=(i, m)) for i, m in enumerate(MODULES)]
    for t in threads:
        t.start()
    barrier.wait()
    barrier.wait()
    for t in threads:
        t.join()
    print("threads_app: " + " ".join(done[i] for i in range(len(MODULES))))


if __name__ == "__main__":
    main()
