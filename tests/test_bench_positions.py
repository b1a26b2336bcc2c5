"""``mood-edge bench --distance --positions``: a face is found wherever it sits in the frame.

Real faces in real empty scenes, placed at the corners, the middle of the edges and the centre, and
in groups; the default detector (the motion-gated scan, answering each still with its whole-frame
search) reads the Pi camera's lores stream. Counts are asserted, never times.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edge import config
from edge.commands.bench.distance import CameraView
from edge.commands.bench.positions import POSITIONS, build_shots, evaluate
from edge.detectors.make import make_detector

ROOT = Path(__file__).resolve().parents[1]


def test_every_position_keeps_the_whole_face_inside_the_frame():
    shots = build_shots(1280, 960, (0.5, 5.0), groups=(3,))
    seats = [s for s in shots if s.position in POSITIONS]
    assert {s.position for s in seats} == set(POSITIONS)
    for s in seats:
        (x, y, w, h), = s.truths
        assert 0 <= x and x + w <= 1280 and 0 <= y and y + h <= 960
    corners = [s.truths[0] for s in seats if s.position == "bottom-right" and s.distance == 5.0]
    assert all(x + w >= 1280 - 4 and y + h >= 960 - 4 for x, y, w, h in corners)
    groups = [s for s in shots if s.position == "group of 3"]
    assert groups and all(len(s.truths) == 3 for s in groups)


@pytest.mark.parametrize("distance", [1.0, 5.0])
def test_the_default_detector_finds_a_face_at_every_position(distance):
    cfg = config.Config()
    cfg.detector.num_threads = 1
    view = CameraView((cfg.camera.lores_width, cfg.camera.lores_height))
    result = evaluate(lambda: make_detector(cfg.detector), build_shots(1280, 960, (distance,)), view, empty=6)
    row = result["rows"][f"{distance:g}"]
    assert row["worst_pct"] == 100.0, row
    assert row["groups_pct"] == 100.0, row
    assert result["empty_frames_with_a_face"] == 0


def test_stage_cost_feeds_the_real_picamera2_source_both_streams():
    """tools/pi/stage_cost.py --picamera2 (the instruction counts' driver), run uncounted: the scenes
    reach the daemon's pipeline through Picamera2Source's main and lores YUV420 buffers."""
    out = subprocess.run([sys.executable, "tools/pi/stage_cost.py", "--picamera2", "--scenes", "empty:2,one:3",
                          "--warmup", "1"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "scene empty 1 2 start 0" in lines and "scene one 4 6 start 3 in_view 3" in lines
    faces = {int(w[1]): int(w[3]) for w in (line.split() for line in lines if line.startswith("frame "))}
    assert [faces[i] for i in (0, 1, 2)] == [0, 0, 0] and all(faces[i] == 1 for i in (3, 4, 5, 6))
    assert "size 1280x960+lores800x600" in lines[-1]


def test_stage_cost_reads_scenes_built_elsewhere_and_measures_the_tv_once_left_out(tmp_path):
    """The emulated Pi has no scikit-image: tools/pi/pi_scenes.py writes the buffers here and
    stage_cost.py --scene-dir reads them; the TV's measured frames come after it is left out."""
    built = subprocess.run([sys.executable, "tools/pi/pi_scenes.py", str(tmp_path), "--scenes", "one:2,tv:3"],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    out = subprocess.run([sys.executable, "tools/pi/stage_cost.py", "--picamera2", "--scene-dir", str(tmp_path),
                          "--scenes", "one:2,tv:3", "--warmup", "0"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "scene one 0 1 start 0 in_view 0" in lines
    assert "scene tv 22 24 start 2 left_out 1 restless_frames 10" in lines
    faces = {int(w[1]): int(w[3]) for w in (line.split() for line in lines if line.startswith("frame "))}
    assert faces[0] == faces[1] == 1 and not any(faces[i] for i in range(22, 25))
