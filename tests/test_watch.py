"""``mood-edge watch``: a real subprocess against a real mosquitto prints what displays receive."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.mqtt.messages import Availability, BadPayload, ReceivedState, clean, parse_message
from edge.commands.watch import plain_line

from mqtt_helpers import Mosquitto, publish
from pty_helpers import run_in_pty
from state_helpers import state

ROOT = Path(__file__).resolve().parent.parent



def watch_proc(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "edge", "watch", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"}, **kw)


# -- parsing: everything from the network is untrusted ------------------------------------------
def test_a_state_message_becomes_mood_confidence_faces_and_films():
    ev = parse_message("mood-edge", "mood-edge/livingroom/state", state().encode())
    assert isinstance(ev, ReceivedState)
    assert (ev.device, ev.mood, ev.confidence, ev.faces) == ("livingroom", "happy", 0.82, 1)
    assert [f.label() for f in ev.films] == ["Paddington 2 (2017)", "Singin' in the Rain (1952)",
                                             "The Grand Budapest Hotel (2014)", "Amélie (2001)", "Toy Story (1995)"]
    assert ev.films[0].details() == "comedy, family · 103 min · PG"
    assert ev.films[0].reasons == ["comedy favoured for happy (match)"]
    assert ev.warnings == []


def test_availability_messages_say_online_or_offline():
    assert parse_message("mood-edge", "mood-edge/tv/availability", b"offline") == Availability("tv", False)
    assert parse_message("mood-edge", "mood-edge/tv/availability", b"online") == Availability("tv", True)


@pytest.mark.parametrize("payload, why", [
    (b"garbage", "not JSON"), (b"\xff\xfe", "not JSON"), (b"[1, 2]", "list"),
    (b'{"confidence": 0.5}', "mood"), (b'{"mood": 7}', "mood"),
])
def test_a_bad_state_payload_is_a_warning_not_a_crash(payload, why):
    ev = parse_message("mood-edge", "mood-edge/tv/state", payload)
    assert isinstance(ev, BadPayload) and why in ev.text


def test_wrong_field_types_are_dropped_with_warnings_and_the_mood_still_shows():
    ev = parse_message("mood-edge", "mood-edge/tv/state",
                       state(confidence="high", faces=True, recommendations=[{"year": 1}, "x"]).encode())
    assert isinstance(ev, ReceivedState) and ev.mood == "happy"
    assert ev.confidence is None and ev.faces is None and ev.films == []
    assert len(ev.warnings) == 3


def test_terminal_escape_sequences_from_the_network_are_stripped():
    evil = state(mood="happy\x1b[2J\x1b]0;pwned\x07", recommendations=[{"title": "A\x1b[31mB\u202eC"}])
    ev = parse_message("mood-edge", "mood-edge/tv/state", evil.encode())
    assert "\x1b" not in ev.mood and "\x07" not in ev.mood
    assert "\x1b" not in ev.films[0].title and "\u202e" not in ev.films[0].title
    assert "\x1b" not in plain_line(ev)


def test_other_topics_are_ignored():
    assert parse_message("mood-edge", "mood-edge/tv/state/extra", b"{}") is None
    assert parse_message("mood-edge", "other/tv/state", state().encode()) is None
    assert parse_message("mood-edge", "mood-edge/tv/state", b"") is None  # retained state cleared


@settings(max_examples=300, deadline=None)
@given(topic=st.text(max_size=40), payload=st.binary(max_size=300))
def test_any_topic_and_bytes_give_an_event_for_state_or_availability_and_nothing_else(topic, payload):
    ev = parse_message("mood-edge", "mood-edge/" + topic, payload)
    if ev is None:
        return
    assert isinstance(ev, (ReceivedState, Availability, BadPayload))
    device, _, kind = topic.partition("/")
    assert kind in ("state", "availability") and ev.device == clean(device, 64)


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=12), c, max_size=4),
                    max_leaves=20),
       st.sampled_from(["mood", "confidence", "faces", "recommendations", "since", "camera", "schema"]))
def test_any_json_value_in_any_field_is_shown_or_refused_for_want_of_a_mood(value, key):
    ev = parse_message("mood-edge", "mood-edge/tv/state", state(**{key: value}).encode())
    if key == "mood" and not (isinstance(value, str) and clean(value)):
        assert isinstance(ev, BadPayload) and "mood" in ev.text
        return
    assert isinstance(ev, ReceivedState)
    line = plain_line(ev)
    assert line.startswith("tv: mood=") and "\n" not in line and "\x1b" not in line


def test_clean_bounds_long_text():
    assert len(clean("x" * 10_000, 50)) == 50


# -- the command, as a subprocess, against a real mosquitto --------------------------------------
def test_watch_prints_a_retained_state_it_receives(broker, cli):
    publish(broker.port, "mood-edge/printer1/state", state(device="printer1"))
    r = cli("watch", "--broker", broker.url, "--device-id", "printer1", "--plain", "--count", "1",
            "--timeout", "60")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "printer1: mood=happy confidence=82% faces=1 camera=ok films=Paddington 2 (2017); Singin' in the Rain (1952); "
        "The Grand Budapest Hotel (2014); Amélie (2001); Toy Story (1995)"]


def test_watch_follows_live_updates_and_availability(broker):
    dev = "live1"
    publish(broker.port, f"mood-edge/{dev}/state", state(device=dev))
    p = watch_proc("--broker", broker.url, "--device-id", dev, "--plain", "--count", "2", "--timeout", "120")
    try:
        assert p.stdout.readline().startswith(f"{dev}: mood=happy")
        # it is subscribed now: what follows arrives live
        publish(broker.port, f"mood-edge/{dev}/availability", "offline")
        assert p.stdout.readline().strip() == f"{dev}: offline"
        publish(broker.port, f"mood-edge/{dev}/state", state(device=dev, mood="sad", confidence=0.6, faces=2,
                                                           recommendations=[]))
        assert p.stdout.readline().strip() == f"{dev}: mood=sad confidence=60% faces=2 camera=ok films=-"
        assert p.wait(60) == 0
    finally:
        p.kill()
        p.wait()


def test_watch_warns_about_a_bad_payload_and_keeps_going(broker):
    dev = "bad1"
    publish(broker.port, f"mood-edge/{dev}/state", b"{not json")
    p = watch_proc("--broker", broker.url, "--device-id", dev, "--plain", "--count", "1", "--timeout", "120")
    try:
        line = p.stderr.readline()
        assert "WARNING" in line and f"{dev}: state is not JSON" in line
        publish(broker.port, f"mood-edge/{dev}/state", state(device=dev, mood="neutral"))
        assert p.stdout.readline().startswith(f"{dev}: mood=neutral")
        assert p.wait(60) == 0
    finally:
        p.kill()
        p.wait()


def test_watch_all_shows_every_device_and_one_id_only_that_device(broker, cli):
    for dev in ("roomA", "roomB"):
        publish(broker.port, f"filt/{dev}/state", state(device=dev))
    one = cli("watch", "--broker", broker.url, "--prefix", "filt", "--device-id", "roomB", "--plain",
              "--timeout", "3")
    assert one.returncode == 0 and [l.split(":")[0] for l in one.stdout.splitlines()] == ["roomB"]
    every = cli("watch", "--broker", broker.url, "--prefix", "filt", "--plain", "--count", "2", "--timeout", "60")
    assert every.returncode == 0 and sorted(l.split(":")[0] for l in every.stdout.splitlines()) == ["roomA", "roomB"]


def test_watch_times_out_with_status_1_when_too_few_states_arrive(broker, cli):
    r = cli("watch", "--broker", broker.url, "--device-id", "nobody-here", "--plain", "--count", "1",
            "--timeout", "2")
    assert r.returncode == 1
    assert "timed out after 2 s with 0 of 1" in r.stderr
    assert "connected, but nothing came" in r.stderr and "may this login read it" in r.stderr


def test_watch_shows_the_refreshing_view_on_a_terminal(broker):
    dev = "tty1"
    publish(broker.port, f"mood-edge/{dev}/availability", "online")
    publish(broker.port, f"mood-edge/{dev}/state", state(device=dev))
    rc, out = run_in_pty([sys.executable, "-m", "edge", "watch", "--broker", broker.url, "--device-id", dev,
                          "--count", "1", "--timeout", "60"], timeout=120)
    assert rc == 0
    text = out.decode("utf-8", "replace")
    assert "\x1b[?1049h" in text and text.rstrip().endswith("\x1b[?1049l")  # alternate screen, restored
    assert "HAPPY" in text and "😄" in text
    assert "Paddington 2 (2017)" in text and "comedy, family · 103 min · PG" in text
    assert "why: comedy favoured for happy" in text
    assert "82%" in text and "● Live" in text


def test_watch_logs_in_with_credentials_from_the_url(cli):
    b = Mosquitto(anonymous=False)
    pwfile = b.dir / "passwd"
    pwfile.write_text("")
    subprocess.run(["mosquitto_passwd", "-b", str(pwfile), "viewer", "s3cret"], check=True)
    # as root mosquitto would switch to the "mosquitto" user, who cannot read our 0700 temp folder;
    # "user" has no effect when the tests run as an ordinary user
    b.extra_conf = f"password_file {pwfile}\nuser {pwd.getpwuid(os.geteuid()).pw_name}\n"
    b.start()
    try:
        publish(b.port, "mood-edge/auth1/state", state(device="auth1"), username="viewer", password="s3cret")
        ok = cli("watch", "--broker", f"mqtt://viewer:s3cret@127.0.0.1:{b.port}", "--plain", "--count", "1",
                 "--timeout", "60")
        assert ok.returncode == 0 and ok.stdout.startswith("auth1: mood=happy"), ok.stderr
        bad = cli("watch", "--broker", f"mqtt://viewer:wrong@127.0.0.1:{b.port}", "--plain", "--count", "1",
                  "--timeout", "60")
        assert bad.returncode == 2
        assert "refused the connection" in bad.stderr and "Traceback" not in bad.stderr
        assert "wrong" not in bad.stderr  # the password is never echoed
    finally:
        b.stop()


@pytest.mark.parametrize("args, field", [
    (["--broker", "http://x"], "broker"),
    (["--device-id", "a/b"], "--device-id"),
    (["--prefix", "a/#"], "mqtt.topic_prefix"),
    (["--count", "0"], "--count"),
])
def test_bad_arguments_are_one_line_errors(cli, args, field):
    r = cli("watch", *args, "--plain", "--timeout", "5")
    assert r.returncode == 2
    assert field in r.stderr and "Traceback" not in r.stderr


def test_an_unreachable_broker_is_a_one_line_error(cli):
    from mqtt_helpers import free_port
    r = cli("watch", "--broker", f"mqtt://127.0.0.1:{free_port()}", "--plain", "--timeout", "3")
    assert r.returncode == 2
    assert "cannot reach the broker" in r.stderr and "Traceback" not in r.stderr


def test_watch_prints_what_the_real_daemon_publishes(tmp_path, broker, cli):
    """The demo's path: the daemon publishes a smiling face, `mood-edge watch` shows it."""
    from daemon_helpers import astronaut_folder, daemon_cmd, fast_config

    dev = "watchdemo"
    run = subprocess.run(daemon_cmd(fast_config(tmp_path), f"dir:{astronaut_folder(tmp_path)}", broker.url, dev,
                                    tmp_path / "state", "--loop", "--frames", "40"),
                         capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    r = cli("watch", "--broker", broker.url, "--device-id", dev, "--plain", "--count", "1", "--timeout", "60")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any(l.startswith(f"{dev}: offline") for l in lines)  # the daemon has stopped
    (state_line,) = [l for l in lines if "mood=" in l]
    assert state_line.startswith(f"{dev}: mood=happy ") and "faces=1" in state_line
    films = state_line.split(" films=", 1)[1].split("; ")
    assert len(films) == 5 and all(f.endswith(")") for f in films)


def test_a_broker_that_wants_a_login_it_was_not_given_says_how_to_get_one(cli):
    b = Mosquitto(anonymous=False, extra_conf="password_file /dev/null\n").start()
    try:
        r = cli("watch", "--broker", b.url, "--plain", "--count", "1", "--timeout", "20")
    finally:
        b.stop()
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "refused the connection" in r.stderr and "group mood-edge" in r.stderr and "watch-login" in r.stderr
