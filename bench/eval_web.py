#!/usr/bin/python3
"""Flask under gunicorn (forked workers), native vs `sgxpy run` (docs/evaluation.md).

    bench/eval_web.py [--rounds 6] [--duration 3] [--workers 2] [--out DIR]

1. Copies eval/webapp to DIR/web/app, traces gunicorn while a bounded client loop
   (every route, 12 times) exercises it, and makes the bundle.
2. Throughput: wrk -t2 -c16 -dDURATION on 127.0.0.1, on "/" (code only) and on
   "/report" (template + CSV read on every request), ROUNDS rounds; the native and
   the run server run side by side and wrk alternates between them (ABBA); then
   two rounds of native vs `sgxpy trace` vs `strace -f` for reference.
3. Tamper: under run with --log, a template and a data file are modified while the
   server serves; requests that load them must fail (500) with a logged denial,
   the other routes keep serving, no worker dies.
Writes DIR/web.json.  Loopback only; every loop is bounded.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval_lib as L  # noqa: E402

APP = L.REPO / "eval" / "webapp"
ROUTES = ["/", "/hello/alice", "/report", "/items", "/config", "/compute/1000"]


def gunicorn(app, port, workers):
    return [L.PY, "/usr/bin/gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
            "--chdir", str(app), "--log-level", "warning", "app:app"]


class Server:
    """A server process behind an optional prefix (sgxpy run/trace, strace)."""

    def __init__(self, prefix, app, port, workers, log):
        self.port = port
        # strace does not pass SIGTERM on to its tracee: signal the whole group.
        self.group_term = bool(prefix) and str(prefix[0]) == "strace"
        self.errf = open(log, "w")
        self.p = subprocess.Popen([*map(str, prefix), *gunicorn(app, port, workers)],
                                  stdout=self.errf, stderr=subprocess.STDOUT, env=L.env(),
                                  cwd=str(app.parent), start_new_session=True)
        if not L.wait_http(port, timeout=60):
            self.stop()
            raise RuntimeError(f"server did not start: {' '.join(map(str, prefix))}; see {log}")

    def alive(self):
        return self.p.poll() is None

    def stop(self):
        if self.p.poll() is None:
            if self.group_term:
                os.killpg(self.p.pid, signal.SIGTERM)
            else:
                self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
        self.errf.close()
        return self.p.returncode


def wrk(port, route, duration):
    r = subprocess.run(["wrk", "-t2", "-c16", f"-d{duration}s", "--latency",
                        f"http://127.0.0.1:{port}{route}"], capture_output=True, text=True,
                       timeout=duration + 30)
    out = r.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def ms(s):
        v, u = re.match(r"([\d.]+)(\w+)", s).groups()
        return float(v) * {"us": 1e-3, "ms": 1, "s": 1e3, "m": 6e4}[u]
    lat = {}
    m = re.search(r"Latency\s+(\S+)", out)
    lat["avg"] = ms(m.group(1))
    for pct in ("50", "99"):
        m = re.search(rf"\s{pct}%\s+(\S+)", out)
        lat["p" + pct] = ms(m.group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {"rps": rps, "latency_ms": lat, "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": errors.group(0) if errors else ""}


def exercise(port, n=12):
    """Every route n times (bounded); returns {route: [statuses]}."""
    out = {}
    for _ in range(n):
        for r in ROUTES:
            out.setdefault(r, []).append(L.get(port, r)[0])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--duration", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=str(L.REPO / "build" / "eval"))
    a = ap.parse_args()
    a.duration = min(a.duration, 10)
    # SIGTERM (a stopped evaluation) unwinds like Ctrl-C: the servers are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    out = Path(a.out).resolve()
    w = out / "web"
    shutil.rmtree(w, ignore_errors=True)
    w.mkdir(parents=True)
    app = w / "app"
    shutil.copytree(APP, app, ignore=shutil.ignore_patterns("__pycache__"))
    res = {"command": " ".join(gunicorn("APP", "PORT", a.workers)), "workers": a.workers,
           "wrk": f"wrk -t2 -c16 -d{a.duration}s --latency"}

    print(f"== web: trace gunicorn -w {a.workers} while a client exercises {len(ROUTES)} routes",
          flush=True)
    port = L.free_port()
    trace = w / "web.trace"
    s = Server([L.SGXPY, "trace", "-o", trace], app, port, a.workers, w / "trace.log")
    res["trace_statuses"] = exercise(port)
    s.stop()
    bundle = w / "web.bundle"
    subprocess.run([L.SGXPY, "manifest", "-o", str(bundle), str(trace)], check=True,
                   capture_output=True)
    res["bundle"] = L.bundle_stats(bundle)

    modes = {"native": [], "run": [L.SGXPY, "run", bundle, "--"],
             "trace": [L.SGXPY, "trace", "-o", w / "bench.trace", "--"],
             "strace": ["strace", "-f", "-qq", "-o", "/dev/null", "--"]}
    # The servers of the compared modes run side by side (an idle gunicorn costs
    # nothing) and wrk alternates between them, ABBA, so that a load change on the
    # shared host hits both alike; the ratio is the median of per-pair ratios.
    def compare(names, rounds, tag):
        servers = {}
        try:
            for m in names:
                port = L.free_port()
                servers[m] = Server(modes[m], app, port, a.workers, w / f"{m}.log")
                exercise(port, 2)  # warm up every route in both workers
            for rnd in range(rounds):
                order = names if rnd % 2 == 0 else names[::-1]
                row = {m: {} for m in names}
                for r in ("/", "/report"):
                    for m in order:
                        row[m][r] = wrk(servers[m].port, r, a.duration)
                res[tag].append(row)
                print("   %s %d: " % (tag, rnd + 1) + "; ".join(
                    "%s %s %.0f" % (m, r, row[m][r]["rps"]) for m in names for r in ("/", "/report")),
                    flush=True)
        finally:
            for s_ in servers.values():
                s_.stop()

    print(f"== web: wrk {a.rounds} rounds x {{/, /report}}, native and run alternating", flush=True)
    res["rounds"] = []
    compare(["native", "run"], a.rounds, "rounds")
    print("== web: reference: native, sgxpy trace, strace -f", flush=True)
    res["reference"] = []
    compare(["native", "trace", "strace"], 2, "reference")

    print("== web: tamper a template and a data file while the server runs", flush=True)
    log = w / "tamper.jsonl"
    port = L.free_port()
    s = Server([L.SGXPY, "run", "--log", log, bundle, "--"], app, port, a.workers,
               w / "tamper.stderr")
    before = exercise(port, 3)
    with open(app / "templates" / "report.html", "a") as f:
        f.write("<!-- tampered -->\n")
    with open(app / "data" / "config.json", "a") as f:
        f.write(" ")
    after = exercise(port, 3)
    alive = s.alive() and L.get(port, "/")[0] == 200
    rc = s.stop()
    viol = L.violations(log)
    stderr = (w / "tamper.stderr").read_text(errors="replace")
    res["tamper"] = {
        "before": before, "after": after, "alive_after": alive, "exit": rc,
        "denials": [list(k) + [n] for k, n in viol.most_common(30)],
        "denial_lines": sorted({re.sub(r"pid \d+", "pid N", ln) for ln in stderr.splitlines()
                                if ln.startswith("sgxpy: denied:")}),
        "worker_died": bool(re.search(r"Worker \(pid:\d+\) (was sent|exited)", stderr)),
    }
    (out / "web.json").write_text(json.dumps(res, indent=1, sort_keys=True))
    nat = [r["native"]["/"]["rps"] for r in res["rounds"]]
    run = [r["run"]["/"]["rps"] for r in res["rounds"]]
    print("   run/native (/): " + " ".join("%.3f" % (b / a_) for a_, b in zip(nat, run)))
    print("   tamper: after", {k: sorted(set(v)) for k, v in after.items()}, "alive", alive)


if __name__ == "__main__":
    main()
