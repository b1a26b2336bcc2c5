"""The source stage: frames from the Pi camera, a V4L2 camera, a video file or a folder of images,
all behind one :class:`Source` interface (``base``); :func:`open_source` builds the one that
``camera.source`` names, and :class:`CameraWatch` (``watch``) reopens a lost camera with backoff."""

from __future__ import annotations

from ..config import CameraConfig
from ..errors import SourceError
from .base import Frame, Source, crop_region, region_pixels, scaler_crop, valid_region  # noqa: F401
from .opencv import IMAGE_SUFFIXES, ImageFolderSource, VideoCaptureSource, load_gray, load_image  # noqa: F401
from .pi_camera import Picamera2Source, yuv420_gray, yuv420_to_bgr  # noqa: F401
from .watch import CameraWatch  # noqa: F401


def open_source(cfg: CameraConfig) -> Source:
    """Build (but do not open) the source the config names."""
    spec = cfg.source
    region = getattr(cfg, "region", None)
    if spec == "picamera2":
        return Picamera2Source(cfg.width, cfg.height, cfg.fps, lores_width=cfg.lores_width,
                               lores_height=cfg.lores_height, region=region)
    source: Source
    scheme, _, rest = spec.partition(":")
    if scheme == "v4l2" and rest:
        target: str | int = int(rest) if rest.isdigit() else rest
        source = VideoCaptureSource(target, width=cfg.width, height=cfg.height)
    elif scheme == "file" and rest:
        source = VideoCaptureSource(rest, loop=cfg.loop, is_file=True)
    elif scheme == "dir" and rest:
        source = ImageFolderSource(rest, loop=cfg.loop)
    else:
        raise SourceError(f"unknown source {spec!r}", field="camera.source",
                          expected='"picamera2", "v4l2:N", "file:PATH" or "dir:PATH"')
    source.region = valid_region(region)  # no sensor crop here: a software crop of every frame
    return source
