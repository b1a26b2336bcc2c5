#!/usr/bin/env python3
"""How often the picks are films the household goes on to like: MovieLens 100K households replayed.

    .venv/bin/python tools/bench_taste.py [--households 100] [--split heldback|tuning] [--json bench-taste.json]

Each household is one MovieLens 100K viewer (read from the recbole 1.2.1 wheel in .cache/wheels; the
data is never written anywhere but a temporary folder). Its library: 90 films it rated, each a
``Title (Year)`` folder with a Kodi ``.nfo`` as a scraper writes it (genres, director, writers,
actors and studio from the wheel's Freebase links, a community rating with its votes derived from
the *other* viewers' ratings). The 30 it rated first are "watched" (their ratings are the feedback),
the 60 later ones are new. The real code reads the folder (``library_catalog``) and picks 5 films for
each of six moods; a pick counts as liked when the viewer later rated it 4 or 5 (a watched film
picked again counts as not liked). The household's ratings reach the device three ways: Kodi
``<userrating>``, a Letterboxd ``ratings.csv`` through ``taste import``'s reader, or not at all (only
``<playcount>``). Against: the static policy (taste off), a random draw from the new films, and the
most-rated new films (global popularity). Households with odd ids tuned the constants; the figures
are for even ids (held back) unless ``--split tuning``.

Also: a learning curve (0, 5, 10, 20, 50 earlier ratings through Kodi, 60 new films), and the time
per pick and per vote and the memory added by taste with a synthetic 5,000-film library on one core.
Figures are printed and written as JSON; nothing here is a test.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
import zipfile  # noqa: E402
from collections import defaultdict  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402
from xml.sax.saxutils import escape  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edge.recommend.catalog import GENRES, Catalog, Film, load_catalog  # noqa: E402
from edge.recommend.filmdata import FilmExtra  # noqa: E402
from edge.recommend.household import Household, TasteSettings  # noqa: E402
from edge.recommend.imports import read_export  # noqa: E402
from edge.recommend.library import library_catalog  # noqa: E402
from edge.recommend.recommender import Recommender  # noqa: E402

MEMBER = "recbole/dataset_example/ml-100k/ml-100k."
MOODS = ("happy", "sad", "neutral", "surprise", "angry", "fear")
PEOPLE = {"film.film.directed_by": ("director", 3), "film.film.written_by": ("credits", 4),
          "film.film.actor": ("actor", 8), "film.film.production_companies": ("studio", 2)}
DAY = 86400


def load(wheel: Path) -> tuple[dict, dict, dict]:
    """(items id -> (title, year, genres), ratings user -> [(item, stars, time)], people item -> {tag: [ids]})."""
    with zipfile.ZipFile(wheel) as whl:
        read = lambda ext: whl.read(MEMBER + ext).decode("utf-8", "replace").splitlines()[1:]  # noqa: E731
        items = {}
        for line in read("item"):
            iid, title, year, genres = (line.split("\t") + ["", "", ""])[:4]
            if year.strip().isdigit():
                items[iid] = (title.strip(), int(year), [g for g in genres.split() if g != "unknown"])
        ratings = defaultdict(list)
        for line in read("inter"):
            uid, iid, stars, ts = line.split("\t")
            if iid in items:
                ratings[uid].append((iid, float(stars), float(ts)))
        entity = dict(reversed(line.split("\t")) for line in read("link"))
        people: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for line in read("kg"):
            head, rel, tail = line.split("\t")
            if rel in PEOPLE and head in entity:
                tag, limit = PEOPLE[rel]
                found = people[entity[head]][tag]
                if len(found) < limit:
                    found.append(tail)
    return items, ratings, people


def nfo(title: str, year: int, genres: list[str], people: dict, community: tuple[float, int] | None,
        mark: tuple[float | None, float] | None) -> str:
    parts = [f"<title>{escape(title)}</title>", f"<year>{year}</year>"]
    parts += [f"<genre>{escape(g)}</genre>" for g in genres]
    for tag in ("director", "credits", "studio"):
        parts += [f"<{tag}>{p}</{tag}>" for p in people.get(tag, [])]
    parts += [f"<actor><name>{p}</name></actor>" for p in people.get("actor", [])]
    if community:
        parts.append(f'<ratings><rating name="movielens" max="10" default="true"><value>{community[0]:.2f}</value>'
                     f"<votes>{community[1]}</votes></rating></ratings>")
    if mark:
        stars, at = mark
        if stars is not None:
            parts.append(f"<userrating>{int(stars * 2)}</userrating>")
        parts.append(f"<playcount>1</playcount><lastplayed>{datetime.fromtimestamp(at, timezone.utc):%Y-%m-%d %H:%M:%S}"
                     "</lastplayed>")
    return "<movie>" + "".join(parts) + "</movie>\n"


class Bench:
    def __init__(self, wheel: Path, base: Catalog) -> None:
        self.items, self.ratings, self.people = load(wheel)
        self.base = base
        total = defaultdict(lambda: [0.0, 0])
        for rows in self.ratings.values():
            for iid, stars, _ in rows:
                total[iid][0] += stars
                total[iid][1] += 1
        self.total = total
        #: Letterboxd rows matched, rows read
        self.imported = [0, 0]

    def community(self, iid: str, own: float) -> tuple[float, int] | None:
        s, n = self.total[iid]
        return ((s - own) / (n - 1) * 2, n - 1) if n > 1 else None

    def household(self, uid: str, n_old: int, n_new: int, seed: int) -> tuple[list, list] | None:
        rows, seen = [], set()
        for row in sorted(self.ratings[uid], key=lambda r: r[2]):
            title, year, _ = self.items[row[0]]
            if (title.casefold(), year) not in seen:
                seen.add((title.casefold(), year))
                rows.append(row)
        if len(rows) < n_old + n_new:
            return None
        rng = np.random.default_rng(seed + int(uid))
        picked = sorted((rows[i] for i in rng.choice(len(rows), n_old + n_new, replace=False)), key=lambda r: r[2])
        return picked[:n_old], picked[n_old:]

    def library(self, folder: Path, old: list, new: list, mode: str) -> None:
        for iid, stars, at in old + new:
            title, year, genres = self.items[iid]
            name = f"{title.replace('/', '-')} ({year})"
            d = folder / name
            d.mkdir(parents=True, exist_ok=True)
            (d / f"{name}.mkv").write_bytes(b"")
            watched = (iid, stars, at) in old
            mark = None
            if watched and mode != "letterboxd":
                mark = (stars if mode == "kodi" else None, at)
            (d / "movie.nfo").write_text(nfo(title, year, genres, self.people.get(iid, {}),
                                             self.community(iid, stars), mark), encoding="utf-8")

    def letterboxd(self, path: Path, old: list) -> None:
        with open(path, "w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(["Date", "Name", "Year", "Letterboxd URI", "Rating"])
            for iid, stars, at in old:
                title, year, _ = self.items[iid]
                out.writerow([f"{datetime.fromtimestamp(at, timezone.utc):%Y-%m-%d}", title, year, "", stars])

    def picks(self, uid: str, old: list, new: list, mode: str, work: Path) -> dict[str, list[int]]:
        """Per method, 1/0 for each pick: liked (rated >= 4 later) or not."""
        lib = work / f"{uid}-{mode}"
        self.library(lib, old, new, mode)
        catalog, _ = library_catalog(lib, self.base)
        rated = {}
        for iid, stars, at in old + new:
            title, year, _ = self.items[iid]
            idx = catalog.find(title, year)
            if idx is not None:
                rated[catalog.films[idx].key] = (stars, (iid, stars, at) in old)
        now = max(at for _, _, at in old or new) + DAY
        judge = lambda picks: [int(rated[p.key][0] >= 4 and not rated[p.key][1]) for p in picks]  # noqa: E731
        out: dict[str, list[int]] = {}
        settings = {"taste": TasteSettings(), "static": TasteSettings(enabled=False)}
        for name, taste in settings.items():
            if name == "static" and mode != "none":
                continue
            rec = Recommender(catalog, history=0, seed=int(uid), taste=taste,
                              taste_path=work / f"{uid}-{mode}.json" if mode == "letterboxd" else None)
            rec.household.clock = lambda: now
            rec.household.refit()  # the library's marks, fitted as of then
            if mode == "letterboxd" and name == "taste":
                path = work / f"{uid}-ratings.csv"
                self.letterboxd(path, old)
                imported = read_export(path, catalog.films, now)
                self.imported[0] += len(imported.votes)
                self.imported[1] += imported.rows
                rec.household.add(imported.votes)
            out[name] = [x for mood in MOODS for x in judge(rec.recommend(mood))]
        return out

    def baselines(self, uid: str, new: list) -> dict[str, list[int]]:
        rng = np.random.default_rng(int(uid))
        liked = [int(stars >= 4) for _, stars, _ in new]
        random = [liked[i] for _ in MOODS for i in rng.choice(len(new), 5, replace=False)]
        order = sorted(range(len(new)), key=lambda i: -self.total[new[i][0]][1])
        return {"random": random, "popular": [liked[i] for i in order[:5]] * len(MOODS),
                "new films liked": liked}


def share(values: list[int]) -> float:
    return round(sum(values) / len(values), 3) if values else float("nan")


def run_households(bench: Bench, users: list[str], work: Path, seed: int) -> dict[str, float]:
    results: dict[str, list[int]] = defaultdict(list)
    for uid in users:
        split = bench.household(uid, 30, 60, seed)
        if split is None:
            continue
        old, new = split
        for mode, label in (("kodi", "taste, Kodi .nfo userratings"), ("letterboxd", "taste, Letterboxd import"),
                            ("none", "taste, no household ratings")):
            got = bench.picks(uid, old, new, mode, work)
            results[label] += got["taste"]
            if "static" in got:
                results["static policy"] += got["static"]
        for name, values in bench.baselines(uid, new).items():
            results[name] += values
    return {name: share(v) for name, v in results.items()}


def learning_curve(bench: Bench, users: list[str], work: Path, seed: int) -> dict[int, float]:
    out = {}
    for k in (0, 5, 10, 20, 50):
        liked: list[int] = []
        for uid in users:
            split = bench.household(uid, 50, 60, seed)
            if split is None:
                continue
            old, new = split
            liked += bench.picks(uid, old[len(old) - k:] if k else [], new, "kodi", work / f"curve{k}")["taste"]
        out[k] = share(liked)
    return out


def synthetic(base: Catalog, n: int, seed: int) -> Catalog:
    rng = np.random.default_rng(seed)
    names = [f"Person {i}" for i in range(20_000)]
    films = []
    for i in range(n):
        people = tuple([f"director:{names[rng.integers(2000)]}"] + [f"actor:{names[j]}" for j in rng.integers(20_000, size=8)]
                       + [f"studio:Studio {rng.integers(300)}"])
        extra = FilmExtra(community=float(rng.uniform(3, 9)), votes=int(rng.integers(1, 100_000)), people=people)
        films.append(Film(title=f"Film {i}", year=int(rng.integers(1920, 2025)),
                          genres=tuple(rng.choice(GENRES, size=int(rng.integers(1, 4)), replace=False)),
                          runtime=int(rng.integers(70, 200)), rating="PG-13", family=False,
                          description="Synthetic film.", path=f"/films/{i}.mkv", extra=extra))
    return Catalog(films=films, policy=base.policy, path=f"<synthetic {n}>")


def speed(base: Catalog, n: int, votes: int, work: Path) -> dict[str, float]:
    """Time per pick and per vote (not traced: tracing slows Python down), then memory traced apart."""
    catalog = synthetic(base, n, 1)
    rec = Recommender(catalog, history=30, seed=1, taste_path=work / "speed-taste.json")
    rng = np.random.default_rng(2)
    vote_times, fit_times, pick_times = [], [], []
    for j in range(votes):
        film = catalog.films[int(rng.integers(n))]
        t0 = time.perf_counter()
        rec.feedback(film.key, "up" if rng.random() < 0.6 else "down", MOODS[j % len(MOODS)])
        vote_times.append(time.perf_counter() - t0)
    for _ in range(10):
        t0 = time.perf_counter()
        rec.household.refit()
        fit_times.append(time.perf_counter() - t0)
    for j in range(300):
        t0 = time.perf_counter()
        rec.recommend(MOODS[j % len(MOODS)], {"happy": 0.6, "sad": 0.3, "neutral": 0.1} if j % 2 else None)
        pick_times.append(time.perf_counter() - t0)
    tracemalloc.start()
    household = Household(catalog.films, work / "speed-taste.json")  # the same 200 votes, fitted
    household.utility(np.eye(8)[3])
    household.watched()
    added, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"films": n, "votes": votes, "pick_ms_median": round(statistics.median(pick_times) * 1000, 2),
            "vote_ms_median": round(statistics.median(vote_times) * 1000, 2),
            "refit_ms_median": round(statistics.median(fit_times) * 1000, 2),
            "taste_memory_mb": round(added / 2**20, 2), "taste_memory_peak_mb": round(peak / 2**20, 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheel", type=Path, default=None, help="the recbole 1.2.1 wheel (default: .cache/wheels/)")
    ap.add_argument("--households", type=int, default=100, help="households to replay (default 100)")
    ap.add_argument("--split", choices=("heldback", "tuning"), default="heldback")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--films", type=int, default=5000, help="films in the timing library (default 5000)")
    ap.add_argument("--skip-speed", action="store_true", help="leave out the 5,000-film timing")
    ap.add_argument("--speed-only", action="store_true", help="only the 5,000-film timing and memory")
    ap.add_argument("--json", type=Path, default=Path("bench-taste.json"))
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as on the Pi
    wheel = args.wheel or next(iter(sorted((ROOT / ".cache" / "wheels").glob("recbole-*.whl"))), None)
    if wheel is None or not wheel.exists():
        print("no recbole wheel: pip download --no-deps recbole==1.2.1 -d .cache/wheels", file=sys.stderr)
        return 2
    import logging
    logging.disable(logging.WARNING)
    base = load_catalog(ROOT / "catalog.json")
    bench = Bench(wheel, base)
    parity = 0 if args.split == "heldback" else 1
    users = [u for u in sorted(bench.ratings, key=int) if int(u) % 2 == parity]
    users = [u for u in users if len(bench.ratings[u]) >= 110][: 0 if args.speed_only else args.households]
    report: dict = {"households": len(users), "split": args.split, "moods": list(MOODS), "picks_per_mood": 5}
    with tempfile.TemporaryDirectory(prefix="bench-taste-") as tmp:
        work = Path(tmp)
        t0 = time.monotonic()
        if users:
            report["share_liked"] = run_households(bench, users, work, args.seed)
            report["letterboxd_rows_matched"] = bench.imported
            report["learning_curve_kodi"] = learning_curve(bench, users, work, args.seed)
            report["replay_s"] = round(time.monotonic() - t0, 1)
        if not args.skip_speed:
            report["speed_one_core"] = speed(base, args.films, 200, work)
    if users:
        print(f"{report['households']} households ({args.split}), 5 picks x {len(MOODS)} moods each: "
              "share later rated >= 4")
        for name, value in report["share_liked"].items():
            print(f"  {name:34s} {value:.3f}")
        print(f"Letterboxd import: {bench.imported[0]} of {bench.imported[1]} rows matched")
        print("learning curve (Kodi userratings, 60 new films): " +
              ", ".join(f"{k} votes {v:.3f}" for k, v in report["learning_curve_kodi"].items()))
    if "speed_one_core" in report:
        print("speed, one core: " + ", ".join(f"{k} {v}" for k, v in report["speed_one_core"].items()))
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
