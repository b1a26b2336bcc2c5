"""The sources OpenCV reads: a V4L2 camera (``v4l2:0``), a video file (``file:clip.mp4``), a folder of
images (``dir:photos``), and the image loaders the tools share."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from .. import native  # noqa: F401 - FFmpeg's per-frame chatter off before a video is opened
from ..errors import BadFrame, SourceError, kind_of, read_user_bytes
from .base import Source

if TYPE_CHECKING:
    from .config import CameraConfig

log = logging.getLogger(__name__)

if "OPENCV_LOG_LEVEL" not in os.environ:  # a user's own setting wins
    # OpenCV's own two or three "[ WARN:0] can't open camera by index" lines on every reopening
    # attempt: the daemon says it once, in words ("camera: ... cannot open it")
    # (cv2.utils.logging is missing from some wheels, opencv-python-headless 4.11 on arm64 among
    # them: cv2.setLogLevel is the same setting there)
    _levels = getattr(cv2.utils, "logging", None)
    if _levels is not None:
        _levels.setLogLevel(_levels.LOG_LEVEL_ERROR)
    else:
        cv2.setLogLevel(2)  # LOG_LEVEL_ERROR

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".tif", ".tiff", ".webp"}
#: a picture larger than this is refused before it is read (a 12-megapixel camera's PNG is ~20 MB)
MAX_IMAGE_BYTES = 32 << 20


#: FFmpeg decodes on one thread: by default it starts one per core, each holding frames of its own
#: (measured: a 1080x1920 clip's decoder took ~30 MB more), on a Pi that leaves one core to spare
DECODE_PARAMS = [cv2.CAP_PROP_N_THREADS, 1]


class VideoCaptureSource(Source):
    """A USB webcam (``v4l2:0``, ``v4l2:/dev/video2``) or a video file (``file:clip.mp4``)."""

    @classmethod
    def from_config(cls, argument: str, camera: "CameraConfig") -> Source:
        target: str | int = int(argument) if argument.isdigit() else argument
        return cls(target, width=camera.width, height=camera.height)

    def __init__(self, target: str | int, *, loop: bool = False, width: int = 0, height: int = 0,
                 is_file: bool = False) -> None:
        super().__init__()
        self.target = target
        self.loop = loop
        self.width, self.height = width, height
        self.is_file = is_file
        self.live, self.must_exist = not is_file, is_file
        self.description = f"file:{target}" if is_file else f"v4l2:{target}"
        self._cap: cv2.VideoCapture | None = None
        #: a non-looping file without one decodable frame has said so (its next read is the end)
        self._reported_empty = False

    def _open(self) -> None:
        if self.is_file and kind_of(str(self.target), SourceError, "a readable video file",
                                    field="camera.source") != "file":
            raise SourceError("no such video file", path=self.target, expected="a readable video file")
        cap = cv2.VideoCapture(self.target, cv2.CAP_FFMPEG, DECODE_PARAMS) if self.is_file \
            else cv2.VideoCapture(self.target, cv2.CAP_V4L2)
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
                if self._index == 0 and not self._reported_empty:
                    # a bad frame, not a dead camera: reopening at once and failing again flooded the log
                    self._reported_empty = not self.loop  # a looping file is tried again (with backoff)
                    raise BadFrame("contains no frames", path=self.target, expected="a video OpenCV can decode")
                return None
            raise SourceError("returned no frame", path=self.description)
        if image.ndim == 3 and image.shape[2] == 4:
            image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
        return image  # colour as delivered; read() adds the grey copy

    def _close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class VideoFileSource(VideoCaptureSource):
    """A video file (``file:clip.mp4``), paced to camera.fps like a camera."""

    @classmethod
    def from_config(cls, argument: str, camera: "CameraConfig") -> Source:
        return cls(argument, loop=camera.loop, is_file=True)


class ImageFolderSource(Source):
    """Every image in a folder, in name order (``dir:PATH``); handy for tests and demos."""

    live = False
    must_exist = True

    @classmethod
    def from_config(cls, argument: str, camera: "CameraConfig") -> Source:
        return cls(argument, loop=camera.loop)

    def __init__(self, folder: str, *, loop: bool = False) -> None:
        super().__init__()
        self.folder = Path(folder)
        self.loop = loop
        self.description = f"dir:{folder}"
        self._files: list[Path] = []
        self._pos = 0

    def _open(self) -> None:
        if kind_of(self.folder, SourceError, "a folder of images", field="camera.source") != "folder":
            raise SourceError("no such folder", path=self.folder, expected="a folder of images")
        try:
            self._files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        except OSError as exc:
            raise SourceError(f"cannot list it: {exc.strerror or exc}", path=self.folder,
                              expected="a folder of images this user may read") from None
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
        return load_image(path)  # BadFrame when it cannot be decoded: the next read takes the next one


def load_gray(path: str | Path) -> np.ndarray:
    """Read an image file as grayscale, or raise a :class:`SourceError` that names it."""
    return _load(path, cv2.IMREAD_GRAYSCALE)


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as delivered: BGR colour, or grey for a grey file."""
    image = _load(path, cv2.IMREAD_UNCHANGED)
    if image.dtype != np.uint8:  # 16-bit PNG/TIFF: scale to 8 bits
        image = cv2.convertScaleAbs(image, alpha=255.0 / max(1, int(image.max())))
    if image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.ndim == 3 and image.shape[2] not in (3,):
        image = _load(path, cv2.IMREAD_GRAYSCALE)
    return image


def _load(path: str | Path, flags: int) -> np.ndarray:
    # bounded and non-blocking: a FIFO named b.png blocked np.fromfile in open() for good, deaf to
    # SIGTERM. A file that is there but no picture (a FIFO, a device, 2 GB) is a bad frame, skipped;
    # one that cannot be opened (gone, no permission) is the source's trouble: the folder is re-listed
    raw = read_user_bytes(path, SourceError, "an image file", MAX_IMAGE_BYTES, unfit=BadFrame)
    data = np.frombuffer(raw, dtype=np.uint8)
    try:
        image = cv2.imdecode(data, flags) if data.size else None
    except cv2.error:  # e.g. a header that claims more pixels than OpenCV allows
        image = None
    if image is None or image.size == 0:
        # this one image, not its folder (a file that vanished is: OSError above, and the folder is re-listed)
        raise BadFrame("is not an image OpenCV can decode", path=path, expected="PNG, JPEG, BMP, ...")
    return image
