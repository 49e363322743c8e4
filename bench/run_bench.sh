#!/bin/sh
# bench/run_bench.sh - what `sgxpy run` costs, as ratios measured in one run.
#
#   bench/run_bench.sh [N]        (N paired runs for the short benchmarks, default 20)
#
# Bundles come from the real pipeline (sgxpy trace + sgxpy manifest) in a tmp dir.
# Every run verifies every hash again: the verdict cache lives only as long as
# one `sgxpy run`.  Targets (issue): import numpy <= 1.20, gunicorn/Flask req/s
# >= 90% of native, numpy.linalg + numpy.fft tests <= 1.15.
set -eu
N=${1:-20}
HERE=$(cd "$(dirname "$0")" && pwd)
SGXPY=${SGXPY:-$HERE/../build/sgxpy}
PY=/usr/bin/python3
W=$(mktemp -d /tmp/sgxpy-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"
# a private copy: a rebuild of build/sgxpy during the benchmark must not break it
cp "$SGXPY" "$W/sgxpy"
SGXPY=$W/sgxpy
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
unset PYTHONPATH PYTHONHOME LD_PRELOAD LD_LIBRARY_PATH

bundle() { # NAME CMD...: trace CMD and make NAME.bundle
	name=$1; shift
	"$SGXPY" trace -o "$name.trace" -- "$@" >/dev/null 2>&1 || true
	"$SGXPY" manifest -o "$name.bundle" "$name.trace" >/dev/null
}

echo "== host: $(nproc) CPUs, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== sgxpy run -v on import numpy:"
bundle np $PY -c "import numpy"
"$SGXPY" run -v np.bundle -- $PY -c "import numpy" 2>&1 | sed 's/^/   /'

echo "== 1. python3 -c 'import numpy' (target <= 1.20)"
$PY "$HERE/run_pair.py" "$N" "$PY -c 'import numpy'" \
	"$SGXPY run np.bundle -- $PY -c 'import numpy'"
echo "   same with --seal (sealed memfd copies):"
$PY "$HERE/run_pair.py" "$N" "$PY -c 'import numpy'" \
	"$SGXPY run --seal np.bundle -- $PY -c 'import numpy'"

echo "   the fixed part of that: python3 -c pass (program hash, start-up, exit):"
bundle pass $PY -c pass
$PY "$HERE/run_pair.py" "$N" "$PY -c pass" "$SGXPY run pass.bundle -- $PY -c pass"

echo "== 2. numpy.linalg and numpy.fft test modules (target <= 1.15)"
NP=/usr/lib/python3/dist-packages/numpy
TESTS="$PY -B -m pytest -q -p no:cacheprovider --noconftest $NP/linalg/tests $NP/fft/tests"
bundle nt $TESTS
$PY "$HERE/run_pair.py" 3 "$TESTS" "$SGXPY run nt.bundle -- $TESTS"

echo "== 3. Flask under gunicorn, 2 forked workers, wrk on loopback (target >= 90%)"
cp "$HERE/run_flask_app.py" app.py
GUNI="$PY /usr/bin/gunicorn -w 2 -b 127.0.0.1:18731 --chdir $W app:app"
serve() { # CMD...: start the server, wait for it
	"$@" >/dev/null 2>&1 &
	SERVER=$!
	for _ in $(seq 50); do
		curl -s -o /dev/null http://127.0.0.1:18731/ && return 0
		sleep 0.1
	done
	echo "server did not start" >&2
	return 1
}
stop() { kill -TERM "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null || true; }
# trace: start under the tracer, a few requests, stop
serve "$SGXPY" trace -o g.trace -- $GUNI
for _ in 1 2 3 4 5; do curl -s -o /dev/null http://127.0.0.1:18731/; done
stop
"$SGXPY" manifest -o g.bundle g.trace >/dev/null
rps() { wrk -t2 -c16 -d${1}s http://127.0.0.1:18731/ | awk '/Requests\/sec/ {print $2}'; }
RATIOS=""
for round in 1 2 3 4 5; do
	serve $GUNI; nat=$(rps 4); stop
	serve "$SGXPY" run g.bundle -- $GUNI; run=$(rps 4); stop
	r=$(echo "$run $nat" | awk '{printf "%.3f", $1/$2}')
	RATIOS="$RATIOS $r"
	echo "   round $round: native $nat req/s, run $run req/s, run/native $r"
done
echo "   median run/native: $(echo $RATIOS | tr ' ' '\n' | sort -n | sed -n 3p)"
echo "== load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
