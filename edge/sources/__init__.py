"""The source stage and its plug-in registry: frames from the Pi camera, a V4L2 camera, a video file
or a folder of images, all behind one :class:`~edge.sources.base.Source` interface (``base``).

``camera.source`` is ``<key>`` or ``<key>:<argument>``; the config's check of it, its doc in
config.example.toml, the ``--camera`` help of every command and :func:`open_source` all read this
one table. To add a source: write ``edge/sources/<name>.py`` with a ``Source`` subclass
(``from_config``, ``_open``, ``_read``, ``_close``) and add its line here: where it is, its
argument's type, the examples and the one line the help shows. Plug-ins are imported only when a
source is opened, so the config checks ``camera.source`` without numpy or OpenCV (``mood-edge
bridge`` runs on the system Python). :class:`~edge.sources.watch.CameraWatch` reopens a lost camera
with backoff.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .. import plugins
from ..errors import SourceError
from ..fields import NAME_MAX_BYTES, path_ok

if TYPE_CHECKING:
    import numpy as np

    from .base import Source
    from .config import CameraConfig


class Argument:
    """What follows ``<key>:`` in ``camera.source``: its name in help (``N``, ``PATH``), its test, and
    what the config's error adds about it. Plain classes here: see :class:`edge.fields.Rule`."""

    __slots__ = ("name", "test", "note")

    def __init__(self, name: str, test: Callable[[str], bool], note: str = "") -> None:
        self.name, self.test, self.note = name, test, note


#: a V4L2 device: its number or its /dev path
DEVICE = Argument("N", lambda v: "\0" not in v)
#: a file or folder (a relative one is relative to the config file)
PATH = Argument("PATH", path_ok, f"a PATH with no NUL character, no name over {NAME_MAX_BYTES} bytes")


class SourceKind:
    """One line of the table: the plug-in ("module:Class"), its argument (None: nothing may follow
    the key), and the ``camera.source`` examples and summary that --help and config.example.toml show."""

    __slots__ = ("where", "argument", "examples", "summary")

    def __init__(self, where: str, argument: Argument | None, examples: tuple[str, ...], summary: str) -> None:
        self.where, self.argument, self.examples, self.summary = where, argument, examples, summary


#: key -> its plug-in, in the order the help lists them
SOURCES: dict[str, SourceKind] = {
    "picamera2": SourceKind("edge.sources.pi_camera:Picamera2Source", None, ('"picamera2"',),
                            "the Raspberry Pi camera (libcamera; apt package python3-picamera2)"),
    "v4l2": SourceKind("edge.sources.opencv:VideoCaptureSource", DEVICE, ('"v4l2:0"', '"v4l2:/dev/video0"'),
                       "a USB webcam"),
    "file": SourceKind("edge.sources.opencv:VideoFileSource", PATH, ('"file:/path/clip.mp4"',),
                       "a video file (demos, tests)"),
    "dir": SourceKind("edge.sources.opencv:ImageFolderSource", PATH, ('"dir:/path/folder"',),
                      "every image in a folder, in name order (tests)"),
}


def kinds() -> tuple[str, ...]:
    return tuple(SOURCES)


def source_class(key: str) -> "type[Source]":
    """The plug-in class for ``key`` (imported now); KeyError if there is none."""
    return plugins.load(SOURCES[key].where)


def _parse(spec: str) -> tuple[str, str] | None:
    """``(key, argument)`` of a ``camera.source`` value the table accepts; None otherwise."""
    key, colon, argument = spec.partition(":")
    kind = SOURCES.get(key)
    if kind is None:
        return None
    if kind.argument is None:
        return (key, "") if not colon else None
    return (key, argument) if argument and kind.argument.test(argument) else None


def source_ok(spec: str) -> bool:
    """Whether ``camera.source`` names a source this table knows, with a fitting argument."""
    return _parse(spec) is not None


def _form(key: str) -> str:
    argument = SOURCES[key].argument
    return f'"{key}:{argument.name}"' if argument else f'"{key}"'


def choices() -> str:
    """The --camera help of every command: ``"picamera2", "v4l2:N", "file:PATH" or "dir:PATH"``."""
    forms = [_form(k) for k in SOURCES]
    return ", ".join(forms[:-1]) + " or " + forms[-1] if len(forms) > 1 else "".join(forms)


def expected() -> str:
    """What ``camera.source`` may be, as the config's error says it."""
    notes = dict.fromkeys(k.argument.note for k in SOURCES.values() if k.argument and k.argument.note)
    return choices() + "".join(f" ({n})" for n in notes)


def doc() -> str:
    """camera.source's doc in config.example.toml: one line per source."""
    lines = [f"  {' or '.join(k.examples):<34}{k.summary}" for k in SOURCES.values()]
    return "\nWhere frames come from:\n" + "\n".join(lines) + "\n"


def with_base(spec: str, base: Path) -> str:
    """``spec`` with a relative PATH argument taken relative to ``base`` (the config file's folder)."""
    parsed = _parse(spec)
    if parsed is None or SOURCES[parsed[0]].argument is not PATH or Path(parsed[1]).is_absolute():
        return spec
    return f"{parsed[0]}:{base / parsed[1]}"


def open_source(cfg: "CameraConfig") -> "Source":
    """Build (but do not open) the source the config names."""
    from .base import valid_region  # noqa: PLC0415 - numpy and OpenCV only once a source is opened

    parsed = _parse(cfg.source)
    if parsed is None:
        raise SourceError(f"unknown source {cfg.source!r}", field="camera.source", expected=choices())
    cls = source_class(parsed[0])
    source = cls.from_config(parsed[1], cfg)
    if not cls.crops_itself:
        source.region = valid_region(cfg.region)  # no sensor crop here: a software crop of every frame
    return source


def first_frames(cfg: "CameraConfig", n: int) -> "list[np.ndarray]":
    """The grey pictures of the first ``n`` frames of the source the config names (benchmarks)."""
    source = open_source(cfg)
    frames = []
    try:
        source.open()
        while len(frames) < n and (frame := source.read()) is not None:
            frames.append(frame.gray)
    finally:
        source.close()
    return frames
