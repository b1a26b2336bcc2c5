"""The ``[detector]`` config section: which plug-in finds faces and the settings they share.

Owned by the detector stage, so that a plug-in builds its defaults without importing
:mod:`edge.config` (which reads the plug-in registry to check ``detector.kind``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..fields import FRACTION, PIXELS, THREADS, Rule, between, one_of, setting
from . import kinds as detector_kinds  # the registry: imports no model until asked


@dataclass
class DetectorConfig:
    kind: str = setting("blazeface_motion", rule=one_of(detector_kinds), doc="""
        A plug-in from edge/detectors/ (docs/detectors.md gives each one's reach and cost):
          "blazeface_motion" the scan below, only where and when motion says (the default)
          "blazeface_scan"  BlazeFace short-range slid over the whole frame at [detector.blazeface_scan]
                            width, plus one whole-frame pass: faces from 0.5 to 5 m, every search
          "blazeface"       the whole frame in BlazeFace's 128x128: faces within ~1.5 m, cheapest
          "blazeface_full"  BlazeFace full-range, the whole frame in 192x192: within ~2 m
          "haar"            OpenCV's cascade on grey; with detect_width = the capture width it reaches ~2 m
        """)
    detect_width: int = setting(320, rule=between(64, 8192, "64 to 8192 pixels"), doc="""
        Haar and "blazeface": the frame is downscaled to at most this width (pixels) first.
        """)
    min_size: int = setting(24, rule=PIXELS,
                            doc='Haar and "blazeface": smallest face, in pixels of the downscaled frame.')
    min_confidence: float = setting(0.6, rule=FRACTION, doc="""
        Confidence threshold (0..1) of "blazeface" and "blazeface_full" ("blazeface_scan" has its own).
        """)
    min_neighbors: int = setting(5, rule=between(0, 100, "0 to 100"), doc="""
        Haar: how many overlapping detections make a face (higher = fewer false faces).
        """)
    scale_factor: float = setting(1.15, rule=Rule(
        lambda v: 1 < v <= 4, "a factor between the detection scales, above 1 (e.g. 1.15)"),
        doc="Haar: image pyramid step (smaller = slower, finds more sizes).")
    max_faces: int = setting(8, rule=between(1, 1000, "1 to 1000"),
                             doc="At most this many faces per frame are classified.")
    num_threads: int = setting(2, rule=THREADS, doc="BlazeFace: interpreter threads.")
    track: bool = setting(True, doc="""
        Look for faces only near the last ones found (BlazeFace 128x128 on a window around each), with a
        search of the whole frame every full_every frames and at once when a face is lost; in an empty
        room "blazeface_scan" searches every full_every / 3 frames. The whole-frame scan is too costly
        for every frame on a Pi 4; tracking makes the average ~3x the old detector (docs/detectors.md).
        """)
    full_every: int = setting(15, rule=between(1, 100_000, "1 to 100000 frames"), doc="")
    options: dict[str, Any] = setting(factory=dict, example="(each plug-in's own [detector.<kind>] table, below; "
                                      "all optional)", doc="")


