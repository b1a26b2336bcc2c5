"""The Raspberry Pi camera through picamera2 (``picamera2``): the main stream's Y plane is the grey
picture, the small lores stream the detector's colour one; ``camera.region`` is the sensor crop."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import cv2
import numpy as np

from ..errors import SourceError
from .base import Source, scaler_crop, valid_region

if TYPE_CHECKING:
    from .config import CameraConfig

log = logging.getLogger(__name__)


class Picamera2Source(Source):
    """The Raspberry Pi camera through libcamera, configured once with two YUV420 streams from one
    sensor mode: ``main`` (``width`` x ``height``; its Y plane is the grey picture the classifier's
    crops come from) and ``lores`` (``lores_width`` x ``lores_height``; converted to BGR for the
    detector). ``region`` becomes the sensor crop (``ScalerCrop``), so both streams see only it."""

    crops_itself = True
    description = "picamera2"

    @classmethod
    def from_config(cls, argument: str, camera: "CameraConfig") -> Source:
        return cls(camera.width, camera.height, camera.fps, lores_width=camera.lores_width,
                   lores_height=camera.lores_height, region=camera.region)

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
