"""BlazeFace scan, gated by motion: the whole-frame scan only when something moved, and only there.

An empty room is the picture the sensor sees most of the day, and the whole-frame scan is ~30 runs
of the 128x128 model. Here a cheap motion detector (:mod:`edge.motion`, 160x120 grey) decides:

- nothing moved and nobody tracked: no detector at all (a whole-frame scan every ``idle_every``
  frames still finds a person who sat down while the picture was masked or too dark to move);
- something moved: the scan runs on the moving region only (snapped to 64-pixel steps so a few
  interpreters serve every region), upscaled x1.4 where it is small (a far face) and as it is
  where it is large (someone close to the camera);
- faces known: each is refined every frame in a window around it (tracking, as with
  ``blazeface_scan``), and the whole frame is scanned every ``full_every`` frames.

Those scheduled whole-frame looks come a tile a frame (:meth:`detect_part`, 4 frames at 800x600),
the mid pass with the first: ~240-300 M aarch64 instructions a frame instead of ~930 M in one.

Its options are those of ``blazeface_scan`` plus the motion settings. The tracking that drives
this is :class:`edge.track.TrackingDetector` (``detector.track``; :meth:`tracking` says how); without it
this plug-in is the plain scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar

import numpy as np

from ..geometry import Box
from ..motion import MotionDetector, MotionSettings
from ..track import Tracking
from .base import Face
from .blazeface import window_tracking
from .blazeface_scan import MAX_UPSCALE, BlazeFaceScanDetector, BlazeFaceScanOptions
from .tiles import PAD

if TYPE_CHECKING:
    from .config import DetectorConfig

#: a region is widened to a multiple of this (model input sizes stay few: interpreters are reused)
REGION_STEP = 64


@dataclass
class BlazeFaceMotionOptions(MotionSettings, BlazeFaceScanOptions):
    """``blazeface_scan``'s options, the motion settings (:class:`edge.motion.MotionSettings`, defined
    there once) and these."""

    #: the whole-frame look reads the lores frame as it is (800 wide; a narrower source is scaled up,
    #: at most x1.4): faces from 0.5 to 5 m (20 px in the lores stream) at every position
    width: int = 800
    upscale: bool = True
    #: a small moving region (narrower than ``far_region`` of the frame: where a far face can be) is
    #: scanned at this width's scale instead (800 -> 1120: x1.4 at most): a 6 m face, 17 px in the
    #: lores stream, is found at 23 px. A larger region is a person near the camera: no upscale
    far_width: int = 1120
    far_region: float = 0.25
    #: when most of the frame moves (someone close to the camera) it is first read at this width
    #: (0 = not: the whole-frame look at once): one tile and the mid pass, faces from ~40 px of the
    #: lores stream (2.5 m and nearer), ~300 M aarch64 instructions a frame against ~930 M; if no
    #: face is there the whole-frame look follows on the next frame (a lamp switched on, far faces)
    near_width: int = 400
    #: a moving region covering at least this share of the frame (padded as the tracker pads it),
    #: most often someone close, is read at ``near_width``'s scale first too; if no face is there
    #: it is read as it is on the next frame (a far person whose region is large: one frame later)
    near_area: float = 0.25
    #: one more pass with the frame at 256 wide (in one tile, unpadded) reads the faces too
    #: large for the tiles' seams: 1 m (100 px in the lores stream: 32 px there) down to 0.5 m, at
    #: every position; it replaces the 128x128 whole-frame pass (faces over 160 px only)
    whole_frame: bool = False
    mid_width: int = 256
    #: frames between whole-frame scans while faces are tracked (~10 s at 15 frames/s); each is spread
    #: over as many frames as it has tiles
    full_every: int = 150
    #: frames between whole-frame scans in a room where nobody is tracked and nothing moves (~20 s):
    #: a safety net; motion finds whoever comes in. Spread over frames like ``full_every``'s looks
    idle_every: int = 300

    checks: ClassVar[dict[str, tuple[Callable[[Any], bool], str]]] = {
        **BlazeFaceScanOptions.checks,
        **MotionSettings.checks,
        "far_width": (lambda v: v == 0 or 64 <= v <= 8192, "0 (no upscale) or 64 to 8192 pixels"),
        "far_region": (lambda v: 0 <= v <= 1, "a fraction of the frame's width between 0 and 1"),
        "near_width": (lambda v: v == 0 or 64 <= v <= 8192, "0 (the whole-frame look) or 64 to 8192 pixels"),
        "near_area": (lambda v: 0 <= v <= 1, "a fraction of the frame's area between 0 and 1"),
        "full_every": (lambda v: 1 <= v <= 100_000, "1 to 100000 frames"),
        "idle_every": (lambda v: 1 <= v <= 100_000, "1 to 100000 frames"),
    }


class BlazeFaceMotionDetector(BlazeFaceScanDetector):
    key = "blazeface_motion"
    Options = BlazeFaceMotionOptions
    summary = "the BlazeFace scan where and when something moved, tracked faces refined every frame (default)"
    name = "blazeface_motion"
    options: BlazeFaceMotionOptions
    #: measured by `bench --distance --positions`: 20 px faces in the whole-frame look (5 m in the 800
    #: lores stream) found at every position (its edges mirrored out: tiles.PAD)
    reliable_scan_px = 20.0

    def tracking(self, cfg: "DetectorConfig") -> Tracking:
        """Motion says when and where to scan: the whole frame every ``full_every`` frames with faces,
        every ``idle_every`` without; in between only what moved (:meth:`detect_in`)."""
        o = self.options
        return window_tracking(cfg, full_every=o.full_every, search_every=o.idle_every, motion=MotionDetector(o))

    def region_scale(self, frame_w: int, region_w: int) -> float:
        """The scan's scale for a moving region ``region_w`` wide: upscaled where a far face can be."""
        scale, o = self.scale(frame_w), self.options
        if o.far_width and region_w <= o.far_region * frame_w:
            return max(scale, min(MAX_UPSCALE, o.far_width / frame_w))
        return scale

    def detect_in(self, image: np.ndarray, region: Box, scale: float | None = None) -> list[Face]:
        """The scan on ``region`` of ``image`` only (widened to whole steps, kept inside the frame),
        at ``scale`` (default: :meth:`region_scale`)."""
        H, W = image.shape[:2]
        scale = self.region_scale(W, region.w) if scale is None else scale
        # whole 64-pixel steps of the model's input once mirrored out by PAD: few interpreter sizes
        # (rounded down: scaled back up it must not pass the step)
        w, h = (min(n, int((-(-(max(1, r) * scale + 2 * PAD) // REGION_STEP) * REGION_STEP - 2 * PAD) / scale))
                for n, r in ((W, region.w), (H, region.h)))
        x = min(max(0, region.x - (w - region.w) // 2), W - w)
        y = min(max(0, region.y - (h - region.h) // 2), H - h)
        crop = np.ascontiguousarray(image[y:y + h, x:x + w])
        faces = self.scan(crop, scale, frame_w=W)
        return [f.moved(x, y) for f in faces]

    def detect_in_near(self, image: np.ndarray, region: Box) -> list[Face] | None:
        """A large moving region (``near_area``) read at ``near_width``'s scale: a close face; None
        for a smaller region, or where the setting is 0 (then :meth:`detect_in`)."""
        H, W = image.shape[:2]
        near, o = self.options.near_width / W, self.options
        if not o.near_width or near >= self.region_scale(W, region.w) or region.area < o.near_area * W * H:
            return None
        return self.detect_in(image, region, near)

    def detect_near(self, image: np.ndarray) -> list[Face] | None:
        """Most of the frame moved: the frame at ``near_width`` (a close face), or None where the
        setting is 0 or the frame is already that narrow (the whole-frame look then)."""
        near = self.options.near_width
        if not near or image.shape[1] <= near:
            return None
        return self.scan(image, near / image.shape[1])
