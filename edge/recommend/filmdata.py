"""What identifies a film across files, and what a media centre knows about it beyond the catalog.

``film_key`` is the stable key every pick carries (the taste contract): ``imdb:tt0110357``, else
``tmdb:8587``, else a slug ``heat-1995``. Votes, imports and the TV page name films by it, so it must
not change when a title is re-scraped with other capitals or accents.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: the contract's pattern for a film key (displays and Home Assistant check it too)
KEY_PATTERN = re.compile(r"[a-z0-9][a-z0-9:-]{0,79}")
MAX_SLUG_TITLE = 60


def slug(title: str) -> str:
    """'Amélie' -> 'amelie', 'Léon: The Professional' -> 'leon-the-professional'."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return text[:MAX_SLUG_TITLE].strip("-")


def film_key(title: str, year: int | None, ids: tuple[tuple[str, str], ...] | dict[str, str] = ()) -> str:
    found = dict(ids)
    if found.get("imdb"):
        return f"imdb:{found['imdb']}"
    if found.get("tmdb"):
        return f"tmdb:{found['tmdb']}"
    base = slug(title) or "film"
    return f"{base}-{year}" if year else base


@dataclass(frozen=True)
class FilmExtra:
    """What a scraper and the household's media centre wrote into a film's ``.nfo`` (all optional).

    ``people`` are tagged ``director:``, ``writer:``, ``actor:`` and ``studio:`` so one feature space
    holds them all; ``userrating`` is the household's own 0-10 (Kodi), ``lastplayed`` a Unix time.
    """
    community: float | None = None
    votes: int = 0
    people: tuple[str, ...] = ()
    userrating: float | None = None
    playcount: int = 0
    lastplayed: float | None = None
