"""TrackingDetector: re-detection in a window around the last faces, full-frame detection when needed."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data

from edge.config import DetectorConfig
from edge.detectors.base import Face
from edge.detectors.haar import HaarDetector
from edge.detectors.blazeface import BlazeFaceDetector
from edge.track import TrackingDetector, Window


def scene(shift: int = 0, width: int = 320, height: int = 240) -> np.ndarray:
    """The astronaut (face and shoulders) in a 4:3 frame, moved ``shift`` pixels to the right."""
    gray = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2GRAY)
    small = cv2.resize(gray, (height, height), interpolation=cv2.INTER_AREA)
    frame = np.zeros((height, width), np.uint8)
    left = (width - height) // 2 + shift
    frame[:, max(0, left):left + height] = small[:, max(0, -left):width - left]
    return frame


@pytest.fixture(params=["haar", "blazeface"])
def inner(request):
    return HaarDetector(DetectorConfig()) if request.param == "haar" else BlazeFaceDetector(DetectorConfig())


def test_after_one_full_detection_the_face_is_found_in_its_window(inner):
    tracker = TrackingDetector(inner, full_every=30, face_px=32)
    full = inner.detect(scene())
    assert len(full) == 1
    for _ in range(5):
        faces = tracker.detect(scene())
        assert len(faces) == 1
        assert faces[0].iou(full[0]) > 0.6
    assert tracker.full_detections == 1


def test_a_moving_face_is_followed_without_a_full_detection(inner):
    tracker = TrackingDetector(inner, full_every=30)
    first = tracker.detect(scene(0))[0]
    for shift in (4, 8, 12, 16):
        face = tracker.detect(scene(shift))[0]
    assert face.x - first.x == pytest.approx(16, abs=5)
    assert tracker.full_detections == 1


def test_a_lost_face_triggers_a_full_detection_at_once(inner):
    tracker = TrackingDetector(inner, full_every=30)
    assert tracker.detect(scene())
    assert tracker.detect(np.zeros((240, 320), np.uint8)) == []
    assert tracker.full_detections == 2
    assert len(tracker.detect(scene())) == 1  # no tracks left: a full detection finds it again
    assert tracker.full_detections == 3


def test_the_whole_frame_is_searched_every_full_every_frames(inner):
    tracker = TrackingDetector(inner, full_every=4)
    for _ in range(8):
        tracker.detect(scene())
    assert tracker.full_detections == 2


def test_window_is_the_face_grown_by_the_margin_and_clamped():
    tracker = TrackingDetector(HaarDetector(), margin=0.5, face_px=50)
    win = tracker.window(Face(10, 100, 100, 100), (240, 320))
    assert (win.x, win.y, win.w, win.h) == (0, 50, 160, 190)
    assert win.scale == pytest.approx(0.5)


def test_window_maps_faces_back_to_frame_pixels():
    win = Window(100, 50, 200, 200, 0.5)
    assert win.to_frame(Face(10, 20, 30, 30, 0.9)) == Face(120, 90, 60, 60, 0.9)


def test_name_says_what_it_wraps():
    assert TrackingDetector(HaarDetector()).name == "haar+track"


def test_full_every_must_be_positive():
    with pytest.raises(ValueError):
        TrackingDetector(HaarDetector(), full_every=0)


class Counting:
    """A real detector that counts its calls (to see which one the tracker used)."""

    def __init__(self, inner) -> None:
        self.inner, self.calls, self.name = inner, 0, inner.name

    def detect(self, image):
        self.calls += 1
        return self.inner.detect(image)

    def reliable_min_px(self, frame_w):
        return self.inner.reliable_min_px(frame_w)


def test_an_empty_room_is_searched_only_every_search_every_frames():
    full = Counting(BlazeFaceDetector(DetectorConfig()))
    tracker = TrackingDetector(full, full_every=15, search_every=5)
    empty = np.zeros((240, 320), np.uint8)
    for _ in range(20):
        assert tracker.detect(empty) == []
    assert full.calls == 4


def test_someone_entering_an_empty_room_is_found_within_search_every_frames():
    tracker = TrackingDetector(BlazeFaceDetector(DetectorConfig()), full_every=15, search_every=5)
    for _ in range(3):
        tracker.detect(np.zeros((240, 320), np.uint8))
    found_at = next(i for i in range(10) if tracker.detect(scene()))
    assert found_at < 5


def test_known_faces_are_followed_with_the_local_detector_not_the_full_search():
    full = Counting(BlazeFaceDetector(DetectorConfig()))
    local = Counting(BlazeFaceDetector(DetectorConfig()))
    tracker = TrackingDetector(full, full_every=30, local=local)
    for _ in range(6):
        assert len(tracker.detect(scene())) == 1
    assert full.calls == 1 and local.calls == 5


# --- how each plug-in asks to be followed (make_detector names none of them) ------------------------

def made(kind: str, **changes):
    from edge.detectors.make import make_detector

    return make_detector(DetectorConfig(kind=kind, **changes))


def test_haar_is_followed_by_itself_in_a_small_window():
    tracker = made("haar")
    assert isinstance(tracker, TrackingDetector)
    assert (tracker.face_px, tracker.local, tracker.search_every, tracker.motion) == (32, tracker.inner, 1, None)


@pytest.mark.parametrize("kind", ["blazeface", "blazeface_full", "blazeface_scan", "blazeface_motion"])
def test_every_blazeface_plugin_follows_a_face_with_the_128_model_without_a_size_floor(kind):
    tracker = made(kind, min_confidence=0.7)
    assert isinstance(tracker.local, BlazeFaceDetector)
    assert tracker.local.cfg.min_size == 1 and tracker.local.cfg.min_confidence == 0.5
    assert tracker.face_px == 64


def test_the_whole_frame_scan_searches_an_empty_room_every_third_of_full_every():
    tracker = made("blazeface_scan", full_every=15)
    assert (tracker.full_every, tracker.search_every, tracker.motion) == (15, 5, None)


def test_the_motion_plugin_is_followed_on_its_own_schedule_with_its_own_motion_settings():
    from edge.detectors.blazeface_motion import BlazeFaceMotionOptions

    options = BlazeFaceMotionOptions(full_every=90, idle_every=200, motion_threshold=30, mask=[[0, 0, 0.5, 0.5]])
    tracker = made("blazeface_motion", options={"blazeface_motion": options})
    assert (tracker.full_every, tracker.search_every) == (90, 200)
    assert tracker.motion.settings.motion_threshold == 30 and tracker.motion.settings.mask == [[0, 0, 0.5, 0.5]]


def test_without_track_the_plugin_is_used_as_it_is():
    assert isinstance(made("haar", track=False), HaarDetector)
