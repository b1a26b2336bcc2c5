"""OpenCV's frontal-face Haar cascade (ships inside opencv-python-headless, BSD/Intel licence).

Grey only. It scans every scale from ``min_size`` up, so its cost grows with the pixels it is
given: at the default ``detect_width = 320`` a 640-wide frame is halved and faces under 48 px of
the capture are never found; ``detect_width`` = the capture width reaches further at ~4x the cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import ModelError
from .base import Detector, Face, check_frame, downscale, to_gray
from .config import DetectorConfig


@dataclass
class HaarOptions:
    #: the cascade file inside cv2.data.haarcascades
    cascade: str = "haarcascade_frontalface_default.xml"


class HaarDetector(Detector):
    key = "haar"
    Options = HaarOptions
    summary = "OpenCV Haar cascade on grey (common keys: detect_width, min_size, min_neighbors, scale_factor)"
    name = "haar"
    #: the cascade's 24-pixel window: a 64x64 track window is ~15x less work than a 320x240 frame
    track_face_px = 32

    def __init__(self, cfg: "DetectorConfig | None" = None, options: HaarOptions | None = None) -> None:
        self.cfg = cfg or DetectorConfig()
        self.options = options or self.options_from(self.cfg)
        path = cv2.data.haarcascades + self.options.cascade
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise ModelError("cannot load the Haar cascade", path=path,
                             expected="opencv-python-headless>=4.10,<5 (OpenCV 5 ships no cascades)")

    def reliable_min_px(self, frame_w: int) -> float:
        # its window is 24 px and it never reports under min_size of the downscaled frame; measured
        # (conservatively) ~2.5x that for nearly every face: detect_width 320 of 1280: 100% at 160 px,
        # 0% at 80; full width, min_size 16: 100% at 80 px, 56% at 53 px
        scale = min(1.0, self.cfg.detect_width / frame_w)
        return 2.5 * max(self.cfg.min_size, 24) / scale

    def detect(self, image: np.ndarray) -> list[Face]:
        check_frame(image)
        small, scale = downscale(to_gray(image), self.cfg.detect_width)
        boxes = self._cascade.detectMultiScale(
            small, scaleFactor=self.cfg.scale_factor, minNeighbors=self.cfg.min_neighbors,
            minSize=(self.cfg.min_size, self.cfg.min_size))
        faces = [Face(int(x / scale), int(y / scale), int(w / scale), int(h / scale))
                 for (x, y, w, h) in (boxes if len(boxes) else [])]
        faces.sort(key=lambda f: f.area, reverse=True)
        return faces[: self.cfg.max_faces]
