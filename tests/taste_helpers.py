"""Small household libraries for the taste tests: ``Title (Year)`` folders with Kodi .nfo files."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from edge.recommend.catalog import Catalog, validate_catalog


def write_film(root: Path, title: str, year: int, genres: list[str], *, director: str = "", imdb: str = "",
               community: float | None = None, votes: int = 0, userrating: str | None = None,
               playcount: str | None = None, lastplayed: str | None = None, mpaa: str = "",
               extra_xml: str = "") -> Path:
    folder = root / f"{title} ({year})"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{title} ({year}).mkv").write_bytes(b"")
    parts = [f"<title>{escape(title)}</title><year>{year}</year>"]
    parts += [f"<genre>{g}</genre>" for g in genres]
    if director:
        parts.append(f"<director>{escape(director)}</director>")
    if imdb:
        parts.append(f'<uniqueid type="imdb">{imdb}</uniqueid>')
    if community is not None:
        parts.append(f'<ratings><rating name="imdb" max="10" default="true"><value>{community}</value>'
                     f"<votes>{votes}</votes></rating></ratings>")
    for tag, value in (("userrating", userrating), ("playcount", playcount), ("lastplayed", lastplayed)):
        if value is not None:
            parts.append(f"<{tag}>{value}</{tag}>")
    if mpaa:
        parts.append(f"<mpaa>{mpaa}</mpaa>")
    (folder / "movie.nfo").write_text("<movie>" + "".join(parts) + extra_xml + "</movie>\n", encoding="utf-8")
    return folder


def tiny_catalog(base: Catalog, films: list[tuple[str, list[str]]], **fields) -> Catalog:
    """A catalog of the given (title, genres) with the shipped policy; ``fields`` go into every film."""
    doc = base.to_dict()
    doc["films"] = [{"title": t, "year": 2000 + i, "genres": g, "runtime": 90, "rating": None, "family": True,
                     "description": f"Test film {i}.", **fields} for i, (t, g) in enumerate(films)]
    return validate_catalog(doc)
