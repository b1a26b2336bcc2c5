"""What a scraper and the household's media centre add to a Kodi ``.nfo``, read for the taste.

* the community rating: ``<ratings><rating name="imdb" default="true"><value>7.8</value><votes>..``
  (the default one, else the one with most votes; Kodi's older flat ``<rating>``/``<votes>`` too);
* the people: ``<director>``, ``<credits>`` (writers), ``<actor><name>`` (first :data:`MAX_ACTORS`
  in billing order), ``<studio>``;
* the household's marks: ``<userrating>`` (0-10), ``<playcount>``, ``<watched>`` (Jellyfin, Emby),
  ``<lastplayed>`` (``2024-01-31 21:04:11``).

Every number is checked like one from the config: a rating out of 0-10, a vote count past
:data:`MAX_VOTES`, a date before 1970 or unparseable is dropped, never trusted.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

from .filmdata import FilmExtra

MAX_ACTORS = 8
MAX_PEOPLE_PER_ROLE = 4
MAX_NAME = 80
#: more than any film has ever had on IMDb (3 million)
MAX_VOTES = 100_000_000
MAX_PLAYCOUNT = 100_000


def _number(text: str | None, lo: float, hi: float) -> float | None:
    try:
        value = float((text or "").strip()[:32])
    except ValueError:
        return None
    return value if math.isfinite(value) and lo <= value <= hi else None


def _when(text: str | None) -> float | None:
    try:
        when = datetime.fromisoformat((text or "").strip()[:19])
    except ValueError:
        return None
    return when.replace(tzinfo=timezone.utc).timestamp() if 1970 <= when.year <= 2100 else None


def _community(root: ET.Element) -> tuple[float | None, int]:
    best: tuple[bool, int, float] | None = None
    for el in root.findall("ratings/rating"):
        scale = _number(el.get("max"), 1, 100) or 10
        value = _number(el.findtext("value"), 0, scale)
        if value is None:
            continue
        votes = int(_number(el.findtext("votes"), 0, MAX_VOTES) or 0)
        entry = (el.get("default") == "true", votes, value * 10 / scale)
        best = entry if best is None or entry[:2] > best[:2] else best
    if best is not None:
        return best[2], best[1]
    flat = _number(root.findtext("rating"), 0, 10)
    return flat, int(_number(root.findtext("votes"), 0, MAX_VOTES) or 0) if flat is not None else 0


def _names(root: ET.Element, path: str, role: str, limit: int) -> list[str]:
    out: list[str] = []
    for el in root.findall(path):
        name = " ".join((el.text or "").split())[:MAX_NAME]
        if name and f"{role}:{name}" not in out:
            out.append(f"{role}:{name}")
        if len(out) >= limit:
            break
    return out


def read_extra(root: ET.Element) -> FilmExtra | None:
    community, votes = _community(root)
    people = (_names(root, "director", "director", MAX_PEOPLE_PER_ROLE)
              + _names(root, "credits", "writer", MAX_PEOPLE_PER_ROLE)
              + _names(root, "actor/name", "actor", MAX_ACTORS)
              + _names(root, "studio", "studio", 2))
    userrating = _number(root.findtext("userrating"), 0, 10)
    playcount = int(_number(root.findtext("playcount"), 0, MAX_PLAYCOUNT) or 0)
    if playcount == 0 and re.fullmatch(r"\s*(true|1)\s*", root.findtext("watched") or "", re.I):
        playcount = 1
    lastplayed = _when(root.findtext("lastplayed"))
    if userrating == 0:  # Kodi writes 0 for "not rated"
        userrating = None
    extra = FilmExtra(community=community, votes=votes, people=tuple(people), userrating=userrating,
                      playcount=playcount, lastplayed=lastplayed)
    return None if extra == FilmExtra() else extra
