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
  Kids -> family, ...); a film with no usable genre is left out and listed (give it an .nfo).

A broken ``.nfo`` (unreadable, not XML, not a ``<movie>``) is named in a warning, skipped and
counted; the film is then read from its name. Nothing here raises for a file's content: only a
library folder that does not exist is an error. Used by the daemon (``recommend.library``) and by
``mood-convert catalog --library``.
"""

from __future__ import annotations

import logging
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from .catalog import (ADULT_RATINGS, MAX_DESCRIPTION, MAX_TITLE, RATINGS, RUNTIME_MAX, RUNTIME_MIN,
                      YEAR_MAX, YEAR_MIN, Catalog, Film)
from .errors import ConfigError

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = frozenset({".mkv", ".mp4", ".m4v", ".avi", ".mov", ".wmv", ".mpg", ".mpeg", ".ts", ".m2ts",
                              ".webm", ".iso", ".divx", ".ogv", ".flv", ".vob"})
#: folders of bonus material (Plex, Jellyfin and Kodi conventions), never films
EXTRAS_DIRS = frozenset({"extras", "featurettes", "behind the scenes", "deleted scenes", "interviews", "scenes",
                         "shorts", "trailers", "trailer", "other", "samples", "sample", "bonus", "specials",
                         "@eadir", "#recycle", "$recycle.bin", "lost+found"})
_EXTRA_SUFFIX = re.compile(r"[-_. ](trailer|sample|featurette|behindthescenes|deleted|interview|scene|short|other)$",
                           re.I)
#: "Title - part2", "Title cd1": later parts of one film
_PART = re.compile(r"[ ._-]+(?:cd|dvd|part|pt|disc|disk)[ ._-]?(\d+)$", re.I)
_TAGS = re.compile(r"\s*[\[{]\s*(imdb|tmdb|tvdb)(?:id)?[-=:\s]\s*([A-Za-z0-9]+)\s*[\]}]", re.I)
_ID_VALUE = re.compile(r"[A-Za-z0-9_-]{1,100}")
_MAX_NFO_BYTES = 1_000_000
_MAX_PATH = 4096

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
        return f"{self.path}: {self.reason}"


@dataclass
class LibraryFilm:
    """What the library says about one film, before it meets the catalog."""
    title: str
    year: int | None
    path: str
    genres: list[str] = field(default_factory=list)
    runtime: int | None = None
    rating: str | None = None
    plot: str = ""
    ids: dict[str, str] = field(default_factory=dict)
    original_title: str = ""
    from_nfo: bool = False


@dataclass
class LibraryReport:
    videos: int = 0
    nfo_read: int = 0
    bad_nfo: list[NfoProblem] = field(default_factory=list)
    known: int = 0
    no_genre: list[str] = field(default_factory=list)
    no_year: list[str] = field(default_factory=list)
    #: names that are not valid UTF-8 (they could not be published or written as JSON)
    bad_names: list[str] = field(default_factory=list)
    duplicates: int = 0
    unmapped: set[str] = field(default_factory=set)

    def summary(self, films: int) -> str:
        parts = [f"{films} films from {self.videos} videos", f"{self.known} known to the catalog",
                 f"{self.nfo_read} .nfo read"]
        if self.bad_nfo:
            parts.append(f"{len(self.bad_nfo)} bad .nfo skipped")
        if self.no_genre:
            parts.append(f"{len(self.no_genre)} left out without genres")
        if self.no_year:
            parts.append(f"{len(self.no_year)} left out without a year")
        if self.bad_names:
            parts.append(f"{len(self.bad_names)} left out with names that are not UTF-8")
        if self.duplicates:
            parts.append(f"{self.duplicates} repeated")
        return ", ".join(parts)


# --------------------------------------------------------------------------------------------
# names


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _is_year(token: str) -> bool:
    return len(token) == 4 and token.isdigit() and YEAR_MIN <= int(token) <= YEAR_MAX


def parse_name(name: str) -> tuple[str, int | None, dict[str, str]]:
    """'Heat (1995) {imdb-tt0113277}' -> ('Heat', 1995, {'imdb': 'tt0113277'}); scene names too.

    The last year in parentheses wins ('Blade Runner 2049 (2017)'); without one, the last
    year-like word after the first ('Blade.Runner.2049.2017.1080p', '1917.2019.mkv').
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
    return _one_line(title.strip(" ._-([")), year, ids


def _is_extra(stem: str) -> bool:
    return bool(_EXTRA_SUFFIX.search(stem))


# --------------------------------------------------------------------------------------------
# .nfo


def _int_in(text: str | None, lo: int, hi: int) -> int | None:
    m = re.search(r"\d+", text or "")
    if not m:
        return None
    v = int(m.group(0))
    return v if lo <= v <= hi else None


def parse_rating(text: str | None) -> str | None:
    """Kodi's <mpaa>: 'PG-13', 'Rated PG-13', 'US:PG-13', 'us:R / gb:15' -> a US rating or None."""
    for part in re.split(r"[/|,]", text or ""):
        value = part.strip()
        if ":" in value:
            country, value = value.split(":", 1)
            if country.strip().lower() not in ("us", "usa"):
                continue
        value = re.sub(r"^(rated|mpaa)\s+", "", value.strip(), flags=re.I).upper().replace(" ", "")
        if value in RATINGS:
            return value
    return None


def read_nfo(path: Path) -> tuple[LibraryFilm | None, str | None]:
    """(film data, None), or (None, why it was skipped). Never raises for the file's content."""
    try:
        if path.stat().st_size > _MAX_NFO_BYTES:
            return None, f"larger than {_MAX_NFO_BYTES // 1000} kB, not a movie .nfo"
        data = path.read_bytes()
    except OSError as exc:
        return None, f"cannot read it ({exc.strerror or exc})"
    if not data.strip():
        return None, "empty file"
    if not data.lstrip().startswith(b"<"):
        # Kodi allows an nfo that is only a scraper URL: keep its IMDb/TMDB id, names give the rest
        text = data.decode("utf-8", "replace")
        ids = {}
        if m := re.search(r"imdb\.com/title/(tt\d+)", text):
            ids["imdb"] = m.group(1)
        if m := re.search(r"themoviedb\.org/movie/(\d+)", text):
            ids["tmdb"] = m.group(1)
        if ids:
            return LibraryFilm(title="", year=None, path="", ids=ids), None
        return None, "not XML and no IMDb/TMDB link (expected a Kodi <movie> .nfo)"
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line, col = getattr(exc, "position", (0, 0))
        return None, f"not valid XML at line {line} column {col + 1} (expected a Kodi <movie> .nfo)"
    except (ValueError, RecursionError) as exc:  # e.g. entity expansion refused by expat
        return None, f"not usable XML ({exc})"
    if root.tag != "movie":
        return None, f"root element <{root.tag}>, not <movie> (TV shows and episodes are not films)"

    def text(tag: str) -> str:
        el = root.find(tag)
        return _one_line(el.text or "") if el is not None and el.text else ""

    year = _int_in(text("year"), YEAR_MIN, YEAR_MAX) or _int_in(text("premiered")[:4], YEAR_MIN, YEAR_MAX)
    runtime = _int_in(text("runtime"), RUNTIME_MIN, RUNTIME_MAX)
    if runtime is None:
        seconds = root.find("fileinfo/streamdetails/video/durationinseconds")
        s = _int_in(seconds.text if seconds is not None else None, 60, RUNTIME_MAX * 60)
        runtime = round(s / 60) if s else None
    genres = []
    for el in root.findall("genre"):
        for g in re.split(r"\s*/\s*", el.text or ""):  # some scrapers write "Comedy / Drama"
            if g.strip():
                genres.append(_one_line(g))
    ids: dict[str, str] = {}
    for el in root.findall("uniqueid"):
        kind = (el.get("type") or "").strip().lower()
        if kind in ("imdb", "tmdb", "tvdb") and el.text and _ID_VALUE.fullmatch(el.text.strip()):
            ids[kind] = el.text.strip()
    for tag, kind in (("imdbid", "imdb"), ("tmdbid", "tmdb")):
        if _ID_VALUE.fullmatch(text(tag)) and kind not in ids:
            ids[kind] = text(tag)
    if "imdb" not in ids and re.fullmatch(r"tt\d+", text("id")):
        ids["imdb"] = text("id")
    return LibraryFilm(title=text("title"), year=year, path="", genres=genres, runtime=runtime,
                       rating=parse_rating(text("mpaa") or text("certification")),
                       plot=text("outline") or text("plot"), ids=ids,
                       original_title=text("originaltitle"), from_nfo=True), None


# --------------------------------------------------------------------------------------------
# the walk


def _nfo_for(video: Path, videos_here: int) -> Path | None:
    """<video>.nfo beside it; movie.nfo in its folder when it is that folder's only film."""
    if video.is_dir():  # a disc folder: Kodi keeps movie.nfo (or VIDEO_TS.nfo) inside it
        candidates = [video / "movie.nfo", video / "VIDEO_TS" / "VIDEO_TS.nfo", video.with_name(video.name + ".nfo")]
    else:
        candidates = [video.with_suffix(".nfo")] + ([video.parent / "movie.nfo"] if videos_here == 1 else [])
    return next((c for c in candidates if c.is_file()), None)


def find_videos(root: Path) -> list[Path]:
    """Every film's video (or DVD/Blu-ray folder) under ``root``, in name order; extras left out."""
    found: list[Path] = []
    seen_dirs: set[tuple[int, int]] = set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        here = Path(folder)
        try:
            st = here.stat()
        except OSError:
            dirs[:] = []
            continue
        if (st.st_dev, st.st_ino) in seen_dirs:  # a symlink loop
            dirs[:] = []
            continue
        seen_dirs.add((st.st_dev, st.st_ino))
        names = {d.upper() for d in dirs}
        if "VIDEO_TS" in names or "BDMV" in names:  # a disc copy: the folder is the film
            found.append(here)
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d.lower() not in EXTRAS_DIRS)
        if any(f.lower() in ("tvshow.nfo", "season.nfo") for f in files):
            continue  # a TV show's folder (its seasons hold episodes, not films)
        for f in sorted(files):
            p = here / f
            if p.suffix.lower() in VIDEO_EXTENSIONS and not f.startswith(".") and not _is_extra(p.stem):
                found.append(p)
    return found


def scan(root: str | Path, field_name: str | None = "recommend.library") -> tuple[list[LibraryFilm], LibraryReport]:
    """The films in a library folder (raises ConfigError only when the folder is not there)."""
    top = Path(os.path.abspath(os.path.expanduser(str(root))))
    if not top.is_dir():
        raise ConfigError("no such folder", path=top, field=field_name,
                          expected="a folder of films (Kodi/Jellyfin/Emby/Plex library)")
    report = LibraryReport()
    videos = find_videos(top)
    report.videos = len(videos)
    per_folder: dict[Path, int] = {}
    for v in videos:
        per_folder[v.parent] = per_folder.get(v.parent, 0) + 1
    films: list[LibraryFilm] = []
    for video in videos:
        try:
            str(video).encode("utf-8")
        except UnicodeEncodeError:
            shown = ascii(str(video))
            report.bad_names.append(shown)
            log.warning("library: %s: the name is not UTF-8; left out (rename it)", shown)
            continue
        is_disc = video.is_dir()
        stem = video.name if is_disc else video.stem
        stem = _PART.sub("", stem)
        title, year, ids = parse_name(stem)
        if year is None and not is_disc and video.parent != top:  # "Heat (1995)/heat.mkv"
            ftitle, fyear, fids = parse_name(video.parent.name)
            if fyear is not None:
                title, year, ids = ftitle, fyear, {**fids, **ids}
        film = LibraryFilm(title=title, year=year, path=str(video), ids=ids)
        nfo = _nfo_for(video, per_folder.get(video.parent, 1))
        if nfo is not None:
            info, problem = read_nfo(nfo)
            if problem:
                report.bad_nfo.append(NfoProblem(nfo, problem))
                log.warning("library: %s: %s; skipped it, using the name %r", nfo, problem, video.name)
            elif info is not None:
                report.nfo_read += 1
                film.ids = {**film.ids, **info.ids}
                if info.from_nfo:
                    film.title = info.title or film.title
                    film.year = info.year or film.year
                    film.genres, film.runtime, film.rating = info.genres, info.runtime, info.rating
                    film.plot, film.original_title, film.from_nfo = info.plot, info.original_title, True
        if film.title:
            films.append(film)
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
            unmapped.add(name)
            continue
        out.extend(g for g in mapped if g not in out)
    return out


def _describe(film: LibraryFilm, genres: list[str]) -> str:
    if film.plot:
        text = film.plot
        if len(text) > MAX_DESCRIPTION:
            cut = text[: MAX_DESCRIPTION - 1]
            text = (cut[: cut.rfind(" ")] if " " in cut else cut).rstrip(",;:- ") + "…"
        return text
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
        matches = [f for f in base.films if f.key[0] == key]
        if len(matches) == 1:
            return matches[0]
    return None


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
                        family=known.family, description=known.description, path=path, ids=ids)
        else:
            if item.year is None:
                report.no_year.append(item.path)
                continue
            genres = map_genres(item.genres, report.unmapped)
            if not genres:
                report.no_genre.append(item.path)
                continue
            family = "family" in genres and item.rating not in ADULT_RATINGS
            film = Film(title=item.title[:MAX_TITLE].strip(), year=item.year, genres=tuple(genres),
                        runtime=item.runtime, rating=item.rating, family=family,
                        description=_describe(item, genres), path=path, ids=ids)
        if film.key in seen:
            report.duplicates += 1
            continue
        seen.add(film.key)
        report.known += known is not None
        films.append(film)
    if report.unmapped:
        log.info("library: genres with no mood-edge equivalent, dropped: %s", ", ".join(sorted(report.unmapped)))
    if report.no_genre:
        log.warning("library: %d films left out: not in the catalog and no genres (add a .nfo): %s",
                    len(report.no_genre), "; ".join(Path(p).name for p in report.no_genre[:10])
                    + (" …" if len(report.no_genre) > 10 else ""))
    if report.no_year:
        log.warning("library: %d films left out: no year in the name or .nfo (name them 'Title (Year)'): %s",
                    len(report.no_year), "; ".join(Path(p).name for p in report.no_year[:10])
                    + (" …" if len(report.no_year) > 10 else ""))
    return films


def library_catalog(root: str | Path, base: Catalog, field_name: str | None = "recommend.library",
                    ) -> tuple[Catalog, LibraryReport]:
    """The catalog of the films in ``root``, with ``base``'s policy (raises ConfigError if none usable)."""
    items, report = scan(root, field_name)
    films = to_films(items, base, report)
    if not films:
        raise ConfigError(f"no usable films ({report.summary(0)})", path=root, field=field_name,
                          expected="video files named 'Title (Year)' or with Kodi .nfo files")
    catalog = Catalog(films=films, policy=base.policy, genres=base.genres, path=str(root),
                      about=f"The films in {root}, read by mood-edge; policy from {base.path}.")
    log.info("library %s: %s", root, report.summary(len(films)))
    return catalog, report
