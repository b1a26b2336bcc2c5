"""Cheap motion detection on a small grey frame: where (and whether) the costly face detector looks.

Frigate's idea, for a living room: a person who walks in, sits down or turns moves pixels; a still
empty room moves none, so the whole-frame face scan need not run on it. Each frame is shrunk to
``motion_width`` pixels wide (160x120 from an 800x600 lores stream: ~0.1% of the scan's work), blurred,
and compared with the previous one. What is *not* a person is removed before anything is reported:

- a global brightness change (auto-exposure, a lamp dimming the whole room, mains flicker): each
  frame is scaled to the previous frame's mean brightness before the difference;
- a lighting jump that changes most of the picture at once (a main light switched): more than
  :data:`LIGHTING` of the frame changed -> no motion, the new picture becomes the reference;
- a one-frame event (a camera glitch, a flash): a blob must move in ``motion_persist`` consecutive frames,
  overlapping, to count, or else still differ one frame later from the picture before it (a person
  who stepped in and stood still counts; a lamp switched on counts once, its region scanned once);
- noise and small things (a curtain's edge, a cat's tail): blobs under ``motion_min_area`` of the frame;
- a TV or a window in view: ``mask`` regions (fractions of the frame) are never looked at;
- a TV, a screen saver, a fish tank nobody masked: a region that keeps moving in most frames for
  ``restless_frames`` (~1 min) is left out on its own (:class:`Restless`), said once in the log, and
  watched again once it has been mostly still for a while (a TV switched off).

Nothing here depends on time: the same frames give the same boxes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import cv2
import numpy as np

from ..fields import BOX_EXPECTED, box_ok
from ..geometry import Box

log = logging.getLogger("edge.detectors.motion")  # the name its log lines have always carried

#: the difference threshold grows by this share of the pixel's brightness
RELATIVE = 0.15
#: share of a blob that must still differ from the picture two frames back (else it came and went)
STAYED = 0.1


#: more than this fraction of the frame changed at once is a lighting change, not a person
LIGHTING = 0.5


def _regions_ok(v: Any) -> bool:
    """Each region inside the frame and not empty: [1, 1, 1, 1] was accepted and masked nothing."""
    return all(box_ok(m) for m in v)


@dataclass
class MotionSettings:
    """The motion settings, defined here once: a plug-in that gates its scan by motion takes them
    into its options (``blazeface_motion``: these keys of ``[detector.blazeface_motion]``), with
    their docs and rules, and hands its options to :class:`MotionDetector` as they are."""

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
    #: a region that keeps moving in most frames for about this many frames (900: ~1 min at 15
    #: frames/s; a TV, a screen saver, a fish tank) is left out until it calms down; 0 = never
    restless_frames: int = 900

    checks: ClassVar[dict[str, tuple[Callable[[Any], bool], str]]] = {
        "motion_width": (lambda v: 32 <= v <= 1280, "32 to 1280 pixels"),
        "motion_threshold": (lambda v: 1 <= v <= 255, "1 to 255 grey levels"),
        "motion_min_area": (lambda v: 0 <= v <= 1, "a fraction of the frame between 0 and 1"),
        "motion_persist": (lambda v: 1 <= v <= 100, "1 to 100 frames"),
        "restless_frames": (lambda v: 0 <= v <= 1_000_000, "0 (never) or up to 1000000 frames"),
        "mask": (_regions_ok, "a list of regions, each " + BOX_EXPECTED),
    }


class MotionDetector:
    """Feed it every frame; it answers the moving regions in that frame's pixels."""

    def __init__(self, settings: MotionSettings | None = None) -> None:
        self.settings = settings or MotionSettings()
        self._prev: np.ndarray | None = None
        self._before: np.ndarray | None = None  # the frame before ``_prev``
        self._fresh: list[tuple[int, int, int, int]] = []  # last frame's new blobs (motion-frame pixels)
        self._prev_mask: np.ndarray | None = None
        self._mask: np.ndarray | None = None  # 1 where we look, 0 in the masked regions
        self._shape: tuple[int, int] = (0, 0)
        self.restless = Restless(self.settings.restless_frames)
        #: frames seen, frames with motion, lighting changes ignored (for the benchmark and logs)
        self.frames = self.moving_frames = self.lighting_changes = 0

    @property
    def primed(self) -> bool:
        """False until a first frame gave a reference (the first frame of a run has no 'before')."""
        return self._prev is not None

    def reset(self) -> None:
        """A new scene (a still, a camera reopened): no reference frame. What keeps moving in the
        room is kept (it is the room's, not the frame's)."""
        self._prev = self._before = self._prev_mask = None
        self._fresh = []

    def _small(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        sw = min(w, self.settings.motion_width)
        sh = max(1, round(h * sw / w))
        # bilinear reads 4 pixels per output pixel; INTER_AREA reads all 25 and costs ~15x more (measured)
        # for no gain here: the blur below averages the noise away
        small = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_LINEAR)
        if small.ndim == 3:
            small = cv2.cvtColor(small, cv2.COLOR_BGRA2GRAY if small.shape[2] == 4 else cv2.COLOR_BGR2GRAY)
        small = cv2.GaussianBlur(small, (5, 5), 0)
        if self._mask is None or self._mask.shape != small.shape:
            self._mask = np.ones(small.shape, np.uint8)
            for x, y, mw, mh in (m for m in self.settings.mask if len(m) == 4):
                x0, y0 = int(x * sw), int(y * sh)
                self._mask[y0:y0 + max(1, round(mh * sh)), x0:x0 + max(1, round(mw * sw))] = 0
        return small.astype(np.float32)

    def update(self, image: np.ndarray) -> list[Box]:
        """The regions of ``image`` (uint8 grey or BGR) that moved since the previous frame."""
        s = self.settings
        h, w = image.shape[:2]
        cur = self._small(image)
        self.frames += 1
        prev, before = self._prev, self._before
        self._before, self._prev = prev, cur
        if prev is None or prev.shape != cur.shape:
            self._before = self._prev_mask = None
            self._fresh = []
            return []
        changed = self._changed(cur, prev)
        if float(changed.mean()) > LIGHTING:  # most of the picture at once: the light, not a person
            self.lighting_changes += 1
            self._prev_mask, self._fresh = None, []
            return []
        changed = cv2.dilate(changed, np.ones((3, 3), np.uint8))
        changed = self.restless.update(changed)  # what keeps moving (a TV) is left out
        count, labels, stats, _ = cv2.connectedComponentsWithStats(changed, connectivity=8)
        sh, sw = cur.shape
        big = [i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] >= s.motion_min_area * sh * sw]
        previous, self._prev_mask = self._prev_mask, changed
        if s.motion_persist <= 1:
            moving = [tuple(stats[i, :4]) for i in big]
        else:
            # a blob that overlaps last frame's motion and is not a return to the picture before it
            # (a flash or a glitch that went away)
            continuing = set(np.unique(labels[previous > 0])) if previous is not None else set()
            since = None
            if (big or self._fresh) and before is not None and before.shape == cur.shape:
                since = self._changed(cur, before)  # only when there is something to check
            moving = [tuple(stats[i, :4]) for i in big if i in continuing and since is not None
                      and np.count_nonzero(since[labels == i]) >= STAYED * stats[i, cv2.CC_STAT_AREA]]
            # a step that stayed (someone who appeared and stood still; a lamp, scanned once): last
            # frame's new blobs that still differ from the picture before them
            if since is not None:
                moving += [(x, y, bw, bh) for x, y, bw, bh in self._fresh
                           if float(since[y:y + bh, x:x + bw].mean()) >= STAYED]
            self._fresh = [tuple(stats[i, :4]) for i in big if i not in continuing]
        fx, fy = w / sw, h / sh
        boxes = [Box(int(x * fx), int(y * fy), int(round(bw * fx)), int(round(bh * fy))) for x, y, bw, bh in moving]
        if boxes:
            self.moving_frames += 1
        return boxes

    def _changed(self, cur: np.ndarray, ref: np.ndarray) -> np.ndarray:
        """1 where ``cur`` differs from ``ref`` once their brightness is matched (the ratio of the
        unsaturated pixels' sums: a global light or exposure change scales every pixel alike)."""
        ok = (ref > 12) & (ref < 235) & (cur > 12) & (cur < 235)
        gain = float(ref[ok].sum() / cur[ok].sum()) if np.count_nonzero(ok) > 0.1 * ok.size else 1.0
        diff = cv2.absdiff(cur * np.float32(gain), ref)
        # bright pixels get more slack: a highlight clipped by the sensor does not scale with the light
        moved = diff > self.settings.motion_threshold + RELATIVE * ref
        return moved.astype(np.uint8) * ok.astype(np.uint8) * self._mask


def union(boxes: list[Box]) -> Box:
    """The smallest box around all of ``boxes`` (not empty)."""
    x0, y0 = min(b.x for b in boxes), min(b.y for b in boxes)
    x1, y1 = max(b.x + b.w for b in boxes), max(b.y + b.h for b in boxes)
    return Box(x0, y0, x1 - x0, y1 - y0)


#: the restless map's cells, in motion-frame pixels (8x8 of 160x120: 20x15 cells)
CELL = 8
#: a cell moved in this share of recent frames is restless; it is watched again below ``CALM``
RESTLESS, CALM = 0.8, 0.4


class Restless:
    """Which parts of the picture keep moving (a TV playing), from a running share of the frames
    each 8x8 cell moved in: over ``RESTLESS`` after ``frames`` frames of steady motion it is left
    out; it is watched again once that share has fallen under ``CALM`` (hysteresis: no flapping)."""

    def __init__(self, frames: int) -> None:
        self.frames = frames
        self.share: np.ndarray | None = None  # per cell, exponentially weighted over ~``frames``
        self.out: np.ndarray | None = None  # per cell: left out now
        #: per cell, frames moved and frames seen since the start (``mood-edge check`` proposes a mask)
        self.moved: np.ndarray | None = None
        self.seen = 0

    def update(self, changed: np.ndarray) -> np.ndarray:
        """``changed`` (motion-frame pixels, 0/1) with the restless cells cleared."""
        h, w = changed.shape
        rows, cols = -(-h // CELL), -(-w // CELL)
        padded = np.zeros((rows * CELL, cols * CELL), np.uint8)
        padded[:h, :w] = changed
        moved = padded.reshape(rows, CELL, cols, CELL).max(axis=(1, 3)).astype(np.float32)
        if self.share is None or self.share.shape != moved.shape:
            self.share, self.out = np.zeros_like(moved), np.zeros(moved.shape, bool)
            self.moved, self.seen = np.zeros_like(moved), 0
        self.moved += moved
        self.seen += 1
        if self.frames <= 0:
            return changed
        # the share reaches RESTLESS after ~1.6 x frames of motion in every frame (1 - e^-1.6 = 0.8)
        self.share += (moved - self.share) * np.float32(1.0 / self.frames)
        was = bool(self.out.any())
        self.out |= self.share >= RESTLESS
        self.out &= self.share >= CALM
        now = bool(self.out.any())
        if now != was:
            if now:
                log.info("motion: %s keeps moving (a TV, a screen?): left out of the face search while it "
                         "moves; `mood-edge check` proposes a mask for it", _where(self.out))
            else:
                log.info("motion: the region that kept moving is still again: watched again")
        if not now:
            return changed
        # with a cell around it: the edge of a moving picture moves in fewer frames, yet as often
        out = cv2.dilate(self.out.astype(np.uint8), np.ones((3, 3), np.uint8))
        keep = np.repeat(np.repeat(out == 0, CELL, axis=0), CELL, axis=1)[:h, :w]
        return changed * keep.astype(np.uint8)

    def busy(self, share: float = RESTLESS) -> list[float] | None:
        """[x, y, w, h] (fractions of the frame) around the cells that moved in at least ``share``
        of the frames seen so far; None if none did (or too few frames were seen)."""
        if self.moved is None or self.seen < 10:
            return None
        cells = self.moved >= share * self.seen
        return _box(cells) if cells.any() else None


def _box(cells: np.ndarray) -> list[float]:
    rows, cols = np.nonzero(cells)
    h, w = cells.shape
    return [round(float(v), 2) for v in (cols.min() / w, rows.min() / h, (cols.max() + 1 - cols.min()) / w,
                                         (rows.max() + 1 - rows.min()) / h)]


def _where(cells: np.ndarray) -> str:
    x, y, w, h = _box(cells)
    return f"the region [{x}, {y}, {w}, {h}] of the frame"
