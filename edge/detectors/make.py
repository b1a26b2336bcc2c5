"""Face detection: one interface, several plug-ins (see :mod:`edge.detectors`).

A detector takes a frame (2-D grey or HxWx3 BGR) and returns :class:`Face` boxes in that frame's
pixel coordinates. :func:`make_detector` builds the one the config names from the registry, wrapped
in tracking (:mod:`edge.track`) as the plug-in asks when ``detector.track`` is on: no plug-in is
named here.
"""

from __future__ import annotations

from ..errors import ModelError
from ..track import TrackingDetector
from . import detector_class, kinds
from .base import Detector, Face, to_gray  # noqa: F401 - re-exported
from .config import DetectorConfig
from .haar import HaarDetector  # noqa: F401 - re-exported

__all__ = ["Detector", "Face", "HaarDetector", "make_detector", "to_gray"]


def make_detector(cfg: DetectorConfig) -> "Detector | TrackingDetector":
    """The configured detector plug-in, followed as it asks (:meth:`Detector.tracking`) when ``cfg.track``."""
    try:
        cls = detector_class(cfg.kind)
    except KeyError:
        raise ModelError(f"unknown detector {cfg.kind!r}", field="detector.kind",
                         expected="one of " + ", ".join(f'"{k}"' for k in kinds())) from None
    detector: Detector = cls(cfg)
    return TrackingDetector.following(detector, detector.tracking(cfg)) if cfg.track else detector
