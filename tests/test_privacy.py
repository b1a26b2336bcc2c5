"""Frames and face crops never leave the process: not to MQTT, not to logs, not to disk."""

import json
import re
import subprocess

from daemon_helpers import ROOT, astronaut_folder, daemon_cmd, fast_config

BASE64_RUN = re.compile(r"[A-Za-z0-9+/=]{200,}")


def run_with_faces(tmp_path, broker, subscriber_factory, *extra):
    sub = subscriber_factory(broker.port, ["#"])
    cmd = daemon_cmd(fast_config(tmp_path), f"dir:{astronaut_folder(tmp_path)}", broker.url, "private",
                     tmp_path / "state", "--loop", "--frames", "40", *extra)
    run = subprocess.run([*cmd[:3], "--log-level", "DEBUG", *cmd[3:]],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    sub.wait_for("mood-edge/private/state", lambda m: json.loads(m.payload)["mood"] == "happy")
    return sub, run


def test_no_message_and_no_log_line_carries_pixels(tmp_path, broker, subscriber_factory):
    sub, run = run_with_faces(tmp_path, broker, subscriber_factory)
    ours = [m for m in sub.messages if m.topic.startswith(("mood-edge/private/", "homeassistant/"))]
    assert ours
    for m in ours:
        assert len(m.payload) < 8_000, (m.topic, len(m.payload))
        text = m.payload.decode("utf-8")  # never binary
        assert not BASE64_RUN.search(text)
        if m.topic.endswith("/state"):
            state = json.loads(text)
            assert set(state) <= {"schema", "device", "mood", "confidence", "probabilities", "faces", "since",
                                  "updated", "recommendations", "labels", "strategy", "model", "camera", "area"}
    logs = run.stdout + run.stderr
    assert "DEBUG" in logs  # we really looked at the most verbose level
    assert all(len(line) < 2_000 for line in logs.splitlines())
    assert not BASE64_RUN.search(logs)


def test_nothing_but_the_recommendation_history_and_the_client_id_is_written(tmp_path, broker, subscriber_factory):
    run_with_faces(tmp_path, broker, subscriber_factory)
    written = sorted(p.name for p in (tmp_path / "state").rglob("*") if p.is_file())
    assert written == ["mqtt-client-id", "recommend-history.json"]
    assert len((tmp_path / "state" / "mqtt-client-id").read_bytes()) < 100
    history = (tmp_path / "state" / "recommend-history.json").read_text()
    assert len(history) < 20_000 and not BASE64_RUN.search(history)
