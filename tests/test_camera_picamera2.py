"""The Pi camera source with a thin stand-in for picamera2 (the camera cannot exist here), and the
region of interest as a sensor crop (ScalerCrop) and as a software crop.

The stand-in is only the library's surface the source uses (configure once, capture a request,
make_array per stream); its buffers are real planar YUV420 made by OpenCV from a real colour photo,
so the conversions under test are the real ones.
"""

from __future__ import annotations

import sys
import types

import cv2
import numpy as np
import pytest
import skimage.data

from edge.sources import open_source
from edge.sources.base import crop_region, region_pixels, scaler_crop
from edge.sources.opencv import ImageFolderSource
from edge.sources.pi_camera import Picamera2Source, yuv420_gray, yuv420_to_bgr
from edge.config import CameraConfig
from edge.errors import SourceError

SENSOR = (0, 0, 3280, 2464)  # Camera Module v2's full-field ScalerCrop (IMX219)


def photo(width: int, height: int) -> np.ndarray:
    """The astronaut in colour (BGR), at a camera's 4:3 size."""
    return cv2.resize(skimage.data.astronaut()[:, :, ::-1], (width, height), interpolation=cv2.INTER_AREA)


def i420(bgr: np.ndarray, stride: int | None = None) -> np.ndarray:
    """A real planar YUV420 buffer as libcamera hands it over, optionally with padded rows."""
    yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
    h, w = bgr.shape[:2]
    if stride is None or stride == w:
        return yuv
    y, u, v = yuv[:h], yuv[h:h + h // 4].reshape(h // 2, w // 2), yuv[h + h // 4:].reshape(h // 2, w // 2)
    pad = lambda plane, s: np.pad(plane, ((0, 0), (0, s - plane.shape[1])))  # noqa: E731
    return np.concatenate([pad(y, stride), pad(u, stride // 2).reshape(h // 4, stride),
                           pad(v, stride // 2).reshape(h // 4, stride)])


class FakeRequest:
    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays
        self.released = False

    def make_array(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def release(self) -> None:
        self.released = True


class FakePicamera2:
    """What the source calls on picamera2.Picamera2, nothing more."""

    instances: list["FakePicamera2"] = []
    stride_pad = 0

    def __init__(self) -> None:
        self.camera_controls = {"ScalerCrop": ((0, 0, 64, 64), SENSOR, SENSOR)}
        self.camera_properties = {"PixelArraySize": (3280, 2464)}
        self.configured: dict | None = None
        self.configure_calls = 0
        self.started = self.closed = False
        self.requests: list[FakeRequest] = []
        FakePicamera2.instances.append(self)

    def create_video_configuration(self, main: dict, lores: dict, controls: dict, buffer_count: int) -> dict:
        return {"main": dict(main), "lores": dict(lores), "controls": dict(controls), "buffer_count": buffer_count}

    def align_configuration(self, config: dict) -> None:
        for stream in ("main", "lores"):
            w, h = config[stream]["size"]
            config[stream]["size"] = (w - w % 32 if w % 32 else w, h - h % 2)

    def configure(self, config: dict) -> None:
        self.configured = config
        self.configure_calls += 1

    def start(self) -> None:
        self.started = True

    def capture_request(self) -> FakeRequest:
        main_size = self.configured["main"]["size"]
        lores_size = self.configured["lores"]["size"]
        scene = photo(*main_size)
        lores = cv2.resize(scene, lores_size, interpolation=cv2.INTER_AREA)
        pad = self.stride_pad
        request = FakeRequest({"main": i420(scene, main_size[0] + pad if pad else None),
                               "lores": i420(lores, lores_size[0] + pad if pad else None)})
        self.requests.append(request)
        return request

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake_picamera2(monkeypatch):
    module = types.ModuleType("picamera2")
    module.Picamera2 = FakePicamera2
    FakePicamera2.instances = []
    FakePicamera2.stride_pad = 0
    monkeypatch.setitem(sys.modules, "picamera2", module)
    return FakePicamera2


def test_both_streams_are_configured_once_as_yuv420(fake_picamera2):
    src = Picamera2Source(1280, 960, 15, lores_width=800, lores_height=600)
    with src:
        for _ in range(3):
            src.read()
    cam = fake_picamera2.instances[0]
    assert cam.configure_calls == 1
    assert cam.configured["main"] == {"size": (1280, 960), "format": "YUV420"}
    assert cam.configured["lores"] == {"size": (800, 600), "format": "YUV420"}
    assert "ScalerCrop" not in cam.configured["controls"]
    assert all(r.released for r in cam.requests) and cam.closed


def test_the_grey_picture_is_the_main_stream_and_the_colour_one_the_lores(fake_picamera2):
    src = Picamera2Source(1280, 960, 15, lores_width=640, lores_height=480)
    with src:
        frame = src.read()
    assert frame.gray.shape == (960, 1280) and frame.gray.dtype == np.uint8
    assert frame.color.shape == (480, 640, 3)
    assert frame.detect_image is frame.color and frame.detect_scale == 2.0
    expected = photo(1280, 960)
    # grey: the main stream's Y plane as it is (no conversion); colour: the photo back, up to
    # YUV420's chroma subsampling
    assert np.array_equal(frame.gray, i420(expected)[:960])
    small = cv2.resize(expected, (640, 480), interpolation=cv2.INTER_AREA)
    assert np.abs(frame.color.astype(int) - small).mean() < 6
    # and it is colour, not grey copied three times: the channels differ as much as the photo's do
    assert np.abs(frame.color[:, :, 2].astype(int) - frame.color[:, :, 0]).mean() > 10


def test_rows_padded_to_a_stride_are_cut_back_to_the_picture(fake_picamera2):
    fake_picamera2.stride_pad = 64
    src = Picamera2Source(1280, 960, 15, lores_width=640, lores_height=480)
    with src:
        frame = src.read()
    assert frame.gray.shape == (960, 1280) and frame.color.shape == (480, 640, 3)
    small = cv2.resize(photo(1280, 960), (640, 480), interpolation=cv2.INTER_AREA)
    assert np.abs(frame.color.astype(int) - small).mean() < 6


def test_a_lores_stream_larger_than_main_is_clamped_to_main(fake_picamera2):
    with Picamera2Source(640, 480, 15, lores_width=800, lores_height=600) as src:
        frame = src.read()
    assert fake_picamera2.instances[0].configured["lores"]["size"] == (640, 480)
    assert frame.detect_scale == 1.0


def test_the_region_becomes_the_sensor_crop_not_a_software_crop(fake_picamera2):
    region = [0.0, 0.25, 1.0, 0.5]  # the sofa: the middle half of the picture, all the way across
    src = open_source(CameraConfig(source="picamera2", region=region))
    with src:
        frame = src.read()
    cam = fake_picamera2.instances[0]
    crop = cam.configured["controls"]["ScalerCrop"]
    # the band is heightened to the stream's 4:3 about its centre: here that is the whole sensor
    # (less the 2 rows that make the IMX219's array a hair narrower than 4:3)
    assert crop == scaler_crop(tuple(region), SENSOR, 4 / 3) == (0, 2, 3280, 2460)
    assert frame.gray.shape == (960, 1280)  # the ISP scales the crop to the stream: nothing cut here


def test_a_small_region_zooms_the_sensor_in_with_the_stream_aspect(fake_picamera2):
    src = open_source(CameraConfig(source="picamera2", region=[0.25, 0.5, 0.5, 0.25]))
    with src:
        src.read()
    x, y, w, h = fake_picamera2.instances[0].configured["controls"]["ScalerCrop"]
    assert abs(w / h - 4 / 3) < 0.01 and (w, h) == (1640, 1230)
    assert (x + w / 2, y + h / 2) == pytest.approx((1640, 2464 * 0.625), abs=1)  # centred on the region
    assert 0 <= y and y + h <= 2464


@pytest.mark.parametrize("region,maximum,aspect,expected", [
    # the IMX219's 3280x2464 is a hair narrower than 4:3: two rows go
    (None, (0, 0, 3280, 2464), 4 / 3, (0, 2, 3280, 2460)),
    # a corner quarter: widened by 3 px to 4:3, pushed back onto the sensor
    ((0.5, 0.5, 0.5, 0.5), (0, 0, 3280, 2464), 4 / 3, (1637, 1232, 1643, 1232)),
    # offsets of the maximum are kept
    ((0.0, 0.0, 0.5, 0.5), (16, 8, 2000, 1500), 4 / 3, (16, 8, 1000, 750)),
    # a tall strip at 16:9 cannot be covered: the widest 16:9 crop, centred on it
    ((0.1, 0.1, 0.2, 0.8), (0, 0, 4000, 3000), 16 / 9, (0, 375, 4000, 2250)),
])
def test_scaler_crop_keeps_the_aspect_and_stays_on_the_sensor(region, maximum, aspect, expected):
    x, y, w, h = scaler_crop(region, maximum, aspect)
    assert (x, y, w, h) == expected
    assert maximum[0] <= x and x + w <= maximum[0] + maximum[2]
    assert maximum[1] <= y and y + h <= maximum[1] + maximum[3]


def test_software_crop_cuts_the_region_of_every_frame_from_a_folder(tmp_path):
    image = photo(640, 480)
    cv2.imwrite(str(tmp_path / "a.png"), image)
    src = open_source(CameraConfig(source=f"dir:{tmp_path}", region=[0.25, 0.5, 0.5, 0.25]))
    assert isinstance(src, ImageFolderSource)
    with src:
        frame = src.read()
    assert frame.color.shape == (120, 320, 3) and frame.gray.shape == (120, 320)
    assert np.array_equal(frame.color, image[240:360, 160:480])


def test_region_pixels_round_and_stay_inside():
    assert region_pixels((0.0, 0.0, 1.0, 1.0), 641, 479) == (0, 0, 641, 479)
    assert region_pixels((0.999, 0.999, 0.001, 0.001), 100, 100) == (99, 99, 1, 1)
    assert crop_region(np.zeros((10, 10), np.uint8), None).shape == (10, 10)


def test_folder_and_file_sources_keep_colour():
    pytest.importorskip("skimage")
    from edge.paths import sample_clip

    with open_source(CameraConfig(source=f"file:{sample_clip()}")) as src:
        frame = src.read()
    assert frame.color is not None and frame.color.ndim == 3 and frame.gray.ndim == 2
    assert frame.color.shape[:2] == frame.gray.shape


def test_a_short_yuv_buffer_is_a_camera_fault_not_a_crash():
    with pytest.raises(SourceError, match="unusable YUV420 buffer"):
        yuv420_to_bgr(np.zeros((100, 640), np.uint8), 640, 480)
    with pytest.raises(SourceError, match="unusable YUV420 buffer"):
        yuv420_gray(np.zeros((720, 320), np.uint8), 640, 480)
