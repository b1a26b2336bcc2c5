"""The daemon's feedback topic on a plain broker with no packet limit (a broker of the household's own,
not the shipped config): what reaches the daemon is bounded by the daemon itself.

One real mosquitto (anonymous, no max_packet_size), the real daemon on a camera folder with a face.
Nothing here asserts a duration; the waits are generous limits only.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from edge.recommend.taste import TASTE_FILE, TasteStore

from daemon_helpers import astronaut_folder, daemon_cmd, fast_config, start_daemon
from mqtt_helpers import Mosquitto, Subscriber, publish

DEVICE = "den"
FEEDBACK, RESULT, STATE = (f"mood-edge/{DEVICE}/{k}" for k in ("feedback", "feedback/result", "state"))


@pytest.fixture(scope="module")
def den(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("feedback-daemon")
    broker = Mosquitto().start()
    sub = Subscriber(broker.port, ["mood-edge/#"])
    state_dir = tmp / "state"
    config = fast_config(tmp, f"[daemon]\nstate_dir = {json.dumps(str(state_dir))}\n")
    log = tmp / "daemon.log"
    daemon = start_daemon(daemon_cmd(config, f"dir:{astronaut_folder(tmp)}", broker.url, DEVICE, state_dir,
                                     "--loop", "--fps", "5"), log_path=log)
    try:
        sub.wait_for(STATE, lambda m: json.loads(m.payload)["mood"] != "nobody", timeout=90)
        yield {"broker": broker, "sub": sub, "daemon": daemon, "log": log, "state_dir": state_dir}
    finally:
        daemon.terminate()
        daemon.wait(30)
        sub.close()
        broker.stop()


def vote(den: dict, payload: bytes | str, topic: str = FEEDBACK) -> dict:
    """Publish a vote and wait for the daemon's answer to it."""
    t0 = time.monotonic()
    publish(den["broker"].port, topic, payload, retain=False)
    return json.loads(den["sub"].wait_for(RESULT, lambda m: m.t > t0, timeout=60).payload)


def picks(den: dict) -> list[dict]:
    return json.loads(den["sub"].on(STATE)[-1].payload)["recommendations"]


def test_a_10_mb_vote_is_dropped_by_the_daemon_in_one_line_and_the_next_vote_counts(den):
    publish(den["broker"].port, FEEDBACK, b"{" + b" " * (10 * 1024 * 1024) + b"}", retain=False)
    key = picks(den)[-1]["key"]
    answer = vote(den, json.dumps({"film": key, "vote": "up"}))
    assert answer["ok"] is True and answer["film"] == key
    log = Path(den["log"]).read_text(errors="replace")
    assert log.count("ignored a 10485") == 1 and "Traceback" not in log
    assert den["daemon"].poll() is None


def test_a_vote_on_the_picks_shown_names_a_position_and_a_position_not_shown_is_refused(den):
    first = picks(den)[0]
    answer = vote(den, '{"pick": 1, "vote": "seen"}')
    assert (answer["ok"], answer["film"], answer["title"]) == (True, first["key"], first["title"])
    answer = vote(den, '{"pick": 40, "vote": "seen"}')
    assert answer["ok"] is False and answer["message"].startswith('not recorded: "pick" is 40, but ')


def test_a_vote_without_a_mood_is_recorded_with_the_rooms_mood(den):
    mood = json.loads(den["sub"].on(STATE)[-1].payload)["mood"]
    key = picks(den)[1]["key"]
    assert vote(den, json.dumps({"film": key, "vote": "down"}))["ok"]
    (recorded,) = [v for v in TasteStore(den["state_dir"] / TASTE_FILE).votes if v.film == key]
    assert recorded.mood == mood and recorded.value < 0


def test_a_vote_for_another_device_is_not_this_daemons(den):
    before = len(den["sub"].on(RESULT))
    publish(den["broker"].port, "mood-edge/kitchen/feedback", '{"film": "heat-1995", "vote": "up"}', retain=False)
    answer = vote(den, '{"film": "no-such-film-1999", "vote": "up"}')  # the next answer is to this one
    assert answer["ok"] is False and answer["film"] == "no-such-film-1999"
    assert len(den["sub"].on(RESULT)) == before + 1
    assert den["sub"].on("mood-edge/kitchen/feedback/result") == []
