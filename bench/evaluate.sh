#!/bin/sh
# bench/evaluate.sh - sgxpy's whole evaluation on software nobody here wrote, in one
# command; writes docs/evaluation.md and docs/evaluation.png.
#
#   bench/evaluate.sh [--quick]
#
#   1. NumPy's own test suite (Debian python3-numpy), native / traced / under run,
#      per subpackage                                    bench/eval_numpy.py suite
#   2. generalisation: bundle from half the test modules, run the other half
#                                                        bench/eval_numpy.py split
#   3. Flask under gunicorn (2 forked workers), wrk on 127.0.0.1, tamper while
#      serving                                           bench/eval_web.py
#   4. multiprocess pipeline (fork, spawn, shell, second interpreter), same output,
#      per-image least privilege                         bench/eval_pipeline.py
#   5. the run issue's figures: import numpy, numpy.linalg+fft tests, paired
#                                                        bench/eval_figures.py
#   6. the report and the chart                          bench/eval_report.py
#
# --quick: numpy.fft + numpy.linalg instead of the whole suite, fewer rounds (a few
# minutes; the report says so).  The full run takes about 25 minutes on 2 cores.
# Needs: make (build/sgxpy), Debian python3-numpy python3-pytest python3-hypothesis
# python3-typing-extensions python3-flask gunicorn wrk strace gnuplot-nox.
# SGXPY=/path/to/sgxpy overrides the binary; EVAL_OUT the results dir (build/eval).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PY=/usr/bin/python3
export SGXPY=${SGXPY:-$ROOT/build/sgxpy}
OUT=${EVAL_OUT:-$ROOT/build/eval}
QUICK=
[ "${1:-}" = "--quick" ] && QUICK=1
[ -x "$SGXPY" ] || { echo "evaluate.sh: $SGXPY missing: run make first" >&2; exit 2; }
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
unset PYTHONPATH PYTHONHOME LD_PRELOAD LD_LIBRARY_PATH
mkdir -p "$OUT"
rm -f "$OUT"/*.json
date -u +%Y-%m-%dT%H:%M:%SZ > "$OUT/started"
if [ -n "$QUICK" ]; then
	$PY "$HERE/eval_numpy.py" suite --targets numpy.fft,numpy.linalg --out "$OUT"
	$PY "$HERE/eval_web.py" --rounds 1 --duration 3 --out "$OUT"
	$PY "$HERE/eval_pipeline.py" --n 3 --out "$OUT"
	$PY "$HERE/eval_figures.py" --n 5 --n-tests 2 --out "$OUT"
else
	$PY "$HERE/eval_numpy.py" suite --out "$OUT"
	$PY "$HERE/eval_numpy.py" split --out "$OUT"
	$PY "$HERE/eval_web.py" --rounds 3 --duration 5 --out "$OUT"
	$PY "$HERE/eval_pipeline.py" --n 7 --out "$OUT"
	$PY "$HERE/eval_figures.py" --n 15 --n-tests 5 --out "$OUT"
fi
date -u +%Y-%m-%dT%H:%M:%SZ > "$OUT/finished"
$PY "$HERE/eval_report.py" --results "$OUT" --command "bench/evaluate.sh${QUICK:+ --quick}"
