"""The household's side of a pick: what it has watched, and how much it is expected to like each film.

Joins the votes (edge/recommend/taste.py), the film features and community prior
(edge/recommend/features.py) and the fitted model (edge/recommend/learn.py) for one catalog. The
recommender adds the policy's score for the mood to :meth:`Household.utility` and draws by
``exp(utility / TEMPERATURE)`` (edge/recommend/recommender.py).

Watched films (a "seen" vote, a rating, Kodi's ``<playcount>``/``<lastplayed>``) are not suggested
again for ``rewatch_after_days``; a film the household loved (thumbs up, 4.5 stars and up, Kodi
userrating 9-10) may come back after ``rewatch_loved_after_days``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..textsafe import clean
from .catalog import Film
from .features import FilmFeatures, community_prior, popularity
from .learn import TasteModel
from .taste import FeedbackError, TasteStore, Vote, check_mood, check_source, verdict_value

log = logging.getLogger(__name__)

#: how much a star of community rating above the library's mean counts, against the household's own
PRIOR_WEIGHT = 1.0
#: liking at or above this is "loved" (a thumbs up, 4.5 stars, a Kodi userrating of 9)
LOVED = 0.8
#: liking at or below this is "disliked" and never suggested again (a thumbs down, 2.5 stars or less)
DISLIKED = -0.5
DAY = 86400.0


@dataclass
class TasteSettings:
    enabled: bool = True
    half_life_days: float = 365.0
    rewatch_after_days: float = 365.0
    rewatch_loved_after_days: float = 30.0


def library_votes(films: Sequence[Film]) -> list[Vote]:
    """The media centre's marks as votes: a userrating is a rating, a playcount a "seen"."""
    out: list[Vote] = []
    for film in films:
        extra = film.extra
        if extra is None or (extra.userrating is None and not extra.playcount):
            continue
        at = extra.lastplayed or 0.0
        value = None if extra.userrating is None else max(-1.0, min(1.0, (extra.userrating / 2 - 3.25) / 1.5))
        out.append(Vote(film.key, film.title, value, None, "library", at, bool(extra.playcount) or value is not None))
    return out


class Household:
    """Votes kept in ``taste_path``, the library's marks, and the model fitted from both."""

    def __init__(self, films: Sequence[Film], taste_path: Path | str | None,
                 settings: TasteSettings | None = None) -> None:
        self.films = films
        self.settings = settings or TasteSettings()
        self.index = {f.key: i for i, f in enumerate(films)}
        self.store = TasteStore(taste_path)
        self.from_library = library_votes(films)
        self.features = FilmFeatures(films)
        self.prior, self.rating, self.votes = community_prior(films)
        self.model = TasteModel(self.features, self.prior, self.settings.half_life_days, popularity(self.votes))
        #: what "now" is (a benchmark replaying 1998 sets its own)
        self.clock = time.time
        #: (ten-minute slot, mask): the watched films, recomputed after a vote or every ten minutes
        self._watched: tuple[int, np.ndarray] | None = None
        self.refit()

    @property
    def all_votes(self) -> list[Vote]:
        return sorted(self.from_library, key=lambda v: v.at) + self.store.votes

    def refit(self) -> None:
        self._watched = None
        if self.settings.enabled:
            self.model.fit(self.all_votes, self.index, self.clock(), PRIOR_WEIGHT)

    def record(self, key: str, verdict: str, mood: str | None, source: str) -> str:
        if not isinstance(key, str) or key not in self.index:
            raise FeedbackError(f"no film {clean(repr(key), 90)} among the candidates", field="film",
                                expected="the key of a film in the catalog or library, e.g. imdb:tt0113277")
        value, seen = verdict_value(verdict)
        mood = check_mood(mood)
        if not check_source(source):
            raise FeedbackError(f"got {clean(repr(source), 40)}", field="source",
                                expected='a short lower-case word such as "tv" or "homeassistant"')
        film = self.films[self.index[key]]
        self.store.add([Vote(key, film.title, value, mood, source, self.clock(), seen)])
        self.refit()
        return film.title

    def refresh(self) -> None:
        """Pick up votes another process wrote (``mood-edge taste vote``/``import``/``forget``)."""
        if self.store.refresh():
            self.refit()

    def utility(self, mix: np.ndarray) -> np.ndarray:
        """Expected liking in stars-like units: community prior plus the household's residual."""
        if not self.settings.enabled:
            return np.zeros(len(self.films))
        return PRIOR_WEIGHT * self.prior + self.model.scores(mix)

    def add(self, votes: list[Vote]) -> None:
        """Votes from an import, saved once and learnt from at once."""
        self.store.add(votes)
        self.refit()

    def watched(self) -> np.ndarray:
        """Films not to suggest now: seen recently (or disliked, ever)."""
        now = self.clock()
        if self._watched is not None and self._watched[0] == int(now // 600):
            return self._watched[1]
        out = np.zeros(len(self.films), dtype=bool)
        if not self.settings.enabled:
            return out
        last: dict[int, tuple[float, float | None]] = {}
        for vote in self.all_votes:
            i = self.index.get(vote.film)
            if i is None:
                continue
            at, value = last.get(i, (0.0, None))
            last[i] = (max(at, vote.at) if vote.seen else at, vote.value if vote.value is not None else value)
        s = self.settings
        for i, (at, value) in last.items():
            if value is not None and value <= DISLIKED:
                out[i] = True  # a film the household disliked does not come back
                continue
            seen_for = now - at
            wait = s.rewatch_loved_after_days if value is not None and value >= LOVED else s.rewatch_after_days
            if at and seen_for < wait * DAY or (not at and value is not None and value < LOVED):
                out[i] = True
        self._watched = (int(now // 600), out)
        return out

    @property
    def nbytes(self) -> int:
        return self.features.nbytes + self.prior.nbytes * 3 + self.model.nbytes
