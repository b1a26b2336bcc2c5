"""The detector registry: one plug-in per file, looked up by its key.

The config (``detector.kind`` and its ``[detector.<kind>]`` table), the CLI choices, the daemon,
``mood-edge bench`` and ``mood-edge check`` all read this one table. To add a detector: write
``edge/detectors/<name>.py`` with a :class:`~edge.detectors.base.Detector` subclass (a ``key``, an
``Options`` dataclass, ``detect``) and add one line here. Modules are imported only when used, so
the config can validate a kind without loading any model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import plugins

if TYPE_CHECKING:
    from .base import Detector

#: key -> "module:Class"
DETECTORS: dict[str, str] = {
    "blazeface_motion": "edge.detectors.blazeface_motion:BlazeFaceMotionDetector",
    "blazeface_scan": "edge.detectors.blazeface_scan:BlazeFaceScanDetector",
    "blazeface": "edge.detectors.blazeface:BlazeFaceDetector",
    "blazeface_full": "edge.detectors.blazeface_full:BlazeFaceFullDetector",
    "haar": "edge.detectors.haar:HaarDetector",
}


def kinds() -> tuple[str, ...]:
    return tuple(DETECTORS)


def detector_class(kind: str) -> "type[Detector]":
    """The plug-in class for ``kind``; KeyError if there is none."""
    return plugins.load(DETECTORS[kind])
