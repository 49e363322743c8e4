#!/bin/sh
# manifest_bench.sh - the manifest stage's two performance figures.
#
#   1. Hashing throughput: bytes/s that `sgxpy manifest` hashes over the files
#      of a NumPy trace (page cache warm; median of RUNS runs, as reported by
#      --stats), against `openssl speed -evp sha256 -bytes 1048576` x nproc.
#      Also the whole command's rate (hashed bytes / wall time of the command).
#   2. Minimality: files and bytes `python3 -c "import numpy"` trusts, against
#      what Gramine's Python example trusts (every file under sys.path).
#
# usage: bench/manifest_bench.sh [SGXPY]    (default build/sgxpy)
# env:   RUNS (default 15), SECONDS_SPEED (openssl speed seconds, default 3)
set -eu
SGXPY=${1:-${SGXPY:-build/sgxpy}}
SGXPY=$(readlink -f "$SGXPY")
PY=/usr/bin/python3
RUNS=${RUNS:-15}
SPEED_SECONDS=${SECONDS_SPEED:-3}
W=$(mktemp -d /tmp/sgxpy-mbench.XXXXXX)
trap 'rm -rf "$W"' EXIT INT TERM

cd "$W"
"$SGXPY" trace -o np.trace -- "$PY" -c "import numpy" >/dev/null
"$SGXPY" manifest -o warm np.trace            # warms the page cache

i=0
: > rates
while [ $i -lt "$RUNS" ]; do
	t0=$(date +%s%N)
	"$SGXPY" manifest --stats -o b np.trace 2> stats
	t1=$(date +%s%N)
	# "... hashed N files, B bytes in S s (R MB/s)"
	bytes=$(sed -n 's/.*files, \([0-9]*\) bytes in \([0-9.]*\) s.*/\1/p' stats)
	secs=$(sed -n 's/.*files, \([0-9]*\) bytes in \([0-9.]*\) s.*/\2/p' stats)
	files=$(sed -n 's/.*hashed \([0-9]*\) files.*/\1/p' stats)
	echo "$bytes $secs $((t1 - t0))" >> rates
	i=$((i + 1))
done

ncpu=$(nproc)
# openssl prints "sha256  <k bytes per second>k" on its last line.
speed_k=$(openssl speed -evp sha256 -bytes 1048576 -seconds "$SPEED_SECONDS" 2>/dev/null |
	  awk '/^sha256/ {v=$2} END {sub(/k$/, "", v); print v}')

awk -v ncpu="$ncpu" -v speed_k="$speed_k" -v files="$files" '
{ hash[NR] = $1 / $2 / 1e6; wall[NR] = $1 / ($3 / 1e9) / 1e6; bytes = $1 }
function median(a, n,   i, j, t) {
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
END {
	n = NR
	h = median(hash, n); w = median(wall, n)
	ref = speed_k * 1000 / 1e6 * ncpu
	printf "hashing: %d distinct files, %.1f MB per run, %d runs\n", files, bytes / 1e6, n
	printf "  sgxpy manifest hashing phase : %8.0f MB/s (median)\n", h
	printf "  sgxpy manifest whole command : %8.0f MB/s (median, hashed bytes / wall time)\n", w
	printf "  openssl speed x %d cores     : %8.0f MB/s (%.0f MB/s per core)\n", ncpu, ref, ref / ncpu
	printf "  ratio hashing / openssl      : %8.0f %%  (target >= 80 %%)\n", 100 * h / ref
	printf "  ratio whole / openssl        : %8.0f %%\n", 100 * w / ref
}' rates

# Minimality.  Gramine's Python example lists every sys.path directory.
"$PY" - "$W/b" <<'PYEOF'
import json, os, sys, glob
b = sys.argv[1]
idx = json.load(open(os.path.join(b, "bundle.json")))
root = json.load(open(os.path.join(b, "manifests", idx["root"] + ".json")))
trusted = root["trusted"]
n_t, b_t = len(trusted), sum(t["size"] for t in trusted)
# Gramine export of the same trace: trusted tables (incl. stat-only .py files).
import re
tmpl = open(os.path.join(b, "gramine", "app.manifest.template")).read()
g_uris = re.findall(r'uri = "file:([^"]+)", sha256', tmpl)
g_bytes = sum(os.path.getsize(p) for p in g_uris if os.path.isfile(p))
seen, n_all, b_all = set(), 0, 0
for d in sys.path[1:]:
    if not os.path.isdir(d):
        continue
    for dp, dn, fn in os.walk(d):
        for f in fn:
            p = os.path.join(dp, f)
            try:
                st = os.stat(p)
            except OSError:
                continue
            if not os.path.isfile(p) or (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            n_all += 1
            b_all += st.st_size
print('minimality: python3 -c "import numpy"')
print("  sgxpy image (trusted, opened)   : %5d files %7.1f MB" % (n_t, b_t / 1e6))
print("  sgxpy Gramine export (+stat-only): %5d files %7.1f MB" % (len(g_uris), g_bytes / 1e6))
print("  Gramine example (all of sys.path): %5d files %7.1f MB" % (n_all, b_all / 1e6))
print("  sgxpy trusts %.1f %% of the files, %.1f %% of the bytes" % (100 * n_t / n_all, 100 * b_t / b_all))
PYEOF
