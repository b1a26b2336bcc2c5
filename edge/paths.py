"""Where the shipped assets (models/, catalog.json, samples/) live, and the daemon's own state.

In a source checkout or editable install they sit at the repository root; in a regular install
setup.py places them under ``<prefix>/share/mood-edge``. ``MOOD_EDGE_DATA`` overrides both.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)


def data_root() -> Path:
    env = os.environ.get("MOOD_EDGE_DATA")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parent.parent
    try:
        if (repo / "models").is_dir():
            return repo
    except OSError:  # a checkout this user may not look into (a 0700 clone, mood-edge watch as a display user)
        pass
    return Path(sys.prefix) / "share" / "mood-edge"


def models_dir() -> Path:
    return data_root() / "models"


def default_model() -> Path:
    return models_dir() / "mood_xception_ferplus_int8.tflite"


def default_catalog() -> Path:
    return data_root() / "catalog.json"


def sample_clip() -> Path:
    return data_root() / "samples" / "living-room.mp4"


def writable_state_dir(path: str | Path) -> Path | None:
    """``daemon.state_dir``, created if need be; None when it cannot be written, so the daemon still
    runs (read-only image, wrong owner) and keeps what it would store there in memory."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.warning("state directory %s is not writable (%s): the recommendation history and the MQTT "
                    "client id are kept in memory only", path, exc.strerror)
        return None
    return path
