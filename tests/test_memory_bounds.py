"""Memory bounded by design (issue 31): the detector's interpreters by bytes, frames by size and aspect,
and the real daemon's peak in a living room with a TV playing.

Real LiteRT interpreters on the shipped BlazeFace model, real OpenCV, the real daemon. Peak RSS is
measured on a real run (the budget is the house's: < 160 MB in any living-room scene); no timings.
"""

from __future__ import annotations

import logging
import sys

import cv2
import numpy as np
import pytest

from daemon_helpers import ROOT, daemon_cmd, fast_config, peak_rss
from edge.commands.bench.scenes import cover, scenes
from edge.config import DetectorConfig, load
from edge.detectors.blazeface_motion import BlazeFaceMotionDetector
from edge.detectors.tiles import TILE, net_bytes
from edge.errors import ConfigError
from edge.geometry import Box
from edge.sources.opencv import ImageFolderSource
from edge.sources.bounds import MAX_DETECT_PIXELS, FrameSizeError

sys.path.insert(0, str(ROOT / "tools"))
import make_scene_clips  # noqa: E402

#: the house's budget for the daemon's peak RSS in any living-room scene
DAEMON_BUDGET_MB = 160


@pytest.fixture(scope="module")
def room() -> np.ndarray:
    return cover(dict(scenes())["coffee"], 800, 600)


def test_the_interpreter_cache_stays_within_its_byte_budget_on_regions_of_many_sizes(room):
    det = BlazeFaceMotionDetector(DetectorConfig(kind="blazeface_motion"), num_threads=1)
    for w in (24, 100, 190, 330, 520, 800):
        for h in (30, 210, 600):
            det.detect_in(room, Box((800 - w) // 3, (600 - h) // 2, w, h))
            assert det.nets.bytes <= det.nets.budget, det.nets.sizes()
            assert all(nw <= TILE[0] and nh <= TILE[1] for nw, nh in det.nets.sizes())
    assert det.nets.budget < 3 * net_bytes(*TILE)  # a few tiles' worth, whatever the regions were


def test_a_tall_or_portrait_frame_is_bounded_in_the_detectors_memory_too(room):
    det = BlazeFaceMotionDetector(DetectorConfig(kind="blazeface_motion"), num_threads=1)
    det.detect(cv2.resize(room, (600, 1800)))
    assert det.nets.bytes <= det.nets.budget


def write(folder, name: str, image: np.ndarray):
    folder.mkdir(exist_ok=True)
    cv2.imwrite(str(folder / name), image)
    return folder


def test_a_frame_ten_times_taller_than_wide_is_refused_in_one_line(tmp_path, room):
    source = ImageFolderSource(str(write(tmp_path / "tall", "a.png", cv2.resize(room, (640, 6400)))))
    with source, pytest.raises(FrameSizeError) as err:
        source.read()
    assert "640x6400" in str(err.value) and "\n" not in str(err.value)


def test_the_daemon_stops_on_a_tall_clip_with_one_line(tmp_path, room):
    folder = write(tmp_path / "tall", "a.png", cv2.resize(room, (640, 6400)))
    mb, rc, err = peak_rss(daemon_cmd(fast_config(tmp_path), f"dir:{folder}", "", "tall", tmp_path / "state",
                                      "--frames", "3"))
    assert rc == 2, err
    assert "Traceback" not in err and [line for line in err.splitlines() if "640x6400" in line]
    assert mb < DAEMON_BUDGET_MB


def test_a_portrait_frame_is_shrunk_for_the_detector_and_said_once(tmp_path, room, caplog):
    caplog.set_level(logging.INFO, logger="edge.sources.bounds")
    portrait = cv2.resize(room, (1080, 1920))
    source = ImageFolderSource(str(write(tmp_path / "portrait", "a.png", portrait)), loop=True)
    with source:
        frames = [source.read() for _ in range(3)]
    for frame in frames:
        h, w = frame.detect_image.shape[:2]
        assert w * h <= MAX_DETECT_PIXELS and abs(w / h - 1080 / 1920) < 0.01
        assert frame.gray.shape == (1920, 1080)  # the classifier's crops keep every pixel
    assert sum("1080x1920" in r.getMessage() for r in caplog.records) == 1


def test_a_lores_stream_of_8192_lines_is_a_one_line_config_error(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[camera]\nlores_height = 8192\n")
    with pytest.raises(ConfigError) as err:
        load(path)
    assert "camera.lores_height" in str(err.value) and "\n" not in str(err.value)


def test_the_daemons_peak_with_a_tv_playing_in_view_is_within_budget(tmp_path):
    clip = make_scene_clips.write(tmp_path / "tv.mp4", make_scene_clips.tv(40))
    mb, rc, err = peak_rss(daemon_cmd(fast_config(tmp_path), f"file:{clip}", "", "tv", tmp_path / "state",
                                      "--loop", "--frames", "120", "--fps", "0"), timeout=600)
    assert rc == 0, err[-2000:]
    assert mb <= DAEMON_BUDGET_MB, f"peak RSS {mb} MB with a TV playing"
