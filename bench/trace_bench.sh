#!/bin/sh
# Trace overhead on `python3 -c "import numpy"`: native, sgxpy trace, strace
# (--seccomp-bpf, %file,%process) and reprozip trace, measured side by side in
# one hyperfine run; prints the median of each and its ratio to native.
#
#   bench/trace_bench.sh [RUNS]      (default 15 runs each, 3 warm-ups)
#
# Needs hyperfine, strace and (optional) reprozip from Debian.
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-15}
SGXPY=${SGXPY:-$PWD/build/sgxpy}
PY=/usr/bin/python3
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
APP="$PY -c 'import numpy'"

set -- "$APP" \
	"$SGXPY trace -o $WORK/t.trace -- $APP" \
	"strace -f -qq --seccomp-bpf -e trace=%file,%process -o /dev/null $APP"
if command -v reprozip >/dev/null; then
	set -- "$@" "rm -rf $WORK/rz; reprozip trace -d $WORK/rz --dont-identify-packages $APP"
fi
hyperfine -N -w 3 -r "$RUNS" --export-json "$WORK/h.json" "$@" >/dev/null 2>&1 ||
	hyperfine -w 3 -r "$RUNS" --export-json "$WORK/h.json" "$@" >/dev/null

"$SGXPY" trace -v -o "$WORK/t.trace" -- $PY -c 'import numpy' 2>"$WORK/stats" || true
$PY - "$WORK/h.json" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
base = res[0]["median"]
names = ["native", "sgxpy trace", "strace --seccomp-bpf", "reprozip trace"]
print(f"{'workload: python3 -c import numpy':40s} {'median ms':>10s} {'x native':>9s}")
for name, r in zip(names, res):
    print(f"{name:40s} {r['median']*1000:10.1f} {r['median']/base:9.2f}")
PY
sed 's/^/# /' "$WORK/stats"
