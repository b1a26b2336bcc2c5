"""The one error type users see.

Every user mistake (a bad config, catalog, model file, image or camera source) is raised as a
:class:`MoodEdgeError` that names *where* (file), *what* (field) and *what was expected*. The CLI
prints it as one line and exits non-zero; it never shows a traceback for these.
"""

from __future__ import annotations

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


class DataError(MoodEdgeError):
    """Training/evaluation data (FER-2013 csv or folders, images) is malformed."""


def read_user_text(path: str | Path, error: type[MoodEdgeError], expected: str) -> str:
    """The UTF-8 text of a file the user gave us, or ``error`` saying plainly what is wrong with it."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise error("no such file", path=p, expected=expected) from None
    except OSError as exc:
        raise error(f"cannot read it: {exc.strerror or exc}", path=p) from None
    except ValueError:  # a NUL in the name: no OS can open it
        raise error("not a valid file name (it contains a NUL character)", path=ascii(str(p)),
                    expected=expected) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise error("is not UTF-8 text", path=p, expected=expected) from None
