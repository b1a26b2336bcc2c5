"""The one interface every frame source implements (:class:`Source`), and what it delivers (:class:`Frame`).

Every frame carries two pictures: ``gray`` (2-D uint8, the classifier's input, crops come from it)
and ``color`` (HxWx3 BGR, what the face detector reads: BlazeFace wants colour). V4L2 devices, files
and folders keep the picture as delivered (``color`` is the frame, ``gray`` its grey copy). The Pi
camera gives both from one request: the main stream (large, YUV420: its Y plane *is* the grey
picture, free) and the lores stream (small, YUV420 converted to BGR: one cheap conversion).
``Frame.detect_scale`` maps boxes found in ``color`` onto ``gray`` when the two sizes differ.

``camera.region`` (where people sit, as fractions of the frame) becomes the sensor crop (libcamera's
``ScalerCrop``: hardware zoom, no CPU) on the Pi camera, and a software crop on every other source.

A source raises :class:`SourceError` when it cannot be opened or dies while reading; the daemon
retries with backoff. ``read()`` returns ``None`` at the end of a finite (non-looping) source.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, TypeVar

import cv2
import numpy as np

from ..errors import SourceError
from ..geometry import Box
from .bounds import DetectBounds

if TYPE_CHECKING:
    from .config import CameraConfig

log = logging.getLogger(__name__)


B = TypeVar("B", bound=Box)


@dataclass
class Frame:
    gray: np.ndarray
    #: time.monotonic() when it was captured
    t: float
    index: int
    #: BGR colour for the detector (None: a grey-only source); may be smaller than ``gray``
    color: np.ndarray | None = None

    @property
    def detect_image(self) -> np.ndarray:
        """What the face detector reads: colour when there is some."""
        return self.color if self.color is not None else self.gray

    @property
    def detect_scale(self) -> float:
        """``gray`` pixels per ``detect_image`` pixel (2.0 for a 1280 main and a 640 lores stream)."""
        return self.gray.shape[1] / self.detect_image.shape[1]

    def in_gray(self, boxes: list[B]) -> list[B]:
        """Boxes found in :attr:`detect_image` in ``gray``'s pixels (where the classifier crops)."""
        scale = self.detect_scale
        return boxes if scale == 1.0 else [b.scaled(scale) for b in boxes]


def valid_region(region: list[float] | tuple[float, ...] | None) -> tuple[float, float, float, float] | None:
    """``[x, y, w, h]`` fractions, or None for the whole frame (also for [] and [0, 0, 1, 1])."""
    if not region:
        return None
    x, y, w, h = (float(v) for v in region)
    if (x, y, w, h) == (0.0, 0.0, 1.0, 1.0):
        return None
    return x, y, w, h


def region_pixels(region: tuple[float, float, float, float], width: int, height: int) -> tuple[int, int, int, int]:
    """Fractions -> (x, y, w, h) in pixels of a width x height picture, at least 1 px, inside it."""
    fx, fy, fw, fh = region
    x0, y0 = min(width - 1, int(round(fx * width))), min(height - 1, int(round(fy * height)))
    x1, y1 = min(width, max(x0 + 1, int(round((fx + fw) * width)))), min(height, max(y0 + 1, int(round((fy + fh) * height))))
    return x0, y0, x1 - x0, y1 - y0


def crop_region(image: np.ndarray, region: tuple[float, float, float, float] | None) -> np.ndarray:
    """The software crop: the region of a picture (a view, no copy)."""
    if region is None:
        return image
    x, y, w, h = region_pixels(region, image.shape[1], image.shape[0])
    return image[y:y + h, x:x + w]


def scaler_crop(region: tuple[float, float, float, float] | None, maximum: tuple[int, int, int, int],
                aspect: float) -> tuple[int, int, int, int]:
    """The region as libcamera's ``ScalerCrop`` (x, y, w, h in sensor pixels, inside ``maximum``,
    the full-field crop). It is widened or heightened about its centre to the output's ``aspect``
    (width / height), so the picture is not stretched; it never leaves ``maximum``."""
    mx, my, mw, mh = maximum
    if region is None:
        x, y, w, h = 0.0, 0.0, float(mw), float(mh)
    else:
        x, y, w, h = region[0] * mw, region[1] * mh, region[2] * mw, region[3] * mh
    cx, cy = x + w / 2, y + h / 2
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    if w > mw:
        w, h = float(mw), mw / aspect
    if h > mh:
        h, w = float(mh), mh * aspect
    x = min(max(cx - w / 2, 0.0), mw - w)
    y = min(max(cy - h / 2, 0.0), mh - h)
    return mx + int(round(x)), my + int(round(y)), int(round(w)), int(round(h))


class Source(ABC):
    """A plug-in (its line in :data:`edge.sources.SOURCES` names it): :meth:`from_config` builds it
    from ``camera.source``'s argument and the [camera] settings. Open, read frames, close: implement
    :meth:`_open`, :meth:`_read` and :meth:`_close`."""

    #: camera.region is its own sensor crop (else :func:`open_source` crops every frame in software)
    crops_itself: ClassVar[bool] = False

    description = "source"
    #: a camera paces itself; a file or folder is paced to camera.fps to behave like one
    live = True
    #: a source that must be there at start (a path given by the user: missing is a mistake, exit 2);
    #: a device that is not there yet is retried instead
    must_exist = False

    def __init__(self) -> None:
        self._index = 0
        self.is_open = False
        #: the software crop applied to every frame (camera.region); None = the whole frame
        self.region: tuple[float, float, float, float] | None = None
        self._bounds = DetectBounds()

    @classmethod
    def from_config(cls, argument: str, camera: "CameraConfig") -> "Source":
        """The source ``<key>:<argument>`` names, with the [camera] settings it takes (not opened)."""
        raise NotImplementedError

    def open(self) -> None:
        self._open()
        self.is_open = True

    def read(self) -> Frame | None:
        if not self.is_open:
            self.open()
        got = self._read()
        if got is None:
            return None
        gray, color = got if isinstance(got, tuple) else (got, None)
        if isinstance(gray, np.ndarray) and gray.ndim == 3 and color is None:
            color = gray if gray.shape[2] == 3 else None
            gray = to_gray(gray) if _usable(gray, 3) else gray
        if not _usable(gray, 2) or (color is not None and not _usable(color, 3)):
            # a driver that hands over an empty or odd buffer: a camera fault, not a crash further down
            bad = gray if not _usable(gray, 2) else color
            shape = getattr(bad, "shape", None)
            raise SourceError(f"returned an unusable frame (shape {shape}, dtype {getattr(bad, 'dtype', None)})",
                              path=self.description, expected="a non-empty uint8 grey or BGR image")
        if self.region is not None:
            gray = crop_region(gray, self.region)
            color = crop_region(color, self.region) if color is not None else None
        picture = self._bounds(color if color is not None else gray, self.description)
        color = picture if picture is not gray else color  # shrunk for the detector where too large
        frame = Frame(gray=gray, t=time.monotonic(), index=self._index, color=color)
        self._index += 1
        return frame

    def close(self) -> None:
        if self.is_open:
            try:
                self._close()
            finally:
                self.is_open = False

    def __enter__(self) -> "Source":
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def _open(self) -> None: ...

    @abstractmethod
    def _read(self) -> np.ndarray | None: ...

    def _close(self) -> None:  # noqa: B027 - optional hook
        pass


def to_gray(image: np.ndarray) -> np.ndarray:
    """Grey from a frame as sources deliver it (grey, BGR or BGRA)."""
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def _usable(image: object, ndim: int) -> bool:
    return (isinstance(image, np.ndarray) and image.ndim == ndim and image.size > 0 and image.dtype == np.uint8
            and (ndim == 2 or image.shape[2] in (3, 4)))
