#!/usr/bin/python3
"""NumPy's own test suite, native / traced / under `sgxpy run` (docs/evaluation.md).

    bench/eval_numpy.py suite [--targets numpy] [--out DIR]
        pytest --pyargs TARGETS -m "not slow" -p no:cacheprovider (junit XML) four ways:
        native; under `sgxpy trace`; under `sgxpy run` with the bundle made from that
        trace; and under run with a bundle made with `--allow-built-code` (the opt-in
        for tests that compile and import C extensions).  Writes DIR/numpy_suite.json
        (+ junit XML, run logs, stderr).
    bench/eval_numpy.py split [--out DIR]
        Generalisation: trace half of the test modules (every other one, sorted),
        run the other half under that bundle: as is, with the other half's test
        files trusted (the app's own code), and with the numpy package, then
        every imported package, widened (`sgxpy manifest --widen-package numpy`,
        `--widen-package '*'`).  Needs DIR/numpy_native.xml from `suite`.  Writes
        DIR/numpy_split.json.

Every mode gets the same fresh TMPDIR (DIR/numpy/tmp) and cwd (DIR/numpy/cwd), so
pytest's tmp_path and hypothesis' home land in a temp dir the trace saw created.
"""
import argparse
import json
import shlex
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval_lib as L  # noqa: E402

PYTEST = ["-m", "pytest", "-m", "not slow", "-p", "no:cacheprovider", "-q", "-rN", "--no-header",
          "--rootdir=/usr/lib/python3/dist-packages"]  # junit classnames start with numpy.


def pytest_cmd(targets, junit, extra=()):
    return [L.PY, *PYTEST, *extra, f"--junitxml={junit}", "--pyargs", *targets]


class Work:
    def __init__(self, out):
        self.out = Path(out).resolve()
        self.w = self.out / "numpy"
        self.cwd = self.w / "cwd"
        self.tmp = self.w / "tmp"
        self.cwd.mkdir(parents=True, exist_ok=True)

    def fresh_tmp(self):
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp.mkdir(parents=True)

    def go(self, label, prefix, targets, timeout=5400, extra=()):
        """Run pytest on targets behind `prefix` (sgxpy trace/run args, or []).
        Returns (outcomes, wall seconds, exit status)."""
        self.fresh_tmp()
        junit = self.tmp / "junit.xml"
        cmd = [*prefix, *pytest_cmd(targets, junit, extra)]
        with open(self.out / f"numpy_{label}.stdout", "w") as so, \
                open(self.out / f"numpy_{label}.stderr", "w") as se:
            r, wall = L.timed(cmd, cwd=self.cwd, env_=L.env(TMPDIR=self.tmp), stdout=so,
                              stderr=se, timeout=timeout)
        dest = self.out / f"numpy_{label}.xml"
        if junit.exists():
            shutil.copy(junit, dest)
            res = L.junit(dest)
        else:
            res = {}
        print(f"   {label}: exit {r.returncode}, {wall:.1f} s, "
              f"{sum(1 for o in res.values() if o == 'passed')} passed of {len(res)}", flush=True)
        return res, wall, r.returncode

    def manifest(self, name, traces, *opts):
        return self.manifest_stderr(name, traces, *opts)[0]

    def manifest_stderr(self, name, traces, *opts):
        b = self.w / f"{name}.bundle"
        r = L.subprocess.run([L.SGXPY, "manifest", "-o", str(b), *opts, *map(str, traces)],
                             capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"manifest {name} failed: {r.returncode}\n{r.stderr}")
        return b, r.stderr

    def manifest_widened(self, name, traces, package):
        """A bundle made with `--widen-package PACKAGE --stats`, and what the
        option widened (eval_lib.widen_stats)."""
        b, err = self.manifest_stderr(name, traces, "--widen-package", package, "--stats")
        return b, L.widen_stats(err)


def table(native, run):
    """Per subpackage: passed natively, of those passed under run, rate, plus the
    ids that passed natively and not under run."""
    rows = {}
    lost = []
    for tid, o in native.items():
        if o != "passed":
            continue
        sp = L.subpackage(tid)
        r = rows.setdefault(sp, {"native": 0, "run": 0, "total": 0})
        r["native"] += 1
        if run.get(tid) == "passed":
            r["run"] += 1
        else:
            lost.append(tid)
    for tid in native:
        rows.setdefault(L.subpackage(tid), {"native": 0, "run": 0, "total": 0})["total"] += 1
    return rows, sorted(lost)


def suite(a):
    w = Work(a.out)
    targets = a.targets.split(",")
    log = w.out / "numpy_run.log"
    log.unlink(missing_ok=True)
    trace = w.w / "suite.trace"
    print(f"== NumPy suite {targets}: native, trace, run", flush=True)
    native, t_nat, rc_nat = w.go("native", [], targets)
    traced, t_tr, rc_tr = w.go("trace", [L.SGXPY, "trace", "-o", trace], targets)
    bundle = w.manifest("suite", [trace])
    run, t_run, rc_run = w.go("run", [L.SGXPY, "run", "--log", log, bundle, "--"], targets)
    rows, lost = table(native, run)
    log_bc = w.out / "numpy_run_built_code.log"
    log_bc.unlink(missing_ok=True)
    bundle_bc = w.manifest("suite_built_code", [trace], "--allow-built-code")
    run_bc, t_bc, rc_bc = w.go("run_built_code", [L.SGXPY, "run", "--log", log_bc, bundle_bc, "--"],
                               targets)
    rows_bc, lost_bc = table(native, run_bc)
    _, lost_trace = table(native, traced)
    viol = L.violations(log)
    res = {
        "targets": targets, "command": shlex.join(pytest_cmd(targets, "JUNIT")),
        "wall": {"native": t_nat, "trace": t_tr, "run": t_run},
        "exit": {"native": rc_nat, "trace": rc_tr, "run": rc_run},
        "counts": {m: {o: sum(1 for x in d.values() if x == o)
                       for o in ("passed", "failed", "error", "skipped", "xfail")}
                   for m, d in (("native", native), ("trace", traced), ("run", run))},
        "subpackages": rows,
        "lost_under_run": lost,
        "lost_messages": L.junit_messages(w.out / "numpy_run.xml", lost) if lost else {},
        "lost_under_trace": lost_trace,
        "gained_under_run": sorted(t for t, o in run.items()
                                   if o == "passed" and native.get(t) != "passed"),
        "native_failed": sorted(t for t, o in native.items() if o in ("failed", "error")),
        "violations": [list(k) + [n] for k, n in viol.most_common(60)],
        "bundle": L.bundle_stats(bundle),
        "built_code": {
            "wall": t_bc, "exit": rc_bc, "subpackages": rows_bc, "lost_under_run": lost_bc,
            "lost_messages": (L.junit_messages(w.out / "numpy_run_built_code.xml", lost_bc)
                              if lost_bc else {}),
            "loads": L.count_events(log_bc, "built-code"),
            "violations": [list(k) + [n] for k, n in L.violations(log_bc).most_common(20)],
            "bundle": L.bundle_stats(bundle_bc),
        },
    }
    (w.out / "numpy_suite.json").write_text(json.dumps(res, indent=1, sort_keys=True))
    print(f"   passed natively {sum(r['native'] for r in rows.values())}, under run "
          f"{sum(r['run'] for r in rows.values())}, with --allow-built-code "
          f"{sum(r['run'] for r in rows_bc.values())}; run/native wall {t_run / t_nat:.3f}")


def split(a):
    w = Work(a.out)
    native = L.junit(w.out / "numpy_native.xml")
    mods = sorted({L.test_module(t) for t in native})
    half_a, half_b = mods[0::2], mods[1::2]
    print(f"== generalisation: trace {len(half_a)} test modules, run the other {len(half_b)}",
          flush=True)
    trace = w.w / "half_a.trace"
    if not (a.reuse_trace and trace.exists()):
        w.go("split_trace_a", [L.SGXPY, "trace", "-o", trace], half_a)
    b_files = []
    for m in half_b:
        p = Path(L.NUMPY_DIR).parent / (m.replace(".", "/") + ".py")
        b_files.append(str(p))
    variants = [
        ("plain", w.manifest("half_a", [trace]), []),
        ("trust_b_tests", w.manifest("half_a_trust", [trace], *sum(
            (["--trust", f] for f in b_files), [])), []),
    ]
    wid, widened = w.manifest_widened("half_a_widen", [trace], "numpy")
    variants.append(("widen_numpy", wid, []))
    # every package the traced images imported (site and stdlib packages)
    wall, widened_all = w.manifest_widened("half_a_widen_all", [trace], "*")
    variants.append(("widen_all", wall, []))
    native_b = {t: o for t, o in native.items() if L.test_module(t) in set(half_b)}
    res = {"modules_a": half_a, "modules_b": half_b, "native_b_passed":
           sum(1 for o in native_b.values() if o == "passed"), "variants": {},
           "widen_added": sum(v["added"] for v in widened.values()),
           "widen_all_added": sum(v["added"] for v in widened_all.values()),
           "widen_all_packages": sorted(widened_all)}
    for name, bundle, _ in variants:
        log = w.out / f"numpy_split_{name}.log"
        log.unlink(missing_ok=True)
        # A module that cannot be imported must not stop the others.
        run, t_run, rc = w.go(f"split_run_{name}", [L.SGXPY, "run", "--log", log, bundle, "--"],
                              half_b, extra=["--continue-on-collection-errors"])
        rows, lost = table(native_b, run)
        viol = L.violations(log)
        res["variants"][name] = {
            "bundle": L.bundle_stats(bundle), "wall": t_run, "exit": rc,
            "passed_run": sum(r["run"] for r in rows.values()),
            "subpackages": rows, "lost": lost[:200], "lost_count": len(lost),
            "violations": [list(k) + [n] for k, n in viol.most_common(40)],
            "violation_paths": len({k[2] for k in viol}),
        }
        v = res["variants"][name]
        print(f"   {name}: {v['passed_run']} / {res['native_b_passed']} passed, "
              f"trusted {v['bundle']['trusted_unique']} files", flush=True)
    (w.out / "numpy_split.json").write_text(json.dumps(res, indent=1, sort_keys=True))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["suite", "split"])
    ap.add_argument("--targets", default="numpy")
    ap.add_argument("--reuse-trace", action="store_true",
                    help="split: keep an existing trace of half A")
    ap.add_argument("--out", default=str(L.REPO / "build" / "eval"))
    a = ap.parse_args()
    Path(a.out).mkdir(parents=True, exist_ok=True)
    {"suite": suite, "split": split}[a.what](a)


if __name__ == "__main__":
    main()
