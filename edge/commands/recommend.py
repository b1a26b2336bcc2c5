"""``mood-edge recommend``: the picks the daemon would publish now for a mood, without camera or broker."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .. import config as config_mod
from ..recommend.catalog import MOODS
from ..textsafe import clean
from .configured import build_recommender

SUMMARY = "print the films the daemon would recommend now for a mood"
DESCRIPTION = """\
Prints the picks the daemon started with the same config (-c) would publish for MOOD now: the same
catalog, library, mood policy, learnt taste and watched films, and the same no-repeat history. No
camera, no model, no broker; the picks are not added to the history, so asking does not change
what the TV shows next.

With --json it prints one object, {"mood": MOOD, "picks": [...]}, each pick the same object as in
the state message's "recommendations" (title, year, genres, reasons, key, and path for a film in
the household's library).

examples:
  mood-edge recommend --mood sad
  mood-edge recommend -c /etc/mood-edge/config.toml --mood happy --limit 10 --json"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", metavar="PATH", help="TOML config file (default: built-in defaults)")
    p.add_argument("--mood", required=True, choices=MOODS, help="the room's mood")
    p.add_argument("--limit", type=int, metavar="N", help="how many films (default: recommend.count)")
    p.add_argument("--seed", type=int, metavar="S", help="a fixed seed gives the same picks every time")
    p.add_argument("--json", action="store_true", help="one JSON object instead of lines")


def main(args: argparse.Namespace) -> int:
    cfg = config_mod.load(args.config, {"recommend.count": args.limit, "recommend.seed": args.seed})
    folder = Path(cfg.daemon.state_dir)
    rec = build_recommender(cfg, folder if folder.is_dir() else None, remember=False)
    picks = rec.recommend(args.mood)
    if args.json:
        print(json.dumps({"mood": args.mood, "picks": [p.to_dict() for p in picks]}, ensure_ascii=False))
        return 0
    for n, pick in enumerate(picks, 1):
        print(f"{n}. {clean(pick.title, 200)} ({pick.year}) [{pick.key}]")
        for reason in pick.reasons:
            print(f"     {clean(reason, 200)}")
    return 0
