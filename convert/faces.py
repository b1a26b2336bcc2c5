"""Real face crops available offline, cut exactly the way the daemon cuts them.

The daemon (see ``edge/classify/modelcard.py``) grows the detector's box by ``crop_margin`` x its size on every
side, clamps it to the frame, resizes it to the model's input size and scales the pixels. Calibration
and fidelity checks must see the same crops, so :func:`crop_face` implements that rule once here.

Offline faces: scikit-image's ``astronaut()`` (public domain; one smiling face, found with the daemon's
own Haar detector) and the first 100 images of ``lfw_subset()`` (25x25 LFW face crops). Nothing is
downloaded; these ship inside the scikit-image wheel.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from edge.errors import DataError
from edge.geometry import Box

log = logging.getLogger(__name__)

INTERPOLATION = {"area": cv2.INTER_AREA, "linear": cv2.INTER_LINEAR, "nearest": cv2.INTER_NEAREST,
                 "cubic": cv2.INTER_CUBIC}
LFW_FACES = 100


@dataclass(frozen=True)
class FaceImage:
    """A grayscale picture and one face box in it (x, y, w, h)."""

    name: str
    gray: np.ndarray
    box: tuple[int, int, int, int]


def crop_face(gray: np.ndarray, box: tuple[int, int, int, int], margin: float, size: int,
              interpolation: str = "area") -> np.ndarray:
    """The daemon's crop (:meth:`edge.geometry.Box.grown`, clamped), resized to ``size`` x ``size`` (uint8)."""
    grown = Box(*box).grown(margin).clipped(gray.shape[1], gray.shape[0])
    x0, y0, x1, y1 = grown.x, grown.y, grown.x1, grown.y1
    if x1 <= x0 or y1 <= y0:
        raise DataError(f"face box {box} lies outside the {gray.shape[1]}x{gray.shape[0]} image",
                        expected="a box that overlaps the image")
    return cv2.resize(gray[y0:y1, x0:x1], (size, size), interpolation=INTERPOLATION[interpolation])


def astronaut_face() -> FaceImage:
    """skimage's astronaut (Eileen Collins, public domain) and the largest face Haar finds in it."""
    from skimage import data  # noqa: PLC0415 - test/training dependency

    from edge.config import DetectorConfig  # noqa: PLC0415
    from edge.detectors.haar import HaarDetector  # noqa: PLC0415

    gray = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)
    faces = HaarDetector(DetectorConfig()).detect(gray)
    if not faces:
        raise DataError("OpenCV's Haar cascade found no face in skimage.data.astronaut()",
                        expected="opencv-python-headless>=4.10,<5")
    f = faces[0]
    return FaceImage("astronaut", gray, (f.x, f.y, f.w, f.h))


def lfw_faces(first: int = 0, last: int = LFW_FACES) -> list[FaceImage]:
    """LFW faces ``first``..``last-1`` of skimage's ``lfw_subset()`` (25x25 crops: the box is the image)."""
    from skimage import data  # noqa: PLC0415

    images = data.lfw_subset()[first:last]
    out = []
    for i, img in enumerate(images, start=first):
        gray = np.clip(np.asarray(img) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        out.append(FaceImage(f"lfw_subset[{i}]", gray, (0, 0, gray.shape[1], gray.shape[0])))
    return out


def offline_faces() -> list[FaceImage]:
    """Every real face we have offline: the astronaut and the 100 LFW faces."""
    return [astronaut_face(), *lfw_faces()]
