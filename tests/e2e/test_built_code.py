"""End-to-end tests of `sgxpy manifest --allow-built-code` (docs/formats.md rule 13).

The app does what f2py's tests and numpy.testing.extbuild do: it writes C code
to a fresh temp dir, compiles it into a shared library with gcc (a child image
tree: gcc, cc1, as, collect2, ld) and loads it with ctypes.  A library built
during the run cannot be in a manifest made beforehand: by default `sgxpy run`
refuses to map it executable.  With the option, the image that loaded such a
library in the trace may load one again where it did, if the file was written
during this run, by us; anything else there (a library planted before the run)
is still refused.
"""
import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import PYTHON, run_sgxpy, clean_env

APP = """\
import ctypes, os, subprocess, sys, tempfile
d = tempfile.mkdtemp()
src, lib = os.path.join(d, "ext.c"), os.path.join(d, "ext.so")
with open(src, "w") as f:
    f.write("int answer(void) { return 42; }\\n")
subprocess.run(["gcc", "-shared", "-fPIC", "-o", lib, src], check=True)
print("built", ctypes.CDLL(lib).answer())
if len(sys.argv) > 1:                      # also load a library planted beforehand
    try:
        print("planted", ctypes.CDLL(sys.argv[1]).answer())
    except OSError as e:
        print("planted refused")
"""


@pytest.fixture
def app(tmp_path):
    (tmp_path / "app.py").write_text(APP)
    if subprocess.run(["gcc", "--version"], capture_output=True).returncode != 0:
        pytest.skip("gcc is missing")
    return tmp_path


def build(app, *opts):
    trace = app / "t.trace"
    if not trace.exists():
        r = run_sgxpy("trace", "-o", trace, "--", PYTHON, "-B", "app.py", cwd=app,
                      env=clean_env())
        assert r.returncode == 0 and r.stdout == "built 42\n", r.stderr
    bundle = app / ("b" + "".join(o.strip("-") for o in opts))
    r = run_sgxpy("manifest", "-o", bundle, *opts, trace, cwd=app, env=clean_env())
    assert r.returncode == 0, r.stderr
    return bundle


def run(app, bundle, *args):
    return run_sgxpy("run", "--log", app / "run.jsonl", bundle, "--", PYTHON, "-B", "app.py",
                     *args, cwd=app, env=clean_env())


def code_rules(bundle):
    idx = json.loads((bundle / "bundle.json").read_text())
    root = json.loads((bundle / "manifests" / (idx["root"] + ".json")).read_text())
    return idx, [a for a in root["allowed"] if a.get("code")]


def test_default_refuses_code_built_during_the_run(app):
    bundle = build(app)
    idx, rules = code_rules(bundle)
    assert rules == [] and "built_code" not in idx["options"]
    r = run(app, bundle)
    assert r.returncode != 0 and "built 42" not in r.stdout
    assert "ext.so: not in manifest" in r.stderr, r.stderr


def test_option_lets_the_run_load_what_it_built(app):
    bundle = build(app, "--allow-built-code")
    idx, rules = code_rules(bundle)
    assert idx["options"]["built_code"] is True
    assert rules and all(r["tree"] for r in rules), rules
    r = run(app, bundle)
    assert r.returncode == 0 and r.stdout == "built 42\n", r.stderr
    assert "denied" not in r.stderr
    events = [json.loads(l) for l in (app / "run.jsonl").read_text().splitlines()]
    built = [e for e in events if e.get("event") == "built-code"]
    assert built and all(e["detail"].endswith("/ext.so") for e in built), events
    # only the image that loaded it in the trace: gcc's images get no such rule
    for f in (bundle / "manifests").iterdir():
        m = json.loads(f.read_text())
        if m["id"] != idx["root"]:
            assert not any(a.get("code") for a in m["allowed"]), m["id"]


def test_option_still_refuses_a_library_planted_before_the_run(app, tmp_path):
    bundle = build(app, "--allow-built-code")
    _, rules = code_rules(bundle)
    # a library where built code may load, but written before the run started
    planted_dir = Path(rules[0]["path"]) / ("sgxpy-planted-%d" % os.getpid())
    planted_dir.mkdir(exist_ok=True)
    try:
        src = planted_dir / "p.c"
        src.write_text("int answer(void) { return 666; }\n")
        lib = planted_dir / "p.so"
        subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
        native = subprocess.run([PYTHON, "-B", "app.py", str(lib)], cwd=app,
                                capture_output=True, text=True, env=clean_env())
        assert native.stdout == "built 42\nplanted 666\n"     # the attack works natively
        r = run(app, bundle, str(lib))
        assert r.stdout == "built 42\nplanted refused\n", r.stderr
        assert f"{lib}: not in manifest" in r.stderr
    finally:
        for p in planted_dir.iterdir():
            p.unlink()
        planted_dir.rmdir()


def test_option_is_in_the_measurement(app):
    plain, opt = build(app), build(app, "--allow-built-code")
    m1 = json.loads(run_sgxpy("show", "--json", plain).stdout)["measurement"]
    m2 = json.loads(run_sgxpy("show", "--json", opt).stdout)["measurement"]
    assert m1 != m2
