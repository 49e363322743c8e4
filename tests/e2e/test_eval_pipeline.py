"""Evaluation slice (docs/evaluation.md): the multiprocess pipeline eval/pipeline
(multiprocessing fork + spawn, a shell pipeline, a second interpreter) gives the
same output natively and under `sgxpy run`, and each child is held to its own
image's manifest: a child cannot open a file that only its parent's image lists."""
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import eval_lib as L  # noqa: E402
from conftest import SGXPY, run_sgxpy  # noqa: E402

SRC = Path(__file__).resolve().parents[2] / "eval" / "pipeline"


def make_app(tmp_path):
    app = tmp_path.resolve() / "app"
    shutil.copytree(SRC, app, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path.resolve() / "out"
    out.mkdir()
    return app, out, [L.PY, str(app / "pipeline.py"), str(out)]


def go(prefix, cmd, out, cwd, **extra):
    for p in out.iterdir():
        p.unlink()
    r = subprocess.run([*map(str, prefix), *cmd], capture_output=True, text=True, cwd=cwd,
                       env=L.env(**extra), timeout=300)
    res = (out / "result.json").read_text() if (out / "result.json").exists() else None
    return r, res


def bundle_for(tmp_path, cmd, out):
    trace = tmp_path / "p.trace"
    r, _ = go([SGXPY, "trace", "-o", trace, "--"], cmd, out, tmp_path)
    assert r.returncode == 0, r.stderr
    b = tmp_path / "p.bundle"
    m = run_sgxpy("manifest", "-o", b, trace)
    assert m.returncode == 0, m.stderr
    return b


def test_pipeline_same_output(tmp_path):
    app, out, cmd = make_app(tmp_path)
    bundle = bundle_for(tmp_path, cmd, out)
    nat, nres = go([], cmd, out, tmp_path)
    run, rres = go([SGXPY, "run", bundle, "--"], cmd, out, tmp_path)
    assert nat.returncode == 0, nat.stderr
    assert run.returncode == 0, run.stderr
    assert run.stdout == nat.stdout and "pipeline: 400 lines" in run.stdout
    assert rres == nres and rres is not None
    assert run.stderr == ""
    # one image per program/script: the parent, spawn's child, multiprocessing's
    # resource tracker, stage2.py, the shell and each of tr/sort/uniq/head
    show = run_sgxpy("show", bundle).stdout
    for name in ("pipeline.py", "stage2.py", "spawn_main", "/usr/bin/dash", "/usr/bin/sort",
                 "/usr/bin/head"):
        assert name in show, show


def test_child_cannot_open_parent_only_file(tmp_path):
    app, out, cmd = make_app(tmp_path)
    bundle = bundle_for(tmp_path, cmd, out)
    secret = str(app / "config.json")  # read by pipeline.py's image only
    nat, _ = go([], cmd, out, tmp_path, PIPELINE_PROBE=secret)
    assert nat.returncode == 0, nat.stderr
    probes = sorted(l for l in nat.stderr.splitlines() if l.startswith("probe "))
    assert probes == ["probe fork-worker: ok", "probe shell-head: ok",
                      "probe spawn-child: ok", "probe stage2: ok"]
    log = tmp_path / "run.jsonl"
    run, _ = go([SGXPY, "run", "--log", log, bundle, "--"], cmd, out, tmp_path,
                PIPELINE_PROBE=secret)
    assert run.returncode == 0, run.stderr
    assert run.stdout == nat.stdout  # the app itself is unaffected
    probes = sorted(l for l in run.stderr.splitlines() if l.startswith("probe "))
    # fork workers run the parent's own image: allowed; every exec'd child has
    # its own manifest, which does not list the parent's config
    assert probes == ["probe fork-worker: ok", "probe shell-head: denied",
                      "probe spawn-child: Permission denied", "probe stage2: Permission denied"]
    denied = {(k[0].rsplit("-", 1)[0], k[2], k[3]) for k in L.violations(log)}
    for image in ("python3.11-stage2.py", "python3.11-c", "head"):
        assert (image, secret, "not in manifest") in denied, denied
    assert not any(d[0] == "python3.11-pipeline.py" for d in denied), denied
    lines = [l for l in run.stderr.splitlines() if l.startswith("sgxpy: denied: ")]
    assert any("(python3 stage2.py) open " + secret + ": not in manifest" in l for l in lines), lines
