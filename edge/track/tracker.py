"""Face tracking by re-detection in a small region: most frames never scan the whole picture.

In a living room the faces barely move between two frames, so after a full-frame detection we look
for each face again only in a window around where it was (the box grown by ``margin`` on every
side), scaled down so the face is about ``face_px`` pixels. For the Haar cascade that cuts the
pixels *and* the scales it scans; for BlazeFace it makes a face fill its 128x128 input, which it
prefers. A full-frame detection still runs every ``full_every`` frames (new people are found within
that many frames) and at once whenever a tracked face is lost.

With a ``motion`` detector (:mod:`edge.motion`; the ``blazeface_motion`` plug-in) motion decides
instead: what moved outside the tracked faces is scanned where it moved (the inner detector's
``detect_in``), a lost face is looked for around where it was, and the whole frame is scanned only on
the first frame, every ``full_every`` frames with faces and every ``search_every`` frames without.
Those scheduled looks are a safety net, not news: where the detector comes in parts (``detect_part``:
the scan's tiles) one is spread over as many frames, a part each, so no frame pays for all of it (on a
Pi 4 core a whole look is ~0.6 s). The first frame, and most of the frame changing with no close face
in it, still get the whole look at once.

Good settings (``mood-edge bench`` compares them): Haar ``face_px=32`` (a 64x64 window: ~15x less
work than a 320x240 frame); BlazeFace ``face_px=64`` (the window then fills the 128x128 input).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np

from ..geometry import Box
from ..motion import MotionDetector, union

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Window(Box):
    """A region of the frame and the scale it was resized by before detection."""

    scale: float

    def to_frame(self, face: Box) -> Box:
        """A face found in the resized region, in the frame's pixels."""
        return face.unscaled(self.scale).moved(self.x, self.y)


class Finder(Protocol):
    """What tracking needs of a detector (any :class:`edge.detectors.base.Detector` is one): faces
    (boxes with a score) in a frame, its name, and how small a face it reliably finds."""

    name: str

    def detect(self, image: np.ndarray) -> list[Any]: ...

    def reliable_min_px(self, frame_w: int) -> float: ...


@dataclass
class Tracking:
    """How a detector plug-in's faces are followed (its :meth:`~edge.detectors.base.Detector.tracking`):
    a whole-frame search every ``full_every`` frames with faces and every ``search_every`` without,
    the face ``face_px`` wide in the window around it, ``local`` run on that window (None: the plug-in
    itself), and ``motion`` deciding when and where to look (None: on that schedule, everywhere)."""

    full_every: int = 30
    face_px: int = 48
    local: Finder | None = None
    search_every: int = 1
    motion: MotionDetector | None = None


class TrackingDetector:
    """Wraps any detector (a :class:`Finder`); answers in full-frame coordinates like the detector it wraps."""

    @classmethod
    def following(cls, inner: Finder, plan: Tracking) -> "TrackingDetector":
        return cls(inner, full_every=plan.full_every, face_px=plan.face_px, local=plan.local,
                   search_every=plan.search_every, motion=plan.motion)

    def __init__(self, inner: Finder, *, full_every: int = 30, margin: float = 0.5, face_px: int = 48,
                 max_faces: int = 8, local: Finder | None = None, search_every: int = 1,
                 motion: MotionDetector | None = None) -> None:
        if full_every < 1:
            raise ValueError("full_every must be at least 1")
        self.inner = inner
        #: the detector run on the window around a known face (default: the same as ``inner``); a
        #: whole-frame scan is too costly for that, the 128x128 model on the window is not
        self.local = local or inner
        #: with nothing tracked (an empty room), search the whole frame only every this many frames:
        #: a costly full search (the whole-frame scan) must not run on every frame of an empty room
        self.search_every = max(1, search_every)
        self._since_search = self.search_every
        self.full_every = full_every
        self.margin = margin
        self.face_px = face_px
        self.max_faces = max_faces
        self.name = f"{inner.name}+track"
        self._tracks: list[Box] = []
        self._since_full = 0
        #: how many frames were answered by a full-frame detection (for the benchmark)
        self.full_detections = 0
        #: when and where to look (None: on a schedule, everywhere)
        self.motion = motion
        #: how many region scans motion asked for (for the benchmark)
        self.region_scans = 0
        #: how many times most of the frame moved and the close look answered (for the benchmark)
        self.near_looks = 0
        #: large regions read small for a close face last frame, with none there: read whole now
        self._again: list[Box] = []
        #: the part of a scheduled whole-frame look this frame reads (None: no look under way)
        self._sweep: int | None = None
        #: the close look found no one where most of the frame changed: the whole look, at once, next frame
        self._look_now = False

    def reliable_min_px(self, frame_w: int) -> float:
        return self.inner.reliable_min_px(frame_w)

    def reset(self) -> None:
        self._tracks = []
        self._again = []
        self._sweep = None
        self._look_now = False
        self._since_full = 0
        self._since_search = self.search_every
        if self.motion is not None:
            self.motion.reset()

    def window(self, face: Box, shape: tuple[int, ...]) -> Window:
        """The face grown by ``margin`` on every side, clamped to the frame, and the scale that
        makes the face ``face_px`` wide."""
        pad_x, pad_y = int(round(face.w * self.margin)), int(round(face.h * self.margin))
        region = face.padded(pad_x, pad_y).clipped(shape[1], shape[0])
        return Window(*region.xywh, scale=min(1.0, self.face_px / max(1, face.w)))

    def _full(self, gray: np.ndarray) -> list[Box]:
        self._begin_look()
        self._again = []
        return self.inner.detect(gray)

    def _begin_look(self) -> None:
        self._since_full = 0
        self._since_search = 0
        self._sweep = None
        self._look_now = False
        self.full_detections += 1

    def _look_part(self, image: np.ndarray) -> list[Box]:
        """This frame's part of a scheduled whole-frame look spread over frames (the detector's
        ``detect_part``), the look over after the last."""
        assert self._sweep is not None
        part, parts = self._sweep, self.inner.parts(image)  # type: ignore[attr-defined]
        self._sweep = part + 1 if part + 1 < parts else None
        return self.inner.detect_part(image, part) if part < parts else []  # type: ignore[attr-defined]

    def _redetect(self, gray: np.ndarray, track: Box) -> Box | None:
        win = self.window(track, gray.shape)
        if win.w < 8 or win.h < 8:
            return None
        region = gray[win.y:win.y + win.h, win.x:win.x + win.w]
        if win.scale < 1.0:
            size = (max(1, int(round(win.w * win.scale))), max(1, int(round(win.h * win.scale))))
            region = cv2.resize(region, size, interpolation=cv2.INTER_AREA)
            # the exact scale after rounding, so the mapping back is exact
            win = dataclasses.replace(win, scale=size[0] / win.w)
        found = [win.to_frame(f) for f in self.local.detect(np.ascontiguousarray(region))]
        if not found:
            return None
        return max(found, key=lambda f: (f.iou(track), f.area))

    def detect(self, gray: np.ndarray) -> list[Box]:
        if self.motion is not None:
            faces = self._gated(gray)
            faces.sort(key=lambda f: f.area, reverse=True)
            self._tracks = faces[: self.max_faces]
            return list(self._tracks)
        self._since_full += 1
        self._since_search += 1
        if not self._tracks and self._since_search < self.search_every:
            faces = []  # an empty room between two searches
        elif not self._tracks or self._since_full >= self.full_every:
            faces = self._full(gray)
        else:
            faces = []
            for track in self._tracks:
                face = self._redetect(gray, track)
                if face is None:  # lost (moved fast, turned away or left): look everywhere, now
                    faces = self._full(gray)
                    break
                if all(face.iou(kept) < 0.3 for kept in faces):
                    faces.append(face)
        faces.sort(key=lambda f: f.area, reverse=True)
        self._tracks = faces[: self.max_faces]
        return list(self._tracks)

    def _gated(self, image: np.ndarray) -> list[Box]:
        """One frame with motion deciding: see the module's docstring."""
        assert self.motion is not None
        first = not self.motion.primed
        moving = self.motion.update(image)
        self._since_full += 1
        self._since_search += 1
        due = self.full_every if self._tracks else self.search_every
        scheduled = self._since_full >= due or self._since_search >= due
        spread = hasattr(self.inner, "detect_part") and not (first or self._look_now)
        if not spread and (first or self._look_now or scheduled):
            return self._full(image)
        if spread and scheduled and self._sweep is None:
            self._begin_look()  # scheduled: spread over the next frames, a part each
            self._sweep = 0
        faces: list[Box] = []
        look: list[Box] = []
        for track in self._tracks:
            face = self._redetect(image, track)
            if face is None:  # lost: look around where it was (and where things moved)
                look.append(track.grown(1.0))
            elif all(face.iou(kept) < 0.3 for kept in faces):
                faces.append(face)
        covered = [self.window(f, image.shape) for f in faces]
        look += [m for m in moving if not any(_inside(m, c) for c in covered)]
        look += [a for a in self._again if not any(_inside(a, c) for c in covered)]
        if look:
            faces += [f for f in self._look(image, look) if all(f.iou(kept) < 0.3 for kept in faces)]
        if self._sweep is not None:
            faces += [f for f in self._look_part(image) if all(f.iou(kept) < 0.3 for kept in faces)]
        return faces

    def _look(self, image: np.ndarray, boxes: list[Box]) -> list[Box]:
        """Scan the regions around ``boxes`` (merged where they touch); the whole frame if they
        cover most of it or the detector cannot scan a region."""
        h, w = image.shape[:2]
        detect_in = getattr(self.inner, "detect_in", None)
        regions = _merge([b.padded(int(0.25 * max(b.w, b.h)) + 16, int(0.25 * max(b.w, b.h)) + 16).clipped(w, h)
                          for b in boxes])
        if detect_in is None:
            return self._full(image)
        if sum(r.area for r in regions) > 0.5 * w * h:
            return self._near(image)
        self.region_scans += 1
        near = getattr(self.inner, "detect_in_near", None)
        faces, again = [], self._again
        self._again = []
        for r in regions:
            found = near(image, r) if near is not None and not any(r.iou(a) > 0 for a in again) else None
            if found is None:
                found = detect_in(image, r)
            elif not found:  # read small for a close face and none there: read it as it is next frame
                self._again.append(r)
            faces += found
        return faces

    def _near(self, image: np.ndarray) -> list[Box]:
        """Most of the frame moved, most often someone close to the camera: the detector's cheaper
        look for a close face (``detect_near``) first, the whole-frame look on the next frame if
        that found no one (a lamp switched on, people far away), or now if it has none."""
        near = getattr(self.inner, "detect_near", None)
        faces = near(image) if near is not None else None
        if faces is None:
            return self._full(image)
        self.near_looks += 1
        if not faces:
            self._look_now = True
        return faces


def _inside(box: Box, window: Box) -> bool:
    """Most of ``box`` lies in ``window`` (motion of a face already tracked there)."""
    ix = max(0, min(box.x + box.w, window.x + window.w) - max(box.x, window.x))
    iy = max(0, min(box.y + box.h, window.y + window.h) - max(box.y, window.y))
    return ix * iy >= 0.7 * max(1, box.area)


def _merge(boxes: list[Box]) -> list[Box]:
    """Boxes that overlap become their union, until none overlap."""
    out = list(boxes)
    merged = True
    while merged:
        merged = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                a, b = out[i], out[j]
                if a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h:
                    out[i] = union([a, b])
                    del out[j]
                    merged = True
                    break
            if merged:
                break
    return out
