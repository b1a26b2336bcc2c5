"""What every detector plug-in shares: the face (a box with a score), the interface, and colour/grey
helpers.

A detector takes a frame as delivered by the source — 2-D grey, or HxWx3 BGR colour (OpenCV's
order) — and returns :class:`Face` boxes in that frame's pixel coordinates. Colour matters: BlazeFace
was trained on RGB and finds far fewer faces in a grey plane copied to three channels.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import cv2
import numpy as np

from ..geometry import Box
from ..sources.base import to_gray  # noqa: F401 - re-exported: the plug-ins' grey from a source's frame
from ..track import Tracking

if TYPE_CHECKING:
    from .config import DetectorConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Face(Box):
    """A face's box (``x``, ``y``, ``w``, ``h`` and the geometry of :class:`edge.geometry.Box`) and
    how sure the detector is of it."""

    #: detector confidence in [0, 1] (1.0 for detectors that have none)
    score: float = 1.0


@dataclass
class NoOptions:
    """A detector without options of its own (it reads only the common [detector] keys)."""


class Detector(ABC):
    """A plug-in: a ``key`` (the ``detector.kind`` that selects it), an ``Options`` dataclass (its
    own ``[detector.<key>]`` table in the config) and one method to implement, :meth:`detect`."""

    key: ClassVar[str] = "detector"
    Options: ClassVar[type] = NoOptions
    #: one line for --help and the README
    summary: ClassVar[str] = ""
    #: tracking's window shows a known face this wide (pixels): what the plug-in finds best
    track_face_px: ClassVar[int] = 64
    name: str = "detector"

    @abstractmethod
    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces in a uint8 frame (2-D grey or HxWx3 BGR), largest first, in its coordinates."""

    def reliable_min_px(self, frame_w: int) -> float:
        """The narrowest face, in pixels of a ``frame_w``-wide input, that this detector finds in
        nearly every frame (measured by ``mood-edge bench --distance``; docs/detectors.md)."""
        return 0.2 * frame_w

    def tracking(self, cfg: "DetectorConfig") -> Tracking:
        """How ``detector.track`` follows the faces this plug-in finds (:mod:`edge.track`): by default
        the plug-in itself on a window around each face, and the whole frame every ``full_every``
        frames. A plug-in with a cheaper way to refine a face, or its own schedule, says so here."""
        return Tracking(full_every=cfg.full_every, face_px=self.track_face_px)

    @classmethod
    def options_from(cls, cfg: "DetectorConfig | None") -> Any:
        """This plug-in's options from the config's ``[detector.<key>]`` table (defaults if none)."""
        options = getattr(cfg, "options", None) or {}
        found = options.get(cls.key)
        return found if isinstance(found, cls.Options) else cls.Options()


def check_frame(image: np.ndarray) -> None:
    if (not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.size == 0
            or not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4)))):
        raise ValueError(f"expected a non-empty uint8 grey or BGR frame, got "
                         f"{getattr(image, 'dtype', None)} {getattr(image, 'shape', None)}")


def downscale(image: np.ndarray, width: int) -> tuple[np.ndarray, float]:
    h, w = image.shape[:2]
    if w <= width:
        return image, 1.0
    scale = width / w
    small = cv2.resize(image, (width, max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return small, scale
