"""Helpers for the `sgxpy run` tests (no tests here): build bundles by hand.

make_bundle() discovers what a command opens and execs with strace, groups the
processes into images with the same key as src/common/image.c (program, and for
python the script / -c text with digit runs folded / -m module), and writes
bundle.json + manifests/<id>.json per docs/formats.md, hashing with hashlib.
It keeps the run tests independent of `sgxpy trace` and `sgxpy manifest`.
"""
import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

SGXPY = os.environ.get("SGXPY", "/work/main/build/sgxpy")
PYTHON = "/usr/bin/python3"
PLAIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
TIMEOUT = 120


def env(**extra):
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("PYTHON") and not k.startswith("PYENV") and not k.startswith("LD_")}
    e["PATH"] = PLAIN_PATH
    e.update(extra)
    return e


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def normal(base, p):
    return os.path.normpath(os.path.join(base, p)).replace("//", "/")


def python_script(argv, cwd):
    i = 1
    while i < len(argv):
        a = argv[i]
        if a == "--":
            return normal(cwd, argv[i + 1]) if i + 1 < len(argv) else None
        if a.startswith("--"):
            i += 1
            continue
        if not a.startswith("-"):
            return normal(cwd, a)
        if a == "-":
            return None
        for j, c in enumerate(a[1:], 1):
            if c in "cm":
                val = a[j + 1:] or (argv[i + 1] if i + 1 < len(argv) else None)
                if val is None:
                    return None
                return "-c:" + re.sub(r"\d+", "#", val) if c == "c" else "-m:" + val
            if c in "WX":
                if j == len(a) - 1:
                    i += 1
                break
        i += 1
    return None


def image_key(program, argv, cwd):
    prog = os.path.realpath(normal(cwd, program))
    base = os.path.basename(prog)
    script = None
    if re.fullmatch(r"python[0-9.dmu]*", base):
        script = python_script(argv, cwd)
    return prog, script


def image_id(key):
    prog, script = key
    label = re.sub(r"[^A-Za-z0-9._-]", "_", os.path.basename(prog))[:32]
    if script:
        if script.startswith("-c:"):
            label += "-c"
        elif script.startswith("-m:"):
            label += "-" + re.sub(r"[^A-Za-z0-9._-]", "_", script[1:])[:32]
        else:
            label += "-" + re.sub(r"[^A-Za-z0-9._-]", "_", os.path.basename(script))[:32]
    if label[0] in ".-":
        label = "_" + label[1:]
    return label + "-" + hashlib.sha256(f"{prog}\0{script}".encode()).hexdigest()[:8]


def elf_interp(path):
    with open(path, "rb") as f:
        data = f.read(4096)
    if data[:4] != b"\x7fELF":
        return None
    import struct
    phoff = struct.unpack_from("<Q", data, 32)[0]
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    with open(path, "rb") as f:
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            ph = f.read(phentsize)
            ptype = struct.unpack_from("<I", ph, 0)[0]
            if ptype == 3:
                off = struct.unpack_from("<Q", ph, 8)[0]
                size = struct.unpack_from("<Q", ph, 32)[0]
                f.seek(off)
                return f.read(size).rstrip(b"\0").decode()
    return None


LINE = re.compile(r"^(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+|\?)")


def strace_run(cmd, cwd, out, extra_env=None):
    subprocess.run(["strace", "-f", "-qq", "-s", "4096", "-o", str(out),
                    "-e", "trace=open,openat,execve,clone,clone3,fork,vfork",
                    "-e", "signal=none", *cmd], cwd=cwd, env=env(**(extra_env or {})),
                   timeout=TIMEOUT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def parse_strv(s):
    return json.loads("[" + s + "]") if s else []


class Image:
    def __init__(self, key, argv):
        self.key = key
        self.id = image_id(key)
        self.argv = argv
        self.trusted = set()
        self.allowed = {}
        self.list = set()
        self.children = set()


VOLATILE = ("/dev/", "/proc/", "/sys/")


def sgxpy_bundle(dest, cmd, cwd, extra_env=None, manifest_opts=(), stdin_text=None):
    """The product's own pipeline: `sgxpy trace` CMD in cwd (dest.trace next to
    dest), then `sgxpy manifest` into dest.  Returns dest."""
    dest = Path(dest)
    trace = dest.parent / (dest.name + ".trace")
    subprocess.run([SGXPY, "trace", "-o", str(trace), "--", *map(str, cmd)], cwd=cwd,
                   env=env(**(extra_env or {})), input=stdin_text, text=True, check=True,
                   capture_output=True, timeout=TIMEOUT)
    subprocess.run([SGXPY, "manifest", *manifest_opts, "-o", str(dest), str(trace)], check=True,
                   capture_output=True, timeout=TIMEOUT)
    return dest


def make_bundle(dest, cmd, cwd, allow=(), extra_env=None, runs=1):
    """Trace cmd natively (runs times, merged: apps with racy process trees),
    write a bundle to dest (a directory).  allow: extra (path, tree, write)
    allow rules for every image.  Returns dest."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    images = {}
    root = None
    for n in range(runs):
        log = dest.parent / (dest.name + ".%d.strace" % n)
        strace_run(cmd, cwd, log, extra_env)
        r = parse_strace(log, str(cwd), images)
        root = root or r
    for img in images.values():
        for a in allow:
            img.allowed[a[0]] = (a[1], a[2])
    write_bundle(dest, images.values(), root)
    return dest


def parse_strace(log, cwd, images):
    """Add what the strace log at `log` shows to images; return the root image."""
    proc_img = {}
    pending = {}
    root = None
    # A vfork/clone child's lines can come before its parent's "= PID" line:
    # learn every parent first.
    parents = {}
    for raw in open(log, encoding="utf-8", errors="replace"):
        m = re.match(r"^(\d+)\s+(?:<\.\.\. )?(clone3?|v?fork)\b.*= (\d+)$", raw.strip())
        if m:
            parents[int(m.group(3))] = int(m.group(1))
    for raw in open(log, encoding="utf-8", errors="replace"):
        if "resumed>" in raw:
            # "<... openat resumed>) = 3": join with the unfinished half
            pid = raw.split()[0]
            if pid not in pending:
                continue
            raw = pending.pop(pid) + raw.split("resumed>", 1)[1]
        elif "<unfinished ...>" in raw:
            pending[raw.split()[0]] = raw.split("<unfinished ...>")[0]
            continue
        m = LINE.match(raw)
        if not m:
            continue
        pid, name, args, ret = m.groups()
        if ret == "?" or int(ret) < 0:
            continue
        pid = int(pid)
        if pid not in proc_img and pid in parents and parents[pid] in proc_img:
            proc_img[pid] = proc_img[parents[pid]]
        if name == "execve":
            mm = re.match(r'"((?:[^"\\]|\\.)*)", \[(.*?)\](?:, |$)', args)
            program = json.loads('"' + mm.group(1) + '"')
            argv = parse_strv(mm.group(2))
            # a #! script: the kernel runs the interpreter with the script path
            with open(normal(cwd, program), "rb") as f:
                head = f.readline(256)
            if head.startswith(b"#!"):
                words = head[2:].decode().split(None, 1)
                argv = words + [program] + argv[1:]
                program = words[0]
            key = image_key(program, argv, cwd)
            if key not in images:
                images[key] = Image(key, argv)
            img = images[key]
            if root is None:
                root = img
            elif pid in proc_img:
                proc_img[pid].children.add(img.id)
            proc_img[pid] = img
            real = key[0]
            img.trusted.add(real)
            interp = elf_interp(real)
            if interp:
                img.trusted.add(interp)
            continue
        if name in ("clone", "clone3", "fork", "vfork"):
            # The child may have exec'd before this "= PID" line (vfork's
            # parent resumes after the child's execve): keep what it became.
            if pid in proc_img:
                proc_img.setdefault(int(ret), proc_img[pid])
            continue
        img = proc_img.get(pid)
        if img is None:
            continue
        mm = re.match(r'(?:AT_FDCWD, )?"((?:[^"\\]|\\.)*)", ([A-Z_|]+)', args)
        if not mm:
            continue
        path = normal(cwd, json.loads('"' + mm.group(1) + '"'))
        flags = mm.group(2)
        write = any(f in flags for f in ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC"))
        if "O_PATH" in flags:
            continue
        if write or path.startswith(VOLATILE):
            img.allowed[path] = (False, write or img.allowed.get(path, (False, False))[1])
        elif os.path.isdir(path):
            img.list.add(path)
        elif os.path.isfile(path):
            img.trusted.add(path)
    return root


def write_bundle(dest, images, root):
    dest = Path(dest)
    (dest / "manifests").mkdir(parents=True, exist_ok=True)
    index = {}
    for img in images:
        prog, script = img.key
        m = {
            "format": "sgxpy-manifest/1",
            "id": img.id,
            "program": {"path": prog, "size": os.path.getsize(prog), "sha256": sha256_file(prog)},
            "script": script,
            "argv": img.argv,
            "trusted": [{"path": p, "size": os.path.getsize(p), "sha256": sha256_file(p)}
                        for p in sorted(img.trusted)],
            "allowed": [{"path": p, "tree": t, "write": w}
                        for p, (t, w) in sorted(img.allowed.items())],
            "stat": [],
            "list": sorted(img.list),
            "children": [{"id": c, "sha256": None} for c in sorted(img.children)],
        }
        data = (json.dumps(m, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\n").encode()
        (dest / "manifests" / f"{img.id}.json").write_bytes(data)
        index[img.id] = hashlib.sha256(data).hexdigest()
    b = {"format": "sgxpy-bundle/1", "root": root.id, "images": index,
         "options": {"allow": [], "trust": [], "exclude": []}, "traces": []}
    (dest / "bundle.json").write_bytes(
        (json.dumps(b, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\n").encode())


def rewrite_manifests(bundle, fn):
    """Apply fn(manifest dict) to every manifest and fix up the hashes."""
    bundle = Path(bundle)
    index = json.loads((bundle / "bundle.json").read_text())
    for mid in index["images"]:
        p = bundle / "manifests" / f"{mid}.json"
        m = json.loads(p.read_text())
        fn(m)
        data = (json.dumps(m, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\n").encode()
        p.write_bytes(data)
        index["images"][mid] = hashlib.sha256(data).hexdigest()
    (bundle / "bundle.json").write_bytes(
        (json.dumps(index, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\n").encode())


def run(bundle, cmd, cwd, *opts, extra_env=None, timeout=TIMEOUT, **kw):
    return subprocess.run([SGXPY, "run", *opts, str(bundle), "--", *cmd], cwd=cwd,
                          env=env(**(extra_env or {})), capture_output=True, text=True,
                          timeout=timeout, **kw)


def native(cmd, cwd, extra_env=None, timeout=TIMEOUT):
    return subprocess.run(cmd, cwd=cwd, env=env(**(extra_env or {})), capture_output=True,
                          text=True, timeout=timeout)
