"""What the face detector is handed, bounded: a room's picture, not any array a source produces.

The detector's memory is bounded by its tiles (edge/detectors/tiles.py), but its work grows with the
pixels, and a picture 10 times taller than wide is no room. So every frame a source delivers is
checked once here:

- wider or taller than ``MAX_ASPECT`` to 1 (a 640x6400 clip, a lores stream set to 800x8192): refused,
  one line naming the source, the size and what is expected (:class:`FrameSizeError`);
- more than ``MAX_DETECT_PIXELS`` (a 4K clip, a portrait 1080x1920 phone clip): the detector reads it
  shrunk to that many pixels, logged once; the classifier still crops the full-size grey picture.
"""

from __future__ import annotations

import logging
import math

import cv2
import numpy as np

from ..errors import MoodEdgeError

log = logging.getLogger(__name__)

#: the longer side may be at most this many times the shorter (16:9 is 1.8; a portrait phone 0.56)
MAX_ASPECT = 3.0
#: the detector reads at most this many pixels (1280x960: the Pi camera's main stream)
MAX_DETECT_PIXELS = 1280 * 960


class FrameSizeError(MoodEdgeError):
    """The source delivers frames no room gives (refused: the daemon stops with this one line)."""


def check_aspect(width: int, height: int, where: str) -> None:
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise FrameSizeError(f"frames are {width}x{height}", path=where,
                             expected=f"a room's picture, at most {MAX_ASPECT:g} times wider than tall or "
                                      "taller than wide")


def detect_size(width: int, height: int) -> tuple[int, int]:
    """The size the detector reads a width x height picture at (itself when small enough)."""
    if width * height <= MAX_DETECT_PIXELS:
        return width, height
    s = math.sqrt(MAX_DETECT_PIXELS / (width * height))
    return max(1, int(width * s)), max(1, int(height * s))


class DetectBounds:
    """Per source: checks each frame, shrinks the detector's picture where needed, says so once."""

    def __init__(self) -> None:
        self._said: tuple[int, int] | None = None

    def __call__(self, image: np.ndarray, where: str) -> np.ndarray:
        h, w = image.shape[:2]
        check_aspect(w, h, where)
        size = detect_size(w, h)
        if size == (w, h):
            return image
        if self._said != (w, h):
            self._said = (w, h)
            log.info("%s: %dx%d frames are read by the face detector at %dx%d (at most %d pixels)",
                     where, w, h, *size, MAX_DETECT_PIXELS)
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
