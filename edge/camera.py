"""Frame sources behind one interface: the Pi camera, a V4L2 device, a video file, a folder of images.

Every frame carries two pictures: ``gray`` (2-D uint8, the classifier's input, crops come from it)
and ``color`` (HxWx3 BGR, what the face detector reads: BlazeFace wants colour). V4L2 devices, files
and folders keep the picture as delivered (``color`` is the frame, ``gray`` its grey copy). The Pi
camera gives both from one request: the main stream (large, YUV420: its Y plane *is* the grey
picture, free) and the lores stream (small, YUV420 converted to BGR: one cheap conversion).
``Frame.detect_scale`` maps boxes found in ``color`` onto ``gray`` when the two sizes differ.

``camera.region`` (where people sit, as fractions of the frame) becomes the sensor crop (libcamera's
``ScalerCrop``: hardware zoom, no CPU) on the Pi camera, and a software crop on every other source.

A source raises :class:`SourceError` when it cannot be opened or dies while reading; the daemon
retries with backoff. ``read()`` returns ``None`` at the end of a finite (non-looping) source.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

from . import native  # noqa: F401 - FFmpeg's per-frame chatter off before a video is opened
from .camera_watch import CameraWatch  # noqa: F401 - re-exported
from .config import CameraConfig
from .detectors.base import to_gray  # noqa: F401 - also re-exported
from .errors import BadFrame, SourceError
from .geometry import Box

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".tif", ".tiff", ".webp"}


B = TypeVar("B", bound=Box)


@dataclass
class Frame:
    gray: np.ndarray
    #: time.monotonic() when it was captured
    t: float
    index: int
    #: BGR colour for the detector (None: a grey-only source); may be smaller than ``gray``
    color: np.ndarray | None = None

    @property
    def detect_image(self) -> np.ndarray:
        """What the face detector reads: colour when there is some."""
        return self.color if self.color is not None else self.gray

    @property
    def detect_scale(self) -> float:
        """``gray`` pixels per ``detect_image`` pixel (2.0 for a 1280 main and a 640 lores stream)."""
        return self.gray.shape[1] / self.detect_image.shape[1]

    def in_gray(self, boxes: list[B]) -> list[B]:
        """Boxes found in :attr:`detect_image` in ``gray``'s pixels (where the classifier crops)."""
        scale = self.detect_scale
        return boxes if scale == 1.0 else [b.scaled(scale) for b in boxes]


def valid_region(region: list[float] | tuple[float, ...] | None) -> tuple[float, float, float, float] | None:
    """``[x, y, w, h]`` fractions, or None for the whole frame (also for [] and [0, 0, 1, 1])."""
    if not region:
        return None
    x, y, w, h = (float(v) for v in region)
    if (x, y, w, h) == (0.0, 0.0, 1.0, 1.0):
        return None
    return x, y, w, h


def region_pixels(region: tuple[float, float, float, float], width: int, height: int) -> tuple[int, int, int, int]:
    """Fractions -> (x, y, w, h) in pixels of a width x height picture, at least 1 px, inside it."""
    fx, fy, fw, fh = region
    x0, y0 = min(width - 1, int(round(fx * width))), min(height - 1, int(round(fy * height)))
    x1, y1 = min(width, max(x0 + 1, int(round((fx + fw) * width)))), min(height, max(y0 + 1, int(round((fy + fh) * height))))
    return x0, y0, x1 - x0, y1 - y0


def crop_region(image: np.ndarray, region: tuple[float, float, float, float] | None) -> np.ndarray:
    """The software crop: the region of a picture (a view, no copy)."""
    if region is None:
        return image
    x, y, w, h = region_pixels(region, image.shape[1], image.shape[0])
    return image[y:y + h, x:x + w]


def scaler_crop(region: tuple[float, float, float, float] | None, maximum: tuple[int, int, int, int],
                aspect: float) -> tuple[int, int, int, int]:
    """The region as libcamera's ``ScalerCrop`` (x, y, w, h in sensor pixels, inside ``maximum``,
    the full-field crop). It is widened or heightened about its centre to the output's ``aspect``
    (width / height), so the picture is not stretched; it never leaves ``maximum``."""
    mx, my, mw, mh = maximum
    if region is None:
        x, y, w, h = 0.0, 0.0, float(mw), float(mh)
    else:
        x, y, w, h = region[0] * mw, region[1] * mh, region[2] * mw, region[3] * mh
    cx, cy = x + w / 2, y + h / 2
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    if w > mw:
        w, h = float(mw), mw / aspect
    if h > mh:
        h, w = float(mh), mh * aspect
    x = min(max(cx - w / 2, 0.0), mw - w)
    y = min(max(cy - h / 2, 0.0), mh - h)
    return mx + int(round(x)), my + int(round(y)), int(round(w)), int(round(h))


class Source(ABC):
    """Open, read frames, close. Implement :meth:`_open`, :meth:`_read` and :meth:`_close`."""

    description = "source"
    #: a camera paces itself; a file or folder is paced to camera.fps to behave like one
    live = True
    #: a source that must be there at start (a path given by the user: missing is a mistake, exit 2);
    #: a device that is not there yet is retried instead
    must_exist = False

    def __init__(self) -> None:
        self._index = 0
        self.is_open = False
        #: the software crop applied to every frame (camera.region); None = the whole frame
        self.region: tuple[float, float, float, float] | None = None

    def open(self) -> None:
        self._open()
        self.is_open = True

    def read(self) -> Frame | None:
        if not self.is_open:
            self.open()
        got = self._read()
        if got is None:
            return None
        gray, color = got if isinstance(got, tuple) else (got, None)
        if isinstance(gray, np.ndarray) and gray.ndim == 3 and color is None:
            color = gray if gray.shape[2] == 3 else None
            gray = to_gray(gray) if _usable(gray, 3) else gray
        if not _usable(gray, 2) or (color is not None and not _usable(color, 3)):
            # a driver that hands over an empty or odd buffer: a camera fault, not a crash further down
            bad = gray if not _usable(gray, 2) else color
            shape = getattr(bad, "shape", None)
            raise SourceError(f"returned an unusable frame (shape {shape}, dtype {getattr(bad, 'dtype', None)})",
                              path=self.description, expected="a non-empty uint8 grey or BGR image")
        if self.region is not None:
            gray = crop_region(gray, self.region)
            color = crop_region(color, self.region) if color is not None else None
        frame = Frame(gray=gray, t=time.monotonic(), index=self._index, color=color)
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


def _usable(image: object, ndim: int) -> bool:
    return (isinstance(image, np.ndarray) and image.ndim == ndim and image.size > 0 and image.dtype == np.uint8
            and (ndim == 2 or image.shape[2] in (3, 4)))


class VideoCaptureSource(Source):
    """A USB webcam (``v4l2:0``, ``v4l2:/dev/video2``) or a video file (``file:clip.mp4``)."""

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


class ImageFolderSource(Source):
    """Every image in a folder, in name order (``dir:PATH``); handy for tests and demos."""

    live = False
    must_exist = True

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
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as exc:
        raise SourceError(f"cannot read it: {exc.strerror or exc}", path=path) from None
    try:
        image = cv2.imdecode(data, flags) if data.size else None
    except cv2.error:  # e.g. a header that claims more pixels than OpenCV allows
        image = None
    if image is None or image.size == 0:
        # this one image, not its folder (a file that vanished is: OSError above, and the folder is re-listed)
        raise BadFrame("is not an image OpenCV can decode", path=path, expected="PNG, JPEG, BMP, ...")
    return image


class Picamera2Source(Source):
    """The Raspberry Pi camera through libcamera, configured once with two YUV420 streams from one
    sensor mode: ``main`` (``width`` x ``height``; its Y plane is the grey picture the classifier's
    crops come from) and ``lores`` (``lores_width`` x ``lores_height``; converted to BGR for the
    detector). ``region`` becomes the sensor crop (``ScalerCrop``), so both streams see only it."""

    description = "picamera2"

    def __init__(self, width: int = 1280, height: int = 960, fps: float = 15.0, *, lores_width: int = 800,
                 lores_height: int = 600, region: list[float] | tuple[float, ...] | None = None) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        # libcamera wants the lores stream no larger than main
        self.lores_width, self.lores_height = min(lores_width, width), min(lores_height, height)
        self.crop = valid_region(region)
        #: the ScalerCrop set at configure time (None: the full field)
        self.scaler_crop: tuple[int, int, int, int] | None = None
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
        cam = None
        try:
            cam = Picamera2()
            controls: dict = {"FrameRate": self.fps or 30.0}
            if self.crop is not None:
                self.scaler_crop = scaler_crop(self.crop, self._crop_maximum(cam), self.width / self.height)
                controls["ScalerCrop"] = self.scaler_crop
            config = cam.create_video_configuration(
                main={"size": (self.width, self.height), "format": "YUV420"},
                lores={"size": (self.lores_width, self.lores_height), "format": "YUV420"},
                controls=controls, buffer_count=4,
            )
            cam.align_configuration(config)  # sizes the ISP can produce, so stride == width
            cam.configure(config)
            self.width, self.height = (int(v) for v in config["main"]["size"])
            self.lores_width, self.lores_height = (int(v) for v in config["lores"]["size"])
            cam.start()
        except Exception as exc:  # libcamera raises many types; all mean "camera unavailable"
            if cam is not None:
                try:
                    cam.close()
                except Exception:  # noqa: BLE001 - already failing; report the first error
                    pass
            raise SourceError(f"cannot start the Pi camera: {exc}", path="picamera2") from None
        log.info("picamera2: main %dx%d (grey crops), lores %dx%d (colour, detection)%s", self.width,
                 self.height, self.lores_width, self.lores_height,
                 f", ScalerCrop {self.scaler_crop}" if self.scaler_crop else "")
        self._cam = cam

    @staticmethod
    def _crop_maximum(cam: object) -> tuple[int, int, int, int]:
        """The full-field ScalerCrop: the control's maximum, else the sensor's pixel array."""
        limits = getattr(cam, "camera_controls", {}).get("ScalerCrop")
        if limits and len(limits) >= 2 and limits[1] and len(limits[1]) == 4:
            return tuple(int(v) for v in limits[1])  # type: ignore[return-value]
        props = getattr(cam, "camera_properties", {})
        if "ScalerCropMaximum" in props:
            return tuple(int(v) for v in props["ScalerCropMaximum"])  # type: ignore[return-value]
        w, h = props["PixelArraySize"]
        return 0, 0, int(w), int(h)

    def _read(self) -> tuple[np.ndarray, np.ndarray]:
        assert self._cam is not None
        try:
            request = self._cam.capture_request()
            try:
                main = request.make_array("main")
                lores = request.make_array("lores")
            finally:
                request.release()
        except Exception as exc:
            raise SourceError(f"camera stopped delivering frames: {exc}", path="picamera2") from None
        return yuv420_gray(main, self.width, self.height), yuv420_to_bgr(lores, self.lores_width, self.lores_height)

    def _close(self) -> None:
        if self._cam is not None:
            try:
                self._cam.stop()
                self._cam.close()
            finally:
                self._cam = None


def _check_yuv(yuv: np.ndarray, width: int, height: int) -> None:
    if (not isinstance(yuv, np.ndarray) or yuv.dtype != np.uint8 or yuv.ndim != 2
            or yuv.shape[0] < height * 3 // 2 or yuv.shape[1] < width):
        raise SourceError(f"returned an unusable YUV420 buffer (shape {getattr(yuv, 'shape', None)})",
                          path="picamera2", expected=f"({height * 3 // 2}, >= {width}) uint8 for {width}x{height}")


def yuv420_gray(yuv: np.ndarray, width: int, height: int) -> np.ndarray:
    """The Y plane of a planar YUV420 (I420) buffer: the grey picture, without any conversion."""
    _check_yuv(yuv, width, height)
    return yuv[:height, :width]


def yuv420_to_bgr(yuv: np.ndarray, width: int, height: int) -> np.ndarray:
    """A planar YUV420 (I420) buffer -> BGR. A buffer whose rows are padded (stride > width) is
    converted as a stride-wide picture (its U and V rows are padded by half as much) and cut."""
    _check_yuv(yuv, width, height)
    bgr = cv2.cvtColor(np.ascontiguousarray(yuv[: height * 3 // 2]), cv2.COLOR_YUV2BGR_I420)
    return bgr if bgr.shape[1] == width else np.ascontiguousarray(bgr[:, :width])


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
