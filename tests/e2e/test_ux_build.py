"""End-to-end tests of the one-command path and the tool's surface:
`sgxpy build`, `--version`, colour (TTY only, NO_COLOR), `make install` into a
temporary prefix, the man pages (`man -l`) and the bash completion.

SGXPY names the binary (default build/sgxpy); the install tests run
`make install B=<its directory>` so they install that very binary.
"""
import json
import os
import pty
import re
import select
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import PYTHON, SGXPY, clean_env, run_sgxpy

REPO = Path(__file__).resolve().parents[2]
HELLO = REPO / "examples" / "hello"
ESC = "\x1b["
SGR = re.compile(r"\x1b\[[0-9;]*m")  # a colour or style, not a cursor control


@pytest.fixture(scope="module")
def hello(tmp_path_factory):
    """examples/hello copied to a temp dir, and its app's native output."""
    d = tmp_path_factory.mktemp("hello")
    for f in HELLO.iterdir():
        if f.is_file():
            shutil.copy2(f, d / f.name)
    native = subprocess.run([PYTHON, str(d / "app.py")], capture_output=True, text=True,
                            env=clean_env(), check=True)
    return d, native.stdout


@pytest.fixture(scope="module")
def built(hello, tmp_path_factory):
    """`sgxpy build -o hello.bundle -- python3 app.py`, run once for the module."""
    d, _ = hello
    out = tmp_path_factory.mktemp("built")
    r = run_sgxpy("build", "-o", out / "hello.bundle", "--", PYTHON, d / "app.py")
    return out, r


def test_build_makes_bundle_and_trace_and_prints_the_tree(hello, built):
    d, native = hello
    out, r = built
    assert r.returncode == 0, r.stderr
    # CMD's own output first, then the image tree
    assert r.stdout.startswith(native), r.stdout
    tree = r.stdout[len(native):]
    assert "measurement " in tree and "2 images" in tree
    assert "app.py" in tree and "worker.py" in tree
    assert (out / "hello.bundle" / "bundle.json").is_file()
    assert (out / "hello.trace").is_file(), "the trace is kept beside the bundle"
    idx = json.loads((out / "hello.bundle" / "bundle.json").read_text())
    assert [t["path"] for t in idx["traces"]] == [str(out / "hello.trace")]
    assert not list(out.glob("*.tmp*")), "no temporary output left behind"


def test_built_bundle_is_the_one_manifest_makes(built, tmp_path):
    """build is trace + manifest: the same trace through `manifest` gives the
    same manifests, byte for byte."""
    out, _ = built
    r = run_sgxpy("manifest", "-o", tmp_path / "m.bundle", out / "hello.trace")
    assert r.returncode == 0, r.stderr
    for f in (out / "hello.bundle" / "manifests").iterdir():
        assert f.read_bytes() == (tmp_path / "m.bundle" / "manifests" / f.name).read_bytes()


def test_run_of_the_built_bundle_behaves_like_the_app(hello, built):
    d, native = hello
    out, _ = built
    r = run_sgxpy("run", out / "hello.bundle", "--", PYTHON, d / "app.py")
    assert r.returncode == 0, r.stderr
    assert r.stdout == native
    assert "denied" not in r.stderr


def test_build_with_key_signs(hello, tmp_path):
    d, _ = hello
    assert run_sgxpy("keygen", "-o", tmp_path / "k.pem", "--type", "ed25519").returncode == 0
    r = run_sgxpy("build", "-o", tmp_path / "s.bundle", "--key", tmp_path / "k.pem", "--",
                  PYTHON, d / "app.py")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "s.bundle" / "signature.json").is_file()
    v = run_sgxpy("verify", "--key", tmp_path / "k.pem.pub", tmp_path / "s.bundle")
    assert v.returncode == 0, v.stdout + v.stderr


def test_bad_key_is_refused_before_cmd_runs(tmp_path):
    (tmp_path / "k.pem").write_text("not a key\n")
    marker = tmp_path / "ran"
    r = run_sgxpy("build", "-o", tmp_path / "b.bundle", "--key", tmp_path / "k.pem", "--",
                  "/bin/touch", marker)
    assert r.returncode == 3
    assert r.stderr.count("\n") == 1 and "k.pem" in r.stderr and "keygen" in r.stderr
    assert not marker.exists(), "CMD must not run when the key is unusable"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.pem"]


def test_failing_cmd_makes_no_bundle_and_keeps_the_trace(tmp_path):
    r = run_sgxpy("build", "-o", tmp_path / "f.bundle", "--", "/bin/sh", "-c", "exit 7")
    assert r.returncode == 7
    assert "status 7" in r.stderr and "f.trace" in r.stderr
    assert not (tmp_path / "f.bundle").exists()
    assert (tmp_path / "f.trace").is_file()


def test_missing_cmd_is_127_and_writes_nothing(tmp_path):
    r = run_sgxpy("build", "-o", tmp_path / "x.bundle", "--", "/nonexistent/prog")
    assert r.returncode == 127
    assert "/nonexistent/prog" in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_output_that_is_not_a_bundle_is_refused_untouched(tmp_path):
    keep = tmp_path / "important"
    keep.mkdir()
    (keep / "data").write_text("x")
    r = run_sgxpy("build", "-o", keep, "--", "/bin/true")
    assert r.returncode == 2
    assert "not an sgxpy bundle" in r.stderr and str(keep) in r.stderr
    assert sorted(p.name for p in keep.iterdir()) == ["data"]
    assert not (tmp_path / "important.trace").exists()


def test_empty_output_dir_is_kept_when_cmd_fails_and_filled_when_it_works(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    r = run_sgxpy("build", "-o", out, "--", "/bin/false")
    assert r.returncode == 1 and out.is_dir() and list(out.iterdir()) == []
    r = run_sgxpy("build", "-o", out, "--", "/bin/true")
    assert r.returncode == 0, r.stderr
    assert (out / "bundle.json").is_file()


def test_build_usage_errors(tmp_path):
    r = run_sgxpy("build", "-o", tmp_path / "b.bundle")
    assert r.returncode == 2 and "no command" in r.stderr
    r = run_sgxpy("build", "--bogus", "--", "/bin/true", cwd=tmp_path)
    assert r.returncode == 2
    assert list(tmp_path.iterdir()) == []


def test_build_json(tmp_path):
    r = run_sgxpy("build", "--json", "-o", tmp_path / "j.bundle", "--", "/bin/true")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert re.fullmatch(r"[0-9a-f]{64}", doc["measurement"])
    assert doc["root"] in [i["id"] for i in doc["images"]]


# ---- --version -------------------------------------------------------------

def test_version_names_landlock_abi_and_seccomp_features():
    r = run_sgxpy("--version")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert re.fullmatch(r"sgxpy \d+\.\d+\.\d+", lines[0])
    assert re.match(r"landlock: (ABI \d+|not available)", lines[1]), lines
    actions = Path("/proc/sys/kernel/seccomp/actions_avail").read_text().strip()
    assert f"seccomp: actions {actions}" in lines
    flags = [l for l in lines if l.startswith("seccomp: filter flags")]
    assert flags and "new_listener" in flags[0], "sgxpy run needs user notification"
    assert any(l.startswith("seccomp: libseccomp ") for l in lines)
    j = json.loads(run_sgxpy("--version", "--json").stdout)
    assert j["version"] == lines[0].split()[1]
    assert j["seccomp"]["actions"] == actions
    assert "new_listener" in j["seccomp"]["filter_flags"]
    assert (j["landlock"]["abi"] > 0) == lines[1].startswith("landlock: ABI ")


# ---- colour ----------------------------------------------------------------

def run_on_tty(args, env):
    """Run SGXPY ARGS with stdout and stderr on a pseudo-terminal; return output."""
    master, slave = pty.openpty()
    p = subprocess.Popen([SGXPY, *map(str, args)], stdin=subprocess.DEVNULL, stdout=slave,
                         stderr=slave, env=env)
    os.close(slave)
    out = b""
    while True:
        r, _, _ = select.select([master], [], [], 60)
        if not r:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    p.wait(timeout=60)
    return p.returncode, out.decode()


@pytest.fixture(scope="module")
def two_bundles(tmp_path_factory):
    """Two bundles that differ: /bin/true, then /bin/sh -c true."""
    d = tmp_path_factory.mktemp("two")
    assert run_sgxpy("build", "-o", d / "a.bundle", "--", "/bin/true").returncode == 0
    (d / "conf").write_text("x\n")
    assert run_sgxpy("build", "-o", d / "b.bundle", "--", "/bin/cat", d / "conf").returncode == 0
    return d / "a.bundle", d / "b.bundle"


def test_colour_on_a_tty_only(two_bundles):
    a, b = two_bundles
    env = clean_env(TERM="xterm")
    env.pop("NO_COLOR", None)
    rc, out = run_on_tty(["diff", a, b], env)
    assert rc == 1 and SGR.search(out), out
    piped = run_sgxpy("diff", a, b, env=env)
    assert piped.returncode == 1 and ESC not in piped.stdout + piped.stderr


def test_no_color_is_honoured(two_bundles):
    a, b = two_bundles
    rc, out = run_on_tty(["diff", a, b], clean_env(TERM="xterm", NO_COLOR="1"))
    assert rc == 1 and not SGR.search(out) and "image" in out


def test_build_hint_and_progress_on_a_tty_only(tmp_path, built):
    _, piped = built
    assert "\r" not in piped.stderr and "Run it with" not in piped.stderr
    assert piped.stderr == ""
    env = clean_env(TERM="xterm", NO_COLOR="1")
    rc, out = run_on_tty(["build", "-o", tmp_path / "t.bundle", "--", "/bin/true"], env)
    assert rc == 0, out
    assert f"sgxpy run {tmp_path}/t.bundle -- /bin/true" in out
    assert not SGR.search(out), "NO_COLOR: progress may clear its line, but no colour"


# ---- install, man pages, completion ----------------------------------------

COMMANDS = ["build", "trace", "show", "manifest", "verify", "keygen", "sign", "run", "diff",
            "explain"]


def test_every_command_is_listed_and_has_help():
    r = run_sgxpy("--help")
    listed = re.findall(r"^  (\w+) ", r.stdout, re.M)
    assert sorted(listed) == sorted(COMMANDS)
    for c in COMMANDS:
        h = run_sgxpy(c, "--help")
        assert h.returncode == 0 and h.stdout.startswith(f"usage: sgxpy {c}"), c


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """`make install PREFIX=<tmp>` of the binary under test, as on a fresh machine."""
    prefix = tmp_path_factory.mktemp("prefix")
    bdir = Path(SGXPY).resolve().parent
    r = subprocess.run(["make", "-s", "-C", str(REPO), f"B={os.path.relpath(bdir, REPO)}",
                        "install", f"PREFIX={prefix}"], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return prefix, bdir


def test_install_puts_binary_man_pages_and_completion(installed):
    prefix, bdir = installed
    binary = prefix / "bin" / "sgxpy"
    assert os.access(binary, os.X_OK)
    assert binary.read_bytes() == (bdir / "sgxpy").read_bytes()
    r = subprocess.run([str(binary), "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("sgxpy ")
    pages = sorted(p.name for p in (prefix / "share" / "man" / "man1").iterdir())
    assert pages == sorted(["sgxpy.1"] + [f"sgxpy-{c}.1" for c in COMMANDS])
    assert (prefix / "share" / "bash-completion" / "completions" / "sgxpy").is_file()


def test_man_pages_render_without_warnings(installed):
    prefix, _ = installed
    version = run_sgxpy("--version").stdout.split()[1]
    env = dict(os.environ, MANWIDTH="80")
    for page in (prefix / "share" / "man" / "man1").iterdir():
        r = subprocess.run(["man", "--warnings", "-l", str(page)], capture_output=True,
                           text=True, env=env, timeout=60)
        assert r.returncode == 0, (page, r.stderr)
        assert r.stderr == "", (page, r.stderr)
        text = re.sub(r".\x08", "", r.stdout)  # overstrike bold/underline
        assert "NAME" in text and "EXIT STATUS" in text, page
        assert page.name[:-2] in text and version in text, page
        assert "@VERSION@" not in text


def test_man_finds_the_installed_pages(installed):
    prefix, _ = installed
    env = dict(os.environ, MANPATH=str(prefix / "share" / "man"))
    for c in ["sgxpy", "sgxpy-build", "sgxpy-explain"]:
        r = subprocess.run(["man", "-w", c], capture_output=True, text=True, env=env)
        assert r.returncode == 0 and r.stdout.strip().startswith(str(prefix)), (c, r.stderr)


def complete(prefix, line):
    """What the installed completion offers for `line` (cursor at its end)."""
    comp = prefix / "share" / "bash-completion" / "completions" / "sgxpy"
    script = f"""
source {comp}
COMP_LINE='{line}'
read -ra COMP_WORDS <<< "$COMP_LINE"
[[ $COMP_LINE == *' ' ]] && COMP_WORDS+=('')
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
_sgxpy
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    r = subprocess.run(["bash", "--norc", "-c", script], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_bash_completion(installed):
    prefix, _ = installed
    assert sorted(complete(prefix, "sgxpy ")) == sorted(COMMANDS + ["--help", "--version"])
    assert complete(prefix, "sgxpy ex") == ["explain"]
    assert "--from-log" in complete(prefix, "sgxpy manifest --f")
    assert complete(prefix, "sgxpy keygen --type ") == ["rsa3072", "ed25519"]


def test_uninstall_removes_everything(installed, tmp_path):
    prefix = tmp_path / "p"
    bdir = Path(SGXPY).resolve().parent
    mk = ["make", "-s", "-C", str(REPO), f"B={os.path.relpath(bdir, REPO)}", f"PREFIX={prefix}"]
    assert subprocess.run(mk + ["install"], capture_output=True, timeout=600).returncode == 0
    assert subprocess.run(mk + ["uninstall"], capture_output=True, timeout=600).returncode == 0
    assert [p for p in prefix.rglob("*") if p.is_file()] == []


def test_readme_quick_start_is_these_two_lines_and_they_work(tmp_path):
    """The README's quick start is `sgxpy build` then `sgxpy run` on the
    bundled example; run exactly those lines (from a copy of the repo's
    examples/, so nothing is written into the tree)."""
    readme = (REPO / "README.md").read_text()
    block = readme.split("## Quick start", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    lines = block.strip().splitlines()
    assert lines == [
        "sgxpy build -o hello.bundle -- /usr/bin/python3 examples/hello/app.py",
        "sgxpy run hello.bundle -- /usr/bin/python3 examples/hello/app.py",
    ]
    shutil.copytree(HELLO, tmp_path / "examples" / "hello")
    outs = []
    for line in lines:
        r = run_sgxpy(*line.split()[1:], cwd=tmp_path)
        assert r.returncode == 0, (line, r.stderr)
        outs.append(r.stdout)
    native = subprocess.run([PYTHON, "examples/hello/app.py"], cwd=tmp_path, env=clean_env(),
                            capture_output=True, text=True, check=True).stdout
    assert outs[0].startswith(native) and outs[1] == native
    assert (tmp_path / "hello.bundle" / "bundle.json").is_file()
