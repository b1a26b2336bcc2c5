"""BlazeFace scan, gated by motion: the whole-frame scan only when something moved, and only there.

An empty room is the picture the sensor sees most of the day, and the whole-frame scan is ~30 runs
of the 128x128 model. Here a cheap motion detector (:mod:`edge.detectors.motion`, 160x120 grey) decides:

- nothing moved and nobody tracked: no detector at all (a whole-frame scan every ``idle_every``
  frames still finds a person who sat down while the picture was masked or too dark to move);
- something moved: the scan runs on the moving region only (snapped to 128-pixel steps so a few
  interpreters serve every region), at the same scale as the whole-frame scan;
- faces known: each is refined every frame in a window around it (tracking, as with
  ``blazeface_scan``), and the whole frame is scanned every ``full_every`` frames.

Its options are those of ``blazeface_scan`` plus the motion settings. The tracking that drives
this is :class:`edge.detectors.track.TrackingDetector` (``detector.track``); without it this plug-in is the
plain scan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import numpy as np

from ..fields import BOX_EXPECTED, box_ok
from ..geometry import Box
from .base import Face
from .blazeface_scan import BlazeFaceScanDetector, BlazeFaceScanOptions, _align
from .motion import MotionSettings

#: a region is widened to a multiple of this (model input sizes stay few: interpreters are reused)
REGION_STEP = 128


def _fractions(v: Any) -> bool:
    """Each region inside the frame and not empty: [1, 1, 1, 1] was accepted and masked nothing."""
    return all(box_ok(m) for m in v)


@dataclass
class BlazeFaceMotionOptions(BlazeFaceScanOptions):
    #: the scan reads the lores frame scaled to 1120 wide (800 -> 1120: x1.4): faces at 5-6 m (17-20 px
    #: in the lores stream) are found at every position; it costs ~2x the 800 scan, which motion
    #: gating runs rarely (docs/detectors.md)
    width: int = 1120
    upscale: bool = True
    #: ... which makes 1 m faces (100 px in the lores stream) too large for it: a third pass at 320
    #: wide reads them (40 px there), wherever they sit
    mid_width: int = 320
    #: frames between whole-frame scans while faces are tracked (~10 s at 15 frames/s)
    full_every: int = 150
    #: frames between whole-frame scans in a room where nobody is tracked and nothing moves (~20 s):
    #: a safety net; motion finds whoever comes in
    idle_every: int = 300
    #: the motion frame's width (pixels); the lores frame is shrunk to it
    motion_width: int = 160
    #: grey-level difference (0-255) that counts as motion, after brightness matching
    motion_threshold: int = 16
    #: smallest moving blob, a fraction of the frame
    motion_min_area: float = 0.0005
    #: consecutive frames a blob must move in (2: a flash or a camera glitch that goes away is ignored)
    motion_persist: int = 2
    #: regions never watched for motion (a TV, a window): [x, y, w, h] fractions of the frame each
    mask: list[list[float]] = field(default_factory=list)

    checks: ClassVar[dict[str, tuple[Callable[[Any], bool], str]]] = {
        **BlazeFaceScanOptions.checks,
        "full_every": (lambda v: 1 <= v <= 100_000, "1 to 100000 frames"),
        "idle_every": (lambda v: 1 <= v <= 100_000, "1 to 100000 frames"),
        "motion_width": (lambda v: 32 <= v <= 1280, "32 to 1280 pixels"),
        "motion_threshold": (lambda v: 1 <= v <= 255, "1 to 255 grey levels"),
        "motion_min_area": (lambda v: 0 <= v <= 1, "a fraction of the frame between 0 and 1"),
        "motion_persist": (lambda v: 1 <= v <= 100, "1 to 100 frames"),
        "mask": (_fractions, "a list of regions, each " + BOX_EXPECTED),
    }


class BlazeFaceMotionDetector(BlazeFaceScanDetector):
    key = "blazeface_motion"
    Options = BlazeFaceMotionOptions
    summary = "the BlazeFace scan where and when something moved, tracked faces refined every frame (default)"
    name = "blazeface_motion"
    options: BlazeFaceMotionOptions
    #: measured by `bench --distance --positions`: 23 px faces in the scan's input (6 m, 800 lores at
    #: 1120) found at every position; 20 px (5 m at 800) missed in 1 of 4 at the corners
    reliable_scan_px = 23.0

    def motion_settings(self) -> MotionSettings:
        o = self.options
        return MotionSettings(width=o.motion_width, threshold=o.motion_threshold, min_area=o.motion_min_area,
                              persist=o.motion_persist, mask=[list(m) for m in o.mask])

    def detect_in(self, image: np.ndarray, region: Box) -> list[Face]:
        """The scan on ``region`` of ``image`` only (widened to whole steps, kept inside the frame)."""
        H, W = image.shape[:2]
        scale = self.scale(W)
        step = max(16, int(round(REGION_STEP / scale)))  # 128 model pixels at the scan's scale
        w = min(W, -(-max(1, region.w) // step) * step)
        h = min(H, -(-max(1, region.h) // step) * step)
        x = min(max(0, region.x - (w - region.w) // 2), W - w)
        y = min(max(0, region.y - (h - region.h) // 2), H - h)
        crop = np.ascontiguousarray(image[y:y + h, x:x + w])
        # at the whole-frame scan's scale, so a face is found here exactly when the full scan finds it
        faces = self.scan(crop, (_align(w * scale), _align(h * scale)))
        return [f.moved(x, y) for f in faces]
