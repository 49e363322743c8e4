"""End-to-end tests of `sgxpy trace`: real programs traced, the SQLite trace store
checked row by row (schema: docs/formats.md).

The C programs are tests/progs/*.c (built into $PROGS by `make`); each one's header
comment says what it does and so what the trace must contain.  The Python apps are
tests/e2e/apps/*.py, run from a copy in the test's tmp dir.
"""
import os
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (PYTHON, SGXPY, TIMEOUT, TraceDB, clean_env, missing_from_trace, prog,
                      run_sgxpy, strace_opened, trace)

PY_REAL = os.path.realpath(PYTHON)           # /usr/bin/python3.11
LD_SO = "/lib64/ld-linux-x86-64.so.2"        # PT_INTERP of every dynamic binary here
LD_SO_REAL = os.path.realpath(LD_SO)
LIBC_REAL = os.path.realpath("/lib/x86_64-linux-gnu/libc.so.6")
PYLIB = "/usr/lib/python3.11"


def ok(res, db, status=0):
    """Assert sgxpy exited with `status` and wrote a trace; return db."""
    assert res.returncode == status, (
        f"sgxpy exit {res.returncode}, want {status}\nstdout: {res.stdout}\nstderr: {res.stderr}")
    assert db is not None, f"no trace file written\nstderr: {res.stderr}"
    return db


def has(db, path, modes, err=0, proc=None, run=1, target=None):
    """Assert a files row (path, one of modes, err) exists, optionally for proc and
    with the given target; return the matching rows."""
    modes = {modes} if isinstance(modes, str) else set(modes)
    rows = db.files_of(proc, run=run, mode=modes, err=err, path=path)
    assert rows, (f"missing files row path={path} mode in {sorted(modes)} err={err}"
                  + (f" proc={proc['id'] if isinstance(proc, dict) else proc}" if proc else "")
                  + f"\nrows for that path: {db.files_of(None, run=run, path=path)}"
                  + f"\n--- trace ---\n{db.describe(run)}")
    if target is not None:
        assert any(r["target"] == target for r in rows), f"{path}: want target {target}, got {rows}"
    return rows


def has_resolved(db, real, modes, err=0, proc=None, run=1):
    """Assert a row whose path or target resolves (os.path.realpath) to `real`."""
    modes = {modes} if isinstance(modes, str) else set(modes)
    rows = [f for f in db.files_of(proc, run=run, mode=modes, err=err)
            if os.path.realpath(f["path"]) == real or
            (f["target"] and os.path.realpath(f["target"]) == real)]
    assert rows, f"no {sorted(modes)} row resolving to {real}\n--- trace ---\n{db.describe(run)}"
    return rows


def check_schema(db, cmd, cwd, status):
    """What every successful trace must hold: meta, one run row, a consistent proc tree."""
    assert db.meta.get("format") == "sgxpy-trace" and db.meta.get("version") == "1", db.meta
    assert len(db.runs) == 1, db.runs
    run = db.runs[0]
    assert run["id"] == 1
    assert run["argv"] == [str(c) for c in cmd]
    assert run["cwd"] == str(cwd)
    assert run["exit_status"] == status
    assert "T" in run["started"] and run["started"][:2] == "20", run["started"]
    root = db.root()
    assert root["id"] == 1 and root["kind"] == "root", root
    ids = {p["id"] for p in db.procs_of()}
    for p in db.procs_of():
        assert p["kind"] in ("root", "fork", "exec"), p
        if p["kind"] != "root":
            assert p["parent"] in ids, f"dangling parent: {p}"
        if p["kind"] == "fork":
            assert p["exe"] is None and p["argv"] is None, f"fork rows carry no exe/argv: {p}"
        else:
            assert p["exe"] and p["exe"].startswith("/"), p
            assert isinstance(p["argv"], list) and p["argv"], p
        if p["kind"] == "exec":
            parent = db.proc(p["parent"])
            assert parent["pid"] == p["pid"], f"exec keeps the pid: {parent} -> {p}"
        assert p["threads"] >= 1, p
    for f in db.files_of(err=None):
        assert f["proc"] in ids, f
        assert f["path"].startswith("/") and os.path.normpath(f["path"]) == f["path"] \
            or f["mode"] == "syscall", f"path not absolute and normal: {f}"
        assert f["mode"] in ("read", "write", "create", "remove", "exec", "map", "stat",
                             "readlink", "symlink", "list", "chdir", "syscall"), f


# ---------------------------------------------------------------------------
# Python

def test_python_import_json(tmp_path):
    cmd = [PYTHON, "-c", "import json"]
    res, db = trace(tmp_path, *cmd)
    ok(res, db)
    check_schema(db, cmd, tmp_path, 0)
    root = db.root()
    assert len(db.procs) == 1, db.describe()
    assert root["exe"] == PY_REAL
    assert root["argv"] == cmd
    assert root["cwd"] == str(tmp_path)
    assert root["exit_status"] == 0
    assert root["pid"] > 1
    assert root["env"] and root["env"].get("PATH") == clean_env()["PATH"], root["env"]

    # The program as named, with the kernel's path as target, and ld.so from PT_INTERP.
    rows = has(db, PYTHON, "exec")
    assert any(os.path.realpath(r["target"] or r["path"]) == PY_REAL for r in rows), rows
    has_resolved(db, LD_SO_REAL, "exec")
    # Shared libraries mapped executable: libc at least.
    has_resolved(db, LIBC_REAL, "map")
    has_resolved(db, LIBC_REAL, "read")
    # Modules: the .pyc is read, the .py only stat'ed, the package dir listed.
    has(db, f"{PYLIB}/json/__pycache__/__init__.cpython-311.pyc", "read", proc=root)
    has(db, f"{PYLIB}/json/__pycache__/decoder.cpython-311.pyc", "read", proc=root)
    has(db, f"{PYLIB}/json/__init__.py", "stat", proc=root)
    has(db, f"{PYLIB}/json", "list", proc=root)
    has(db, PYLIB, "list", proc=root)
    # sys.path[0] is '' for -c: the cwd is listed.
    has(db, str(tmp_path), "list", proc=root)
    # Start-up probes that fail (ENOENT) are kept with their errno.
    enoent = [f for f in db.files_of(root, err=2)]
    assert enoent, "no failed lookup recorded at all"
    assert any(f["path"].endswith("pyvenv.cfg") for f in enoent), [f["path"] for f in enoent]


def test_env_cwd_stdio_passthrough(tmp_path):
    code = ("import os, sys\n"
            "data = sys.stdin.read()\n"
            "print(os.getcwd(), os.environ.get('SGXPY_TEST_VAR'), data.upper())\n"
            "print('to-stderr', file=sys.stderr)\n")
    env = clean_env(SGXPY_TEST_VAR="hello-env")
    res, db = trace(tmp_path, PYTHON, "-c", code, env=env, input="from stdin")
    ok(res, db)
    assert res.stdout.strip() == f"{tmp_path} hello-env FROM STDIN"
    assert "to-stderr" in res.stderr
    root = db.root()
    assert root["env"].get("SGXPY_TEST_VAR") == "hello-env"
    assert root["cwd"] == str(tmp_path)


# ---------------------------------------------------------------------------
# Exit status and bad input

@pytest.mark.parametrize("args,status", [
    (["3"], 3),
    (["0"], 0),
    (["-s", "15"], 143),
    (["-s", "9"], 137),
    (["-s", "6"], 134),       # SIGABRT: a core-dumping signal
])
def test_exit_status_passthrough(tmp_path, args, status):
    res, db = trace(tmp_path, prog("exit_code"), *args)
    ok(res, db, status)
    assert db.runs[0]["exit_status"] == status
    assert db.root()["exit_status"] == status


def _leftovers(d, name="t.trace"):
    return sorted(p.name for p in Path(d).iterdir() if p.name.startswith(name))


@pytest.mark.parametrize("cmd", ["/nonexistent/prog", "sgxpy-no-such-command-xyz"])
def test_missing_program(tmp_path, cmd):
    res, db = trace(tmp_path, cmd, "arg")
    assert res.returncode == 127, (res.returncode, res.stderr)
    assert cmd in res.stderr, f"message must name the program: {res.stderr!r}"
    assert len(res.stderr.strip().splitlines()) <= 3, f"one clear message, not a dump: {res.stderr!r}"
    assert db is None, "no trace file may be left for a program that never ran"
    assert _leftovers(tmp_path) == [], "no temporary file may be left"


def test_not_executable(tmp_path):
    f = tmp_path / "data.txt"
    f.write_text("not a program\n")
    res, db = trace(tmp_path, f)
    assert res.returncode == 126, (res.returncode, res.stderr)  # EXIT_CANNOT_EXEC
    assert str(f) in res.stderr
    assert db is None
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("where", ["missing_dir", "is_dir", "proc"])
def test_unwritable_output(tmp_path, where):
    out = {"missing_dir": tmp_path / "no" / "such" / "dir" / "t.trace",
           "is_dir": tmp_path / "adir",
           "proc": Path("/proc/sgxpy-test.trace")}[where]
    if where == "is_dir":
        out.mkdir()
    marker = tmp_path / "cmd-ran"
    res, _ = trace(tmp_path, prog("exit_code"), "-w", marker, "0", out=out, read=False)
    assert res.returncode != 0, "an unwritable -o must fail"
    assert not marker.exists(), "CMD must not start when the trace cannot be written"
    assert str(out) in res.stderr, f"message must name the file: {res.stderr!r}"
    assert res.stdout == ""
    if where == "is_dir":
        assert out.is_dir() and list(out.iterdir()) == []


def test_default_output_name(tmp_path):
    res = run_sgxpy("trace", "--", prog("exit_code"), "0", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    db = TraceDB(tmp_path / "sgxpy.trace")
    assert db.root()["exe"] == prog("exit_code")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sgxpy.trace"], "no temp file left"


def test_append_merges_runs(tmp_path):
    out = tmp_path / "t.trace"
    res, db1 = trace(tmp_path, prog("exit_code"), "3", out=out)
    ok(res, db1, 3)
    res, db = trace(tmp_path, PYTHON, "-c", "import json", out=out, append=True)
    ok(res, db)
    assert [r["id"] for r in db.runs] == [1, 2]
    assert db.runs[0]["argv"] == [prog("exit_code"), "3"] and db.runs[0]["exit_status"] == 3
    assert db.runs[1]["argv"] == [PYTHON, "-c", "import json"] and db.runs[1]["exit_status"] == 0
    # Run 1 is unchanged, run 2 has its own tree and files.
    assert db.procs_of(1) == db1.procs_of(1)
    assert db.files_of(None, run=1, err=None) == db1.files_of(None, run=1, err=None)
    assert db.root(2)["exe"] == PY_REAL
    has(db, f"{PYLIB}/json/__pycache__/__init__.cpython-311.pyc", "read", run=2)
    assert not db.files_of(None, run=1, path=f"{PYLIB}/json/__pycache__/__init__.cpython-311.pyc",
                           err=None)
    # A plain (non --append) trace replaces the file.
    res, db = trace(tmp_path, prog("exit_code"), "0", out=out)
    ok(res, db)
    assert [r["id"] for r in db.runs] == [1]


def test_append_to_foreign_file_refused(tmp_path):
    out = tmp_path / "foreign.db"
    import sqlite3
    con = sqlite3.connect(out)
    con.execute("CREATE TABLE t(x)")
    con.commit()
    con.close()
    before = out.read_bytes()
    marker = tmp_path / "cmd-ran"
    res, _ = trace(tmp_path, prog("exit_code"), "-w", marker, "0", out=out, append=True,
                   read=False)
    assert res.returncode != 0
    assert str(out) in res.stderr and "trace" in res.stderr, res.stderr
    assert out.read_bytes() == before, "a foreign file must not be touched"
    assert not marker.exists(), "CMD must not start when the trace cannot be appended to"


# ---------------------------------------------------------------------------
# Signals: Ctrl-C, sgxpy killed

def _read_line(p, timeout=TIMEOUT):
    """First stdout line of Popen p, or fail after timeout (never blocks forever)."""
    r, _, _ = select.select([p.stdout], [], [], timeout)
    assert r, "the traced app never became ready"
    return p.stdout.readline()


def _popen_trace(tmp_path, out, *cmd, append=False):
    args = [SGXPY, "trace", "-o", str(out)] + (["--append"] if append else []) + ["--", *cmd]
    # A session of its own: its process group models the terminal's foreground group.
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env=clean_env(), cwd=tmp_path, bufsize=1)


def _kill_group(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


SLEEPER = ("import os, sys, time\n"
           "try:\n"
           "    print('ready', os.getpid(), flush=True)\n"
           "    time.sleep(100)\n"
           "except KeyboardInterrupt:\n"
           "    print('caught', flush=True)\n"
           "    sys.exit(42)\n")


def test_ctrl_c_reaches_app(tmp_path):
    out = tmp_path / "t.trace"
    p = _popen_trace(tmp_path, out, PYTHON, "-c", SLEEPER)
    try:
        _read_line(p)
        os.killpg(p.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
        stdout, stderr = p.communicate(timeout=TIMEOUT)
    finally:
        _kill_group(p)
    assert "caught" in stdout, (stdout, stderr)
    assert p.returncode == 42, f"sgxpy must exit with the app's status: {p.returncode} {stderr}"
    db = TraceDB(out)
    assert db.runs[0]["exit_status"] == 42
    assert db.root()["exit_status"] == 42
    has(db, f"{PYLIB}/encodings/__pycache__/__init__.cpython-311.pyc", "read")


def test_ctrl_c_default_action(tmp_path):
    """An app that does not catch SIGINT dies of it: 130, and sgxpy survives to
    write a complete trace."""
    out = tmp_path / "t.trace"
    code = "import time\nprint('ready', flush=True)\ntime.sleep(100)\n"
    p = _popen_trace(tmp_path, out, PYTHON, "-c", code)
    try:
        _read_line(p)
        os.killpg(p.pid, signal.SIGINT)
        stdout, stderr = p.communicate(timeout=TIMEOUT)
    finally:
        _kill_group(p)
    assert "KeyboardInterrupt" in stderr, stderr
    assert p.returncode == 130, f"{p.returncode} {stderr}"
    db = TraceDB(out)
    assert db.runs[0]["exit_status"] == 130
    assert db.root()["exit_status"] == 130


def test_sgxpy_killed_keeps_previous_trace(tmp_path):
    """SIGKILL of sgxpy mid-run: the previous trace file is untouched (no
    half-written store) and the traced app does not survive its tracer."""
    out = tmp_path / "t.trace"
    res, db = trace(tmp_path, prog("exit_code"), "0", out=out)
    ok(res, db)
    before = out.read_bytes()
    p = _popen_trace(tmp_path, out, PYTHON, "-c", SLEEPER, append=True)
    try:
        line = _read_line(p)
        app_pid = int(line.split()[1])
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=TIMEOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(app_pid):
            time.sleep(0.05)
        app_alive = _alive(app_pid)
    finally:
        _kill_group(p)
    assert out.read_bytes() == before
    assert [r["id"] for r in TraceDB(out).runs] == [1]
    assert not app_alive, "the traced app outlived its killed tracer (PTRACE_O_EXITKILL)"


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def test_sgxpy_sigterm_leaves_no_partial_file(tmp_path):
    """SIGTERM to sgxpy alone: afterwards TRACE is either absent or a complete,
    readable trace; no temporary file is left."""
    out = tmp_path / "t.trace"
    p = _popen_trace(tmp_path, out, PYTHON, "-c", SLEEPER)
    try:
        _read_line(p)
        os.kill(p.pid, signal.SIGTERM)
        p.communicate(timeout=TIMEOUT)
    finally:
        _kill_group(p)
    if out.exists():
        db = TraceDB(out)
        assert len(db.runs) == 1 and db.root()["exe"] == PY_REAL
    assert _leftovers(tmp_path) in ([], ["t.trace"])


# ---------------------------------------------------------------------------
# Process trees

def test_subprocess_app(tmp_path, apps):
    cmd = [PYTHON, apps / "app.py"]
    subprocess.run(cmd, check=True, capture_output=True, env=clean_env())  # warm __pycache__
    res, db = trace(tmp_path, *cmd)
    ok(res, db)
    check_schema(db, cmd, tmp_path, 0)
    assert '"wc": 5' in res.stdout and '"total": 150' in res.stdout, res.stdout
    root = db.root()
    data = str(apps / "data.txt")
    has(db, str(apps / "app.py"), "read", proc=root)
    has(db, data, "read", proc=root)

    sh = db.by_argv(lambda a: a == ["/bin/sh", "-c", "cat data.txt | wc -l"])
    assert len(sh) == 1, db.describe()
    sh = sh[0]
    assert sh["kind"] == "exec" and sh["exe"] == os.path.realpath("/bin/sh")
    assert sh["cwd"] == str(apps)
    assert root in db.ancestors(sh)
    has(db, "/bin/sh", "exec", target=os.path.realpath("/bin/sh"))

    cat = db.by_exe("cat")
    wc = db.by_exe("wc")
    assert len(cat) == 1 and len(wc) == 1, db.describe()
    assert cat[0]["argv"] == ["cat", "data.txt"] and wc[0]["argv"] == ["wc", "-l"]
    for p in (cat[0], wc[0]):
        assert sh in db.ancestors(p), f"{p['exe']} must descend from the shell"
        assert p["exit_status"] == 0
    has(db, data, "read", proc=cat[0])        # relative name, resolved against the cwd
    assert not db.files_of(wc[0], path=data), "wc reads stdin, not data.txt"

    worker = db.by_argv(lambda a: a[-2:] == ["worker.py", "data.txt"])
    assert len(worker) == 1, db.describe()
    worker = worker[0]
    assert worker["exe"] == PY_REAL and worker["cwd"] == str(apps)
    assert root in db.ancestors(worker) and sh not in db.ancestors(worker)
    has(db, str(apps / "worker.py"), "read", proc=worker)
    has(db, str(apps / "workerlib.py"), "stat", proc=worker)
    has(db, str(apps / "__pycache__" / "workerlib.cpython-311.pyc"), "read", proc=worker)
    has(db, data, "read", proc=worker)
    # Per-process: the worker's module is not charged to the app's root process.
    assert not db.files_of(root, path=str(apps / "__pycache__" / "workerlib.cpython-311.pyc"),
                           err=None)
    # Every exec'd image exited 0; the forked copies that exec'd away have no status.
    for p in db.procs_of():
        if p["kind"] == "fork" and any(c["kind"] == "exec" for c in db.children(p)):
            assert p["exit_status"] is None, p


def test_multiprocessing_fork_spawn_pool(tmp_path, apps, work):
    cmd = [PYTHON, apps / "mp_app.py", work]
    res, db = trace(tmp_path, *cmd)
    ok(res, db)
    check_schema(db, cmd, tmp_path, 0)
    assert res.stdout.strip() == "mp_app: 285"
    root = db.root()

    fork_writer = db.who(str(work / "fork.txt"), {"create", "write"})
    assert len(fork_writer) == 1, db.describe()
    fw = fork_writer[0]
    assert fw["kind"] == "fork" and fw["parent"] == root["id"], fw
    assert fw["exit_status"] == 0

    spawn_writer = db.who(str(work / "spawn.txt"), {"create", "write"})
    assert len(spawn_writer) == 1, db.describe()
    sw = spawn_writer[0]
    assert sw["kind"] == "exec" and sw["exe"] == PY_REAL, sw
    assert "--multiprocessing-fork" in sw["argv"], sw["argv"]
    assert root in db.ancestors(sw)
    assert sw["exit_status"] == 0

    pool_files = [f for f in db.files_of(None, mode={"create", "write"})
                  if os.path.basename(f["path"]).startswith("pool-")]
    assert pool_files, db.describe()
    for f in pool_files:
        p = db.proc(f["proc"])
        assert p["kind"] == "fork" and p["parent"] == root["id"], p
        assert p["exit_status"] is not None, p
    # The Pool runs helper threads in the parent.
    assert root["threads"] >= 3, root


def test_python_threads(tmp_path, apps, work):
    cmd = [PYTHON, apps / "threads_app.py", work]
    res, db = trace(tmp_path, *cmd)
    ok(res, db)
    assert res.stdout.strip() == "threads_app: fractions decimal statistics ipaddress"
    root = db.root()
    assert len(db.procs) == 1, "threads are not processes\n" + db.describe()
    assert root["threads"] == 5, root
    for i, mod in enumerate(["fractions", "decimal", "statistics", "ipaddress"]):
        has(db, f"{PYLIB}/__pycache__/{mod}.cpython-311.pyc", "read", proc=root)
        has(db, str(work / f"thread-{i}.txt"), {"create", "write"}, proc=root)
    # decimal loads the _decimal extension: opened and mapped executable.
    so = f"{PYLIB}/lib-dynload/_decimal.cpython-311-x86_64-linux-gnu.so"
    has(db, so, "read", proc=root)
    has(db, so, "map", proc=root)


def test_threads_open(tmp_path, work):
    n = 8
    res, db = trace(tmp_path, prog("threads_open"), n, work)
    ok(res, db)
    assert len(db.procs) == 1, db.describe()
    root = db.root()
    assert root["threads"] == n + 1, root
    for i in range(n):
        has(db, str(work / f"thread-{i}.txt"), {"create", "write"}, proc=root)
    has(db, str(work), "chdir", proc=root)
    assert not [f for f in db.files_of() if f["path"].startswith("/thread-")], \
        "relative opens resolved against a stale cwd"


@pytest.mark.parametrize("busy", [False, True], ids=["leader-paused", "leader-busy"])
def test_thread_exec(tmp_path, work, busy):
    """A non-leader thread execs: the new image keeps the leader's pid, the old
    image gets no exit status, the new one passes its status through.  With
    --busy the leader loops on a trapped open, so it is often stopped in the
    tracer when the exec kills it."""
    marker = work / "after-exec.txt"
    res, db = trace(tmp_path, prog("thread_exec"), *(["--busy"] if busy else []),
                    prog("exit_code"), "-w", marker, "7")
    ok(res, db, 7)
    assert marker.exists()
    root = db.root()
    assert root["exe"] == prog("thread_exec")
    has(db, "/etc/hostname", "read", proc=root)
    execd = [p for p in db.procs_of() if p["kind"] == "exec"]
    assert len(execd) == 1 and len(db.procs) == 2, db.describe()
    new = execd[0]
    assert new["parent"] == root["id"] and new["pid"] == root["pid"], new
    assert new["exe"] == prog("exit_code")
    assert new["argv"] == [prog("exit_code"), "-w", str(marker), "7"]
    assert new["exit_status"] == 7 and root["exit_status"] is None
    assert new["threads"] == 1 and root["threads"] == 2, (root, new)
    has(db, prog("exit_code"), "exec")
    has(db, str(marker), {"create", "write"}, proc=new)


def test_vfork_and_posix_spawn(tmp_path, work):
    res, db = trace(tmp_path, prog("spawn"), work)
    ok(res, db)
    check_schema(db, [prog("spawn"), work], tmp_path, 0)
    root = db.root()
    # The vfork child's failed exec is recorded with its errno.
    has(db, str(work / "missing-program"), "exec", err=2)
    for name in ("vfork.out", "posix_spawn.out"):
        out = str(work / name)
        who = db.who(out, {"create", "write"})
        assert len(who) == 1, f"{name}\n{db.describe()}"
        child = who[0]
        assert child["kind"] == "exec" and child["exe"] == prog("spawn"), child
        assert child["argv"] == [prog("spawn"), "--child", out]
        assert root in db.ancestors(child) and child["exit_status"] == 0
        assert child["pid"] != root["pid"]
    assert len([p for p in db.procs_of() if p["kind"] == "exec"]) == 2, db.describe()


# Rows marked STAT come from the stat family (stat, newfstatat), which the tracer
# traps with --stat or --exact only: by default a module's .py stat is implied by
# its .pyc read (see src/trace/syscalls.c).  access() and link()'s old name are
# trapped in every mode.
STAT = "stat-family"


@pytest.mark.parametrize("flags", [[], ["--stat"], ["--exact"]], ids=["default", "stat", "exact"])
def test_dirfd_paths(tmp_path, work, flags):
    """tests/progs/dirfd_open.c: every row its comments promise."""
    res, db = trace(tmp_path, prog("dirfd_open"), work, extra_args=flags)
    ok(res, db)
    assert "dirfd_open: ok" in res.stdout
    root = db.root()
    W = str(work)
    expect = [
        (W, "chdir", 0),
        (f"{W}/sub", "create", 0),
        (f"{W}/sub", "chdir", 0),
        (f"{W}/sub/rel.txt", "create", 0),
        (W, "read", 0),                       # open("..") from W/sub
        ("/", "chdir", 0),
        (f"{W}/sub/rel.txt", "read", 0),      # openat(dfd, "sub/rel.txt")
        (f"{W}/link.txt", "symlink", 0),
        (f"{W}/link.txt", "read", 0),
        (f"{W}/link.txt", "readlink", 0),
        (f"{W}/sub/o2.txt", "create", 0),     # openat2 RESOLVE_BENEATH
        ("/etc/hostname", "read", 0),         # absolute name ignores the dirfd
        (f"{W}/after_fchdir.txt", {"write", "create"}, 0),  # creat() after fchdir
        (f"{W}/sub/rel.txt", "stat", 0),      # link() old name
        (f"{W}/hard.txt", "create", 0),
        (f"{W}/hard.txt", "remove", 0),       # rename old name
        (f"{W}/renamed.txt", "create", 0),    # rename new name (via dirfd)
        (f"{W}/renamed.txt", "write", 0),     # truncate
        (f"{W}/renamed.txt", "remove", 0),    # unlink
        (f"{W}/missing.txt", STAT, 2),        # stat() -> ENOENT
        (f"{W}/missing2.txt", "read", 2),
        (f"{W}/sub", "stat", 0),              # access
        (f"{W}/sub2", "create", 0),
        (f"{W}/sub2", "remove", 0),
        (f"{W}/sub/norm.txt", "create", 0),   # "./sub//../sub/./norm.txt"
        (f"{W}/dirlink", "symlink", 0),
        (f"{W}/dirlink/rel.txt", "read", 0),
        (f"{W}/dirlink", "read", 0),
        (f"{W}/sub/norm.txt", "read", 0),     # openat(dirfd of W/dirlink = W/sub, "norm.txt")
        (f"{W}/sub/o2.txt", STAT, 0),         # fstatat(dirfd, "o2.txt")
        (W, "list", 0),
    ]
    for path, mode, err in expect:
        if mode == STAT:
            if not flags:
                continue
            mode = "stat"
        has(db, path, mode, err=err, proc=root)
    # Symlinks keep link and target.
    has(db, f"{W}/link.txt", "symlink", target="sub/rel.txt")
    has(db, f"{W}/dirlink", "symlink", target="sub")
    has(db, f"{W}/link.txt", "read", target=f"{W}/sub/rel.txt")
    has(db, f"{W}/dirlink/rel.txt", "read", target=f"{W}/sub/rel.txt")
    if flags == ["--exact"]:
        # Listing comes from getdents: the dirfds never listed are not 'list'.
        assert db.paths(root, mode="list") == {W}, db.paths(root, mode="list")
    # Nothing resolved against the wrong directory ("/" was the cwd for the dirfd calls).
    wrong = [f for f in db.files_of(root, err=None) if f["path"].split("/")[1] in
             ("sub", "link.txt", "o2.txt", "norm.txt", "renamed.txt", "hard.txt")]
    assert not wrong, wrong
    # A row without a target means the name is the kernel's path.
    for f in db.files_of(root, mode="read"):
        if f["path"].startswith(W) and f["target"] is None:
            assert os.path.realpath(f["path"]) == f["path"], f


def test_killed_root_with_running_child(tmp_path, work):
    for sig in (signal.SIGKILL, signal.SIGTERM):
        out_dir = work / sig.name
        out_dir.mkdir()
        res, db = trace(tmp_path, prog("killed_child"), out_dir, int(sig))
        ok(res, db, 128 + sig)
        root = db.root()
        assert root["exit_status"] == 128 + sig
        has(db, str(out_dir / "parent.txt"), {"create", "write"}, proc=root)
        # The child outlives the root; sgxpy waits for it and records its file.
        assert (out_dir / "child.txt").exists(), "sgxpy returned before the tree finished"
        who = db.who(str(out_dir / "child.txt"), {"create", "write"})
        assert len(who) == 1, db.describe()
        child = who[0]
        assert child["kind"] == "fork" and child["parent"] == root["id"]
        assert child["exit_status"] == 0


def test_clone3_and_clone_fs(tmp_path, work):
    res, db = trace(tmp_path, prog("clone3"), work)
    if res.returncode == 77:
        pytest.skip("kernel without clone3")
    ok(res, db)
    root = db.root()
    kids = db.children(root)
    assert len(kids) == 2 and all(k["kind"] == "fork" for k in kids), db.describe()
    plain = db.who(str(work / "clone3_child.txt"), {"create", "write"})
    assert len(plain) == 1 and plain[0]["parent"] == root["id"], db.describe()
    assert plain[0]["exit_status"] == 7
    # The CLONE_FS child's chdir moved the parent too.
    has(db, str(work / "sub"), "chdir")
    has(db, str(work / "sub" / "fs_parent.txt"), {"create", "write"}, proc=root)
    assert not db.files_of(None, path=str(work / "fs_parent.txt"), err=None), db.describe()


def test_clone_fs_child_sees_parent_chdir(tmp_path, work):
    res, db = trace(tmp_path, prog("clone_fs"), work)
    ok(res, db)
    root = db.root()
    kids = db.children(root)
    assert len(kids) == 1 and kids[0]["kind"] == "fork", db.describe()
    has(db, str(work / "fs_child.txt"), {"create", "write"}, proc=kids[0])
    assert not db.files_of(None, path="/fs_child.txt", err=None), db.describe()


def test_execveat(tmp_path, work):
    progs_dir = os.path.dirname(prog("exit_code"))
    res, db = trace(tmp_path, prog("execveat"), progs_dir, "exit_code", "5")
    ok(res, db, 5)
    new = [p for p in db.procs_of() if p["kind"] == "exec"]
    assert len(new) == 1 and new[0]["exe"] == prog("exit_code"), db.describe()
    assert new[0]["argv"] == ["exit_code", "5"] and new[0]["exit_status"] == 5
    has(db, prog("exit_code"), "exec")   # resolved against the dirfd, not the cwd "/"
    has_resolved(db, LD_SO_REAL, "exec", proc=new[0])

    res, db = trace(tmp_path, prog("execveat"), "-f", prog("exit_code"), "6")
    ok(res, db, 6)
    new = [p for p in db.procs_of() if p["kind"] == "exec"]
    assert len(new) == 1 and new[0]["exe"] == prog("exit_code"), db.describe()
    assert new[0]["exit_status"] == 6
    assert prog("exit_code") in db.names(mode="exec"), db.describe()


def test_script_interpreter_chain(tmp_path, work):
    """#! chain: script2 -> script1 -> /bin/sh -> ld.so, all loaded by one execve."""
    s1 = work / "script1"
    s1.write_text("#!/bin/sh\nexit 4\n")
    s2 = work / "script2"
    s2.write_text(f"#!{s1}\n")
    s1.chmod(0o755)
    s2.chmod(0o755)
    res, db = trace(tmp_path, s2, "arg")
    ok(res, db, 4)
    root = db.root()
    assert root["exe"] == os.path.realpath("/bin/sh")
    for p in (str(s2), str(s1), "/bin/sh"):
        has(db, p, "exec")
    has_resolved(db, LD_SO_REAL, "exec")
    assert len(db.procs) == 1, db.describe()

    # A Python script with `#!/usr/bin/python3`.
    s3 = work / "script3.py"
    s3.write_text(f"#!{PYTHON}\nimport sys\nsys.exit(5)\n")
    s3.chmod(0o755)
    res, db = trace(tmp_path, s3)
    ok(res, db, 5)
    has(db, str(s3), "exec")
    has(db, PYTHON, "exec")
    has(db, str(s3), "read")
    assert db.root()["exe"] == PY_REAL


def test_signals_delivered(tmp_path):
    res, db = trace(tmp_path, prog("signals"))
    ok(res, db)
    assert "signals: ok" in res.stdout
    assert len(db.procs) == 2


@pytest.mark.parametrize("flags,unmap", [([], False), (["--exact"], True)],
                         ids=["default-kept", "exact-unmapped"])
def test_mmap_exec_of_plain_file(tmp_path, work, flags, unmap):
    """A plain file mapped PROT_EXEC is a 'map' row.  By default the tracer reads
    executable mappings from /proc/PID/maps when the image ends, so the mapping is
    kept until exit (os._exit skips the interpreter's clean-up); --exact traps
    mmap itself, so even a mapping gone before exit counts."""
    f = work / "blob.bin"
    f.write_bytes(b"\0" * 8192)
    code = ("import mmap, os, sys\n"
            "f = open(sys.argv[1], 'rb')\n"
            "m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ | mmap.PROT_EXEC)\n"
            "if sys.argv[2] == 'unmap':\n"
            "    m.close()\n"
            "    f.close()\n"
            "    sys.exit(0)\n"
            "os._exit(0)\n")
    res, db = trace(tmp_path, PYTHON, "-c", code, f, "unmap" if unmap else "keep", extra_args=flags)
    ok(res, db)
    has(db, str(f), "read")
    has(db, str(f), "map")


# ---------------------------------------------------------------------------
# Completeness against strace -f

COMPLETENESS = {
    "import_json": lambda apps, work: [PYTHON, "-c", "import json"],
    "subprocess_app": lambda apps, work: [PYTHON, apps / "app.py"],
    "multiprocessing": lambda apps, work: [PYTHON, apps / "mp_app.py", work],
    "threads_app": lambda apps, work: [PYTHON, apps / "threads_app.py", work],
    "thread_exec": lambda apps, work: [prog("thread_exec"), prog("exit_code"), "0"],
    "spawn": lambda apps, work: [prog("spawn"), work],
    "dirfd_open": lambda apps, work: [prog("dirfd_open"), work],
    "killed_child": lambda apps, work: [prog("killed_child"), work, "15"],
    "threads_open": lambda apps, work: [prog("threads_open"), "4", work],
    "clone3": lambda apps, work: [prog("clone3"), work],
    "clone_fs": lambda apps, work: [prog("clone_fs"), work],
    "execveat": lambda apps, work: [prog("execveat"), os.path.dirname(prog("exit_code")),
                                    "exit_code", "0"],
}


def _empty(d):
    for p in sorted(Path(d).rglob("*"), reverse=True):
        if p.is_dir() and not p.is_symlink():
            p.rmdir()
        else:
            p.unlink()


@pytest.mark.parametrize("name", sorted(COMPLETENESS))
def test_complete_against_strace(tmp_path, apps, work, name):
    """Every path strace -f shows opened (or exec'd) successfully is in the trace,
    as a path or a target, in some process of the run.  Pids and random temp
    names are normalised on both sides (conftest.normalize_volatile)."""
    cmd = COMPLETENESS[name](apps, work)
    if name in ("subprocess_app", "multiprocessing", "threads_app"):
        subprocess.run(cmd, capture_output=True, env=clean_env(), cwd=tmp_path, timeout=TIMEOUT)
        _empty(work)  # warm __pycache__ so both runs read the same pycs
    st = strace_opened(cmd, cwd=tmp_path, log=tmp_path / "strace.log")
    assert st.opened, "strace saw nothing: is strace broken?"
    _empty(work)
    res, db = trace(tmp_path, *cmd)
    assert res.returncode == st.returncode, (res.returncode, st.returncode, res.stderr)
    assert db is not None, res.stderr
    missing = missing_from_trace(st, db)
    assert not missing, (f"{len(missing)} paths strace saw opened are missing from the trace:\n"
                         + "\n".join(missing))


def test_example_hello(tmp_path):
    """examples/hello (the README quick start) traces cleanly and per process."""
    src = Path(__file__).resolve().parents[2] / "examples" / "hello"
    app = tmp_path.resolve() / "hello"
    shutil.copytree(src, app, ignore=shutil.ignore_patterns("__pycache__"))
    cmd = [PYTHON, app / "app.py"]
    res, db = trace(tmp_path, *cmd)
    ok(res, db)
    assert res.stdout.strip() == (
        '{"grand_total": "502.75", "regions": {"east": "110.00", "north": "162.75", '
        '"south": "230.00"}, "worker": {"best": "south", "regions": 3}}')
    root = db.root()
    has(db, str(app / "sales.csv"), "read", proc=root)
    has(db, str(app / "report.py"), "read", proc=root)   # first run: compiled from source
    has(db, str(app / "__pycache__"), "create", proc=root)
    has(db, f"{PYLIB}/__pycache__/csv.cpython-311.pyc", "read", proc=root)
    worker = db.by_argv(lambda a: a[-1] == str(app / "worker.py"))
    assert len(worker) == 1 and root in db.ancestors(worker[0]), db.describe()
    has(db, str(app / "worker.py"), "read", proc=worker[0])
    assert not db.files_of(worker[0], path=str(app / "sales.csv"), err=None)


def test_fork_storm(tmp_path):
    """200 children with grandchildren at once, then 200 processes SIGKILLed while
    looping on a trapped open: every process is recorded once, with its status
    and its file, in the right place of the tree.  Run 4 times: the races it
    provokes (a child that stops, or even exits, before its creator's fork
    event is seen) show in about half the runs on 2 cores."""
    n = 200
    for attempt in range(4):
        work = tmp_path.resolve() / f"storm{attempt}"
        work.mkdir()
        res, db = trace(tmp_path, prog("fork_storm"), work, n)
        ok(res, db)
        assert "fork_storm: ok" in res.stdout
        root = db.root()
        kids = db.children(root)
        by_pid = {}
        for p in db.procs:
            by_pid.setdefault(p["pid"], []).append(p)
        dups = [ps for ps in by_pid.values() if len(ps) > 1]
        assert not dups, f"attempt {attempt}: pids recorded twice: {dups[:3]}"
        assert len(db.procs) == 1 + 3 * n and len(kids) == 2 * n, \
            f"attempt {attempt}: {len(db.procs)} procs, {len(kids)} children"
        for i in range(n):
            c = db.who(str(work / f"c{i}.txt"), {"create", "write"})
            g = db.who(str(work / f"g{i}.txt"), {"create", "write"})
            assert len(c) == 1 and len(g) == 1, (i, c, g)
            assert c[0]["parent"] == root["id"] and g[0]["parent"] == c[0]["id"], (c, g)
            assert c[0]["exit_status"] == 0 and g[0]["exit_status"] == i % 7, (c, g)
        killed = [p for p in kids if p["exit_status"] == 137]
        assert len(killed) == n, sorted(str(p["exit_status"]) for p in kids)
        assert all(p["kind"] == "fork" for p in db.procs if p is not root)


def test_danger_syscalls_noted(tmp_path):
    res, db = trace(tmp_path, prog("danger"), "/etc/hostname")
    ok(res, db)
    noted = {f["path"] for f in db.files_of(db.root(), mode="syscall", err=None)}
    assert {"io_uring_setup", "name_to_handle_at", "open_by_handle_at"} <= noted, noted


def test_i386_syscalls_traced(tmp_path, work):
    f = work / "via-int80.txt"
    f.write_text("x\n")
    res, db = trace(tmp_path, prog("abi32"), f)
    if res.returncode == 77:
        pytest.skip("no 32-bit syscall emulation in this kernel")
    ok(res, db)
    root = db.root()
    has(db, str(f), "read", proc=root)
    assert root["abi"] == "i386", root


def test_long_and_many_arguments(tmp_path):
    """argv is read across page boundaries and kept whole: 3000 arguments and
    one of 100 KiB."""
    big = "x" * (100 * 1024)   # MAX_ARG_STRLEN is 128 KiB
    args = [str(i) for i in range(3000)] + [big, "last"]
    res, db = trace(tmp_path, "/bin/true", *args)
    ok(res, db)
    assert db.runs[0]["argv"] == ["/bin/true", *args]
    assert db.root()["argv"] == ["/bin/true", *args]


def test_deep_paths(tmp_path):
    """Paths close to PATH_MAX (4096) through relative names and dirfds."""
    base = tmp_path.resolve()
    comp = "d" * 200
    depth = (4000 - len(str(base))) // (len(comp) + 1)
    code = ("import os, sys\n"
            "os.chdir(sys.argv[1])\n"
            "for _ in range(int(sys.argv[2])):\n"
            "    os.mkdir(sys.argv[3]); os.chdir(sys.argv[3])\n"
            "open('f.txt', 'w').close()\n"
            "open(os.getcwd() + '/f.txt').close()\n")
    res, db = trace(tmp_path, PYTHON, "-c", code, base, depth, comp)
    ok(res, db)
    deep = str(base) + ("/" + comp) * depth + "/f.txt"
    assert len(deep) > 3800
    has(db, deep, "create")
    has(db, deep, "read")


def test_root_found_on_path(tmp_path):
    """CMD without a slash is looked up on PATH, like a shell does."""
    progs_dir = os.path.dirname(prog("exit_code"))
    env = clean_env(PATH=progs_dir + ":/usr/bin:/bin")
    res, db = trace(tmp_path, "exit_code", "4", env=env)
    ok(res, db, 4)
    assert db.runs[0]["argv"] == ["exit_code", "4"]
    root = db.root()
    assert root["exe"] == prog("exit_code") and root["argv"] == ["exit_code", "4"]
    has(db, prog("exit_code"), "exec", proc=root)


def test_relative_program(tmp_path):
    """A relative CMD is resolved against the cwd."""
    shutil.copy(prog("exit_code"), tmp_path / "ec")
    res, db = trace(tmp_path, "./ec", "6")
    ok(res, db, 6)
    root = db.root()
    assert root["exe"] == str(tmp_path / "ec")
    has(db, str(tmp_path / "ec"), "exec", proc=root)


def test_non_utf8_argv_kept(tmp_path):
    """An argv element that is not UTF-8 must not vanish from the trace (the
    manifest's image key and the supervisor's match depend on argv)."""
    env = clean_env()
    res = subprocess.run([os.fsencode(SGXPY), b"trace", b"-o", os.fsencode(tmp_path / "t.trace"),
                          b"--", os.fsencode(prog("exit_code")), b"\xff"],
                         capture_output=True, timeout=TIMEOUT, env=env, cwd=tmp_path)
    assert res.returncode == 0, res  # atoi("\xff") == 0
    db = TraceDB(tmp_path / "t.trace")
    assert len(db.runs[0]["argv"]) == 2, db.runs[0]["argv"]
    assert len(db.root()["argv"]) == 2, db.root()["argv"]


@pytest.mark.parametrize("flags", [[], ["--exact"]], ids=["default", "exact"])
def test_open_errors_match_kernel(tmp_path, apps, work, flags):
    """Each failed (or successful) open is kept with the errno the kernel gave
    the app: ENOENT, ENOTDIR, ELOOP (symlink loop, O_NOFOLLOW on a symlink),
    EEXIST (O_EXCL), EISDIR."""
    import json
    res, db = trace(tmp_path, PYTHON, apps / "open_errors.py", work, extra_args=flags)
    ok(res, db)
    seen = json.loads(res.stdout)
    root = db.root()
    wrong = []
    for path, oflags, err in seen:
        rows = db.files_of(root, mode={"read", "write", "create", "list"}, path=path, err=None)
        if err not in {r["err"] for r in rows}:
            wrong.append(f"{path} flags={oflags:#o}: kernel errno {err}, trace "
                         f"{sorted((r['mode'], r['err']) for r in rows)}")
    assert not wrong, "\n".join(wrong)
    # A symlink opened with O_NOFOLLOW failed: no successful read of it may be claimed.
    slink = str(work / "slink")
    assert not db.files_of(root, mode="read", path=slink, err=0), \
        db.files_of(root, path=slink, err=None)


@pytest.mark.parametrize("args", [[], ["--"], ["-o"], ["--no-such-flag", "--", "/bin/true"]],
                         ids=["nothing", "no-cmd", "o-without-file", "bad-flag"])
def test_usage_errors(tmp_path, args):
    res = run_sgxpy("trace", *args, cwd=tmp_path)
    assert res.returncode == 2, (res.returncode, res.stderr)   # EXIT_USAGE
    msg = res.stderr.strip()
    assert "sgxpy: trace:" in msg and len(msg.splitlines()) <= 3, res.stderr
    assert list(tmp_path.iterdir()) == [], "nothing may be written"


@pytest.mark.parametrize("flags", [[], ["--exact"]], ids=["default", "exact"])
def test_magic_links_resolved_in_tracee(tmp_path, apps, work, flags):
    """/proc/self/fd/N and /dev/stdin name the *tracee's* files: their result
    and target must be the ones the app got, not what the names mean in sgxpy."""
    other = work / "other.txt"
    other.write_text("other\n")
    inp = work / "input.txt"
    inp.write_text("input\n")
    script = f"{PYTHON} {apps / 'magic_links.py'} {other} < {inp}"
    res, db = trace(tmp_path, "/bin/sh", "-c", script, extra_args=flags, input="")
    ok(res, db)
    fd, pid, e99 = map(int, res.stdout.split()[1:])
    assert e99 == 2
    py = [p for p in db.procs_of() if p["exe"] == PY_REAL]
    assert len(py) == 1, db.describe()
    py = py[0]
    assert py["pid"] == pid

    def rows(name):
        return db.files_of(py, mode="read", err=None, path=name) + \
            db.files_of(py, mode="read", err=None, path=name.replace("/self/", f"/{pid}/"))

    via_fd = rows(f"/proc/self/fd/{fd}")
    assert [(r["err"], r["target"]) for r in via_fd] == [(0, str(other))], via_fd
    stdin = db.files_of(py, mode="read", err=None, path="/dev/stdin")
    assert [(r["err"], r["target"]) for r in stdin] == [(0, str(inp))], stdin
    assert [r["err"] for r in rows("/proc/self/fd/99")] == [2], rows("/proc/self/fd/99")


def test_fifo_open_does_not_hang(tmp_path, work):
    """Opening a FIFO blocks until the other end opens: the tracer must never
    open the path itself in a way that blocks, consumes or completes the pair."""
    fifo = work / "fifo"
    code = ("import os, sys, threading\n"
            "p = sys.argv[1]\n"
            "os.mkfifo(p)\n"
            "def writer():\n"
            "    with open(p, 'w') as w:\n"
            "        w.write('hi\\n')\n"
            "t = threading.Thread(target=writer)\n"
            "t.start()\n"
            "with open(p) as r:\n"
            "    data = r.read()\n"
            "t.join()\n"
            "print('fifo:', data.strip())\n")
    res, db = trace(tmp_path, PYTHON, "-c", code, fifo, timeout=60)
    ok(res, db)
    assert res.stdout.strip() == "fifo: hi"
    has(db, str(fifo), "read")
    has(db, str(fifo), {"write", "create"})


def test_stop_and_continue_whole_group(tmp_path):
    """SIGSTOP to the group (sgxpy and the app), then SIGCONT: the app stops,
    resumes and finishes normally."""
    out = tmp_path / "t.trace"
    code = ("import os, sys\n"
            "print('ready', os.getpid(), flush=True)\n"
            "line = sys.stdin.readline()\n"
            "print('got', line.strip(), flush=True)\n")
    args = [SGXPY, "trace", "-o", str(out), "--", PYTHON, "-c", code]
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True,
                         env=clean_env(), cwd=tmp_path, bufsize=1)
    try:
        pid = int(_read_line(p).split()[1])
        os.killpg(p.pid, signal.SIGSTOP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _state(pid) not in ("T", "t"):
            time.sleep(0.02)
        stopped = _state(pid)
        os.killpg(p.pid, signal.SIGCONT)
        stdout, stderr = p.communicate("hello\n", timeout=TIMEOUT)
    finally:
        _kill_group(p)
    assert stopped in ("T", "t"), f"app never stopped (state {stopped})"
    assert p.returncode == 0, stderr
    assert stdout.strip() == "got hello"
    assert TraceDB(out).root()["exit_status"] == 0


def _state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"


PERM_APP = ("import json, os, sys\n"
            "out = []\n"
            "for p in sys.argv[1:]:\n"
            "    try:\n"
            "        open(p).close()\n"
            "        out.append([p, 0])\n"
            "    except OSError as e:\n"
            "        out.append([p, e.errno])\n"
            "ok = os.access(sys.argv[1], os.R_OK)\n"
            "print(json.dumps({'opens': out, 'access': ok}))\n")


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root and setpriv to run the app as another user")
@pytest.mark.parametrize("flags", [[], ["--exact"]], ids=["default", "exact"])
def test_permission_denied_seen_as_the_app(flags):
    """The app runs as nobody, sgxpy as root: an open the kernel refuses the app
    (EACCES) must not be recorded as a success because root could open it."""
    import json
    import tempfile
    with tempfile.TemporaryDirectory(dir="/tmp") as d:
        d = Path(d)
        d.chmod(0o755)
        (d / "secret").write_text("s\n")
        (d / "secret").chmod(0o600)
        (d / "closed").mkdir(mode=0o700)
        (d / "closed" / "f").write_text("f\n")
        (d / "public").write_text("p\n")
        (d / "public").chmod(0o644)
        paths = [str(d / "secret"), str(d / "closed" / "f"), str(d / "public")]
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
               PYTHON, "-c", PERM_APP, *paths]
        res, db = trace(d, *cmd, out=d / "t.trace", extra_args=flags)
        ok(res, db)
        seen = json.loads(res.stdout)
        assert seen["opens"] == [[paths[0], 13], [paths[1], 13], [paths[2], 0]], seen
        py = [p for p in db.procs_of() if p["exe"] == PY_REAL][0]
        for path, err in seen["opens"]:
            got = sorted(r["err"] for r in db.files_of(py, mode="read", path=path, err=None))
            assert got == [err], f"{path}: the app got errno {err}, the trace says {got}"
        got = sorted(r["err"] for r in db.files_of(py, mode="stat", path=paths[0], err=None))
        assert got == [13], f"access() as nobody failed with EACCES, the trace says {got}"
