"""The household's taste as it is kept: every vote, rating and "seen it", with the room's mood then.

One file, ``taste.json`` in daemon.state_dir, holds a list of votes, newest last::

    {"schema": 1, "kind": "mood-edge-taste",
     "votes": [{"film": "imdb:tt0113277", "title": "Heat", "value": 1.0, "mood": "happy",
                "source": "tv", "at": 1767139200, "seen": true}, ...]}

``value`` is how much the household liked the film, from -1 (thumbs down, 1 star) to 1 (thumbs up,
5 stars); null for a bare "seen it". It is bounded: at most :data:`MAX_VOTES` votes (the oldest go
first; about 150 bytes each, so the file stays under :data:`MAX_TASTE_BYTES`). What is learnt from
it (edge/recommend/learn.py) is recomputed from these votes, so the file is the whole of it and
``taste forget --all`` erases everything. Nothing here is published.
"""

from __future__ import annotations

import logging
import math
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import MoodEdgeError
from ..textsafe import clean
from .catalog import MAX_TITLE, MOODS
from .filmdata import KEY_PATTERN
from .statefile import read_state, remove_state, set_aside, write_state

log = logging.getLogger(__name__)

TASTE_FILE = "taste.json"
TASTE_SCHEMA = 1
TASTE_KIND = "mood-edge-taste"
#: 20,000 votes are about 3 MB of JSON: a household voting ten times a day for five years
MAX_VOTES = 20_000
MAX_TASTE_BYTES = 8 << 20
VERDICTS = ("up", "down", "seen")
#: where a vote came from: "tv", "homeassistant", "cli", "import", "library", or another short word
SOURCE_PATTERN = re.compile(r"[a-z][a-z0-9-]{0,31}")
#: votes dated later than now by more than this are someone's clock or a forged file
FUTURE_SLACK_S = 86400


class FeedbackError(MoodEdgeError, ValueError):
    """A vote that cannot be recorded: one line naming the field and what was expected."""


@dataclass
class Vote:
    film: str
    title: str
    #: -1 (disliked) .. 1 (loved); None: only "seen it"
    value: float | None
    mood: str | None
    source: str
    at: float
    seen: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def verdict_value(verdict: str) -> tuple[float | None, bool]:
    """(value, seen) for a verdict from a display or the command line."""
    if verdict not in VERDICTS:
        raise FeedbackError(f"got {clean(repr(verdict), 40)}", field="vote", expected="up, down or seen")
    return {"up": (1.0, False), "down": (-1.0, False), "seen": (None, True)}[verdict]


def stars_value(stars: float) -> float:
    """A 0.5-5 star rating as liking: 4 stars and up is liked (MovieLens' and Letterboxd's sense)."""
    return max(-1.0, min(1.0, (stars - 3.25) / 1.5))


def check_source(source: Any) -> bool:
    return isinstance(source, str) and SOURCE_PATTERN.fullmatch(source) is not None


def check_mood(mood: Any) -> str | None:
    if mood is None:
        return None
    if not isinstance(mood, str) or mood not in MOODS:
        raise FeedbackError(f"got {clean(repr(mood), 40)}", field="mood", expected="one of " + ", ".join(MOODS))
    return mood


def _vote_from(entry: Any, now: float) -> Vote:
    """One stored vote, every field checked as strictly as the config checks its values."""
    if not isinstance(entry, dict) or set(entry) != {"film", "title", "value", "mood", "source", "at", "seen"}:
        raise ValueError("a vote is not an object with film, title, value, mood, source, at, seen")
    film, title, value, at = entry["film"], entry["title"], entry["value"], entry["at"]
    if not isinstance(film, str) or not KEY_PATTERN.fullmatch(film):
        raise ValueError(f"film {clean(repr(film), 40)} is not a film key")
    if not isinstance(title, str) or not 0 < len(title) <= MAX_TITLE:
        raise ValueError(f"title of {film} is not a title")
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                              or not -1.0 <= value <= 1.0):
        raise ValueError(f"value of {film} is {clean(repr(value), 30)}, not -1..1 or null")
    if isinstance(at, bool) or not isinstance(at, (int, float)) or not 0 <= at <= now + FUTURE_SLACK_S:
        raise ValueError(f"time of {film} is {clean(repr(at), 30)}, not a date up to now")
    if not check_source(entry["source"]) or not isinstance(entry["seen"], bool):
        raise ValueError(f"source or seen of {film} is not one this version writes")
    try:
        mood = check_mood(entry["mood"])
    except FeedbackError:
        raise ValueError(f"mood of {film} is not a mood") from None
    return Vote(film, title, None if value is None else float(value), mood, entry["source"], float(at),
                entry["seen"])


class TasteStore:
    """The votes, in memory and (when ``path`` is set) in ``taste.json``; bounded, saved on each change."""

    def __init__(self, path: Path | str | None) -> None:
        self.path = Path(path) if path is not None else None
        self.votes: list[Vote] = []
        self._seen_stat: tuple[int, int, int] | None = None
        if self.path is not None:
            self._load()

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.lstat(self.path) if self.path is not None else None
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns) if st is not None else None

    def refresh(self) -> bool:
        """Re-read the file when another process (``mood-edge taste``) changed it; True if it did."""
        if self.path is None or self._stat() == self._seen_stat:
            return False
        self.votes = []
        self._load()
        return True

    def _load(self) -> None:
        assert self.path is not None
        data = read_state(self.path, "taste file", MAX_TASTE_BYTES)
        self._seen_stat = self._stat()
        if data is None:
            return
        try:
            if not isinstance(data, dict) or data.get("kind") != TASTE_KIND:
                raise ValueError("not a mood-edge taste file")
            if data.get("schema") != TASTE_SCHEMA:
                raise ValueError(f"written by another version (schema {clean(repr(data.get('schema')), 20)}, "
                                 f"this one reads {TASTE_SCHEMA})")
            entries = data.get("votes")
            if not isinstance(entries, list) or len(entries) > MAX_VOTES:
                raise ValueError(f"'votes' is not a list of at most {MAX_VOTES}")
            now = time.time()
            votes = [_vote_from(e, now) for e in entries]
        except ValueError as exc:
            set_aside(self.path, "taste file", str(exc))
            self._seen_stat = self._stat()
            return
        self.votes = votes
        log.info("taste: %d votes from %s", len(votes), clean(self.path, 300))

    def save(self) -> bool:
        if self.path is None:
            return True
        doc = {"schema": TASTE_SCHEMA, "kind": TASTE_KIND, "votes": [v.to_dict() for v in self.votes]}
        ok = write_state(self.path, doc, "taste file")
        self._seen_stat = self._stat()
        return ok

    def add(self, votes: list[Vote], save: bool = True) -> None:
        """Record votes (a newer vote on the same film in the same mood replaces the older one)."""
        self.refresh()
        for vote in votes:
            if vote.value is not None and not (math.isfinite(vote.value) and -1 <= vote.value <= 1):
                raise FeedbackError(f"got {vote.value!r}", field="value", expected="a number from -1 to 1")
            if vote.value is not None:
                self.votes = [v for v in self.votes if not (v.film == vote.film and v.mood == vote.mood
                                                            and v.value is not None)]
            self.votes.append(vote)
        if len(self.votes) > MAX_VOTES:
            del self.votes[: len(self.votes) - MAX_VOTES]
        if save:
            self.save()

    def forget(self, film: str) -> int:
        """Drop every vote on one film; how many there were."""
        self.refresh()
        before = len(self.votes)
        self.votes = [v for v in self.votes if v.film != film]
        if len(self.votes) != before:
            self.save()
        return before - len(self.votes)

    def forget_all(self) -> int:
        self.refresh()
        count = len(self.votes)
        self.votes = []
        if self.path is not None:
            remove_state(self.path)
            remove_state(self.path.with_name(self.path.name + ".bad"))  # what was set aside is taste too
            self._seen_stat = None
        return count
