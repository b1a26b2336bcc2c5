"""Weighted draws without replacement that spread genres: the variety rules of the picks.

Each pick makes films that share its genres less likely (x ``DIVERSITY`` per shared genre) and no
genre may fill more than half the list while another choice exists, so five picks are never five comedies.
"""

from __future__ import annotations

import math

import numpy as np

from .catalog import GENRES

#: each genre a candidate shares with an earlier pick multiplies its weight by this
DIVERSITY = 0.4
#: draws tried against the first cumulative sum before an exact pass over the catalog
REJECTION_TRIES = 32


def sample(rng: np.random.Generator, cumulative: np.ndarray, weight: np.ndarray) -> int:
    """One index drawn with probability proportional to ``weight`` (``cumulative`` is its cumsum)."""
    idx = min(int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right")),
              len(weight) - 1)
    while weight[idx] <= 0:  # never land on a zero-width slot at float edges
        idx -= 1
    return idx


def draw(rng: np.random.Generator, weight: np.ndarray, count: int, film_genres: list[tuple[int, ...]],
         genre_members: list[np.ndarray]) -> list[int]:
    """Weighted draws without replacement, spreading genres (see the module docstring).

    Later draws reuse the first cumulative sum by rejection sampling (the penalised weights are
    never above the starting ones), and a pick only touches the films sharing its genres, so a
    call costs about one pass over the catalog instead of one per pick.
    """
    initial = np.cumsum(weight)
    if initial[-1] <= 0:
        return []
    w = weight.copy()
    capped: np.ndarray | None = None  # w with the films of genres at the cap zeroed
    counts = [0] * len(GENRES)
    cap = max(1, math.ceil(count / 2))
    chosen: list[int] = []
    for n in range(count):
        source = capped if capped is not None else w
        idx = sample(rng, initial, weight) if n == 0 else -1
        for _ in range(REJECTION_TRIES if n else 0):
            j = sample(rng, initial, weight)
            if rng.random() * weight[j] < source[j]:
                idx = j
                break
        if idx < 0:  # the remaining weight is thin: draw exactly, relaxing the cap if it leaves nothing
            cumulative = np.cumsum(source)
            if cumulative[-1] <= 0 and capped is not None:
                source, cumulative = w, np.cumsum(w)
            if cumulative[-1] <= 0:
                break
            idx = sample(rng, cumulative, source)
        chosen.append(idx)
        w[idx] = 0.0
        if capped is not None:
            capped[idx] = 0.0
        for g in film_genres[idx]:
            members = genre_members[g]
            w[members] *= DIVERSITY
            if capped is not None:
                capped[members] *= DIVERSITY
            counts[g] += 1
            if counts[g] >= cap:
                if capped is None:
                    capped = w.copy()
                capped[members] = 0.0
    return chosen
