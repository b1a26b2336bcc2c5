"""Ratings the household already keeps elsewhere, imported as votes.

Reads the export files as their sites write them:

* Letterboxd ``ratings.csv``: ``Date,Name,Year,Letterboxd URI,Rating`` (0.5-5 stars in halves);
* Letterboxd ``diary.csv``: the same plus ``Rewatch,Tags,Watched Date``;
* IMDb ``ratings.csv``: ``Const,Your Rating,Date Rated,Title,...,Year,...`` (1-10).

A film is matched by its IMDb id where the file has one, else by title and year (then title and a
year one off, when only one film fits: release years differ between sites). The file is hostile
input: at most :data:`MAX_IMPORT_BYTES`, UTF-8 with or without a BOM (UTF-16 with a BOM, or
Windows-1252 when it is not UTF-8, said in the summary), every rating checked against its site's
range, cells starting with ``=`` or ``+`` only ever compared, never evaluated or written back.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from ..errors import MoodEdgeError, read_user_bytes
from ..textsafe import clean
from .catalog import YEAR_MAX, YEAR_MIN, Film
from .filmdata import slug
from .taste import Vote, stars_value

MAX_IMPORT_BYTES = 20 << 20
MAX_ROWS = 200_000
MAX_CELL = 1000
EXPECTED = "a Letterboxd ratings.csv or diary.csv, or an IMDb ratings.csv export"


class ExportFileError(MoodEdgeError):
    """The file cannot be imported at all (one line: the file, what is wrong, what was expected)."""


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    votes: list[Vote] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    bad_rows: list[str] = field(default_factory=list)
    encoding: str = "utf-8"

    def summary(self) -> str:
        text = f"{self.kind}: {len(self.votes)} of {self.rows} rows matched films in the library or catalog"
        if self.unmatched:
            text += f"; {len(self.unmatched)} not found"
        if self.bad_rows:
            text += f"; {len(self.bad_rows)} rows skipped (bad rating, year or date)"
        if self.encoding != "utf-8":
            text += f"; read as {self.encoding}"
        return text


def _decode(raw: bytes) -> tuple[str, str]:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace"), "Windows-1252 (not UTF-8)"


def _norm(title: str) -> str:
    """'Amélie' and 'Amelie', 'Thing, The' and 'The Thing' compare equal."""
    m = re.fullmatch(r"(.*), (the|a|an)", title.strip(), flags=re.I)
    return slug(f"{m.group(2)} {m.group(1)}" if m else title)


def _date(text: str) -> float | None:
    try:
        return datetime.strptime(text.strip()[:10], "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None


def _number(text: str) -> float | None:
    try:
        value = float(text.strip()[:12])
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


class _Matcher:
    def __init__(self, films: Sequence[Film]) -> None:
        self.films = films
        self.by_imdb = {dict(f.ids).get("imdb"): f for f in films if dict(f.ids).get("imdb")}
        self.by_title: dict[tuple[str, int], list[Film]] = {}
        for f in films:
            self.by_title.setdefault((_norm(f.title), f.year), []).append(f)

    def find(self, title: str, year: int | None, imdb: str = "") -> Film | None:
        if imdb and imdb in self.by_imdb:
            return self.by_imdb[imdb]
        if year is None:
            return None
        name = _norm(title)
        exact = self.by_title.get((name, year), [])
        if len(exact) == 1:
            return exact[0]
        near = self.by_title.get((name, year - 1), []) + self.by_title.get((name, year + 1), [])
        return near[0] if len(near) == 1 and not exact else None


def _kind(header: list[str]) -> str:
    names = {h.strip() for h in header}
    if {"Const", "Your Rating", "Title", "Year"} <= names:
        return "IMDb ratings"
    if {"Name", "Year", "Rating", "Watched Date"} <= names:
        return "Letterboxd diary"
    if {"Name", "Year", "Rating"} <= names:
        return "Letterboxd ratings"
    return ""


def read_export(path: str | Path, films: Sequence[Film], now: float) -> ImportReport:
    """The votes in an export file, matched to ``films``; raises ExportFileError when the file is unusable."""
    raw = read_user_bytes(path, ExportFileError, EXPECTED, max_bytes=MAX_IMPORT_BYTES)
    text, encoding = _decode(raw)
    if "\0" in text:
        raise ExportFileError("has NUL bytes: not a text export", path=path, expected=EXPECTED)
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(rows, [])
    except csv.Error as exc:
        raise ExportFileError(f"not CSV ({clean(exc, 80)})", path=path, expected=EXPECTED) from None
    kind = _kind(header)
    if not kind:
        raise ExportFileError(f"unknown columns {clean(','.join(header)[:120], 140)!r}", path=path, expected=EXPECTED)
    col = {h.strip(): i for i, h in enumerate(header)}
    imdb = kind.startswith("IMDb")
    report = ImportReport(kind=kind, encoding=encoding)
    matcher = _Matcher(films)
    taken: set[str] = set()
    try:
        for line, row in enumerate(rows, start=2):
            if not row or all(not c.strip() for c in row):
                continue
            report.rows += 1
            if report.rows > MAX_ROWS:
                raise ExportFileError(f"has more than {MAX_ROWS} rows", path=path, expected=EXPECTED)
            cell = {k: (row[i][:MAX_CELL] if i < len(row) else "") for k, i in col.items()}
            title = cell.get("Title" if imdb else "Name", "").strip()
            year_n = _number(cell.get("Year", ""))
            rating = _number(cell.get("Your Rating" if imdb else "Rating", ""))
            lo, hi = (1, 10) if imdb else (0.5, 5)
            at = _date(cell.get("Watched Date", "") or cell.get("Date Rated", "") or cell.get("Date", ""))
            if (year_n is None or not year_n.is_integer() or not YEAR_MIN <= year_n <= YEAR_MAX
                    or (rating is not None and not lo <= rating <= hi) or at is None or at > now + 86400
                    or (rating is None and cell.get("Your Rating" if imdb else "Rating", "").strip())):
                report.bad_rows.append(f"line {line}: {clean(title, 60)!r}")
                continue
            film = matcher.find(title, int(year_n), cell.get("Const", "").strip())
            if film is None:
                report.unmatched.append(f"{clean(title, 80)} ({int(year_n)})")
                continue
            value = None if rating is None else stars_value(rating / 2 if imdb else rating)
            report.votes = [v for v in report.votes if v.film != film.key] if film.key in taken else report.votes
            taken.add(film.key)
            report.votes.append(Vote(film.key, film.title, value, None, "import", at, True))
    except csv.Error as exc:
        raise ExportFileError(f"not CSV ({clean(exc, 80)})", path=path, expected=EXPECTED) from None
    return report
