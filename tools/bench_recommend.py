#!/usr/bin/env python3
"""Time one recommendation (the issue asks for <= 1 ms with 10,000 films) and print the median.

    .venv/bin/python tools/bench_recommend.py [--films 10000] [--calls 2000] [--seed 0]

The big catalog is synthetic (random genres, the shipped policy), since only the film count and
genre mix matter for speed. Timed: ``Recommender.recommend`` with count 5 and a 30-film history,
alternating moods with and without FER-7 probabilities; the history state file is left out of the
main figure (its fsync depends on the disk) and timed on its own.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edge.recommend.catalog import GENRES, MOODS, Catalog, Film, load_catalog  # noqa: E402
from edge.classify.labels import FER7  # noqa: E402
from edge.recommend.recommender import Recommender  # noqa: E402


def synthetic(base: Catalog, n: int, seed: int) -> Catalog:
    rng = np.random.default_rng(seed)
    films = []
    for i in range(n):
        genres = tuple(rng.choice(GENRES, size=int(rng.integers(1, 5)), replace=False))
        family = bool(rng.random() < 0.25)
        films.append(Film(title=f"Film {i}", year=int(rng.integers(1920, 2025)), genres=genres,
                          runtime=int(rng.integers(70, 200)), rating="PG" if family else "R", family=family,
                          description="Synthetic film for the benchmark."))
    return Catalog(films=films, policy=base.policy, path=f"<synthetic {n}>")


def time_calls(rec: Recommender, calls: int, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    moods = list(MOODS)
    times = []
    for i in range(calls):
        mood = moods[i % len(moods)]
        probs = None
        if i % 2 and mood != "nobody":
            p = rng.dirichlet(np.ones(len(FER7)))
            probs = dict(zip(FER7, p.tolist()))
        t0 = time.perf_counter_ns()
        rec.recommend(mood, probs)
        times.append((time.perf_counter_ns() - t0) / 1e6)
    return times


def report(label: str, times: list[float]) -> None:
    q = statistics.quantiles(times, n=100)
    print(f"{label:<44} median {statistics.median(times):.3f} ms   p90 {q[89]:.3f} ms   p99 {q[98]:.3f} ms")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--films", type=int, default=10_000)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    shipped = load_catalog(ROOT / "catalog.json")
    big = synthetic(shipped, args.films, args.seed)
    for label, catalog, family_safe in ((f"shipped catalog ({len(shipped)} films)", shipped, False),
                                        (f"synthetic catalog ({len(big)} films)", big, False),
                                        (f"synthetic catalog ({len(big)} films), family", big, True)):
        rec = Recommender(catalog, strategy="lift", count=5, history=30, family_safe=family_safe, seed=args.seed)
        time_calls(rec, 50, args.seed)  # warm-up
        report(label, time_calls(rec, args.calls, args.seed))
    with tempfile.TemporaryDirectory() as tmp:
        rec = Recommender(big, count=5, history=30, state_path=Path(tmp) / "recommend-history.json", seed=args.seed)
        report(f"synthetic ({len(big)} films) + state file", time_calls(rec, min(args.calls, 300), args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
