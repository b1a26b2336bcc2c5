"""``mood-edge bench --distance``: real faces at their width at 1-5 m in real empty scenes.

The figures asserted are counts on a small fixed (seeded) set — faces found, false faces on empty
scenes, agreement of the classifier with its reading of the face seen large — never timings. The
floors are what the appliance promises for a sofa (>= 95% found at 0.5-4 m, >= 90% at 5 m, <= 1% empty
frames with a face; docs/detectors.md) read on this small set.
"""

from __future__ import annotations

import json

import pytest

from edge import config
from edge.commands.bench.distance import CameraView, Variant, evaluate, reference_labels
from edge.commands.bench.scenes import build_set, people, scenes
from edge.classify.classifier import Classifier
from edge.detectors.make import make_detector
from edge.geometry import distance_m, face_px

WIDTH, HEIGHT = 1280, 960
DISTANCES = (0.5, 1.0, 2.0, 3.5, 4.0, 5.0)
PER_DISTANCE = 8
EMPTY = 12


def test_face_width_follows_the_camera_geometry():
    # docs/detectors.md: 640 px wide, Camera Module v2 (62 deg)
    assert [round(face_px(d, 640)) for d in (1, 2, 3, 3.5, 4)] == [80, 40, 27, 23, 20]
    assert round(face_px(3.5, 1280)) == 46
    assert distance_m(face_px(2.7, 1280), 1280) == pytest.approx(2.7)
    assert face_px(3.5, 1280, hfov_deg=102) < face_px(3.5, 1280, hfov_deg=66) < face_px(3.5, 1280)


def test_the_set_uses_real_people_and_real_empty_scenes():
    assert {"astronaut", "astronaut_mirrored"} <= {p.name for p in people()}
    assert len(scenes()) >= 4
    samples = build_set(640, 480, (1.0, 4.0), per_distance=4, empty=3)
    assert len(samples) == 4 * 2 + 3
    for s in samples[:8]:
        x, y, w, h = s.truth
        assert abs(w - face_px(s.distance, 640)) <= 1
        assert 0 <= x and x + w <= 640 and 0 <= y and y + h <= 480
        assert s.frame.shape == (480, 640, 3)
    assert all(s.truth is None for s in samples[8:])


def test_the_same_seed_builds_the_same_frames():
    a = build_set(320, 240, (2.0,), per_distance=3, empty=1)
    b = build_set(320, 240, (2.0,), per_distance=3, empty=1)
    assert all((x.frame == y.frame).all() and x.truth == y.truth for x, y in zip(a, b))


@pytest.fixture(scope="module")
def small_set():
    cfg = config.Config()
    samples = build_set(WIDTH, HEIGHT, DISTANCES, PER_DISTANCE, EMPTY, cfg.camera.hfov_deg)
    classifier = Classifier(cfg.model.path, 1, cfg.model.labels)
    return cfg, samples, classifier, reference_labels(classifier)


@pytest.fixture(scope="module")
def default_result(small_set):
    cfg, samples, classifier, refs = small_set
    view = CameraView((cfg.camera.lores_width, cfg.camera.lores_height))  # the Pi camera's lores stream
    return evaluate(Variant("default", "default", lambda: make_detector(cfg.detector)), samples, view,
                    classifier, refs)


@pytest.mark.parametrize("distance,floor", [(0.5, 8), (1.0, 8), (2.0, 8), (3.5, 8), (4.0, 8), (5.0, 7)])
def test_the_default_settings_find_faces_from_half_a_metre_to_five(default_result, distance, floor):
    row = default_result["rows"][f"{distance:g}"]
    assert row["frames"] == PER_DISTANCE
    assert row["found"] >= floor, row


def test_the_default_settings_see_no_face_in_empty_rooms(default_result):
    row = default_result["rows"]["empty"]
    assert row["frames"] == EMPTY and row["false_faces"] == 0, row


def test_distant_faces_are_read_as_the_same_face_seen_large(default_result):
    read = sum(row["read"] for k, row in default_result["rows"].items() if k != "empty")
    agree = sum(row["agree"] for k, row in default_result["rows"].items() if k != "empty")
    assert read >= 40 and agree >= 0.85 * read


def test_the_old_default_fed_grey_finds_nobody_on_the_sofa(small_set):
    """The old default (docs/detectors.md, "Before"): BlazeFace short-range on the grey plane, whole frame in 128x128."""
    cfg, samples, classifier, refs = small_set
    old = config.DetectorConfig(kind="blazeface", track=False)
    far = [s for s in samples if s.distance in (3.5, 4.0)]
    result = evaluate(Variant("old", "old", lambda: make_detector(old), color=False), far, CameraView(None),
                      None, refs)
    assert sum(row["found"] for row in result["rows"].values()) == 0


def test_bench_distance_writes_its_table_and_json(cli, tmp_path):
    out = tmp_path / "distance.json"
    result = cli("bench", "--distance", "--distances", "1,4", "--per-distance", "2", "--empty", "2",
                 "--only", "default,blazeface", "--no-progress", "--json", str(out), timeout=600)
    assert result.returncode == 0, result.stderr
    assert "| default (blazeface_motion + tracking) |" in result.stdout
    assert "end to end, one face at 3.5 m" in result.stdout
    report = json.loads(out.read_text())
    assert [d["key"] for d in report["detectors"]] == ["default", "blazeface"]
    assert report["capture"] == [1280, 960] and report["detector_input"] == [800, 600]
    assert set(report["detectors"][0]["rows"]) == {"1", "4", "empty"}
    e2e = report["end_to_end"]
    assert e2e["default"]["median_ms"] > 0 and e2e["today"]["median_ms"] > 0
    assert e2e["default"]["found_pct"] >= 95 and e2e["today"]["found_pct"] == 0  # one face at 3.5 m
    assert e2e["empty_room"]["frames"] >= 60 and e2e["empty_room"]["frames_with_a_face"] == 0
    assert "empty rooms, frame after frame" in result.stdout


def test_bench_distance_refuses_bad_distances(cli):
    result = cli("bench", "--distance", "--distances", "1,far")
    assert result.returncode == 2 and "--distances: got '1,far'" in result.stderr


def test_without_scikit_image_it_says_what_to_install(cli, tmp_path):
    stubs = tmp_path / "blocked" / "skimage"
    stubs.mkdir(parents=True)
    (stubs / "__init__.py").write_text("raise ImportError('skimage is blocked for this test')\n")
    result = cli("bench", "--distance", "--per-distance", "1", "--empty", "1", "--no-progress",
                 env={"PYTHONPATH": str(stubs.parent)})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "needs scikit-image" in result.stderr and "pip install scikit-image" in result.stderr
