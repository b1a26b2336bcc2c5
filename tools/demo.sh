#!/usr/bin/env bash
# Set up the edge install (no TensorFlow) and run the demo: the daemon on the bundled sample clip,
# an embedded MQTT broker, and a subscriber printing what a display receives.
#   ./tools/demo.sh               # 30 seconds
#   ./tools/demo.sh --seconds 60  # extra arguments go to `mood-edge demo`
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv-edge/bin/python ]; then
  python3 -m venv .venv-edge
fi
if [ ! -f .venv-edge/.installed ] || [ setup.py -nt .venv-edge/.installed ]; then
  .venv-edge/bin/pip install -q --upgrade pip
  .venv-edge/bin/pip install -q -e '.[demo]'
  touch .venv-edge/.installed
fi
exec .venv-edge/bin/mood-edge demo "$@"
