"""Face detection: one interface, several plug-ins (see :mod:`edge.detectors`).

A detector takes a frame (2-D grey or HxWx3 BGR) and returns :class:`Face` boxes in that frame's
pixel coordinates. :func:`make_detector` builds the one the config names from the registry, wrapped
in tracking when ``detector.track`` is on.
"""

from __future__ import annotations

import dataclasses
import logging

from .config import DetectorConfig
from ..errors import ModelError
from . import detector_class, kinds
from .base import Detector, Face, to_gray  # noqa: F401 - re-exported
from .haar import HaarDetector  # noqa: F401 - re-exported

__all__ = ["Detector", "Face", "HaarDetector", "make_detector", "to_gray", "TRACK_FACE_PX"]

log = logging.getLogger(__name__)

#: tracking window size per detector: the face's width in the window the tracker shows it
TRACK_FACE_PX = {"haar": 32}


def make_detector(cfg: DetectorConfig) -> Detector:
    """The configured detector plug-in, wrapped in tracking when ``cfg.track``."""
    try:
        cls = detector_class(cfg.kind)
    except KeyError:
        raise ModelError(f"unknown detector {cfg.kind!r}", field="detector.kind",
                         expected="one of " + ", ".join(f'"{k}"' for k in kinds())) from None
    detector: Detector = cls(cfg)
    if cfg.track:
        from .track import TrackingDetector  # noqa: PLC0415

        local: Detector | None = None
        if cfg.kind.startswith("blazeface"):
            # follow a known face with the cheap 128x128 model on a window around it; the face is
            # known, so a lower threshold and no size floor (a 5 m face is ~20 px) are safe there
            local = detector_class("blazeface")(dataclasses.replace(
                cfg, kind="blazeface", min_confidence=min(cfg.min_confidence, 0.5), min_size=1))
        # the whole-frame scan costs ~30 short-range runs: in an empty room, search every few frames
        search_every = max(1, cfg.full_every // 3) if cfg.kind == "blazeface_scan" else 1
        full_every, motion = cfg.full_every, None
        if hasattr(detector, "motion_settings"):  # gated: motion says when and where to scan
            from .motion import MotionDetector  # noqa: PLC0415

            motion = MotionDetector(detector.motion_settings())
            full_every, search_every = detector.options.full_every, detector.options.idle_every
        detector = TrackingDetector(detector, full_every=full_every,
                                    face_px=TRACK_FACE_PX.get(cfg.kind, 64), local=local,
                                    search_every=search_every, motion=motion)
    return detector
