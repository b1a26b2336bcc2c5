"""Issue 34, row 7: Home Assistant's recorder limit on a sensor's attributes.

``recommend.count = 40`` with a library whose .nfo files carry plots made the mood sensor's
attributes 26,295 bytes; Home Assistant 2025.4.4's recorder drops attributes over 16,384 bytes
(MAX_STATE_ATTRS_BYTES) with a warning on every state change. Now the attributes carry the films
in order while they fit in 8,192 characters of JSON, say how many were left out and name the state
topic that has them all. The real daemon publishes to a real mosquitto; Home Assistant's own
template engine and recorder sizing (its venv, tools/ha-env.sh) compute what it would store.
"""

from __future__ import annotations

import json
import signal
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from daemon_helpers import astronaut_folder, daemon_cmd, fast_config, start_daemon
from ha_helpers import attributes_home_assistant_stores, ha_python
from mqtt_helpers import Subscriber

HA_PYTHON, WHY = ha_python()
pytestmark = pytest.mark.skipif(HA_PYTHON is None, reason=WHY)

#: what "room to spare" means here: a quarter of the recorder's limit left free
SPARE_BYTES = 4096
#: a plot as long as a state message keeps one (1,000 characters), in two- to four-byte characters
PLOT = ("Une famille déménage à la mer; 🎬 un été de tempêtes, de crêpes et de secrets. " * 13)[:1000]


def write_library(folder: Path, films: int) -> Path:
    for i in range(films):
        film = folder / f"Film {i:02d} (20{i % 20:02d})"
        film.mkdir(parents=True)
        (film / "movie.mkv").write_bytes(b"\0" * 16)
        movie = ET.Element("movie")
        for tag, text in (("title", f"Été numéro {i} 🎞"), ("year", f"20{i % 20:02d}"), ("genre", "Comedy"),
                          ("genre", "Family"), ("runtime", "95"), ("plot", PLOT)):
            ET.SubElement(movie, tag).text = text
        ET.ElementTree(movie).write(film / "movie.nfo", encoding="utf-8", xml_declaration=True)
    return folder


def test_attack_recommend_count_40_with_nfo_plots_stays_under_home_assistants_attribute_limit(tmp_path, broker):
    dev = "haattrs"
    library = write_library(tmp_path / "films", 45)
    config = fast_config(tmp_path, f'count = 40\nlibrary = "{library}"\n')  # FAST ends in [recommend]
    state_topic = f"mood-edge/{dev}/state"
    mood_config = f"homeassistant/sensor/mood_edge_{dev}/mood/config"
    sub = Subscriber(broker.port, [state_topic, mood_config])
    log = tmp_path / "daemon.log"
    proc = start_daemon(daemon_cmd(config, f"dir:{astronaut_folder(tmp_path)}", broker.url, dev, tmp_path / "state",
                                   "--loop"), log_path=log)
    try:
        state_msg = sub.wait_for(state_topic, lambda m: b'"faces":1' in m.payload, timeout=120)
        discovery = json.loads(sub.wait_for(mood_config).payload)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        sub.close()
    assert proc.returncode == 0, log.read_text()[-2000:]
    state = json.loads(state_msg.payload)
    films = state["recommendations"]
    # the attack holds: the films alone are over the limit, as they were in the attributes before
    assert len(films) > 20 and len(json.dumps(films, ensure_ascii=False).encode()) > 16_384

    limit, (stored,) = attributes_home_assistant_stores(HA_PYTHON, discovery, [state_msg.payload])
    attrs = stored["attributes"]
    assert limit == 16_384
    assert stored["stored_bytes"] <= limit - SPARE_BYTES, stored["stored_bytes"]
    kept = attrs["recommendations"]
    assert kept and kept == films[: len(kept)]  # the first picks, whole: the README's automation reads [0]
    assert attrs["recommendations_left_out"] == len(films) - len(kept) > 0
    assert attrs["recommendations_topic"] == state_topic  # where all of them are
    assert attrs["confidence"] == state["confidence"] and attrs["faces"] == 1
    print(f"attributes Home Assistant stores: {stored['stored_bytes']} bytes of {limit} "
          f"({len(kept)} of {len(films)} films; the state message: {len(state_msg.payload)} bytes)")


def test_attack_fifty_films_at_every_field_bound_stay_under_the_limit_in_home_assistant(tmp_path):
    """The worst a state message can carry (edge/mqtt/message_bounds.py), whatever count and .nfo hold."""
    from edge.config import Config
    from edge.mqtt.homeassistant import discovery_messages

    cfg = Config()
    cfg.mqtt.device_id = "worst"
    (mood,) = [json.loads(p) for t, p in discovery_messages(cfg, "m") if t.endswith("/mood/config")]
    wide = "𝄞"  # 4 bytes in UTF-8, 12 characters as a JSON escape
    film = {"title": wide * 200, "year": 2001, "genres": [wide * 40] * 10, "runtime": 95, "rating": wide * 16,
            "family": True, "description": wide * 1000, "reasons": [wide * 200] * 6, "path": "/" + "p" * 4000,
            "owned": True, "ids": {f"id{i}": "x" * 100 for i in range(8)}}
    small = {**film, "description": "short", "reasons": [], "genres": ["comedy"], "title": "Paddington 2",
             "rating": "PG", "path": "/films/Paddington 2 (2017)/movie.mkv", "ids": {}}
    state = {"schema": 1, "device": "worst", "mood": "happy", "confidence": 0.9,
             "probabilities": {k: 0.1 for k in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")},
             "faces": 3, "since": "2026-12-06T03:00:00+00:00", "labels": "fer7", "strategy": "lift", "camera": "ok"}
    payloads = [json.dumps({**state, "recommendations": [film] * 50}).encode(),
                json.dumps({**state, "recommendations": [small] * 50}).encode()]
    limit, stored = attributes_home_assistant_stores(HA_PYTHON, mood, payloads)
    assert all(s["stored_bytes"] <= limit - SPARE_BYTES for s in stored), [s["stored_bytes"] for s in stored]
    huge, many = (s["attributes"] for s in stored)
    assert huge["recommendations"] == [] and huge["recommendations_left_out"] == 50  # one film is over 8 KB
    assert len(many["recommendations"]) > 10 and many["recommendations_left_out"] == 50 - len(many["recommendations"])
