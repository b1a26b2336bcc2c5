"""The daemon end to end: real frames, the real model, a real mosquitto and a real subscriber."""

import json
import signal
import subprocess

import pytest

from daemon_helpers import (ROOT, astronaut_folder, daemon_cmd, empty_folder, fast_config, start_daemon)
from edge.paths import default_model


def run_daemon(tmp_path, broker, device, camera, *extra, timeout=120):
    cmd = daemon_cmd(fast_config(tmp_path), camera, broker.url, device, tmp_path / "state", *extra)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def test_a_smiling_face_is_published_as_happy_with_recommendations(tmp_path, broker, subscriber_factory):
    sub = subscriber_factory(broker.port, ["mood-edge/smile/#"])
    run = run_daemon(tmp_path, broker, "smile", f"dir:{astronaut_folder(tmp_path)}", "--loop", "--frames", "40")
    assert run.returncode == 0, run.stderr
    msg = sub.wait_for("mood-edge/smile/state", lambda m: json.loads(m.payload)["mood"] == "happy")
    state = json.loads(msg.payload)
    late = subscriber_factory(broker.port, ["mood-edge/smile/state"])  # a display that starts later
    assert late.wait_for("mood-edge/smile/state").retain
    assert state["schema"] == 1 and state["device"] == "smile" and state["faces"] == 1
    assert state["confidence"] > 0.5 and set(state["probabilities"]) >= {"happy", "sad", "neutral", "angry"}
    assert state["since"].endswith("Z") and state["model"]["id"] == default_model().stem
    recs = state["recommendations"]
    assert len(recs) == 5 and all({"title", "year", "genres", "reasons"} <= set(r) for r in recs)
    assert "happy" in " ".join(recs[0]["reasons"])


def test_the_state_follows_the_documented_json_schema(tmp_path, broker, subscriber_factory):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "docs" / "state.schema.json").read_text())
    sub = subscriber_factory(broker.port, ["mood-edge/schema/state"])
    run_daemon(tmp_path, broker, "schema", f"dir:{astronaut_folder(tmp_path)}", "--loop", "--frames", "20")
    for msg in sub.on("mood-edge/schema/state") or [sub.wait_for("mood-edge/schema/state")]:
        jsonschema.validate(json.loads(msg.payload), schema)


def test_an_empty_room_is_nobody(tmp_path, broker, subscriber_factory):
    sub = subscriber_factory(broker.port, ["mood-edge/empty/state"])
    run = run_daemon(tmp_path, broker, "empty", f"dir:{empty_folder(tmp_path)}", "--loop", "--frames", "30")
    assert run.returncode == 0, run.stderr
    states = [json.loads(m.payload) for m in sub.on("mood-edge/empty/state")]
    assert states and all(s["mood"] == "nobody" and s["faces"] == 0 for s in states)
    assert states[-1]["recommendations"]  # "nobody" has its own picks (a screen saver)


def test_sigterm_publishes_offline_and_exits_cleanly(tmp_path, broker, subscriber_factory):
    sub = subscriber_factory(broker.port, ["mood-edge/term/availability"])
    cmd = daemon_cmd(fast_config(tmp_path), f"dir:{astronaut_folder(tmp_path)}", broker.url, "term",
                     tmp_path / "state", "--loop")
    proc = start_daemon(cmd)
    sub.wait_for("mood-edge/term/availability", lambda m: m.payload == b"online")
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    sub.wait_for("mood-edge/term/availability", lambda m: m.payload == b"offline")


def test_a_killed_daemon_is_reported_offline_by_its_last_will(tmp_path, own_broker, subscriber_factory):
    sub = subscriber_factory(own_broker.port, ["mood-edge/will/availability"])
    cmd = daemon_cmd(fast_config(tmp_path), f"dir:{astronaut_folder(tmp_path)}", own_broker.url, "will",
                     tmp_path / "state", "--loop")
    proc = start_daemon(cmd)
    sub.wait_for("mood-edge/will/availability", lambda m: m.payload == b"online")
    proc.kill()  # no goodbye: the broker must speak for us
    proc.wait()
    sub.wait_for("mood-edge/will/availability", lambda m: m.payload == b"offline", timeout=30)


def test_the_daemon_reconnects_after_the_broker_restarts(tmp_path, own_broker, subscriber_factory):
    cmd = daemon_cmd(fast_config(tmp_path), f"dir:{astronaut_folder(tmp_path)}", own_broker.url, "again",
                     tmp_path / "state", "--loop")
    proc = start_daemon(cmd)
    try:
        first = subscriber_factory(own_broker.port, ["mood-edge/again/state"])
        first.wait_for("mood-edge/again/state")
        own_broker.restart()
        sub = subscriber_factory(own_broker.port, ["mood-edge/again/#"])
        assert json.loads(sub.wait_for("mood-edge/again/state", timeout=30).payload)["device"] == "again"
        assert sub.wait_for("mood-edge/again/availability").payload == b"online"
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.communicate(timeout=20)


def test_recommendations_do_not_repeat_across_restarts(tmp_path, broker, subscriber_factory):
    sub = subscriber_factory(broker.port, ["mood-edge/norepeat/state"])
    titles = []
    for _ in range(2):
        sub.clear()
        run_daemon(tmp_path, broker, "norepeat", f"dir:{astronaut_folder(tmp_path)}", "--loop", "--frames", "20")
        state = json.loads(sub.wait_for("mood-edge/norepeat/state",
                                        lambda m: json.loads(m.payload)["mood"] == "happy").payload)
        titles.append({r["title"] for r in state["recommendations"]})
    assert titles[0] and not titles[0] & titles[1]
    assert (tmp_path / "state" / "recommend-history.json").exists()
