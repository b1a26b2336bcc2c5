"""The one error type users see.

Every user mistake (a bad config, catalog, model file, image or camera source) is raised as a
:class:`MoodEdgeError` that names *where* (file), *what* (field) and *what was expected*. The CLI
prints it as one line and exits non-zero; it never shows a traceback for these.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class MoodEdgeError(Exception):
    """A problem the user can fix, described in one line."""

    def __init__(self, message: str, *, path: str | Path | None = None, field: str | None = None,
                 expected: str | None = None) -> None:
        self.path = str(path) if path is not None else None
        self.field = field
        self.expected = expected
        self.detail = message
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = self.path or ""
        if self.field:
            where = f"{where}: {self.field}" if where else self.field
        text = f"{where}: {self.detail}" if where else self.detail
        if self.expected:
            text += f" (expected {self.expected})"
        return text


class ConfigError(MoodEdgeError):
    """The TOML config or a command-line override is wrong."""


class CatalogError(MoodEdgeError):
    """catalog.json is missing, malformed or breaks its schema."""


class ModelError(MoodEdgeError):
    """A .tflite model or its model card is missing, corrupt or inconsistent."""


class SourceError(MoodEdgeError):
    """A camera/video/image source cannot be opened or read."""


class BadFrame(SourceError):
    """One frame could not be decoded (a corrupt image in a folder, a file with no decodable frame):
    the source itself is fine, so the frame is skipped and counted, not the camera reopened."""


class DataError(MoodEdgeError):
    """Training/evaluation data (FER-2013 csv or folders, images) is malformed."""


#: what read_user_text accepts unless told otherwise (a config is a few KB)
MAX_USER_FILE_BYTES = 1 << 20


def _size(n: int) -> str:
    return f"{n / (1 << 20):.0f} MiB" if n >= 1 << 20 else f"{n / 1024:.0f} KiB" if n >= 1024 else f"{n} bytes"


def kind_of(path: str | Path, error: type[MoodEdgeError], expected: str, field: str | None = None) -> str | None:
    """``"file"``, ``"folder"`` or ``"other"`` (a FIFO, a device...) at ``path``, following links;
    None when nothing is there. Any other answer of the OS (a name too long, a loop of links, no
    permission to look) is ``error``, one line naming the path and the setting: ``Path.is_file()``
    raises those as OSError, a traceback."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise error(f"cannot use it: {exc.strerror or exc}", path=_short(path), field=field,
                    expected=expected) from None
    except ValueError:  # a NUL in the name
        raise error("not a valid file name (it contains a NUL character)", path=ascii(str(path)), field=field,
                    expected=expected) from None
    return "file" if stat.S_ISREG(mode) else "folder" if stat.S_ISDIR(mode) else "other"


def _short(path: str | Path) -> str:
    """A path for a one-line message: a 4,000-character one is shown by its ends."""
    text = str(path)
    return text if len(text) <= 200 else f"{text[:120]}...{text[-60:]} ({len(text)} characters)"


def file_kind(mode: int) -> str:
    """What a path that is not a regular file is, in words ("a FIFO", "a folder"...), for one-line errors."""
    return ("a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket"
            if stat.S_ISSOCK(mode) else "not a regular file")


def read_user_bytes(path: str | Path, error: type[MoodEdgeError], expected: str,
                    max_bytes: int = MAX_USER_FILE_BYTES, field: str | None = None,
                    unfit: type[MoodEdgeError] | None = None) -> bytes:
    """The bytes of a regular file the user gave us, at most ``max_bytes`` of them.

    Opened without blocking and checked to be a regular file before anything is read: a FIFO
    would hang the daemon forever and /dev/zero or a huge file would read until MemoryError.
    ``unfit`` (default: ``error``) is raised for a file that is there but is no regular file or too
    large, ``error`` for one that cannot be opened.
    """
    unfit = unfit or error
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise error("no such file", path=p, field=field, expected=expected) from None
    except OSError as exc:
        raise error(f"cannot read it: {exc.strerror or exc}", path=_short(p), field=field) from None
    except ValueError:  # a NUL in the name: no OS can open it
        raise error("not a valid file name (it contains a NUL character)", path=ascii(str(p)), field=field,
                    expected=expected) from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise unfit(f"is {file_kind(st.st_mode)}, not a regular file", path=p, field=field, expected=expected)
        if st.st_size > max_bytes:
            raise unfit(f"is {_size(st.st_size)}, too large", path=p, field=field,
                        expected=f"{expected} of at most {_size(max_bytes)}")
        try:
            raw = f.read(max_bytes + 1)  # a file that grows meanwhile is still bounded
        except OSError as exc:
            raise error(f"cannot read it: {exc.strerror or exc}", path=p, field=field) from None
    if len(raw) > max_bytes:
        raise unfit("grew too large while being read", path=p, field=field,
                    expected=f"{expected} of at most {_size(max_bytes)}")
    return raw


def read_user_text(path: str | Path, error: type[MoodEdgeError], expected: str,
                   max_bytes: int = MAX_USER_FILE_BYTES, field: str | None = None) -> str:
    """The UTF-8 text of a file the user gave us, or ``error`` saying plainly what is wrong with it."""
    raw = read_user_bytes(path, error, expected, max_bytes, field)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise error("is not UTF-8 text", path=Path(path), field=field, expected=expected) from None
