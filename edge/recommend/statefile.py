"""State files in daemon.state_dir: written whole or not at all, read as hostile.

A state file survives power loss because it is written to a temporary file, fsynced, renamed over
the old one, and the folder fsynced. Reading trusts nothing: a symlink, a FIFO, a file past its
bound, text that is not JSON, a number out of range (``1e999``) or another program's or version's
file is *set aside* (renamed to ``<name>.bad``, one clear log line) and the caller starts afresh.
"""

from __future__ import annotations

import json
import logging
import math
import os
import stat
from pathlib import Path
from typing import Any

from ..errors import file_kind
from ..textsafe import clean

log = logging.getLogger(__name__)


class StateFileError(ValueError):
    """What is wrong with a state file's content, in a few words."""


def _no_constant(name: str) -> Any:
    raise StateFileError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise StateFileError(f"number {text[:20]} is out of range")
    return value


def parse_json(raw: bytes) -> Any:
    """JSON with every number finite (no NaN, Infinity or 1e999) and no huge integers."""
    try:
        text = raw.decode("utf-8")
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except UnicodeDecodeError:
        raise StateFileError("not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise StateFileError(f"not JSON (line {exc.lineno} column {exc.colno}: {exc.msg}; truncated?)") from None
    except RecursionError:
        raise StateFileError("nested too deeply") from None
    except ValueError as exc:  # an integer of thousands of digits, or _finite's refusal
        raise StateFileError(clean(exc, 80)) from None


def set_aside(path: Path, what: str, why: str) -> None:
    """Move an unusable state file out of the way (kept once as ``<name>.bad`` for a look)."""
    bad = path.with_name(path.name + ".bad")
    try:
        os.replace(path, bad)
        kept = f"moved to {clean(bad.name, 100)}"
    except OSError as exc:
        kept = f"could not move it ({exc.strerror})"
    log.warning("%s %s is unusable (%s): %s; starting afresh", what, clean(path, 300), clean(why, 200), kept)


def read_state(path: Path, what: str, max_bytes: int) -> Any | None:
    """The parsed JSON of a state file; None when there is none or it was set aside."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("%s %s cannot be read (%s); starting afresh", what, clean(path, 300), exc.strerror)
        return None
    if stat.S_ISLNK(st.st_mode):
        try:
            target = clean(os.readlink(path), 100)
        except OSError:
            target = "?"
        set_aside(path, what, f"a symbolic link to {target}, not a file the daemon wrote")
        return None
    if not stat.S_ISREG(st.st_mode):
        set_aside(path, what, f"{file_kind(st.st_mode)}, not a regular file")
        return None
    if st.st_size > max_bytes:
        set_aside(path, what, f"{st.st_size} bytes, over its bound of {max_bytes}")
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        log.warning("%s %s cannot be read (%s); starting afresh", what, clean(path, 300), exc.strerror)
        return None
    if len(raw) > max_bytes:
        set_aside(path, what, f"grew over its bound of {max_bytes} bytes")
        return None
    try:
        return parse_json(raw)
    except StateFileError as exc:
        set_aside(path, what, str(exc))
        return None


def write_state(path: Path, doc: Any, what: str) -> bool:
    """Replace ``path`` with ``doc`` as JSON atomically (temp, fsync, rename, fsync the folder)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return True
    except (OSError, ValueError) as exc:
        log.warning("cannot write %s %s: %s", what, clean(path, 300), clean(exc, 200))
        try:
            tmp.unlink()
        except OSError:
            pass
        return False


def remove_state(path: Path) -> bool:
    """Erase a state file (``taste forget --all``); True when something was there."""
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False
