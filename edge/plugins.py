"""Plug-in tables: a key -> ``"module:Name"``, imported only when asked for.

The detectors and the sources each keep one such table (``DETECTORS``, ``SOURCES``); a table names
its plug-ins without importing them, so the config can check a key without loading any model.
"""

from __future__ import annotations

import importlib
from typing import Any, Mapping


def load(table: Mapping[str, str], key: str) -> Any:
    """The class (or object) ``table[key]`` names, imported now; KeyError if the key is not there."""
    module, _, name = table[key].partition(":")
    return getattr(importlib.import_module(module), name)
