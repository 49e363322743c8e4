"""Evaluation slice (docs/evaluation.md): the Flask app eval/webapp under gunicorn
with 2 forked workers, traced while a client exercises its routes, then served
under `sgxpy run`.  Tampering with a template and a data file while it serves makes
exactly the requests that load them fail, each with a logged denial; the other
routes keep serving and no worker dies.  Loopback only, bounded request counts."""
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import eval_lib as L  # noqa: E402
from conftest import SGXPY, run_sgxpy  # noqa: E402

pytest.importorskip("flask")
SRC = Path(__file__).resolve().parents[2] / "eval" / "webapp"
GUNICORN = "/usr/bin/gunicorn"
ROUTES = ["/", "/hello/alice", "/report", "/items", "/config", "/compute/1000"]


def serve(prefix, app, port, log):
    f = open(log, "w")
    p = subprocess.Popen([*map(str, prefix), L.PY, GUNICORN, "-w", "2", "-b", f"127.0.0.1:{port}",
                          "--chdir", str(app), "app:app"], stdout=f, stderr=subprocess.STDOUT,
                         env=L.env(), cwd=str(app.parent), start_new_session=True)
    f.close()
    if not L.wait_http(port, timeout=60):
        stop(p)
        pytest.fail(f"server did not start:\n{Path(log).read_text()[-3000:]}")
    return p


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            import os
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    return p.returncode


def hit(port, n):
    """Every route n times; {route: set of statuses} (bounded: n * 6 requests)."""
    out = {}
    for _ in range(n):
        for r in ROUTES:
            out.setdefault(r, set()).add(L.get(port, r)[0])
    return out


@pytest.mark.skipif(not Path(GUNICORN).exists(), reason="gunicorn not installed")
def test_flask_tamper_fails_only_what_loads_it(tmp_path):
    tmp = tmp_path.resolve()
    app = tmp / "app"
    shutil.copytree(SRC, app, ignore=shutil.ignore_patterns("__pycache__"))
    port = L.free_port()
    trace = tmp / "web.trace"
    p = serve([SGXPY, "trace", "-o", trace, "--"], app, port, tmp / "trace.log")
    assert hit(port, 8) == {r: {200} for r in ROUTES}
    assert stop(p) == 0, (tmp / "trace.log").read_text()[-3000:]
    bundle = tmp / "web.bundle"
    m = run_sgxpy("manifest", "-o", bundle, trace)
    assert m.returncode == 0, m.stderr

    log = tmp / "run.jsonl"
    port = L.free_port()
    p = serve([SGXPY, "run", "--log", log, bundle, "--"], app, port, tmp / "run.log")
    try:
        assert hit(port, 4) == {r: {200} for r in ROUTES}, (tmp / "run.log").read_text()[-3000:]
        with open(app / "templates" / "report.html", "a") as f:
            f.write("<!-- tampered -->\n")
        with open(app / "data" / "config.json", "a") as f:
            f.write(" ")
        after = hit(port, 4)
        assert after == {"/": {200}, "/hello/alice": {200}, "/report": {500}, "/items": {200},
                         "/config": {500}, "/compute/1000": {200}}, after
        assert p.poll() is None
    finally:
        rc = stop(p)
    out = (tmp / "run.log").read_text(errors="replace")
    assert rc == 0, out[-3000:]
    assert not re.search(r"Worker \(pid:\d+\) (was sent|exited)", out), out[-3000:]
    lines = [l for l in out.splitlines() if l.startswith("sgxpy: denied: ")]
    for victim in ("templates/report.html", "data/config.json"):
        assert any(f"open {app / victim}: hash mismatch" in l for l in lines), lines
    viol = L.violations(log)
    assert {(k[2], k[3]) for k in viol if k[3] == "hash mismatch"} == {
        (str(app / "templates/report.html"), "hash mismatch"),
        (str(app / "data/config.json"), "hash mismatch")}, viol
    # Any other denial is the traceback printer reading .py sources (only the
    # .pyc of a module is vetted): nothing the app needs to serve.
    other = {k[2] for k in viol if k[3] != "hash mismatch"}
    assert all(x.endswith(".py") for x in other), other
