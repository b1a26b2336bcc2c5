#!/usr/bin/env bash
# Instructions per frame, per stage and per scene, the way the Pi runs the pipeline: the real
# Picamera2Source reading 1280x960 main and 800x600 lores YUV420 buffers from a stand-in picamera2
# (tools/pi/stage_cost.py --picamera2), counted by valgrind's callgrind on this machine.
#
#   tools/pi/callgrind-cost.sh [stage_cost.py options, e.g. --scenes empty,walkin --frames 150]
#
# x86-64 instructions are a proxy for the Pi 4's aarch64 ones (tools/pi-emulated-test.sh --cost
# counts those under qemu, where an arm64 root and qemu-user are at hand): the same code paths and
# the same work per pixel, different SIMD widths. Needs valgrind (with valgrind/callgrind.h), a C
# compiler and the repository's .venv (scikit-image for the scenes). Slow (~50x): run it niced, once.
# Writes $COST_OUT (default /tmp/mood-edge-callgrind-cost): guest.txt, marks.txt, cost.json.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${COST_OUT:-/tmp/mood-edge-callgrind-cost}
PY=${PYTHON:-$REPO/.venv/bin/python}
command -v valgrind >/dev/null || { echo "callgrind-cost: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
[ -f /usr/include/valgrind/callgrind.h ] || { echo "callgrind-cost: /usr/include/valgrind/callgrind.h is missing (apt-get install valgrind)" >&2; exit 2; }
[ -x "$PY" ] || { echo "callgrind-cost: no Python at $PY (set PYTHON=)" >&2; exit 2; }
mkdir -p "$OUT/dumps"
rm -f "$OUT"/dumps/cg.out*
cc -shared -fPIC -O2 -o "$OUT/callgrind-mark.so" "$REPO/tools/pi/callgrind-mark.c"
cd "$REPO"
MOOD_EDGE_MARK_LIB="$OUT/callgrind-mark.so" PYTHONDONTWRITEBYTECODE=1 \
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/dumps/cg.out" --dump-instr=no --dump-line=no \
    "$PY" tools/pi/stage_cost.py --picamera2 "$@" > "$OUT/guest.txt" 2> "$OUT/valgrind.log" \
    || { tail -20 "$OUT/valgrind.log" >&2; echo "callgrind-cost: the counted run failed (log: $OUT/valgrind.log)" >&2; exit 1; }
python3 tools/pi/callgrind_marks.py "$OUT/dumps/cg.out" > "$OUT/marks.txt"
rm -f "$OUT"/dumps/cg.out*
python3 tools/pi/stage_cost_report.py "$OUT/marks.txt" "$OUT/guest.txt" "x86-64 callgrind (proxy for the Pi 4)" "$OUT/cost.json"
echo "(written to $OUT/cost.json)"
