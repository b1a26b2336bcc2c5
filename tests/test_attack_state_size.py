"""Issue 22 row 1: one field of one film made every state ~900 KB.

A URL-only ``.nfo`` (``https://www.imdb.com/title/tt`` + 900,000 digits) beside a film the catalog
knows went into every state message; mosquitto (``max_packet_size 65536``, as shipped) dropped the
daemon for an oversize packet about once a second, a display saw no state in 16 s and the log
said only "Unspecified error". Now every field and the whole message are bounded where the state
is encoded, and the cut is named in one log line.
"""

from __future__ import annotations

import json
import logging
import subprocess

import pytest

from daemon_helpers import ROOT, astronaut_folder, daemon_cmd, fast_config
from edge.mqtt import message_bounds
from edge.mqtt.message_bounds import MAX_STATE_BYTES
from edge.config import MqttConfig
from edge.mqtt.messages import parse_state
from edge.mqtt.status import readable_reason
from mqtt_helpers import Mosquitto, Subscriber
from state_helpers import FILMS, state_message

HUGE_ID = "tt" + "7" * 900_000
HUGE_URL = "https://www.imdb.com/title/" + HUGE_ID


@pytest.fixture(autouse=True)
def fresh_report_limit(monkeypatch):
    """Each test sees its own first log line (the report is rate-limited per process)."""
    monkeypatch.setattr(message_bounds, "_report_limit", message_bounds.RateLimit(60.0))


def _film(**changes):
    return {**FILMS[0], **changes}


def test_a_film_with_a_900000_character_id_and_url_gives_a_small_state_that_names_the_field(caplog):
    msg = state_message(recommendations=[_film(ids={"imdb": HUGE_ID, "url": HUGE_URL}), *FILMS[1:]])
    with caplog.at_level(logging.WARNING, logger="edge.messages"):
        text = msg.to_json()
    assert len(text.encode()) < 4096
    data = json.loads(text)
    assert data["recommendations"][0]["title"] == "Paddington 2" and data["recommendations"][0]["ids"] == {}
    assert len(data["recommendations"]) == 5  # the other films are untouched
    (line,) = [r.getMessage() for r in caplog.records]
    assert "recommendations[0].ids.imdb (900002 characters" in line and "dropped" in line
    assert len(line) < 1000  # one line, not the field


@pytest.mark.parametrize("field, value", [
    ("title", "T" * 900_000), ("description", "d" * 900_000), ("rating", "R" * 900_000),
    ("path", "/films/" + "p" * 900_000), ("genres", ["comedy"] * 900_000), ("genres", ["g" * 900_000]),
    ("reasons", ["why " * 200_000]), ("year", 2 ** 20000), ("poster_url", HUGE_URL),
], ids=lambda v: v if isinstance(v, str) and len(v) < 20 else type(v).__name__)
def test_every_field_of_a_film_is_bounded(field, value):
    text = state_message(recommendations=[_film(**{field: value}), *FILMS[1:]]).to_json()
    assert len(text.encode()) < 8192
    assert parse_state("livingroom", text.encode()).films[1].title == "Singin' in the Rain"


def test_top_level_fields_are_bounded_too():
    msg = state_message(model={"id": "m" * 900_000, "sha256": "ab" * 32}, strategy="s" * 900_000,
                        probabilities={f"class{i}": 0.1 for i in range(10_000)})
    assert len(msg.to_json().encode()) < 8192


def test_many_long_films_are_dropped_from_the_end_until_the_state_fits(caplog):
    films = [_film(title=f"Film {i}", description="d" * 300, path="/films/" + "x" * 4000) for i in range(50)]
    with caplog.at_level(logging.WARNING, logger="edge.messages"):
        data = json.loads(state_message(recommendations=films).to_json())
    assert len(json.dumps(data).encode()) <= MAX_STATE_BYTES
    assert 0 < len(data["recommendations"]) < 50 and data["recommendations"][0]["title"] == "Film 0"
    assert "kept" in caplog.records[0].getMessage() and "of 50 films" in caplog.records[0].getMessage()


def test_a_lone_surrogate_from_an_undecodable_file_name_does_not_break_encoding():
    text = state_message(recommendations=[_film(path="/films/caf\udce9.mkv")]).to_json()
    assert text.encode("utf-8") and "/films/caf\ufffd.mkv" in text


def test_a_normal_state_is_encoded_unchanged(caplog):
    msg = state_message()
    with caplog.at_level(logging.WARNING, logger="edge.messages"):
        text = msg.to_json()
    assert text == json.dumps(msg.to_dict(), separators=(",", ":"), ensure_ascii=False)
    assert not caplog.records


def test_the_unspecified_error_disconnect_reason_is_explained():
    text = readable_reason("Unspecified error")
    assert "broker closed the connection" in text and "max_packet_size" in text


def test_a_900000_digit_imdb_url_nfo_keeps_the_daemon_connected_and_displays_fed(tmp_path):
    """The issue's reproduction: real library, real daemon, a real mosquitto bounding packets as shipped."""
    library = tmp_path / "films"
    film = library / "Paddington 2 (2017)"
    film.mkdir(parents=True)
    (film / "Paddington 2 (2017).mkv").write_bytes(b"")
    (film / "movie.nfo").write_text(HUGE_URL + "\n")
    broker = Mosquitto(extra_conf="max_packet_size 65536\n").start()
    dev = "bignfo1"
    sub = Subscriber(broker.port, [f"mood-edge/{dev}/#"])
    try:
        config = fast_config(tmp_path, f'library = "{library}"\n')
        run = subprocess.run(daemon_cmd(config, f"dir:{astronaut_folder(tmp_path)}", broker.url, dev,
                                        tmp_path / "state", "--loop", "--frames", "90"),
                             capture_output=True, text=True, timeout=240, cwd=ROOT)
        assert run.returncode == 0, run.stderr[-3000:]
        assert "lost the broker" not in run.stderr, run.stderr[-3000:]  # never dropped for an oversize packet
        states = [m for m in sub.on(f"mood-edge/{dev}/state") if m.payload]
        assert len(states) >= 2
        assert all(len(m.payload) < MAX_STATE_BYTES for m in states)
        picks = json.loads(states[-1].payload)["recommendations"]
        assert [p["title"] for p in picks] == ["Paddington 2"]
        assert all(len(v) <= 100 for p in picks for v in p.get("ids", {}).values())
        online = [m.payload for m in sub.on(f"mood-edge/{dev}/availability")]
        assert online.count(b"online") == 1  # one connection for the whole run: no flapping
    finally:
        sub.close()
        broker.stop()


def test_a_broker_dropping_an_oversize_publish_is_logged_with_the_reason_explained(caplog):
    from edge.mqtt.client import Connection

    broker = Mosquitto(extra_conf="max_packet_size 2000\n").start()
    conn = Connection(MqttConfig(broker=broker.url, reconnect_min_s=1, reconnect_max_s=1), "oversize-test")
    try:
        conn.start()
        assert conn.wait_connected(15)
        with caplog.at_level(logging.WARNING, logger="edge.mqtt"):
            conn.publish("mood-edge/big/state", "x" * 5000, qos=1)
            _wait(lambda: any("lost the broker" in r.getMessage() for r in caplog.records))
        line = next(r.getMessage() for r in caplog.records if "lost the broker" in r.getMessage())
        assert "the broker closed the connection" in line and "max_packet_size" in line
        assert conn.wait_connected(15)  # and it reconnects
    finally:
        conn.stop()
        broker.stop()


def _wait(predicate, timeout: float = 15.0) -> None:
    import time

    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "did not happen"
        time.sleep(0.05)
