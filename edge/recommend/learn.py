"""What the household likes, learnt from its votes: a ridge regression per mood, shared across moods.

Each vote says how much the household liked a film (-1..1) and in which mood. The model explains
what the community rating does not (the *residual*) with the film's features (edge/recommend/features.py),
as kernel ridge regression on the votes, so its size is the number of votes, not of features:

* **per mood, shared otherwise**: two votes are compared by their films' features, and count
  ``1 + MOOD_BOOST`` times as much when cast in the same mood. With evidence in a mood the fit follows
  it; without, what was learnt in any mood carries over. A vote with no mood (an import, Kodi's
  userrating) is shared only.
* **old evidence fades**: a vote's weight halves every ``half_life_days``; the fit trusts a faded vote
  less (its ridge penalty grows), it does not drop it.
* the community rating and popularity are features too (:data:`WORLD_WEIGHT`): a household that
  trusts the crowd less than most, or avoids what everybody watched, can learn that;
* only the newest :data:`MAX_FIT_VOTES` rated films are fitted (a refit is O(n²) in them), so a vote
  costs milliseconds on a Pi however long the household has voted.

Scores for all candidates are one sparse product with a weight vector computed per mood.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .catalog import MOODS
from .features import DIMENSIONS, FilmFeatures
from .taste import Vote

MAX_FIT_VOTES = 400
#: how much more a vote counts for its own mood than for the others
MOOD_BOOST = 1.0
#: votes after which their mean counts half as the household's neutral point
CENTRE_AFTER = 10
#: how much the community rating and popularity count as features, against the film's own
WORLD_WEIGHT = 0.5
#: ridge penalty: with a few votes the fit stays close to the prior
RIDGE = 0.5


@dataclass
class Rated:
    """One rated film in the fit: its index, value, mood, weight (fading) and title."""
    index: int
    value: float
    mood: int
    weight: float
    title: str


class TasteModel:
    """Fitted from the votes by :meth:`fit`; :meth:`scores` gives each film's expected residual liking."""

    def __init__(self, features: FilmFeatures, prior: np.ndarray, half_life_days: float = 365.0,
                 popularity: np.ndarray | None = None) -> None:
        self.features = features
        self.prior = prior
        #: what the world thinks, as features too: a household may trust the ratings more or less than most,
        #: or like the films everybody saw more or less (standardised, times WORLD_WEIGHT)
        pop = np.zeros_like(prior) if popularity is None else popularity
        self.world = np.stack([prior / (prior.std() + 1e-9), pop], axis=1) * WORLD_WEIGHT
        self.half_life_s = half_life_days * 86400.0
        self.rated: list[Rated] = []
        self._alpha = np.zeros(0)
        self._cache: dict[bytes, np.ndarray] = {}
        self._coefficients: dict[bytes, np.ndarray] = {}
        #: column -> (position in rated, value): which rated films share a feature, for the reasons
        self._postings: dict[int, list[tuple[int, float]]] = {}

    def fit(self, votes: Sequence[Vote], index: dict[str, int], now: float | None = None,
            prior_weight: float = 1.0) -> None:
        now = time.time() if now is None else now
        latest: dict[tuple[int, int], Rated] = {}
        for vote in votes:  # oldest first: a later vote on the same film and mood replaces an earlier one
            i = index.get(vote.film)
            if i is None or vote.value is None:
                continue
            mood = MOODS.index(vote.mood) if vote.mood else -1
            age = max(0.0, now - vote.at)
            weight = 0.5 ** (age / self.half_life_s) if self.half_life_s > 0 else 1.0
            latest.pop((i, mood), None)
            latest[(i, mood)] = Rated(i, vote.value, mood, weight, vote.title)
        self.rated = list(latest.values())[-MAX_FIT_VOTES:]
        self._cache.clear()
        self._coefficients.clear()
        self._postings = {}
        for pos, r in enumerate(self.rated):
            cols, vals = self.features.row(r.index)
            for col, val in zip(cols.tolist(), vals.tolist()):
                self._postings.setdefault(col, []).append((pos, val))
        n = len(self.rated)
        if not n:
            self._alpha = np.zeros(0)
            return
        kernel = self._kernel([r.index for r in self.rated])
        world = self.world[[r.index for r in self.rated]]
        kernel += world @ world.T
        moods = np.array([r.mood for r in self.rated])
        same = (moods[:, None] == moods[None, :]) & (moods[:, None] >= 0)
        kernel = kernel * (1.0 + MOOD_BOOST * same)
        weight = np.array([r.weight for r in self.rated])
        target = np.array([r.value for r in self.rated]) - prior_weight * self.prior[[r.index for r in self.rated]]
        # how generous a household's stars are says nothing about which film: take out their mean, the
        # more surely the more votes there are (three thumbs up are not three average films)
        target -= np.average(target, weights=weight) * n / (n + CENTRE_AFTER)
        system = kernel + np.diag(RIDGE / np.maximum(weight, 1e-3))
        self._alpha = np.linalg.solve(system, target)

    def _kernel(self, rows: list[int]) -> np.ndarray:
        """Feature dot products of the rated films: shared columns densely, the rest on the diagonal."""
        parts = [self.features.row(i) for i in rows]
        cols = np.concatenate([c for c, _ in parts])
        vals = np.concatenate([v for _, v in parts]).astype(np.float64)
        owner = np.repeat(np.arange(len(rows)), [len(c) for c, _ in parts])
        _, inverse, counts = np.unique(cols, return_inverse=True, return_counts=True)
        shared = counts[inverse] > 1
        slot = np.cumsum(counts > 1) - 1
        dense = np.zeros((len(rows), int((counts > 1).sum())), dtype=np.float64)
        dense[owner[shared], slot[inverse[shared]]] = vals[shared]
        diag = np.bincount(owner[~shared], weights=vals[~shared] ** 2, minlength=len(rows))
        return dense @ dense.T + np.diag(diag)

    def coefficients(self, mix: np.ndarray) -> np.ndarray:
        """Each rated film's pull on the scores in this mood mix (its own mood counts more)."""
        boost = np.array([1.0 + MOOD_BOOST * (mix[r.mood] if r.mood >= 0 else 0.0) for r in self.rated])
        return self._alpha * boost

    def scores(self, mix: np.ndarray) -> np.ndarray:
        """Expected liking beyond the community's, per film, for this mood mix (0 without votes)."""
        n_films = len(self.features.indptr) - 1
        if not self.rated:
            return np.zeros(n_films)
        key = np.round(mix, 3).tobytes()
        if key not in self._cache:
            weights = np.zeros(DIMENSIONS, dtype=np.float64)
            for r, c in zip(self.rated, self.coefficients(mix)):
                cols, vals = self.features.row(r.index)
                np.add.at(weights, cols, c * vals)
            if len(self._cache) > 16:
                self._cache.clear()
            coef = self.coefficients(mix)
            world = self.world @ (self.world[[r.index for r in self.rated]].T @ coef)
            self._cache[key] = self.features.dot(weights) + world
        return self._cache[key]

    def liked_because(self, index: int, mix: np.ndarray, limit: int = 2) -> list[str]:
        """Titles of the other liked films that pulled this one up most (for "you liked X and Y")."""
        if not self.rated:
            return []
        key = np.round(mix, 3).tobytes()
        if key not in self._coefficients:
            self._coefficients = {key: self.coefficients(mix)}
        coef = self._coefficients[key]
        pull: dict[int, float] = {}
        cols, vals = self.features.row(index)
        for col, val in zip(cols.tolist(), vals.tolist()):
            for pos, rval in self._postings.get(col, ()):
                pull[pos] = pull.get(pos, 0.0) + val * rval
        ranked = sorted(((coef[pos] * overlap, pos) for pos, overlap in pull.items()
                         if self.rated[pos].index != index and self.rated[pos].value > 0 and coef[pos] > 0),
                        reverse=True)
        titles: list[str] = []
        for strength, pos in ranked:
            if strength < 0.02 or len(titles) >= limit:
                break
            if self.rated[pos].title not in titles:
                titles.append(self.rated[pos].title)
        return titles

    @property
    def nbytes(self) -> int:
        return self._alpha.nbytes + sum(v.nbytes for v in self._cache.values()) + 64 * len(self.rated)

