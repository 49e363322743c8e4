#!/bin/sh
# bench/stress.sh - full-size stress runs of the robustness issue, with figures.
#
#   bench/stress.sh            # everything (about 3-5 minutes on 2 cores)
#   SGXPY=... PROGS=... bench/stress.sh
#
# 1. The e2e stress tests at full size (SGXPY_STRESS_FULL=1): 1,000 processes,
#    64 threads x 50 files, a 50-deep fork+exec tree, 1,000,000 file events,
#    each under `sgxpy trace` (counts compared with the trace) and under
#    `sgxpy run` (counts compared with the disk).
# 2. Peak RSS of `sgxpy trace` and `sgxpy run` against the number of file
#    events (/usr/bin/time -v, largest process of the tree: sgxpy itself, the
#    workload stays under 2 MB), and the slope in kB per 100k events.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SGXPY=${SGXPY:-$ROOT/build/sgxpy}
PROGS=${PROGS:-$ROOT/build/progs}
export SGXPY PROGS
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

echo "== full-size stress tests (SGXPY_STRESS_FULL=1)"
SGXPY_STRESS_FULL=1 /usr/bin/python3 -m pytest -q -s -p no:cacheprovider \
	"$ROOT/tests/e2e/test_stress.py" 2>&1 | grep -E '^(trace|run):|passed|failed|Error'

peak() { # peak RSS (kB) and wall time of a command; its stdout to $TMP/out
	/usr/bin/time -v "$@" >"$TMP/out" 2>"$TMP/time" || { cat "$TMP/time" >&2; exit 1; }
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$TMP/time")
	wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$TMP/time")
}

echo
echo "== peak RSS against file events (stress_events: N distinct failed opens)"
printf '%-6s %10s %10s %12s %10s %12s %10s\n' mode events rows peak_kB wall kB/100k_ev lost
mkdir -p "$TMP/w"
for mode in trace run; do
	if [ $mode = run ]; then
		"$SGXPY" trace -o "$TMP/b.trace" -- "$PROGS/stress_events" 10 "$TMP/w" >/dev/null
		"$SGXPY" manifest --allow "$TMP/w" -o "$TMP/b.bundle" "$TMP/b.trace"
	fi
	first_rss=; first_n=
	for n in 100000 250000 500000 1000000; do
		rm -f "$TMP/e.trace"
		if [ $mode = trace ]; then
			peak "$SGXPY" trace -o "$TMP/e.trace" -- "$PROGS/stress_events" $n "$TMP/w"
			rows=$(sqlite3 "$TMP/e.trace" "SELECT COUNT(*) FROM files WHERE mode='read' AND err=2 AND path LIKE '$TMP/w/n%'")
		else
			peak "$SGXPY" run "$TMP/b.bundle" -- "$PROGS/stress_events" $n "$TMP/w"
			rows=$(sed -n 's/.*enoent=\([0-9]*\).*/\1/p' "$TMP/out")
		fi
		if [ -z "$first_rss" ]; then first_rss=$rss; first_n=$n; slope=-; else
			slope=$(( (rss - first_rss) * 100000 / (n - first_n) )); fi
		printf '%-6s %10s %10s %12s %10s %12s %10s\n' $mode $n "$rows" "$rss" "$wall" "$slope" $((n - rows))
	done
done

echo
echo "== peak RSS, processes and threads"
printf '%-6s %-28s %12s %10s\n' mode workload peak_kB wall
for w in "stress_procs 667" "stress_threads 64 50" "stress_deep 50"; do
	set -- $w
	prog=$1; shift
	rm -rf "$TMP/w"; mkdir -p "$TMP/w"
	case $prog in
	stress_threads) args="$1 $TMP/w $2"; small="2 $TMP/w 1" ;;
	*) args="$1 $TMP/w"; small="2 $TMP/w" ;;
	esac
	peak "$SGXPY" trace -o "$TMP/p.trace" -- "$PROGS/$prog" $args
	printf '%-6s %-28s %12s %10s   %s\n' trace "$prog $*" "$rss" "$wall" "$(tail -1 "$TMP/out")"
	"$SGXPY" trace -o "$TMP/s.trace" -- "$PROGS/$prog" $small >/dev/null
	rm -rf "$TMP/s.bundle" "$TMP/w"; mkdir -p "$TMP/w"
	"$SGXPY" manifest --allow "$TMP/w" -o "$TMP/s.bundle" "$TMP/s.trace"
	peak "$SGXPY" run "$TMP/s.bundle" -- "$PROGS/$prog" $args
	printf '%-6s %-28s %12s %10s   %s\n' run "$prog $*" "$rss" "$wall" "$(tail -1 "$TMP/out")"
done
