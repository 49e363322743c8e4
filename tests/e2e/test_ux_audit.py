"""End-to-end tests of the audit loop (`sgxpy run --audit --log`, then
`sgxpy manifest --from-log LOG BASE -o NEW`, also from a Gramine log), of
`sgxpy diff OLD NEW` and of `sgxpy explain BUNDLE PATH`.

Each test works on its own copy of examples/hello, so changing the app (a new
data file, an output file, an edited module) is the upgrade under review.
"""
import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import PYTHON, run_sgxpy

REPO = Path(__file__).resolve().parents[2]
HELLO = REPO / "examples" / "hello"

# What the upgraded app does besides the original: read a new config file,
# write an output file, and report.py changes.
UPGRADE = '''
with open(os.path.join(HERE, "extra.cfg")) as f:
    f.read()
with open(os.path.join(HERE, "out.txt"), "w") as f:
    f.write("done\\n")
'''


def images(bundle):
    idx = json.loads((Path(bundle) / "bundle.json").read_text())
    mans = {i: json.loads((Path(bundle) / "manifests" / f"{i}.json").read_text())
            for i in idx["images"]}
    app = next(m for m in mans.values() if (m["script"] or "").endswith("/app.py"))
    worker = next(m for m in mans.values() if (m["script"] or "").endswith("/worker.py"))
    return app, worker


def trusted(m):
    return {t["path"]: t for t in m["trusted"]}


def allowed(m):
    return {a["path"]: a for a in m["allowed"]}


@pytest.fixture
def app(tmp_path):
    """A copy of examples/hello and its bundle (made by `sgxpy build`)."""
    d = tmp_path / "app"
    d.mkdir()
    for f in HELLO.iterdir():
        if f.is_file():
            shutil.copy2(f, d / f.name)
    r = run_sgxpy("build", "-o", tmp_path / "base.bundle", "--", PYTHON, d / "app.py")
    assert r.returncode == 0, r.stderr
    return d, tmp_path / "base.bundle"


def upgrade(d):
    (d / "extra.cfg").write_text("answer = 42\n")
    with open(d / "app.py", "a") as f:
        f.write(UPGRADE)
    with open(d / "report.py", "a") as f:
        f.write("\n# upgraded\n")


def audit(d, bundle, log):
    r = run_sgxpy("run", "--audit", "--log", log, bundle, "--", PYTHON, d / "app.py")
    assert r.returncode == 0, r.stderr
    return r


def upgrade_and_fold(d, base, tmp_path):
    """Upgrade the app, audit it under base, fold the log: the new bundle."""
    upgrade(d)
    log = tmp_path / "l.jsonl"
    audit(d, base, log)
    new = tmp_path / "n.bundle"
    r = run_sgxpy("manifest", "--from-log", log, base, "-o", new)
    assert r.returncode == 0, r.stderr
    return new


def test_audit_loop_folds_denials_into_a_bundle_that_then_runs_clean(app, tmp_path):
    d, base = app
    upgrade(d)
    # the upgraded app is refused under the old bundle ...
    r = run_sgxpy("run", base, "--", PYTHON, d / "app.py")
    assert r.returncode != 0 and "denied" in r.stderr
    # ... so run it in audit mode, fold the log, and look at what that adds
    log = tmp_path / "denials.jsonl"
    audit(d, base, log)
    r = run_sgxpy("manifest", "--from-log", log, base, "-o", tmp_path / "new.bundle")
    assert r.returncode == 0, r.stderr
    assert f"+ {d}/extra.cfg" in r.stdout and "trusted" in r.stdout
    assert f"+ {d}/out.txt" in r.stdout and "allowed write" in r.stdout
    assert f"~ {d}/report.py" in r.stdout and "re-hashed" in r.stdout
    app_m, worker_m = images(tmp_path / "new.bundle")
    # each denial goes to the image that was refused, and only there
    assert str(d / "extra.cfg") in trusted(app_m)
    assert str(d / "extra.cfg") not in trusted(worker_m)
    assert allowed(app_m)[str(d / "out.txt")]["write"] is True
    # the re-hashed module has its new content
    import hashlib
    want = hashlib.sha256((d / "report.py").read_bytes()).hexdigest()
    assert trusted(app_m)[str(d / "report.py")]["sha256"] == want
    # the folded bundle runs the upgraded app with no refusal
    r = run_sgxpy("run", tmp_path / "new.bundle", "--", PYTHON, d / "app.py")
    assert r.returncode == 0, r.stderr
    assert "denied" not in r.stderr
    # and base is untouched
    assert str(d / "extra.cfg") not in trusted(images(base)[0])


def test_fold_of_a_fold_keeps_the_first_fold(app, tmp_path):
    d, base = app
    b1 = upgrade_and_fold(d, base, tmp_path)
    (d / "more.cfg").write_text("x\n")
    gram = tmp_path / "gramine.log"
    gram.write_text(f"[P1:T1:python3.11] warning: Allowing access to unknown file "
                    f"'{d}/more.cfg' due to file_check_policy settings.\n")
    r = run_sgxpy("manifest", "--from-log", gram, b1, "-o", tmp_path / "b2")
    assert r.returncode == 0, r.stderr
    app_m, _ = images(tmp_path / "b2")
    assert {str(d / "extra.cfg"), str(d / "more.cfg")} <= set(trusted(app_m))


def test_fold_in_place_of_a_signed_bundle_asks_to_sign_again(app, tmp_path):
    d, base = app
    assert run_sgxpy("keygen", "-o", tmp_path / "k.pem", "--type", "ed25519").returncode == 0
    assert run_sgxpy("sign", "--key", tmp_path / "k.pem", base).returncode == 0
    upgrade(d)
    log = tmp_path / "l.jsonl"
    audit(d, base, log)
    r = run_sgxpy("manifest", "--from-log", log, base, "-o", base)
    assert r.returncode == 0, r.stderr
    assert "not signed" in r.stderr and "sgxpy sign --key KEY" in r.stderr
    assert not (base / "signature.json").exists()
    assert str(d / "extra.cfg") in trusted(images(base)[0])
    assert [p.name for p in tmp_path.iterdir() if ".tmp" in p.name] == []


def test_gramine_log_goes_to_the_root_image_and_the_gramine_export(app, tmp_path):
    d, base = app
    (d / "plugin.py").write_text("X = 1\n")
    log = tmp_path / "gramine.log"
    log.write_text(
        "[P1:T1:python3.11] warning: Allowing access to unknown file "
        f"'{d}/plugin.py' due to file_check_policy settings.\n"
        "[P1:T1:python3.11] warning: some unrelated line\n"
        # Graphene's older wording
        "Allowing access to unknown file due to file_check_policy settings: file:/etc/hostname\n")
    r = run_sgxpy("manifest", "--from-log", log, base, "-o", tmp_path / "g.bundle")
    assert r.returncode == 0, r.stderr
    app_m, worker_m = images(tmp_path / "g.bundle")
    assert {str(d / "plugin.py"), "/etc/hostname"} <= set(trusted(app_m))
    assert str(d / "plugin.py") not in trusted(worker_m)
    template = (tmp_path / "g.bundle" / "gramine" / "app.manifest.template").read_text()
    assert f'uri = "file:{d}/plugin.py"' in template
    assert run_sgxpy("verify", tmp_path / "g.bundle").returncode == 0


def test_unlisted_exec_is_not_folded_and_says_what_to_do(app, tmp_path):
    d, base = app
    app_m, _ = images(base)
    log = tmp_path / "l.jsonl"
    lines = [
        {"event": "start", "pid": 1, "image": app_m["id"], "time": 1.0},
        {"event": "violation", "action": "allowed (audit)", "pid": 7, "process": "python3 app.py",
         "image": app_m["id"], "op": "exec", "path": "/bin/ls", "reason": "exec not allowed",
         "time": 2.0},
        # what the unlisted program then opened is its own, not app.py's
        {"event": "violation", "action": "allowed (audit)", "pid": 7, "process": "ls",
         "image": app_m["id"], "op": "open", "path": "/etc/hostname",
         "reason": "not in manifest", "time": 3.0},
        {"event": "violation", "action": "allowed (audit)", "pid": 8, "process": "python3 app.py",
         "image": app_m["id"], "op": "open", "path": "/proc/1/root/etc/x",
         "reason": "magic link or other process's /proc entry", "time": 4.0},
    ]
    log.write_text("".join(json.dumps(x) + "\n" for x in lines))
    r = run_sgxpy("manifest", "--from-log", log, base, "-o", tmp_path / "n.bundle")
    assert r.returncode == 0, r.stderr
    assert "not folded" in r.stderr and "/bin/ls" in r.stderr and "sgxpy trace --append" in r.stderr
    assert "security refusal" in r.stderr
    assert "no differences" in r.stdout
    new_app, _ = images(tmp_path / "n.bundle")
    assert "/etc/hostname" not in trusted(new_app)
    j = run_sgxpy("manifest", "--json", "--from-log", log, base, "-o", tmp_path / "n.bundle")
    doc = json.loads(j.stdout)
    assert len(doc["not_folded"]) == 3 and doc["changes"]["differ"] is False


def test_drift_not_in_the_log_stops_the_fold(app, tmp_path):
    d, base = app
    with open(d / "worker.py", "a") as f:
        f.write("\n# changed behind our back\n")
    log = tmp_path / "empty.jsonl"
    log.write_text("")
    r = run_sgxpy("manifest", "--from-log", log, base, "-o", tmp_path / "x.bundle")
    assert r.returncode == 3
    assert "worker.py" in r.stderr and "sgxpy verify" in r.stderr
    assert r.stderr.count("\n") == 1
    assert not (tmp_path / "x.bundle").exists()
    assert not list(tmp_path.glob("x.bundle.tmp*"))


def test_bundle_and_trace_moved_together_still_fold_and_explain(app, tmp_path):
    d, base = app
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    base.rename(moved / "base.bundle")
    (tmp_path / "base.trace").rename(moved / "base.trace")
    upgrade(d)
    log = tmp_path / "l.jsonl"
    audit(d, moved / "base.bundle", log)
    r = run_sgxpy("manifest", "--from-log", log, moved / "base.bundle", "-o", tmp_path / "n")
    assert r.returncode == 0, r.stderr
    r = run_sgxpy("explain", moved / "base.bundle", d / "sales.csv")
    assert r.returncode == 0 and "base.trace" in r.stdout and "rule 9" in r.stdout
    # without its trace, explain still answers which images, and says why it cannot say more
    (moved / "base.trace").unlink()
    r = run_sgxpy("explain", moved / "base.bundle", d / "sales.csv")
    assert r.returncode == 0 and "trusted" in r.stdout
    assert "not here" in r.stdout and "rule 9" not in r.stdout


def test_fold_input_errors(app, tmp_path):
    d, base = app
    junk = tmp_path / "junk.log"
    junk.write_text("hello\nworld\n")
    r = run_sgxpy("manifest", "--from-log", junk, base, "-o", tmp_path / "x")
    assert r.returncode == 3 and "junk.log" in r.stderr and "neither" in r.stderr
    r = run_sgxpy("manifest", "--from-log", tmp_path / "nope.jsonl", base, "-o", tmp_path / "x")
    assert r.returncode == 3 and "nope.jsonl" in r.stderr
    r = run_sgxpy("manifest", "--from-log", junk, base, base, "-o", tmp_path / "x")
    assert r.returncode == 2
    other = {"event": "violation", "pid": 1, "process": "x", "image": "python3.11-other-00000000",
             "op": "open", "path": "/etc/hostname", "reason": "not in manifest", "time": 1.0}
    (tmp_path / "other.jsonl").write_text(json.dumps(other) + "\n")
    r = run_sgxpy("manifest", "--from-log", tmp_path / "other.jsonl", base, "-o", tmp_path / "x")
    assert r.returncode == 3 and "python3.11-other-00000000" in r.stderr
    # the trace the base was made from is gone
    (tmp_path / "base.trace").rename(tmp_path / "moved.trace")
    r = run_sgxpy("manifest", "--from-log", tmp_path / "other.jsonl", base, "-o", tmp_path / "x")
    assert r.returncode == 3 and "base.trace" in r.stderr
    assert not (tmp_path / "x").exists()


# ---- diff -------------------------------------------------------------------

def test_diff_of_a_bundle_with_itself(app):
    _, base = app
    r = run_sgxpy("diff", base, base)
    assert r.returncode == 0 and "no differences" in r.stdout


def test_diff_shows_an_upgrade_per_image(app, tmp_path):
    d, base = app
    upgrade(d)
    (d / "out.txt").write_text("")
    r = run_sgxpy("build", "-o", tmp_path / "new.bundle", "--", PYTHON, d / "app.py")
    assert r.returncode == 0, r.stderr
    r = run_sgxpy("diff", base, tmp_path / "new.bundle")
    assert r.returncode == 1
    app_m, worker_m = images(base)
    # one heading per changed image, one line per changed path
    lines = r.stdout.splitlines()
    assert app_m["id"] in lines and worker_m["id"] not in lines, r.stdout
    assert f"  + {d}/extra.cfg  trusted (12 B)" in lines
    assert f"  + {d}/out.txt  allowed write" in lines
    assert any(l.startswith(f"  ~ {d}/report.py  re-hashed") for l in lines)
    assert any(l.startswith(f"  ~ {d}/app.py  re-hashed") for l in lines)
    # then the stat block: the image's line and the totals
    stat = [l for l in lines if l.startswith(f" {app_m['id']} |")]
    assert len(stat) == 1 and "++" in stat[0] and "~~" in stat[0], r.stdout
    assert "1 image changed, 0 added, 0 removed" in r.stdout
    s = run_sgxpy("diff", "--stat", base, tmp_path / "new.bundle")
    assert s.returncode == 1 and s.stdout.splitlines()[0].startswith(f" {app_m['id']} |")
    assert f"{d}/extra.cfg" not in s.stdout
    j = json.loads(run_sgxpy("diff", "--json", base, tmp_path / "new.bundle").stdout)
    assert j["differ"] is True and j["images"] == []
    assert {c["image"] for c in j["changes"]} == {app_m["id"]}


def test_diff_rehash_and_rights(app, tmp_path):
    d, base = app
    new = upgrade_and_fold(d, base, tmp_path)
    j = json.loads(run_sgxpy("diff", "--json", base, new).stdout)
    ch = {(c["path"], c["change"]): c for c in j["changes"]}
    assert (str(d / "report.py"), "rehashed") in ch
    assert ch[(str(d / "extra.cfg"), "added")]["new"] == "trusted"
    assert ch[(str(d / "out.txt"), "added")]["new"] == "allowed write"
    assert ch[(str(d / "__pycache__/report.cpython-311.pyc"), "rights")]["new"] == "trusted"
    # the reverse diff removes what was added
    back = json.loads(run_sgxpy("diff", "--json", new, base).stdout)
    assert back["counts"]["removed"] == j["counts"]["added"]
    assert back["counts"]["rights"] == j["counts"]["rights"]


def test_diff_usage_and_input_errors(app, tmp_path):
    _, base = app
    assert run_sgxpy("diff", base).returncode == 2
    r = run_sgxpy("diff", base, tmp_path / "missing")
    assert r.returncode == 3 and "missing" in r.stderr


# ---- explain ----------------------------------------------------------------

def test_explain_a_trusted_file(app):
    d, base = app
    r = run_sgxpy("explain", base, d / "sales.csv")
    assert r.returncode == 0, r.stderr
    app_m, worker_m = images(base)
    assert f"{app_m['id']}: trusted" in r.stdout
    assert "trace " in r.stdout and "base.trace" in r.stdout and "read" in r.stdout
    assert "rule 9" in r.stdout
    assert worker_m["id"] in r.stdout.split("not listed by:")[1], "the worker never read it"


def test_explain_json_and_rules(app):
    d, base = app
    j = json.loads(run_sgxpy("explain", "--json", base, "/usr/lib/python3.11/json/__init__.py").stdout)
    assert j["path"] == "/usr/lib/python3.11/json/__init__.py"
    assert j["images"], "both images import json"
    for img in j["images"]:
        assert img["stat"] is True
        assert any("rule 11" in w["rule"] for w in img["why"]), img
    prog = json.loads(run_sgxpy("explain", "--json", base,
                                os.path.realpath(PYTHON)).stdout)
    assert all("trusted" in i for i in prog["images"]) and len(prog["images"]) == 2
    assert any("exec_child" in i for i in prog["images"]), "app.py execs the worker"


def test_explain_a_folded_path_and_an_unlisted_one(app, tmp_path):
    d, base = app
    new = upgrade_and_fold(d, base, tmp_path)
    r = run_sgxpy("explain", new, d / "extra.cfg")
    assert r.returncode == 0 and "from-log" in r.stdout
    # a directory that is only stat'ed: its own accesses, not those of paths below
    j = json.loads(run_sgxpy("explain", "--json", base, d).stdout)
    for img in j["images"]:
        assert all(w["path"] == str(d) for w in img["why"]), img
    r = run_sgxpy("explain", base, "/etc/shadow")
    assert r.returncode == 1 and "no image" in r.stdout
    r = run_sgxpy("explain", base)
    assert r.returncode == 2


def test_explain_a_path_under_a_tree_rule(tmp_path):
    r = run_sgxpy("build", "-o", tmp_path / "mk.bundle", "--", "/bin/sh", "-c",
                  'f=$(mktemp); echo x > "$f"; rm "$f"')
    assert r.returncode == 0, r.stderr
    j = json.loads(run_sgxpy("explain", "--json", tmp_path / "mk.bundle", "/tmp/never-seen").stdout)
    sh = next(i for i in j["images"] if i["id"].startswith("dash-") or i["id"].startswith("sh-"))
    assert sh["allowed"] == {"rule": "/tmp", "tree": True, "write": True}
    assert sh["why"] and all(w["path"].startswith("/tmp/tmp.") for w in sh["why"])
    assert all("rule 5" in w["rule"] for w in sh["why"])


def test_fold_keeps_the_base_options(tmp_path):
    """--trust-sources (and --allow ...) of the base are recorded in bundle.json
    and apply again when a log is folded."""
    d = tmp_path / "app"
    shutil.copytree(HELLO, d)
    r = run_sgxpy("build", "--trust-sources", "--allow", tmp_path / "data", "-o",
                  tmp_path / "b.bundle", "--", PYTHON, d / "app.py")
    assert r.returncode == 0, r.stderr
    upgrade(d)
    log = tmp_path / "l.jsonl"
    audit(d, tmp_path / "b.bundle", log)
    r = run_sgxpy("manifest", "--from-log", log, tmp_path / "b.bundle", "-o", tmp_path / "n")
    assert r.returncode == 0, r.stderr
    opts = json.loads((tmp_path / "n" / "bundle.json").read_text())["options"]
    assert opts.get("trust_sources") is True and opts["allow"] == [str(tmp_path / "data")]
    app_m, _ = images(tmp_path / "n")
    assert "/usr/lib/python3.11/json/__init__.py" in trusted(app_m)
