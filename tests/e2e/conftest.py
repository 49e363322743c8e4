"""Shared helpers and fixtures for sgxpy's end-to-end tests.

Environment (set by `make e2e`):
    SGXPY   absolute path of the sgxpy binary   (default /work/main/build/sgxpy)
    PROGS   directory of the compiled tests/progs/*.c   (default /work/main/build/progs)

Every helper is a plain function, importable from other test files with
`from conftest import trace, TraceDB, ...`; the fixtures at the end wrap them.

Main helpers:
    run_sgxpy(*args, **kw)            run `sgxpy ARGS`, return CompletedProcess (text mode)
    trace(tmp_path, *cmd, **kw)       run `sgxpy trace -o TMP/t.trace -- CMD`, return
                                      (CompletedProcess, TraceDB or None if no trace file)
    TraceDB(path)                     the rows of a trace store (docs/formats.md), decoded
    show_json(trace_path)             `sgxpy show --json TRACE` parsed
    strace_opened(cmd, ...)           what `strace -f` says CMD opened and exec'd successfully
    normalize_volatile(path)          map pids and random temp names to placeholders
    copy_apps(dest)                   copy tests/e2e/apps into dest (pycache stays out of git)
    clean_env(**extra)                os.environ with a plain PATH (no pyenv shims) + extra

Always run Python apps with PYTHON (/usr/bin/python3, Debian's interpreter), never a
bare `python3` (pyenv's shims come first on PATH on the dev machines).
"""
import json
import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

SGXPY = os.environ.get("SGXPY", "/work/main/build/sgxpy")
PROGS = Path(os.environ.get("PROGS", "/work/main/build/progs"))
PYTHON = "/usr/bin/python3"
APPS = Path(__file__).resolve().parent / "apps"
PLAIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Generous: the CI machines have 2 noisy cores.  A hang fails the test, it never
# stalls the suite.
TIMEOUT = 120


def prog(name):
    """Absolute path (str) of a compiled test program from tests/progs/NAME.c."""
    p = PROGS / name
    if not os.access(p, os.X_OK):
        pytest.fail(f"test program {p} is missing: run `make` first")
    return str(p)


def clean_env(**extra):
    """A copy of os.environ with PATH set to the plain system PATH (no pyenv
    shims, which would add bash and pyenv processes to every traced tree),
    without PYTHON* variables that would change what the interpreter loads,
    plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PYTHON") and not k.startswith("PYENV")}
    env["PATH"] = PLAIN_PATH
    env.update(extra)
    return env


def copy_apps(dest):
    """Copy tests/e2e/apps/* into dest (a Path) and return dest.  Tests run the
    copies so that __pycache__ writes land in the tmp dir, not in the repo."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for f in APPS.iterdir():
        if f.is_file():
            shutil.copy2(f, dest / f.name)
    return dest


def run_sgxpy(*args, timeout=TIMEOUT, env=None, cwd=None, input=None, check=False):
    """Run `SGXPY ARGS...` and return the CompletedProcess (stdout/stderr as text)."""
    if not os.access(SGXPY, os.X_OK):
        pytest.fail(f"sgxpy binary {SGXPY} is missing: run `make` first")
    return subprocess.run([SGXPY, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env if env is not None else clean_env(),
                          cwd=cwd, input=input, check=check)


class TraceDB:
    """All rows of one trace store, read with Python's sqlite3 (schema in
    docs/formats.md).  Rows are dicts; JSON columns (runs.argv, procs.argv,
    procs.env) are decoded.

    Attributes: path, meta (dict), runs, procs, files (lists of dicts).
    """

    def __init__(self, path):
        self.path = str(path)
        db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        db.row_factory = sqlite3.Row
        # Paths are the process's bytes: not always UTF-8.
        db.text_factory = lambda b: b.decode("utf-8", "surrogateescape")
        try:
            self.meta = {r["key"]: r["value"] for r in db.execute("SELECT key, value FROM meta")}
            self.runs = [self._decode(r, "argv") for r in db.execute("SELECT * FROM runs ORDER BY id")]
            self.procs = [self._decode(r, "argv", "env")
                          for r in db.execute("SELECT * FROM procs ORDER BY run, id")]
            self.files = [dict(r) for r in db.execute("SELECT * FROM files ORDER BY run, proc, path, mode")]
        finally:
            db.close()

    @staticmethod
    def _decode(row, *json_cols):
        d = dict(row)
        for c in json_cols:
            if d.get(c) is not None:
                d[c] = json.loads(d[c])
        return d

    # -- processes -------------------------------------------------------
    def proc(self, pid_id, run=1):
        """The procs row with id `pid_id` in `run`."""
        for p in self.procs:
            if p["run"] == run and p["id"] == pid_id:
                return p
        raise KeyError(f"no proc id {pid_id} in run {run}")

    def root(self, run=1):
        roots = [p for p in self.procs if p["run"] == run and p["parent"] is None]
        assert len(roots) == 1, f"run {run} must have exactly one root, got {roots}"
        return roots[0]

    def procs_of(self, run=1):
        return [p for p in self.procs if p["run"] == run]

    def children(self, proc):
        return [p for p in self.procs if p["run"] == proc["run"] and p["parent"] == proc["id"]]

    def ancestors(self, proc):
        """Parent chain of proc, nearest first (stops at the root)."""
        out = []
        seen = set()
        while proc["parent"] is not None and proc["id"] not in seen:
            seen.add(proc["id"])
            proc = self.proc(proc["parent"], proc["run"])
            out.append(proc)
        return out

    def image(self, proc):
        """The exec (or root) proc whose image a forked copy runs: walk up
        through 'fork' rows."""
        while proc["kind"] == "fork":
            proc = self.proc(proc["parent"], proc["run"])
        return proc

    def by_exe(self, name, run=1):
        """Procs whose exe basename is `name` (or whose exe equals it, if absolute)."""
        return [p for p in self.procs_of(run) if p["exe"] is not None and
                (p["exe"] == name or os.path.basename(p["exe"]) == name)]

    def by_argv(self, pred, run=1):
        """Procs with an argv for which pred(argv) is true."""
        return [p for p in self.procs_of(run) if p["argv"] is not None and pred(p["argv"])]

    # -- files -----------------------------------------------------------
    def files_of(self, proc=None, run=1, mode=None, err=None, path=None):
        """files rows filtered by proc (a row or an id), mode (str or set), err, path."""
        pid = proc["id"] if isinstance(proc, dict) else proc
        modes = {mode} if isinstance(mode, str) else mode
        return [f for f in self.files if f["run"] == run
                and (pid is None or f["proc"] == pid)
                and (modes is None or f["mode"] in modes)
                and (err is None or f["err"] == err)
                and (path is None or f["path"] == path)]

    def paths(self, proc=None, run=1, mode=None, err=0):
        """Set of `path` values (err=None: any result)."""
        return {f["path"] for f in self.files_of(proc, run, mode, err)}

    def names(self, proc=None, run=1, mode=None, err=0):
        """Set of every `path` and `target` (kernel-resolved) value."""
        out = set()
        for f in self.files_of(proc, run, mode, err):
            out.add(f["path"])
            if f["target"] and f["mode"] != "symlink":
                out.add(f["target"])
        return out

    def modes(self, path, proc=None, run=1, err=0):
        """Set of modes recorded for `path`."""
        return {f["mode"] for f in self.files_of(proc, run, None, err, path)}

    def who(self, path, mode=None, run=1, err=0):
        """Procs that have a row for path (with mode, if given)."""
        ids = {f["proc"] for f in self.files_of(None, run, mode, err, path)}
        return [self.proc(i, run) for i in sorted(ids)]

    def describe(self, run=1):
        """Readable dump of the run for assertion messages."""
        lines = []
        for p in self.procs_of(run):
            lines.append(f"proc {p['id']} parent={p['parent']} pid={p['pid']} kind={p['kind']} "
                         f"exe={p['exe']} argv={p['argv']} threads={p['threads']} "
                         f"exit={p['exit_status']}")
            for f in self.files_of(p, run, err=None):
                lines.append(f"    {f['mode']:8} {f['err']:3} {f['path']}"
                             + (f" -> {f['target']}" if f["target"] else ""))
        return "\n".join(lines)


def trace(tmp_path, *cmd, out=None, append=False, env=None, cwd=None, timeout=TIMEOUT,
          input=None, extra_args=(), read=True):
    """Run `sgxpy trace -o OUT [--append] -- CMD...` and read the result.

    tmp_path: a directory (the pytest tmp_path); OUT defaults to tmp_path/"t.trace".
    cmd: the command, every element converted with str().
    env: defaults to clean_env(); cwd: defaults to tmp_path.
    Returns (CompletedProcess, TraceDB) or (CompletedProcess, None) if OUT does not
    exist or read=False (for tests where OUT is not, or must not become, a trace).
    """
    out = Path(out) if out is not None else Path(tmp_path) / "t.trace"
    args = ["trace", "-o", str(out)]
    if append:
        args.append("--append")
    args += list(extra_args)
    args += ["--", *map(str, cmd)]
    res = run_sgxpy(*args, timeout=timeout, env=env, cwd=cwd if cwd is not None else tmp_path,
                    input=input)
    return res, (TraceDB(out) if read and out.exists() else None)


def show(trace_path, *args, timeout=TIMEOUT):
    """Run `sgxpy show ARGS... TRACE`."""
    return run_sgxpy("show", *args, str(trace_path), timeout=timeout)


def show_json(trace_path):
    """`sgxpy show --json TRACE`, parsed; fails the test if show fails."""
    r = show(trace_path, "--json")
    assert r.returncode == 0, f"show --json failed: {r.returncode}\n{r.stderr}"
    return json.loads(r.stdout)


# -- strace ----------------------------------------------------------------

STRACE_CALLS = "open,openat,openat2,creat,execve,execveat"
_OPENS = {"open", "openat", "openat2", "creat"}
_LINE = re.compile(r"^(\d+)\s+(.*)$")
_CALL = re.compile(r"^(\w+)\((.*)$")
_RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>(.*)$")
_FD_RESULT = re.compile(r"\)\s+=\s+(\d+)<(.*)>$")
_EXEC_OK = re.compile(r"\)\s+=\s+0$")
_FIRST_STR = re.compile(r'^(?:[^,"]*,\s*)?"((?:[^"\\]|\\.)*)"')


def _unescape(s):
    if "\\" not in s:
        return s
    return s.encode("latin-1", "backslashreplace").decode("unicode_escape").encode(
        "latin-1").decode("utf-8", "surrogateescape")


class StraceResult:
    """opened: kernel paths (strace -y) of every successful open/openat/openat2/creat;
    execs: program paths of every successful execve/execveat, as passed (absolute
    only: a relative name cannot be resolved from strace output alone);
    other: fd results that are no file-system path (pipe:[..], socket:[..], anon_inode:..);
    lines: the raw log."""

    def __init__(self):
        self.opened, self.execs, self.other, self.lines = set(), set(), set(), []


def strace_opened(cmd, *, cwd=None, env=None, timeout=TIMEOUT, log=None):
    """Run CMD under `strace -f -qq -y -e trace=open,openat,openat2,creat,execve,execveat`
    and return a StraceResult.  `-y` (--decode-fds=path) makes strace print the
    kernel's path of each returned fd, so relative and dirfd-relative opens come
    out absolute and symlinks resolved; compare them with a trace's
    TraceDB.names() (paths and targets)."""
    log = Path(log) if log else Path(cwd or "/tmp") / "strace.log"
    full = ["strace", "-f", "-qq", "-y", "-s", "4096", "-e", f"trace={STRACE_CALLS}",
            "-o", str(log), "--", *map(str, cmd)]
    proc = subprocess.run(full, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env=env if env is not None else clean_env())
    res = StraceResult()
    # strace dies of the signal that killed the traced command: report it the
    # way sgxpy and the shell do (128+N).
    res.returncode = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
    res.stdout = proc.stdout
    pending = {}
    for raw in log.read_text(errors="surrogateescape").splitlines():
        res.lines.append(raw)
        m = _LINE.match(raw)
        if not m:
            continue
        pid, rest = m.groups()
        r = _RESUMED.match(rest)
        if r:
            name, tail = r.groups()
            rest = pending.pop(pid, name + "(") + tail
        elif rest.endswith("<unfinished ...>"):
            pending[pid] = rest[: -len("<unfinished ...>")].rstrip()
            continue
        c = _CALL.match(rest)
        if not c:
            continue
        name, args = c.groups()
        if name in _OPENS:
            fr = _FD_RESULT.search(rest)
            if fr:
                p = _unescape(fr.group(2))
                if p.endswith(" (deleted)"):
                    p = p[: -len(" (deleted)")]
                (res.opened if p.startswith("/") else res.other).add(p)
        elif name in ("execve", "execveat") and _EXEC_OK.search(rest):
            if name == "execveat":
                # execveat(3</dir>, "name", ...): join the dirfd's path and the name.
                em = re.match(r'^(?:\d+<(.*?)>|AT_FDCWD(?:<(.*?)>)?),\s*"((?:[^"\\]|\\.)*)"', args)
                if em:
                    base = em.group(1) or em.group(2) or ""
                    name_ = _unescape(em.group(3))
                    p = name_ if name_.startswith("/") or not name_ else os.path.join(base, name_)
                    if p.startswith("/"):
                        res.execs.add(os.path.normpath(p))
                continue
            sm = _FIRST_STR.match(args)
            if sm:
                p = _unescape(sm.group(1))
                if p.startswith("/"):
                    res.execs.add(os.path.normpath(p))
    return res


# Names that differ from one run of the same program to the next.
_VOLATILE = [
    (re.compile(r"^/proc/\d+/task/\d+(?=/|$)"), "/proc/<pid>/task/<tid>"),
    (re.compile(r"^/proc/\d+(?=/|$)"), "/proc/<pid>"),
    (re.compile(r"/pymp-[A-Za-z0-9_]+"), "/pymp-<rand>"),
    (re.compile(r"/tmp[A-Za-z0-9_]{8}(?=/|$)"), "/tmp<rand>"),
    (re.compile(r"^/dev/shm/sem\.[A-Za-z0-9_.-]+$"), "/dev/shm/sem.<rand>"),
    (re.compile(r"\.pyc\.\d+$"), ".pyc.<id>"),
    (re.compile(r"/pool-\d+\.txt$"), "/pool-<pid>.txt"),
]


def normalize_volatile(path):
    """Replace pids, multiprocessing/tempfile random names and sem names in a
    path by placeholders, so two runs of one program can be compared."""
    for rx, rep in _VOLATILE:
        path = rx.sub(rep, path)
    return path


def missing_from_trace(st, db, run=1):
    """Paths strace saw opened or exec'd successfully that the trace has
    neither as a path nor as a target (any mode, any process of the run),
    after normalize_volatile() on both sides."""
    have = {normalize_volatile(p) for p in db.names(run=run, err=0)}
    want = {normalize_volatile(p) for p in st.opened | st.execs}
    return sorted(want - have)


# -- fixtures ---------------------------------------------------------------

@pytest.fixture
def sgxpy():
    """Absolute path of the sgxpy binary under test."""
    return SGXPY


@pytest.fixture
def progs():
    """Directory (Path) of the compiled test programs."""
    return PROGS


@pytest.fixture
def apps(tmp_path):
    """A fresh copy of tests/e2e/apps in tmp_path/"apps" (a resolved Path)."""
    return copy_apps(tmp_path.resolve() / "apps")


@pytest.fixture
def work(tmp_path):
    """An empty, resolved (symlink-free) directory for a program's output."""
    d = tmp_path.resolve() / "work"
    d.mkdir()
    return d
