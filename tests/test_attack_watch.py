"""Issue 22 rows 4 and 13: ``mood-edge watch`` against hostile messages and against no broker.

Row 4: a retained state whose film title (and mood, device text, genres) is a lone surrogate
(``"\\ud800"`` in JSON) killed watch with ``UnicodeEncodeError``, in plain and terminal mode, and
with ``--device-id all`` one such device killed the view of every device. Here it goes through a
real terminal (a pty) from a real mosquitto, whose terminal encoding cannot print a surrogate.
Row 13: against a broker that is not there watch printed nothing (or "connecting..." forever)
and exited 0 on --timeout; its --help promises exit 2.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import pty_helpers
from mqtt_helpers import free_port, publish
from state_helpers import state

ROOT = Path(__file__).resolve().parent.parent

#: JSON text as a hostile publisher writes it: "\ud800" is valid JSON, a lone surrogate in Python
HOSTILE = ('{"schema":1,"device":"evil","mood":"happy\\ud800","confidence":0.5,"faces":1,'
           '"recommendations":[{"title":"\\ud800","year":2001,"genres":["\\udfff"],'
           '"reasons":["\\ud800\\u001b[2J"],"rating":"\\ud800"}],"camera":"ok\\ud800",'
           '"strategy":"\\ud800","since":"\\ud800","updated":"x"}')



def run_in_pty(args: list[str], timeout: float = 60, env: dict | None = None) -> tuple[int, str]:
    """Run ``mood-edge watch ARGS`` on a real terminal; its exit status and everything it showed."""
    rc, out = pty_helpers.run_in_pty([sys.executable, "-m", "edge", "watch", *args], timeout, env)
    return rc, out.decode("utf-8", "replace")


#: a terminal whose encoding is UTF-8 (the usual) and one that is not (an old serial console)
ENCODINGS = [{"LC_ALL": "C.UTF-8"}, {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0",
                                     "PYTHONIOENCODING": "latin-1"}]


@pytest.mark.parametrize("env", ENCODINGS, ids=["utf8", "latin1"])
def test_a_retained_lone_surrogate_title_does_not_kill_watch_in_plain_mode(broker, env):
    publish(broker.port, "surr1/evil/state", HOSTILE)
    rc, text = run_in_pty(["--broker", broker.url, "--prefix", "surr1", "--device-id", "evil", "--plain",
                           "--count", "1", "--timeout", "60"], env=env)
    assert rc == 0, text
    assert "Traceback" not in text and "UnicodeEncodeError" not in text
    assert "evil: mood=happy" in text and "films=" in text
    assert "\x1b[2J" not in text  # the escape in a reason never reaches the terminal


@pytest.mark.parametrize("env", ENCODINGS, ids=["utf8", "latin1"])
def test_a_retained_lone_surrogate_title_does_not_kill_watchs_terminal_view(broker, env):
    publish(broker.port, "surr2/evil/state", HOSTILE)
    rc, text = run_in_pty(["--broker", broker.url, "--prefix", "surr2", "--device-id", "evil",
                           "--count", "1", "--timeout", "60"], env=env)
    assert rc == 0, text
    assert "Traceback" not in text and "UnicodeEncodeError" not in text
    assert "HAPPY" in text and "(2001)" in text
    assert "\x1b[?1049h" in text and text.rstrip().endswith("\x1b[?1049l")  # the screen restored


@pytest.mark.parametrize("plain", [True, False], ids=["plain", "terminal"])
def test_one_device_with_a_lone_surrogate_does_not_hide_the_other_devices_in_watch_all(broker, plain):
    publish(broker.port, "surr3/evil/state", HOSTILE)
    publish(broker.port, "surr3/good/state", state(device="good", mood="sad"))
    args = ["--broker", broker.url, "--prefix", "surr3", "--count", "2", "--timeout", "60"]
    rc, text = run_in_pty(args + (["--plain"] if plain else []), env=ENCODINGS[1])
    assert rc == 0, text
    assert "Traceback" not in text
    if plain:
        assert "good: mood=sad" in text and "evil: mood=happy" in text
    else:
        assert "SAD" in text and "HAPPY" in text and "Paddington 2" in text


# -- row 13: no broker ---------------------------------------------------------------------------
def test_watch_against_no_broker_says_so_retries_and_exits_2_at_the_timeout(cli):
    port = free_port()
    started = time.monotonic()
    r = cli("watch", "--broker", f"mqtt://127.0.0.1:{port}", "--plain", "--timeout", "4", timeout=60)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert time.monotonic() - started >= 4  # it kept trying until the timeout
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert any(f"no broker at 127.0.0.1:{port}" in line and "retrying" in line for line in lines), r.stderr
    assert f"cannot reach the broker at 127.0.0.1:{port}" in lines[-1]
    assert "Traceback" not in r.stderr
    assert len(lines) <= 6  # a status per attempt, with backoff: not one per paho retry


def test_watch_against_no_broker_shows_the_status_on_its_terminal_view_and_exits_2():
    port = free_port()
    rc, text = run_in_pty(["--broker", f"mqtt://127.0.0.1:{port}", "--timeout", "3"])
    assert rc == 2, text
    assert f"no broker at 127.0.0.1:{port}" in text and "retrying" in text
    assert f"cannot reach the broker at 127.0.0.1:{port}" in text
    assert "Traceback" not in text


def test_watch_reaches_a_broker_that_starts_after_it():
    from mqtt_helpers import Mosquitto

    b = Mosquitto()
    p = subprocess.Popen([sys.executable, "-m", "edge", "watch", "--broker", b.url, "--plain", "--count", "1",
                          "--timeout", "60"], cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert "no broker at" in p.stderr.readline()  # it has tried once: the broker comes up now
        b.start()
        publish(b.port, "mood-edge/late1/state", state(device="late1"))
        assert p.wait(60) == 0
        assert p.stdout.read().startswith("late1: mood=happy")
    finally:
        p.kill()
        p.wait()
        b.stop()
