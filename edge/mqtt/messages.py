"""The MQTT contract: topics and the versioned JSON messages displays rely on, both ways.

The daemon encodes a :class:`StateMessage`; a display (``watch``, the demo) decodes what arrives
with :func:`parse_message` into a :class:`ReceivedState`, :class:`Availability` or
:class:`BadPayload`. The two state types differ on purpose: one is what we built and trust, the
other is untrusted input, possibly partial, with its text made safe for a terminal.

Documented in docs/mqtt.md and as JSON Schema in docs/state.schema.json.
Bump :data:`SCHEMA` on any incompatible change; adding optional fields keeps it.
Nothing here can carry pixels: every field is a label, a number, a timestamp or catalog text.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field, fields
from typing import Any

from edge.mqtt.feedback import KEY as FILM_KEY
from edge.mqtt.message_bounds import MAX_STATE_BYTES, bound_state  # noqa: F401 - re-exported
from edge.textsafe import clean

SCHEMA = 1
ONLINE, OFFLINE = "online", "offline"


def state_topic(prefix: str, device_id: str) -> str:
    return f"{prefix}/{device_id}/state"


def availability_topic(prefix: str, device_id: str) -> str:
    return f"{prefix}/{device_id}/availability"


#: mosquitto's notifications go to ``<prefix><BRIDGE_SUFFIX>/<device-id>`` (the house ACL lets a
#: room's bridge user write only its own)
BRIDGE_SUFFIX = "-bridge"
#: what mosquitto publishes on it (edge/mqtt/bridge.py)
LINK_UP, LINK_DOWN = "1", "0"


def bridge_topic(prefix: str, device_id: str) -> str:
    """Where the bridge's state (``1`` up, ``0`` down) is published: ``<prefix>-bridge/<id>``."""
    return f"{prefix}{BRIDGE_SUFFIX}/{device_id}"


def bridge_device(prefix: str, topic: str) -> str | None:
    """The device a bridge-state topic is about (None: not one)."""
    head = f"{prefix}{BRIDGE_SUFFIX}/"
    rest = topic[len(head):] if topic.startswith(head) else ""
    return rest if rest and "/" not in rest and rest.isprintable() else None


def parse_topic(prefix: str, topic: str) -> tuple[str, str] | None:
    """``(device, kind)`` for ``<prefix>/<device>/<kind>``; None for any other topic."""
    if not topic.startswith(prefix + "/"):
        return None
    parts = topic[len(prefix) + 1:].split("/")
    return (parts[0], parts[1]) if len(parts) == 2 else None


def iso_utc(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


@dataclass
class StateMessage:
    device: str
    mood: str
    confidence: float
    probabilities: dict[str, float]
    faces: int
    since: float
    recommendations: list[dict[str, Any]]
    labels: str = "fer7"
    strategy: str = "lift"
    model: dict[str, str] = field(default_factory=dict)
    camera: str = "ok"
    updated: float = field(default_factory=time.time)
    #: the room (daemon.area) displays name the device by; "" = show its id
    area: str = ""

    def to_dict(self) -> dict[str, Any]:
        # shallow on purpose: a deep asdict() of the picks cost ~0.3 ms per frame
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["since"] = iso_utc(self.since)
        data["updated"] = iso_utc(self.updated)
        return {"schema": SCHEMA, **data}

    def to_json(self) -> str:
        """Compact JSON, every field and the whole bounded (edge.mqtt.message_bounds: what is cut is logged)."""
        return bound_state(self.to_dict())

    def same_content(self, other: "StateMessage | None") -> bool:
        """Equal apart from the timestamp of the update (decides whether to publish now)."""
        return other is not None and all(getattr(self, f.name) == getattr(other, f.name) for f in fields(self)
                                         if f.name not in _VOLATILE)


_VOLATILE = {"updated", "probabilities", "confidence"}




# -- decoding: what a display makes of a message --------------------------------------------------
@dataclass
class Film:
    title: str
    year: int | None = None
    genres: list[str] = field(default_factory=list)
    runtime: int | None = None
    rating: str = ""
    reasons: list[str] = field(default_factory=list)
    #: the household owns it (a film from recommend.library); older daemons never say so
    owned: bool = False
    #: the film's key, what a vote names (edge.mqtt.feedback); "" from daemons before votes
    key: str = ""

    def label(self) -> str:
        return f"{self.title} ({self.year})" if self.year else self.title

    def details(self) -> str:
        parts = []
        if self.genres:
            parts.append(", ".join(self.genres))
        if self.runtime:
            parts.append(f"{self.runtime} min")
        if self.rating:
            parts.append(self.rating)
        return " · ".join(parts)


@dataclass
class ReceivedState:
    """A state message as a display needs it: fields that were missing or wrong are None/empty,
    with a warning each."""

    device: str
    mood: str
    confidence: float | None = None
    faces: int | None = None
    films: list[Film] = field(default_factory=list)
    camera: str = ""
    since: str = ""
    updated: str = ""
    strategy: str = ""
    warnings: list[str] = field(default_factory=list)
    #: the room it is in (daemon.area), "" when the daemon does not say
    area: str = ""

    @property
    def name(self) -> str:
        """What a display calls the device: its room, else its id."""
        return self.area or self.device


@dataclass
class Availability:
    device: str
    online: bool
    #: from the room's bridge to the house broker (<prefix>-bridge/<device>), not from its daemon
    bridge: bool = False


@dataclass
class BadPayload:
    """A message that cannot be shown, and why (reported as a warning)."""

    device: str
    text: str


Event = ReceivedState | Availability | BadPayload


#: the ranges a value can have in a real state message; outside them it is not shown
_RANGES = {"confidence": (0.0, 1.0), "faces": (0, 1000)}


def _shown_number(value: Any) -> str:
    """A number for a warning: bounded, whatever its size (str() of a 5000-digit int raises)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** 12:
        return f"a {'-' if value < 0 else ''}{value.bit_length()}-bit integer"
    return clean(repr(value) if isinstance(value, float) else value, 40)


def _number(data: dict, key: str, kind: type, warnings: list[str]) -> Any:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(value, float) and not math.isfinite(value)) or (
            kind is int and isinstance(value, float) and not value.is_integer()):
        warnings.append(f"{key} is {_shown_number(value)!r}, not a number")
        return None
    low, high = _RANGES.get(key, (-1e12, 1e12))
    if not low <= value <= high:
        warnings.append(f"{key} is {_shown_number(value)}, outside {low}..{high}")
        return None
    return kind(value)


def _int_in(value: Any, low: int, high: int) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high else None


def _film(item: Any) -> Film | None:
    if not isinstance(item, dict) or not isinstance(item.get("title"), str) or not item["title"].strip():
        return None
    year = item.get("year")
    runtime = item.get("runtime")
    genres = item.get("genres")
    reasons = item.get("reasons")
    key = item.get("key")
    return Film(
        title=clean(item["title"], 120),
        year=_int_in(year, 1870, 2200),
        genres=[clean(g, 30) for g in genres if isinstance(g, str)][:6] if isinstance(genres, list) else [],
        runtime=_int_in(runtime, 1, 10_000),
        rating=clean(item.get("rating") or "", 10) if isinstance(item.get("rating"), str) else "",
        reasons=[clean(r, 160) for r in reasons if isinstance(r, str)][:4] if isinstance(reasons, list) else [],
        owned=item.get("owned") is True,
        key=key if isinstance(key, str) and FILM_KEY.fullmatch(key) else "",
    )


def parse_state(device: str, payload: bytes) -> ReceivedState | BadPayload:
    """A state message as the display needs it, or a warning saying why it cannot be shown."""
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return BadPayload(device, f"state is not JSON: {clean(payload[:60].decode('utf-8', 'replace'), 60)!r}")
    if not isinstance(data, dict):
        return BadPayload(device, f"state is a JSON {type(data).__name__}, not an object")
    mood = data.get("mood")
    if not isinstance(mood, str) or not clean(mood):
        return BadPayload(device, "state has no \"mood\" string")
    warnings: list[str] = []
    if data.get("schema") != SCHEMA:
        warnings.append(f"schema {clean(data.get('schema'), 20)!r} (this viewer knows schema {SCHEMA})")
    confidence = _number(data, "confidence", float, warnings)
    faces = _number(data, "faces", int, warnings)
    recs = data.get("recommendations", [])
    films: list[Film] = []
    if isinstance(recs, list):
        films = [f for f in (_film(r) for r in recs[:20]) if f is not None]
        if len(films) < min(len(recs), 20):
            warnings.append(f"{min(len(recs), 20) - len(films)} recommendation(s) without a title skipped")
    else:
        warnings.append("recommendations is not a list")

    def text(key: str, limit: int = 40) -> str:
        v = data.get(key)
        return clean(v, limit) if isinstance(v, str) else ""

    return ReceivedState(device=device, mood=clean(mood, 40), confidence=confidence, faces=faces, films=films,
                 camera=text("camera", 10), since=text("since"), updated=text("updated"),
                 strategy=text("strategy", 10), warnings=warnings, area=text("area", 64))


def parse_message(prefix: str, topic: str, payload: bytes) -> Event | None:
    """Turn one MQTT message into an event; ``None`` for topics and payloads that mean nothing here."""
    linked = bridge_device(prefix, topic)
    if linked is not None:  # a room's link to the house broker: "1" up, "0" down
        text = payload.strip()
        return Availability(clean(linked, 64), text == LINK_UP.encode(), bridge=True) if text in (b"0", b"1") else None
    where = parse_topic(prefix, topic)
    if where is None:
        return None
    device, kind = clean(where[0], 64), where[1]
    if kind == "availability":
        text = payload.decode("utf-8", "replace").strip()
        if text in (ONLINE, OFFLINE):
            return Availability(device, text == ONLINE)
        if not text:  # retained availability cleared: nothing to show
            return None
        return BadPayload(device, f"availability is {clean(text, 40)!r}, not online/offline")
    if kind == "state":
        if not payload:  # retained state cleared
            return None
        return parse_state(device, payload)
    return None


