"""edge/mqtt/feedback.py alone: what a vote on <prefix>/<device>/feedback may be, and how the daemon's
handler answers hostile ones (one line, nothing recorded, never an exception, no flood back).
The same handler inside the real daemon on a real broker: tests/test_feedback_daemon.py."""

from __future__ import annotations

import json
import logging

import pytest

from edge.mqtt.feedback import MAX_VOTE_BYTES, BadVote, FeedbackInbox, Vote, parse_vote
from edge.mqtt.message_bounds import bound_state
from edge.mqtt.messages import parse_state


def test_a_vote_names_a_film_key_and_a_verdict_and_may_name_the_mood():
    assert parse_vote(b'{"film": "imdb:tt0113277", "vote": "up"}') == Vote("up", film="imdb:tt0113277")
    assert parse_vote(b'{"film": "heat-1995", "vote": "seen", "mood": "sad"}') == Vote(
        "seen", film="heat-1995", mood="sad")


def test_a_button_votes_on_a_position_in_the_picks_shown():
    assert parse_vote(b'{"pick": 1, "vote": "down", "source": "homeassistant"}') == Vote(
        "down", pick=1, source="homeassistant")


@pytest.mark.parametrize("payload, field", [
    (b'{"film": "heat-1995", "vote": "maybe"}', '"vote"'),
    (b'{"film": "heat-1995", "vote": ["up"]}', '"vote"'),
    (b'{"film": 42, "vote": "up"}', '"film"'),
    (b'{"film": "Heat (1995)", "vote": "up"}', '"film"'),
    (b'{"film": "\\ud800", "vote": "up"}', '"film"'),  # a lone surrogate
    (b'{"film": "heat-1995", "vote": "up", "mood": {"x": 1}}', '"mood"'),
    (b'{"pick": true, "vote": "up"}', '"pick"'),
    (b'{"pick": 0, "vote": "up"}', '"pick"'),
    (b'{"pick": 1, "film": "heat-1995", "vote": "up"}', '"film" and "pick"'),
    (b'{"film": "heat-1995", "vote": "up", "source": "cli"}', '"source"'),
    (b'["heat-1995", "up"]', "JSON list"),
    (b'{"film": "heat-1995", "vote": "up"', "not JSON"),
    (b'\xed\xa0\x80', "not UTF-8"),  # a surrogate encoded as UTF-8 bytes
    (b'[' * 500 + b']' * 500, "JSON list"),  # deep nesting within the size bound
])
def test_a_bad_vote_is_refused_in_one_line_naming_the_field(payload, field):
    with pytest.raises(BadVote) as err:
        parse_vote(payload)
    assert field in str(err.value) and "\n" not in str(err.value) and len(str(err.value)) < 200


def test_a_10_mb_vote_is_refused_before_it_is_decoded():
    with pytest.raises(BadVote, match=f"a 10485760-byte message \\(a vote is at most {MAX_VOTE_BYTES} bytes\\)"):
        parse_vote(b"{" + b" " * (10 * 1024 * 1024 - 2) + b"}")


class Room:
    """The daemon's side, as the inbox sees it: films it knows, votes recorded, answers sent."""

    def __init__(self) -> None:
        self.votes: list[Vote] = []
        self.answers: list[dict] = []
        self.now = 0.0

    def record(self, vote: Vote) -> tuple[str, str]:
        if vote.film != "heat-1995":
            raise ValueError(f"film: no film {vote.film!r} among the candidates (expected a key ...)")
        self.votes.append(vote)
        return "heat-1995", "Heat"

    def inbox(self) -> FeedbackInbox:
        return FeedbackInbox(self.record, lambda text: self.answers.append(json.loads(text)), clock=lambda: self.now)


def test_a_recorded_vote_is_answered_with_the_films_title():
    room = Room()
    room.inbox()("mood-edge/tv/feedback", b'{"film": "heat-1995", "vote": "up"}')
    assert room.votes == [Vote("up", film="heat-1995")]
    assert room.answers == [{"film": "heat-1995", "vote": "up", "ok": True, "title": "Heat",
                             "message": "Thumbs up for Heat"}]


def test_an_unknown_film_is_answered_with_why_and_nothing_is_recorded(caplog):
    room = Room()
    with caplog.at_level(logging.WARNING, "edge.feedback"):
        room.inbox()("mood-edge/tv/feedback", b'{"film": "nope-2001", "vote": "down"}')
    assert room.votes == []
    (answer,) = room.answers
    assert answer["ok"] is False and answer["film"] == "nope-2001" and "no film 'nope-2001'" in answer["message"]
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("feedback: refused a vote: film: no film")


def test_a_flood_of_votes_is_rate_limited_answered_once_per_second_and_logged_once_a_minute(caplog):
    room = Room()
    inbox = room.inbox()
    with caplog.at_level(logging.WARNING, "edge.feedback"):
        for _ in range(5000):
            inbox("mood-edge/tv/feedback", b'{"film": "heat-1995", "vote": "up"}')
    assert len(room.votes) == 10  # the burst
    assert len(room.answers) == 11  # ten recorded, one "too many votes"
    assert "too many votes" in room.answers[-1]["message"]
    assert len(caplog.records) == 1
    room.now = 61.0  # a minute later the room may vote again, and the log says how many were refused
    with caplog.at_level(logging.WARNING, "edge.feedback"):
        inbox("mood-edge/tv/feedback", b'{"film": "heat-1995", "vote": "down"}')
        inbox("mood-edge/tv/feedback", b'{"film": "bad key", "vote": "down"}')
    assert room.votes[-1] == Vote("down", film="heat-1995")
    assert "4989 more refused since the last report" in caplog.records[-1].getMessage()


def test_a_failure_to_record_or_to_answer_never_reaches_paho():
    def broken(vote: Vote) -> tuple[str, str]:
        raise OSError("disk full")

    def no_broker(text: str) -> None:
        raise RuntimeError("not connected")

    inbox = FeedbackInbox(broken, no_broker)
    inbox("t", b'{"film": "heat-1995", "vote": "up"}')  # neither raises out of the handler
    assert (inbox.recorded, inbox.refused) == (0, 1)


# --- the key a vote names, in the state message (edge/mqtt/messages.py, message_bounds.py) ---------

def test_a_display_reads_each_picks_key_and_drops_one_that_is_not_a_key():
    picks = [{"title": "Heat", "key": "imdb:tt0113277"}, {"title": "Up", "key": "<b>up</b>"},
             {"title": "Old", "year": 2001}, {"title": "Long", "key": "a" * 81}]
    got = parse_state("tv", json.dumps({"schema": 1, "mood": "happy", "recommendations": picks}).encode())
    assert [f.key for f in got.films] == ["imdb:tt0113277", "", "", ""]


def test_a_key_too_long_to_be_one_is_dropped_from_the_state_not_cut():
    text = bound_state({"mood": "happy", "recommendations": [{"title": "Heat", "key": "k" * 5000},
                                                             {"title": "Up", "key": "up-2009"}]})
    assert [r.get("key") for r in json.loads(text)["recommendations"]] == [None, "up-2009"]
