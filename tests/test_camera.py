"""Frame sources: every kind yields 2-D grayscale frames or a clear SourceError."""

import numpy as np
import pytest
import cv2

from edge.sources import open_source
from edge.sources.opencv import ImageFolderSource, VideoCaptureSource
from edge.sources.pi_camera import Picamera2Source
from edge.sources.watch import CameraWatch
from edge.config import CameraConfig
from edge.errors import SourceError
from edge.paths import sample_clip


def test_video_file_yields_grayscale_frames_and_ends():
    src = open_source(CameraConfig(source=f"file:{sample_clip()}"))
    with src:
        frames = [src.read() for _ in range(3)]
    assert all(f.gray.ndim == 2 and f.gray.dtype == np.uint8 for f in frames)
    assert [f.index for f in frames] == [0, 1, 2]


def test_looping_file_restarts_at_the_end(tmp_path):
    path = tmp_path / "short.mp4"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 5, (64, 48))
    for i in range(3):
        w.write(np.full((48, 64, 3), i * 50, np.uint8))
    w.release()
    once = VideoCaptureSource(str(path), is_file=True)
    with once:
        assert sum(1 for _ in iter(once.read, None)) == 3
    looping = VideoCaptureSource(str(path), is_file=True, loop=True)
    with looping:
        assert all(looping.read() is not None for _ in range(10))


def test_image_folder_reads_images_in_name_order(tmp_path):
    for name, value in (("b.png", 200), ("a.png", 100)):
        cv2.imwrite(str(tmp_path / name), np.full((10, 12, 3), value, np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    src = ImageFolderSource(str(tmp_path))
    with src:
        values = [int(src.read().gray[0, 0]), int(src.read().gray[0, 0])]
        assert src.read() is None
    assert values == [100, 200]


def test_corrupt_image_names_the_file(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    src = ImageFolderSource(str(tmp_path))
    with pytest.raises(SourceError, match=r"broken\.png: is not an image"):
        with src:
            src.read()


def test_missing_video_file_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match=r"nothing\.mp4: no such video file"):
        open_source(CameraConfig(source=f"file:{tmp_path / 'nothing.mp4'}")).open()


def test_file_that_is_not_a_video_is_a_clear_error(tmp_path):
    bad = tmp_path / "clip.mp4"
    bad.write_bytes(b"\x00" * 1000)
    with pytest.raises(SourceError, match=r"clip\.mp4"):
        src = open_source(CameraConfig(source=f"file:{bad}"))
        src.open()
        src.read()


def test_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match="holds no images"):
        ImageFolderSource(str(tmp_path)).open()


def test_picamera2_without_the_library_says_how_to_install_it():
    with pytest.raises(SourceError, match=r"apt install python3-picamera2.*--system-site-packages"):
        Picamera2Source().open()


def test_missing_v4l2_device_is_a_source_error():
    with pytest.raises(SourceError, match=r"v4l2:/dev/video99: cannot open it"):
        open_source(CameraConfig(source="v4l2:/dev/video99")).open()


def test_cameras_pace_themselves_files_and_folders_are_paced(tmp_path):
    assert open_source(CameraConfig(source="v4l2:0")).live
    assert open_source(CameraConfig(source="picamera2")).live
    assert not open_source(CameraConfig(source=f"file:{sample_clip()}")).live
    assert not open_source(CameraConfig(source=f"dir:{tmp_path}")).live


def test_a_file_or_folder_must_exist_at_start_a_camera_may_come_later(tmp_path):
    assert open_source(CameraConfig(source=f"file:{tmp_path / 'clip.mp4'}")).must_exist
    assert open_source(CameraConfig(source=f"dir:{tmp_path}")).must_exist
    assert not open_source(CameraConfig(source="v4l2:/dev/video9")).must_exist
    assert not open_source(CameraConfig(source="picamera2")).must_exist


class _FlakySource(ImageFolderSource):
    """A folder that fails to open while ``failures`` says so: a camera that comes and goes."""

    def __init__(self, folder, failures):
        super().__init__(str(folder))
        self.failures = list(failures)

    def _open(self):
        if self.failures:
            raise SourceError(self.failures.pop(0), path="cam")
        super()._open()


def _images(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8), np.uint8))
    return tmp_path


def test_reopening_backs_off_from_retry_s_doubling_to_retry_max_s():
    watch = CameraWatch(retry_s=1, retry_max_s=10)
    delays = watch.delays()
    assert [next(delays) for _ in range(6)] == [1, 2, 4, 8, 10, 10]


def test_the_same_reason_a_camera_does_not_open_is_logged_once(tmp_path, caplog):
    source = _FlakySource(_images(tmp_path), ["unplugged"] * 3 + ["no power"])
    watch = CameraWatch(1, 10)
    with caplog.at_level("DEBUG"):
        assert [watch.try_open(source) for _ in range(5)] == [False, False, False, False, True]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == ["camera: cam: unplugged", "camera: cam: no power"]


def test_a_camera_goes_down_once_and_comes_back(tmp_path):
    watch = CameraWatch(1, 10)
    assert watch.status == "ok"
    assert watch.went_down("returned no frame") and watch.status == "down"
    assert not watch.went_down("returned no frame"), "already down: nothing new to tell"
    watch.came_back(_FlakySource(_images(tmp_path), []))
    assert watch.status == "ok"
