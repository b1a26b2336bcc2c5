"""BlazeFace short-range run over the whole frame at a fixed scale: the room, not a thumbnail.

The short-range model is fully convolutional: resized to a W x H input it is the 128x128 model
slid over the picture in one invoke. The frame is scaled so it is ``width`` pixels wide (``0`` = as
captured), so a face keeps ``width / frame_width`` of its size — a 46 px face at 3.5 m in a
1280-wide capture stays 23 px at ``width = 640`` — where the 128x128 letterbox would shrink it to
5 px. The scaled picture is run in overlapping tiles of a few fixed sizes, never in one input of its
own size: an interpreter's memory grows with its input (edge/detectors/tiles.py).

Cost grows with the pixels: (W x H) / (128 x 128) times the short-range model (640x480: ~19x).
That is too much for every frame on a Pi 4, so the default wraps it in tracking (``detector.track``):
this full scan every ``full_every`` frames and whenever a face is lost, a 128x128 window around each
known face in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar

import cv2
import numpy as np

from ..track import Tracking
from .base import Detector, Face
from .config import DetectorConfig
from .blazeface import (
    DEFAULT_THREADS,
    INPUT_SIZE,
    MODEL_FILE,
    NMS_IOU,
    STRIDES,
    BlazeFaceNet,
    BlazeFaceOptions,
    default_model_path,
    non_max_suppression,
    to_faces,
    window_tracking,
)
from .tiles import PAD, TILE, NetCache, net_size, return_freed_memory, tiles

#: ``upscale`` enlarges at most this much (800 -> 1120): the cost grows with its square
MAX_UPSCALE = 1.4


@dataclass
class BlazeFaceScanOptions:
    #: the frame is scaled to this width before the scan (0 = as captured); cost ~ width^2.
    #: 800 reads 1-5 m from a 1280-wide capture (a 5 m face is 20 px there); 640 saves 36% and reaches ~4 m
    width: int = 800
    #: also look at the whole frame in 128x128 (one cheap extra run): faces too large for the scan (< 1 m)
    whole_frame: bool = True
    #: its own score threshold: measured, 0.75 keeps real faces at 1-6 m (scores >= 0.8) and drops the
    #: textures of empty rooms that reach 0.5-0.7 when the whole frame is scanned
    min_confidence: float = 0.75
    #: faces narrower than this, in frame pixels, are dropped (the model is unreliable below ~12 px)
    min_face_px: int = 12
    #: the model file, relative to models/ (or absolute)
    model: str = MODEL_FILE
    #: scale a frame narrower than ``width`` up to it (at most x1.4): a 6 m face, 17 px in an 800-wide
    #: lores stream, is found at 23 px (1120) where it is missed at 17 (costs the square of the factor)
    upscale: bool = False
    #: a third pass with the frame scaled to this width (0 = none): faces between what the scan and the
    #: 128x128 pass read best (~70-130 px in an 800-wide input: 0.7-1.3 m), wherever they sit
    mid_width: int = 0
    #: the mid pass's own score threshold: measured, real 0.75-1.5 m faces score >= 0.86 there and
    #: textures of empty rooms up to 0.82
    mid_confidence: float = 0.85

    #: values checked beyond their type when read from [detector.blazeface_scan]: name -> (test, expected)
    checks: ClassVar[dict[str, tuple[Callable[[Any], bool], str]]] = {
        **BlazeFaceOptions.checks,
        "width": (lambda v: v == 0 or 64 <= v <= 8192, "0 (as captured) or 64 to 8192 pixels"),
        "min_face_px": (lambda v: 1 <= v <= 8192, "1 to 8192 pixels"),
        "min_confidence": (lambda v: 0 <= v <= 1, "a number between 0 and 1"),
        "mid_width": (lambda v: v == 0 or 128 <= v <= 8192, "0 (none) or 128 to 8192 pixels"),
        "mid_confidence": (lambda v: 0 <= v <= 1, "a number between 0 and 1"),
    }


class BlazeFaceScanDetector(Detector):
    key = "blazeface_scan"
    Options = BlazeFaceScanOptions
    summary = "BlazeFace short-range slid over the whole frame scaled to `width` (default with tracking)"
    name = "blazeface_scan"
    #: the narrowest face, in the scan's input pixels, found in nearly every frame (random places)
    reliable_scan_px = 20.0

    def __init__(self, cfg: "DetectorConfig | None" = None, options: BlazeFaceScanOptions | None = None, *,
                 model_path: str | Path | None = None, num_threads: int | None = None) -> None:
        self.cfg = cfg or DetectorConfig()
        self.options = options or self.options_from(self.cfg)
        self.num_threads = num_threads if num_threads is not None else int(getattr(self.cfg, "num_threads",
                                                                                  DEFAULT_THREADS))
        self.path = Path(model_path) if model_path else default_model_path(self.options.model)
        return_freed_memory()
        #: interpreters by input size, bounded by their bytes (tiles.py): never one per frame or region size
        self.nets: NetCache[BlazeFaceNet] = NetCache(self._make_net)
        # fail at start on a missing model (the first interpreter the scan needs: the tile's)
        self.card = self.nets.get(*TILE).card

    def _make_net(self, in_w: int, in_h: int) -> BlazeFaceNet:
        return BlazeFaceNet(self.path, input_wh=(in_w, in_h), strides=STRIDES, per_layer=2, native=INPUT_SIZE,
                            num_threads=self.num_threads, min_confidence=self.options.min_confidence,
                            expect="BlazeFace short range")

    def scale(self, w: int) -> float:
        """How much a w-wide frame is scaled for the scan."""
        if self.options.width <= 0:
            return 1.0
        if self.options.upscale:
            return min(MAX_UPSCALE, self.options.width / w)
        return min(1.0, self.options.width / w)

    def input_size(self, w: int, h: int) -> tuple[int, int]:
        """The picture (width, height) a w x h frame is scaled to for the scan (then cut in tiles)."""
        scale = self.scale(w)
        return max(1, round(w * scale)), max(1, round(h * scale))

    def reliable_min_px(self, frame_w: int) -> float:
        # measured: 100% of faces 20 px wide in the scan's input (5 m at 800 of 1280), 69% at 17 px
        scale = self.scale(frame_w)
        return max(self.reliable_scan_px / scale, float(self.options.min_face_px))

    def detect(self, image: np.ndarray) -> list[Face]:
        return self.scan(image, self.scale(image.shape[1]))

    def tracking(self, cfg: DetectorConfig) -> Tracking:
        # the whole-frame scan costs ~30 short-range runs: in an empty room, search every few frames
        return window_tracking(cfg, search_every=max(1, cfg.full_every // 3))

    def parts(self, image: np.ndarray) -> int:
        """How many parts the whole-frame look of ``image`` comes in (its tiles: 4 at 800x600)."""
        h, w = image.shape[:2]
        return len(_cut(w, h, self.scale(w))[3])

    def detect_part(self, image: np.ndarray, part: int) -> list[Face]:
        """One part of the whole-frame look (:meth:`parts`): tile ``part`` of the scan, and the
        whole-image and mid passes with part 0. The tracker spreads a scheduled look over frames
        this way: no frame pays for the whole of it (~930 M aarch64 instructions at once)."""
        return self.scan(image, self.scale(image.shape[1]), part=part)

    def tiled(self, image: np.ndarray, scale: float, pad: int = PAD,
              part: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Boxes (in ``image`` pixels) and scores of the short-range model slid over ``image``
        scaled by ``scale``, tile by tile (tiles.py); only tile ``part`` where it is given."""
        h, w = image.shape[:2]
        sw, sh, pad, cut = _cut(w, h, scale, pad)
        scaled = image if (sw, sh) == (w, h) else cv2.resize(
            image, (sw, sh), interpolation=cv2.INTER_AREA if sw < w else cv2.INTER_LINEAR)
        if pad > 0:
            scaled = cv2.copyMakeBorder(scaled, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
        found_boxes, found_scores = [], []
        for x, y, tw, th in cut if part is None else cut[part:part + 1]:
            net = self.nets.get(*net_size(tw, th, budget=self.nets.budget))
            boxes, scores = net.run(scaled[y:y + th, x:x + tw], fit=False)
            if len(scores):
                found_boxes.append(boxes + (x - pad, y - pad, x - pad, y - pad))
                found_scores.append(scores)
        if not found_scores:
            return np.zeros((0, 4), np.float32), np.zeros((0,), np.float32)
        boxes, scores = np.concatenate(found_boxes), np.concatenate(found_scores)
        if len(found_scores) > 1:  # a face in the overlap of two tiles is found twice
            boxes, scores = non_max_suppression(boxes.astype(np.float32), scores, NMS_IOU, weighted=False)
        return boxes * np.array([w / sw, h / sh, w / sw, h / sh]), scores

    def scan(self, image: np.ndarray, scale: float, frame_w: int | None = None,
             part: int | None = None) -> list[Face]:
        """The scan of ``image`` at ``scale``, plus the whole-image and mid passes. ``frame_w``: the
        width of the frame ``image`` was cut from (a region's scan): the mid pass reads a region at
        the whole frame's mid scale, not at ``mid_width`` across the region (a 416x600 region
        then cost two tiles' worth, ~410 M aarch64 instructions, instead of ~45 M). ``part``: one
        tile of the scan only (:meth:`detect_part`), the other passes with part 0."""
        h, w = image.shape[:2]
        boxes, scores = self.tiled(image, scale, part=part)
        found = [(boxes, scores)]
        first = not part
        if self.options.whole_frame and first:
            found.append(self.nets.get(INPUT_SIZE, INPUT_SIZE).run(image))
        mid = self.options.mid_width
        mid_scale = mid / (frame_w or w)
        if mid and first and mid_scale < scale / 1.5 and w * mid_scale >= 32:
            more_boxes, more_scores = self.tiled(image, mid_scale, pad=0)
            keep = more_scores >= self.options.mid_confidence
            found.append((more_boxes[keep], more_scores[keep]))
        if sum(len(s) for _, s in found[1:]):
            boxes, scores = non_max_suppression(np.concatenate([b for b, _ in found]).astype(np.float32),
                                                np.concatenate([s for _, s in found]).astype(np.float32),
                                                NMS_IOU, weighted=False)
        return to_faces(boxes, scores, w, h, self.options.min_face_px, self.cfg.max_faces)


def _cut(w: int, h: int, scale: float, pad: int = PAD) -> tuple[int, int, int, list[tuple[int, int, int, int]]]:
    """A w x h picture scaled by ``scale``: its size, the border it is mirrored out by (a face at
    its edge is found as well as inside) and the tiles that cover it; :meth:`BlazeFaceScanDetector.parts`
    counts the tiles :meth:`~BlazeFaceScanDetector.tiled` runs."""
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    pad = min(pad, sw - 1, sh - 1)
    return sw, sh, pad, tiles(sw + 2 * pad, sh + 2 * pad)
