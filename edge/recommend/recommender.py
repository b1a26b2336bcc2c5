"""Movie picks for a mood: weighted by the catalog's policy, diverse, never stale, explainable.

How a pick is made (the same rules users read in catalog.json's policy):

* A film's *score* for a mood is the sum of the policy weights of its genres (favour > 0,
  avoid < 0); its chance of being drawn is proportional to ``max(0, baseline + score)``. So a
  favoured comedy outweighs a film the policy says nothing about, and a film whose avoided genres
  cancel its favoured ones is never drawn while anything better is left. A weight of -1 is a veto:
  a film with that genre is not drawn at all (a horror comedy is still horror to a scared room).
* With mood probabilities the per-mood scores are blended by probability (linear, so the blend is
  one vector product over the precomputed per-mood score table).
* Picks are drawn one after the other without replacement; each pick makes films that share its
  genres less likely (x ``DIVERSITY`` per shared genre) and no genre may fill more than half the
  list while another choice exists, so five picks are never five comedies.
* A film shown in the last ``history`` picks is not drawn again. The history survives restarts
  in ``state_path`` (written atomically). When the window would leave too few films, favoured
  films shown longest ago come back first; only after them come films the policy avoids.
* ``family_safe`` keeps only films flagged ``family`` in the catalog.
* A film the household owns whose genres nobody knows (no ``.nfo``, not in the catalog) is still a
  candidate, at ``UNKNOWN_GENRES_FACTOR`` times a film the policy says nothing about.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..config import check_value
from ..errors import ConfigError, ModelError, read_user_text
from ..textsafe import clean
from .catalog import GENRES, MOODS, STRATEGIES, Catalog, Film
from .draw import DIVERSITY, draw
from .taste import SOURCES, FeedbackError, TasteStore, Vote, check_mood, verdict_value

log = logging.getLogger(__name__)

#: moods below this probability are left out of the reasons (they still count in the blend)
REASON_MIN_PROBABILITY = 0.05
STATE_SCHEMA = 1
#: the history's file name under daemon.state_dir
HISTORY_FILE = "recommend-history.json"
#: 100,000 (title, year) pairs are about 5 MB
MAX_HISTORY_BYTES = 16 << 20
#: a (blended) genre weight at or below this keeps films of that genre out of the draw
VETO = -1.0 + 1e-9
#: an owned film with unknown genres is drawn this much less often than one the policy ignores
UNKNOWN_GENRES_FACTOR = 0.5


@dataclass
class Recommendation:
    title: str
    year: int
    genres: list[str]
    runtime: int | None
    rating: str | None
    family: bool
    description: str
    #: why it was chosen, e.g. ["comedy favoured for sad (lift)"]
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
                 taste_path: Path | str | None = None, remember: bool = True) -> None:
        strategy = check_value("recommend.strategy", strategy)  # the config's rule: a library user gets its error
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
        self._genre_matrix = np.zeros((n, g), dtype=np.float64)
        for i, film in enumerate(films):
            self._genre_matrix[i, [col[x] for x in film.genres]] = 1.0
        #: per film its genre columns, per genre its films: a pick only touches the films it affects
        self._film_genres = [tuple(col[x] for x in film.genres) for film in films]
        self._genre_members = [np.flatnonzero(self._genre_matrix[:, j]) for j in range(g)]
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
            self._scores[s] = w @ self._genre_matrix.T
        self._baseline = catalog.policy.baseline
        self._allowed = (np.array([f.family for f in films], dtype=bool) if family_safe
                         else np.ones(n, dtype=bool))
        self._unknown = np.array([not f.genres for f in films], dtype=bool)
        if family_safe and not self._allowed.any():
            log.warning("family_safe is on but %s has no film flagged family: nothing to recommend",
                        catalog.path)
        #: film indices, oldest first
        self._history: deque[int] = deque(maxlen=history)
        self._load_state()
        self._by_key = {f.key: i for i, f in enumerate(films)}
        self.taste = TasteStore(taste_path)

    # ---------------------------------------------------------------- feedback

    def feedback(self, key: str, verdict: str, mood: str | None = None, source: str = "tv") -> str:
        """Record a vote on a film (persisted at once); the next recommend() reflects it. Returns its title."""
        if not isinstance(key, str) or key not in self._by_key:
            raise FeedbackError(f"no film {clean(repr(key), 90)} among the candidates", field="film",
                                expected="the key of a film in the catalog or library, e.g. imdb:tt0113277")
        value, seen = verdict_value(verdict)
        mood = check_mood(mood)
        if source not in SOURCES:
            raise FeedbackError(f"got {clean(repr(source), 40)}", field="source", expected=", ".join(SOURCES))
        film = self.catalog.films[self._by_key[key]]
        self.taste.add([Vote(key, film.title, value, mood, source, time.time(), seen)])
        return film.title

    def _taste_factor(self) -> np.ndarray:
        factor = np.ones(len(self.catalog), dtype=np.float64)
        for vote in self.taste.votes:
            idx = self._by_key.get(vote.film)
            if idx is None:
                continue
            if vote.value is None:
                factor[idx] = 0.0
            else:
                factor[idx] = 3.0 if vote.value > 0 else 0.0
        return factor

    # ---------------------------------------------------------------- history state

    @property
    def history(self) -> list[tuple[str, int]]:
        """(title, year) of the films in the no-repeat window, oldest first."""
        return [(self.catalog.films[i].title, self.catalog.films[i].year) for i in self._history]

    def _load_state(self) -> None:
        if self.state_path is None or not self.history_size:
            return
        if not os.path.lexists(self.state_path):
            return
        try:  # the one bounded reader: a FIFO or a link to /dev/zero here must not hang or fill memory
            raw = read_user_text(self.state_path, ConfigError, "the recommendation history (JSON)",
                                 max_bytes=MAX_HISTORY_BYTES)
        except ConfigError as exc:
            log.warning("recommendation history unusable (%s); starting empty", clean(exc, 300))
            return
        try:
            data = json.loads(raw)
            if not isinstance(data, dict) or data.get("schema") != STATE_SCHEMA:
                raise ValueError(f"expected {{\"schema\": {STATE_SCHEMA}, \"shown\": [...]}}")
            shown = data["shown"]
            if not isinstance(shown, list):
                raise ValueError("'shown' is not a list")
            indices = []
            for item in shown:
                title, year = item
                idx = self.catalog.find(str(title), int(year))
                if idx is not None:
                    indices.append(idx)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("recommendation history %s is corrupt (%s); ignoring it", clean(self.state_path, 300),
                        clean(exc, 200))
            return
        for idx in indices:
            self._remember(idx)
        log.debug("recommendation history: %d films from %s", len(self._history), self.state_path)

    def _save_state(self) -> None:
        if self.state_path is None or not self.history_size:
            return
        doc = {"schema": STATE_SCHEMA, "shown": [[t, y] for t, y in self.history]}
        tmp = self.state_path.with_name(f".{self.state_path.name}.{os.getpid()}.tmp")
        try:
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, ensure_ascii=False)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.state_path)
        except OSError as exc:
            log.warning("cannot write recommendation history %s: %s", self.state_path, exc)
            try:
                tmp.unlink()
            except OSError:
                pass

    def _remember(self, idx: int) -> None:
        if not self.history_size:
            return
        try:
            self._history.remove(idx)
        except ValueError:
            pass
        self._history.append(idx)

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

    def _explainer(self, mix: np.ndarray) -> tuple[str, dict[int, str], list[float]]:
        """Per call: the mood phrase, and the reason text of every genre the (blended) policy favours."""
        weights = self._weights[self.strategy]
        blended = (mix @ weights).tolist()
        order = [int(k) for k in np.argsort(-mix, kind="stable") if mix[k] >= REASON_MIN_PROBABILITY]
        single = mix.max() >= 0.999
        phrase = MOODS[order[0]] if single else ", ".join(f"{MOODS[k]} {mix[k]:.0%}" for k in order)
        texts: dict[int, str] = {}
        for j, value in enumerate(blended):
            if value <= 0:
                continue
            if single:
                who = phrase
            else:
                who = ", ".join(f"{MOODS[k]} {mix[k]:.0%}" for k in order if weights[k, j] > 0) or "the mood mix"
            texts[j] = f"{GENRES[j]} favoured for {who} ({self.strategy})"
        return phrase, texts, blended

    def _reasons(self, film_idx: int, texts: dict[int, str], blended: list[float]) -> list[str]:
        favoured = sorted((j for j in self._film_genres[film_idx] if j in texts), key=lambda j: -blended[j])
        return [texts[j] for j in favoured]

    def recommend(self, mood: str, probabilities: Mapping[str, float] | None = None) -> list[Recommendation]:
        """``count`` films for ``mood`` (a FER-7 or 4-mood label, or "nobody"), newest history saved."""
        if mood not in self._mood_index:
            raise ValueError(f"unknown mood {mood!r}; expected one of {', '.join(MOODS)}")
        if self.count == 0 or not len(self.catalog):
            return []
        mix = self._mixture(mood, probabilities)
        scores = mix @ self._scores[self.strategy]
        weight = np.maximum(self._baseline + scores, 0.0)
        weight[self._unknown] *= UNKNOWN_GENRES_FACTOR
        weight *= self._taste_factor()
        for g in np.flatnonzero((mix @ self._weights[self.strategy]) <= VETO):
            weight[self._genre_members[g]] = 0.0
        in_history = np.zeros(len(weight), dtype=bool)
        if self._history:
            in_history[list(self._history)] = True
        available = self._allowed & ~in_history
        chosen = draw(self._rng, np.where(available, weight, 0.0), self.count, self._film_genres,
                      self._genre_members)
        kinds = ["drawn"] * len(chosen)
        if len(chosen) < self.count:
            extra = self._fallback(weight, scores, in_history, chosen)
            kinds += [k for _, k in extra]
            chosen += [i for i, _ in extra]

        picks: list[Recommendation] = []
        phrase, texts, blended = self._explainer(mix)
        for idx, kind in zip(chosen, kinds):
            if kind == "fill":
                reasons = [f"nothing favoured is left for {phrase} ({self.strategy}); closest remaining match"]
            else:
                reasons = self._reasons(idx, texts, blended) or [
                    "in your library, genres unknown; picked for variety" if self._unknown[idx] else
                    f"no genre favoured or avoided for {phrase} ({self.strategy}); picked for variety"]
            if kind == "repeat":
                reasons.append(f"shown again: every other choice was among the last {self.history_size} picks")
            picks.append(Recommendation.from_film(self.catalog.films[idx], reasons))
            if self.remember:
                self._remember(idx)
        if chosen and self.remember:
            self._save_state()
        return picks

    def _fallback(self, weight: np.ndarray, scores: np.ndarray, in_history: np.ndarray,
                  chosen: list[int]) -> list[tuple[int, str]]:
        """Fill a short list: favoured films shown longest ago, then the least-avoided unseen ones."""
        taken = set(chosen)
        need = self.count - len(chosen)
        out: list[tuple[int, str]] = []
        order = list(self._history)  # oldest first
        positive_old = [i for i in order if weight[i] > 0 and self._allowed[i] and i not in taken]
        rest_mask = self._allowed & (weight <= 0) & ~in_history
        rest_mask[list(taken)] = False
        rest = np.flatnonzero(rest_mask)
        rest = rest[self._rng.permutation(len(rest))]
        rest = rest[np.argsort(-scores[rest], kind="stable")]
        negative_old = [i for i in order if weight[i] <= 0 and self._allowed[i] and i not in taken]
        for pool, kind in ((positive_old, "repeat"), (rest.tolist(), "fill"), (negative_old, "repeat")):
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

    def for_state(self, mood: str, probabilities: Mapping[str, float] | None) -> list[dict]:
        if mood != self._mood:
            probs = probabilities if mood != "nobody" else None
            self._list = [r.to_dict() for r in self.recommender.recommend(mood, probs)]
            self._mood = mood
        return self._list
