#!/usr/bin/python3
"""The multiprocess pipeline (eval/pipeline), native vs `sgxpy run` (docs/evaluation.md).

    bench/eval_pipeline.py [--n 5] [--out DIR]

1. Traces eval/pipeline/pipeline.py (multiprocessing fork Pool and spawn child,
   a shell pipeline of sh/tr/sort/uniq/head, a second interpreter stage2.py) and
   makes the bundle (one manifest per image).
2. Same output: stdout and result.json, native vs run.
3. Least privilege per image: with PIPELINE_PROBE=<the parent's config.json>, every
   child tries to open a file that only the parent's image lists: natively all
   succeed; under run the fork workers (same image as the parent) succeed and the
   spawn child, stage2.py and the shell's head are refused, each with a denial.
4. Wall time, N paired rounds: native, sgxpy trace, sgxpy run, strace -f.
Writes DIR/pipeline.json.
"""
import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval_lib as L  # noqa: E402

SRC = L.REPO / "eval" / "pipeline"


def setup(w):
    """Copy the app into w/app, make w/out; return (app dir, out dir, argv)."""
    app = w / "app"
    shutil.rmtree(app, ignore_errors=True)
    shutil.copytree(SRC, app, ignore=shutil.ignore_patterns("__pycache__"))
    out = w / "out"
    out.mkdir(exist_ok=True)
    return app, out, [L.PY, str(app / "pipeline.py"), str(out)]


def empty(d):
    for p in d.iterdir():
        p.unlink()


def go(prefix, cmd, out, cwd, **extra):
    empty(out)
    r = subprocess.run([*map(str, prefix), *cmd], capture_output=True, text=True, cwd=cwd,
                       env=L.env(**extra), timeout=300)
    result = (out / "result.json").read_text() if (out / "result.json").exists() else None
    return r, result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=5)
    ap.add_argument("--out", default=str(L.REPO / "build" / "eval"))
    a = ap.parse_args()
    res_dir = Path(a.out).resolve()
    w = res_dir / "pipeline"
    w.mkdir(parents=True, exist_ok=True)
    app, out, cmd = setup(w)
    print("== pipeline: trace, manifest", flush=True)
    trace = w / "p.trace"
    trace.unlink(missing_ok=True)
    r, _ = go([L.SGXPY, "trace", "-o", trace, "--"], cmd, out, w)
    assert r.returncode == 0, r.stderr
    bundle = w / "p.bundle"
    subprocess.run([L.SGXPY, "manifest", "-o", str(bundle), str(trace)], check=True,
                   capture_output=True)
    show = subprocess.run([L.SGXPY, "show", str(bundle)], capture_output=True, text=True).stdout

    nat, nat_res = go([], cmd, out, w)
    log = w / "run.jsonl"
    log.unlink(missing_ok=True)
    run, run_res = go([L.SGXPY, "run", "--log", log, bundle, "--"], cmd, out, w)
    same = (nat.returncode == run.returncode == 0 and nat.stdout == run.stdout
            and nat_res == run_res and run.stderr == "")
    print(f"   same output native vs run: {same}", flush=True)

    probe = str(app / "config.json")
    pnat, _ = go([], cmd, out, w, PIPELINE_PROBE=probe)
    plog = w / "probe.jsonl"
    plog.unlink(missing_ok=True)
    prun, _ = go([L.SGXPY, "run", "--log", plog, bundle, "--"], cmd, out, w, PIPELINE_PROBE=probe)
    probes = {"native": sorted(l for l in pnat.stderr.splitlines() if l.startswith("probe ")),
              "run": sorted(l for l in prun.stderr.splitlines() if l.startswith("probe ")),
              "run_exit": prun.returncode,
              "denials": [list(k) + [n] for k, n in L.violations(plog).most_common()]}
    print("   probes under run: " + "; ".join(probes["run"]), flush=True)

    print(f"== pipeline: {a.n} paired rounds native / trace / run / strace -f", flush=True)
    t = L.paired({"native": cmd,
                  "trace": [L.SGXPY, "trace", "-o", str(w / "t2.trace"), "--", *cmd],
                  "run": [L.SGXPY, "run", str(bundle), "--", *cmd],
                  "strace": ["strace", "-f", "-qq", "-o", "/dev/null", "--", *cmd]},
                 a.n, cwd=w, before=lambda _: empty(out))
    for k, v in t.items():
        print(f"   {k}: median {v['median'] * 1e3:.0f} ms, ratio {v['ratio']:.3f}", flush=True)
    res = {"command": "/usr/bin/python3 eval/pipeline/pipeline.py OUTDIR", "same_output": same,
           "stdout_native": nat.stdout, "stdout_run": run.stdout, "stderr_run": run.stderr,
           "exit": {"native": nat.returncode, "run": run.returncode}, "probes": probes,
           "show": show, "bundle": L.bundle_stats(bundle), "timing": t,
           "run_violations": [list(k) + [n] for k, n in L.violations(log).most_common()]}
    (res_dir / "pipeline.json").write_text(json.dumps(res, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
