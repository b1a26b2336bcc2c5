"""Movie picks for a mood: the policy's genres, the household's taste, variety, never stale, explained.

How a pick is made (the same rules users read in catalog.json's policy and docs/movies.md):

* A film's *policy score* for a mood is the sum of the policy weights of its genres (favour > 0).
  A genre weighted -0.5 or less is *avoided*: its films are not drawn while anything else is left
  (the room's own mood's avoids hold in a blend too), and -1 vetoes them outright; between -0.5 and
  0 a genre is only *played down* (a lower score, still drawn). A film scoring ``baseline + score <= 0``
  is not drawn while anything else is left either. For "nobody" only family films and films rated G,
  PG or PG-13 are drawn (family viewing), and ``family_safe`` keeps only films flagged ``family``.
* Among the rest, its chance of being drawn is ``exp(utility / TEMPERATURE)``: the *utility* is the
  expected liking in this mood, ``POLICY_WEIGHT * score`` plus what the household is expected to
  think of it (edge/recommend/household.py: the community rating and what its votes taught). The
  best films come first; the temperature keeps a little exploration.
* With mood probabilities the per-mood scores are blended by probability (one vector product).
* Picks are drawn without replacement, spreading genres (edge/recommend/draw.py).
* A film shown in the last ``history`` picks is not drawn again (edge/recommend/history.py); nor is
  one the household watched lately or disliked. When too few films are left, favoured films shown
  longest ago come back first; only after them come films the policy avoids, then watched ones.
* An owned film whose genres nobody knows is drawn ``UNKNOWN_GENRES_FACTOR`` times as often as
  one the policy says nothing about.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import ConfigError, ModelError
from ..fields import choice_text
from .catalog import GENRES, MOODS, STRATEGIES, Catalog, Film
from .draw import draw
from .history import HISTORY_FILE, PickHistory
from .household import Household, TasteSettings
from .reasons import community_reason, family_reason, genre_reasons, liked_reason, mood_phrase

__all__ = ["HISTORY_FILE", "MoodRecommendations", "Recommendation", "Recommender", "check_policies"]

log = logging.getLogger(__name__)

#: the ratings a film needs, if it is not flagged family, to be picked when nobody is in the room
ALL_AGES = frozenset({"G", "PG", "PG-13"})
#: a genre weight at or below this is *avoided*: its films are not drawn while anything else is left
#: (between this and 0 a genre is only *played down*: its films score lower but are still drawn)
AVOID = -0.5 + 1e-9
#: a genre weight (the blend's or the room's own mood's) at or below this is a veto: its films come last
VETO = -1.0 + 1e-9
#: an owned film with unknown genres is drawn this much less often than one the policy ignores
UNKNOWN_GENRES_FACTOR = 0.5
#: a policy score of 1 (a favoured genre) is worth this much expected liking (a thumbs up is 1; 0.05
#: tuned on MovieLens households with odd ids: the policy chooses among films, the liking ranks them)
POLICY_WEIGHT = 0.05
#: lower = picks follow the expected liking more closely, higher = more exploration (tuned on
#: MovieLens households with odd ids, tools/bench_taste.py)
TEMPERATURE = 0.03
#: exp() of a utility beyond this many temperatures is capped (no overflow, no single film hogging)
MAX_EXPONENT = 30.0


@dataclass
class Recommendation:
    title: str
    year: int
    genres: list[str]
    runtime: int | None
    rating: str | None
    family: bool
    description: str
    #: why it was chosen, in plain words, e.g. ["comedies lift a sad room", "you liked Heat"]
    reasons: list[str]
    #: where the film is, for films from the household's library (recommend.library)
    path: str | None = None
    #: its library ids, e.g. {"imdb": "tt0110357"}
    ids: dict[str, str] | None = None
    #: True for a film in the household's library (it has a path); absent from messages otherwise
    owned: bool = False
    #: the film's stable key (imdb:tt.., tmdb:.. or a title-year slug): what a vote names
    key: str = ""

    @classmethod
    def from_film(cls, film: Film, reasons: list[str]) -> "Recommendation":
        return cls(title=film.title, year=film.year, genres=list(film.genres), runtime=film.runtime,
                   rating=film.rating, family=film.family, description=film.description, reasons=reasons,
                   path=film.path, ids=dict(film.ids) if film.ids else None, owned=film.path is not None,
                   key=film.key)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object published in the MQTT state message (path, ids and owned only when known)."""
        d = asdict(self)
        for key in ("path", "ids", "owned"):
            if d[key] in (None, False):
                del d[key]
        return d


class Recommender:
    """Picks ``count`` films per call; keep one instance for the daemon's lifetime."""

    def __init__(self, catalog: Catalog, strategy: str = "lift", count: int = 5, family_safe: bool = False,
                 history: int = 30, state_path: Path | str | None = None, seed: int | None = None,
                 taste_path: Path | str | None = None, remember: bool = True,
                 taste: TasteSettings | None = None) -> None:
        if strategy not in STRATEGIES:  # the config's text: a library user gets the same error
            raise ConfigError(f"got {strategy!r}", field="recommend.strategy", expected=choice_text(STRATEGIES))
        if count < 0:
            raise ConfigError(f"got {count!r}", field="recommend.count", expected="0 or more")
        if history < 0:
            raise ConfigError(f"got {history!r}", field="recommend.history", expected="0 or more")
        self.catalog = catalog
        self.strategy = strategy
        self.count = count
        self.family_safe = family_safe
        self.history_size = history
        self.state_path = Path(state_path) if state_path is not None else None
        #: False: picks are not added to the history (``mood-edge recommend`` shows, it does not publish)
        self.remember = remember
        self._rng = np.random.default_rng(seed)

        films = catalog.films
        n, g = len(films), len(GENRES)
        col = {name: j for j, name in enumerate(GENRES)}
        genre_matrix = np.zeros((n, g), dtype=np.float64)
        for i, film in enumerate(films):
            genre_matrix[i, [col[x] for x in film.genres]] = 1.0
        #: per film its genre columns, per genre its films: a pick only touches the films it affects
        self._film_genres = [tuple(col[x] for x in film.genres) for film in films]
        self._genre_members = [np.flatnonzero(genre_matrix[:, j]) for j in range(g)]
        self._genre_matrix = genre_matrix.astype(bool)
        self._mood_index = {m: k for k, m in enumerate(MOODS)}
        #: strategy -> (moods x genres) weights and (moods x films) scores, computed once
        self._weights: dict[str, np.ndarray] = {}
        self._scores: dict[str, np.ndarray] = {}
        for s in STRATEGIES:
            w = np.zeros((len(MOODS), g), dtype=np.float64)
            for k, mood in enumerate(MOODS):
                for genre, value in catalog.policy.weights(mood, s).items():
                    w[k, col[genre]] = value
            self._weights[s] = w
            self._scores[s] = w @ genre_matrix.T
        self._baseline = catalog.policy.baseline
        self._allowed = (np.array([f.family for f in films], dtype=bool) if family_safe
                         else np.ones(n, dtype=bool))
        #: for "nobody": family films and films rated G to PG-13 (whoever walks in may be a child)
        self._all_ages = np.array([f.family or f.rating in ALL_AGES for f in films], dtype=bool)
        self._unknown = np.array([not f.genres for f in films], dtype=bool)
        if family_safe and not self._allowed.any():
            log.warning("family_safe is on but %s has no film flagged family: nothing to recommend",
                        catalog.path)
        self._history = PickHistory(catalog, history, self.state_path)
        self.household = Household(films, taste_path, taste)

    @property
    def taste(self):  # noqa: ANN201 - the TasteStore, for the commands
        return self.household.store

    @property
    def history(self) -> list[tuple[str, int]]:
        """(title, year) of the films in the no-repeat window, oldest first."""
        return [(self.catalog.films[i].title, self.catalog.films[i].year) for i in self._history.shown]

    def feedback(self, key: str, verdict: str, mood: str | None = None, source: str = "tv") -> str:
        """Record a vote on a film (persisted at once); the next recommend() reflects it. Returns its title.

        Raises :class:`edge.recommend.taste.FeedbackError` for an unknown film, verdict, mood or source.
        """
        return self.household.record(key, verdict, mood, source)

    # ---------------------------------------------------------------- picking

    def _mixture(self, mood: str, probabilities: Mapping[str, float] | None) -> np.ndarray:
        """Probability per policy mood; one-hot on ``mood`` when no usable probabilities are given."""
        mix = np.zeros(len(MOODS), dtype=np.float64)
        if probabilities and mood != "nobody":
            for name, p in probabilities.items():
                k = self._mood_index.get(name)
                if k is None or name == "nobody":
                    log.debug("no policy for mood %r; left out of the blend", name)
                    continue
                if isinstance(p, (int, float)) and math.isfinite(p) and p > 0:
                    mix[k] += float(p)
            total = mix.sum()
            if total > 0:
                return mix / total
            mix[:] = 0.0
        mix[self._mood_index[mood]] = 1.0
        return mix

    def _reasons(self, idx: int, mix: np.ndarray, blended: list[float], mood: str) -> list[str]:
        h = self.household
        return (liked_reason(h.model.liked_because(idx, mix))
                + genre_reasons(self._film_genres[idx], blended, self.strategy, mood_phrase(mix))
                + community_reason(h.prior[idx], h.rating[idx], h.votes[idx])
                + family_reason(mood))

    def recommend(self, mood: str, probabilities: Mapping[str, float] | None = None) -> list[Recommendation]:
        """``count`` films for ``mood`` (a FER-7 or 4-mood label, or "nobody"), newest history saved."""
        if mood not in self._mood_index:
            raise ValueError(f"unknown mood {mood!r}; expected one of {', '.join(MOODS)}")
        if self.count == 0 or not len(self.catalog):
            return []
        self.household.refresh()
        mix = self._mixture(mood, probabilities)
        scores = mix @ self._scores[self.strategy]
        blended = mix @ self._weights[self.strategy]
        weight = np.maximum(self._baseline + scores, 0.0)
        # avoided means avoided: what the room's own mood avoids, or the blend of the moods present does
        own = self._weights[self.strategy][self._mood_index[mood]]
        avoided = self._genre_matrix[:, (blended <= AVOID) | (own <= AVOID)].any(axis=1)
        vetoed = self._genre_matrix[:, (blended <= VETO) | (own <= VETO)].any(axis=1)
        weight[avoided | vetoed] = 0.0
        if mood == "nobody":
            weight[~self._all_ages] = 0.0
        utility = POLICY_WEIGHT * scores + self.household.utility(mix)
        eligible = weight > 0
        in_history = np.zeros(len(weight), dtype=bool)
        if self._history.shown:
            in_history[list(self._history.shown)] = True
        watched = self.household.watched()
        available = self._allowed & ~in_history & ~watched
        # the scale is set by the best film that can be drawn now: a loved film already watched (high
        # utility, held back) must not flatten every other chance to the exp() floor
        drawable = eligible & available if (eligible & available).any() else eligible
        top = utility[drawable].max() if drawable.any() else 0.0
        weight = np.where(eligible, np.exp(np.clip((utility - top) / TEMPERATURE, -MAX_EXPONENT, 0.0)), 0.0)
        weight[self._unknown] *= UNKNOWN_GENRES_FACTOR
        chosen = draw(self._rng, np.where(available, weight, 0.0), self.count, self._film_genres,
                      self._genre_members)
        kinds = ["drawn"] * len(chosen)
        if len(chosen) < self.count:
            rank = utility - 100.0 * vetoed - 10.0 * (mood == "nobody") * ~self._all_ages
            extra = self._fallback(weight * ~watched, rank, in_history | watched, chosen, watched)
            kinds += [k for _, k in extra]
            chosen += [i for i, _ in extra]

        picks: list[Recommendation] = []
        room = mood_phrase(mix)
        for idx, kind in zip(chosen, kinds):
            if kind == "fill":
                reasons = [f"the closest match left for {room}: nothing it favours is left"]
            elif kind == "watched":
                reasons = ["you have seen it: everything else has been shown lately"]
            else:
                reasons = self._reasons(idx, mix, blended.tolist(), mood) or [
                    "in your library, genres unknown; picked for variety" if self._unknown[idx] else
                    "picked for variety"]
            if kind == "repeat":
                reasons.append(f"shown again: every other choice was among the last {self.history_size} picks")
            picks.append(Recommendation.from_film(self.catalog.films[idx], reasons))
            if self.remember:
                self._history.add(idx)
        if chosen and self.remember:
            self._history.save()
        return picks

    def _fallback(self, weight: np.ndarray, rank: np.ndarray, hidden: np.ndarray, chosen: list[int],
                  watched: np.ndarray) -> list[tuple[int, str]]:
        """Fill a short list: favoured films shown longest ago, then the best of the avoided ones not
        shown lately, then avoided ones shown lately, and watched films last of all."""
        taken = set(chosen)
        need = self.count - len(chosen)
        out: list[tuple[int, str]] = []
        usable = self._allowed & ~watched
        order = [i for i in self._history.shown if usable[i] and i not in taken]  # oldest first
        positive_old = [i for i in order if weight[i] > 0]
        negative_old = [i for i in order if weight[i] <= 0]

        def best(mask: np.ndarray) -> list[int]:
            mask[list(taken)] = False
            found = np.flatnonzero(mask)
            found = found[self._rng.permutation(len(found))]
            return found[np.argsort(-rank[found], kind="stable")].tolist()

        rest = best(usable & (weight <= 0) & ~hidden)
        seen = best(self._allowed & watched)
        for pool, kind in ((positive_old, "repeat"), (rest, "fill"), (negative_old, "repeat"), (seen, "watched")):
            for i in pool:
                if len(out) == need:
                    return out
                out.append((int(i), kind))
        return out


def check_policies(labels: list[str] | tuple[str, ...], card_path: object) -> None:
    """Refuse a model whose classes the recommender has no policy for now, at start-up, not when
    one of them first wins."""
    unknown = [label for label in labels if label not in MOODS]
    if unknown:
        raise ModelError(f"labels {unknown} have no movie policy", path=card_path,
                         field="labels", expected="class names from " + ", ".join(m for m in MOODS if m != "nobody"))


class MoodRecommendations:
    """The recommender asked once per mood: the list stays the same while the mood does (a new
    draw on every frame would make the display flicker and wear out the history)."""

    def __init__(self, recommender: Recommender) -> None:
        self.recommender = recommender
        self._mood: str | None = None
        self._list: list[dict] = []

    def invalidate(self) -> None:
        """Draw afresh at the next state (after a vote, so the new picks reflect it)."""
        self._mood = None

    def for_state(self, mood: str, probabilities: Mapping[str, float] | None) -> list[dict]:
        if mood != self._mood:
            probs = probabilities if mood != "nobody" else None
            self._list = [r.to_dict() for r in self.recommender.recommend(mood, probs)]
            self._mood = mood
        return self._list
