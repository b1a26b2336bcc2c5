"""One state machine for what a display shows (edge/mqtt/display_state.py; displays/web/state.js has
the same table and is tested in Chromium by test_web_display_states.py)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from edge.mqtt.display_state import STATUS_WORDS, display_view
from edge.mqtt.messages import ReceivedState
from edge.commands.watch import Screen, plain_line
from edge.commands.watch_view import local_time


def view(connected=True, online=True, mood="happy", heard_s_ago=1.0, stale_after_s=180.0):
    return display_view(connected=connected, online=online, mood=mood, heard_s_ago=heard_s_ago,
                        stale_after_s=stale_after_s)


@pytest.mark.parametrize("inputs, status", [
    ({"connected": False}, "connecting"),
    ({"connected": False, "online": False}, "connecting"),  # the page cannot know: it is not connected
    ({"online": False}, "offline"),
    ({"online": False, "heard_s_ago": 999}, "offline"),
    ({"heard_s_ago": 181}, "stale"),
    ({"online": None, "heard_s_ago": 181}, "stale"),
    ({"online": None, "mood": None}, "connecting"),
    ({}, "live"),
    ({"online": None}, "live"),  # a retained state from a broker without availability: fresh is live
])
def test_each_situation_has_exactly_one_status(inputs, status):
    assert view(**inputs).status == status


def test_only_live_is_shown_unfaded():
    assert [view(**kw).faded for kw in ({}, {"online": False}, {"heard_s_ago": 999}, {"connected": False})] == \
        [False, True, True, True]


@pytest.mark.parametrize("mood, content", [(None, "waiting"), ("nobody", "nobody"), ("sad", "mood")])
def test_content_is_waiting_nobody_or_a_mood(mood, content):
    assert view(mood=mood).content == content


def test_the_terminal_line_for_an_empty_room_has_no_face_count():
    line = plain_line(ReceivedState(device="demo", mood="nobody", confidence=0.0, faces=1))
    assert line == "demo: mood=nobody films=-"


def _screen_text(**kw) -> str:
    out = io.StringIO()
    screen = Screen(out, "t", stale_after_s=kw.pop("stale_after_s", 180.0))
    screen.connected = kw.pop("connected", True)
    from edge.mqtt.messages import Availability
    screen.apply(Availability("den", kw.pop("online", True)))
    screen.apply(ReceivedState(device="den", mood=kw.pop("mood", "happy"), confidence=0.8, faces=kw.pop("faces", 2)))
    screen.draw()
    return out.getvalue()


def test_the_terminal_view_never_shows_live_beside_offline():
    text = _screen_text(online=False)
    assert "OFFLINE" in text and "● Live" not in text and "(last known)" in text


def test_the_terminal_view_of_an_empty_room_shows_no_faces():
    text = _screen_text(mood="nobody", faces=1)
    assert "NOBODY HERE" in text and "faces" not in text and "● Live" in text


def test_the_terminal_view_marks_a_silent_device_stale():
    text = _screen_text(stale_after_s=1e-9)
    assert "No news for" in text and "● Live" not in text and "(last known)" in text


def _visible(text: str) -> list[str]:
    """The lines a terminal shows, escape sequences removed."""
    import re
    return [re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", line) for line in text.split("\n")]


def test_the_terminal_uses_the_pages_words_for_each_status():
    import re
    js = (Path(__file__).resolve().parent.parent / "displays/web/state.js").read_text()
    words = dict(re.findall(r"(\w+): '([^']+)'", re.search(r"STATUS_WORDS = \{([^}]*)\}", js).group(1)))
    assert words == STATUS_WORDS
    assert "● Not connected" in "".join(_visible(_screen_text(connected=False)))
    assert "● Live" in "".join(_visible(_screen_text()))


def test_the_terminal_view_fits_80_columns_and_wraps_the_status_between_words(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    out = io.StringIO()
    screen = Screen(out, "mood-edge watch · a-rather-long-broker-host-name.example.lan:8883 · livingroom")
    screen.status = ("no broker at a-rather-long-broker-host-name.example.lan:8883 ([Errno 111] Connection "
                     "refused); retrying with backoff, attempt 12")
    screen.apply(ReceivedState(device="livingroom", mood="happy", confidence=0.8, faces=2,
                               since="2026-12-06T02:37:54Z"))
    screen.draw()
    lines = _visible(out.getvalue())
    assert all(len(line) < 80 for line in lines), [line for line in lines if len(line) >= 80]
    status = " ".join(line for line in lines if "attempt" in line or "retrying" in line or "no broker" in line)
    assert "retrying with backoff, attempt 12" in status  # whole words, wrapped between them


def test_the_terminal_shows_since_in_local_time(monkeypatch):
    import time
    monkeypatch.setenv("TZ", "Asia/Kolkata")  # UTC+05:30, no summer time
    time.tzset()
    try:
        assert local_time("2020-01-15T02:37:54Z") == "2020-01-15 08:07"  # not today: with the date
        assert local_time("not a time") == "not a time"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
