"""One bound on everything that reaches a state message: every field, and the message's size.

A state message carries text from files anybody can write: film titles, plots, genres, paths and
ids from the household's library, a catalog edited by hand. One URL-only ``.nfo`` with 900,000
digits made every state ~900 KB: the broker (``max_packet_size 65536``) dropped the daemon about
once a second and displays saw no state at all (issue 22, row 1). So the message is bounded where
it is encoded (:meth:`edge.mqtt.messages.StateMessage.to_json`), whatever the field and wherever it
came from:

* human text (title, description, reasons, genres, rating and any other string) is cut to its
  limit, an ellipsis marking the cut;
* identifiers (``path``, ``key``, every ``ids`` value) that are too long are *dropped*: a cut path or id
  would point at the wrong film;
* lists and objects keep their first items (50 films, 10 genres, 6 reasons, 8 ids, ...), over-long
  keys are dropped, integers beyond 64 bits become null (``json`` cannot even print a
  5,000-digit one), lone surrogates (undecodable file names) become U+FFFD;
* the encoded message stays under :data:`MAX_STATE_BYTES`, films dropped from the end until it does.

Each cut is named (``recommendations[0].ids.imdb``) in one log line, at most once a minute.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from ..ratelimit import RateLimit
from ..textsafe import clean

log = logging.getLogger("edge.messages")

#: the encoded state's ceiling: half the shipped broker's max_packet_size (and every display's
#: incoming limit, edge.mqtt.client.MAX_INCOMING_BYTES); a state with 50 full films is ~20 KB
MAX_STATE_BYTES = 32 * 1024
#: human text, cut to this many characters (by key; a list's items use the list's key)
TEXT_LIMITS = {"title": 200, "description": 1000, "reasons": 200, "genres": 40, "rating": 16,
               "device": 64, "mood": 32, "labels": 32, "strategy": 32, "camera": 32, "since": 32, "updated": 32,
               "area": 64}
DEFAULT_TEXT_LIMIT = 300
#: identifiers, dropped when longer (a cut one would be wrong)
ID_LIMITS = {"path": 4096, "ids": 100, "key": 80}
#: list items and object entries kept (the rest dropped)
ITEM_LIMITS = {"recommendations": 50, "genres": 10, "reasons": 6, "ids": 8, "probabilities": 16, "model": 8}
DEFAULT_ITEM_LIMIT = 50
KEY_LIMIT = 32
_MAX_INT = 2 ** 63
_DROP = object()
_SURROGATE = re.compile(r"[\ud800-\udfff]")
#: one log line a minute at most, however many messages are cut
_report_limit = RateLimit(60.0)


def _where(trail: list[Any]) -> str:
    """``recommendations[0].ids.imdb`` from the keys and indexes walked (built only for a cut)."""
    out = ""
    for step in trail:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def _text(value: str, key: str, trail: list[Any], cuts: list[str]) -> Any:
    if not value.isascii():
        value = _SURROGATE.sub("\ufffd", value)  # unencodable in UTF-8: paho would raise
    if key in ID_LIMITS:
        if len(value) > ID_LIMITS[key]:
            cuts.append(f"{_where(trail)} ({len(value)} characters, over {ID_LIMITS[key]}: dropped)")
            return _DROP
        return value
    limit = TEXT_LIMITS.get(key, DEFAULT_TEXT_LIMIT)
    if len(value) > limit:
        cuts.append(f"{_where(trail)} ({len(value)} characters, cut to {limit})")
        return value[: limit - 1] + "…"
    return value


def _walk(value: Any, key: str, trail: list[Any], cuts: list[str]) -> Any:
    """``value`` within its limits; ``trail`` is the path to it (keys and indexes), for the log."""
    kind = type(value)
    if kind is str:
        return _text(value, key, trail, cuts)
    if kind is float or kind is bool or value is None:
        return value
    if kind is int:
        if abs(value) >= _MAX_INT:
            cuts.append(f"{_where(trail)} (a {value.bit_length()}-bit integer: null)")
            return None
        return value
    limit = ITEM_LIMITS.get(key, DEFAULT_ITEM_LIMIT)
    if isinstance(value, (list, tuple)):
        if len(value) > limit:
            cuts.append(f"{_where(trail)} ({len(value)} items, kept {limit})")
        out_list = []
        for i, item in enumerate(value[:limit]):
            trail.append(i)
            item = _walk(item, key, trail, cuts)
            trail.pop()
            if item is not _DROP:
                out_list.append(item)
        return out_list
    if isinstance(value, dict):
        if len(value) > limit:
            cuts.append(f"{_where(trail)} ({len(value)} entries, kept {limit})")
        out = {}
        for k, v in list(value.items())[:limit]:
            name = k if type(k) is str else str(k)
            if len(name) > KEY_LIMIT:
                cuts.append(f"{_where(trail)}: a {len(name)}-character key (dropped)")
                continue
            trail.append(name)
            # an ids object's values are ids, whatever they are called
            v = _walk(v, key if key == "ids" else name, trail, cuts)
            trail.pop()
            if v is not _DROP:
                out[name] = v
        return out
    if isinstance(value, int):  # an int subclass (IntEnum): as a plain int
        return _walk(int(value), key, trail, cuts)
    if isinstance(value, float):  # a float subclass (numpy.float64): as a plain float
        return float(value)
    return _text(str(value), key, trail, cuts)


def bound_state(data: dict[str, Any]) -> str:
    """``data`` as compact JSON with every field within its limit and the whole under
    :data:`MAX_STATE_BYTES`; what was cut is logged, naming the field."""
    cuts: list[str] = []
    bounded = _walk(data, "", [], cuts)
    text = json.dumps(bounded, separators=(",", ":"), ensure_ascii=False)
    size = len(text.encode("utf-8"))
    films = bounded.get("recommendations")
    if size > MAX_STATE_BYTES and isinstance(films, list):
        total = len(films)
        while size > MAX_STATE_BYTES and films:
            films.pop()
            text = json.dumps(bounded, separators=(",", ":"), ensure_ascii=False)
            size = len(text.encode("utf-8"))
        cuts.append(f"recommendations (the message was over {MAX_STATE_BYTES} bytes: kept {len(films)} of "
                    f"{total} films)")
    if cuts:
        _report(cuts)
    return text


def _report(cuts: list[str]) -> None:
    if not _report_limit.allow():
        return
    more = _report_limit.take_suppressed()
    shown = "; ".join(clean(c, 160) for c in cuts[:3])
    rest = f"; and {len(cuts) - 3} more" if len(cuts) > 3 else ""
    log.warning("state message: cut what does not fit: %s%s%s (limits in edge/mqtt/message_bounds.py)", shown, rest,
                f" ({more} more messages cut since the last report)" if more else "")
