"""One Kodi ``.nfo`` read safely: bounded, no DTDs or entities, ids checked, every field bounded.

An ``.nfo`` is a file anyone who can write to the library folder controls, so it is read as hostile:

* through the one bounded reader (:func:`edge.errors.read_user_bytes`): regular files only, opened
  without blocking, at most :data:`MAX_NFO_BYTES` (a FIFO, a device or a 2 GB file is refused in one line);
* by ``defusedxml`` with DTDs forbidden: Kodi never writes a DTD, and a DTD is how a 1 MB file
  becomes 97 MB of entity text (billion laughs) or reads another file (external entities);
* ids (``<uniqueid>``, a scraper URL) are kept only in the forms :func:`edge.recommend.catalog.valid_id`
  accepts, so a 900,000-digit "id" never reaches a message; at most :data:`MAX_GENRES` genres.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring

from ..errors import MoodEdgeError, read_user_bytes
from ..textsafe import clean
from .nfoextra import read_extra
from .filmdata import FilmExtra
from .catalog import ID_EXPECTED, RATINGS, RUNTIME_MAX, RUNTIME_MIN, YEAR_MAX, YEAR_MIN, valid_id

#: a Kodi movie .nfo with full cast lists is tens of kB
MAX_NFO_BYTES = 1_000_000
#: more genres than this on one film says nothing about it (and would make huge log lines)
MAX_GENRES = 20
MAX_GENRE_CHARS = 60
#: ids in a scraper URL ("https://www.imdb.com/title/tt0113277/"); the digits are checked after
_URL_IDS = (("imdb", re.compile(r"imdb\.com/title/(tt\d+)")), ("tmdb", re.compile(r"themoviedb\.org/movie/(\d+)")))


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
    #: ids found but not in a valid form, shown (cleaned, bounded) in one warning
    bad_ids: list[str] = field(default_factory=list)
    #: scraper data and the household's own marks (community rating, people, userrating, playcount)
    extra: FilmExtra | None = None


def one_line(text: str) -> str:
    return " ".join(text.split())


def check_ids(found: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """(the valid ids, a short description of each invalid one)."""
    good = {k: v for k, v in found.items() if valid_id(k, v)}
    bad = [f"{k} {clean(v, 24)!r}" for k, v in found.items() if k not in good]
    return good, bad


def bad_ids_text(bad: list[str]) -> str:
    return f"ignored {'an id' if len(bad) == 1 else 'ids'} not in a valid form: {', '.join(bad)} (expected {ID_EXPECTED})"


def _int_in(text: str | None, lo: int, hi: int) -> int | None:
    m = re.search(r"\d{1,12}", text or "")
    if not m:
        return None
    v = int(m.group(0))
    return v if lo <= v <= hi else None


def parse_rating(text: str | None) -> str | None:
    """Kodi's <mpaa>: 'PG-13', 'Rated PG-13', 'US:PG-13', 'us:R / gb:15' -> a US rating or None."""
    for part in re.split(r"[/|,]", (text or "")[:200]):
        value = part.strip()
        if ":" in value:
            country, value = value.split(":", 1)
            if country.strip().lower() not in ("us", "usa"):
                continue
        value = re.sub(r"^(rated|mpaa)\s+", "", value.strip(), flags=re.I).upper().replace(" ", "")
        if value in RATINGS:
            return value
    return None


class _Refused(MoodEdgeError):
    pass


def _url_only(data: bytes) -> tuple[LibraryFilm | None, str | None]:
    """Kodi allows an nfo that is only a scraper URL: keep its IMDb/TMDB id, names give the rest."""
    text = data.decode("utf-8", "replace")
    found = {kind: m.group(1) for kind, pattern in _URL_IDS if (m := pattern.search(text))}
    if not found:
        return None, "not XML and no IMDb/TMDB link (expected a Kodi <movie> .nfo)"
    ids, bad = check_ids(found)
    return LibraryFilm(title="", year=None, path="", ids=ids, bad_ids=bad), None


def read_nfo(path: Path) -> tuple[LibraryFilm | None, str | None]:
    """(film data, None), or (None, why it was skipped). Never raises for the file's content."""
    try:
        data = read_user_bytes(path, _Refused, "a Kodi movie .nfo", max_bytes=MAX_NFO_BYTES)
    except _Refused as exc:
        return None, exc.detail + (f" (expected {exc.expected})" if exc.expected else "")
    if not data.strip():
        return None, "empty file"
    if not data.lstrip().startswith(b"<"):
        return _url_only(data)
    try:
        root = safe_fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        return None, "has a DTD or entities, which a Kodi .nfo never has (refused: they can expand to gigabytes)"
    except ET.ParseError as exc:
        line, col = getattr(exc, "position", (0, 0))
        return None, f"not valid XML at line {line} column {col + 1} (expected a Kodi <movie> .nfo)"
    except (ValueError, RecursionError) as exc:
        return None, f"not usable XML ({clean(exc, 100)})"
    if root.tag != "movie":
        return None, f"root element <{clean(root.tag, 40)}>, not <movie> (TV shows and episodes are not films)"

    def text(tag: str) -> str:
        el = root.find(tag)
        return one_line(el.text or "") if el is not None and el.text else ""

    year = _int_in(text("year"), YEAR_MIN, YEAR_MAX) or _int_in(text("premiered")[:4], YEAR_MIN, YEAR_MAX)
    runtime = _int_in(text("runtime"), RUNTIME_MIN, RUNTIME_MAX)
    if runtime is None:
        seconds = root.find("fileinfo/streamdetails/video/durationinseconds")
        s = _int_in(seconds.text if seconds is not None else None, 60, RUNTIME_MAX * 60)
        runtime = round(s / 60) if s else None
    genres: list[str] = []
    for el in root.findall("genre"):
        for g in re.split(r"\s*/\s*", el.text or ""):  # some scrapers write "Comedy / Drama"
            if g.strip() and len(genres) < MAX_GENRES:
                genres.append(one_line(g)[:MAX_GENRE_CHARS])
        if len(genres) >= MAX_GENRES:
            break
    found: dict[str, str] = {}
    for el in root.findall("uniqueid"):
        kind = (el.get("type") or "").strip().lower()
        if kind in ("imdb", "tmdb", "tvdb") and el.text and el.text.strip():
            found.setdefault(kind, el.text.strip())
    for tag, kind in (("imdbid", "imdb"), ("tmdbid", "tmdb")):
        if text(tag) and kind not in found:
            found[kind] = text(tag)
    if "imdb" not in found and text("id").startswith("tt"):
        found["imdb"] = text("id")
    ids, bad = check_ids(found)
    return LibraryFilm(title=text("title"), year=year, path="", genres=genres, runtime=runtime,
                       rating=parse_rating(text("mpaa") or text("certification")),
                       plot=text("outline") or text("plot"), ids=ids,
                       original_title=text("originaltitle"), from_nfo=True, bad_ids=bad,
                       extra=read_extra(root)), None
