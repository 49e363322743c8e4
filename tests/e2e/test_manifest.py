"""End-to-end tests of `sgxpy manifest`, `show BUNDLE`, `verify`, `keygen`, `sign`.

Real traces of real Python programs (tests/e2e/apps, examples/hello) where the
tracer is needed, and hand-built trace stores (docs/formats.md schema) where a
rule needs an exact input.  SGXPY names the binary (default build/sgxpy).
"""
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tomllib
from pathlib import Path

import pytest

SGXPY = os.environ.get("SGXPY", "/work/main/build/sgxpy")
PYTHON = "/usr/bin/python3"
REPO = Path(__file__).resolve().parents[2]
APPS = REPO / "tests" / "e2e" / "apps"
HELLO = REPO / "examples" / "hello"
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
       "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8"}


def sgx(*args, cwd=None, check=None):
    r = subprocess.run([SGXPY, *map(str, args)], capture_output=True, text=True,
                       cwd=cwd, env=ENV, timeout=180)
    if check is not None:
        assert r.returncode == check, (args, r.returncode, r.stdout, r.stderr)
    return r


def sha256sum(path):
    out = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True)
    return out.stdout.split()[0]


def load_bundle(b):
    b = Path(b)
    idx = json.loads((b / "bundle.json").read_text())
    mans = {i: json.loads((b / "manifests" / f"{i}.json").read_text()) for i in idx["images"]}
    return idx, mans


def by_script(mans, suffix):
    hits = [m for m in mans.values() if (m["script"] or "").endswith(suffix)]
    assert len(hits) == 1, (suffix, [m["id"] for m in mans.values()])
    return hits[0]


def by_program(mans, name):
    hits = [m for m in mans.values() if os.path.basename(m["program"]["path"]) == name]
    assert len(hits) == 1, (name, [m["id"] for m in mans.values()])
    return hits[0]


def trusted_paths(m):
    return {t["path"] for t in m["trusted"]}


def tree_bytes(d):
    d = Path(d)
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def trace_app(tmp, src_dir, script, *args):
    app = Path(tmp) / "app"
    shutil.copytree(src_dir, app, ignore=shutil.ignore_patterns("__pycache__"))
    t = Path(tmp) / "app.trace"
    r = subprocess.run([SGXPY, "trace", "-o", str(t), "--", PYTHON, script, *args],
                       cwd=app, env=ENV, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    return app, t


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def subproc(tmp_path_factory):
    """The subprocess app traced and turned into a bundle once."""
    tmp = tmp_path_factory.mktemp("subproc")
    app, t = trace_app(tmp, APPS, "app.py")
    b = tmp / "b"
    sgx("manifest", "-o", b, t, cwd=tmp, check=0)
    return app, t, b


@pytest.fixture(scope="module")
def hello(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hello")
    app, t = trace_app(tmp, HELLO, "app.py")
    b = tmp / "b"
    sgx("manifest", "-o", b, t, cwd=tmp, check=0)
    return app, t, b


class Trace:
    """A hand-built trace store following docs/formats.md."""

    def __init__(self, path):
        self.path = Path(path)
        self.db = sqlite3.connect(self.path)
        self.db.executescript("""
            CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
            INSERT INTO meta VALUES('format','sgxpy-trace'),('version','1');
            CREATE TABLE runs(id INTEGER PRIMARY KEY, argv TEXT NOT NULL, cwd TEXT NOT NULL,
              started TEXT NOT NULL, exit_status INTEGER);
            CREATE TABLE procs(run INTEGER NOT NULL, id INTEGER NOT NULL, parent INTEGER,
              pid INTEGER NOT NULL, kind TEXT NOT NULL, exe TEXT, argv TEXT, env TEXT, cwd TEXT,
              threads INTEGER NOT NULL, peak_rss_kb INTEGER, exit_status INTEGER,
              abi TEXT NOT NULL DEFAULT 'x86_64', PRIMARY KEY(run, id));
            CREATE TABLE files(run INTEGER NOT NULL, proc INTEGER NOT NULL, path TEXT NOT NULL,
              mode TEXT NOT NULL, err INTEGER NOT NULL, target TEXT,
              PRIMARY KEY(run, proc, path, mode, err)) WITHOUT ROWID;""")
        self.run = 0

    def new_run(self, argv, cwd):
        self.run += 1
        self.db.execute("INSERT INTO runs VALUES(?,?,?,?,0)",
                        (self.run, json.dumps(argv), str(cwd), "2026-01-01T00:00:00Z"))

    def proc(self, id, kind, parent=None, exe=None, argv=None, cwd=None, threads=1, rss=20000,
             env=None):
        self.db.execute(
            "INSERT INTO procs(run,id,parent,pid,kind,exe,argv,env,cwd,threads,peak_rss_kb) "
            "VALUES(?,?,?,?,?,?,?,?,?,?,?)",
            (self.run, id, parent, 1000 + id, kind, exe, json.dumps(argv) if argv else None,
             json.dumps(env if env is not None else {"PATH": "/usr/bin"}) if kind != "fork" else None,
             str(cwd) if cwd else None, threads, rss))

    def file(self, proc, path, mode, err=0, target=None):
        self.db.execute("INSERT OR IGNORE INTO files VALUES(?,?,?,?,?,?)",
                        (self.run, proc, str(path), mode, err, str(target) if target else None))

    def close(self):
        self.db.commit()
        self.db.close()
        return self.path


def python_proc(t, id, script, cwd, parent=None, kind="exec"):
    t.proc(id, kind, parent, "/usr/bin/python3.11", ["python3", str(script)], cwd)
    t.file(id, "/usr/bin/python3.11", "exec")
    t.file(id, script, "read")


# ------------------------------------------------ the subprocess app (real trace)

def test_subprocess_app_images(subproc):
    app, _, b = subproc
    idx, mans = load_bundle(b)
    root = mans[idx["root"]]
    assert root["script"] == str(app / "app.py")
    worker = by_script(mans, "/worker.py")
    shell = by_program(mans, "dash")
    wc = by_program(mans, "wc")
    assert shell["script"] == "-c:cat data.txt | wc -l"
    # Least privilege: each image trusts what it used, not the union.
    assert str(app / "data.txt") in trusted_paths(root)
    assert str(app / "workerlib.py") not in trusted_paths(root)
    assert str(app / "worker.py") not in trusted_paths(root)
    assert str(app / "workerlib.py") in trusted_paths(worker)
    assert str(app / "worker.py") in trusted_paths(worker)
    assert str(app / "app.py") not in trusted_paths(worker)
    assert str(app / "data.txt") in trusted_paths(worker)  # worker.py reads data.txt itself
    assert str(app / "data.txt") not in trusted_paths(wc)  # wc reads a pipe
    assert {c["id"] for c in root["children"]} == {worker["id"], shell["id"]}
    assert wc["id"] in {c["id"] for c in shell["children"]}


def test_hashes_match_sha256sum(subproc):
    _, _, b = subproc
    _, mans = load_bundle(b)
    checked = 0
    for m in mans.values():
        assert m["program"]["sha256"] == sha256sum(m["program"]["path"])
        for t in m["trusted"]:
            if t["path"].startswith(("/usr/lib/python3", "/etc/")) and checked > 60:
                continue
            assert t["sha256"] == sha256sum(t["path"]), t["path"]
            assert t["size"] == os.path.getsize(t["path"])
            checked += 1
    assert checked > 20


def test_merkle_tree(subproc):
    _, _, b = subproc
    idx, mans = load_bundle(b)
    for i, h in idx["images"].items():
        assert hashlib.sha256((b / "manifests" / f"{i}.json").read_bytes()).hexdigest() == h
    for m in mans.values():
        for c in m["children"]:
            assert c["sha256"] == idx["images"][c["id"]]  # no cycle in this app
    assert hashlib.sha256((b / "gramine/app.manifest.template").read_bytes()).hexdigest() == idx["gramine"]
    show = json.loads(sgx("show", b, "--json", check=0).stdout)
    assert show["measurement"] == hashlib.sha256((b / "bundle.json").read_bytes()).hexdigest()


def test_canonical_json(subproc):
    _, _, b = subproc
    for f in (b / "manifests").iterdir():
        raw = f.read_bytes()
        obj = json.loads(raw)
        canon = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\n"
        assert raw == canon.encode()
        assert [t["path"] for t in obj["trusted"]] == sorted(t["path"] for t in obj["trusted"])


def test_deterministic(subproc, tmp_path):
    _, t, b = subproc
    b2 = tmp_path / "b2"
    # the same trace named another way (relative, through "..", from elsewhere)
    rel = os.path.relpath(t, tmp_path / "..")
    sgx("manifest", "-o", b2, rel, cwd=tmp_path / "..", check=0)
    assert tree_bytes(b) == tree_bytes(b2)
    idx = json.loads((b / "bundle.json").read_text())
    assert idx["traces"] == [{"path": os.path.realpath(t), "sha256": sha256sum(t)}]


def test_hello_example(hello):
    app, _, b = hello
    idx, mans = load_bundle(b)
    root = mans[idx["root"]]
    worker = by_script(mans, "/worker.py")
    assert {str(app / "sales.csv"), str(app / "report.py")} <= trusted_paths(root)
    assert str(app / "sales.csv") not in trusted_paths(worker)
    assert str(app / "report.py") not in trusted_paths(worker)
    for m in (root, worker):
        for t in m["trusted"]:
            if t["path"].startswith(str(app)):
                assert t["sha256"] == sha256sum(t["path"])


INLINE_APP = {
    "app.py": "import subprocess, sys\n"
              "data = open('data.txt').read()\n"
              "n = subprocess.run(['/bin/sh', '-c', 'cat data.txt | wc -l'], capture_output=True,"
              " text=True).stdout.strip()\n"
              "subprocess.run([sys.executable, 'worker.py'], check=True)\n"
              "print(len(data), n)\n",
    "worker.py": "import helper\nprint(helper.VALUE)\n",
    "helper.py": "VALUE = 42\n",
    "data.txt": "a\nb\nc\n",
}


def test_issue_subprocess_app(tmp_path):
    """The issue's app: the root reads data.txt, runs sh -c 'cat x | wc -l' and
    python3 worker.py, which imports its own module and reads no data."""
    src = tmp_path / "src"
    src.mkdir()
    for name, text in INLINE_APP.items():
        (src / name).write_text(text)
    app, t = trace_app(tmp_path, src, "app.py")
    b = tmp_path / "b"
    sgx("manifest", "-o", b, t, check=0)
    idx, mans = load_bundle(b)
    root, worker = mans[idx["root"]], by_script(mans, "/worker.py")
    sh, cat, wc = by_program(mans, "dash"), by_program(mans, "cat"), by_program(mans, "wc")
    assert str(app / "data.txt") in trusted_paths(root)
    assert str(app / "data.txt") not in trusted_paths(worker)
    assert str(app / "helper.py") in trusted_paths(worker)
    assert str(app / "helper.py") not in trusted_paths(root)
    assert str(app / "data.txt") in trusted_paths(cat)
    assert str(app / "data.txt") not in trusted_paths(wc) | trusted_paths(sh)
    assert {c["id"] for c in sh["children"]} == {cat["id"], wc["id"]}
    for m in (root, worker, cat):
        for e in m["trusted"]:
            if e["path"].startswith(str(app)):
                assert e["sha256"] == sha256sum(e["path"]) and e["size"] == os.path.getsize(e["path"])


def test_show_human_and_json(subproc):
    _, _, b = subproc
    out = sgx("show", b, check=0).stdout
    assert "measurement" in out and "trusted" in out and "dash" in out
    doc = json.loads(sgx("show", b, "--json", check=0).stdout)
    assert len(doc["measurement"]) == 64
    img = doc["images"][0]
    for k in ("id", "program", "script", "trusted", "allowed", "children"):
        assert k in img
    assert set(img["trusted"][0]) >= {"path", "size", "sha256"}


def test_multiprocessing_spawn_is_one_image(tmp_path):
    app, t = trace_app(tmp_path, APPS, "mp_app.py", str(tmp_path))
    b = tmp_path / "b"
    sgx("manifest", "-o", b, t, check=0)
    _, mans = load_bundle(b)
    spawn = [m for m in mans.values() if "spawn_main" in (m["script"] or "")]
    assert len(spawn) == 1
    assert "#" in spawn[0]["script"]  # fd numbers folded


# ------------------------------------------------------------ gramine export

def render(b):
    text = (Path(b) / "gramine/app.manifest.template").read_text()
    text = text.replace("{{ gramine.libos }}", "/usr/lib/x86_64-linux-gnu/gramine/libsysdb.so")
    text = text.replace("{{ gramine.runtimedir() }}", "/usr/lib/x86_64-linux-gnu/gramine/runtime/glibc")
    assert "{{" not in text and "{%" not in text
    return tomllib.loads(text)


def test_gramine_template(subproc):
    app, _, b = subproc
    g = render(b)
    assert g["libos"]["entrypoint"] == "/usr/bin/python3.11"
    assert g["loader"]["entrypoint"] == {"uri": "file:/usr/lib/x86_64-linux-gnu/gramine/libsysdb.so"}
    assert g["loader"]["argv"][-1] == "app.py"
    assert g["loader"]["env"]["PYTHONDONTWRITEBYTECODE"] == "1"
    mounts = g["fs"]["mounts"]
    assert all(isinstance(m, dict) and "type" in m and "path" in m for m in mounts)
    assert mounts[0] == {"type": "chroot", "path": "/lib",
                         "uri": "file:/usr/lib/x86_64-linux-gnu/gramine/runtime/glibc"}
    assert any(m["type"] == "chroot" and m["path"] == m["uri"][5:] for m in mounts[1:])
    sgxk = g["sgx"]
    assert isinstance(sgxk["max_threads"], int) and sgxk["max_threads"] >= 4
    assert sgxk["enclave_size"][-1] in "MG"
    n = int(sgxk["enclave_size"][:-1])
    assert n & (n - 1) == 0
    tables = [e for e in sgxk["trusted_files"] if isinstance(e, dict)]
    assert [e["uri"] for e in tables] == sorted(e["uri"] for e in tables)
    uris = {e["uri"]: e["sha256"] for e in tables}
    for e in tables:
        assert set(e) == {"uri", "sha256"} and len(e["sha256"]) == 64
        assert e["uri"].startswith("file:/")
        assert not e["uri"].startswith(("file:/proc", "file:/sys", "file:/dev"))
    # Union of every image: the root's data and the worker's module.
    for p in ("app.py", "data.txt", "worker.py", "workerlib.py"):
        assert uris["file:" + str(app / p)] == sha256sum(app / p)
    assert uris["file:/usr/bin/dash"] == sha256sum("/usr/bin/dash")
    assert uris["file:/bin/sh"] == sha256sum("/bin/sh")  # link and target
    assert "file:/usr/lib/x86_64-linux-gnu/gramine/runtime/glibc/" in sgxk["trusted_files"]
    assert all(isinstance(a, str) and a.startswith("file:") for a in sgxk["allowed_files"])
    for old in ("thread_num", "trusted_checksum"):
        assert old not in sgxk
    assert "mount" not in g["fs"]
    # Closed schema: only keys Gramine's manifest checker knows (1.8/1.9).
    known = {"libos": {"entrypoint"}, "loader": {"entrypoint", "log_level", "argv", "env"},
             "fs": {"start_dir", "mounts"},
             "sgx": {"enclave_size", "max_threads", "file_check_policy", "trusted_files",
                     "allowed_files"}}
    assert set(g) <= set(known)
    for k, v in g.items():
        assert set(v) <= known[k], (k, set(v) - known[k])
    assert all(isinstance(v, str) for v in g["loader"]["env"].values())
    for m in mounts:
        assert set(m) <= {"type", "path", "uri"} and m["type"] in ("chroot", "tmpfs")


# --------------------------------------------------------------- verify/sign

@pytest.fixture
def own_app(tmp_path):
    app, t = trace_app(tmp_path, APPS, "app.py")
    b = tmp_path / "b"
    sgx("manifest", "-o", b, t, check=0)
    return app, b


def test_verify_clean(own_app):
    _, b = own_app
    r = sgx("verify", b, check=0)
    assert r.stdout == ""


def test_verify_catches_tampering(own_app):
    app, b = own_app
    (app / "data.txt").write_text((app / "data.txt").read_text().replace("1", "9", 1))  # content
    (app / "workerlib.py").write_text("")                                              # truncated
    os.rename(app / "worker.py", app / "worker2.py")
    os.symlink("worker2.py", app / "worker.py")                                        # symlink
    os.unlink(app / "app.py")                                                          # deleted
    r = sgx("verify", b, check=1)
    lines = r.stdout.splitlines()
    assert f"{app}/app.py: missing" in lines
    assert any(l.startswith(f"{app}/data.txt: ") and "content" in l for l in lines)
    assert any(l.startswith(f"{app}/workerlib.py: ") and "size" in l and "content" in l for l in lines)
    assert any(l.startswith(f"{app}/worker.py: ") and "type" in l for l in lines)
    assert len(lines) == 4, lines


def test_verify_json(own_app):
    app, b = own_app
    js = json.loads(sgx("verify", "--json", b, check=0).stdout)
    assert js["ok"] is True and js["mismatches"] == [] and js["trusted_files"] > 10
    os.unlink(app / "app.py")
    js = json.loads(sgx("verify", "--json", b, check=1).stdout)
    assert js["ok"] is False
    assert js["mismatches"] == [{"path": f"{app}/app.py", "problem": "missing"}]


def test_sign_and_verify(own_app, tmp_path):
    _, b = own_app
    for kind in ("rsa3072", "ed25519"):
        key = tmp_path / f"{kind}.pem"
        sgx("keygen", "-t", kind, "-o", key, check=0)
        assert oct(key.stat().st_mode & 0o777) == "0o600"
        sgx("sign", "--key", key, b, check=0)
        sgx("verify", "--key", key, b, check=0)
        sgx("verify", "--key", f"{key}.pub", b, check=0)
    other = tmp_path / "other.pem"
    sgx("keygen", "-o", other, "--type", "ed25519", check=0)
    assert "another key" in sgx("verify", "--key", other, b, check=1).stdout
    assert sgx("keygen", "-o", other, check=4).stderr.startswith("sgxpy: keygen: ")
    # an encrypted key is refused, never prompted for
    enc = tmp_path / "enc.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-aes256", "-pass", "pass:x",
                    "-out", str(enc)], check=True, capture_output=True)
    assert "unencrypted" in sgx("sign", "--key", enc, b, check=3).stderr
    # RSA-3072 with e = 3 by default (SGX's key type).
    rsa = subprocess.run(["openssl", "pkey", "-in", str(tmp_path / "rsa3072.pem"), "-noout", "-text"],
                         capture_output=True, text=True).stdout
    assert "3072 bit" in rsa and "publicExponent: 3 " in rsa


def test_edited_signature_or_manifest_fails(own_app, tmp_path):
    _, b = own_app
    key = tmp_path / "k.pem"
    sgx("keygen", "-t", "ed25519", "-o", key, check=0)
    sgx("sign", "--key", key, b, check=0)
    sig = json.loads((b / "signature.json").read_text())
    flipped = dict(sig, signature=("0" if sig["signature"][0] != "0" else "1") + sig["signature"][1:])
    (b / "signature.json").write_text(json.dumps(flipped))
    assert "does not verify" in sgx("verify", "--key", key, b, check=1).stdout
    (b / "signature.json").write_text(json.dumps(sig))
    sgx("verify", "--key", key, b, check=0)
    m = next((b / "manifests").iterdir())
    m.write_bytes(m.read_bytes().replace(b'"threads":1', b'"threads":2'))
    out = sgx("verify", "--key", key, b, check=1).stdout
    assert f"{m.name}: content" in out
    r = sgx("show", b, check=3)
    assert m.name in r.stderr


# ------------------------------------------------------------ malformed input

def test_bad_traces(tmp_path):
    empty = tmp_path / "empty.trace"
    empty.write_bytes(b"")
    text = tmp_path / "text.trace"
    text.write_text("hello\n")
    foreign = tmp_path / "foreign.trace"
    sqlite3.connect(foreign).execute("CREATE TABLE x(a)").connection.commit()
    good = Trace(tmp_path / "good.trace")
    good.new_run(["/usr/bin/true"], tmp_path)
    good.proc(1, "root", None, "/usr/bin/true", ["true"], tmp_path)
    good.file(1, "/usr/bin/true", "exec")
    good.close()
    trunc = tmp_path / "trunc.trace"
    trunc.write_bytes((tmp_path / "good.trace").read_bytes()[:3000])
    for bad in (empty, text, foreign, trunc, tmp_path / "missing.trace"):
        r = sgx("manifest", "-o", tmp_path / "b", bad, check=3)
        assert r.stderr.startswith("sgxpy: manifest: ") and str(bad.name) in r.stderr, r.stderr
        assert r.stderr.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["empty.trace", "text.trace", "foreign.trace", "good.trace", "trunc.trace"])
    sgx("manifest", "-o", tmp_path / "b", tmp_path / "good.trace", check=0)


def test_usage_errors(tmp_path):
    assert sgx("manifest", check=2).stderr.startswith("sgxpy: manifest: ")
    assert sgx("manifest", "--bogus", "x", check=2).returncode == 2
    for cmd in ("manifest", "verify", "keygen", "sign"):
        assert sgx(cmd, "--help", check=0).stdout.startswith("usage: sgxpy " + cmd)
    assert sgx("sign", tmp_path, check=2).returncode == 2
    assert sgx("verify", tmp_path / "nope", check=3).returncode == 3


@pytest.mark.parametrize("edit,field", [
    (lambda s: s[:-5], "bad JSON"),
    (lambda s: s.replace('"size":', '"size":"x",  "y":', 1), "size"),
    (lambda s: s.replace('"sha256":"', '"sha256":"abc', 1).replace('"sha256":"abc', '"sha256":"', 0), "sha256"),
    (lambda s: s.replace('"trusted":[{"path":"', '"trusted":[{"path":"/a/../', 1), "trusted[0].path"),
    (lambda s: s.replace('"argv":[', '"argv":[7,', 1), "argv[0]"),
])
def test_hand_edited_manifest(own_app, edit, field):
    _, b = own_app
    idx, mans = load_bundle(b)
    f = b / "manifests" / f"{idx['root']}.json"
    text = f.read_text()
    edited = edit(text)
    if field == "sha256":
        edited = text.replace('"sha256":"', '"sha256":"ab', 1)
    assert edited != text
    f.write_text(edited)
    # bundle.json updated too, so only the field check can catch it
    idx["images"][idx["root"]] = hashlib.sha256(edited.encode()).hexdigest()
    (b / "bundle.json").write_text(json.dumps(idx, sort_keys=True, separators=(",", ":")) + "\n")
    for cmd in (("show", b), ("verify", b)):
        r = sgx(*cmd, check=3)
        assert f.name in r.stderr and field in r.stderr, r.stderr


# ----------------------------------------------------- rules (synthetic traces)

@pytest.fixture
def tree(tmp_path):
    d = tmp_path / "srv"
    (d / "pkg" / "__pycache__").mkdir(parents=True)
    (d / "app.py").write_text("import pkg\n")
    (d / "pkg" / "__init__.py").write_text("X = 1\n")
    (d / "pkg" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"\xa7\r\r\n" + b"\0" * 12)
    (d / "state.db").write_text("rw\n")
    (d / "only-stat.cfg").write_text("s\n")
    (d / "real.txt").write_text("real\n")
    os.symlink("real.txt", d / "link.txt")
    (d / "out").mkdir()
    return d


def manifest_of(tmp_path, t, *opts, check=0):
    b = tmp_path / "bundle"
    r = sgx("manifest", "-o", b, *opts, t.close(), check=check)
    if check:
        return r
    return load_bundle(b)


def test_rules(tmp_path, tree):
    t = Trace(tmp_path / "r.trace")
    t.new_run(["python3", "app.py"], tree)
    tmpdir = tree.parent / "tmpdir"  # $TMPDIR: volatile like /tmp
    t.proc(1, "root", None, "/usr/bin/python3.11", ["python3", "app.py"], tree,
           env={"TMPDIR": str(tmpdir), "PATH": "/usr/bin", "SECRET_TOKEN": "x"})
    t.file(1, tree / "app.py", "read")
    pyc = tree / "pkg/__pycache__/__init__.cpython-311.pyc"
    t.file(1, pyc, "read")
    t.file(1, str(pyc) + ".12345", "create")                # pyc rewrite attempt
    t.file(1, tree / "pkg/__pycache__", "create")
    t.file(1, tree / "state.db", "read")
    t.file(1, tree / "state.db", "write")
    t.file(1, tree / "only-stat.cfg", "stat")
    t.file(1, tree / "link.txt", "read", target=tree / "real.txt")
    t.file(1, tree / "out/run-4242424.log", "create")        # pid in the name
    t.file(1, tmpdir / "tmpab12cd34/x", "create")
    t.file(1, tmpdir / "tmpab12cd34", "create")
    t.file(1, "/proc/4711/status", "read")
    t.file(1, "/dev/null", "write")
    t.file(1, "/sys/devices/system/cpu/online", "read")
    t.file(1, tree / "missing.py", "stat", err=2)
    t.file(1, tree / "pkg", "list")
    idx, mans = manifest_of(tmp_path, t)
    m = mans[idx["root"]]
    trusted = trusted_paths(m)
    allowed = {a["path"]: a for a in m["allowed"]}
    assert str(pyc) in trusted
    assert not any("__pycache__" in p for p in allowed)
    assert str(tree / "state.db") in allowed and str(tree / "state.db") not in trusted
    assert allowed[str(tree / "state.db")]["write"]
    assert str(tree / "pkg/__init__.py") in m["stat"]          # inferred from the pyc
    assert str(tree / "only-stat.cfg") in m["stat"]
    assert {str(tree / "link.txt"), str(tree / "real.txt")} <= trusted
    assert allowed[str(tree / "out")] == {"path": str(tree / "out"), "tree": True, "write": True}
    assert allowed[str(tmpdir)]["tree"] and allowed[str(tmpdir)]["write"]
    assert allowed["/proc/self"]["tree"] and not allowed["/proc/self"]["write"]
    assert allowed["/dev/null"]["write"]
    assert "/sys/devices/system/cpu" in allowed
    assert str(tree / "missing.py") in m["stat"]
    assert str(tree / "pkg") in m["list"]
    g = render(tmp_path / "bundle")
    uris = {e["uri"] for e in g["sgx"]["trusted_files"] if isinstance(e, dict)}
    assert "file:" + str(tree / "pkg/__init__.py") in uris          # Gramine needs stat-only files
    assert "file:" + str(tree / "missing.py") not in uris
    assert "file:" + str(tree / "state.db") in g["sgx"]["allowed_files"]
    assert any(m["type"] == "tmpfs" and m["path"] == str(tmpdir) for m in g["fs"]["mounts"])
    assert g["loader"]["env"]["TMPDIR"] == str(tmpdir)
    assert "SECRET_TOKEN" not in g["loader"]["env"]


def test_fork_cycle_and_c_digits(tmp_path, tree):
    """python -> sh -> python (a cycle): null hashes inside it; a fork is its
    parent's image; -c texts that differ only in digits are one image."""
    t = Trace(tmp_path / "c.trace")
    t.new_run(["python3", "app.py"], tree)
    python_proc(t, 1, tree / "app.py", tree, kind="root")
    t.proc(2, "fork", 1)
    t.file(2, tree / "real.txt", "read")
    t.proc(3, "exec", 2, "/usr/bin/dash", ["sh", "-c", "python3 app.py"], tree)
    t.proc(4, "exec", 3, "/usr/bin/python3.11", ["python3", "app.py"], tree)
    for n, fd in ((5, 5), (6, 11)):
        t.proc(n, "exec", 1, "/usr/bin/python3.11", ["python3", "-c", f"f(fd={fd})"], tree)
    idx, mans = manifest_of(tmp_path, t)
    assert len(mans) == 3
    root = mans[idx["root"]]
    assert str(tree / "real.txt") in trusted_paths(root)         # the fork's read
    sh = by_program(mans, "dash")
    kids = {c["id"]: c["sha256"] for c in root["children"]}
    assert kids[sh["id"]] is None                                 # inside the cycle
    c = by_script(mans, "f(fd=#)")
    assert kids[c["id"]] == idx["images"][c["id"]]
    assert sh["children"] == [{"id": root["id"], "sha256": None}]
    sgx("verify", tmp_path / "bundle", check=0)


def test_vanished_and_options(tmp_path, tree):
    def build():
        t = Trace(tmp_path / "v.trace")
        t.new_run(["python3", "app.py"], tree)
        python_proc(t, 1, tree / "app.py", tree, kind="root")
        t.file(1, tree / "gone.py", "read")
        t.file(1, tree / "state.db", "read")
        return t
    r = manifest_of(tmp_path, build(), check=3)
    assert "gone.py" in r.stderr and "--exclude" in r.stderr
    assert not (tmp_path / "bundle").exists()
    assert [p for p in tmp_path.iterdir() if ".tmp" in p.name] == []
    (tmp_path / "v.trace").unlink()
    idx, mans = manifest_of(tmp_path, build(), "--exclude", tree / "gone.py",
                            "--allow", tree / "state.db", "--trust", tree / "only-stat.cfg")
    m = mans[idx["root"]]
    assert idx["options"] == {"allow": [str(tree / "state.db")], "exclude": [str(tree / "gone.py")],
                              "trust": [str(tree / "only-stat.cfg")]}
    assert str(tree / "only-stat.cfg") in trusted_paths(m)
    assert str(tree / "state.db") in {a["path"] for a in m["allowed"]}
    assert str(tree / "state.db") not in trusted_paths(m)


def test_runs_merge(tmp_path, tree):
    t = Trace(tmp_path / "m.trace")
    for extra in ("real.txt", "only-stat.cfg"):
        t.new_run(["python3", "app.py"], tree)
        python_proc(t, 1, tree / "app.py", tree, kind="root")
        t.file(1, tree / extra, "read")
    idx, mans = manifest_of(tmp_path, t)
    assert len(mans) == 1
    assert {str(tree / "real.txt"), str(tree / "only-stat.cfg")} <= trusted_paths(mans[idx["root"]])


def test_replaces_old_bundle_atomically(tmp_path, tree):
    t = Trace(tmp_path / "a.trace")
    t.new_run(["python3", "app.py"], tree)
    python_proc(t, 1, tree / "app.py", tree, kind="root")
    t.close()
    b = tmp_path / "bundle"
    sgx("manifest", "-o", b, tmp_path / "a.trace", check=0)
    (b / "signature.json").write_text("{}")
    sgx("manifest", "-o", b, tmp_path / "a.trace", check=0)
    assert not (b / "signature.json").exists()
    assert [p.name for p in tmp_path.iterdir() if ".tmp" in p.name] == []
    notbundle = tmp_path / "precious"
    notbundle.mkdir()
    (notbundle / "x").write_text("x")
    r = sgx("manifest", "-o", notbundle, tmp_path / "a.trace", check=4)
    assert "not an sgxpy bundle" in r.stderr and (notbundle / "x").exists()


def test_non_utf8_path(tmp_path, tree):
    """JSON cannot hold a non-UTF-8 name: a clear error naming it (\\xNN), and
    --allow/--exclude of its directory as the way out."""
    odd = os.fsencode(str(tree)) + b"/f\xff.txt"
    with open(odd, "wb") as f:
        f.write(b"x")
    t = Trace(tmp_path / "u.trace")
    t.new_run(["python3", "app.py"], tree)
    python_proc(t, 1, tree / "app.py", tree, kind="root")
    t.db.execute("INSERT INTO files VALUES(1,1,CAST(? AS TEXT),'read',0,NULL)", (odd,))
    t.close()
    r = sgx("manifest", "-o", tmp_path / "b", tmp_path / "u.trace", check=3)
    assert "f\\xff.txt" in r.stderr and "UTF-8" in r.stderr
    sgx("manifest", "-o", tmp_path / "b", "--allow", tree, tmp_path / "u.trace", check=0)


def _root(t, exe="/usr/bin/true", argv=("true",)):
    t.proc(1, "root", None, exe, list(argv) if argv else None, "/")


DAMAGED = {
    "argv not JSON": (lambda t: (_root(t), t.db.execute("UPDATE procs SET argv='{x'")), "argv"),
    "unknown kind": (lambda t: t.proc(1, "weird", None, "/usr/bin/true", ["true"], "/"), "weird"),
    "orphan fork": (lambda t: (_root(t), t.proc(2, "fork", 7)), "process 2"),
    "parent loop": (lambda t: (_root(t), t.proc(2, "fork", 3), t.proc(3, "fork", 2)), "process 2"),
    "unknown mode": (lambda t: (_root(t), t.file(1, "/etc/passwd", "frob")), "frob"),
    "relative path": (lambda t: (_root(t), t.file(1, "etc/passwd", "read")), "etc/passwd"),
    "dot-dot path": (lambda t: (_root(t), t.file(1, "/etc/../passwd", "read")), "/etc/../passwd"),
    "missing proc": (lambda t: (_root(t), t.file(9, "/etc/passwd", "read")), "process 9"),
    "no process": (lambda t: None, "no process"),
    "no exe": (lambda t: t.proc(1, "root", None, None, ["true"], "/"), "exe"),
    "two roots": (lambda t: (_root(t), t.new_run(["x"], "/"), _root(t, "/usr/bin/false", ["false"])),
                  "same program"),
}


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_damaged_trace_rows(tmp_path, case):
    build, word = DAMAGED[case]
    t = Trace(tmp_path / "d.trace")
    t.new_run(["x"], "/")
    build(t)
    t.close()
    r = sgx("manifest", "-o", tmp_path / "b", tmp_path / "d.trace", check=3)
    assert r.stderr.startswith("sgxpy: manifest: ") and "d.trace" in r.stderr and word in r.stderr
    assert not (tmp_path / "b").exists()


def test_run_made_dirs_in_tmp(tmp_path, tree):
    """pytest-style temp dirs: a directory the run made below /tmp (or one gone
    since) makes the whole temp dir writable."""
    t = Trace(tmp_path / "t.trace")
    t.new_run(["python3", "app.py"], tree)
    python_proc(t, 1, tree / "app.py", tree, kind="root")
    t.file(1, tmp_path / "pytest-7", "create")
    t.file(1, tmp_path / "pytest-7/test_a0/x.json", "create")
    t.file(1, tmp_path / "gone-dir/f", "remove")
    t.file(1, tmp_path / "gone-dir", "read")         # opendir, then rmdir: no error
    t.file(1, tmp_path / "gone-dir", "remove")
    t.file(1, tree / "state.db", "write")
    idx, mans = manifest_of(tmp_path, t)
    allowed = {a["path"]: a for a in mans[idx["root"]]["allowed"]}
    assert allowed["/tmp"] == {"path": "/tmp", "tree": True, "write": True}
    assert not any("pytest-7" in p or "gone-dir" in p for p in allowed)
    assert str(tree / "state.db") not in allowed  # covered by the /tmp rule: pruned


def test_random_component_generalises(tmp_path, tree):
    """A random component deep in a written path: the directory above it."""
    (tree / "out/job-1234567/sub").mkdir(parents=True)  # there before the run
    t = Trace(tmp_path / "t.trace")
    t.new_run(["python3", "app.py"], tree)
    python_proc(t, 1, tree / "app.py", tree, kind="root")
    t.file(1, tree / "out/job-1234567/sub/log.txt", "create")
    t.file(1, tree / "state.db", "write")
    idx, mans = manifest_of(tmp_path, t)
    allowed = {a["path"]: a for a in mans[idx["root"]]["allowed"]}
    assert allowed[str(tree / "out")] == {"path": str(tree / "out"), "tree": True, "write": True}
    assert allowed[str(tree / "state.db")] == {"path": str(tree / "state.db"), "tree": False,
                                                "write": True}
    assert "/tmp" not in allowed


def test_reader_of_run_temp_file(tmp_path, tree):
    """One image writes a temp file the run made, another reads it: the reader
    gets the temp dir read-only, the writer writable; neither names the file."""
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    t = Trace(tmp_path / "t.trace")
    t.new_run(["python3", "app.py"], tree)
    t.proc(1, "root", None, "/usr/bin/python3.11", ["python3", "app.py"], tree,
           env={"TMPDIR": str(tmpdir)})
    t.file(1, tree / "app.py", "read")
    t.file(1, tmpdir / "tmpab12cd34", "create")
    t.file(1, tmpdir / "tmpab12cd34/out.o", "create")
    t.proc(2, "exec", 1, "/usr/bin/cat", ["cat", str(tmpdir / "tmpab12cd34/out.o")], tree)
    t.file(2, tmpdir / "tmpab12cd34/out.o", "read")
    idx, mans = manifest_of(tmp_path, t)
    root, cat = mans[idx["root"]], by_program(mans, "cat")
    assert {a["path"]: a for a in root["allowed"]}[str(tmpdir)]["write"]
    assert {a["path"]: a for a in cat["allowed"]}[str(tmpdir)] == {
        "path": str(tmpdir), "tree": True, "write": False}
    assert not any("tmpab12cd34" in p for m in (root, cat) for p in
                   [a["path"] for a in m["allowed"]] + [t["path"] for t in m["trusted"]])


def test_bundle_with_fifo_or_device(own_app):
    """A FIFO or a link to /dev/zero planted in a bundle: a clear error, no hang."""
    _, b = own_app
    idx, _ = load_bundle(b)
    m = b / "manifests" / f"{idx['root']}.json"
    m.unlink()
    os.mkfifo(m)
    for cmd in (("show", b), ("verify", b)):
        r = sgx(*cmd, check=3)
        assert m.name in r.stderr and "not a regular file" in r.stderr
    m.unlink()
    os.symlink("/dev/zero", m)
    assert "not a regular file" in sgx("show", b, check=3).stderr


def test_trust_sources(tmp_path, tree):
    """--trust-sources: the .py beside a trusted .pyc is trusted (hashed), not
    only stat-able; recorded in bundle.json; off by default."""
    def build():
        t = Trace(tmp_path / "s.trace")
        t.new_run(["python3", "app.py"], tree)
        python_proc(t, 1, tree / "app.py", tree, kind="root")
        t.file(1, tree / "pkg/__pycache__/__init__.cpython-311.pyc", "read")
        return t
    idx, mans = manifest_of(tmp_path, build())
    m = mans[idx["root"]]
    src = str(tree / "pkg/__init__.py")
    assert src in m["stat"] and src not in trusted_paths(m)
    assert "trust_sources" not in idx["options"]
    (tmp_path / "s.trace").unlink()
    idx, mans = manifest_of(tmp_path, build(), "--trust-sources")
    m = mans[idx["root"]]
    assert src in trusted_paths(m) and src not in m["stat"]
    assert {t["path"]: t["sha256"] for t in m["trusted"]}[src] == sha256sum(src)
    assert idx["options"]["trust_sources"] is True


TEMP_CHILD_APPS = {
    # a child reads a file its parent wrote under a random temp name
    "reader": "import subprocess, sys, tempfile, os\n"
              "d = tempfile.mkdtemp(); p = os.path.join(d, 'file'); open(p, 'w').write('hello\\n')\n"
              "r = subprocess.run([sys.executable, '-c', 'import sys; print(open(sys.argv[1]).read().strip())', p])\n"
              "print('child exit', r.returncode)\n",
    # a child runs a script its parent wrote into a fresh temp dir (numpy's compiler probe)
    "script": "import subprocess, sys, tempfile, os\n"
              "d = tempfile.mkdtemp(); open(os.path.join(d, 'setup.py'), 'w').write('print(\"child ok\")\\n')\n"
              "print('child exit', subprocess.run([sys.executable, 'setup.py'], cwd=d).returncode)\n",
}


@pytest.mark.parametrize("kind", sorted(TEMP_CHILD_APPS))
def test_temp_children_match_next_run(tmp_path, kind):
    """What a child does in the run's temp dirs gets new random names every run:
    the bundle made from one run must fit the next (checked with sgxpy run)."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "app.py").write_text(TEMP_CHILD_APPS[kind])
    app, t = trace_app(tmp_path, src, "app.py")
    b = tmp_path / "b"
    # the script is Python code the run wrote: loadable only with the opt-in
    sgx("manifest", *(["--allow-built-code"] if kind == "script" else []), "-o", b, t, check=0)
    _, mans = load_bundle(b)
    if kind == "script":
        assert by_script(mans, "/setup.py")["script"].endswith("/*/setup.py")
    r = subprocess.run([SGXPY, "run", str(b), "--", PYTHON, "app.py"], cwd=app, env=ENV,
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0 and "child exit 0" in r.stdout, r.stderr
    assert "denied" not in r.stderr, r.stderr


def test_app_output_in_preexisting_dir_stays_exact(tmp_path, tree):
    """An app unpacked below /tmp writes out/x; a child reads it.  out/ was there
    before the run: the child gets exactly out/x read-only (rule 8), not the
    whole temp dir, so it still cannot open the parent's other files."""
    t = Trace(tmp_path / "t.trace")
    t.new_run(["python3", "app.py"], tree)
    python_proc(t, 1, tree / "app.py", tree, kind="root")
    t.file(1, tree / "out/x", "create")
    t.proc(2, "exec", 1, "/usr/bin/cat", ["cat", "out/x"], tree)
    t.file(2, tree / "out/x", "read")
    idx, mans = manifest_of(tmp_path, t)
    cat = by_program(mans, "cat")
    cpu = {"path": "/sys/devices/system/cpu", "tree": True, "write": False}   # rule 14
    assert cat["allowed"] == [cpu, {"path": str(tree / "out/x"), "tree": False, "write": False}]
    root = mans[idx["root"]]
    assert cpu in root["allowed"]
    assert {"path": str(tree / "out/x"), "tree": False, "write": True} in root["allowed"]
