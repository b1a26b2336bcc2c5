"""Motion: where (and whether) something moved, on a small grey copy of each frame.

A room of its own, apart from the detector plug-ins: a plug-in that gates its scan by motion takes
:class:`MotionSettings` into its options, and tracking (:mod:`edge.track`) feeds a
:class:`MotionDetector` every frame and scans only where it moved. Imports nothing of the stages.
"""

from __future__ import annotations

from .detector import LIGHTING, MotionDetector, MotionSettings, Restless, union  # noqa: F401
