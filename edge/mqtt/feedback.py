"""Votes from the displays: ``<prefix>/<device>/feedback`` in, ``.../feedback/result`` out.

A vote comes from anybody the broker lets publish there (a TV page, Home Assistant, a script), so
it is untrusted input: at most :data:`MAX_VOTE_BYTES`, strict UTF-8 JSON, every field checked
(:func:`parse_vote`), at most :data:`BURST` votes at once and one per :data:`REFILL_S` seconds
after that (:class:`FeedbackInbox`). Each vote gets one answer on the result topic (not retained,
QoS 1) saying whether it was recorded and, if not, why in one line; refused votes are logged in one
line at most once a minute, with a count. A flood is answered once per :data:`REFILL_S`, not once
per message, so it cannot make the daemon flood the broker back.

Payload (docs/mqtt.md): ``{"film": "<key>", "vote": "up"|"down"|"seen", "mood": "<mood>"?}`` or,
for a button that means "the pick shown first", ``{"pick": 1, "vote": ...}`` (1-based position in
the picks the daemon published last; Home Assistant's buttons send this); ``"source"`` is ``"tv"``
(the default) or ``"homeassistant"``.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from ..ratelimit import RateLimit
from ..textsafe import clean

log = logging.getLogger("edge.feedback")

#: a vote is ~60 bytes; anything near this is not a vote
MAX_VOTE_BYTES = 1024
VERDICTS = ("up", "down", "seen")
SOURCES = ("tv", "homeassistant")
#: the film key of the taste contract (edge/recommend/catalog.py Film.key)
KEY = re.compile(r"[a-z0-9][a-z0-9:-]{0,79}")
MOOD = re.compile(r"[a-z]{1,32}")
#: positions a "pick" may name (a state carries at most 50 films)
MAX_PICK = 50
#: votes accepted at once, then one per REFILL_S (a family voting on five picks in a few seconds
#: is fine; a script sending thousands a second is answered once per REFILL_S and logged once a minute)
BURST = 10
REFILL_S = 1.0


def feedback_topic(prefix: str, device_id: str) -> str:
    return f"{prefix}/{device_id}/feedback"


def result_topic(prefix: str, device_id: str) -> str:
    return f"{prefix}/{device_id}/feedback/result"


class BadVote(ValueError):
    """A vote that cannot be recorded; its str is one line naming the field and what was expected."""


@dataclass(frozen=True)
class Vote:
    vote: str
    #: the film's key, or None when the vote names a ``pick`` position instead
    film: str | None = None
    pick: int | None = None
    #: None = the room's mood now
    mood: str | None = None
    #: who sent it: "tv" (a display, the default) or "homeassistant"
    source: str = "tv"


def _shown(value: Any) -> str:
    return clean(json.dumps(value, ensure_ascii=True), 40)


def parse_vote(payload: bytes) -> Vote:
    """The vote in ``payload``, or :class:`BadVote` saying in one line what is wrong with it."""
    if len(payload) > MAX_VOTE_BYTES:
        raise BadVote(f"a {len(payload)}-byte message (a vote is at most {MAX_VOTE_BYTES} bytes)")
    try:
        data = json.loads(bytes(payload).decode("utf-8"))
    except UnicodeDecodeError:
        raise BadVote("not UTF-8 text (expected a JSON object)") from None
    except (ValueError, RecursionError):
        raise BadVote(f"not JSON: {clean(bytes(payload)[:40].decode('utf-8', 'replace'), 40)!r} "
                      f"(expected {{\"film\": KEY, \"vote\": \"up\"}})") from None
    if not isinstance(data, dict):
        raise BadVote(f"a JSON {type(data).__name__}, expected an object like {{\"film\": KEY, \"vote\": \"up\"}}")
    vote = data.get("vote")
    if not isinstance(vote, str) or vote not in VERDICTS:
        raise BadVote(f"\"vote\" is {_shown(vote)}, expected \"up\", \"down\" or \"seen\"")
    mood = data.get("mood")
    if mood is not None and not (isinstance(mood, str) and MOOD.fullmatch(mood)):
        raise BadVote(f"\"mood\" is {_shown(mood)}, expected a mood such as \"happy\" (or no \"mood\")")
    source = data.get("source", "tv")
    if not isinstance(source, str) or source not in SOURCES:
        raise BadVote(f"\"source\" is {_shown(source)}, expected \"tv\" or \"homeassistant\" (or no \"source\")")
    film, pick = data.get("film"), data.get("pick")
    if film is not None and pick is not None:
        raise BadVote("both \"film\" and \"pick\", expected one of them")
    if pick is not None:
        if isinstance(pick, bool) or not isinstance(pick, int) or not 1 <= pick <= MAX_PICK:
            raise BadVote(f"\"pick\" is {_shown(pick)}, expected a position 1-{MAX_PICK} in the picks shown")
        return Vote(vote, pick=pick, mood=mood, source=source)
    if not isinstance(film, str) or not KEY.fullmatch(film):
        raise BadVote(f"\"film\" is {_shown(film)}, expected a film key like \"imdb:tt0110357\" or "
                      "\"heat-1995\" (the pick's \"key\" in the state message)")
    return Vote(vote, film=film, mood=mood, source=source)


class TokenBucket:
    """``take()`` is True for ``burst`` calls at once, then once per ``refill_s``."""

    def __init__(self, burst: int, refill_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.burst, self.refill_s, self._clock = burst, refill_s, clock
        self._tokens = float(burst)
        self._at = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) / self.refill_s)
            self._at = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False


Record = Callable[[Vote], "tuple[str, str]"]
Answer = Callable[[str], None]


class FeedbackInbox:
    """The handler for the feedback topic (``Connection.subscribe``): parse, bound, record, answer.

    ``record(vote)`` stores a vote and returns ``(film key, title)``, raising ``ValueError`` with a
    one-line reason for a film it does not know; it runs under no lock of ours (the daemon holds its
    own). ``answer(json)`` publishes the result. Never raises: input from the network must not
    take the daemon down.
    """

    def __init__(self, record: Record, answer: Answer, *, burst: int = BURST, refill_s: float = REFILL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._record, self._answer = record, answer
        self._bucket = TokenBucket(burst, refill_s, clock)
        #: answers to refused (over-the-rate) votes: one per refill, not one per message
        self._flood_answer = RateLimit(refill_s, clock)
        self._log_limit = RateLimit(60.0, clock)
        self.recorded = self.refused = 0

    def __call__(self, topic: str, payload: bytes) -> None:
        if not self._bucket.take():
            self._refuse(f"too many votes (at most {self._bucket.burst} at once, then one every "
                         f"{self._bucket.refill_s:g} s)", None, quiet=not self._flood_answer.allow())
            return
        try:
            vote = parse_vote(payload)
        except BadVote as exc:
            self._refuse(str(exc), None)
            return
        try:
            key, title = self._record(vote)
        except ValueError as exc:
            self._refuse(clean(str(exc).splitlines()[0] if str(exc) else "refused", 200), vote)
            return
        except Exception:  # noqa: BLE001 - a bug in recording must not take the connection down
            log.exception("feedback: recording a vote failed")
            self._refuse("the daemon could not record it (see its log)", vote)
            return
        self.recorded += 1
        title = clean(title, 200)
        log.info("feedback: %s for %s (%s)%s", vote.vote, title, key,
                 f" in a {vote.mood} room" if vote.mood else "")
        self._reply({"film": key, "vote": vote.vote, "ok": True, "title": title,
                     "message": f"{_WORDS[vote.vote]} {title}"})

    def _refuse(self, why: str, vote: Vote | None, *, quiet: bool = False) -> None:
        self.refused += 1
        if self._log_limit.allow():
            more = self._log_limit.take_suppressed()
            log.warning("feedback: refused a vote: %s%s", why,
                        f" ({more} more refused since the last report)" if more else "")
        if quiet:
            return
        self._reply({"film": vote.film if vote else None, "pick": vote.pick if vote else None,
                     "vote": vote.vote if vote else None, "ok": False, "message": f"not recorded: {why}"})

    def _reply(self, result: dict[str, Any]) -> None:
        try:
            self._answer(json.dumps({k: v for k, v in result.items() if v is not None}, ensure_ascii=False))
        except Exception:  # noqa: BLE001 - the vote is kept even when its answer cannot be sent
            log.debug("feedback: could not send the answer", exc_info=True)


_WORDS = {"up": "Thumbs up for", "down": "Thumbs down for", "seen": "Marked as seen:"}
