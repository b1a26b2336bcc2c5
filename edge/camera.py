"""Frame sources behind one interface: the Pi camera, a V4L2 device, a video file, a folder of images.

Every source yields 2-D uint8 grayscale frames: the classifier works on grayscale, and on the Pi
the lores YUV420 stream's Y plane *is* grayscale, so no colour conversion is ever paid for.

A source raises :class:`SourceError` when it cannot be opened or dies while reading; the daemon
retries with backoff. ``read()`` returns ``None`` at the end of a finite (non-looping) source.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .config import CameraConfig
from .errors import SourceError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".tif", ".tiff", ".webp"}


@dataclass
class Frame:
    gray: np.ndarray
    #: time.monotonic() when it was captured
    t: float
    index: int


class Source(ABC):
    """Open, read frames, close. Implement :meth:`_open`, :meth:`_read` and :meth:`_close`."""

    description = "source"

    def __init__(self) -> None:
        self._index = 0
        self.is_open = False

    def open(self) -> None:
        self._open()
        self.is_open = True

    def read(self) -> Frame | None:
        if not self.is_open:
            self.open()
        gray = self._read()
        if gray is None:
            return None
        if not isinstance(gray, np.ndarray) or gray.ndim != 2 or gray.size == 0 or gray.dtype != np.uint8:
            # a driver that hands over an empty or odd buffer: a camera fault, not a crash further down
            shape = getattr(gray, "shape", None)
            raise SourceError(f"returned an unusable frame (shape {shape}, dtype {getattr(gray, 'dtype', None)})",
                              path=self.description, expected="a non-empty 2-D uint8 grayscale image")
        frame = Frame(gray=gray, t=time.monotonic(), index=self._index)
        self._index += 1
        return frame

    def close(self) -> None:
        if self.is_open:
            try:
                self._close()
            finally:
                self.is_open = False

    def __enter__(self) -> "Source":
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def _open(self) -> None: ...

    @abstractmethod
    def _read(self) -> np.ndarray | None: ...

    def _close(self) -> None:  # noqa: B027 - optional hook
        pass


def to_gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


class VideoCaptureSource(Source):
    """A USB webcam (``v4l2:0``, ``v4l2:/dev/video2``) or a video file (``file:clip.mp4``)."""

    def __init__(self, target: str | int, *, loop: bool = False, width: int = 0, height: int = 0,
                 is_file: bool = False) -> None:
        super().__init__()
        self.target = target
        self.loop = loop
        self.width, self.height = width, height
        self.is_file = is_file
        self.description = f"file:{target}" if is_file else f"v4l2:{target}"
        self._cap: cv2.VideoCapture | None = None

    def _open(self) -> None:
        if self.is_file and not Path(str(self.target)).is_file():
            raise SourceError("no such video file", path=self.target, expected="a readable video file")
        cap = cv2.VideoCapture(self.target) if self.is_file else cv2.VideoCapture(self.target, cv2.CAP_V4L2)
        if not cap.isOpened():
            cap.release()
            raise SourceError("cannot open it", path=self.description,
                              expected="a video file OpenCV can decode" if self.is_file
                              else "a connected V4L2 camera the service user may read (group 'video')")
        if not self.is_file and self.width and self.height:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        self._cap = cap

    def _read(self) -> np.ndarray | None:
        assert self._cap is not None
        ok, image = self._cap.read()
        if not ok and self.is_file and self.loop and self._index > 0:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = self._cap.read()
        if not ok or image is None or image.size == 0:
            if self.is_file and not (self.loop and self._index > 0):
                if self._index == 0:
                    raise SourceError("contains no frames", path=self.target, expected="a video OpenCV can decode")
                return None
            raise SourceError("returned no frame", path=self.description)
        return to_gray(image)

    def _close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class ImageFolderSource(Source):
    """Every image in a folder, in name order (``dir:PATH``); handy for tests and demos."""

    def __init__(self, folder: str, *, loop: bool = False) -> None:
        super().__init__()
        self.folder = Path(folder)
        self.loop = loop
        self.description = f"dir:{folder}"
        self._files: list[Path] = []
        self._pos = 0

    def _open(self) -> None:
        if not self.folder.is_dir():
            raise SourceError("no such folder", path=self.folder, expected="a folder of images")
        self._files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self._files:
            raise SourceError("holds no images", path=self.folder,
                              expected="files ending in " + ", ".join(sorted(IMAGE_SUFFIXES)))
        self._pos = 0

    def _read(self) -> np.ndarray | None:
        if self._pos >= len(self._files):
            if not self.loop:
                return None
            self._pos = 0
        path = self._files[self._pos]
        self._pos += 1
        return load_gray(path)


def load_gray(path: str | Path) -> np.ndarray:
    """Read an image file as grayscale, or raise a :class:`SourceError` that names it."""
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as exc:
        raise SourceError(f"cannot read it: {exc.strerror or exc}", path=path) from None
    try:
        image = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE) if data.size else None
    except cv2.error:  # e.g. a header that claims more pixels than OpenCV allows
        image = None
    if image is None or image.size == 0:
        raise SourceError("is not an image OpenCV can decode", path=path, expected="PNG, JPEG, BMP, ...")
    return image


class Picamera2Source(Source):
    """The Raspberry Pi camera through libcamera: a small lores YUV420 stream, Y plane only."""

    description = "picamera2"

    def __init__(self, width: int = 640, height: int = 480, fps: float = 15.0) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        self._cam = None

    def _open(self) -> None:
        try:
            from picamera2 import Picamera2  # noqa: PLC0415 - only on a Pi
        except ImportError:
            raise SourceError(
                "picamera2 is not installed", field="camera.source",
                expected="on Raspberry Pi OS: `sudo apt install python3-picamera2` and a venv made with "
                         "`python3 -m venv --system-site-packages`; elsewhere use v4l2:N, file:PATH or dir:PATH",
            ) from None
        try:
            cam = Picamera2()
            # main stream is required by libcamera; keep it small, we only read lores
            config = cam.create_video_configuration(
                main={"size": (self.width, self.height), "format": "YUV420"},
                lores={"size": (self.width, self.height), "format": "YUV420"},
                controls={"FrameRate": self.fps or 30.0},
                buffer_count=4,
            )
            cam.configure(config)
            cam.start()
        except Exception as exc:  # libcamera raises many types; all mean "camera unavailable"
            raise SourceError(f"cannot start the Pi camera: {exc}", path="picamera2") from None
        self._cam = cam

    def _read(self) -> np.ndarray | None:
        assert self._cam is not None
        try:
            yuv = self._cam.capture_array("lores")
        except Exception as exc:
            raise SourceError(f"camera stopped delivering frames: {exc}", path="picamera2") from None
        # YUV420 planar: the first `height` rows are the Y (luma) plane = grayscale
        return np.ascontiguousarray(yuv[: self.height, : self.width])

    def _close(self) -> None:
        if self._cam is not None:
            try:
                self._cam.stop()
                self._cam.close()
            finally:
                self._cam = None


def open_source(cfg: CameraConfig) -> Source:
    """Build (but do not open) the source the config names."""
    spec = cfg.source
    if spec == "picamera2":
        return Picamera2Source(cfg.width, cfg.height, cfg.fps)
    scheme, _, rest = spec.partition(":")
    if scheme == "v4l2" and rest:
        target: str | int = int(rest) if rest.isdigit() else rest
        return VideoCaptureSource(target, width=cfg.width, height=cfg.height)
    if scheme == "file" and rest:
        return VideoCaptureSource(rest, loop=cfg.loop, is_file=True)
    if scheme == "dir" and rest:
        return ImageFolderSource(rest, loop=cfg.loop)
    raise SourceError(f"unknown source {spec!r}", field="camera.source",
                      expected='"picamera2", "v4l2:N", "file:PATH" or "dir:PATH"')
