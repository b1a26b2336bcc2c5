"""Motion gating: the costly face scan runs only where and when something moved (blazeface_motion).

Real OpenCV, the real BlazeFace model, real photographs (the distance benchmark's empty scenes and
public-domain people). Counts of scans are asserted, never times.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest

from edge.commands.bench.scenes import compose, cover, people, scenes
from edge.config import DetectorConfig, load
from edge.errors import ConfigError
from edge.detectors.make import make_detector
from edge.detectors.blazeface_motion import BlazeFaceMotionOptions
from edge.geometry import face_px
from edge.motion import MotionDetector, MotionSettings

W, H = 800, 600  # the Pi camera's lores stream, what the detector reads


@pytest.fixture(scope="module")
def room() -> np.ndarray:
    return cover(dict(scenes())["coffee"], W, H)


def gated(**options):
    opts = {"blazeface_motion": BlazeFaceMotionOptions(**options)} if options else {}
    return make_detector(DetectorConfig(kind="blazeface_motion", num_threads=1, options=opts))


def lit(image: np.ndarray, gain: float) -> np.ndarray:
    return np.clip(image.astype(np.float32) * gain, 0, 255).astype(np.uint8)


def with_person(room: np.ndarray, distance: float, seed: int = 3) -> tuple[np.ndarray, tuple]:
    return compose(room, people()[0], face_px(distance, W), np.random.default_rng(seed))


def paste(room: np.ndarray, person: np.ndarray, box: tuple, dx: int) -> np.ndarray:
    """The person's face-and-shoulders area of ``person`` moved ``dx`` pixels right onto ``room``."""
    x, y, w, h = box
    x0, y0, x1, y1 = max(0, x - w), max(0, y - h // 2), min(W, x + 2 * w), min(H, y + 3 * h)
    out = room.copy()
    out[y0:y1, x0 + dx:x1 + dx] = person[y0:y1, x0:x1]
    return out


def test_an_unchanged_frame_runs_no_face_detector(room):
    det = gated()
    for _ in range(12):
        assert det.detect(room) == []
    assert det.full_detections == 1  # the first frame: nothing to compare it with yet
    assert det.region_scans == 0


def test_the_whole_frame_is_still_scanned_every_idle_every_frames(room):
    det = gated(idle_every=5)
    for _ in range(11):
        det.detect(room)
    assert det.full_detections == 3


def tile_runs_a_frame(det, frames: list[np.ndarray]) -> tuple[list[int], list[list]]:
    """Runs of the scan's tile-sized interpreter (the real model) in each frame, and the faces found."""
    from edge.detectors.tiles import TILE

    net = det.inner.nets.get(*TILE)
    calls = []
    real_run = net.run

    def run(*args, **kwargs):
        calls.append(1)
        return real_run(*args, **kwargs)

    net.run = run
    runs, found = [], []
    for frame in frames:
        calls.clear()
        found.append(det.detect(frame))
        runs.append(len(calls))
    return runs, found


def test_a_scheduled_whole_frame_look_reads_one_tile_a_frame_and_finds_who_sat_still(room):
    person, box = with_person(room, 4.0)  # 25 px: only the upscaled look reads it
    det = gated(idle_every=5, mask=[[0, 0, 1, 1]])  # no motion anywhere: only the scheduled look sees
    runs, found = tile_runs_a_frame(det, [room] + [person] * 9)
    assert runs[0] == 4  # the first frame: the whole look at once (2 x 2 tiles at 800x600)
    assert runs[1:5] == [0, 0, 0, 0]
    assert runs[5:9] == [1, 1, 1, 1]  # the scheduled look, a tile a frame
    assert det.full_detections == 2
    first = next(i for i, faces in enumerate(found) if faces)
    assert 5 <= first <= 8 and all(len(faces) == 1 for faces in found[first:])
    assert found[-1][0].iou(type(found[-1][0])(*box)) > 0.3


@pytest.mark.parametrize("gain", [1.3, 0.6], ids=["brighter", "darker"])
def test_a_global_lighting_change_is_not_motion(room, gain):
    motion = MotionDetector()
    motion.update(room)
    motion.update(room)
    assert motion.update(lit(room, gain)) == []
    assert motion.update(lit(room, gain)) == []


def test_a_flickering_picture_is_not_motion(room):
    det = gated()
    for i in range(12):
        det.detect(lit(room, 1.25) if i % 2 else room)
    assert (det.full_detections, det.region_scans) == (1, 0)


def test_camera_noise_is_not_motion(room):
    rng = np.random.default_rng(5)
    motion = MotionDetector()
    for _ in range(8):
        noisy = np.clip(room.astype(np.int16) + rng.normal(0, 3, room.shape).astype(np.int16), 0, 255)
        assert motion.update(noisy.astype(np.uint8)) == []


def test_a_one_frame_glitch_is_not_motion(room):
    motion = MotionDetector()
    motion.update(room)
    glitch = room.copy()
    glitch[200:300, 300:420] = 255
    assert motion.update(glitch) == []
    assert motion.update(room) == []  # it went away: never reported


def test_a_tv_in_a_masked_region_is_never_motion(room):
    def tv_on(i: int) -> np.ndarray:
        frame = room.copy()
        frame[60:240, 80:320] = 20  # the screen, showing a bright shape that moves
        frame[100:160, 90 + 30 * i:150 + 30 * i] = 230
        return frame

    unmasked = MotionDetector()
    masked = MotionDetector(MotionSettings(mask=[[0.08, 0.08, 0.34, 0.34]]))
    seen_unmasked = seen_masked = 0
    for i in range(6):
        frame = tv_on(i)
        seen_unmasked += len(unmasked.update(frame))
        seen_masked += len(masked.update(frame))
    assert seen_unmasked > 0
    assert seen_masked == 0


def test_a_person_walking_in_is_found_where_they_moved(room):
    person, box = with_person(room, 3.0)
    det = gated()
    det.detect(room)
    found = []
    for dx in (-60, -40, -20, 0, 0):
        found = det.detect(paste(room, person, box, dx))
    assert len(found) == 1
    face = found[0]
    assert abs(face.center[0] - (box[0] + box[2] / 2)) < box[2]
    assert det.full_detections == 1 and det.region_scans >= 1


def test_a_person_who_appears_and_stays_still_is_found_the_next_frame(room):
    person, box = with_person(room, 2.0)
    det = gated()
    det.detect(room)
    det.detect(room)
    assert det.detect(person) == []  # the change is one frame old: not yet motion
    faces = det.detect(person)
    assert len(faces) == 1 and faces[0].iou(type(faces[0])(*box)) > 0.3
    assert det.full_detections == 1


def test_a_tracked_face_keeps_being_refined_without_scans(room):
    person, box = with_person(room, 2.0)
    det = gated()
    assert len(det.detect(person)) == 1
    for _ in range(8):
        assert len(det.detect(person)) == 1
    assert (det.full_detections, det.region_scans) == (1, 0)


@pytest.mark.parametrize("distance", [0.5, 1.0])
def test_someone_close_to_the_camera_is_found_by_the_close_look_not_the_whole_frame_look(room, distance):
    person, box = with_person(room, distance)
    det = gated()
    det.detect(room)
    det.detect(room)
    det.detect(person)  # one frame old: not yet motion
    faces = det.detect(person)
    assert len(faces) == 1 and faces[0].iou(type(faces[0])(*box)) > 0.3
    assert (det.full_detections, det.near_looks) == (1, 1)


def test_most_of_the_frame_changing_with_no_one_close_gets_the_whole_frame_look_next(room):
    elsewhere = cover(dict(scenes())["brick"], W, H)
    det = gated()
    det.detect(room)
    det.detect(room)
    for _ in range(3):
        assert det.detect(elsewhere) == []
    assert (det.near_looks, det.full_detections) == (1, 2)


def with_block_moving(room: np.ndarray, person: np.ndarray, box: tuple, half: tuple[int, int]) -> np.ndarray:
    """The room with a block around the face changed (inverted), the person's head and shoulders in it."""
    x, y, w, h = box
    frame = room.copy()
    ys, xs = slice(max(0, y - half[1]), y + half[1]), slice(max(0, x - half[0]), x + w + half[0])
    frame[ys, xs] = 255 - room[ys, xs]
    head = (slice(y - h // 2, y + 2 * h), slice(x - w // 2, x + w + w // 2))
    frame[head] = person[head]
    return frame


@pytest.mark.parametrize("half", [(110, 100), (250, 200)], ids=["a large region", "most of the frame"])
def test_a_far_face_in_a_large_moving_area_is_read_whole_on_the_next_frame(room, half):
    person, box = with_person(room, 5.0)  # 20 px: too small for the close look
    det = gated()
    det.detect(room)
    det.detect(room)
    frame = with_block_moving(room, person, box, half)
    found = [det.detect(frame) for _ in range(4)]
    assert [len(f) for f in found] == [0, 0, 1, 1]  # motion persists one frame, the close look, then whole
    assert found[2][0].iou(type(found[2][0])(*box)) > 0.3


def test_near_width_0_keeps_the_whole_frame_look_when_most_of_the_frame_moves(room):
    person, _ = with_person(room, 1.0)
    det = gated(near_width=0)
    for frame in (room, room, person, person):
        det.detect(frame)
    assert (det.near_looks, det.full_detections) == (0, 2)


def test_a_person_who_leaves_is_dropped(room):
    person, _ = with_person(room, 2.0)
    det = gated()
    det.detect(person)
    det.detect(room)
    assert det.detect(room) == []


def test_motion_options_are_read_from_the_config(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[detector]\nkind = "blazeface_motion"\n[detector.blazeface_motion]\n'
                    'idle_every = 30\nmask = [[0.1, 0.1, 0.3, 0.2]]\n')
    options = load(path).detector.options["blazeface_motion"]
    assert options.idle_every == 30 and options.mask == [[0.1, 0.1, 0.3, 0.2]]
    assert dataclasses.asdict(options)["full_every"] == 150


def test_a_mask_outside_the_frame_is_a_clear_config_error(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[detector.blazeface_motion]\nmask = [[0.5, 0.5, 2, 0.2]]\n')
    with pytest.raises(ConfigError) as err:
        load(path)
    assert "mask" in str(err.value) and "fraction" in str(err.value)


def test_a_lamp_switched_on_is_looked_at_once_and_is_no_face(room):
    lamp = room.copy()
    lamp[380:480, 600:680] = (200, 235, 250)  # a lampshade, lit
    det = gated()
    det.detect(room)
    det.detect(room)
    for _ in range(8):
        assert det.detect(lamp) == []
    assert det.full_detections == 1 and det.region_scans <= 1


def playing_tv(room: np.ndarray, i: int, rng: np.random.Generator) -> np.ndarray:
    """A TV in view playing a noisy, changing picture (no one masked it)."""
    frame = room.copy()
    frame[60:240, 80:320] = rng.integers(0, 256, (180 // 12, 240 // 12, 1), dtype=np.uint8).repeat(12, 0).repeat(12, 1)
    return frame


def test_a_region_that_keeps_moving_is_left_out_then_watched_again_when_it_stops(room, caplog):
    caplog.set_level(logging.INFO, logger="edge.detectors.motion")
    rng = np.random.default_rng(5)
    motion = MotionDetector(MotionSettings(restless_frames=20))
    reported = [len(motion.update(playing_tv(room, i, rng))) for i in range(80)]
    assert all(reported[2:10]), "a TV that just started playing is motion"
    assert not any(reported[50:]), "after ~1.6 x restless_frames of motion it is left out"
    left_out = [r.getMessage() for r in caplog.records if "keeps moving" in r.getMessage()]
    assert len(left_out) == 1, left_out  # said once, not every frame
    still = playing_tv(room, 0, np.random.default_rng(6))
    for _ in range(40):  # the TV switched off (a still picture): its share of moving frames falls
        motion.update(still)
    assert sum("still again" in r.getMessage() for r in caplog.records) == 1
    person, box = with_person(room, 3.0)
    person[60:240, 80:320] = still[60:240, 80:320]
    moving = [motion.update(frame) for frame in (still, person, person)]
    assert moving[-1], "someone moving where the TV was is motion again"


def test_a_playing_tv_stops_costing_a_region_scan_every_frame(room):
    rng = np.random.default_rng(7)
    det = gated(restless_frames=10)
    scans = []
    for i in range(60):
        before = det.region_scans
        det.detect(playing_tv(room, i, rng))
        scans.append(det.region_scans - before)
    assert sum(scans[:10]) >= 5 and sum(scans[30:]) == 0


def test_check_proposes_a_mask_for_a_region_that_moved_in_most_frames(room):
    rng = np.random.default_rng(8)
    motion = MotionDetector()
    for i in range(30):
        motion.update(playing_tv(room, i, rng))
    x, y, w, h = motion.restless.busy()  # the screen: [0.1, 0.1, 0.3, 0.3], to a cell (5% of the frame)
    assert 0.04 <= x <= 0.1 and 0.04 <= y <= 0.1 and 0.4 <= x + w <= 0.5 and 0.4 <= y + h <= 0.5
