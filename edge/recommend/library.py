"""The household's own films: a Kodi / Jellyfin / Emby / Plex movie folder read as a catalog.

Media centres keep films as one video file per film, usually in a folder named ``Title (Year)``,
often with a Kodi-style ``.nfo`` next to it (``<movie>`` with title, year, genre, runtime, mpaa,
plot, uniqueid). For each film found:

* the ``.nfo`` (``<video name>.nfo`` or ``movie.nfo``) gives title, year, genres, runtime, rating
  and plot where present; Plex/Jellyfin name tags (``{imdb-tt0110357}``, ``[tmdbid-680]``) and
  the nfo's ids give library ids;
* otherwise the name gives ``Title (Year)`` (of the file, else of its folder; scene-style
  ``Title.1994.1080p.mkv`` too);
* a film the base catalog knows (same title and year) keeps that catalog's genres, description,
  runtime, rating and family flag: they are hand-checked and in our vocabulary;
* genres are mapped onto the catalog's vocabulary (Science Fiction -> sci-fi, Music -> musical,
  Kids -> family, ...). Every owned film is a candidate: one whose genres are unknown (no ``.nfo``, not
  in the catalog; most Plex libraries) is kept with no genres, and the recommender weighs it lower.

A broken ``.nfo`` (unreadable, not XML, not a ``<movie>``, too large, a FIFO) is named in a warning,
skipped and counted; the film is then read from its name. Ids in a bad form are dropped with one
warning. The folder is walked by :mod:`edge.recommend.libwalk` (no recursion, bounded, no links out of it) and
each ``.nfo`` read by :mod:`edge.recommend.nfo` (bounded, no DTDs). Every name in a log line goes through
:func:`edge.textsafe.clean`. Nothing here raises for a file's content: only a library folder that does
not exist is an error. Used by the daemon (``recommend.library``) and ``mood-convert catalog --library``.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from ..textsafe import clean
from .catalog import ADULT_RATINGS, MAX_DESCRIPTION, MAX_TITLE, YEAR_MAX, YEAR_MIN, Catalog, Film
from .libwalk import EXTRAS_DIRS, VIDEO_EXTENSIONS, Walk, walk_library
from .nfo import LibraryFilm, bad_ids_text, check_ids, one_line, parse_rating, read_nfo

__all__ = ["EXTRAS_DIRS", "VIDEO_EXTENSIONS", "LibraryFilm", "LibraryReport", "library_catalog", "parse_name",
           "parse_rating", "read_nfo", "scan", "to_films"]

log = logging.getLogger(__name__)

#: "Title - part2", "Title cd1": later parts of one film
_PART = re.compile(r"[ ._-]+(?:cd|dvd|part|pt|disc|disk)[ ._-]?(\d+)$", re.I)
_TAGS = re.compile(r"\s*[\[{]\s*(imdb|tmdb|tvdb)(?:id)?[-=:\s]\s*([A-Za-z0-9]+)\s*[\]}]", re.I)
_MAX_PATH = 4096
#: how a description names an owned film whose genres nobody knows
UNKNOWN_GENRES = "genres unknown"

#: media-centre genre (lower case; TMDB/IMDb/TVDB names as Kodi, Jellyfin and Emby write them) -> ours
GENRE_MAP: dict[str, tuple[str, ...]] = {
    "action": ("action",), "adventure": ("adventure",), "action & adventure": ("action", "adventure"),
    "animation": ("animation",), "anime": ("animation",), "comedy": ("comedy",), "crime": ("crime",),
    "documentary": ("documentary",), "drama": ("drama",), "family": ("family",), "kids": ("family",),
    "children": ("family",), "children's": ("family",), "fantasy": ("fantasy",), "horror": ("horror",),
    "music": ("musical",), "musical": ("musical",), "mystery": ("mystery",), "film-noir": ("noir",),
    "film noir": ("noir",), "noir": ("noir",), "romance": ("romance",), "science fiction": ("sci-fi",),
    "sci-fi": ("sci-fi",), "science-fiction": ("sci-fi",), "scifi": ("sci-fi",),
    "sci-fi & fantasy": ("sci-fi", "fantasy"), "thriller": ("thriller",), "suspense": ("thriller",),
    "war": ("war",), "war & politics": ("war",), "western": ("western",),
    "history": ("drama",), "biography": ("drama",), "sport": ("drama",), "sports": ("drama",),
}
#: genres that say nothing about mood: dropped quietly
IGNORED_GENRES = frozenset({"tv movie", "foreign", "short", "indie", "reality", "news", "talk", "talk-show",
                            "game-show", "adult", "erotic", "holiday", "mini-series", "soap"})


@dataclass
class NfoProblem:
    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{clean(self.path, 300)}: {clean(self.reason, 300)}"


@dataclass
class LibraryReport:
    videos: int = 0
    nfo_read: int = 0
    bad_nfo: list[NfoProblem] = field(default_factory=list)
    known: int = 0
    #: owned films whose genres are unknown (no .nfo genre, not in the catalog): kept, weighed lower
    no_genre: list[str] = field(default_factory=list)
    no_year: list[str] = field(default_factory=list)
    #: names that are not valid UTF-8 (they could not be published or written as JSON)
    bad_names: list[str] = field(default_factory=list)
    #: one line per film whose name tags or .nfo held ids in a bad form (dropped, the film kept)
    bad_ids: list[str] = field(default_factory=list)
    duplicates: int = 0
    unmapped: set[str] = field(default_factory=set)
    walk: Walk | None = None

    def summary(self, films: int) -> str:
        parts = [f"{films} films from {self.videos} videos", f"{self.known} known to the catalog",
                 f"{self.nfo_read} .nfo read"]
        if self.no_genre:
            parts.append(f"{len(self.no_genre)} with unknown genres (picked less often; add a .nfo)")
        if self.bad_nfo:
            parts.append(f"{len(self.bad_nfo)} bad .nfo skipped")
        if self.bad_ids:
            parts.append(f"{len(self.bad_ids)} with bad ids dropped")
        if self.no_year:
            parts.append(f"{len(self.no_year)} left out without a year")
        if self.bad_names:
            parts.append(f"{len(self.bad_names)} left out with names that are not UTF-8")
        if self.duplicates:
            parts.append(f"{self.duplicates} repeated")
        return ", ".join(parts)


# --------------------------------------------------------------------------------------------
# names


def _is_year(token: str) -> bool:
    return len(token) == 4 and token.isdigit() and YEAR_MIN <= int(token) <= YEAR_MAX


def parse_name(name: str) -> tuple[str, int | None, dict[str, str]]:
    """'Heat (1995) {imdb-tt0113277}' -> ('Heat', 1995, {'imdb': 'tt0113277'}); scene names too.

    The last year in parentheses wins ('Blade Runner 2049 (2017)'); without one, the last
    year-like word after the first ('Blade.Runner.2049.2017.1080p', '1917.2019.mkv'). Ids are
    returned as found: :func:`edge.recommend.nfo.check_ids` decides which are valid.
    """
    ids = {m.group(1).lower(): m.group(2) for m in _TAGS.finditer(name)}
    name = _TAGS.sub("", name).strip()
    title, year = name, None
    paren = [m for m in re.finditer(r"[(\[](\d{4})[)\]]", name) if m.start() > 0 and _is_year(m.group(1))]
    if paren:
        title, year = name[: paren[-1].start()], int(paren[-1].group(1))
    else:
        words = re.split(r"[\s._]+", name)
        years = [i for i, w in enumerate(words) if i > 0 and _is_year(w)]
        if years:
            title, year = " ".join(words[: years[-1]]), int(words[years[-1]])
        elif " " not in name.strip():
            title = re.sub(r"[._]+", " ", name)  # Scene.Style.Name without a year
    return one_line(title.strip(" ._-([")), year, ids


# --------------------------------------------------------------------------------------------
# the walk


def _nfo_for(video: Path, videos_here: int) -> Path | None:
    """<video>.nfo beside it; movie.nfo in its folder when it is that folder's only film.

    Anything by that name counts (a FIFO or a device too): the bounded reader then refuses it in
    one warning, where skipping it quietly would hide the problem.
    """
    if video.is_dir():  # a disc folder: Kodi keeps movie.nfo (or VIDEO_TS.nfo) inside it
        candidates = [video / "movie.nfo", video / "VIDEO_TS" / "VIDEO_TS.nfo", video.with_name(video.name + ".nfo")]
    else:
        candidates = [video.with_suffix(".nfo")] + ([video.parent / "movie.nfo"] if videos_here == 1 else [])
    return next((c for c in candidates if os.path.lexists(c) and not c.is_dir()), None)


def _read_film(video: Path, top: Path, walk: Walk, videos_here: int, report: LibraryReport) -> LibraryFilm | None:
    is_disc = video.is_dir()
    stem = _PART.sub("", video.name if is_disc else video.stem)
    title, year, ids = parse_name(stem)
    if year is None and not is_disc and video.parent != top:  # "Heat (1995)/heat.mkv"
        ftitle, fyear, fids = parse_name(video.parent.name)
        if fyear is not None:
            title, year, ids = ftitle, fyear, {**fids, **ids}
    film = LibraryFilm(title=title, year=year, path=str(video))
    nfo = _nfo_for(video, videos_here)
    if nfo is not None and not walk.inside(nfo):
        walk.outside.append(str(nfo))
        nfo = None
    if nfo is not None:
        info, problem = read_nfo(nfo)
        if problem:
            report.bad_nfo.append(NfoProblem(nfo, problem))
            log.warning("library: %s: %s; skipped it, using the name %s", clean(nfo, 300), clean(problem, 300),
                        clean(repr(video.name), 300))
        elif info is not None:
            report.nfo_read += 1
            ids = {**ids, **info.ids}
            film.bad_ids = info.bad_ids
            if info.from_nfo:
                film.title = info.title or film.title
                film.year = info.year or film.year
                film.genres, film.runtime, film.rating = info.genres, info.runtime, info.rating
                film.plot, film.original_title, film.from_nfo = info.plot, info.original_title, True
                film.extra = info.extra
    film.ids, bad = check_ids(ids)
    film.bad_ids = film.bad_ids + bad
    if film.bad_ids:
        report.bad_ids.append(f"{clean(video, 300)}: {clean(bad_ids_text(film.bad_ids), 300)}")
        log.warning("library: %s", report.bad_ids[-1])
    film.title = clean(film.title, MAX_TITLE)  # names and .nfo titles: no control bytes, bounded
    return film if film.title else None


def scan(root: str | Path, field_name: str | None = "recommend.library",
         follow_outside_links: bool = False) -> tuple[list[LibraryFilm], LibraryReport]:
    """The films in a library folder (raises ConfigError only when the folder is not there)."""
    top = Path(os.path.abspath(os.path.expanduser(str(root))))
    if not top.is_dir():
        raise ConfigError("no such folder", path=clean(top, 300), field=field_name,
                          expected="a folder of films (Kodi/Jellyfin/Emby/Plex library)")
    report = LibraryReport()
    walk = report.walk = walk_library(top, follow_outside_links)
    videos = walk.videos
    report.videos = len(videos)
    per_folder: dict[Path, int] = {}
    for v in videos:
        per_folder[v.parent] = per_folder.get(v.parent, 0) + 1
    films: list[LibraryFilm] = []
    for video in videos:
        try:
            str(video).encode("utf-8")
        except UnicodeEncodeError:
            shown = clean(ascii(str(video)), 300)
            report.bad_names.append(shown)
            log.warning("library: %s: the name is not UTF-8; left out (rename it)", shown)
            continue
        film = _read_film(video, top, walk, per_folder.get(video.parent, 1), report)
        if film is not None:
            films.append(film)
    walk.log_problems(log)
    return films, report


# --------------------------------------------------------------------------------------------
# into the catalog


def map_genres(names: list[str], unmapped: set[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        key = name.strip().lower()
        if key in IGNORED_GENRES:
            continue
        mapped = GENRE_MAP.get(key)
        if mapped is None:
            if len(unmapped) < 1000:  # enough to name them; an .nfo with 45,000 made a 360 KB log line
                unmapped.add(name)
            continue
        out.extend(g for g in mapped if g not in out)
    return out


def _describe(film: LibraryFilm, genres: list[str]) -> str:
    if film.plot:
        text = clean(film.plot, 10 * MAX_DESCRIPTION)  # no control bytes in what displays show
        if len(text) > MAX_DESCRIPTION:
            cut = text[: MAX_DESCRIPTION - 1]
            text = (cut[: cut.rfind(" ")] if " " in cut else cut).rstrip(",;:- ") + "…"
        return text
    if not genres:
        return f"A film from {film.year} in your library ({UNKNOWN_GENRES}: an .nfo with <genre> helps)."
    names = genres[:-1]
    text = ", ".join(names) + (" and " if names else "") + genres[-1]
    return f"{text[0].upper()}{text[1:]} film from {film.year}, in your library."


def _find_known(base: Catalog, film: LibraryFilm) -> Film | None:
    for title in (film.title, film.original_title):
        if title and film.year is not None:
            i = base.find(title, film.year)
            if i is not None:
                return base.films[i]
    if film.year is None:  # a bare "Title.mkv": only when the catalog has exactly one film of that name
        key = " ".join(film.title.split()).casefold()
        matches = [f for f in base.films if f.ident[0] == key]
        if len(matches) == 1:
            return matches[0]
    return None


def _names(paths: list[str]) -> str:
    shown = "; ".join(clean(Path(p).name, 80) for p in paths[:10])
    return shown + (" …" if len(paths) > 10 else "")


def to_films(items: list[LibraryFilm], base: Catalog, report: LibraryReport) -> list[Film]:
    """Catalog films for the library's films: the base catalog's knowledge where it has the film."""
    films: list[Film] = []
    seen: set[tuple[str, int]] = set()
    for item in items:
        known = _find_known(base, item)
        ids = tuple(sorted(item.ids.items()))
        path = item.path if len(item.path) <= _MAX_PATH else None
        if known is not None:
            film = Film(title=known.title, year=known.year, genres=known.genres,
                        runtime=known.runtime if known.runtime is not None else item.runtime,
                        rating=known.rating if known.rating is not None else
                        (None if known.family and item.rating in ADULT_RATINGS else item.rating),
                        family=known.family, description=known.description, path=path, ids=ids,
                        extra=item.extra)
        else:
            if item.year is None:
                report.no_year.append(item.path)
                continue
            genres = map_genres(item.genres, report.unmapped)
            if not genres:  # owned all the same: a candidate, weighed lower by the recommender
                report.no_genre.append(item.path)
            family = "family" in genres and item.rating not in ADULT_RATINGS
            film = Film(title=item.title, year=item.year, genres=tuple(genres),
                        runtime=item.runtime, rating=item.rating, family=family,
                        description=_describe(item, genres), path=path, ids=ids, extra=item.extra)
        if film.ident in seen:
            report.duplicates += 1
            continue
        seen.add(film.ident)
        report.known += known is not None
        films.append(film)
    if report.unmapped:
        names = sorted(report.unmapped)
        log.info("library: %d genres with no mood-edge equivalent, dropped: %s", len(names),
                 clean(", ".join(names[:20]) + (" …" if len(names) > 20 else ""), 400))
    if report.no_genre:
        log.info("library: %d films with unknown genres, picked less often (add a .nfo with <genre>): %s",
                 len(report.no_genre), _names(report.no_genre))
    if report.no_year:
        log.warning("library: %d films left out: no year in the name or .nfo (name them 'Title (Year)'): %s",
                    len(report.no_year), _names(report.no_year))
    return films


def library_catalog(root: str | Path, base: Catalog, field_name: str | None = "recommend.library",
                    follow_outside_links: bool = False) -> tuple[Catalog, LibraryReport]:
    """The catalog of the films in ``root``, with ``base``'s policy (raises ConfigError if none usable)."""
    items, report = scan(root, field_name, follow_outside_links)
    films = to_films(items, base, report)
    shown = clean(root, 300)
    if not films:
        raise ConfigError(f"no usable films ({report.summary(0)})", path=shown, field=field_name,
                          expected="video files named 'Title (Year)' or with Kodi .nfo files")
    catalog = Catalog(films=films, policy=base.policy, genres=base.genres, path=str(root),
                      about=f"The films in {shown}, read by mood-edge; policy from {clean(base.path, 300)}.")
    log.info("library %s: %s", shown, report.summary(len(films)))
    return catalog, report
