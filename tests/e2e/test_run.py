"""End-to-end tests of `sgxpy run`: apps run as natively, tampering fails exactly
the tampered load with the documented line, exec/open policy, exit status,
fail-closed, Ctrl-C, --audit, --log, --seal.  Bundles are made by hand
(test_run_lib.make_bundle), so these tests do not depend on trace/manifest."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_run_lib as L  # noqa: E402

HELLO = Path(__file__).resolve().parents[2] / "examples" / "hello"
APPS = Path(__file__).resolve().parent / "apps"
PY = L.PYTHON


@pytest.fixture
def hello(tmp_path):
    app = tmp_path / "hello"
    shutil.copytree(HELLO, app)
    cmd = [PY, "-B", "hello/app.py"]
    bundle = L.make_bundle(tmp_path / "hello.bundle", cmd, tmp_path)
    return tmp_path, app, bundle, cmd


def denied_lines(stderr):
    return [l for l in stderr.splitlines() if l.startswith("sgxpy: denied: ")]


def test_import_json_identical(tmp_path):
    cmd = [PY, "-c", "import json; print(json.dumps({'a': [1, 2]}))"]
    bundle = L.make_bundle(tmp_path / "b", cmd, tmp_path)
    nat = L.native(cmd, tmp_path)
    res = L.run(bundle, cmd, tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout == nat.stdout
    assert res.stderr == nat.stderr == ""


def test_example_app_identical(hello):
    cwd, app, bundle, cmd = hello
    nat = L.native(cmd, cwd)
    res = L.run(bundle, cmd, cwd)
    assert res.returncode == 0, res.stderr
    assert res.stdout == nat.stdout and '"worker"' in res.stdout
    assert res.stderr == ""


def test_multiprocessing_app_identical(tmp_path):
    for f in APPS.iterdir():
        if f.is_file():
            shutil.copy2(f, tmp_path / f.name)
    out = tmp_path / "out"
    out.mkdir()
    cmd = [PY, "-B", "mp_app.py", str(out)]
    allow = [(str(out), True, True), ("/dev/shm", True, True)]
    bundle = L.make_bundle(tmp_path / "mp.bundle", cmd, tmp_path, allow=allow, runs=2)
    nat = L.native(cmd, tmp_path)
    shutil.rmtree(out)
    out.mkdir()
    res = L.run(bundle, cmd, tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout == nat.stdout == "mp_app: 285\n"
    assert (out / "spawn.txt").read_text() == "spawn\n"
    assert res.stderr == ""


def tamper(path, text):
    with open(path, "a") as f:
        f.write(text)


@pytest.mark.parametrize("victim,who", [
    ("report.py", "(python3 app.py)"),     # module of the root image
    ("worker.py", "(python3 worker.py)"),  # the child image's script
    ("sales.csv", "(python3 app.py)"),     # a data file
])
def test_tamper_fails_exactly_that_load(hello, victim, who):
    cwd, app, bundle, cmd = hello
    tamper(app / victim, "\n# tampered\n")
    res = L.run(bundle, cmd, cwd)
    assert res.returncode != 0
    lines = denied_lines(res.stderr)
    # the first refusal is the tampered file, by the process that loads it;
    # it is the only hash mismatch (later lines, if any, are the traceback
    # printer reading stdlib sources the manifest only lets it stat)
    assert lines and lines[0].endswith(f"open {app / victim}: hash mismatch"), res.stderr
    assert who in lines[0]
    assert all(l.endswith(f"{app / victim}: hash mismatch") for l in lines
               if "hash mismatch" in l)


def test_tamper_shared_object(tmp_path):
    """A .so loaded with ctypes: tampering makes exactly that dlopen fail."""
    src = tmp_path / "lib.c"
    src.write_text("int answer(void) { return 42; }\n")
    so = tmp_path / "libanswer.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(so), str(src)], check=True)
    (tmp_path / "app.py").write_text(
        "import ctypes, sys\n"
        "try:\n"
        "    print(ctypes.CDLL(sys.argv[1]).answer())\n"
        "except OSError as e:\n"
        "    print('load failed')\n")
    cmd = [PY, "-B", "app.py", str(so)]
    bundle = L.make_bundle(tmp_path / "b", cmd, tmp_path)
    res = L.run(bundle, cmd, tmp_path)
    assert res.stdout == "42\n" and res.returncode == 0, res.stderr
    with open(so, "r+b") as f:      # same size, one byte changed
        data = bytearray(f.read())
        data[-1] ^= 0xFF
        f.seek(0)
        f.write(data)
    res = L.run(bundle, cmd, tmp_path)
    assert res.stdout == "load failed\n"
    assert denied_lines(res.stderr) == [
        f"sgxpy: denied: pid {denied_lines(res.stderr)[0].split()[3]} "
        f"(python3 app.py) open {so}: hash mismatch"]


def test_unlisted_file_is_eacces(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("x")
    code = ("import sys\ntry:\n    open(sys.argv[1]).read()\nexcept PermissionError as e:\n"
            "    print('EACCES', e.errno)\n")
    (tmp_path / "app.py").write_text(code)
    cmd = [PY, "-B", "app.py", str(secret)]
    bundle = L.make_bundle(tmp_path / "b", [PY, "-B", "app.py", "/nonexistent"], tmp_path)
    res = L.run(bundle, cmd, tmp_path)
    # the root image key is the script, not its args: same image
    assert res.stdout == "EACCES 13\n", res.stderr
    (line,) = denied_lines(res.stderr)
    assert line.endswith(f"open {secret}: not in manifest")


def test_failed_lookup_keeps_its_errno_quietly(tmp_path):
    """A path that cannot exist (through a regular file: ENOTDIR; absent:
    ENOENT) gets the kernel's own answer and no denial line, as natively:
    importers and package scanners probe such paths all the time."""
    (tmp_path / "afile").write_text("x")
    code = ("import sys\nfor p in sys.argv[1:]:\n    try:\n        open(p)\n"
            "    except OSError as e:\n        print(e.errno)\n")
    (tmp_path / "app.py").write_text(code)
    probes = [str(tmp_path / "afile" / "x.txt"), str(tmp_path / "absent.txt")]
    cmd = [PY, "-B", "app.py", *probes]
    bundle = L.make_bundle(tmp_path / "b", [PY, "-B", "app.py"], tmp_path)
    res = L.run(bundle, cmd, tmp_path)
    assert res.stdout == "20\n2\n", res.stderr   # ENOTDIR, ENOENT
    assert denied_lines(res.stderr) == [], res.stderr


def test_new_output_file_beside_trusted_files(tmp_path):
    """An output file absent when the run starts can be created (Landlock can
    only grant that as 'create files in its directory'), while the trusted
    file beside it still cannot be removed or replaced."""
    (tmp_path / "data.txt").write_text("data\n")
    code = ("import os, sys\n"
            "print(open('data.txt').read(), end='')\n"
            "open('out.txt', 'w').write('result\\n')\n"
            "if sys.argv[1:] == ['attack']:\n"
            "    for f in (lambda: os.unlink('data.txt'),\n"
            "              lambda: os.rename('out.txt', 'data.txt')):\n"
            "        try:\n            f()\n            print('done')\n"
            "        except PermissionError:\n            print('refused')\n")
    (tmp_path / "app.py").write_text(code)
    bundle = L.make_bundle(tmp_path / "b", [PY, "-B", "app.py"], tmp_path)
    (tmp_path / "out.txt").unlink()
    res = L.run(bundle, [PY, "-B", "app.py"], tmp_path)
    assert res.returncode == 0 and res.stdout == "data\n", res.stderr
    assert (tmp_path / "out.txt").read_text() == "result\n"
    (tmp_path / "out.txt").unlink()
    res = L.run(bundle, [PY, "-B", "app.py", "attack"], tmp_path)
    assert res.stdout == "data\nrefused\nrefused\n", res.stderr
    assert (tmp_path / "data.txt").read_text() == "data\n"


def test_dev_tty_without_terminal_is_enxio_quietly(tmp_path):
    """Without a controlling terminal /dev/tty fails natively with ENXIO; under
    run the app gets the same errno and no denial line (nothing is opened)."""
    try:
        os.close(os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY))
        pytest.skip("this test process has a controlling terminal")
    except OSError:
        pass
    script = "echo hi > /dev/tty; echo rc=$?"
    cmd = ["/bin/sh", "-c", script]
    bundle = tmp_path / "b"  # the real pipeline: sgxpy build (trace + manifest)
    built = subprocess.run([L.SGXPY, "build", "-o", str(bundle), "--", *cmd], cwd=tmp_path,
                           env=L.env(), capture_output=True, text=True, stdin=subprocess.DEVNULL,
                           timeout=120)
    assert built.returncode == 0 and built.stdout.startswith("rc=2\n"), built  # natively: ENXIO
    res = L.run(bundle, cmd, tmp_path, stdin=subprocess.DEVNULL)
    assert res.stdout == "rc=2\n", res.stderr
    assert "No such device or address" in res.stderr, res.stderr
    assert denied_lines(res.stderr) == [], res.stderr


def test_c_text_naming_a_fresh_temp_dir_is_one_image(tmp_path):
    """f2py-style: the parent writes a module into tempfile.mkdtemp() and runs
    `python3 -c "...sys.path.insert(0, '/tmp/tmpXXXXXXXX')..."`; the temp name
    differs on every run, yet the child is the image the trace saw.  The
    module is code the run wrote: --allow-built-code lets it load (without it
    the import is refused, as any Python code under an allowed path)."""
    app = tmp_path / "app.py"
    app.write_text(
        "import os, subprocess, sys, tempfile\n"
        "d = tempfile.mkdtemp()\n"
        "open(os.path.join(d, 'mod.py'), 'w').write('X = 42\\n')\n"
        "code = f'import sys; sys.path.insert(0, {d!r}); import mod; print(mod.X)'\n"
        "r = subprocess.run([sys.executable, '-B', '-c', code], capture_output=True, text=True)\n"
        "print(r.stdout.strip(), r.returncode)\n")
    cmd = [PY, "-B", str(app)]
    bundle = tmp_path / "b"
    built = subprocess.run([L.SGXPY, "build", "--allow-built-code", "-o", str(bundle), "--", *cmd],
                           cwd=tmp_path, env=L.env(), capture_output=True, text=True, timeout=120)
    assert built.returncode == 0 and built.stdout.startswith("42 0\n"), built
    res = L.run(bundle, cmd, tmp_path)
    assert res.stdout == "42 0\n", res.stderr
    assert denied_lines(res.stderr) == [], res.stderr


def test_write_to_trusted_refused(tmp_path):
    data = tmp_path / "data.txt"
    data.write_text("hello\n")
    (tmp_path / "app.py").write_text(
        "import sys\nprint(open(sys.argv[1]).read(), end='')\n"
        "try:\n    open(sys.argv[1], 'a').write('evil')\nexcept PermissionError:\n"
        "    print('refused')\n")
    cmd = [PY, "-B", "app.py", str(data)]
    bundle = L.make_bundle(tmp_path / "b", [PY, "-B", "app.py", str(data)], tmp_path)
    # the traced run wrote it too (allowed write): make it trusted-only again
    L.rewrite_manifests(bundle, lambda m: m.update(
        allowed=[a for a in m["allowed"] if a["path"] != str(data)]))
    data.write_text("hello\n")
    def trust(m):
        m["trusted"] = [t for t in m["trusted"] if t["path"] != str(data)]
        m["trusted"].append({"path": str(data), "size": 6, "sha256": L.sha256_file(data)})
        m["trusted"].sort(key=lambda t: t["path"])
    L.rewrite_manifests(bundle, trust)
    res = L.run(bundle, cmd, tmp_path)
    assert res.stdout == "hello\nrefused\n", res.stderr
    (line,) = denied_lines(res.stderr)
    assert line.endswith(f"open {data}: write to trusted file")
    assert data.read_text() == "hello\n"


def test_exec_of_unlisted_child_refused(tmp_path):
    (tmp_path / "app.py").write_text(
        "import subprocess, sys\n"
        "print(subprocess.run([sys.executable, '-B', '-c', 'print(1)'], capture_output=True, text=True).stdout, end='')\n"
        "try:\n    subprocess.run(['/bin/true'])\nexcept PermissionError:\n    print('exec refused')\n")
    cmd = [PY, "-B", "app.py"]
    bundle = L.make_bundle(tmp_path / "b", cmd, tmp_path)
    # drop /bin/true from the children
    L.rewrite_manifests(bundle, lambda m: m.update(
        children=[c for c in m["children"] if not c["id"].startswith("true")]))
    nat = L.native(cmd, tmp_path)
    assert nat.stdout == "1\n"
    res = L.run(bundle, cmd, tmp_path)
    assert res.stdout == "1\nexec refused\n", res.stderr
    (line,) = denied_lines(res.stderr)
    assert line.endswith("exec /usr/bin/true: exec not allowed")


def test_exit_status_is_cmds(tmp_path):
    cmd = [PY, "-c", "import sys; sys.exit(7)"]
    bundle = L.make_bundle(tmp_path / "b", [PY, "-c", "pass"], tmp_path)
    assert L.run(bundle, [PY, "-c", "pass"], tmp_path).returncode == 0
    # another -c text is another image: 125, nothing started
    res = L.run(bundle, cmd, tmp_path)
    assert res.returncode == 125 and "not the bundle's root image" in res.stderr
    bundle2 = L.make_bundle(tmp_path / "b2", cmd, tmp_path)
    assert L.run(bundle2, cmd, tmp_path).returncode == 7


def test_bad_bundle_is_125(tmp_path):
    cmd = [PY, "-c", "pass"]
    bundle = L.make_bundle(tmp_path / "b", cmd, tmp_path)
    mf = next((bundle / "manifests").iterdir())
    mf.write_text(mf.read_text().replace('"argv"', '"argv" ', 1))
    res = L.run(bundle, cmd, tmp_path)
    assert res.returncode == 125
    assert res.stderr.startswith("sgxpy: run: ") and "bundle.json" in res.stderr
    res = L.run(tmp_path / "nope", cmd, tmp_path)
    assert res.returncode == 125


def test_loader_env_refused_at_start(tmp_path):
    cmd = [PY, "-c", "pass"]
    bundle = L.make_bundle(tmp_path / "b", cmd, tmp_path)
    for var in ("LD_PRELOAD", "LD_LIBRARY_PATH", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"):
        res = L.run(bundle, cmd, tmp_path, extra_env={var: str(tmp_path)})
        assert res.returncode == 125 and var in res.stderr, (var, res.stderr)


def test_fail_closed_supervisor_killed(tmp_path):
    """SIGKILL of the supervisor kills the whole protected tree."""
    (tmp_path / "app.py").write_text(
        "import os, subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-B', '-c', 'import time; time.sleep(60)'])\n"
        "print(os.getpid(), p.pid, flush=True)\n"
        "time.sleep(60)\n")
    cmd = [PY, "-B", "app.py"]
    bundle = tmp_path / "b"
    # trace a short version: same images, no long sleep
    L.make_bundle(bundle, cmd, tmp_path, extra_env={}) if False else None
    (tmp_path / "short.py").write_text("")
    short = (tmp_path / "app.py").read_text().replace("60", "0")
    (tmp_path / "app.py").write_text(short)
    L.make_bundle(bundle, cmd, tmp_path)
    (tmp_path / "app.py").write_text(short.replace("time.sleep(0)\n", "time.sleep(60)\n"))
    bundle_fix = lambda m: None  # noqa: E731
    L.rewrite_manifests(bundle, bundle_fix)
    # app.py changed: re-hash it in the root manifest
    def fix(m):
        for t in m["trusted"]:
            if t["path"] == str(tmp_path / "app.py"):
                t["size"] = os.path.getsize(tmp_path / "app.py")
                t["sha256"] = L.sha256_file(tmp_path / "app.py")
    L.rewrite_manifests(bundle, fix)
    sup = subprocess.Popen([L.SGXPY, "run", str(bundle), "--", *cmd], cwd=tmp_path,
                           env=L.env(), stdout=subprocess.PIPE, text=True)
    pids = [int(x) for x in sup.stdout.readline().split()]
    assert len(pids) == 2
    for pid in pids:
        os.kill(pid, 0)
    sup.kill()
    sup.wait()
    deadline = time.time() + 10
    alive = pids
    while alive and time.time() < deadline:
        alive = [p for p in alive if os.path.exists(f"/proc/{p}") and
                 "Z" not in open(f"/proc/{p}/stat").read().split()[2]]
        time.sleep(0.05)
    assert alive == []


def test_ctrl_c(tmp_path):
    """SIGINT to the foreground group (what Ctrl-C does): the app gets it,
    sgxpy exits with the app's status."""
    (tmp_path / "app.py").write_text(
        "import time\n"
        "try:\n    print('ready', flush=True)\n    time.sleep(60)\n"
        "except KeyboardInterrupt:\n    print('interrupted', flush=True)\n    raise SystemExit(3)\n")
    cmd = [PY, "-B", "app.py"]
    (tmp_path / "app.py").write_text((tmp_path / "app.py").read_text())
    bundle = L.make_bundle(tmp_path / "b", [PY, "-B", "app.py"], tmp_path,
                           extra_env={}) if False else None
    # trace with the sleep cut short by SIGINT after 'ready'
    bundle = tmp_path / "b"
    src = (tmp_path / "app.py").read_text()
    (tmp_path / "app.py").write_text(src.replace("time.sleep(60)", "raise KeyboardInterrupt"))
    L.make_bundle(bundle, cmd, tmp_path)
    (tmp_path / "app.py").write_text(src)

    def fix(m):
        for t in m["trusted"]:
            if t["path"] == str(tmp_path / "app.py"):
                t["size"] = os.path.getsize(tmp_path / "app.py")
                t["sha256"] = L.sha256_file(tmp_path / "app.py")
    L.rewrite_manifests(bundle, fix)
    sup = subprocess.Popen([L.SGXPY, "run", str(bundle), "--", *cmd], cwd=tmp_path,
                           env=L.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, start_new_session=True)
    assert sup.stdout.readline() == "ready\n"
    os.killpg(sup.pid, signal.SIGINT)
    out, err = sup.communicate(timeout=30)
    assert out == "interrupted\n", err
    assert sup.returncode == 3


def test_audit_logs_and_allows(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret")
    (tmp_path / "app.py").write_text("import sys\nprint(open(sys.argv[1]).read())\n")
    bundle = L.make_bundle(tmp_path / "b", [PY, "-B", "app.py", "/dev/null"], tmp_path)
    log = tmp_path / "log.jsonl"
    res = L.run(bundle, [PY, "-B", "app.py", str(secret)], tmp_path, "--audit", "--log", str(log))
    assert res.returncode == 0 and res.stdout == "s3cret\n"
    assert f"sgxpy: audit: pid" in res.stderr and f"open {secret}: not in manifest" in res.stderr
    events = [json.loads(l) for l in log.read_text().splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and "landlock off (--audit)" in events[0]["detail"]
    v = [e for e in events if e["event"] == "violation"]
    assert v and v[0]["path"] == str(secret) and v[0]["reason"] == "not in manifest"
    assert v[0]["action"] == "allowed (audit)"
    assert kinds[-1] == "end"


def test_log_denied_json(hello):
    cwd, app, bundle, cmd = hello
    tamper(app / "report.py", "#")
    log = cwd / "run.jsonl"
    res = L.run(bundle, cmd, cwd, "--log", str(log))
    assert res.returncode != 0
    v = [json.loads(l) for l in log.read_text().splitlines()]
    v = [e for e in v if e["event"] == "violation"]
    assert len(v) == 1
    assert v[0]["reason"] == "hash mismatch" and v[0]["action"] == "denied"
    assert v[0]["path"] == str(app / "report.py") and v[0]["op"] == "open"


def test_seal_identical(hello):
    cwd, app, bundle, cmd = hello
    nat = L.native(cmd, cwd)
    res = L.run(bundle, cmd, cwd, "--seal")
    assert res.returncode == 0, res.stderr
    assert res.stdout == nat.stdout and res.stderr == ""


def test_no_landlock_flag_documented(tmp_path):
    cmd = [PY, "-c", "pass"]
    bundle = L.make_bundle(tmp_path / "b", cmd, tmp_path)
    res = L.run(bundle, cmd, tmp_path, "--no-landlock", "-v")
    assert res.returncode == 0 and "landlock off" in res.stderr
    res = L.run(bundle, cmd, tmp_path, "-v")
    assert "landlock ABI 7 (tested 7)" in res.stderr


def test_key_checks_signature(tmp_path):
    cmd = [PY, "-c", "pass"]
    bundle = L.make_bundle(tmp_path / "b", cmd, tmp_path)
    for k in ("k", "other"):
        subprocess.run([L.SGXPY, "keygen", "-o", str(tmp_path / k)], check=True,
                       capture_output=True)
    res = L.run(bundle, cmd, tmp_path, "--key", str(tmp_path / "k.pub"))
    assert res.returncode == 125 and "not signed" in res.stderr
    subprocess.run([L.SGXPY, "sign", "--key", str(tmp_path / "k"), str(bundle)], check=True,
                   capture_output=True)
    assert L.run(bundle, cmd, tmp_path, "--key", str(tmp_path / "k.pub")).returncode == 0
    res = L.run(bundle, cmd, tmp_path, "--key", str(tmp_path / "other.pub"))
    assert res.returncode == 125 and "another key" in res.stderr
    # a manifest edited after signing: its hash no longer matches bundle.json
    mf = next((bundle / "manifests").iterdir())
    mf.write_text(mf.read_text().replace('"stat":[]', '"stat":["/x"]'))
    res = L.run(bundle, cmd, tmp_path, "--key", str(tmp_path / "k.pub"))
    assert res.returncode == 125


def test_exec_with_long_argument_and_environment(tmp_path):
    """An exec's argument or variable may be up to 128 KiB (MAX_ARG_STRLEN):
    the supervisor reads them whole (it once failed such an exec with EFAULT
    past 8 KiB, which a long PATH-like variable reaches)."""
    (tmp_path / "la.py").write_text(
        "import subprocess, sys\n"
        "n = int(sys.argv[1])\n"
        "r = subprocess.run(['/usr/bin/printf', '%s', 'z' * n], capture_output=True, text=True,\n"
        "                   env={'BIG': 'y' * n})\n"
        "print(len(r.stdout))\n")
    bundle = L.make_bundle(tmp_path / "b", [PY, "-B", "la.py", "10"], tmp_path)
    for n in (20000, 130000):
        res = L.run(bundle, [PY, "-B", "la.py", str(n)], tmp_path)
        assert res.stdout == f"{n}\n" and res.returncode == 0, res.stderr


def test_tampered_child_program_exec_refused(tmp_path):
    """A child image's program is verified at exec: tampered, the exec fails
    with one line naming it, and the parent goes on."""
    src = tmp_path / "hello.c"
    src.write_text('#include <stdio.h>\nint main(void) { puts("child ran"); return 0; }\n')
    prog = tmp_path / "hello"
    subprocess.run(["gcc", "-O1", "-o", str(prog), str(src)], check=True)
    (tmp_path / "app.py").write_text(
        "import subprocess, sys\n"
        "try:\n    subprocess.run([sys.argv[1]], check=True)\n"
        "except OSError as e:\n    print('exec failed', e.errno)\n")
    cmd = [PY, "-B", "app.py", str(prog)]
    bundle = L.make_bundle(tmp_path / "b", cmd, tmp_path)
    res = L.run(bundle, cmd, tmp_path)
    assert res.stdout == "child ran\n" and res.stderr == "", res.stderr
    data = bytearray(prog.read_bytes())
    i = data.find(b"child ran")
    data[i:i + 9] = b"evil  ran"
    prog.write_bytes(bytes(data))
    assert L.native([str(prog)], tmp_path).stdout == "evil  ran\n"
    res = L.run(bundle, cmd, tmp_path)
    assert res.stdout == "exec failed 13\n", res.stderr
    (line,) = denied_lines(res.stderr)
    assert line.endswith(f"exec {prog}: hash mismatch") and "(python3 app.py)" in line


def test_shebang_script_child(tmp_path):
    """A #! script exec'd directly: interpreter and script both verified."""
    script = tmp_path / "tool.py"
    script.write_text("#!/usr/bin/python3 -B\nprint('tool ran')\n")
    script.chmod(0o755)
    (tmp_path / "app.py").write_text(
        "import subprocess, sys\n"
        "r = subprocess.run([sys.argv[1]], capture_output=True, text=True)\n"
        "print(r.returncode, r.stdout.strip())\n")
    cmd = [PY, "-B", "app.py", str(script)]
    bundle = L.make_bundle(tmp_path / "b", cmd, tmp_path)
    res = L.run(bundle, cmd, tmp_path)
    assert res.stdout == "0 tool ran\n", res.stderr
    script.write_text("#!/usr/bin/python3 -B\nprint('evil ran')\n")
    res = L.run(bundle, cmd, tmp_path)
    assert "evil" not in res.stdout
    assert f"{script}: hash mismatch" in res.stderr
