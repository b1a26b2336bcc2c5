"""``mood-edge taste``: what the household likes, as the daemon learns it: import, show, vote, forget."""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from .. import config as config_mod
from ..errors import ConfigError, MoodEdgeError
from ..paths import writable_state_dir
from ..recommend.catalog import MOODS
from ..recommend.imports import read_export
from ..recommend.recommender import Recommender
from ..recommend.taste import MAX_VOTES, TASTE_FILE, FeedbackError
from ..recommend.tastesummary import describe
from ..textsafe import clean
from .configured import build_recommender

log = logging.getLogger("edge.taste")

SUMMARY = "the household's taste: import ratings, show what was learnt, vote, forget"
DESCRIPTION = f"""\
The daemon learns what this household likes in each mood from thumbs on the TV page or in Home
Assistant, from the .nfo files' <userrating> and <playcount> (Kodi, Jellyfin, Emby) and from the
ratings imported here. This command works on the same taste as the daemon started with the same
config (-c): the file {TASTE_FILE} in daemon.state_dir. A running daemon picks up a change at its
next pick. Nothing of it is published beyond the picks and their reasons.

actions:
  import FILE          add the ratings in a Letterboxd ratings.csv or diary.csv export, or an IMDb
                       ratings.csv export; films are matched by IMDb id where the file has one, else
                       by title and year. Prints how many matched and lists the ones that did not.
  show [--json]        what has been learnt, in words ("likes comedies when the room is happy (12 votes)")
  vote FILM up|down|seen [--mood MOOD]
                       one vote, as if from the TV. FILM is a film key (imdb:tt0113277, heat-1995)
                       or "Title (Year)". Without --mood the vote counts for every mood.
  forget FILM          drop every vote on one film
  forget --all         erase the whole taste (the file is deleted)

At most {MAX_VOTES} votes are kept (the oldest go first); the file stays under 8 MB.
Exit status 0 on success, 2 on a mistake (unknown film, unreadable file, bad config).

examples:
  mood-edge taste -c /etc/mood-edge/config.toml import ~/Downloads/letterboxd/ratings.csv
  mood-edge taste show
  mood-edge taste vote "Heat (1995)" up --mood happy
  mood-edge taste forget --all"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", metavar="PATH", help="TOML config file (default: built-in defaults)")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    imp = sub.add_parser("import", help="add the ratings in a Letterboxd or IMDb export")
    imp.add_argument("file", metavar="FILE")
    show = sub.add_parser("show", help="what has been learnt, in words")
    show.add_argument("--json", action="store_true", help="one JSON object instead of words")
    vote = sub.add_parser("vote", help="one vote on a film")
    vote.add_argument("film", metavar="FILM")
    vote.add_argument("verdict", choices=("up", "down", "seen"))
    vote.add_argument("--mood", choices=MOODS, help="the room's mood for this vote (default: any mood)")
    forget = sub.add_parser("forget", help="drop the votes on one film, or everything with --all")
    forget.add_argument("film", metavar="FILM", nargs="?")
    forget.add_argument("--all", action="store_true", help="erase the whole taste")
    for parser in (imp, show, vote, forget):
        parser.add_argument("-c", "--config", metavar="PATH", default=argparse.SUPPRESS,
                            help="TOML config file (as above)")


def open_taste(config: str | None, write: bool) -> tuple[Recommender, Path]:
    cfg = config_mod.load(config)
    folder = writable_state_dir(cfg.daemon.state_dir) if write else Path(cfg.daemon.state_dir)
    if folder is None:
        raise ConfigError("cannot write there", path=cfg.daemon.state_dir, field="daemon.state_dir",
                          expected="run as the daemon's user (sudo -u mood-edge), or a config whose state_dir you own")
    return build_recommender(cfg, folder, remember=False), folder / TASTE_FILE


def find_film(rec: Recommender, name: str) -> str:
    """The key of the film a person named: a key, or "Title (Year)", or a title only one film has."""
    index = rec.household.index
    if name in index:
        return name
    text = name.strip()
    year = None
    if text.endswith(")") and "(" in text:
        title, _, rest = text.rpartition("(")
        if rest[:-1].isdigit():
            text, year = title.strip(), int(rest[:-1])
    wanted = " ".join(text.split()).casefold()
    found = [f.key for f in rec.catalog.films if f.ident[0] == wanted and (year is None or f.year == year)]
    if len(found) == 1:
        return found[0]
    shown = clean(name, 80)
    if found:
        raise FeedbackError(f"{shown!r} names {len(found)} films", field="film",
                            expected="a key or 'Title (Year)': " + ", ".join(found[:5]))
    raise FeedbackError(f"no film {shown!r} in the catalog or library", field="film",
                        expected="a film key such as imdb:tt0113277 or heat-1995, or 'Title (Year)'")


def main(args: argparse.Namespace) -> int:
    write = args.action != "show"
    rec, path = open_taste(args.config, write)
    household = rec.household
    if args.action == "import":
        report = read_export(args.file, rec.catalog.films, time.time())
        household.add(report.votes)
        print(report.summary())
        for title in report.unmatched[:30]:
            print(f"  not found: {title}")
        if len(report.unmatched) > 30:
            print(f"  ... and {len(report.unmatched) - 30} more")
        for line in report.bad_rows[:10]:
            print(f"  skipped {line}")
        return 0
    if args.action == "show":
        summary = describe(household.all_votes, rec.catalog.films, household.index,
                           int(household.watched().sum()))
        summary["file"] = str(path)
        if args.json:
            print(json.dumps(summary, ensure_ascii=False, indent=2))
        else:
            print(f"taste in {clean(path, 300)}:")
            for line in summary["lines"]:
                print(f"  {clean(line, 300)}")
        return 0
    if args.action == "vote":
        key = find_film(rec, args.film)
        title = rec.feedback(key, args.verdict, args.mood, source="cli")
        print(f"{args.verdict} for {clean(title, 200)} ({key})" + (f" when the room is {args.mood}" if args.mood else ""))
        return 0
    if args.all == bool(args.film):
        raise MoodEdgeError("give one film or --all", field="forget", expected="taste forget FILM, or taste forget --all")
    if args.all:
        print(f"forgot {household.store.forget_all()} votes; {clean(path, 300)} erased")
        household.refit()
        return 0
    key = find_film(rec, args.film)
    print(f"forgot {household.store.forget(key)} votes on {key}")
    return 0
