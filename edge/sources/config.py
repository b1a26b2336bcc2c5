"""The ``[camera]`` config section: where frames come from and how they are asked for.

Owned by the source stage, so that a source is built from its settings without importing
:mod:`edge.config`; ``camera.source``'s check and doc come from the plug-in registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..fields import BOX_EXPECTED, HOUR, PIXELS, AtMost, Rule, between, box_ok, rate, seconds, setting
from . import doc, expected, source_ok


def _region_ok(v: list[float]) -> bool:
    return not v or box_ok(v)


@dataclass
class CameraConfig:
    source: str = setting("picamera2", rule=Rule(source_ok, expected), doc=doc())
    loop: bool = setting(False, doc="Replay a file or folder source endlessly.")
    width: int = setting(1280, rule=PIXELS, doc="""
        Capture size asked of the camera, in pixels. The classifier's face crops come from this picture
        (on the Pi camera: the main stream, grey). 1280 px wide makes a face 3.5 m away 46 px wide
        (at 640 px: 23 px); see docs/detectors.md.
        """)
    height: int = setting(960, rule=PIXELS, doc="")
    fps: float = setting(15.0, rule=rate(1000, HOUR),
                         doc="Frames per second to aim for (at least one an hour); 0 = as fast as the source delivers.")
    retry_s: float = setting(1.0, rule=seconds(HOUR), doc="""
        Seconds before reopening a camera that failed (at least 0.1, like every duration here); doubles on
        each failure up to retry_max_s.
        """)
    retry_max_s: float = setting(30.0, rule=seconds(HOUR), doc="")
    region: list[float] = setting(factory=list, rule=Rule(
        _region_ok, "[] or " + BOX_EXPECTED),
        doc="""
        The part of the view where people sit, as fractions of the frame: [x, y, width, height]
        (e.g. [0, 0.25, 1, 0.5] = the middle half, all the way across). [] = all of it. On the Pi camera
        it becomes the sensor crop (ScalerCrop: hardware zoom, no CPU, more pixels on each face); on
        other sources a software crop (less to search, no more pixels). `mood-edge check` says if you need it.
        """)
    lores_width: int = setting(800, rule=between(16, 2048, "16 to 2048 pixels"), doc="""
        Pi camera only: the colour stream the face detector reads (YUV420, converted to RGB). The main
        stream (width x height) gives the grey crops. 800 matches [detector.blazeface_scan] width.
        """)
    lores_height: int = setting(600, rule=between(16, 2048, "16 to 2048 pixels"), doc="")
    hfov_deg: float = setting(62.0, rule=between(1, 179, "1 to 179 degrees"), doc="""
        Horizontal field of view of the lens in degrees, for the distances `mood-edge check` reports:
        62 Camera Module v2, 66 Camera Module 3, 102 Camera Module 3 Wide; a USB webcam: its data sheet.
        """)

    cross_checks: ClassVar[tuple[AtMost, ...]] = (
        AtMost("retry_s", "retry_max_s", "the wait doubles from retry_s up to retry_max_s"),
    )
