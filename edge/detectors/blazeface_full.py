"""BlazeFace full-range (MediaPipe, 192x192, one anchor per cell of a 48x48 grid), whole frame
letterboxed: MediaPipe's model for faces up to ~5 m *when they are large enough in its input*.

Letterboxing a 4:3 frame into 192 px wastes a quarter of the input and shrinks a face by
frame_width / 192; a 27 px face at 640 px becomes 8 px, which it rarely finds. ~2.2x the cost
of the short-range model per frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from .base import Detector, Face
from ..track import Tracking
from .blazeface import DEFAULT_THREADS, BlazeFaceNet, BlazeFaceOptions, default_model_path, to_faces, window_tracking
from .config import DetectorConfig

MODEL_FILE = "face_detection_full_range.tflite"
INPUT_SIZE = 192
#: MediaPipe face_detection_full_range_common: one layer, stride 4, one anchor per cell (48x48 = 2304)
STRIDES = (4,)
NUM_ANCHORS = 2304


@dataclass
class BlazeFaceFullOptions:
    #: the model file, relative to models/ (or absolute)
    model: str = MODEL_FILE

    checks: ClassVar[dict] = BlazeFaceOptions.checks


class BlazeFaceFullDetector(Detector):
    key = "blazeface_full"
    Options = BlazeFaceFullOptions
    summary = "BlazeFace full-range, whole frame in 192x192"
    name = "blazeface_full"

    def __init__(self, cfg: "DetectorConfig | None" = None, options: BlazeFaceFullOptions | None = None, *,
                 model_path: str | Path | None = None, num_threads: int | None = None) -> None:
        self.cfg = cfg or DetectorConfig()
        self.options = options or self.options_from(self.cfg)
        threads = num_threads if num_threads is not None else int(getattr(self.cfg, "num_threads", DEFAULT_THREADS))
        path = Path(model_path) if model_path else default_model_path(self.options.model)
        self.net = BlazeFaceNet(path, input_wh=None, strides=STRIDES, per_layer=1, native=INPUT_SIZE,
                                num_threads=threads, min_confidence=self.cfg.min_confidence,
                                expect="BlazeFace full range")
        self.card = self.net.card

    def reliable_min_px(self, frame_w: int) -> float:
        # the whole frame in 192 px: measured 100% at 12.5% of the frame width, 31% at 6%
        return 0.12 * frame_w

    def tracking(self, cfg: DetectorConfig) -> Tracking:
        return window_tracking(cfg)

    def detect(self, image: np.ndarray) -> list[Face]:
        h, w = image.shape[:2]
        boxes, scores = self.net.run(image)
        return to_faces(boxes, scores, w, h, 1, self.cfg.max_faces)
