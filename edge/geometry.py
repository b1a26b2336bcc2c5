"""Pixel geometry shared by the detectors, the tracker, the classifier and the benchmarks.

:class:`Box` is the one x, y, w, h rectangle of the code base (a face is a box with a score, a
tracking window a box with a scale), with the few operations they all need: area, overlap, growing
by a margin (a fraction of the size, or whole pixels), clamping to a frame, scaling and moving.
Coordinates are whole pixels; an operation rounds once, at the end.

:func:`face_px` and :func:`distance_m` convert between a face's distance from the camera and its
width in pixels (used by ``mood-edge check`` and the distance benchmark).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TypeVar

B = TypeVar("B", bound="Box")

#: a face is about this wide (m)
FACE_WIDTH_M = 0.15


@dataclass(frozen=True)
class Box:
    """A rectangle in a frame's pixels: left ``x``, top ``y``, width ``w``, height ``h``.

    Subclasses add fields (:class:`edge.detectors.base.Face` its score); every operation returns
    the same class with those fields kept."""

    x: int
    y: int
    w: int
    h: int

    @property
    def x1(self) -> int:
        """The column just right of the box."""
        return self.x + self.w

    @property
    def y1(self) -> int:
        """The row just below the box."""
        return self.y + self.h

    @property
    def area(self) -> int:
        return self.w * self.h

    @property
    def center(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2

    @property
    def xywh(self) -> tuple[int, int, int, int]:
        return self.x, self.y, self.w, self.h

    def iou(self, other: Box) -> float:
        """Intersection over union: 1 for the same box, 0 for boxes that do not touch."""
        ix = max(0, min(self.x1, other.x1) - max(self.x, other.x))
        iy = max(0, min(self.y1, other.y1) - max(self.y, other.y))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def grown(self: B, margin: float) -> B:
        """Grown by ``margin`` x its width (height) on the left and right (top and bottom), edges
        rounded to whole pixels. The classifier's crop is made this way, and so were its training
        crops (``convert/faces.py``): the arithmetic must stay this one."""
        x0, y0 = int(round(self.x - margin * self.w)), int(round(self.y - margin * self.h))
        x1, y1 = int(round(self.x + self.w * (1 + margin))), int(round(self.y + self.h * (1 + margin)))
        return dataclasses.replace(self, x=x0, y=y0, w=x1 - x0, h=y1 - y0)

    def padded(self: B, dx: int, dy: int) -> B:
        """Grown by whole pixels: ``dx`` on the left and right, ``dy`` on the top and bottom (the
        box stays centred, which the tracker's window relies on)."""
        return dataclasses.replace(self, x=self.x - dx, y=self.y - dy, w=self.w + 2 * dx, h=self.h + 2 * dy)

    def clipped(self: B, width: int, height: int) -> B:
        """The part inside a ``width`` x ``height`` frame (empty, w or h 0, when none is)."""
        x0, y0 = max(0, self.x), max(0, self.y)
        x1, y1 = min(width, self.x1), min(height, self.y1)
        return dataclasses.replace(self, x=x0, y=y0, w=max(0, x1 - x0), h=max(0, y1 - y0))

    def scaled(self: B, factor: float) -> B:
        """The same box in a picture ``factor`` times larger (each coordinate rounded)."""
        if factor == 1.0:
            return self
        return dataclasses.replace(self, x=int(round(self.x * factor)), y=int(round(self.y * factor)),
                                   w=int(round(self.w * factor)), h=int(round(self.h * factor)))

    def unscaled(self: B, scale: float) -> B:
        """The inverse of :meth:`scaled`: from a picture resized by ``scale`` back to the original
        (each coordinate divided, then rounded: exact where ``scale`` came from a division)."""
        if scale == 1.0:
            return self
        return dataclasses.replace(self, x=int(round(self.x / scale)), y=int(round(self.y / scale)),
                                   w=int(round(self.w / scale)), h=int(round(self.h / scale)))

    def moved(self: B, dx: int, dy: int) -> B:
        """Shifted by ``(dx, dy)``: from a region's pixels to the frame's."""
        return dataclasses.replace(self, x=self.x + dx, y=self.y + dy)

    @classmethod
    def from_corners(cls: type[B], x0: float, y0: float, x1: float, y1: float, **fields: object) -> B:
        """The box from its top-left and bottom-right corners, each rounded to a whole pixel
        (``fields``: a subclass's own, e.g. a face's score)."""
        left, top = int(round(x0)), int(round(y0))
        return cls(left, top, int(round(x1)) - left, int(round(y1)) - top, **fields)


def face_px(distance_m: float, width_px: int, hfov_deg: float = 62.0) -> float:
    """A face's width in pixels at ``distance_m`` for a ``width_px``-wide capture (HFOV 62 deg:
    Camera Module v2; 66: Module 3; 102: Module 3 Wide)."""
    return FACE_WIDTH_M * width_px / (2 * distance_m * math.tan(math.radians(hfov_deg) / 2))


def distance_m(face_width_px: float, width_px: int, hfov_deg: float = 62.0) -> float:
    """The inverse of :func:`face_px`: how far a face of that width is."""
    return FACE_WIDTH_M * width_px / (2 * max(face_width_px, 1e-6) * math.tan(math.radians(hfov_deg) / 2))
