"""What a model card may say about where it came from: file names and sha256, never a machine's paths.

A card travels with the model to every Pi; the training host's folders (``/home/me/data/...``) say nothing
useful there and tell more than they should. Inputs are recorded by name and content hash instead, which
is also what lets someone check they have the same data.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from edge.classify.modelcard import sha256_of

_ABSOLUTE = re.compile(r"^(/|~|[A-Za-z]:[\\/]|\\\\)")


def input_file(path: Path | str) -> dict[str, str]:
    """``{"file": name, "sha256": ...}`` of a data file the model was made from."""
    p = Path(path)
    return {"file": p.name, "sha256": sha256_of(p)}


def _name(text: str) -> str:
    if "\\" in text and not text.startswith("/"):
        return PureWindowsPath(text).name
    return PurePosixPath(text).name


def _portable_words(command: str) -> str:
    try:
        words = shlex.split(command)
    except ValueError:
        return command
    return shlex.join(_name(w) if _ABSOLUTE.match(w) else w for w in words)


def portable(obj: Any) -> Any:
    """``obj`` with every absolute path (alone, or a word of a command line) cut to its file name."""
    if isinstance(obj, dict):
        return {k: portable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(portable(v) for v in obj)
    if isinstance(obj, str):
        if _ABSOLUTE.match(obj) and "\n" not in obj:
            return _name(obj) if " " not in obj.strip() else _portable_words(obj)
        if " /" in obj:
            return _portable_words(obj)
    return obj
