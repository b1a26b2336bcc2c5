"""One sample state message for every test, made by the daemon's own encoder (edge.mqtt.messages), so
what displays are tested against is what the daemon really sends."""

from __future__ import annotations

import calendar
import json
from typing import Any

from edge.mqtt.messages import StateMessage

#: 2026-11-22T10:00:00Z, when the sample mood started; the sample was sent 7 s later
SINCE = float(calendar.timegm((2026, 11, 22, 10, 0, 0)))
UPDATED = SINCE + 7

#: what the recommender sends for "happy" with the match strategy
FILMS = [
    {"title": "Paddington 2", "year": 2017, "genres": ["comedy", "family"], "runtime": 103, "rating": "PG",
     "family": True, "description": "A bear.", "reasons": ["comedy favoured for happy (match)"]},
    {"title": "Singin' in the Rain", "year": 1952, "genres": ["musical", "romance"], "runtime": 103,
     "rating": "G", "family": True, "description": "Rain.", "reasons": ["musical favoured for happy (match)"]},
    {"title": "The Grand Budapest Hotel", "year": 2014, "genres": ["comedy", "adventure"], "runtime": 99,
     "rating": "R", "family": False, "description": "A hotel.",
     "reasons": ["comedy favoured for happy (match)", "highly rated"]},
    {"title": "Amélie", "year": 2001, "genres": ["comedy", "romance"], "runtime": 122, "rating": "R",
     "family": False, "description": "Paris.", "reasons": ["romance favoured for happy (match)"]},
    {"title": "Toy Story", "year": 1995, "genres": ["animation", "comedy", "family"], "runtime": 81,
     "rating": "G", "family": True, "description": "Toys.", "reasons": ["animation favoured for happy (match)"]},
]
MODEL = {"id": "mini_xception_fer7_int8", "sha256": "ab" * 32}


def state_message(device: str = "livingroom", mood: str = "happy", confidence: float = 0.82, faces: int = 1,
                  recommendations: list[dict[str, Any]] | None = None, **fields: Any) -> StateMessage:
    """The sample state as the daemon builds it; any field can be changed."""
    values: dict[str, Any] = {
        "probabilities": {mood: confidence}, "since": SINCE, "updated": UPDATED, "labels": "fer7",
        "strategy": "match", "model": MODEL, "camera": "ok", **fields}
    return StateMessage(device=device, mood=mood, confidence=confidence, faces=faces,
                        recommendations=FILMS if recommendations is None else recommendations, **values)


def state(device: str = "livingroom", mood: Any = "happy", confidence: Any = 0.82, faces: Any = 1,
          **changes: Any) -> str:
    """The sample state as displays receive it (the daemon's JSON), with any field set to any
    value: wrong types and unknown keys included, since a display must cope with whatever arrives."""
    data = {**state_message(device).to_dict(), "mood": mood, "confidence": confidence,
            "probabilities": {str(mood): confidence}, "faces": faces, **changes}
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
