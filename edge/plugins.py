"""Plug-in tables: a key -> ``"module:Name"``, imported only when asked for.

The detectors and the sources each keep one such table (``DETECTORS``, ``SOURCES``); a table names
its plug-ins without importing them, so the config can check a key without loading any model.
"""

from __future__ import annotations

import importlib
from typing import Any


def load(target: str) -> Any:
    """The class (or object) ``"module:Name"`` names, imported now."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)
