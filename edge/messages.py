"""The MQTT contract: topics and the versioned JSON messages displays rely on.

Documented in README.md ("MQTT topics and messages") and as JSON Schema in docs/state.schema.json.
Bump :data:`SCHEMA` on any incompatible change; adding optional fields keeps it.
Nothing here can carry pixels: every field is a label, a number, a timestamp or catalog text.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, fields
from typing import Any

SCHEMA = 1
ONLINE, OFFLINE = "online", "offline"


def state_topic(prefix: str, device_id: str) -> str:
    return f"{prefix}/{device_id}/state"


def availability_topic(prefix: str, device_id: str) -> str:
    return f"{prefix}/{device_id}/availability"


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

    def to_dict(self) -> dict[str, Any]:
        # shallow on purpose: a deep asdict() of the picks cost ~0.3 ms per frame
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["since"] = iso_utc(self.since)
        data["updated"] = iso_utc(self.updated)
        return {"schema": SCHEMA, **data}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)

    def same_content(self, other: "StateMessage | None") -> bool:
        """Equal apart from the timestamp of the update (decides whether to publish now)."""
        return other is not None and all(getattr(self, f.name) == getattr(other, f.name) for f in fields(self)
                                         if f.name not in _VOLATILE)


_VOLATILE = {"updated", "probabilities", "confidence"}
