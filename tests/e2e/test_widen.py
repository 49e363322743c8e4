"""End-to-end tests of `sgxpy manifest --widen-package NAME` (docs/formats.md rule 12).

A fake install directory in tmp (VENV/lib/python3.11/site-packages) holds pkg_a
(several modules, a subpackage, a data file, a symlink, a FIFO; Debian-style
*.egg-info, no RECORD) and pkg_b (a *.dist-info/RECORD that lists only some of
its files).  Everything is byte-compiled beforehand, as installed packages are.
The app puts the site on sys.path itself (`sgxpy run` refuses PYTHONPATH) and
imports the modules named on its command line: the traced run imports one
module, and `sgxpy run` of the bundle then imports one the trace never saw.
"""
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import PYTHON, SGXPY, run_sgxpy

ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
       "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8"}

APP = """\
import importlib, os, subprocess, sys
sys.path.insert(0, {site!r})
for arg in sys.argv[1:]:
    what, _, name = arg.partition(":")
    if what == "write":            # write a file of the site (relative name)
        with open(os.path.join({site!r}, name), "w") as f:
            f.write("written by the app\\n")
    elif what == "data":           # read a package's data file
        pkg = importlib.import_module(name)
        print(open(os.path.join(os.path.dirname(pkg.__file__), "data.txt")).read().strip())
    elif what == "child":          # a child image that imports nothing from the site,
        code = "import sys; sys.argv[1:] and open(sys.argv[1], 'w').write('x')"
        extra = [os.path.join({site!r}, name)] if name else []   # or writes a file there
        subprocess.run([sys.executable, "-c", code, *extra], check=True)
    else:
        print(importlib.import_module(arg).VALUE)
"""


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def make_site(root):
    """root/venv/.../site-packages with pkg_a and pkg_b, and root/app/app.py."""
    site = root / "venv" / "lib" / "python3.11" / "site-packages"
    a = site / "pkg_a"
    write(a / "__init__.py", "VALUE = 'pkg_a'\n")
    for m in ("mod1", "mod2", "mod3"):
        write(a / f"{m}.py", f"VALUE = '{m}'\n")
    write(a / "sub" / "__init__.py", "VALUE = 'sub'\n")
    write(a / "sub" / "deep.py", "VALUE = 'deep'\n")
    write(a / "data.txt", "pkg_a data\n")
    write(a / "state.txt", "initial state\n")
    os.symlink("data.txt", a / "link.txt")
    os.symlink("sub", a / "sublink")          # a symlinked directory: not followed
    os.mkfifo(a / "fifo")                     # not a regular file: never hashed
    write(site / "pkg_a-1.0.egg-info" / "PKG-INFO", "Name: pkg-a\n")
    b = site / "pkg_b"
    write(b / "__init__.py", "VALUE = 'pkg_b'\n")
    write(b / "util.py", "VALUE = 'util'\n")
    write(b / "with,comma.txt", "quoted in RECORD\n")
    write(b / "stray.txt", "not in RECORD\n")
    di = site / "pkg_b-1.0.dist-info"
    write(di / "METADATA", "Name: pkg-b\n")
    write(di / "RECORD", "pkg_b/__init__.py,sha256=x,16\r\n"
                         "pkg_b/util.py,sha256=x,15\r\n"
                         '"pkg_b/with,comma.txt",sha256=x,17\r\n'
                         "pkg_b/gone.py,,\r\n"
                         "pkg_b-1.0.dist-info/METADATA,,\r\n"
                         "pkg_b-1.0.dist-info/RECORD,,\r\n"
                         "../../../bin/pkg_b,sha256=x,10\r\n")
    write(root / "venv" / "bin" / "pkg_b", "#!/bin/sh\n")
    # a single-module distribution; the .so is for another Python: never imported
    write(site / "solo.py", "VALUE = 'solo'\n")
    write(site / "solo.cpython-399-x86_64-linux-gnu.so", "not really ELF\n")
    write(site / "solo_other.py", "VALUE = 'other'\n")
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(site)], check=True)
    app = root / "app"
    write(app / "app.py", APP.format(site=str(site)))
    return site, app


def trace(root, app, *args, name="t"):
    t = root / f"{name}.trace"
    r = run_sgxpy("trace", "-o", t, "--", PYTHON, "app.py", *args, cwd=app, env=ENV)
    assert r.returncode == 0, r.stderr
    return t


def manifest(out, t, *opts, check=0):
    r = run_sgxpy("manifest", "-o", out, *opts, t, env=ENV)
    assert r.returncode == check, (opts, r.returncode, r.stderr)
    return r


def load(b):
    idx = json.loads((b / "bundle.json").read_text())
    mans = {i: json.loads((b / "manifests" / f"{i}.json").read_text()) for i in idx["images"]}
    return idx, mans


def root_manifest(b):
    idx, mans = load(b)
    return mans[idx["root"]]


def trusted(m):
    return {t["path"]: t for t in m["trusted"]}


def below(paths, d):
    return {p for p in paths if p.startswith(str(d) + "/")}


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def regular_files(d):
    """Every regular file below d as the widening sees it: a symlink to one
    under its own name too, symlinked directories not followed, FIFOs out."""
    return {os.path.join(top, n) for top, _, files in os.walk(d) for n in files
            if os.path.isfile(os.path.join(top, n))}


def run(b, app, *args):
    return subprocess.run([SGXPY, "run", str(b), "--", PYTHON, "app.py",
                           *args], cwd=app, env=ENV, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def one(tmp_path_factory):
    """The site, and a trace of the app importing pkg_a.mod1 only."""
    root = tmp_path_factory.mktemp("widen").resolve()
    site, app = make_site(root)
    return root, site, app, trace(root, app, "pkg_a.mod1")


def test_without_option_only_the_imported_module(one):
    root, site, app, t = one
    manifest(root / "plain.bundle", t)
    m = root_manifest(root / "plain.bundle")
    have = below(trusted(m), site)
    assert str(site / "pkg_a/__pycache__/mod1.cpython-311.pyc") in have
    assert str(site / "pkg_a/__pycache__/mod2.cpython-311.pyc") not in have
    assert str(site / "pkg_a/data.txt") not in have
    assert not below(have, site / "pkg_b")
    assert "widen" not in json.loads((root / "plain.bundle/bundle.json").read_text())["options"]


def test_widen_trusts_every_file_of_the_package(one):
    root, site, app, t = one
    b = root / "a.bundle"
    r = manifest(b, t, "--widen-package", "pkg_a", "--stats")
    m = root_manifest(b)
    tr = trusted(m)
    want = regular_files(site / "pkg_a")
    assert str(site / "pkg_a/link.txt") in want and str(site / "pkg_a/fifo") not in want
    assert below(tr, site / "pkg_a") == want
    for p in want:
        assert tr[p]["sha256"] == sha256(p) and tr[p]["size"] == os.path.getsize(p), p
    assert tr[str(site / "pkg_a/link.txt")].get("link") is True
    assert not below(tr, site / "pkg_b")
    assert not below(tr, site / "pkg_a-1.0.egg-info")         # not below the package dir
    assert {str(site / "pkg_a"), str(site / "pkg_a/sub"), str(site / "pkg_a/__pycache__")} <= set(m["list"])
    assert str(site / "pkg_a/sublink") not in m["list"]
    assert not below(m["stat"], site / "pkg_a")               # trusted now, not stat-only
    assert json.loads((b / "bundle.json").read_text())["options"]["widen"] == ["pkg_a"]
    line = [l for l in r.stderr.splitlines() if "--widen-package pkg_a" in l]
    assert line and f"{len(want)} files trusted in 1 image" in line[0], r.stderr
    run_sgxpy("verify", b, env=ENV, check=True)


def test_run_imports_a_module_the_trace_never_saw(one):
    """The point of the option: the bundle of one run fits a run that takes
    another code path through the same package; without it, refused."""
    root, site, app, t = one
    plain, wide = root / "r-plain.bundle", root / "r-wide.bundle"
    manifest(plain, t)
    manifest(wide, t, "--widen-package", "pkg_a")
    args = ("pkg_a.mod1", "pkg_a.mod3", "pkg_a.sub.deep", "data:pkg_a")
    r = run(wide, app, *args)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["mod1", "mod3", "deep", "pkg_a", "data"]
    assert "denied" not in r.stderr
    r = run(plain, app, *args)
    assert r.returncode != 0 and "mod3" in r.stderr and "sgxpy: denied:" in r.stderr, r.stderr
    r = run(wide, app, "pkg_b")                                 # not widened: still refused
    assert r.returncode != 0 and "pkg_b" in r.stderr


def test_record_lists_the_distribution(one):
    root, site, app, _ = one
    t = trace(root, app, "pkg_a.mod1", "pkg_b.util", name="ab")
    b = root / "b.bundle"
    manifest(b, t, "--widen-package", "pkg_b")
    tr = trusted(root_manifest(b))
    want = {str(site / p) for p in (
        "pkg_b/__init__.py", "pkg_b/util.py", "pkg_b/with,comma.txt",
        "pkg_b/__pycache__/__init__.cpython-311.pyc",        # .pyc of listed .py files
        "pkg_b/__pycache__/util.cpython-311.pyc",
        "pkg_b-1.0.dist-info/METADATA", "pkg_b-1.0.dist-info/RECORD")}
    assert below(tr, site / "pkg_b") | below(tr, site / "pkg_b-1.0.dist-info") == want
    assert str(site / "pkg_b/stray.txt") not in tr                # RECORD does not list it
    assert not below(tr, root / "venv/bin")                      # outside the site
    for p in want:
        assert tr[p]["sha256"] == sha256(p)
    # pkg_a is imported too, but was not asked for
    assert str(site / "pkg_a/mod2.py") not in tr


def test_single_module(one):
    root, site, app, _ = one
    t = trace(root, app, "solo", name="solo")
    b = root / "solo.bundle"
    manifest(b, t, "--widen-package", "solo")
    tr = trusted(root_manifest(b))
    want = {str(site / p) for p in ("solo.py", "__pycache__/solo.cpython-311.pyc",
                                    "solo.cpython-399-x86_64-linux-gnu.so")}
    assert {p for p in below(tr, site) if "solo" in p} == want
    assert not below(tr, site / "pkg_a")


def test_star_widens_what_each_image_imports(one):
    root, site, app, t = one
    b = root / "star1.bundle"
    manifest(b, t, "--widen-package", "*")
    tr = trusted(root_manifest(b))
    assert below(tr, site / "pkg_a") == regular_files(site / "pkg_a")
    assert not below(tr, site / "pkg_b")
    # a stdlib package the app imports: its directory only, not the whole stdlib
    std = Path("/usr/lib/python3.11")
    assert below(tr, std / "collections") == regular_files(std / "collections")
    assert not below(tr, std / "json") and str(std / "argparse.py") not in tr
    both = trace(root, app, "pkg_a.mod1", "pkg_b", name="both")
    b2 = root / "star2.bundle"
    r = manifest(b2, both, "--widen-package", "*", "--stats")
    tr = trusted(root_manifest(b2))
    assert below(tr, site / "pkg_a") == regular_files(site / "pkg_a")
    assert str(site / "pkg_b/util.py") in tr and str(site / "pkg_b/stray.txt") not in tr
    assert "--widen-package pkg_a:" in r.stderr and "--widen-package pkg_b:" in r.stderr
    assert json.loads((b2 / "bundle.json").read_text())["options"]["widen"] == ["*"]


def test_images_that_never_imported_it_get_nothing(one):
    root, site, app, _ = one
    t = trace(root, app, "pkg_a.mod1", "child:", name="child")
    b = root / "child.bundle"
    manifest(b, t, "--widen-package", "pkg_a")
    idx, mans = load(b)
    assert len(mans) == 2
    root_m = mans[idx["root"]]
    child = next(m for i, m in mans.items() if i != idx["root"])
    assert below(trusted(root_m), site / "pkg_a") == regular_files(site / "pkg_a")
    assert not below(trusted(child), site) and not below(child["list"], site)


def test_unknown_or_bad_name(one):
    root, site, app, t = one
    b = root / "bad.bundle"
    r = manifest(b, t, "--widen-package", "pkg_a", "--widen-package", "nosuch",
                 "--widen-package", "pkg_b", check=3)
    assert "--widen-package nosuch, pkg_b: no image imports them" in r.stderr, r.stderr
    assert not b.exists()
    assert [p for p in root.iterdir() if ".tmp" in p.name] == []
    r = manifest(b, t, "--widen-package", "pkg_a.mod1", check=2)
    assert "'pkg_a.mod1' is not a top-level import name" in r.stderr
    assert not b.exists()


def test_exclude_still_wins(one):
    root, site, app, t = one
    b = root / "ex.bundle"
    manifest(b, t, "--widen-package", "pkg_a", "--exclude", site / "pkg_a/sub")
    m = root_manifest(b)
    assert not below(trusted(m), site / "pkg_a/sub")
    assert str(site / "pkg_a/sub") not in m["list"]
    assert str(site / "pkg_a/mod3.py") in trusted(m)


def test_deterministic_sorted_deduplicated(one):
    root, site, app, t = one
    b1, b2 = root / "d1.bundle", root / "d2.bundle"
    manifest(b1, t, "--widen-package", "pkg_a", "--widen-package", "*", "--widen-package", "pkg_a")
    manifest(b2, t, "--widen-package", "*", "--widen-package", "pkg_a")
    files = lambda d: {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}
    assert files(b1) == files(b2)
    assert json.loads((b1 / "bundle.json").read_text())["options"]["widen"] == ["*", "pkg_a"]
    manifest(root / "d3.bundle", t)
    assert (root / "d3.bundle/bundle.json").read_bytes() != (b1 / "bundle.json").read_bytes()


def test_explain_and_from_log_keep_the_option(one):
    root, site, app, t = one
    b = root / "e.bundle"
    manifest(b, t, "--widen-package", "pkg_a")
    r = run_sgxpy("explain", b, site / "pkg_a/__pycache__/mod3.cpython-311.pyc", env=ENV)
    assert r.returncode == 0 and "--widen-package pkg_a" in r.stdout, r.stdout
    log = root / "e.log"
    r = subprocess.run([SGXPY, "run", "--audit", "--log", str(log), str(b),
                        "--", PYTHON, "app.py", "pkg_b"], cwd=app, env=ENV, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    new = root / "e2.bundle"
    r = run_sgxpy("manifest", "--from-log", log, b, "-o", new, env=ENV)
    assert r.returncode == 0, r.stderr
    assert json.loads((new / "bundle.json").read_text())["options"]["widen"] == ["pkg_a"]
    tr = trusted(root_manifest(new))
    assert below(tr, site / "pkg_a") == regular_files(site / "pkg_a")
    assert str(site / "pkg_b/__pycache__/__init__.cpython-311.pyc") in tr
    assert str(site / "pkg_b/util.py") not in tr                 # folded, not widened


def test_file_written_in_the_package_stays_allowed(tmp_path):
    root = tmp_path.resolve()
    site, app = make_site(root)
    (site / "pkg_a/other.txt").write_text("before\n")
    t = trace(root, app, "pkg_a.mod1", "write:pkg_a/state.txt", "child:pkg_a/other.txt")
    b = root / "w.bundle"
    manifest(b, t, "--widen-package", "pkg_a")
    m = root_manifest(b)
    state, other = str(site / "pkg_a/state.txt"), str(site / "pkg_a/other.txt")
    assert state not in trusted(m)
    allowed = {a["path"]: a for a in m["allowed"]}
    assert allowed[state]["write"] and not allowed[state]["tree"]
    # written by another image (the child): not vetted content either
    assert other not in trusted(m) and other not in allowed
    assert below(trusted(m), site / "pkg_a") == regular_files(site / "pkg_a") - {state, other}
    r = run(b, app, "pkg_a.mod2", "write:pkg_a/state.txt")
    assert r.returncode == 0 and "denied" not in r.stderr, r.stderr


def test_build_forwards_the_option(tmp_path):
    root = tmp_path.resolve()
    site, app = make_site(root)
    b = root / "app.bundle"
    r = run_sgxpy("build", "-o", b, "--widen-package", "pkg_a", "--", PYTHON, "app.py",
                  "pkg_a.mod1", cwd=app, env=ENV)
    assert r.returncode == 0, r.stderr
    assert below(trusted(root_manifest(b)), site / "pkg_a") == regular_files(site / "pkg_a")
    assert json.loads((b / "bundle.json").read_text())["options"]["widen"] == ["pkg_a"]
    r = run_sgxpy("build", "-o", root / "x.bundle", "--widen-package", "", "--", PYTHON,
                  "app.py", cwd=app, env=ENV)
    assert r.returncode == 2 and not (root / "x.bundle").exists()
