#!/usr/bin/python3
"""Write docs/evaluation.md and docs/evaluation.png from the JSON results of
bench/eval_*.py (bench/evaluate.sh runs everything and then this).

    bench/eval_report.py [--results DIR] [--command "bench/evaluate.sh"]

Sections whose results are missing say so.  The chart is drawn with gnuplot
(Debian gnuplot-nox).  Failure explanations come from KNOWN below (what each
cause is and whether it is an sgxpy bug or a limit, found with `sgxpy run --log`
and `--audit`); a failure that matches none is listed as unexplained.
"""
import argparse
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval_lib as L  # noqa: E402

DOCS = L.REPO / "docs"
PAPER_RATE = 97.60

# (regex on a test id or on a denied path, cause).  Found with --log/--audit; see
# the "Open failures" section for the reproductions.
# (short label, kind, text); kind "limit" = by design, "bug" = open sgxpy failure.
CAUSES = {
    "built": ("limit: code built during the run", "limit",
              "The test builds a C extension during the run (f2py + cc, or "
              "numpy.testing.extbuild, in a temp dir) and imports it. Code written "
              "during the run cannot be in a manifest made beforehand: the library's "
              "executable mapping is refused (`mmap ...so: not in manifest`, the loader "
              "says \"failed to map segment\"), and so is the Python code the build writes "
              "and runs (`setup.py: code under an allowed path`; numpy.distutils' probe for "
              "a C compiler runs one, so the f2py tests skip with \"No C compiler "
              "available\"). By design: an app that needs this must build its extensions "
              "ahead of time and trace them, or opt in with `--allow-built-code`."),
    "enxio": ("open failure 1", "bug",
              "An open that fails natively with ENXIO (`bash -c` writing to `/dev/tty` "
              "without a controlling terminal) is refused under run with EACCES and a "
              "denial line. Harmless to the tests."),
    "enotdir": ("fixed failure 7", "bug",
                "A lookup that fails natively with ENOTDIR (`<dist>.egg-info/entry_points.txt`, "
                "Debian's egg-info being a plain file) was refused with EACCES and a line; "
                "fixed in c17e43b. Harmless to the tests."),
    "traceback": ("noise: traceback source", "limit",
                  "A traceback (pytest's report of a failure above, Flask's error log) reads "
                  "the .py source of a module whose .pyc is trusted; the .py is stat-only "
                  "unless the bundle is made with `--trust-sources`."),
    "tmpc": ("open failure 3, then limit", "bug",
             "f2py's build helper runs `python3 -c \"import sys; sys.path = "
             "['/tmp/.../tmpXXXXXXXX', ...]; import numpy.f2py; numpy.f2py.main()\" -c ...`: "
             "the `-c` text names a random temp dir, so the image key differs on every run "
             "and the exec is refused (`exec /usr/bin/python3.11: exec not allowed`). Past "
             "that, the test would import the library it built, which is refused by design."),
    "unlisted": ("not traced", "limit",
                 "A file no traced run needed (generalisation: the other half's code)."),
}
# Regexes on a failure message, a test id, or "op path" of a denial.
KNOWN = [
    (r"Permission denied: '/usr/bin/python3|exec /usr/bin/python3[.0-9]*$", "tmpc"),
    (r"failed to map segment|\.so: cannot open shared object|mmap \S+\.so$", "built"),
    (r"No C compiler available|Needs C compiler|'setup\.py', 'build'|/setup\.py$", "built"),
    (r"^numpy\.core\.tests\.test_mem_policy", "built"),
    # xfail-marked ("Consistently fails on CI"), XPASSes natively: builds a module
    # with `python3 -m numpy.f2py -c --debug-capi` and imports it.
    (r"test_f2py2e::test_debugcapi_bld$", "built"),
    (r"entry_points\.txt", "enotdir"),
    (r"/dev/tty", "enxio"),
    (r"\.py$", "traceback"),
]


def cause(*texts):
    """Key of CAUSES for the first text a KNOWN regex matches, else None."""
    for t in texts:
        for rx, key in KNOWN:
            if t and re.search(rx, t):
                return key
    return None


def label(key):
    return CAUSES[key][0] if key else "**UNEXPLAINED**"


def load(d, name):
    p = Path(d) / f"{name}.json"
    return json.loads(p.read_text()) if p.exists() else None


def pct(a, b):
    return "%.2f%%" % (100.0 * a / b) if b else "n/a"


def fmt_ratio(x):
    return "%.3f" % x if x is not None else "n/a"


def test_times(xml):
    """{subpackage: seconds} summed over the junit testcases of xml (empty if absent)."""
    from collections import Counter
    import xml.etree.ElementTree as ET
    c = Counter()
    if not Path(xml).exists():
        return c
    for tc in ET.parse(xml).getroot().iter("testcase"):
        c[L.subpackage(L._cls(tc.get("classname", "")))] += float(tc.get("time") or 0)
    return c


def numpy_section(s, out):
    out.append("## NumPy: its own test suite under `sgxpy run`\n")
    if not s:
        out.append("_Not run (bench/eval_numpy.py suite)._\n")
        return
    out.append("Debian's python3-numpy %s, its own pytest suite, %s ways with one "
               "command per way:\n" % (L.machine()["numpy"], "four" if s.get("built_code") else "three"))
    out.append("```\n%s\n```\n" % s["command"].replace("JUNIT", "$TMPDIR/junit.xml"))
    out.append("natively; under `sgxpy trace -o suite.trace -- ...`; and under "
               "`sgxpy run --log run.jsonl suite.bundle -- ...` with the bundle made by "
               "`sgxpy manifest -o suite.bundle suite.trace` (no option). Every way gets the "
               "same fresh `TMPDIR` and cwd. Targets: `%s`.%s\n" % (" ".join(s["targets"]), (
                   " The fourth way runs under a bundle made from the same trace with "
                   "`sgxpy manifest --allow-built-code` (formats.md rule 13): the opt-in that "
                   "lets an image load a C extension the run itself compiled, unhashed and "
                   "logged." if s.get("built_code") else "")))
    rows = s["subpackages"]
    bc = s.get("built_code")
    rows_bc = bc["subpackages"] if bc else {}
    out.append("| subpackage | tests | passed natively | passed under run | rate |"
               + (" with --allow-built-code | rate |" if bc else ""))
    out.append("|---|---:|---:|---:|---:|" + ("---:|---:|" if bc else ""))
    tn = tr = tt = tb = 0
    for sp in sorted(rows, key=lambda k: (-rows[k]["native"], k)):
        r = rows[sp]
        rb = rows_bc.get(sp, {}).get("run", 0)
        tn, tr, tt, tb = tn + r["native"], tr + r["run"], tt + r["total"], tb + rb
        out.append(f"| {sp} | {r['total']} | {r['native']} | {r['run']} | {pct(r['run'], r['native'])} |"
                   + (f" {rb} | {pct(rb, r['native'])} |" if bc else ""))
    out.append(f"| **all** | **{tt}** | **{tn}** | **{tr}** | **{pct(tr, tn)}** |"
               + (f" **{tb}** | **{pct(tb, tn)}** |" if bc else "") + "\n")
    w = s["wall"]
    c = s["counts"]
    out.append("| | native | trace | run |")
    out.append("|---|---:|---:|---:|")
    out.append("| wall time (s) | %.1f | %.1f | %.1f |" % (w["native"], w["trace"], w["run"]))
    out.append("| ratio to native | 1.000 | %.3f | %.3f |" % (w["trace"] / w["native"], w["run"] / w["native"]))
    for o in ("passed", "failed", "error", "skipped", "xfail"):
        out.append(f"| {o} | {c['native'][o]} | {c['trace'][o]} | {c['run'][o]} |")
    out.append("| exit status | %d | %d | %d |" % (s["exit"]["native"], s["exit"]["trace"], s["exit"]["run"]))
    tt_ = {m: test_times(Path(s.get("_dir", ".")) / f"numpy_{m}.xml") for m in ("native", "trace", "run")}
    if all(tt_.values()):
        ex = lambda c: sum(v for k, v in c.items() if k not in ("f2py", "distutils"))  # noqa: E731
        out.append("| pytest's test time, all (s) | %.0f | %.0f | %.0f |" % tuple(
            sum(tt_[m].values()) for m in ("native", "trace", "run")))
        out.append("| same without f2py, distutils (s) | %.0f | %.0f | %.0f |" % tuple(
            ex(tt_[m]) for m in ("native", "trace", "run")))
        out.append("| its ratio to native | 1.000 | %.3f | %.3f |" % (
            ex(tt_["trace"]) / ex(tt_["native"]), ex(tt_["run"]) / ex(tt_["native"])))
    out.append("")
    out.append("The whole-suite wall time under run is not an overhead figure: the f2py and "
               "distutils tests compile C code natively (most of their time) and stop at the "
               "first refused step under run. The test-time rows (pytest's own per-test times "
               "from the junit XML) without those two subpackages compare like with like.\n")
    b = s["bundle"]
    out.append(f"Bundle: {b['images']} images, {b['trusted_unique']} trusted files "
               f"({b['trusted_mib']} MiB). The wall times are one run each on a shared host; "
               "the paired ratios are under \"Figures\".\n")
    out.append(f"**Result: {tr} of {tn} tests that pass natively pass under run "
               f"({pct(tr, tn)}; the paper: {PAPER_RATE:.2f}%)" + (
                   f"; with `--allow-built-code`, {tb} ({pct(tb, tn)}).**\n" if bc else ".**\n"))
    if bc:
        out.append(f"With `--allow-built-code` the run loaded {bc['loads']} librar"
                   f"{'y' if bc['loads'] == 1 else 'ies'} it had built (`built-code` events "
                   f"in its log), wall time {bc['wall']:.1f} s, exit status {bc['exit']}. "
                   "The default stays strict: such a library is not in any manifest, and "
                   "whoever can write the temp dir during the run chooses its bytes.\n")
        if bc["lost_under_run"]:
            out.append("What still does not pass with the option: " + ", ".join(
                f"`{t}`" for t in bc["lost_under_run"][:12])
                + (f" ... and {len(bc['lost_under_run']) - 12} more" if len(bc["lost_under_run"]) > 12 else "")
                + ".\n")
            if bc["violations"]:
                out.append("| image | op | path | reason | count |")
                out.append("|---|---|---|---|---:|")
                for img, op, path, reason, action, n in bc["violations"][:10]:
                    out.append(f"| {img} | {op} | `{path}` | {reason} | {n} |")
                out.append("")
    if s["lost_under_run"]:
        xml = Path(s.get("_dir", ".")) / "numpy_run.xml"
        msgs = L.junit_messages(xml, s["lost_under_run"]) if xml.exists() else s.get("lost_messages", {})
        groups = {}
        for t in s["lost_under_run"]:
            groups.setdefault(cause(msgs.get(t, ""), t), []).append(t)
        by_kind = {}
        for k, ts in groups.items():
            kk = {"bug": "open sgxpy failure", "limit": "limit"}[CAUSES[k][1]] if k else "unexplained"
            by_kind[kk] = by_kind.get(kk, 0) + len(ts)
        out.append("Every test that passes natively and not under run, by cause (from its "
                   "failure message and the run's `--log`): " + ", ".join(
                       f"{n} {k}" for k, n in sorted(by_kind.items())) + ".\n")
        for k, ts in groups.items():
            out.append(f"- {len(ts)} test(s), {label(k)}: {CAUSES[k][2] if k else ''}")
            for t in ts[:6]:
                out.append(f"  - `{t}`")
            if len(ts) > 6:
                out.append(f"  - ... and {len(ts) - 6} more")
        out.append("")
    if s.get("lost_under_trace"):
        out.append(f"Under trace, {len(s['lost_under_trace'])} natively passing tests did not "
                   "pass: " + ", ".join(f"`{t}`" for t in s["lost_under_trace"][:10]) + "\n")
    if s["violations"]:
        out.append("Denials logged under run (`--log`), by path:\n")
        out.append("| image | op | path | reason | count | cause |")
        out.append("|---|---|---|---|---:|---|")
        for img, op, path, reason, action, n in s["violations"][:25]:
            out.append(f"| {img} | {op} | `{path}` | {reason} | {n} | {label(cause(op + ' ' + path))} |")
        out.append("")


def split_section(sp, out):
    out.append("## Generalisation: bundle from half of the test modules\n")
    if not sp:
        out.append("_Not run (bench/eval_numpy.py split)._\n")
        return
    out.append(f"The {len(sp['modules_a']) + len(sp['modules_b'])} test modules that ran, sorted "
               f"by name, split alternately: half A ({len(sp['modules_a'])} modules) is traced, "
               f"half B ({len(sp['modules_b'])} modules, {sp['native_b_passed']} tests passing "
               "natively) runs under A's bundle.\n")
    f2n = sum(v["subpackages"].get("f2py", {}).get("native", 0)
              for v in list(sp["variants"].values())[:1])
    out.append("| bundle | trusted files (unique) | MiB | B passed under run | rate | rate without f2py "
               "(%d tests that build code) | distinct denied paths |" % f2n)
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    names = {"plain": "A's trace, no option",
             "trust_b_tests": "+ `--trust` of B's test files (the app's own code)",
             "widen_numpy": "+ numpy package widened (every file below numpy/)",
             "widen_all": "+ every imported package widened (`'*'`: numpy, typing_extensions, stdlib packages, ...)"}
    for k, v in sorted(sp["variants"].items(), key=lambda kv: list(names).index(kv[0])
                       if kv[0] in names else 99):
        out.append(f"| {names.get(k, k)} | {v['bundle']['trusted_unique']} | {v['bundle']['trusted_mib']} | "
                   f"{v['passed_run']} / {sp['native_b_passed']} | {pct(v['passed_run'], sp['native_b_passed'])} "
                   f"| {pct(v['passed_run'] - v['subpackages'].get('f2py', {}).get('run', 0), sp['native_b_passed'] - f2n)} "
                   f"| {v['violation_paths']} |")
    out.append("")
    out.append("Reading: with A's bundle alone, half B fails almost entirely because B's own test "
               "modules (the \"app\" here) were never traced, so they are unvetted files. "
               "Trusting them (`--trust FILE`, an existing option) isolates the library gap: "
               "numpy internals, stdlib modules and data files that only B's tests load. "
               "Widening the numpy package closes the numpy part of it at the cost of trusting "
               "the whole installed package for the images that already import it.\n")
    v = sp["variants"].get("widen_all") or sp["variants"].get("widen_numpy")
    if v and v["violations"]:
        out.append("What still fails with every imported package widened (top denials):\n")
        out.append("| call and path | reason | count |")
        out.append("|---|---|---:|")
        for img, op, path, reason, action, n in v["violations"][:15]:
            out.append(f"| `{op} {path}` | {reason} | {n} |")
        out.append("")
    out.append("The widened bundles are made by sgxpy itself: `sgxpy manifest --widen-package "
               "numpy` and `--widen-package '*'` on half A's trace (%s). The option:\n"
               % widen_counts(sp))
    out.append(WIDEN_SPEC)


def widen_counts(sp):
    """'N files added for numpy; M for every imported package (K packages)'."""
    if "widen_added" not in sp:
        return "no counts recorded"
    return ("%d trusted entries added for numpy; %d for every imported package (%d packages)"
            % (sp["widen_added"], sp.get("widen_all_added", 0),
               len(sp.get("widen_all_packages", []))))


WIDEN_SPEC = """`sgxpy manifest --widen-package NAME` (repeatable; `--widen-package '*'` for every
imported package; docs/formats.md, rule 12):

- For each image that trusts at least one file of the installed distribution that
  provides the top-level import NAME, trust every file of that distribution too
  (path, size, SHA-256), and add its directories to `list`. Images that never
  touched the package get nothing (least privilege per image is kept).
- The files of a distribution are read from its `*.dist-info/RECORD` when there is
  one (every path in it below the site directory holding it, `.pyc` of listed `.py`
  included); for Debian's `*.egg-info` (no RECORD: `python3-numpy` is one) and the
  stdlib, every regular file below the package directory `SITE/NAME/` (or
  `SITE/NAME.py`, `SITE/NAME.*.so` for single modules). The site is found from the
  trusted paths (a `site-packages`, `dist-packages` or `pythonX.Y` component): no
  Python is run.
- Files the trace saw written stay allowed, not trusted (rules 7 and 8 win); a
  symlink is taken under its name and its target, as the trace records them;
  `--exclude` still wins. A NAME no image imports is an error naming it.
- `bundle.json` `options` records it (`"widen": ["numpy"]`, sorted, each once), so
  the measurement covers the choice; `--stats` prints the trusted count per widened
  package.
"""


def web_section(wb, out):
    out.append("## Web server: Flask under gunicorn, wrk on loopback\n")
    if not wb:
        out.append("_Not run (bench/eval_web.py)._\n")
        return
    out.append("`eval/webapp` (Debian python3-flask) under `%s`, traced while a bounded client "
               "loop exercised every route, then served under `sgxpy run`; `%s` on 127.0.0.1. "
               "The native and the run server run side by side and wrk alternates between "
               "them (ABBA order), so a load change on the shared host hits both alike; on `/` "
               "(JSON from code) and `/report` (a Jinja template plus a CSV read on every "
               "request). Bundle: %d image(s), %d trusted files.\n"
               % (wb["command"].replace("APP", "eval/webapp").replace("PORT", "PORT"), wb["wrk"],
                  wb["bundle"]["images"], wb["bundle"]["trusted_unique"]))
    out.append("| round | route | native req/s | run req/s | run/native | native p50/p99 ms | run p50/p99 ms |")
    out.append("|---|---|---:|---:|---:|---|---|")
    ratios = {"/": [], "/report": []}
    for i, rnd in enumerate(wb["rounds"], 1):
        for r in ("/", "/report"):
            n, x = rnd["native"][r], rnd["run"][r]
            ratios[r].append(x["rps"] / n["rps"])
            out.append("| %d | `%s` | %.0f | %.0f | %.3f | %.1f / %.1f | %.1f / %.1f |" % (
                i, r, n["rps"], x["rps"], x["rps"] / n["rps"], n["latency_ms"]["p50"],
                n["latency_ms"]["p99"], x["latency_ms"]["p50"], x["latency_ms"]["p99"]))
    out.append("")
    out.append("**Median run/native throughput: `/` %.1f%%, `/report` %.1f%% (goal >= 90%%).**"
               % (100 * statistics.median(ratios["/"]), 100 * statistics.median(ratios["/report"])))
    nat_r = statistics.median(x["native"]["/report"]["rps"] for x in wb["rounds"])
    run_r = statistics.median(x["run"]["/report"]["rps"] for x in wb["rounds"])
    out.append(" `/report` opens `data/items.csv` on every request (plus Jinja's template "
               "check): each open is a seccomp notification, the supervisor's open, its "
               "verdict and the fd injection, about %.0f µs more per request at this load "
               "(1/run - 1/native req/s); `/` opens nothing per request." % (
                   1e6 * (1 / run_r - 1 / nat_r)))
    ref = wb.get("reference") or []
    if ref:
        med = {(m, r): statistics.median(x[m][r]["rps"] / x["native"][r]["rps"] for x in ref)
               for m in ("trace", "strace") for r in ("/", "/report")}
        out.append(" For reference (%d rounds, native vs trace vs strace -f side by side): "
                   "`sgxpy trace` %.1f%% / %.1f%%, `strace -f` %.1f%% / %.1f%% of native." % (
                       len(ref), 100 * med[("trace", "/")], 100 * med[("trace", "/report")],
                       100 * med[("strace", "/")], 100 * med[("strace", "/report")]))
    out.append("\n")
    t = wb["tamper"]
    out.append("Tamper while serving (`sgxpy run --log`): after every route answered 200, "
               "`templates/report.html` and `data/config.json` were modified. Statuses of "
               "the next requests (each route 3 times):\n")
    out.append("| route | before | after |")
    out.append("|---|---|---|")
    for r in t["after"]:
        out.append(f"| `{r}` | {sorted(set(t['before'][r]))} | {sorted(set(t['after'][r]))} |")
    out.append("")
    out.append("Server alive afterwards: %s; exit status at SIGTERM: %s; a worker died: %s. "
               "Denial lines printed:\n" % (t["alive_after"], t["exit"], t["worker_died"]))
    out.append("```")
    for l in t["denial_lines"][:12]:
        out.append(l)
    out.append("```\n")
    out.append("The `hash mismatch` lines are the tampered files. Flask then logs the exception "
               "with a traceback, and the traceback printer tries to read the `.py` sources "
               "of flask/jinja2 (only their `.pyc` are vetted), which adds `not in manifest` "
               "lines: noise, see Limits (`sgxpy manifest --trust-sources` vets the sources and "
               "removes them).\n")


def pipeline_section(pp, out):
    out.append("## Multiprocess pipeline\n")
    if not pp:
        out.append("_Not run (bench/eval_pipeline.py)._\n")
        return
    out.append("`eval/pipeline/pipeline.py`: a `multiprocessing` fork Pool, a spawn child, "
               "a shell pipeline (`sh -c 'tr | tr | sort | uniq -c | sort | head'`) and a second "
               "interpreter (`stage2.py`). Bundle: %d images, %d trusted files:\n"
               % (pp["bundle"]["images"], pp["bundle"]["trusted_unique"]))
    out.append("```\n%s```\n" % pp["show"])
    out.append("Same output natively and under run (stdout and result.json byte for byte, "
               "no denial): **%s**.\n" % pp["same_output"])
    out.append("```\n%s```\n" % pp["stdout_run"])
    pr = pp["probes"]
    out.append("Least privilege per image: every child tries to open `config.json`, which "
               "only the parent's image lists (`PIPELINE_PROBE`):\n")
    out.append("| child | native | run |")
    out.append("|---|---|---|")
    nat = {l.split(":")[0]: l.split(":", 1)[1].strip() for l in pr["native"]}
    run = {l.split(":")[0]: l.split(":", 1)[1].strip() for l in pr["run"]}
    for k in sorted(nat):
        out.append(f"| {k.replace('probe ', '')} | {nat[k]} | {run.get(k, '?')} |")
    out.append("")
    out.append("The fork workers run the parent's own image (a fork is not an exec), so they "
               "may; every exec'd child is held to its own manifest. Denials logged:\n")
    out.append("| image | path | reason |")
    out.append("|---|---|---|")
    for img, op, path, reason, action, n in pr["denials"]:
        out.append(f"| {img} | `{path}` | {reason} |")
    out.append("")
    t = pp["timing"]
    out.append("Wall time, median of %d paired rounds: native %.0f ms, trace %.0f ms (%.3f), "
               "run %.0f ms (%.3f), strace -f %.0f ms (%.3f).\n" % (
                   len(t["native"]["runs"]), t["native"]["median"] * 1e3,
                   t["trace"]["median"] * 1e3, t["trace"]["ratio"], t["run"]["median"] * 1e3,
                   t["run"]["ratio"], t["strace"]["median"] * 1e3, t["strace"]["ratio"]))


def figures_section(fg, wb, s, out):
    out.append("## Figures (the `sgxpy run` issue's targets)\n")
    out.append("| figure | native | run | run/native | goal | met |")
    out.append("|---|---:|---:|---:|---|---|")
    if fg:
        f = fg["import_numpy"]
        t = f["timing"]
        out.append("| `python3 -c \"import numpy\"` (%d paired rounds, %s files hashed per run) "
                   "| %.0f ms | %.0f ms | %.3f | <= 1.20 | %s |" % (
                       f["rounds"], f.get("files_hashed", "?"), t["native"]["median"] * 1e3,
                       t["run"]["median"] * 1e3, t["run"]["ratio"],
                       "yes" if t["run"]["ratio"] <= 1.20 else "**no**"))
        f = fg["linalg_fft_tests"]
        t = f["timing"]
        out.append("| numpy.linalg + numpy.fft test modules (%d paired rounds) | %.2f s | %.2f s "
                   "| %.3f | <= 1.15 | %s |" % (f["rounds"], t["native"]["median"],
                                               t["run"]["median"], t["run"]["ratio"],
                                               "yes" if t["run"]["ratio"] <= 1.15 else "**no**"))
    if wb:
        rs = [r["run"]["/"]["rps"] / r["native"]["/"]["rps"] for r in wb["rounds"]]
        nat = statistics.median(r["native"]["/"]["rps"] for r in wb["rounds"])
        run = statistics.median(r["run"]["/"]["rps"] for r in wb["rounds"])
        m = statistics.median(rs)
        out.append("| gunicorn 2 workers, wrk `/` (%d rounds) | %.0f req/s | %.0f req/s | %.3f "
                   "| >= 0.90 | %s |" % (len(rs), nat, run, m, "yes" if m >= 0.90 else "**no**"))
    if s:
        tn = sum(r["native"] for r in s["subpackages"].values())
        tr = sum(r["run"] for r in s["subpackages"].values())
        out.append("| NumPy tests passing natively that pass under run | %d | %d | %s | 100%% "
                   "(paper %.2f%%) | %s |" % (tn, tr, pct(tr, tn), PAPER_RATE,
                                             "yes" if tn == tr else "**no**"))
        bc = s.get("built_code")
        if bc:
            tb = sum(r["run"] for r in bc["subpackages"].values())
            out.append("| same, bundle made with `--allow-built-code` (opt-in) | %d | %d | %s | 100%% "
                       "| %s |" % (tn, tb, pct(tb, tn), "yes" if tn == tb else "**no**"))
    out.append("")
    if fg and fg["import_numpy"]["timing"]["run"]["ratio"] > 1.20:
        t = fg["import_numpy"]["timing"]
        out.append("`import numpy` misses its target: the run takes %.0f ms more than native "
                   "(%.0f -> %.0f ms) where 1.20 allows %.0f ms on these 2 shared cores. "
                   "One run's log splits it: \"%s\". The program (6.8 MB) must be "
                   "hashed before it may be exec'd (sequential, about 4 ms on this CPU); "
                   "each of the ~180 trusted opens is answered with "
                   "`SECCOMP_IOCTL_NOTIF_ADDFD`, which returns only once the process has "
                   "been woken on another, halted vCPU and has taken the fd "
                   "(`SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP` keeps plain replies on the "
                   "waker's CPU, but not ADDFD's). docs/performance.md has the breakdown "
                   "and what was tried against it.\n" % (
                       1e3 * (t["run"]["median"] - t["native"]["median"]),
                       1e3 * t["native"]["median"], 1e3 * t["run"]["median"],
                       0.2e3 * t["native"]["median"], fg["import_numpy"]["run_end"]))
    if fg:
        out.append("Commands: `%s`; `%s`. Each round runs native, trace, run and strace -f "
                   "once, in rotating order; the ratio is the median of the per-round ratios "
                   "(bench/run_pair.py's method). Every `sgxpy run` verifies every hash again "
                   "(one run's log: \"%s\").\n" % (fg["import_numpy"]["command"],
                                                   fg["linalg_fft_tests"]["command"].replace(
                                                       str(Path(L.REPO / 'build' / 'eval')), "$OUT"),
                                                   fg["import_numpy"]["run_end"]))


def chart(res_dir, fg, s, pp, wb):
    """Grouped bars: wall time relative to native per workload; returns the rows."""
    rows = []
    if fg:
        for key, label in (("import_numpy", "import numpy"), ("linalg_fft_tests", "linalg+fft tests")):
            t = fg[key]["timing"]
            rows.append((label, 1.0, t["trace"]["ratio"], t["run"]["ratio"], t["strace"]["ratio"]))
    if s:
        tt_ = {m: test_times(Path(s.get("_dir", ".")) / f"numpy_{m}.xml") for m in ("native", "trace", "run")}
        if all(tt_.values()):
            ex = {m: sum(v for k, v in c.items() if k not in ("f2py", "distutils")) for m, c in tt_.items()}
            rows.append(("NumPy suite*", 1.0, ex["trace"] / ex["native"], ex["run"] / ex["native"], None))
        else:
            w = s["wall"]
            rows.append(("NumPy suite", 1.0, w["trace"] / w["native"], w["run"] / w["native"], None))
    if pp:
        t = pp["timing"]
        rows.append(("pipeline", 1.0, t["trace"]["ratio"], t["run"]["ratio"], t["strace"]["ratio"]))
    if wb:
        ref = wb.get("reference") or []
        for r in ("/", "/report"):
            run = statistics.median(x["native"][r]["rps"] / x["run"][r]["rps"] for x in wb["rounds"])
            tr = statistics.median(x["native"][r]["rps"] / x["trace"][r]["rps"] for x in ref) if ref else None
            st = statistics.median(x["native"][r]["rps"] / x["strace"][r]["rps"] for x in ref) if ref else None
            rows.append((f"gunicorn {r}", 1.0, tr, run, st))
    dat = Path(res_dir) / "chart.dat"
    with open(dat, "w") as f:
        f.write("# workload native trace run strace\n")
        for r in rows:
            f.write('"%s" ' % r[0] + " ".join("%.4f" % x if x is not None else "?" for x in r[1:]) + "\n")
    png = DOCS / "evaluation.png"
    gp = f"""
set terminal png size 1000,520 font ",11"
set output "{png}"
set datafile missing "?"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top left
set grid ytics
set yrange [0:*]
set ylabel "time relative to native (web: native req/s / req/s)"
set title "sgxpy overhead per workload (native = 1; ? = not measured)"
set xtics rotate by -20 scale 0
plot "{dat}" using 2:xtic(1) title "native" lc rgb "#777777", \\
     "" using 3 title "sgxpy trace" lc rgb "#e69f00", \\
     "" using 4 title "sgxpy run" lc rgb "#0072b2", \\
     "" using 5 title "strace -f (reference)" lc rgb "#cc79a7"
"""
    r = subprocess.run(["gnuplot"], input=gp, text=True, capture_output=True)
    if r.returncode != 0:
        print("gnuplot failed (apt-get install gnuplot-nox):", r.stderr, file=sys.stderr)
    return rows


OPEN_FAILURES = """## Open failures (sgxpy bugs or open design questions; reproductions)

Each was found from `sgxpy run --log` and confirmed with the reproduction below
(sgxpy as built from the commit named at the top; `S=build/sgxpy`).

1. **A device open that fails natively (ENXIO) is refused under run with EACCES and a
   denial line.** `bash -c '... > /dev/tty'` without a controlling terminal: the kernel
   answers ENXIO; the trace records the failed open (err 6) and the manifest lists
   nothing, so under run the open is refused as "not in manifest". Harmless here (the
   NumPy distutils tests' shells ignore it) but a false alarm in the log. (The same
   failure for failed lookups, ENOTDIR on Debian's plain-file `*.egg-info/
   entry_points.txt`, was fixed in c17e43b during the evaluation.) Fix: list pseudo
   paths whose open failed with a device error (ENXIO, ENODEV) so the kernel answers,
   or let the supervisor return the kernel's error without a line.
   ```sh
   mkdir -p /tmp/r8 && cd /tmp/r8 && cat > app.py <<'PY'
   import subprocess
   r = subprocess.run(["/bin/bash", "-c", "echo hi > /dev/tty"], stdin=subprocess.DEVNULL,
                      capture_output=True, text=True, start_new_session=True)
   print(r.returncode, r.stderr.strip())
   PY
   $S trace -o t.trace -- /usr/bin/python3 app.py && $S manifest -o t.bundle t.trace
   $S run t.bundle -- /usr/bin/python3 app.py
   # expected: 1 /bin/bash: line 1: /dev/tty: No such device or address
   # got: 1 /bin/bash: line 1: /dev/tty: Permission denied, and
   #      "sgxpy: denied: pid N (bash -c) open /dev/tty: not in manifest"
   ```
2. **A directory the app creates outside a temp dir cannot be created again under run,
   and the refusal is silent.** Rule 7 allows `DIR/out` (and `DIR/out/x`) with write
   when the traced app made them; under run `DIR/out` does not exist yet, Landlock can
   only grant MAKE_DIR on its parent (not allowed), so `mkdir` fails with EACCES and
   no `sgxpy: denied:` line or log event names it. (Inside a temp dir rule 5 hides it.)
   ```sh
   mkdir -p ~/sgxpy-r2 && cd ~/sgxpy-r2
   $S trace -o t.trace -- /usr/bin/python3 -c "import os; os.mkdir('out'); open('out/x','w').write('1')"
   rm -rf out && $S manifest -o t.bundle t.trace
   $S run --log l.jsonl t.bundle -- /usr/bin/python3 -c "import os; os.mkdir('out'); open('out/x','w').write('1')"
   # expected: runs as traced (or a denial line naming ~/sgxpy-r2/out)
   # got: PermissionError: [Errno 13] Permission denied: 'out'; no sgxpy line, no violation in l.jsonl
   ```
   The evaluation works around it (the pipeline's output directory is made before each
   run; pytest's files are kept in `$TMPDIR`). Fix: let the supervisor perform a
   `mkdir` of exactly an allowed path (seccomp notification on mkdir/mkdirat), or at
   least log it.

3. **A `-c` script that names a random temp dir never matches its image again.**
   Folding random temp-dir components (c171bf2) applies to script paths, not to `-c`
   text: `numpy.f2py`'s test helper runs `python3 -c "import sys; sys.path =
   ['/tmp/tmpqyg3n4xx', ...]; import numpy.f2py; numpy.f2py.main()" -c ...`, whose key
   changes with the random name (only digit runs are folded), so the exec is refused.
   Costs nothing in passes here (those tests then load the library they built, refused
   by design), but any app that passes a temp path in `-c` text hits it.
   ```sh
   mkdir -p /tmp/r7 && cd /tmp/r7 && cat > app.py <<'PY'
   import subprocess, sys, tempfile
   d = tempfile.mkdtemp()
   code = "import sys; sys.path.insert(0, %r); print('child ok')" % d
   print("child exit", subprocess.run([sys.executable, "-c", code]).returncode)
   PY
   $S trace -o t.trace -- /usr/bin/python3 app.py && $S manifest -o t.bundle t.trace
   $S run t.bundle -- /usr/bin/python3 app.py
   # expected: child ok / child exit 0
   # got: sgxpy: denied: pid N (python3 app.py) exec /usr/bin/python3.11: exec not allowed
   ```
   Fix (image key): fold `tmpXXXXXXXX`-style names (and the app's `$TMPDIR` prefix) in
   `-c` text as in script paths.

### Fixed during the evaluation (reported here, fixed by their owners)

4. **A child reading a file its parent wrote under a random temp name was refused on
   the next run** (rule 8 allowed the traced random path exactly; failed
   `numpy.distutils.tests.test_exec_command::test_basic`). Fixed in 1fadc1f/4bd64fb
   (temp files the run made are volatile for readers too).
5. **A script in a random temp dir never matched its image again** (the image key
   held the random directory; numpy.f2py's compiler probe `python3
   /tmp/tmpXXXXXXXX/setup.py config` was refused, and 771 f2py tests skipped with "No C
   compiler available"). Fixed in c171bf2 (the image key folds random temp-dir
   components of a script).
6. Wish: tracebacks under run lacked source lines and printed `not in manifest` for
   every `.py` they read (only the `.pyc` is vetted). Landed as `sgxpy manifest
   --trust-sources` (4b0084f).

7. **A lookup that failed at trace time with ENOTDIR was refused under run with EACCES
   and a denial line** (`importlib.metadata` opening `pyinotify-0.9.6.egg-info/
   entry_points.txt`, a plain file on Debian; 89 false alarms in the full suite). Fixed
   in c17e43b (a lookup that fails natively gets its own errno, no denial).

The reproductions of 4, 5 and 7 (in the history of this file) give the expected output
with the binary measured here; 1-3 were re-run with it as written above.
"""

LIMITS = """## Limits (by design, documented)

- **Code produced at run time is refused.** f2py, numpy.distutils and
  numpy.testing.extbuild tests build a shared library into a temp dir and load it;
  no manifest can vet a file that did not exist when the bundle was made. Such tests
  (if any appear above) fail under run by design: an app that needs this must build
  its extensions ahead of time and trace them.
- **Traceback source lines.** By default only a module's `.pyc` is vetted; its `.py`
  is `stat`-only, so when Python formats a traceback (pytest reports, Flask's error
  log) the source lines are missing and each read prints a `not in manifest` line.
  The app is unaffected; `sgxpy manifest --trust-sources` vets the sources too.
- **Landlock refusals are silent.** What Landlock refuses (creating files or
  directories outside allowed trees) gives EACCES without an `sgxpy: denied:` line:
  the kernel does not report it to the supervisor.
- **Generalisation needs a choice.** A bundle vets what the trace saw; code paths
  never traced (another half of a test suite) load files nobody vetted and are
  refused. The user closes the gap by tracing more runs (`--append`, runs merge) or
  by widening a package they vet as a whole (the option above).
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", default=str(L.REPO / "build" / "eval"))
    ap.add_argument("--command", default="bench/evaluate.sh")
    a = ap.parse_args()
    d = Path(a.results)
    s, sp, wb, pp, fg = (load(d, n) for n in ("numpy_suite", "numpy_split", "web", "pipeline", "figures"))
    if s:
        s["_dir"] = str(d)
    m = L.machine()
    started = (d / "started").read_text().strip() if (d / "started").exists() else "?"
    finished = (d / "finished").read_text().strip() if (d / "finished").exists() else "?"
    out = ["# sgxpy evaluation: NumPy's test suite, a web server, a multiprocess pipeline\n",
           f"_Generated by `{a.command}` (bench/eval_report.py) from {started} to {finished}, "
           f"sgxpy {L.git_rev()} (`{L.SGXPY}`)._\n",
           f"Machine: {m['cpu']}, {m['cpus']} CPUs (shared with other jobs: load at report "
           f"time {' '.join(m['load'])}), {m['mem_gib']} GiB, Linux {m['kernel']}, {m['os']}, "
           f"{m['python']}, NumPy {m['numpy']}. Ratios are measured side by side (interleaved, "
           "repeated, median of per-round ratios); single-run wall times are marked as such.\n",
           "Reproduce everything: `make && bench/evaluate.sh` (about 25 minutes on 2 cores; "
           "`bench/evaluate.sh --quick` in a few minutes). CI (`make check`, plain and ASan "
           "builds) runs a slice, about 20 s: `SGXPY=build/sgxpy /usr/bin/python3 -m pytest "
           "-q -p no:cacheprovider tests/e2e/test_eval_*.py` (numpy.fft + numpy.linalg pass "
           "sets equal native vs run, the Flask tamper test, the pipeline's same output and "
           "cross-image denial). Debian packages beyond `make deps`: python3-hypothesis and "
           "python3-typing-extensions (NumPy's test suite imports them), gnuplot-nox (the "
           "chart).\n"]
    figures_section(fg, wb, s, out)
    rows = chart(d, fg, s, pp, wb)
    out.append("## Overheads per workload\n")
    out.append("![overhead per workload](evaluation.png)\n")
    out.append("| workload | native | sgxpy trace | sgxpy run | strace -f |")
    out.append("|---|---:|---:|---:|---:|")
    for r in rows:
        out.append(f"| {r[0]} | " + " | ".join(fmt_ratio(x) for x in r[1:]) + " |")
    out.append("\nTime relative to native (for gunicorn: native req/s divided by req/s). The "
               "full NumPy suite (*: pytest's test time without f2py and distutils, which build C "
               "code; one run per way) was not run under strace. Web trace "
               "and strace columns come from the reference rounds (each against its own "
               "native server, side by side).\n")
    numpy_section(s, out)
    split_section(sp, out)
    web_section(wb, out)
    pipeline_section(pp, out)
    out.append(OPEN_FAILURES)
    out.append(LIMITS)
    text = "\n".join(out).rstrip() + "\n"
    (DOCS / "evaluation.md").write_text(text)
    print(f"wrote {DOCS / 'evaluation.md'} and {DOCS / 'evaluation.png'}")


if __name__ == "__main__":
    main()
