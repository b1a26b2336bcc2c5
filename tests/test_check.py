"""``mood-edge check``: on a file source, it says in words how many faces, how wide, how far, and
whether that is in reach — and it never writes a pixel anywhere."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.commands.bench.scenes import compose, cover, people, scenes
from edge.geometry import face_px


def clip(path, distance: float | None, width: int = 1280, height: int = 960, frames: int = 12) -> None:
    """A short video of a real empty scene, with the astronaut at ``distance`` (None: nobody)."""
    rng = np.random.default_rng(5)
    scene = cover(scenes()[0][1], width, height)
    frame = compose(scene, people()[0], face_px(distance, width), rng)[0] if distance else scene
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 15, (width, height))
    for _ in range(frames):
        writer.write(frame)
    writer.release()


def files_under(folder):
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_a_face_on_the_sofa_is_counted_measured_and_placed(cli, tmp_path):
    video = tmp_path / "sofa.mp4"
    clip(video, 3.5)
    before = files_under(tmp_path)
    result = cli("check", "--camera", f"file:{video}", "--seconds", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Faces: 1 in most frames" in result.stdout
    px, metres = re.search(r"face 1: (\d+) px wide, about ([\d.]+) m away", result.stdout).groups()
    assert abs(int(px) - face_px(3.5, 1280)) <= 8 and 3.0 <= float(metres) <= 4.0
    assert "inside the reliable range" in result.stdout
    assert files_under(tmp_path) == before  # nothing saved


def test_the_sample_clips_close_up_and_sofa_faces_are_reported_as_separate_faces(cli):
    from edge.paths import sample_clip

    result = cli("check", "--camera", f"file:{sample_clip()}", "--seconds", "25")
    assert result.returncode == 0, result.stderr
    metres = [float(m) for m in re.findall(r"face \d+: \d+ px wide, about ([\d.]+) m away", result.stdout)]
    assert any(m < 1.5 for m in metres), result.stdout  # the close-up smile
    assert sum(1 for m in metres if m > 2.5) >= 2, result.stdout  # the two people on the sofa
    assert len(metres) <= 5, result.stdout  # one line a face, not one a frame


def test_a_face_beyond_reach_gets_advice_on_what_to_change(cli, tmp_path):
    video = tmp_path / "far.mp4"
    clip(video, 3.0, width=640, height=480)
    result = cli("check", "--camera", f"file:{video}", "--detector", "blazeface", "--seconds", "1")
    assert result.returncode == 1
    assert "No face" in result.stdout or "below the" in result.stdout
    assert "What to change:" in result.stdout
    assert 'detector.kind = "blazeface_motion"' in result.stdout and "camera.width/height" in result.stdout


def test_an_empty_room_says_so_and_how_to_try_again(cli, tmp_path):
    video = tmp_path / "empty.mp4"
    clip(video, None, width=640, height=480, frames=6)
    result = cli("check", "--camera", f"file:{video}", "--seconds", "1")
    assert result.returncode == 1
    assert "No face in any of the" in result.stdout and "sit where people usually sit" in result.stdout


def test_the_reach_of_the_settings_is_stated_in_metres(cli, tmp_path):
    video = tmp_path / "sofa.mp4"
    clip(video, 2.0, frames=4)
    result = cli("check", "--camera", f"file:{video}", "--seconds", "1")
    reach = float(re.search(r"up to about ([\d.]+) m with a 62 deg lens", result.stdout).group(1))
    # the default detector on a 1280-wide file: scanned at 1120, a 23 px face there (26 px: ~6.4 m)
    assert 4.5 <= reach <= 6.5


@pytest.mark.parametrize("seconds", ["0", "-1", "1000"])
def test_a_bad_duration_is_a_one_line_error(cli, seconds):
    result = cli("check", "--camera", "file:nothing.mp4", "--seconds", seconds)
    assert result.returncode == 2 and "--seconds: got" in result.stderr and "Traceback" not in result.stderr


def test_a_missing_video_is_a_one_line_error(cli, tmp_path):
    result = cli("check", "--camera", f"file:{tmp_path / 'none.mp4'}")
    assert result.returncode == 2 and "no such video file" in result.stderr


def test_a_tv_playing_in_view_gets_a_mask_line_proposed(cli, tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
    import make_scene_clips  # noqa: PLC0415

    video = make_scene_clips.write(tmp_path / "tv.mp4", make_scene_clips.tv(30))
    result = cli("check", "--camera", f"file:{video}", "--seconds", "2")
    assert "Part of the picture moved in most frames" in result.stdout, result.stdout
    box = [float(v) for v in re.search(r"mask = \[\[([\d., ]+)\]\]", result.stdout).group(1).split(",")]
    tx, ty, tw, th = make_scene_clips.TV  # where the clip's TV is, to a motion cell (5% of the frame)
    assert box[0] <= tx and box[1] <= ty and box[0] + box[2] >= tx + tw and box[1] + box[3] >= ty + th
    assert box[2] <= tw + 0.15 and box[3] <= th + 0.15
