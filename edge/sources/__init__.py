"""The source stage and its plug-in registry: frames from the Pi camera, a V4L2 camera, a video file
or a folder of images, all behind one :class:`Source` interface (``base``).

``camera.source`` is ``<key>`` or ``<key>:<argument>``; the config's check of it, its doc in
config.example.toml, the ``--camera`` help of every command and :func:`open_source` all read this
one table. To add a source: write ``edge/sources/<name>.py`` with a :class:`Source` subclass (a
``key``, its ``argument``, ``examples`` and ``summary`` for the help, ``from_config``, and
``_open``/``_read``/``_close``) and add one line here. :class:`CameraWatch` (``watch``) reopens a
lost camera with backoff.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .. import plugins
from ..errors import SourceError
from .base import Frame, Source, crop_region, region_pixels, scaler_crop, to_gray, valid_region  # noqa: F401
from .opencv import IMAGE_SUFFIXES, ImageFolderSource, VideoCaptureSource, load_gray, load_image  # noqa: F401
from .pi_camera import Picamera2Source, yuv420_gray, yuv420_to_bgr  # noqa: F401
from .watch import CameraWatch  # noqa: F401

if TYPE_CHECKING:
    from .config import CameraConfig

#: key -> "module:Class", in the order the help lists them
SOURCES: dict[str, str] = {
    "picamera2": "edge.sources.pi_camera:Picamera2Source",
    "v4l2": "edge.sources.opencv:VideoCaptureSource",
    "file": "edge.sources.opencv:VideoFileSource",
    "dir": "edge.sources.opencv:ImageFolderSource",
}


def kinds() -> tuple[str, ...]:
    return tuple(SOURCES)


def source_class(key: str) -> type[Source]:
    """The plug-in class for ``key``; KeyError if there is none."""
    return plugins.load(SOURCES, key)


def _parse(spec: str) -> tuple[type[Source], str] | None:
    key, colon, argument = spec.partition(":")
    if key not in SOURCES:
        return None
    cls = source_class(key)
    if cls.argument is None:
        return (cls, "") if not colon else None
    return (cls, argument) if argument and cls.argument.test(argument) else None


def source_ok(spec: str) -> bool:
    """Whether ``camera.source`` names a source this registry knows, with a fitting argument."""
    return _parse(spec) is not None


def _listed(forms: list[str]) -> str:
    quoted = [f'"{f}"' for f in forms]
    return ", ".join(quoted[:-1]) + " or " + quoted[-1] if len(quoted) > 1 else "".join(quoted)


def expected() -> str:
    """What ``camera.source`` may be, as every error says it."""
    classes = [source_class(k) for k in SOURCES]
    notes = dict.fromkeys(c.argument.note for c in classes if c.argument and c.argument.note)
    return _listed([c.form() for c in classes]) + "".join(f" ({n})" for n in notes)


def choices() -> str:
    """The --camera help of every command: ``"picamera2", "v4l2:N", "file:PATH" or "dir:PATH"``."""
    return _listed([source_class(k).form() for k in SOURCES])


def doc() -> str:
    """camera.source's doc in config.example.toml: one line per source."""
    lines = [f"  {' or '.join(c.examples):<34}{c.summary}" for c in map(source_class, SOURCES)]
    return "\nWhere frames come from:\n" + "\n".join(lines) + "\n"


def with_base(spec: str, base: Path) -> str:
    """``spec`` with a relative PATH argument taken relative to ``base`` (the config file's folder)."""
    parsed = _parse(spec)
    if parsed is None or parsed[0].argument is None or parsed[0].argument.name != "PATH":
        return spec
    cls, argument = parsed
    return spec if Path(argument).is_absolute() else f"{cls.key}:{base / argument}"


def first_frames(cfg: "CameraConfig", n: int) -> list[np.ndarray]:
    """The grey pictures of the first ``n`` frames of the source the config names (benchmarks)."""
    source = open_source(cfg)
    frames: list[np.ndarray] = []
    try:
        source.open()
        while len(frames) < n and (frame := source.read()) is not None:
            frames.append(frame.gray)
    finally:
        source.close()
    return frames


def open_source(cfg: "CameraConfig") -> Source:
    """Build (but do not open) the source the config names."""
    parsed = _parse(cfg.source)
    if parsed is None:
        raise SourceError(f"unknown source {cfg.source!r}", field="camera.source", expected=choices())
    cls, argument = parsed
    source = cls.from_config(argument, cfg)
    if not cls.crops_itself:
        source.region = valid_region(cfg.region)  # no sensor crop here: a software crop of every frame
    return source
