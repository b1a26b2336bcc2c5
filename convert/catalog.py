"""``mood-convert catalog``: grow catalog.json from the user's own MovieLens copy, or make one
from the household's own films (``--library``: a Kodi/Jellyfin/Emby/Plex folder, see edge/recommend/library.py).

MovieLens gives title, year and genres, nothing else: runtime is written as null (unknown, which
the schema allows), rating as null, ``family`` follows MovieLens's Children genre, and the
description is a plain generated line. MovieLens's licence forbids redistribution, so the
result stays on the user's machine; it is never committed to this repository.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from edge.recommend.catalog import (MAX_TITLE, YEAR_MAX, YEAR_MIN, Catalog, Film, format_catalog,
                                    load_catalog, validate_catalog)
from edge.errors import CatalogError, DataError, kind_of
from edge.fields import PATH_EXPECTED, _shown, path_ok
from edge.recommend.library import library_catalog
from edge.paths import default_catalog
from edge.textsafe import clean

log = logging.getLogger(__name__)

SUMMARY = "build a catalog from your own films (--library) or a MovieLens copy (--movielens)"

DESCRIPTION = """\
--library DIR: the films you own. Reads a movie folder as Kodi, Jellyfin, Emby and Plex keep one:
one video file (or DVD/Blu-ray folder) per film, with a Kodi .nfo (<video name>.nfo or movie.nfo:
title, year, genre, runtime, mpaa, plot, uniqueid) where there is one, and otherwise the name,
"Title (Year)" (of the file, else of its folder; "Title.Year.1080p.mkv" and {imdb-tt...} tags too).
Films the base catalog knows keep its genres and description; other genres are mapped onto ours
(Science Fiction -> sci-fi, Music -> musical, Kids -> family); the base catalog's policy is kept.
Each film gets its "path" (and "ids"), which every pick then carries, so a display or automation
can start it. A broken .nfo is named, skipped and counted (the film is read from its name). Every
owned film is kept: one with unknown genres (not in the catalog and no .nfo) is listed and picked
less often; only films with no year are left out and listed. Ids in a bad form are dropped with a
warning. Trailers, samples and extras folders, and TV-show folders (tvshow.nfo), are ignored; links
out of the folder are not followed unless --follow-outside-links. Default --out:
catalog-library.json. The daemon can also read the folder itself at start: recommend.library.

--movielens DIR: reads the films of a MovieLens copy you downloaded yourself and writes a catalog that mood-edge can
use (point recommend.catalog in config.toml at it).

Input (--movielens DIR, or the file itself), the first one found:
  movies.csv      ml-latest-small / ml-latest: movieId,title,genres ("Toy Story (1995)", "A|B")
  u.item          ml-100k: id|title|release date|video date|IMDb URL|19 genre flags (Latin-1)
  ml-100k.item    the same films in RecBole's atomic format (item_id, movie_title, release_year, class)

What is kept: the title (MovieLens's "Usual Suspects, The" becomes "The Usual Suspects" and a trailing
alternative title in parentheses is dropped), the year, and the genres mapped onto mood-edge's
vocabulary (Children's -> family, Film-Noir -> noir, Sci-Fi -> sci-fi; IMAX and "unknown" are
dropped). MovieLens has no runtime, age rating or synopsis, so runtime and rating are null, "family"
is true for Children's films, and the description is a generated line naming genres and year.
Films with no year or no usable genre are skipped, as are repeats of a title and year.

By default the result starts from --base (the shipped catalog.json): its policy and its films are
kept, and MovieLens adds the films it does not already have. --no-base-films keeps only the policy.

MovieLens is (c) GroupLens and may not be redistributed: keep the output on your own machine."""

#: MovieLens genre -> our vocabulary (None: dropped)
GENRE_MAP: dict[str, str | None] = {
    "Action": "action", "Adventure": "adventure", "Animation": "animation", "Children's": "family",
    "Children": "family", "Comedy": "comedy", "Crime": "crime", "Documentary": "documentary",
    "Drama": "drama", "Fantasy": "fantasy", "Film-Noir": "noir", "Horror": "horror",
    "Musical": "musical", "Mystery": "mystery", "Romance": "romance", "Sci-Fi": "sci-fi",
    "Thriller": "thriller", "War": "war", "Western": "western",
    "IMAX": None, "unknown": None, "(no genres listed)": None,
}
#: column order of the 19 genre flags in ml-100k's u.item
U_ITEM_GENRES = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
                 "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
                 "Thriller", "War", "Western"]
INPUT_NAMES = ("movies.csv", "u.item", "ml-100k.item")
_ARTICLES = ("The", "A", "An", "Les", "La", "Le", "L'", "Il", "El", "Los", "Las", "Die", "Der", "Das", "Det")
_YEAR_SUFFIX = re.compile(r"\s*\((\d{4})\)\s*$")
_ALT_TITLE = re.compile(r"\s+\([^()]*\)\s*$")


@dataclass
class RawFilm:
    title: str
    year: int | None
    genres: list[str]


@dataclass
class Report:
    read: int = 0
    no_year: int = 0
    no_genre: int = 0
    duplicates: int = 0
    in_base: int = 0
    unmapped: set[str] = field(default_factory=set)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--library", metavar="DIR",
                        help="your movie folder (Kodi/Jellyfin/Emby/Plex: .nfo files or 'Title (Year)' names)")
    source.add_argument("--movielens", metavar="DIR",
                        help="folder of a MovieLens copy (or its movies.csv / u.item / ml-100k.item file)")
    parser.add_argument("--out", default=None, metavar="PATH",
                        help="catalog to write (default: catalog-library.json or catalog-movielens.json)")
    parser.add_argument("--base", metavar="PATH",
                        help="catalog whose policy and films are kept (default: the shipped catalog.json)")
    parser.add_argument("--no-base-films", action="store_true",
                        help="keep only the base catalog's policy, not its films")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    parser.add_argument("--follow-outside-links", action="store_true",
                        help="--library: follow symbolic links that lead out of the folder (default: skip them)")


def find_input(path: Path) -> Path:
    """The MovieLens file in ``path`` (or ``path`` itself when it is one of them)."""
    if path.is_file():
        if path.name not in INPUT_NAMES:
            raise DataError("unknown MovieLens file name", path=path, expected=" or ".join(INPUT_NAMES))
        return path
    if not path.is_dir():
        raise DataError("no such file or folder", path=path, expected="a MovieLens folder")
    for folder in (path, *sorted(p for p in path.iterdir() if p.is_dir())):
        for name in INPUT_NAMES:
            if (folder / name).is_file():
                return folder / name
    raise DataError("no MovieLens file found", path=path, expected=", ".join(INPUT_NAMES) + " in the folder")


def _move_article(title: str) -> str:
    for article in _ARTICLES:
        suffix = f", {article}"
        if title.endswith(suffix):
            body = title[: -len(suffix)]
            return f"{article}{'' if article.endswith(chr(39)) else ' '}{body}"
    return title


def title_variants(raw: str) -> list[str]:
    """The display title first, then alternative titles MovieLens gives in trailing parentheses.

    'Usual Suspects, The' -> ['The Usual Suspects']; 'Seven (Se7en)' -> ['Seven', 'Se7en'].
    """
    title = " ".join(raw.split())
    alternates: list[str] = []
    while not title.startswith("("):
        m = _ALT_TITLE.search(title)
        if not m or m.start() == 0:
            break
        alt = m.group(0).strip()[1:-1].strip()
        if alt.lower().startswith("a.k.a. "):
            alt = alt[7:]
        if alt:
            alternates.insert(0, alt)
        title = title[: m.start()].rstrip()
    return [_move_article(t) for t in (title, *alternates)]


def clean_title(raw: str) -> str:
    """'Usual Suspects, The' -> 'The Usual Suspects'; drops a trailing '(alternative title)'."""
    return title_variants(raw)[0]


def split_year(title: str) -> tuple[str, int | None]:
    m = _YEAR_SUFFIX.search(title)
    if not m:
        return title.strip(), None
    return title[: m.start()].strip(), int(m.group(1))


def read_movies_csv(path: Path) -> list[RawFilm]:
    films = []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"title", "genres"} <= set(reader.fieldnames):
            raise DataError(f"columns {reader.fieldnames}", path=path, expected="movieId,title,genres")
        for row in reader:
            title, year = split_year(row["title"] or "")
            films.append(RawFilm(title, year, [g for g in (row["genres"] or "").split("|") if g]))
    return films


def read_u_item(path: Path) -> list[RawFilm]:
    films = []
    with open(path, encoding="latin-1") as fh:
        for n, line in enumerate(fh, 1):
            parts = line.rstrip("\r\n").split("|")
            if parts == [""]:
                continue
            if len(parts) != 5 + len(U_ITEM_GENRES):
                raise DataError(f"line {n} has {len(parts)} fields", path=path,
                                expected=f"{5 + len(U_ITEM_GENRES)} '|'-separated fields")
            title, year = split_year(parts[1])
            if year is None and re.search(r"\d{4}$", parts[2]):
                year = int(parts[2][-4:])
            genres = [g for g, flag in zip(U_ITEM_GENRES, parts[5:]) if flag.strip() == "1"]
            films.append(RawFilm(title, year, genres))
    return films


def read_atomic_item(path: Path) -> list[RawFilm]:
    films = []
    with open(path, encoding="utf-8") as fh:
        header = [h.split(":", 1)[0] for h in fh.readline().rstrip("\r\n").split("\t")]
        needed = ("movie_title", "release_year", "class")
        if not all(h in header for h in needed):
            raise DataError(f"header {header}", path=path, expected="columns " + ", ".join(needed))
        col = {h: header.index(h) for h in needed}
        for line in fh:
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) < len(header):
                continue
            year_text = parts[col["release_year"]].strip()
            films.append(RawFilm(parts[col["movie_title"]], int(year_text) if year_text.isdigit() else None,
                                 parts[col["class"]].split()))
    return films


def read_movielens(path: Path) -> list[RawFilm]:
    source = find_input(path)
    reader = {"movies.csv": read_movies_csv, "u.item": read_u_item, "ml-100k.item": read_atomic_item}[source.name]
    try:
        films = reader(source)
    except UnicodeDecodeError as exc:
        raise DataError(f"not readable as text ({exc.reason})", path=source) from None
    log.info("read %d films from %s", len(films), source)
    return films


def describe(genres: list[str], year: int) -> str:
    names = genres[:-1]
    text = ", ".join(names) + (" and " if names else "") + genres[-1]
    return f"{text[0].upper()}{text[1:]} film from {year} (imported from MovieLens)."


def convert(raw: list[RawFilm], base: Catalog, keep_base_films: bool = True) -> tuple[dict, Report]:
    """The catalog document: base policy, base films (optional), then new MovieLens films."""
    report = Report(read=len(raw))
    films: list[Film] = list(base.films) if keep_base_films else []
    seen = {f.ident for f in films}
    base_keys = {f.ident for f in base.films} if keep_base_films else set()
    for item in raw:
        if item.year is None or not YEAR_MIN <= item.year <= YEAR_MAX:
            report.no_year += 1
            continue
        genres: list[str] = []
        for g in item.genres:
            if g not in GENRE_MAP:
                report.unmapped.add(g)
            mapped = GENRE_MAP.get(g)
            if mapped and mapped not in genres:
                genres.append(mapped)
        variants = title_variants(item.title)
        title = variants[0][:MAX_TITLE].strip()
        if not genres or not title:
            report.no_genre += 1
            continue
        film = Film(title=title, year=item.year, genres=tuple(genres), runtime=None, rating=None,
                    family="family" in genres, description=describe(genres, item.year))
        known = [Film(v, item.year, (), None, None, False, "").ident for v in variants]
        if any(k in base_keys for k in known):
            report.in_base += 1
            continue
        if film.ident in seen:
            if film.ident in base_keys:
                report.in_base += 1
            else:
                report.duplicates += 1
            continue
        seen.add(film.ident)
        films.append(film)
    if report.unmapped:
        log.warning("MovieLens genres with no mapping, dropped: %s", ", ".join(sorted(report.unmapped)))
    about = ("Built by mood-convert catalog from a MovieLens copy (c) GroupLens, not for redistribution; "
             f"policy{' and hand-written films' if keep_base_films else ''} from {base.path}.")
    doc = Catalog(films=films, policy=base.policy, about=about).to_dict()
    return doc, report


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DataError(f"cannot write it: {exc.strerror}", path=path) from None


def main_library(args: argparse.Namespace, out: Path, base: Catalog) -> int:
    logging.getLogger("edge.recommend.library").setLevel(logging.ERROR)  # each problem is printed below, in full
    catalog, report = library_catalog(args.library, base, field_name=None,
                                      follow_outside_links=args.follow_outside_links)
    for problem in report.bad_nfo:  # names come from the folder: clean() keeps control bytes off the terminal
        print(f"skipped {problem}", file=sys.stderr)
    for line in report.bad_ids + (report.walk.problems() if report.walk else []):
        print(line if line.startswith("library") else f"dropped {line}", file=sys.stderr)
    for path in report.no_genre:
        print(f"unknown genres {clean(path, 300)}: not in {clean(base.path, 300)} and no .nfo <genre>; "
              "kept, picked less often", file=sys.stderr)
    for path in report.no_year:
        print(f"left out {clean(path, 300)}: no year (name it 'Title (Year)' or add a .nfo with <year>)",
              file=sys.stderr)
    doc = catalog.to_dict()
    validate_catalog(doc, origin=str(out))
    if not out.parent.exists():
        raise DataError("its folder does not exist", path=out, expected="an existing folder")
    write_atomically(out, format_catalog(doc))
    print(f"{clean(out, 300)}: {report.summary(len(catalog))}")
    return 0


def _check_paths(args: argparse.Namespace, out: Path) -> None:
    """Every path given, as the OS will take it: a 300-character name or a loop of links is one line
    naming the option, not an OSError traceback from the first ``is_dir()``."""
    for flag, value in (("--library", args.library), ("--movielens", args.movielens), ("--base", args.base),
                        ("--out", str(out))):
        if not value:
            continue
        if not path_ok(value):
            raise DataError(f"got {_shown(value)}", field=flag, expected=PATH_EXPECTED)
        kind_of(value, DataError, "a path this user may reach", field=flag)


def main(args: argparse.Namespace) -> int:
    out = Path(args.out or ("catalog-library.json" if args.library else "catalog-movielens.json"))
    _check_paths(args, out)
    if out.exists() and not args.force:
        raise DataError("already exists", path=out, expected="a new file name, or --force to overwrite it")
    base_path = Path(args.base) if args.base else default_catalog()
    base = load_catalog(base_path)
    if args.library:
        return main_library(args, out, base)
    raw = read_movielens(Path(args.movielens))
    doc, report = convert(raw, base, keep_base_films=not args.no_base_films)
    try:
        validate_catalog(doc, origin=str(out))
    except CatalogError as exc:  # pragma: no cover - a bug here, not a user mistake
        raise DataError(f"the converted catalog is invalid: {exc}", path=out) from None
    if not out.parent.exists():
        raise DataError("its folder does not exist", path=out, expected="an existing folder")
    write_atomically(out, format_catalog(doc))
    added = len(doc["films"]) - (len(base.films) if not args.no_base_films else 0)
    log.info("wrote %s: %d films (%d from MovieLens); skipped %d without year, %d without a usable genre, "
             "%d already in the base catalog, %d repeated", out, len(doc["films"]), added, report.no_year,
             report.no_genre, report.in_base, report.duplicates)
    print(f"{out}: {len(doc['films'])} films ({added} from MovieLens)")
    return 0
