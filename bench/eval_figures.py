#!/usr/bin/python3
"""The `sgxpy run` issue's figures, paired and interleaved (docs/evaluation.md):

    bench/eval_figures.py [--n 15] [--n-tests 5] [--out DIR]

1. /usr/bin/python3 -c "import numpy": native, sgxpy trace, sgxpy run, strace -f,
   N rounds (target run/native <= 1.20).  Every `sgxpy run` verifies every hash
   again (the verdict cache lives as long as one run): the hash count of one run
   is read from its --log "end" event and reported.
2. numpy.linalg + numpy.fft test modules (pytest --pyargs, -m "not slow"), the
   same four ways, N_TESTS rounds (target run/native <= 1.15).
The gunicorn ratio (target >= 90%) comes from bench/eval_web.py.  The pairing is
bench/run_pair.py's (median of per-round ratios), extended to four commands.
Writes DIR/figures.json.
"""
import argparse
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval_lib as L  # noqa: E402
from eval_numpy import pytest_cmd  # noqa: E402


def four(w, name, cmd, n, env_, cwd):
    trace = w / f"{name}.trace"
    subprocess.run([L.SGXPY, "trace", "-o", str(trace), "--", *cmd], env=env_, cwd=cwd,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    bundle = w / f"{name}.bundle"
    subprocess.run([L.SGXPY, "manifest", "-o", str(bundle), str(trace)], check=True,
                   capture_output=True)
    log = w / f"{name}.jsonl"
    log.unlink(missing_ok=True)
    r = subprocess.run([L.SGXPY, "run", "--log", str(log), str(bundle), "--", *cmd], env=env_,
                       cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = [e for e in L.log_events(log) if e.get("event") == "end"]
    hashed = end[-1]["detail"] if end else "?"
    t = L.paired({"native": cmd,
                  "trace": [L.SGXPY, "trace", "-o", str(w / f"{name}.t2.trace"), "--", *cmd],
                  "run": [L.SGXPY, "run", str(bundle), "--", *cmd],
                  "strace": ["strace", "-f", "-qq", "-o", "/dev/null", "--", *cmd]},
                 n, cwd=cwd, env_=env_)
    for k, v in t.items():
        print(f"   {k}: median {v['median'] * 1e3:.0f} ms, ratio {v['ratio']:.3f}", flush=True)
    return {"command": shlex.join(cmd), "rounds": n, "timing": t, "run_exit": r.returncode,
            "run_end": hashed, "bundle": L.bundle_stats(bundle)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=15)
    ap.add_argument("--n-tests", type=int, default=5)
    ap.add_argument("--out", default=str(L.REPO / "build" / "eval"))
    a = ap.parse_args()
    res_dir = Path(a.out).resolve()
    w = res_dir / "figures"
    shutil.rmtree(w, ignore_errors=True)
    w.mkdir(parents=True)
    res = {}
    print(f"== import numpy: {a.n} rounds native / trace / run / strace -f", flush=True)
    res["import_numpy"] = four(w, "import", [L.PY, "-c", "import numpy"], a.n, L.env(), w)
    print(f"   (one run: {res['import_numpy']['run_end']})")
    tmp = w / "tmp"
    tmp.mkdir()
    print(f"== numpy.linalg + numpy.fft tests: {a.n_tests} rounds", flush=True)
    cmd = pytest_cmd(["numpy.linalg", "numpy.fft"], tmp / "junit.xml")
    res["linalg_fft_tests"] = four(w, "tests", cmd, a.n_tests, L.env(TMPDIR=tmp), w)
    m = re.search(r"(\d+) files hashed", res["import_numpy"]["run_end"])
    res["import_numpy"]["files_hashed"] = int(m.group(1)) if m else None
    (res_dir / "figures.json").write_text(json.dumps(res, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
