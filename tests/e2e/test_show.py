"""End-to-end tests of `sgxpy show TRACE` (tree text, --files, --json) and of
its handling of bad input.  The JSON is checked against the SQLite rows the same
trace holds, so show can neither invent nor drop anything."""
import json
import os
import re
import shutil
import sqlite3
import subprocess

import pytest

from conftest import PYTHON, clean_env, prog, show, show_json, trace


@pytest.fixture(scope="module")
def app_trace(tmp_path_factory):
    """One trace of the subprocess app (python -> sh -> cat, wc; python -> python),
    shared by the read-only tests of this module.  Returns (trace path, TraceDB, apps dir)."""
    from conftest import copy_apps
    d = tmp_path_factory.mktemp("show").resolve()
    apps = copy_apps(d / "apps")
    cmd = [PYTHON, apps / "app.py"]
    subprocess.run(cmd, check=True, capture_output=True, env=clean_env())
    res, db = trace(d, *cmd)
    assert res.returncode == 0 and db is not None, res.stderr
    return d / "t.trace", db, apps


def _depth(line):
    """Column of the first character that is not indentation or tree drawing."""
    m = re.search(r"[^\s|`\-+\\\u2500-\u257f]", line)
    return m.start() if m else len(line)


def _line_for(lines, proc):
    """The first tree line naming proc's pid (as a whole number), or None."""
    rx = re.compile(r"(?<!\d)%d(?!\d)" % proc["pid"])
    for i, line in enumerate(lines):
        if rx.search(line):
            return i
    return None


def test_show_tree(app_trace):
    path, db, apps = app_trace
    r = show(path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines, "show printed nothing"
    # Every exec'd image appears with its program and argv.
    for p in db.procs_of():
        if p["kind"] == "fork":
            continue
        hits = [ln for ln in lines if os.path.basename(p["exe"]) in ln or
                os.path.basename(p["argv"][0]) in ln]
        assert hits, f"{p['exe']} missing from tree:\n{r.stdout}"
    assert "cat data.txt | wc -l" in r.stdout
    assert "worker.py" in r.stdout
    # pstree-like: a child is printed after and deeper than its parent.
    root = db.root()
    ri = _line_for(lines, root)
    if ri is None:
        # No pids printed: fall back on the root's argv.
        ri = next(i for i, ln in enumerate(lines) if "app.py" in ln)
    for name in ("cat", "wc"):
        ci = next(i for i, ln in enumerate(lines) if re.search(r"\b%s\b" % name, ln)
                  and "data.txt |" not in ln)
        si = next(i for i, ln in enumerate(lines) if "cat data.txt | wc -l" in ln)
        assert ri < si < ci, f"order root < sh < {name}:\n{r.stdout}"
        assert _depth(lines[ri]) < _depth(lines[si]) < _depth(lines[ci]), \
            f"{name} must be indented below sh, sh below the root:\n{r.stdout}"
    # File counts: the root's line carries a number (its files).
    assert re.search(r"\d", lines[ri]), lines[ri]


def test_show_files(app_trace):
    path, db, apps = app_trace
    r = show(path, "--files")
    assert r.returncode == 0, r.stderr
    for f in db.files_of(None, err=0):
        if f["proc"] in (1,) or str(apps) in f["path"]:
            assert f["path"] in r.stdout, f"{f} missing from show --files"
    assert str(apps / "data.txt") in r.stdout
    assert str(apps / "workerlib.py") in r.stdout
    # --files adds to the tree: it prints more than plain show.
    assert len(r.stdout) > len(show(path).stdout)


def test_show_json_matches_store(app_trace):
    path, db, apps = app_trace
    js = show_json(path)
    assert list(js) == ["runs"] or "runs" in js, js.keys()
    assert len(js["runs"]) == 1
    run = js["runs"][0]
    assert run["id"] == 1
    assert run["argv"] == db.runs[0]["argv"]
    assert run["exit_status"] == 0
    procs = run["processes"]
    assert len(procs) == len(db.procs_of()), "one JSON process per procs row"
    by_id = {p["id"]: p for p in procs}
    for row in db.procs_of():
        p = by_id[row["id"]]
        assert p["pid"] == row["pid"]
        assert p["parent"] == row["parent"]
        assert p["kind"] == row["kind"]
        assert p["exe"] == row["exe"]
        assert p["argv"] == row["argv"]
        assert p["threads"] == row["threads"]
        assert p["exit_status"] == row["exit_status"]
        # ppid: the pid of the process that created this one (an exec keeps its
        # pid, so walk up through exec rows to the forking one).
        if row["parent"] is None:
            # The root's parent is sgxpy itself, which the store does not keep.
            assert p["ppid"] is None or (isinstance(p["ppid"], int) and p["ppid"] > 0), p["ppid"]
        else:
            creator = db.proc(row["parent"])
            while row["kind"] == "exec" and creator["kind"] == "exec" and creator["parent"]:
                creator = db.proc(creator["parent"])
            if row["kind"] == "fork":
                assert p["ppid"] == creator["pid"], (p, creator)
        rows = db.files_of(row["id"], err=None)
        got = sorted((f["path"], f["mode"], f["err"], f["target"]) for f in p["files"])
        want = sorted((f["path"], f["mode"], f["err"], f["target"]) for f in rows)
        assert got == want, f"files of proc {row['id']} differ"
    # The same JSON for the same trace (deterministic).
    assert show_json(path) == js


def test_show_json_kinds_on_thread_exec(tmp_path):
    res, db = trace(tmp_path, prog("thread_exec"), prog("exit_code"), "0")
    assert res.returncode == 0, res.stderr
    js = show_json(tmp_path / "t.trace")
    procs = js["runs"][0]["processes"]
    assert [p["kind"] for p in procs] == ["root", "exec"]
    assert procs[1]["parent"] == procs[0]["id"]
    assert procs[1]["pid"] == procs[0]["pid"]
    assert procs[1]["ppid"] == procs[0]["ppid"], "exec does not change the parent pid"
    assert procs[0]["exit_status"] is None and procs[1]["exit_status"] == 0


def test_show_appended_runs(tmp_path):
    out = tmp_path / "t.trace"
    res, _ = trace(tmp_path, prog("exit_code"), "3", out=out)
    assert res.returncode == 3
    res, _ = trace(tmp_path, prog("exit_code"), "4", out=out, append=True)
    assert res.returncode == 4
    js = show_json(out)
    assert [(r["id"], r["exit_status"]) for r in js["runs"]] == [(1, 3), (2, 4)]
    text = show(out)
    assert text.returncode == 0
    assert prog("exit_code") + " 3" in text.stdout or "exit_code 3" in text.stdout, text.stdout
    assert "exit_code 4" in text.stdout or prog("exit_code") + " 4" in text.stdout, text.stdout


# ---------------------------------------------------------------------------
# Bad input: a clear error naming the file, no crash, nothing on stdout.

def _make_bad(kind, d, good):
    p = d / f"{kind}.trace"
    if kind == "missing":
        return p
    if kind == "empty":
        p.write_bytes(b"")
    elif kind == "garbage":
        p.write_bytes(bytes(range(256)) * 64)
    elif kind == "text":
        p.write_text("format = sgxpy-trace\n")
    elif kind == "foreign_sqlite":
        con = sqlite3.connect(p)
        con.execute("CREATE TABLE meta(key TEXT, value TEXT)")
        con.execute("INSERT INTO meta VALUES('format', 'something-else'), ('version', '1')")
        con.commit()
        con.close()
    elif kind == "no_meta":
        con = sqlite3.connect(p)
        con.execute("CREATE TABLE procs(x)")
        con.commit()
        con.close()
    elif kind == "future_version":
        shutil.copy(good, p)
        con = sqlite3.connect(p)
        con.execute("UPDATE meta SET value='99' WHERE key='version'")
        con.commit()
        con.close()
    elif kind == "missing_table":
        shutil.copy(good, p)
        con = sqlite3.connect(p)
        con.execute("DROP TABLE files")
        con.commit()
        con.close()
    elif kind == "truncated":
        data = good.read_bytes()
        p.write_bytes(data[: len(data) // 2])
    elif kind == "corrupt_pages":
        data = bytearray(good.read_bytes())
        for i in range(4096, len(data), 97):   # keep the header, smash the rest
            data[i] = 0xA5
        p.write_bytes(bytes(data))
    elif kind == "bad_json":
        shutil.copy(good, p)
        con = sqlite3.connect(p)
        con.execute("UPDATE procs SET argv='[not json' WHERE id=1")
        con.execute("UPDATE runs SET argv='{]'")
        con.commit()
        con.close()
    return p


BAD = ["missing", "empty", "garbage", "text", "foreign_sqlite", "no_meta", "future_version",
       "missing_table", "truncated", "corrupt_pages", "bad_json"]


@pytest.mark.parametrize("kind", BAD)
@pytest.mark.parametrize("flags", [[], ["--json"], ["--files"]])
def test_show_bad_input(tmp_path, app_trace, kind, flags):
    good = app_trace[0]
    bad = _make_bad(kind, tmp_path, good)
    r = show(bad, *flags)
    assert r.returncode > 0, f"{kind}: show must fail (rc {r.returncode})\n{r.stdout[:500]}"
    assert r.returncode < 126, f"{kind}: crashed or odd status {r.returncode}\n{r.stderr}"
    msg = r.stderr.strip()
    assert msg, f"{kind}: no error message"
    assert str(bad) in msg, f"{kind}: the message must name the file: {msg!r}"
    assert len(msg.splitlines()) <= 3, f"{kind}: one clear message, not a dump: {msg!r}"
    assert "Assertion" not in msg and "Sanitizer" not in msg and "runtime error" not in msg, msg
    if flags == ["--json"]:
        assert r.stdout.strip() == "", f"{kind}: partial JSON on stdout"
    if kind != "missing" and kind not in ("truncated", "corrupt_pages"):
        assert bad.exists()


def test_show_leaves_trace_untouched(app_trace):
    path = app_trace[0]
    before = path.read_bytes()
    mtime = os.stat(path).st_mtime_ns
    assert show(path).returncode == 0
    assert show(path, "--json").returncode == 0
    assert path.read_bytes() == before and os.stat(path).st_mtime_ns == mtime


def test_show_json_is_valid_for_odd_names(tmp_path):
    """Paths and argv with quotes, backslashes, newlines and non-UTF-8 bytes
    must still give valid JSON."""
    d = tmp_path / "odd"
    d.mkdir()
    name = 'we"ird\\na\nme \u00e9'
    code = ("import os, sys\n"
            "open(os.path.join(sys.argv[1], sys.argv[2]), 'w').close()\n"
            "open(os.path.join(os.fsencode(sys.argv[1]), b'raw\\xff'), 'w').close()\n")
    res, db = trace(tmp_path, PYTHON, "-c", code, d, name)
    assert res.returncode == 0, res.stderr
    r = show(tmp_path / "t.trace", "--json")
    assert r.returncode == 0, r.stderr
    js = json.loads(r.stdout)
    root = js["runs"][0]["processes"][0]
    assert root["argv"][-1] == name
    paths = {f["path"] for f in root["files"]}
    assert str(d / name) in paths, sorted(p for p in paths if "odd" in p)
    assert any("raw" in p for p in paths), sorted(p for p in paths if "odd" in p)


def test_show_tree_one_line_per_process(tmp_path):
    """argv with newlines (python -c scripts) must not break the tree: one
    header line per run and one line per process."""
    code = "import os\nimport sys\nsys.exit(0)\n"
    res, db = trace(tmp_path, PYTHON, "-c", code)
    assert res.returncode == 0, res.stderr
    r = show(tmp_path / "t.trace")
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == len(db.runs) + len(db.procs), r.stdout
