#!/usr/bin/env bash
# A cached virtual environment with the real Home Assistant Core, for tests/test_home_assistant_real.py.
#   tools/ha-env.sh            # create or check it; prints its path on the last line
# Where: $MOOD_EDGE_HA_ENV, else .cache/ha-<version> in this checkout (built once, then reused: a stamp
# holds the hash of tools/ha-requirements.txt). Which Python: $MOOD_EDGE_HA_PYTHON, else python3.13 on
# PATH, else pyenv's 3.13.x. Home Assistant 2025.4 needs Python 3.13 (3.11 stops at 2024.3).
# Where there is no Python 3.13 it says so in one line and exits 0: the test then skips, naming the same.
# Cold: about 3 minutes on 2 cores (175 s measured; a few wheels build from source); warm: 0.03 s.
set -euo pipefail
cd "$(dirname "$0")/.."

REQS=tools/ha-requirements.txt
VERSION=$(sed -n 's/^homeassistant==\([0-9.]*\)$/\1/p' "$REQS")
[ -n "$VERSION" ] || { echo "ha-env: $REQS: no 'homeassistant==<version>' line" >&2; exit 2; }
ENV_DIR=${MOOD_EDGE_HA_ENV:-.cache/ha-$VERSION}

is_313() { [ -n "$1" ] && [ -x "$1" ] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null; }

find_python() {  # the first candidate that really is 3.13 (a pyenv shim for another version is not)
  local p roots=("${PYENV_ROOT:-$HOME/.pyenv}")
  command -v pyenv >/dev/null 2>&1 && roots+=("$(pyenv root)")
  for p in "${MOOD_EDGE_HA_PYTHON:-}" "$(command -v python3.13 || true)" "${roots[@]/%//versions/3.13*/bin/python}"; do
    for p in $p; do is_313 "$p" && { echo "$p"; return; }; done
  done
  return 0
}

stamp="$ENV_DIR/.installed-$(sha256sum "$REQS" | cut -c1-16)"
if [ -f "$stamp" ]; then
  echo "$ENV_DIR"
  exit 0
fi
PY=$(find_python)
if [ -z "$PY" ]; then
  echo "ha-env: no Python 3.13 (set MOOD_EDGE_HA_PYTHON, or put python3.13 on PATH): Home Assistant $VERSION is not installed and its test skips"
  exit 0
fi

echo "==> Home Assistant $VERSION into $ENV_DIR (Python $("$PY" -c 'import platform; print(platform.python_version())'); once)"
rm -rf "$ENV_DIR"
"$PY" -m venv "$ENV_DIR"
"$ENV_DIR/bin/pip" install -q --upgrade pip
# Home Assistant's own pins: package_constraints.txt inside the wheel (without it pip backtracks for ages).
dl=$(mktemp -d)
trap 'rm -rf "$dl"' EXIT
"$ENV_DIR/bin/pip" download -q --no-deps "homeassistant==$VERSION" -d "$dl"
"$ENV_DIR/bin/python" - "$dl" <<'PY'
import sys, zipfile, pathlib
d = pathlib.Path(sys.argv[1])
(wheel,) = d.glob("homeassistant-*.whl")
with zipfile.ZipFile(wheel) as z:
    (d / "constraints.txt").write_bytes(z.read("homeassistant/package_constraints.txt"))
PY
"$ENV_DIR/bin/pip" install -q -r "$REQS" -c "$dl/constraints.txt"
"$ENV_DIR/bin/python" -c 'import homeassistant.const as c, paho.mqtt; print("==> Home Assistant", c.__version__, "ready")'
touch "$stamp"
echo "$ENV_DIR"
