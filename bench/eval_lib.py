"""Shared helpers of sgxpy's evaluation scripts (bench/eval_*.py) and of the CI
slice (tests/e2e/test_eval_*.py).  No side effects on import.

    SGXPY     the binary under test (env SGXPY, default <repo>/build/sgxpy)
    PY        /usr/bin/python3 (Debian's; pyenv shims come first on dev PATHs)
    env()     a clean environment: plain PATH, no PYTHON*/PYENV*/LD_* (OPENBLAS_* kept)
    junit()   outcomes per test id from a pytest junit XML file
    subpackage()  numpy subpackage of a test id ("core", "linalg", ...)
    violations()  denials from a `sgxpy run --log` JSON-lines file
    widen_stats()   what `manifest --widen-package --stats` widened, per package
"""
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SGXPY = os.environ.get("SGXPY", str(REPO / "build" / "sgxpy"))
PY = "/usr/bin/python3"
PLAIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NUMPY_DIR = "/usr/lib/python3/dist-packages/numpy"


def env(**extra):
    e = {k: v for k, v in os.environ.items()
         if not k.startswith(("PYTHON", "PYENV", "LD_"))}
    e["PATH"] = PLAIN_PATH
    e.update({k: str(v) for k, v in extra.items()})
    return e


def timed(cmd, *, cwd=None, env_=None, stdout=None, stderr=None, timeout=None, check=False):
    """Run cmd (list); return (CompletedProcess, wall seconds).

    The timeout is a timer that kills the process, not subprocess.run(timeout=):
    Popen.wait(timeout) polls with sleeps of up to 50 ms, which quantised every
    short timing (a 72 ms `import numpy` measured 114 ms, native and run alike)."""
    argv = [str(c) for c in cmd]
    t = time.perf_counter()
    p = subprocess.Popen(argv, cwd=cwd, env=env_ or env(), stdout=stdout, stderr=stderr)
    timer = threading.Timer(timeout, p.kill) if timeout else None
    if timer:
        timer.start()
    try:
        p.wait()
    finally:
        if timer:
            timer.cancel()
    wall = time.perf_counter() - t
    if timer and p.returncode == -signal.SIGKILL and wall >= timeout:
        raise subprocess.TimeoutExpired(argv, timeout)
    r = subprocess.CompletedProcess(argv, p.returncode)
    if check:
        r.check_returncode()
    return r, wall


# -- pytest junit XML --------------------------------------------------------

def _cls(c):
    """junit classnames are relative to pytest's rootdir: make them start with numpy."""
    return c if c.startswith("numpy.") or not c else "numpy." + c


def junit(path):
    """{test id: outcome} with outcome in passed/failed/error/skipped/xfail.
    The id is "classname::name" (classname is dotted: numpy.core.tests.test_x.TestY)."""
    out = {}
    root = ET.parse(path).getroot()
    for tc in root.iter("testcase"):
        tid = "%s::%s" % (_cls(tc.get("classname", "")), tc.get("name", ""))
        kinds = [c.tag for c in tc]
        if "failure" in kinds:
            o = "failed"
        elif "error" in kinds:
            o = "error"
        elif "skipped" in kinds:
            sk = tc.find("skipped")
            o = "xfail" if sk is not None and (sk.get("type") == "pytest.xfail") else "skipped"
        else:
            o = "passed"
        # Parametrised ids may repeat after junit's name mangling: keep the worst.
        if tid in out and out[tid] != "passed":
            continue
        out[tid] = o
    return out


def junit_messages(path, ids):
    """{test id: first 600 chars of the failure/error/skip text} for the given ids."""
    ids = set(ids)
    out = {}
    for tc in ET.parse(path).getroot().iter("testcase"):
        tid = "%s::%s" % (_cls(tc.get("classname", "")), tc.get("name", ""))
        if tid in ids:
            for c in tc:
                if c.tag in ("failure", "error", "skipped"):
                    out[tid] = (c.tag + ": " + (c.get("message") or "") + "\n"
                                + (c.text or ""))[:600]
    return out


def subpackage(tid):
    """numpy.core.tests.test_x.TestY::test_z -> "core"; numpy.tests.test_x -> "(top)"."""
    parts = tid.split("::")[0].split(".")
    if len(parts) >= 2 and parts[0] == "numpy":
        return "(top)" if parts[1] == "tests" else parts[1]
    return "(other)"


def test_module(tid):
    """Dotted test module of a junit id: numpy.core.tests.test_x."""
    parts = tid.split("::")[0].split(".")
    for i, p in enumerate(parts):
        if p.startswith("test_") or p == "test":
            return ".".join(parts[:i + 1])
    return ".".join(parts)


def numpy_test_modules():
    """Every numpy test module installed (dotted names), sorted."""
    mods = []
    for p in sorted(Path(NUMPY_DIR).rglob("test_*.py")):
        rel = p.relative_to(Path(NUMPY_DIR).parent)
        if "tests" in rel.parts:
            mods.append(".".join(rel.with_suffix("").parts))
    return mods


# -- sgxpy run logs ----------------------------------------------------------

def log_events(log):
    """The JSON objects of a `sgxpy run --log` file, one per line (none if it is
    missing; lines that are not JSON are skipped)."""
    if not Path(log).exists():
        return
    for line in Path(log).read_text(errors="replace").splitlines():
        try:
            yield json.loads(line)
        except ValueError:
            continue


def violations(log):
    """Counter of (image, op, path, reason, action) over the violation events of a
    `sgxpy run --log` file."""
    return Counter((e.get("image"), e.get("op"), e.get("path"), e.get("reason"), e.get("action"))
                   for e in log_events(log) if e.get("event") == "violation")


def count_events(log, kind):
    """How many events of kind a `sgxpy run --log` file holds."""
    return sum(1 for e in log_events(log) if e.get("event") == kind)


def bundle_stats(bundle):
    """{images, trusted (sum over images), trusted_unique, trusted_mib} of a bundle."""
    bundle = Path(bundle)
    idx = json.loads((bundle / "bundle.json").read_text())
    total, uniq, size = 0, {}, 0
    for mid in idx["images"]:
        m = json.loads((bundle / "manifests" / f"{mid}.json").read_text())
        total += len(m["trusted"])
        for t in m["trusted"]:
            uniq[t["path"]] = t["size"]
    return {"images": len(idx["images"]), "trusted": total, "trusted_unique": len(uniq),
            "trusted_mib": round(sum(uniq.values()) / 2**20, 1)}


# -- package widening (`sgxpy manifest --widen-package`) ----------------------

_WIDEN_LINE = re.compile(r"--widen-package (\S+): (\d+) files? trusted in (\d+) images?, "
                         r"(\d+) of them beyond the trace")


def widen_stats(stderr):
    """What `sgxpy manifest --widen-package ... --stats` says it widened:
    {package: {"files": trusted files of it, counted per image, "images": n,
    "added": files only the option trusts}}."""
    return {m.group(1): {"files": int(m.group(2)), "images": int(m.group(3)),
                         "added": int(m.group(4))}
            for m in _WIDEN_LINE.finditer(stderr)}


# -- servers -----------------------------------------------------------------

def free_port():
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port, path="/", timeout=30.0):
    """Wait until http://127.0.0.1:PORT/PATH answers; True if it did."""
    import http.client
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", path)
            c.getresponse().read()
            c.close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def get(port, path, timeout=10):
    """(status, body bytes) of GET http://127.0.0.1:PORT/PATH."""
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def machine():
    """One line about the host."""
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = Path("/proc/meminfo").read_text().split("\n")[0].split()[1]
    osr = ""
    if Path("/etc/debian_version").exists():
        osr = "Debian " + Path("/etc/debian_version").read_text().strip()
    import numpy  # noqa: the version under test
    return {"cpu": cpu, "cpus": os.cpu_count(), "mem_gib": round(int(mem) / 2**20, 1),
            "kernel": os.uname().release, "os": osr,
            "python": subprocess.run([PY, "-V"], capture_output=True, text=True).stdout.strip(),
            "numpy": numpy.__version__,
            "load": Path("/proc/loadavg").read_text().split()[:3]}


def git_rev():
    """The sgxpy source revision: EVAL_SGXPY_REV if set (a binary built elsewhere),
    else the repository's HEAD."""
    if os.environ.get("EVAL_SGXPY_REV"):
        return os.environ["EVAL_SGXPY_REV"]
    r = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                       capture_output=True, text=True)
    return r.stdout.strip() or "?"


def sgxpy_label():
    return SGXPY


def strip_ansi(s):
    return re.sub(r"\x1b\[[0-9;]*m", "", s)


# -- paired timing -----------------------------------------------------------

def paired(cmds, n, *, cwd=None, env_=None, before=None, timeout=900):
    """Time every command of `cmds` ({label: argv}) n times, interleaved (one of
    each per round, the order rotating), as bench/run_pair.py does for two.
    before(label) runs before each command (untimed), e.g. to empty an output dir.
    Returns {label: {"median": s, "runs": [s...], "ratio": median of per-round
    ratios to the first label}}."""
    import statistics
    labels = list(cmds)
    times = {k: [] for k in labels}
    for i in range(n):
        order = labels[i % len(labels):] + labels[:i % len(labels)]
        for k in order:
            if before:
                before(k)
            r, t = timed(cmds[k], cwd=cwd, env_=env_, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, timeout=timeout)
            if r.returncode != 0:
                raise RuntimeError(f"{k}: exit {r.returncode}: {cmds[k]}")
            times[k].append(t)
    base = times[labels[0]]
    return {k: {"median": statistics.median(v), "runs": v,
                "ratio": statistics.median(b / a for a, b in zip(base, v))}
            for k, v in times.items()}
