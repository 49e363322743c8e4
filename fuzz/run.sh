#!/bin/sh
# fuzz/run.sh [SECONDS] - build every libFuzzer target (fuzz/*.c and any in
# tests/fuzz/) and run each for SECONDS (default 20) on its seed corpus
# fuzz/corpus/<name>/ (read only; new inputs go to fuzz/out/<name>/corpus).
# Prints one line per target: runs, coverage, crashes; exits 1 if any target
# found a crash (the input is saved as fuzz/out/<name>/crash-*), else 0.
#
# Long runs: fuzz/run.sh 3600     (JOBS=2 fuzz/run.sh 3600: libFuzzer -fork=2 per target)
# Reproduce:  fuzz/build/<name> fuzz/out/<name>/crash-...
set -u
cd "$(dirname "$0")"
SECONDS_EACH=${1:-20}
JOBS=${JOBS:-1}
make -s -j2 all >out-build.log 2>&1 || { cat out-build.log; echo "fuzz: build failed" >&2; exit 2; }
rm -f out-build.log
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fail=0
for name in $(make -s list); do
	out=out/$name
	mkdir -p "$out/corpus"
	seeds=corpus/$name
	[ -d "$seeds" ] || seeds=
	dict=
	[ -f "$name.dict" ] && dict=-dict=$name.dict
	# ELF seeds: this host's own programs (not kept in the repo)
	[ "$name" = elf ] && cp /bin/true "$out/corpus/seed-true" 2>/dev/null
	# max_len per target: traces are SQLite files of a few KB
	case $name in
	store) maxlen=16384 ;; elf) maxlen=40000 ;; tests-*) maxlen=8192 ;; cli) maxlen=512 ;; *) maxlen=4096 ;;
	esac
	log=$out/log.txt
	par=
	[ "$JOBS" -gt 1 ] && par="-fork=$JOBS"
	./build/$name -max_total_time="$SECONDS_EACH" -max_len=$maxlen -timeout=25 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$out/" $par $dict \
		"$out/corpus" $seeds >"$log" 2>&1
	rc=$?
	runs=$(grep -a 'stat::number_of_executed_units' "$log" | awk '{s+=$2} END {print s+0}')
	cov=$(grep -a -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
	crashes=$(ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-* 2>/dev/null | wc -l)
	printf '%-14s runs %9s  cov %5s  crashes %s  (%ss)\n' "$name" "$runs" "${cov:-?}" "$crashes" "$SECONDS_EACH"
	if [ $rc -ne 0 ] || [ "$crashes" -ne 0 ]; then
		fail=1
		grep -a -m5 -E 'FUZZ PROPERTY FAILED|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' "$log" | sed 's/^/    /'
	fi
done
exit $fail
