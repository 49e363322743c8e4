"""Attack tests for `sgxpy run`: each attack is shown to work natively (or to be
meaningful) and to fail under run.  C attack programs live in tests/attacks/
and are compiled here into a tmp dir."""
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_run_lib as L  # noqa: E402

ATTACKS = Path(__file__).resolve().parents[1] / "attacks"
PY = L.PYTHON


@pytest.fixture(scope="module")
def bins(tmp_path_factory):
    out = tmp_path_factory.mktemp("attacks")
    for src in ATTACKS.glob("*.c"):
        subprocess.run(["gcc", "-O1", "-Wall", "-Wextra", "-Werror", "-D_GNU_SOURCE",
                        "-o", str(out / src.stem), str(src)], check=True)
    return out


def under_run(tmp_path, cmd, trace_cmd=None, **kw):
    """Bundle from a native trace of trace_cmd (default cmd), then run cmd."""
    bundle = L.make_bundle(tmp_path / "bundle", trace_cmd or cmd, tmp_path, **kw)
    return L.run(bundle, cmd, tmp_path)


def test_io_uring_openat(bins, tmp_path):
    target = tmp_path / "target.txt"
    target.write_text("secret\n")
    cmd = [str(bins / "io_uring_open"), str(target)]
    assert L.native(cmd, tmp_path).stdout.startswith("ATTACK OK")
    res = under_run(tmp_path, cmd)
    assert res.stdout == "BLOCKED io_uring_setup: Function not implemented\n", res.stderr


def test_open_by_handle_at(bins, tmp_path):
    target = tmp_path / "target.txt"
    target.write_text("secret\n")
    cmd = [str(bins / "open_by_handle"), str(target)]
    assert L.native(cmd, tmp_path).stdout.startswith("ATTACK OK")
    res = under_run(tmp_path, cmd)
    assert res.stdout == "BLOCKED name_to_handle_at: Operation not permitted\n", res.stderr


def test_memfd_exec(bins, tmp_path):
    cmd = [str(bins / "memfd_exec"), "/bin/echo"]
    assert L.native(cmd, tmp_path).stdout == "ATTACK OK: fileless exec ran\n"
    res = under_run(tmp_path, cmd)
    assert res.stdout == "BLOCKED fexecve: Permission denied\n", res.stderr


def test_ptrace_and_process_vm_writev(bins, tmp_path):
    cmd = [str(bins / "ptrace_sibling")]
    assert L.native(cmd, tmp_path).stdout.startswith("ATTACK OK")
    res = under_run(tmp_path, cmd)
    assert res.stdout == ("BLOCKED process_vm_writev: Operation not permitted; "
                          "ptrace: Operation not permitted\n"), res.stderr


def test_nested_seccomp_and_userfaultfd(bins, tmp_path):
    cmd = [str(bins / "nested_filter")]
    assert L.native(cmd, tmp_path).stdout.startswith("ATTACK OK")
    res = under_run(tmp_path, cmd)
    assert res.stdout == ("BLOCKED seccomp: Operation not permitted; prctl: Operation not "
                          "permitted; userfaultfd: Operation not permitted\n"), res.stderr


@pytest.mark.parametrize("mode", ["thread", "process", "clone3"])
def test_untraced_clone(bins, tmp_path, mode):
    """A task ptrace never attaches to (CLONE_UNTRACED) would exec without the
    exec stop and keep its parent's manifest: here a thread execs cat on a
    file only the parent's image may read, which natively works."""
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET\n")
    cmd = [str(bins / "untraced_clone"), mode, str(secret)]
    assert "SECRET" in L.native(cmd, tmp_path).stdout
    # the bundle: the program may read secret.txt itself, cat is not a child
    prog = bins / "untraced_clone"
    bundle = L.make_bundle(tmp_path / "bundle", [str(prog), "clone3", str(secret)], tmp_path)
    L.rewrite_manifests(bundle, lambda m: m["trusted"].append(
        {"path": str(secret), "size": secret.stat().st_size, "sha256": L.sha256_file(secret)}))
    res = L.run(bundle, cmd, tmp_path)
    want = "clone3: Function not implemented" if mode == "clone3" else "clone: Operation not permitted"
    assert res.stdout == f"BLOCKED {want}\n", (res.stdout, res.stderr)


@pytest.mark.parametrize("abi", ["i386", "x32"])
def test_compat_syscall_entries_killed(bins, tmp_path, abi):
    cmd = [str(bins / "compat_syscalls"), abi]
    nat = L.native(cmd, tmp_path)
    # i386 works natively here; x32 is compiled in but off at boot (ENOSYS):
    # either way the entry exists and must not reach the kernel under run
    assert nat.stdout.startswith("ATTACK OK") or "Function not implemented" in nat.stdout
    bundle = L.make_bundle(tmp_path / "bundle", [str(bins / "compat_syscalls"), "i386"], tmp_path)
    res = L.run(bundle, cmd, tmp_path)
    assert res.returncode == 128 + signal.SIGSYS, (res.returncode, res.stdout, res.stderr)
    assert "ATTACK OK" not in res.stdout


def test_mmap_exec_of_unverified_file(bins, tmp_path):
    code = tmp_path / "code.bin"
    cmd = [str(bins / "mmap_exec"), str(code)]
    assert L.native(cmd, tmp_path).stdout == "ATTACK OK unverified code returned 42\n"
    res = under_run(tmp_path, cmd)
    assert res.stdout == "BLOCKED mmap PROT_EXEC: Permission denied\n", res.stderr
    assert f"mmap {code}: not in manifest" in res.stderr



@pytest.mark.parametrize("mode,blocked,line", [
    ("rwx", "mprotect RWX", "mprotect write+exec memory: blocked syscall"),
    # mprotect RX of the verified program's own page is what the supervisor
    # allows; the kernel's W^X (PR_SET_MDWE) refuses the gain of exec
    ("split", "mprotect RX", None),
    ("shared", "mmap shared RX", "mmap shared anonymous exec memory: blocked syscall"),
])
def test_write_then_execute_memory(bins, tmp_path, mode, blocked, line):
    cmd = [str(bins / "wx_memory"), mode]
    assert L.native(cmd, tmp_path).stdout == "ATTACK OK unverified code returned 42\n"
    bundle = L.make_bundle(tmp_path / "bundle", [str(bins / "wx_memory"), "none"], tmp_path)
    res = L.run(bundle, cmd, tmp_path, "-v")
    assert "W^X on (PR_SET_MDWE)" in res.stderr
    assert res.stdout == f"BLOCKED {blocked}: Permission denied\n", res.stderr
    if line:
        assert line in res.stderr


READER = """
import collections, json, sys
seen = collections.Counter()
for _ in range(int(sys.argv[2])):
    try:
        with open(sys.argv[1]) as f:
            seen[f.read()] += 1
    except OSError as e:
        seen["errno %d" % e.errno] += 1
print(json.dumps(seen, sort_keys=True))
"""

SWAPPER = """
import os, sys
target, good, evil, kind = sys.argv[1:5]
tmp = target + ".swap"
while True:
    for src in (good, evil):
        if kind == "symlink":
            os.symlink(src, tmp)
        else:  # a fresh file with the content, renamed over the target
            with open(tmp, "w") as f:
                f.write(open(src).read())
        os.rename(tmp, target)
"""


def swap_setup(tmp_path, kind):
    good, evil = tmp_path / "good.txt", tmp_path / "evil.txt"
    good.write_text("GOOD\n")
    evil.write_text("EVIL\n")
    target = tmp_path / "target.txt"
    if kind == "symlink":
        target.symlink_to(good)
    else:
        os.link(good, target)
    (tmp_path / "reader.py").write_text(READER)
    (tmp_path / "swapper.py").write_text(SWAPPER)
    return target, good, evil


@pytest.mark.parametrize("kind", ["rename", "symlink"])
def test_file_swapped_in_a_tight_loop(tmp_path, kind):
    """Another process swaps the trusted file with a tampered one in a loop
    while the app opens it: natively tampered bytes are read; under run never."""
    target, good, evil = swap_setup(tmp_path, kind)
    cmd = [PY, "-B", "reader.py", str(target), "3000"]
    bundle = L.make_bundle(tmp_path / "bundle", [PY, "-B", "reader.py", str(target), "1"], tmp_path)
    sw = subprocess.Popen([PY, "swapper.py", str(target), str(good), str(evil), kind], cwd=tmp_path)
    try:
        nat = json.loads(L.native(cmd, tmp_path).stdout)
        res = L.run(bundle, cmd, tmp_path)
    finally:
        sw.kill()
        sw.wait()
    assert nat.get("EVIL\n", 0) > 0, nat
    seen = json.loads(res.stdout)
    assert "EVIL\n" not in seen, seen
    assert seen.get("GOOD\n", 0) > 0, seen
    # every other outcome is a refusal: EPERM for a hash mismatch
    assert set(seen) <= {"GOOD\n", "errno 1"}, seen
    assert "hash mismatch" in res.stderr





def test_shebang_line_read_again_by_the_kernel(tmp_path):
    """The kernel reads a script's #! line itself, after the supervisor checked
    the script.  The app runs app/lnk/../s.py, and elsewhere other/t.py, whose
    #! line is `python3 -i` (after the script, run what stdin says).  The
    attacker hard-links t.py as other/s.py and repoints lnk into other/: the
    supervisor still checks app/s.py, the kernel (lnk first, then ..) reads
    the #! line of other/s.py, whose inode Landlock lets it execute, and the
    verified interpreter runs s.py with -i: stdin's code runs too.  Under run
    the exec stop compares the argv the kernel built with the one checked and
    kills the process before its first instruction."""
    app, other = tmp_path / "app", tmp_path / "other"
    (app / "sub").mkdir(parents=True)
    (other / "sub").mkdir(parents=True)
    for path, text in ((app / "s.py", f"#!{PY}\nprint('S')\n"),
                       (other / "t.py", f"#!{PY} -i\nprint('T')\n")):
        path.write_text(text)
        path.chmod(0o755)
    (app / "lnk").symlink_to(app / "sub")
    (tmp_path / "spawn.py").write_text(
        "import subprocess, sys\n"
        "for script in sys.argv[1:]:\n"
        "    r = subprocess.run([script], input=\"print('FROM STDIN')\", text=True,\n"
        "                       stderr=subprocess.DEVNULL)\n"
        "    print('exit', r.returncode, flush=True)\n")
    cmd = [PY, "-B", "spawn.py", str(app / "lnk" / ".." / "s.py"), str(other / "t.py")]
    benign = "S\nexit 0\nT\nFROM STDIN\nexit 0\n"
    assert L.native(cmd, tmp_path).stdout == benign
    # the product's own pipeline
    bundle = L.sgxpy_bundle(tmp_path / "bundle", cmd, tmp_path)
    assert L.run(bundle, cmd, tmp_path).stdout == benign
    os.link(other / "t.py", other / "s.py")
    (app / "lnk").unlink()
    (app / "lnk").symlink_to(other / "sub")
    assert L.native(cmd, tmp_path).stdout.startswith("T\nFROM STDIN\nexit 0\n")
    res = L.run(bundle, cmd, tmp_path)
    assert res.stdout == "exit -9\nT\nFROM STDIN\nexit 0\n", res.stderr
    (line,) = [l for l in res.stderr.splitlines() if l.startswith("sgxpy: denied: ")]
    assert line.endswith("exec (argv or #! line changed after the check): exec not allowed"), line

def test_verified_interpreter_run_as_the_program(tmp_path):
    """Every mapping of the new image being a verified file is not enough: the
    program's own ELF interpreter (verified, executable under Landlock) run as
    the program maps only itself.  The attacker reaches it through app/lnk/..,
    which the supervisor resolves by text and the kernel through the link."""
    real, app, other = tmp_path / "real", tmp_path / "app", tmp_path / "other"
    for d in (real, app / "sub", other / "sub"):
        d.mkdir(parents=True)
    shutil.copy("/lib64/ld-linux-x86-64.so.2", real / "ld.so")
    (tmp_path / "tool.c").write_text('#include <stdio.h>\nint main(void) { puts("TOOL"); return 0; }\n')
    subprocess.run(["gcc", "-O1", f"-Wl,--dynamic-linker={real / 'ld.so'}", "-o", str(app / "tool"),
                    str(tmp_path / "tool.c")], check=True)
    (app / "lnk").symlink_to(app / "sub")
    (tmp_path / "spawn.py").write_text(
        "import subprocess, sys\n"
        "r = subprocess.run([sys.argv[1]], stderr=subprocess.DEVNULL)\n"
        "print('exit', r.returncode)\n")
    cmd = [PY, "-B", "spawn.py", str(app / "lnk" / ".." / "tool")]
    assert L.native(cmd, tmp_path).stdout == "TOOL\nexit 0\n"
    bundle = L.make_bundle(tmp_path / "bundle", cmd, tmp_path)
    assert L.run(bundle, cmd, tmp_path).stdout == "TOOL\nexit 0\n"
    os.link(real / "ld.so", other / "tool")
    (app / "lnk").unlink()
    (app / "lnk").symlink_to(other / "sub")
    assert L.native(cmd, tmp_path).stdout == "exit 1\n"  # ld.so: missing program name
    res = L.run(bundle, cmd, tmp_path)
    assert res.stdout == "exit -9\n", res.stderr
    (line,) = [l for l in res.stderr.splitlines() if l.startswith("sgxpy: denied: ")]
    assert line.endswith("hash mismatch"), line


def test_python_code_planted_under_an_allowed_tree(tmp_path):
    """An app that makes temp dirs gets the temp root as a writable, unverified
    tree.  Python puts the cwd first on sys.path for -c: a json.py planted in a
    cwd under that tree would be imported instead of the trusted stdlib one.
    Under run, Python code is never read from an allowed path (unless the
    rule is marked code), so the import fails closed with a denial."""
    work = tmp_path / "work"
    work.mkdir()
    code = "import tempfile; tempfile.TemporaryDirectory().cleanup(); import json; print(json.dumps([1]))"
    cmd = [PY, "-c", code]
    env = {"TMPDIR": str(tmp_path)}  # the temp root: the allowed tree holds work/
    assert L.native(cmd, work, extra_env=env).stdout == "[1]\n"
    bundle = L.sgxpy_bundle(tmp_path / "bundle", cmd, work, extra_env=env)
    assert L.run(bundle, cmd, work, extra_env=env).stdout == "[1]\n"
    (work / "json.py").write_text("print('PWNED')\ndumps = repr\n")
    assert L.native(cmd, work, extra_env=env).stdout == "PWNED\n[1]\n"
    res = L.run(bundle, cmd, work, extra_env=env)
    assert "PWNED" not in res.stdout and res.returncode != 0, res.stdout
    assert f"open {work / 'json.py'}: code under an allowed path" in res.stderr, res.stderr


def test_cwd_is_pinned_to_the_traced_one(tmp_path):
    """The attacker may choose the directory sgxpy run starts in; relative
    paths then name their files: a config.json of theirs under the (allowed)
    temp tree would be read in place of the trusted one.  The root image's
    cwd is pinned to the traced one."""
    app, evil = tmp_path / "app", tmp_path / "tmp" / "evil"
    app.mkdir()
    evil.mkdir(parents=True)
    (app / "config.json").write_text('{"mode": "GOOD"}')
    (evil / "config.json").write_text('{"mode": "EVIL"}')
    (app / "app.py").write_text(
        "import json, tempfile\ntempfile.TemporaryDirectory().cleanup()\n"
        "print(json.load(open('config.json'))['mode'])\n")
    cmd = [PY, "-B", str(app / "app.py")]
    env = {"TMPDIR": str(tmp_path / "tmp")}
    assert L.native(cmd, evil, extra_env=env).stdout == "EVIL\n"
    bundle = L.sgxpy_bundle(tmp_path / "bundle", cmd, app, extra_env=env)
    assert L.run(bundle, cmd, app, extra_env=env).stdout == "GOOD\n"
    res = L.run(bundle, cmd, evil, extra_env=env)
    assert res.returncode == 125 and res.stdout == "", res.stdout
    assert f"the current directory {evil} is not the traced one, {app}" in res.stderr, res.stderr


def test_signed_bundle_json_swapped_after_the_signature_check(bins, tmp_path):
    """`run --key` must enforce the bundle.json whose measurement it checked.
    The attacker can write the bundle directory, not sign: they leave the
    signed bundle.json, put a manifest trusting their data file next to it,
    and rename a bundle.json naming that manifest over the signed one the
    moment sgxpy first closes it.  Reading bundle.json once for both the
    signature and the load leaves nothing to race: every attempt fails
    closed (it won 27 of 30 when the signature check read it separately)."""
    (tmp_path / "data.txt").write_text("good\n")
    (tmp_path / "app.py").write_text("print('data=' + open('data.txt').read().strip())\n")
    cmd = [PY, "-B", "app.py"]
    good = L.sgxpy_bundle(tmp_path / "good.b", cmd, tmp_path)
    subprocess.run([L.SGXPY, "keygen", "-o", str(tmp_path / "k")], check=True, capture_output=True)
    subprocess.run([L.SGXPY, "sign", "--key", str(tmp_path / "k"), str(good)], check=True,
                   capture_output=True)
    pub = str(tmp_path / "k.pub")
    assert L.run(good, cmd, tmp_path, "--key", pub).stdout == "data=good\n"
    (tmp_path / "data.txt").write_text("evil\n")
    evil_sha = L.sha256_file(tmp_path / "data.txt")
    evil = tmp_path / "evil.b"
    shutil.copytree(good, evil)

    def trust_evil(m):
        for t in m["trusted"]:
            if t["path"] == str(tmp_path / "data.txt"):
                t["sha256"] = evil_sha
    L.rewrite_manifests(evil, trust_evil)
    res = L.run(evil, cmd, tmp_path, "--key", pub)
    assert res.returncode == 125 and "measurement differs" in res.stderr, res.stderr
    race = tmp_path / "race.b"
    outcomes = []
    for _ in range(10):
        shutil.rmtree(race, ignore_errors=True)
        shutil.copytree(evil, race)
        shutil.copy(good / "bundle.json", race / "bundle.json")  # the signed one, for now
        shutil.copy(evil / "bundle.json", tmp_path / "evil.json")
        r = subprocess.run([str(bins / "rename_on_close"), str(race / "bundle.json"),
                            str(tmp_path / "evil.json"), L.SGXPY, "run", "--key", pub, str(race),
                            "--", *cmd], cwd=tmp_path, env=L.env(), capture_output=True, text=True,
                           timeout=60)
        outcomes.append(r.stdout)
    assert all(o == "exit 125\n" for o in outcomes), outcomes
    # `verify --key` the other way round: it checks the host against the
    # evil bundle.json (all match), and the signed one is renamed in before
    # the signature is checked.  It must check the signature over the
    # bundle.json it checked the files against: exit 1.
    for _ in range(3):
        shutil.rmtree(race, ignore_errors=True)
        shutil.copytree(evil, race)
        shutil.copy(good / "bundle.json", tmp_path / "good.json")
        r = subprocess.run([str(bins / "rename_on_close"), str(race / "bundle.json"),
                            str(tmp_path / "good.json"), L.SGXPY, "verify", "--key", pub, str(race)],
                           cwd=tmp_path, env=L.env(), capture_output=True, text=True, timeout=60)
        assert r.stdout.endswith("exit 1\n"), r.stdout


DIR_READER = """
import os, sys, tempfile
tempfile.TemporaryDirectory().cleanup()  # the temp root becomes a writable tree
os.chdir(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
try:
    print(open("mod.txt").read().strip())
except OSError as e:
    print("errno", e.errno)
"""


def test_relative_open_after_the_directory_moved(tmp_path):
    """A relative open is resolved against the cwd as it is *now*.  The
    attacker moves the app's directory (holding a trusted data file) into the
    temp tree, which the manifest allows, and rewrites the file there: judged
    by its new path, the open would be an allowed one and read the tampered
    bytes.  Under run, a relative open whose base directory held trusted
    files at the start and is no longer there is refused."""
    app, tmp = tmp_path / "app", tmp_path / "tmp"
    (app / "lib").mkdir(parents=True)
    tmp.mkdir()
    (app / "lib" / "mod.txt").write_text("GOOD\n")
    (tmp_path / "reader.py").write_text(DIR_READER)
    cmd = [PY, "-B", str(tmp_path / "reader.py"), str(app / "lib")]
    env = {"TMPDIR": str(tmp)}
    bundle = L.sgxpy_bundle(tmp_path / "bundle", cmd, tmp_path, extra_env=env, stdin_text="\n")

    def attack(prefix):
        p = subprocess.Popen([*prefix, *cmd], cwd=tmp_path, env=L.env(**env), text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert p.stdout.readline() == "ready\n"
        os.rename(app / "lib", tmp / "lib")
        (tmp / "lib" / "mod.txt").write_text("EVIL\n")
        out, err = p.communicate("\n", timeout=60)
        os.rename(tmp / "lib", app / "lib")
        (app / "lib" / "mod.txt").write_text("GOOD\n")
        return out, err

    assert attack([])[0] == "EVIL\n"
    out, err = attack([L.SGXPY, "run", str(bundle), "--"])
    assert out == "errno 13\n", err
    assert f"open {tmp / 'lib' / 'mod.txt'}: relative to a directory moved since the start" in err


def test_python_startup_file_next_to_a_python3_on_path(tmp_path):
    """CPython finds sys.executable by searching PATH for argv[0] and reads
    <executable>._pth (it replaces sys.path) and pyvenv.cfg (home= acts as
    PYTHONHOME) next to it.  The attacker sets PATH to a directory in the
    temp tree holding a python3 symlink to the real one (the root-image check
    resolves symlinks, so it passes) and a ._pth that puts their zip first on
    sys.path: its encodings package runs at start-up.  Under run such files
    are refused under an allowed path, like code."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    (tmp_path / "app.py").write_text("import tempfile; tempfile.TemporaryDirectory().cleanup(); print('app ok')\n")
    cmd = ["python3", "-B", str(tmp_path / "app.py")]
    env = {"TMPDIR": str(tmp)}
    bundle = L.sgxpy_bundle(tmp_path / "bundle", cmd, tmp_path, extra_env=env)
    ev = tmp / "ev"
    (ev / "bin").mkdir(parents=True)
    (ev / "z" / "encodings").mkdir(parents=True)
    (ev / "bin" / "python3").symlink_to("/usr/bin/python3")
    (ev / "z" / "encodings" / "__init__.py").write_text(
        "import os; os.write(1, b'PWNED\\n'); os._exit(66)\n")
    shutil.make_archive(str(ev / "evil"), "zip", ev / "z")
    (ev / "bin" / "python3._pth").write_text(
        f"{ev / 'evil.zip'}\n/usr/lib/python3.11\n/usr/lib/python3.11/lib-dynload\n")
    env["PATH"] = f"{ev / 'bin'}:{L.env()['PATH']}"
    nat = L.native(cmd, tmp_path, extra_env=env)
    assert nat.stdout == "PWNED\n" and nat.returncode == 66, nat
    res = L.run(bundle, cmd, tmp_path, extra_env=env)
    assert "PWNED" not in res.stdout, res.stdout
    assert f"open {ev / 'bin' / 'python3._pth'}: code under an allowed path" in res.stderr, res.stderr


def test_hard_link_into_trusted_path(tmp_path):
    target, good, evil = swap_setup(tmp_path, "rename")
    cmd = [PY, "-B", "reader.py", str(target), "1"]
    bundle = L.make_bundle(tmp_path / "bundle", cmd, tmp_path)
    target.unlink()
    os.link(evil, target)  # the trusted name now is the attacker's inode
    assert json.loads(L.native(cmd, tmp_path).stdout) == {"EVIL\n": 1}
    res = L.run(bundle, cmd, tmp_path)
    assert json.loads(res.stdout) == {"errno 1": 1}
    assert f"open {target}: hash mismatch" in res.stderr


LINKER = """
import os, sys
trusted, out = sys.argv[1], sys.argv[2]
try:
    os.link(trusted, out)
    with open(out, "a") as f:
        f.write("EVIL\\n")
    print("ATTACK OK")
except OSError as e:
    print("BLOCKED", e.errno)
"""


def test_hard_link_of_trusted_file_into_writable_dir(tmp_path):
    """The app links a trusted file into its writable output dir and writes
    through the new name: Landlock refuses the cross-directory link (no REFER)."""
    data = tmp_path / "data"
    data.mkdir()
    trusted = data / "model.txt"
    trusted.write_text("GOOD\n")
    outdir = tmp_path / "out"
    outdir.mkdir()
    (tmp_path / "linker.py").write_text(LINKER + "print(open(trusted).read(), end='')\n")
    cmd = [PY, "-B", "linker.py", str(trusted), str(outdir / "x")]
    nat = L.native(cmd, tmp_path)
    assert nat.stdout == "ATTACK OK\nGOOD\nEVIL\n"
    trusted.write_text("GOOD\n")
    (outdir / "x").unlink()
    bundle = L.make_bundle(tmp_path / "bundle", cmd, tmp_path, allow=[(str(outdir), True, True)])
    trusted.write_text("GOOD\n")
    (outdir / "x").unlink()
    L.rewrite_manifests(bundle, lambda m: [t.update(size=5, sha256=L.sha256_file(trusted))
                                           for t in m["trusted"] if t["path"] == str(trusted)])
    res = L.run(bundle, cmd, tmp_path)
    assert res.stdout == "BLOCKED 18\nGOOD\n", res.stderr  # EXDEV
    assert trusted.read_text() == "GOOD\n"


REOPEN = """
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    w = os.open("/proc/self/fd/%d" % fd, os.O_WRONLY | os.O_APPEND)
    os.write(w, b"EVIL\\n")
    print("ATTACK OK")
except OSError as e:
    print("BLOCKED", e.errno)
"""


def test_proc_self_fd_reopen_for_write(tmp_path):
    trusted = tmp_path / "config.txt"
    trusted.write_text("GOOD\n")
    (tmp_path / "reopen.py").write_text(REOPEN)
    cmd = [PY, "-B", "reopen.py", str(trusted)]
    bundle = L.make_bundle(tmp_path / "bundle", cmd, tmp_path)
    trusted.write_text("GOOD\n")  # the traced run attacked it too: vouch for GOOD
    L.rewrite_manifests(bundle, lambda m: [t.update(size=5, sha256=L.sha256_file(trusted))
                                           for t in m["trusted"] if t["path"] == str(trusted)])
    assert L.native(cmd, tmp_path).stdout == "ATTACK OK\n"
    assert trusted.read_text() == "GOOD\nEVIL\n"
    trusted.write_text("GOOD\n")
    res = L.run(bundle, cmd, tmp_path)
    assert res.stdout == "BLOCKED 13\n", res.stderr
    assert trusted.read_text() == "GOOD\n"
    assert "/proc/self/fd/3: magic link" in res.stderr


def test_proc_root_magic_link_skips_no_check(tmp_path):
    """Reading a tampered trusted file through /proc/self/root/... natively
    works; under run the magic link is refused."""
    trusted = tmp_path / "config.txt"
    trusted.write_text("GOOD\n")
    (tmp_path / "reader.py").write_text(READER)
    via = f"/proc/self/root{trusted}"
    bundle = L.make_bundle(tmp_path / "bundle", [PY, "-B", "reader.py", str(trusted), "1"], tmp_path)
    trusted.write_text("EVIL\n")
    cmd = [PY, "-B", "reader.py", via, "1"]
    assert json.loads(L.native(cmd, tmp_path).stdout) == {"EVIL\n": 1}
    res = L.run(bundle, cmd, tmp_path)
    assert json.loads(res.stdout) == {"errno 13": 1}
    assert f"open {via}: magic link" in res.stderr


def test_ld_preload_injection(tmp_path):
    so = tmp_path / "evil.so"
    (tmp_path / "evil.c").write_text(
        '#include <stdio.h>\n__attribute__((constructor)) static void f(void)'
        ' { puts("INJECTED"); fflush(stdout); }\n')
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(so), str(tmp_path / "evil.c")], check=True)
    (tmp_path / "app.py").write_text(
        "import os, subprocess, sys\n"
        "env = dict(os.environ)\n"
        "if len(sys.argv) > 1:\n    env['LD_PRELOAD'] = sys.argv[1]\n"
        "try:\n"
        "    print(subprocess.run([sys.executable, '-B', '-c', 'print(1)'], env=env,"
        " capture_output=True, text=True).stdout, end='')\n"
        "except PermissionError:\n    print('exec refused')\n")
    cmd = [PY, "-B", "app.py"]
    # natively, LD_PRELOAD injects code into the process and into its children
    assert L.native([PY, "-c", "pass"], tmp_path, extra_env={"LD_PRELOAD": str(so)}).stdout == "INJECTED\n"
    assert L.native(cmd + [str(so)], tmp_path).stdout == "INJECTED\n1\n"
    bundle = L.make_bundle(tmp_path / "bundle", cmd, tmp_path)
    assert L.run(bundle, cmd, tmp_path).stdout == "1\n"
    # at start: refused before CMD runs.  (sgxpy's own loader honours it
    # too: "INJECTED" may come from sgxpy itself, which is dynamically
    # linked; see src/run/README.md.)
    res = L.run(bundle, cmd, tmp_path, extra_env={"LD_PRELOAD": str(so)})
    assert res.returncode == 125 and "LD_PRELOAD is set" in res.stderr
    assert "1\n" not in res.stdout
    # set by the app for a child: the exec is refused
    res = L.run(bundle, cmd + [str(so)], tmp_path)
    assert res.stdout == "exec refused\n", res.stderr
    assert "exec /usr/bin/python3: loader environment variable" in res.stderr



@pytest.mark.parametrize("var", ["BASH_ENV", "BASH_FUNC_echo%%"])
def test_shell_startup_variables(tmp_path, var):
    """A shell the app runs sources $BASH_ENV and imports exported functions
    (BASH_FUNC_name%%): code from the environment, which the attacker may set."""
    evil = tmp_path / "evil.sh"
    evil.write_text("echo PWNED\n")
    value = str(evil) if var == "BASH_ENV" else "() { builtin echo PWNED; }"
    (tmp_path / "job.sh").write_text("echo job ok\n")
    (tmp_path / "app.py").write_text(
        "import subprocess\nsubprocess.run(['/bin/bash', 'job.sh'])\n")
    cmd = [PY, "-B", "app.py"]
    assert "PWNED" in L.native(cmd, tmp_path, extra_env={var: value}).stdout
    bundle = L.sgxpy_bundle(tmp_path / "bundle", cmd, tmp_path)
    assert L.run(bundle, cmd, tmp_path).stdout == "job ok\n"
    res = L.run(bundle, cmd, tmp_path, extra_env={var: value})
    assert res.returncode == 125 and f"{var} is set" in res.stderr, res.stderr
    assert "PWNED" not in res.stdout


TEMP_SCRIPT_APP = """
import os, subprocess, sys, tempfile
d = tempfile.mkdtemp()
helper = os.path.join(d, "helper")  # a script without a .py name
open(helper, "w").write("print('helper ran')\\n")
if len(sys.argv) > 1:  # the attacker rewrites it between the write and the exec
    open(helper, "w").write("print('ATTACKER CODE RUNS')\\n")
subprocess.run([sys.executable, helper])
"""


def test_temp_script_without_a_py_name(tmp_path):
    """A child image's script the run wrote under the temp tree is code, whatever
    its name: read from an allowed path it is refused unless the bundle was
    made with --allow-built-code (and then it is the run's own code)."""
    (tmp_path / "app.py").write_text(TEMP_SCRIPT_APP)
    env = {"TMPDIR": str(tmp_path)}
    cmd = [PY, "-B", "app.py"]
    assert L.native(cmd + ["tamper"], tmp_path, extra_env=env).stdout == "ATTACKER CODE RUNS\n"
    for opt in ([], ["--allow-built-code"]):
        bundle = L.sgxpy_bundle(tmp_path / f"b{len(opt)}", cmd, tmp_path, extra_env=env,
                                manifest_opts=opt)
        res = L.run(bundle, cmd + ["tamper"], tmp_path, extra_env=env)
        if opt:  # the opt-in: code the run writes is the run's to vouch for
            assert res.stdout == "ATTACKER CODE RUNS\n"
        else:
            assert "ATTACKER" not in res.stdout, res.stdout
            assert "/helper: code under an allowed path" in res.stderr, res.stderr


INPLACE = """
import sys
f = open(sys.argv[1])
print("opened", flush=True)
sys.stdin.readline()          # the attacker writes in place now
print(f.read(), end="", flush=True)
"""


@pytest.mark.parametrize("seal", [False, True])
def test_in_place_write_after_check(tmp_path, seal):
    """The documented race: a write to the file itself (not its path) after
    the check reaches a process holding the fd; --seal closes it."""
    trusted = tmp_path / "model.txt"
    trusted.write_text("GOOD\n")
    (tmp_path / "inplace.py").write_text(INPLACE)
    cmd = [PY, "-B", "inplace.py", str(trusted)]
    bundle = L.make_bundle(tmp_path / "bundle", cmd, tmp_path)
    opts = ["--seal"] if seal else []
    p = subprocess.Popen([L.SGXPY, "run", *opts, str(bundle), "--", *cmd], cwd=tmp_path,
                         env=L.env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline() == "opened\n"
    with open(trusted, "r+") as f:   # same size, other bytes, same inode
        f.write("EVIL\n")
    out, err = p.communicate("go\n", timeout=60)
    assert p.returncode == 0, err
    assert out == ("GOOD\n" if seal else "EVIL\n")


WALL = """
import os, sys
trusted, other = sys.argv[1], sys.argv[2]
for name, op in (("truncate", lambda: os.truncate(trusted, 0)),
                 ("rename", lambda: os.rename(other, trusted)),
                 ("unlink", lambda: os.unlink(trusted)),
                 ("symlink", lambda: os.symlink(trusted, trusted + ".lnk"))):
    try:
        op()
        print(name, "ATTACK OK")
    except OSError as e:
        print(name, "BLOCKED", e.errno)
"""


def test_landlock_wall_on_calls_not_intercepted(tmp_path):
    """truncate, rename, unlink, symlink are not intercepted (they load
    nothing); Landlock still keeps them off trusted files."""
    data = tmp_path / "data"
    data.mkdir()
    trusted, other = data / "model.txt", data / "other.txt"
    (tmp_path / "wall.py").write_text(WALL)
    cmd = [PY, "-B", "wall.py", str(trusted), str(other)]

    def reset():
        for p in data.iterdir():
            p.unlink()
        trusted.write_text("GOOD\n")
        other.write_text("EVIL\n")
    reset()
    nat = L.native(cmd, tmp_path)
    assert nat.stdout.count("ATTACK OK") == 4, nat.stdout
    reset()
    bundle = L.make_bundle(tmp_path / "bundle", [PY, "-B", "wall.py", "/nonexistent", "/x"], tmp_path)

    def trust(m):
        m["trusted"].append({"path": str(trusted), "size": 5, "sha256": L.sha256_file(trusted)})
        m["trusted"].sort(key=lambda t: t["path"])
    L.rewrite_manifests(bundle, trust)
    res = L.run(bundle, cmd, tmp_path)
    assert res.stdout == "truncate BLOCKED 13\nrename BLOCKED 13\nunlink BLOCKED 13\nsymlink BLOCKED 13\n", res.stderr
    assert trusted.read_text() == "GOOD\n"
    # without the wall (--no-landlock) the same calls go through: Landlock
    # is what stops them
    res = L.run(bundle, cmd, tmp_path, "--no-landlock")
    assert res.stdout.count("ATTACK OK") == 4
