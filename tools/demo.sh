#!/usr/bin/env bash
# Set up the edge install (no TensorFlow) and run the demo: the daemon on the bundled sample clip,
# an embedded MQTT broker, and a subscriber printing what a display receives; the TV page
# (displays/web) is served on localhost and its URL printed (opened where a browser is at hand).
#   ./tools/demo.sh               # 30 seconds
#   ./tools/demo.sh --seconds 60  # extra arguments go to `mood-edge demo`
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv-edge/bin/python ]; then
  python3 -m venv .venv-edge
fi
if [ ! -f .venv-edge/.installed ] || [ setup.py -nt .venv-edge/.installed ]; then
  .venv-edge/bin/pip install -q --upgrade pip
  # an editable install (the page, the clip and the models stay in this checkout); setuptools
  # prints a boxed "Editable installation ... be careful with folders named like the package"
  # note with every install, which is about its import hook, not news to a maker: only that is hidden
  PYTHONWARNINGS="ignore:Editable installation" .venv-edge/bin/pip install -q -e '.[demo]'
  touch .venv-edge/.installed
fi
# the TV page's mqtt.js: from displays/node_modules or, once, the npm registry (checked against
# package-lock.json); if neither works the demo says so in one line and runs in the terminal
if [ ! -f displays/web/vendor/mqtt.min.js ]; then
  .venv-edge/bin/python displays/fetch_mqtt_js.py --quiet 2>/dev/null || true
fi
exec .venv-edge/bin/mood-edge demo "$@"
