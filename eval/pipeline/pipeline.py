"""Multiprocess pipeline for sgxpy's evaluation (docs/evaluation.md).

    /usr/bin/python3 pipeline.py OUTDIR

Reads its configuration (config.json, next to this file: read by this image only),
then fans out:
  1. multiprocessing, fork:   a Pool of 2 workers counts words per line of corpus.txt
  2. multiprocessing, spawn:  a fresh interpreter (multiprocessing's spawn child)
                              computes letter frequencies
  3. subprocess, shell:       sh -c "tr ... | sort | uniq -c | sort -rn | head" over
                              the corpus (sh, tr, sort, uniq, head: one image each)
  4. subprocess, interpreter: /usr/bin/python3 stage2.py (a second script, its own
                              image) checksums the intermediate results
Writes OUTDIR/result.json and prints a summary that does not depend on pids,
timing or the start method's scheduling, so native and `sgxpy run` outputs compare
byte for byte.

Cross-image probe (for the least-privilege test): if PIPELINE_PROBE is set, every
child tries to open that path and reports "probe CHILD: ok" or "probe CHILD: ERRNO";
the children run the same images either way (env does not change an image key).
"""
import hashlib
import json
import multiprocessing as mp
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def probe(who):
    path = os.environ.get("PIPELINE_PROBE")
    if not path:
        return None
    try:
        with open(path, "rb") as f:
            f.read(1)
        return "probe %s: ok" % who
    except OSError as e:
        return "probe %s: %s" % (who, os.strerror(e.errno))


def count_words(line):
    return len(line.split())


def fork_probe(_):
    return probe("fork-worker")


def letter_freq(text, q):
    freq = {}
    for ch in text.lower():
        if ch.isalpha():
            freq[ch] = freq.get(ch, 0) + 1
    q.put((sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))[:5], probe("spawn-child")))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(HERE, "config.json")) as f:
        cfg = json.load(f)
    corpus = os.path.join(HERE, cfg["corpus"])
    with open(corpus) as f:
        lines = f.read().splitlines()
    probes = []

    # 1. fork pool
    with mp.get_context("fork").Pool(cfg["workers"]) as pool:
        words = pool.map(count_words, lines, chunksize=4)
        probes += [p for p in pool.map(fork_probe, range(1)) if p]

    # 2. spawn child
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=letter_freq, args=("\n".join(lines), q))
    p.start()
    top_letters, pr = q.get(timeout=60)
    p.join()
    if p.exitcode != 0:
        sys.exit("pipeline: spawn child exited %s" % p.exitcode)
    if pr:
        probes.append(pr)

    # 3. shell pipeline
    # One fixed script text (the text is part of the shell's image key); the probe
    # branch runs only when PIPELINE_PROBE is set.
    sh_cmd = ("tr -cs 'A-Za-z' '\\n' < \"$1\" | tr 'A-Z' 'a-z' | sort | uniq -c "
              "| sort -k1,1nr -k2,2 | head -n \"$2\"; "
              "if [ -n \"$PIPELINE_PROBE\" ]; then "
              "if x=$(head -c1 \"$PIPELINE_PROBE\" 2>&1); "
              "then echo 'probe shell-head: ok' >&2; else echo 'probe shell-head: denied' >&2; fi; fi")
    sh = subprocess.run(["/bin/sh", "-c", sh_cmd, "sh", corpus, str(cfg["top"])], capture_output=True,
                        text=True, check=True)
    top_words = [ln.split() for ln in sh.stdout.splitlines()]
    probes += [ln for ln in sh.stderr.splitlines() if ln.startswith("probe ")]

    inter = os.path.join(out, "intermediate.json")
    with open(inter, "w") as f:
        json.dump({"words": words, "letters": top_letters, "top": top_words}, f, sort_keys=True)

    # 4. second interpreter
    st2 = subprocess.run([sys.executable, os.path.join(HERE, "stage2.py"), inter],
                         capture_output=True, text=True, check=True)
    digest = st2.stdout.strip()
    probes += [ln for ln in st2.stderr.splitlines() if ln.startswith("probe ")]

    result = {"lines": len(lines), "words": sum(words), "top_letters": top_letters,
              "top_words": top_words, "stage2": digest,
              "config_sha256": hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()}
    with open(os.path.join(out, "result.json"), "w") as f:
        json.dump(result, f, sort_keys=True, indent=1)
    print("pipeline: %d lines, %d words" % (result["lines"], result["words"]))
    print("pipeline: top letters %s" % " ".join("%s=%d" % kv for kv in top_letters))
    print("pipeline: top words %s" % " ".join("%s=%s" % (w, n) for n, w in top_words))
    print("pipeline: stage2 %s" % digest)
    for pr in sorted(probes):
        print(pr, file=sys.stderr)


if __name__ == "__main__":
    main()
