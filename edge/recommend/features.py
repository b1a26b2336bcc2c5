"""What the taste model knows of a film: sparse, hashed features and the community's verdict.

Each film is a handful of weighted features: its genres, decade, length, certificate, the people
a scraper names (directors, writers, the first actors, studio) and the film itself. Names are hashed
into :data:`DIMENSIONS` columns (crc32, the same on every machine), so no vocabulary of tens of
thousands of names sits in memory: 5,000 films take about 1.5 MB here.

The community prior is a Bayesian average of the ``.nfo`` rating: a film with 12 votes is pulled
towards the library's mean, one with 700,000 is not.
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Sequence

import numpy as np

from .catalog import Film

DIMENSIONS = 1 << 18
#: how much each kind of feature counts when two films are compared (the film itself counts most)
KIND_WEIGHT = {"genre": 0.55, "decade": 0.35, "length": 0.2, "cert": 0.2, "director": 0.6, "writer": 0.4,
               "actor": 0.35, "studio": 0.2, "film": 1.0}
#: a liking of 1 (thumbs up) is this many stars above a neutral rating (edge/recommend/taste.py)
STARS_PER_UNIT = 1.5
#: votes that count as much as the library's mean in the Bayesian average of a community rating
PRIOR_VOTES = 25.0


def _hash(text: str) -> int:
    return zlib.crc32(text.encode("utf-8", "surrogatepass")) % DIMENSIONS


def film_features(film: Film) -> list[tuple[int, float]]:
    """(column, value) pairs; a kind with several entries shares its weight (1/sqrt(n) each)."""
    groups: dict[str, list[str]] = {"genre": list(film.genres), "decade": [str(film.year // 10 * 10)],
                                    "film": [film.key]}
    if film.runtime is not None:
        groups["length"] = ["short" if film.runtime < 95 else "long" if film.runtime > 125 else "mid"]
    if film.rating is not None:
        groups["cert"] = [film.rating]
    for tagged in film.extra.people if film.extra else ():
        role, _, name = tagged.partition(":")
        groups.setdefault(role, []).append(name.casefold())
    out: dict[int, float] = {}
    for kind, names in groups.items():
        if not names or kind not in KIND_WEIGHT:
            continue
        each = KIND_WEIGHT[kind] / len(names) ** 0.5
        for name in names:
            col = _hash(f"{kind}:{name}")
            out[col] = out.get(col, 0.0) + each
    return sorted(out.items())


class FilmFeatures:
    """All films' features as one compressed sparse row matrix (indptr, columns, values)."""

    def __init__(self, films: Sequence[Film]) -> None:
        columns, values, ends = array("i"), array("f"), array("q")
        for film in films:  # straight into flat arrays: no list of tuples per film in between
            for col, value in film_features(film):
                columns.append(col)
                values.append(value)
            ends.append(len(columns))
        self.indptr = np.concatenate(([0], np.frombuffer(ends, dtype=np.int64))).astype(np.int64)
        self.columns = np.frombuffer(columns, dtype=np.int32).copy()
        self.values = np.frombuffer(values, dtype=np.float32).copy()

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.indptr[i], self.indptr[i + 1]
        return self.columns[a:b], self.values[a:b]

    def dot(self, weights: np.ndarray) -> np.ndarray:
        """Every film's features times a dense weight vector (one pass, no per-film Python)."""
        products = (self.values * weights[self.columns]).astype(np.float64)
        sums = np.concatenate(([0.0], np.cumsum(products)))
        return sums[self.indptr[1:]] - sums[self.indptr[:-1]]

    @property
    def nbytes(self) -> int:
        return self.indptr.nbytes + self.columns.nbytes + self.values.nbytes


def community_prior(films: Sequence[Film]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prior in liking units above the library's mean, rating 0-10 or nan, votes) per film.

    Films with no rating get 0: neither pushed nor held back.
    """
    rating = np.array([f.extra.community if f.extra and f.extra.community is not None else np.nan
                       for f in films], dtype=np.float64)
    votes = np.array([f.extra.votes if f.extra else 0 for f in films], dtype=np.float64)
    known = ~np.isnan(rating)
    prior = np.zeros(len(films), dtype=np.float64)
    if known.any():
        mean = float(rating[known].mean())
        bayes = (votes[known] * rating[known] + PRIOR_VOTES * mean) / (votes[known] + PRIOR_VOTES)
        prior[known] = (bayes - mean) / 2.0 / STARS_PER_UNIT
    return prior, rating, votes


def popularity(votes: np.ndarray) -> np.ndarray:
    """How many people rated a film, as a standard score of its log (0 where nobody did)."""
    logs = np.log1p(votes)
    known = votes > 0
    if known.sum() < 2:
        return np.zeros(len(votes))
    out = np.zeros(len(votes))
    out[known] = (logs[known] - logs[known].mean()) / (logs[known].std() + 1e-9)
    return out
