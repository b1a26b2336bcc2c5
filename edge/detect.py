"""Face detection: one interface, several detectors.

A detector takes a grayscale frame and returns :class:`Face` boxes in that frame's pixel
coordinates. It is free to downscale internally (the Haar default detects on a frame at most
``detect_width`` wide) but always answers in full-frame coordinates.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass

import cv2
import numpy as np

from .config import DetectorConfig
from .errors import ModelError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Face:
    x: int
    y: int
    w: int
    h: int
    #: detector confidence in [0, 1] (1.0 for detectors that have none)
    score: float = 1.0

    @property
    def area(self) -> int:
        return self.w * self.h


class Detector(ABC):
    """Implement :meth:`detect`; the daemon and the benchmark call nothing else."""

    name: str = "detector"

    @abstractmethod
    def detect(self, gray: np.ndarray) -> list[Face]:
        """Faces in a 2-D uint8 frame, largest first, in that frame's coordinates."""


def _downscale(gray: np.ndarray, width: int) -> tuple[np.ndarray, float]:
    h, w = gray.shape[:2]
    if w <= width:
        return gray, 1.0
    scale = width / w
    small = cv2.resize(gray, (width, max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return small, scale


class HaarDetector(Detector):
    """OpenCV's frontal-face Haar cascade (ships inside opencv-python-headless, BSD/Intel licence)."""

    name = "haar"

    def __init__(self, cfg: DetectorConfig | None = None) -> None:
        self.cfg = cfg or DetectorConfig()
        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise ModelError("cannot load the Haar cascade", path=path,
                             expected="opencv-python-headless>=4.10,<5 (OpenCV 5 ships no cascades)")

    def detect(self, gray: np.ndarray) -> list[Face]:
        small, scale = _downscale(gray, self.cfg.detect_width)
        boxes = self._cascade.detectMultiScale(
            small, scaleFactor=self.cfg.scale_factor, minNeighbors=self.cfg.min_neighbors,
            minSize=(self.cfg.min_size, self.cfg.min_size))
        faces = [Face(int(x / scale), int(y / scale), int(w / scale), int(h / scale))
                 for (x, y, w, h) in (boxes if len(boxes) else [])]
        faces.sort(key=lambda f: f.area, reverse=True)
        return faces[: self.cfg.max_faces]


def make_detector(cfg: DetectorConfig) -> Detector:
    detector: Detector
    if cfg.kind == "haar":
        detector = HaarDetector(cfg)
    elif cfg.kind == "blazeface":
        from .detect_blazeface import BlazeFaceDetector  # noqa: PLC0415 - loads a model file

        detector = BlazeFaceDetector(cfg)
    else:
        raise ModelError(f"unknown detector {cfg.kind!r}", field="detector.kind",
                         expected='"haar" or "blazeface"')
    if cfg.track:
        from .track import TrackingDetector  # noqa: PLC0415

        detector = TrackingDetector(detector, full_every=cfg.full_every,
                                    face_px=32 if cfg.kind == "haar" else 64)
    return detector
