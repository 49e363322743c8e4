"""The tracer's trap sets: default, --stat, --exact, and foreign syscall ABIs.

The default mode leaves the stat family, getdents and executable mmaps
untrapped for speed (src/trace/syscalls.c says why); these tests pin down
what it still records, and show that it loses nothing the manifest needs
compared with the slowest, most complete mode.
"""
import os
import sqlite3
import subprocess

import pytest

SGXPY = os.environ.get("SGXPY", "/work/main/build/sgxpy")
PROGS = os.environ.get("PROGS", "/work/main/build/progs")
PYTHON = "/usr/bin/python3"
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PYENV"))}
ENV["PATH"] = "/usr/local/bin:/usr/bin:/bin"


def trace(tmp_path, *cmd, flags=(), name="t.trace"):
    out = tmp_path / name
    res = subprocess.run([SGXPY, "trace", *flags, "-o", str(out), "--", *map(str, cmd)],
                         capture_output=True, text=True, env=ENV, cwd=tmp_path, timeout=120)
    assert res.returncode == 0, res.stderr
    db = sqlite3.connect(out)
    db.row_factory = sqlite3.Row
    return res, db


def rows(db, **where):
    sql = "SELECT * FROM files" + (" WHERE " + " AND ".join(f"{k}=?" for k in where) if where else "")
    return [dict(r) for r in db.execute(sql, tuple(where.values()))]


def test_default_infers_py_stat_from_pyc(tmp_path):
    _, db = trace(tmp_path, PYTHON, "-c", "import json")
    src = "/usr/lib/python3.11/json/decoder.py"
    assert rows(db, path="/usr/lib/python3.11/json/__pycache__/decoder.cpython-311.pyc", mode="read", err=0)
    assert rows(db, path=src, mode="stat", err=0), "the .py checked for a read .pyc must be in the trace"


def test_stat_only_probe_needs_stat_flag(tmp_path):
    probe = tmp_path / "config.ini"
    probe.write_text("x")
    code = f"import os; print(os.path.exists({str(probe)!r}))"
    _, db = trace(tmp_path, PYTHON, "-c", code, name="default.trace")
    assert not rows(db, path=str(probe)), "default mode does not stop on stat (documented)"
    _, db = trace(tmp_path, PYTHON, "-c", code, flags=["--stat"], name="stat.trace")
    assert rows(db, path=str(probe), mode="stat", err=0)


def test_exact_traps_getdents_and_exec_mmap(tmp_path):
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\0" * 4096)
    code = ("import mmap, os, sys\n"
            f"os.listdir({str(tmp_path)!r})\n"
            f"f = open({str(blob)!r}, 'rb')\n"
            "m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ | mmap.PROT_EXEC)\n"
            "m.close()\n")
    _, db = trace(tmp_path, PYTHON, "-c", code, flags=["--exact"])
    assert rows(db, path=str(tmp_path), mode="list", err=0)
    assert rows(db, path=str(blob), mode="map", err=0)
    _, db = trace(tmp_path, PYTHON, "-c", code, name="default.trace")
    assert rows(db, path=str(tmp_path), mode="list", err=0), "opendir implies a listing"
    assert rows(db, path=str(blob), mode="read", err=0)


def _successes(db):
    return {(r["path"], r["mode"]) for r in rows(db, err=0)}


def test_default_loses_nothing_the_manifest_needs(tmp_path):
    """Everything the complete mode (--exact --stat) records as a success is in
    the default trace too, but stats of directories and of frozen modules'
    sources (code that is never read from a file)."""
    cmd = (PYTHON, "-c", "import json, csv, decimal, email.parser")
    _, full = trace(tmp_path, *cmd, flags=["--exact", "--stat"], name="full.trace")
    _, fast = trace(tmp_path, *cmd, name="fast.trace")
    fast_set = _successes(fast)
    fast_paths = {p for p, _ in fast_set}
    lost = []
    for path, mode in _successes(full):
        if (path, mode) in fast_set:
            continue
        if mode == "stat" and (path in fast_paths or os.path.isdir(path)):
            continue
        if mode == "stat" and path.endswith(".py") and "/__pycache__/" not in path:
            frozen = subprocess.run([PYTHON, "-c", "import sys; print(*sys.builtin_module_names,"
                                     "*__import__('_imp')._frozen_module_names())"],
                                    capture_output=True, text=True).stdout.split()
            if os.path.basename(path)[:-3] in frozen:
                continue
        lost.append((path, mode))
    assert not lost, f"the default trace lost: {sorted(lost)}"


def _run_int80(tmp_path, *args):
    target = tmp_path / "foreign.txt"
    target.write_text("x")
    res, db = trace(tmp_path, f"{PROGS}/int80", *args, target)
    return res.stdout.strip(), db, str(target)


def test_i386_entry_is_recorded(tmp_path):
    out, db, target = _run_int80(tmp_path)
    if out == "nosys":
        pytest.skip("kernel without IA32 emulation")
    assert out == "ok"
    assert db.execute("SELECT abi FROM procs WHERE kind='root'").fetchone()[0] == "i386"
    assert rows(db, path=target, mode="read", err=0)


def test_x32_entry_is_recorded(tmp_path):
    out, db, target = _run_int80(tmp_path, "-x32")
    assert db.execute("SELECT abi FROM procs WHERE kind='root'").fetchone()[0] == "x32"
    want_err = 38 if out == "nosys" else 0  # ENOSYS where the kernel has no x32
    assert rows(db, path=target, mode="read", err=want_err), rows(db)


def test_removed_cwd_records_no_deleted_path(tmp_path):
    """A process whose cwd (or dirfd) was removed reads it back from /proc as
    "PATH (deleted)": the trace must not record that as a path, or the
    manifest stage calls it a vanished file (seen in NumPy's suite, whose
    tests remove their temp dirs while still in them)."""
    app = tmp_path / "app.py"
    app.write_text(
        "import os, tempfile\n"
        "d = tempfile.mkdtemp(dir=os.getcwd())\n"
        "os.chdir(d)\n"
        "os.rmdir(d)\n"
        "for name in ('x', '.'):\n"
        "    try:\n"
        "        os.close(os.open(name, os.O_RDONLY))\n"
        "    except OSError as e:\n"
        "        print(name, e.errno)\n")
    res, db = trace(tmp_path, PYTHON, "-B", str(app))
    assert "x 2" in res.stdout
    assert not [r["path"] for r in rows(db) if "(deleted)" in r["path"]]
    r = subprocess.run([SGXPY, "manifest", "-o", str(tmp_path / "b"), str(tmp_path / "t.trace")],
                       capture_output=True, text=True, env=ENV, timeout=120)
    assert r.returncode == 0, r.stderr
