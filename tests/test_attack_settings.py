"""Issue 34, rows 1, 3 and 8: settings at their edges, on the real daemon (``python -m edge run``).

* ``[camera] fps = 1e-308`` was an ``OverflowError: timestamp out of range`` traceback from the
  frame-pacing wait; ``retry_s = retry_max_s = 1e-308`` on a missing camera reopened it in a busy
  loop (399,407 OpenCV warning lines in 8 s). One rule now: every duration is at least
  ``MIN_SECONDS`` (0.1 s) and a rate's period at most an hour.
* ``mask = [[1, 1, 1, 1]]`` masked nothing, silently; ``topic_prefix = "$SYS/x"`` was accepted and the
  broker dropped every publish. Both are one-line errors now.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from cli_helpers import one_line_error
from daemon_helpers import FAST, ROOT, astronaut_folder, daemon_cmd, start_daemon
from edge.config import check_value
from edge.errors import ConfigError
from edge.fields import MIN_SECONDS

#: every setting that is a duration in seconds
DURATIONS = ("camera.retry_s", "camera.retry_max_s", "mood.nobody_after_s", "mqtt.heartbeat_s",
             "mqtt.reconnect_min_s", "mqtt.reconnect_max_s")


def run_with(tmp_path, toml: str, *extra: str, timeout: float = 120) -> subprocess.CompletedProcess:
    config = tmp_path / "config.toml"
    config.write_text(toml)
    return subprocess.run(daemon_cmd(config, f"dir:{astronaut_folder(tmp_path, n=1)}", "", "edge", tmp_path / "state",
                                     *extra), capture_output=True, text=True, cwd=ROOT, timeout=timeout)


def test_attack_fps_1e_308_is_one_line_naming_camera_fps(tmp_path):
    run = run_with(tmp_path, "[camera]\nfps = 1e-308\n", "--frames", "1")
    one_line_error(run, "config.toml: camera.fps: got 1e-308", "one every 3600 s")


def test_attack_fps_1e_308_on_the_command_line_is_one_line_too(tmp_path):
    one_line_error(run_with(tmp_path, FAST, "--fps", "1e-308"), "command line: camera.fps")


@pytest.mark.parametrize("key", DURATIONS)
def test_attack_every_duration_of_1e_308_is_refused_by_one_rule(key):
    with pytest.raises(ConfigError, match=rf"{key}: got 1e-308 \(expected {MIN_SECONDS} to \d+ seconds\)"):
        check_value(key, 1e-308)
    assert check_value(key, MIN_SECONDS) == MIN_SECONDS


def test_attack_fps_at_its_floor_waits_an_hour_and_still_stops_at_once_on_sigterm(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(FAST.replace("fps = 30", f"fps = {1 / 3600!r}"))
    log = tmp_path / "daemon.log"
    proc = start_daemon(daemon_cmd(config, f"dir:{astronaut_folder(tmp_path)}", "", "edge", tmp_path / "state",
                                   "--loop"), log_path=log)
    try:
        deadline = time.monotonic() + 120
        while "running: camera" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()[-2000:]
            time.sleep(0.2)
        time.sleep(1)  # in the hour-long wait for the second frame
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()[-2000:]
    finally:
        proc.kill()
        proc.wait()
    assert "stopping after 1 frames" in log.read_text() and "Traceback" not in log.read_text()


def test_attack_retry_s_1e_308_on_a_missing_camera_is_one_line_naming_camera_retry_s(tmp_path):
    run = run_with(tmp_path, "[camera]\nretry_s = 1e-308\nretry_max_s = 1e-308\n", "--camera", "v4l2:/dev/video-gone")
    one_line_error(run, "camera.retry_s: got 1e-308", f"{MIN_SECONDS} to 3600 seconds")


def test_attack_a_missing_camera_retried_at_the_floor_is_not_a_log_flood(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f"[camera]\nretry_s = {MIN_SECONDS}\nretry_max_s = {MIN_SECONDS}\n")
    log = tmp_path / "daemon.log"
    proc = start_daemon([sys.executable, "-m", "edge", "run", "--config", str(config), "--camera", "v4l2:/dev/video-gone",
                         "--broker", "", "--state-dir", str(tmp_path / "state")], log_path=log)
    try:
        deadline = time.monotonic() + 120
        while "camera down" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()[-2000:]
            time.sleep(0.2)
        time.sleep(3)  # ~30 reopening attempts at the floor
        assert proc.poll() is None  # it keeps trying
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        proc.kill()
        proc.wait()
    text = log.read_text()
    assert "WARN" not in text.replace("WARNING", "")  # OpenCV's own "[ WARN:0] can't open camera" lines
    assert len(text.splitlines()) < 15 and text.count("camera down") == 1, text[-3000:]


def test_attack_a_motion_mask_of_1_1_1_1_is_refused_in_one_line(tmp_path):
    run = run_with(tmp_path, FAST + "[detector.blazeface_motion]\nmask = [[1, 1, 1, 1]]\n", "--frames", "1")
    one_line_error(run, "detector.blazeface_motion.mask: got [[1.0, 1.0, 1.0, 1.0]]", "width and height > 0")


@pytest.mark.parametrize("mask", [[[0.5, 0.5, 0, 0.2]], [[0.9, 0, 0.5, 0.5]], [[0, 0, 1]]])
def test_attack_every_degenerate_mask_region_is_refused(mask):
    with pytest.raises(ConfigError, match="mask"):
        from edge.config import from_dict

        from_dict({"detector": {"kind": "blazeface_motion", "blazeface_motion": {"mask": mask}}})


@pytest.mark.parametrize("key,value", [("mqtt.topic_prefix", "$SYS/x"), ("mqtt.topic_prefix", "$share/g/x"),
                                       ("homeassistant.discovery_prefix", "$SYS")])
def test_attack_a_prefix_starting_with_dollar_is_refused(key, value):
    with pytest.raises(ConfigError, match=r"a leading '\$'"):
        check_value(key, value)


def test_attack_topic_prefix_dollar_sys_is_one_line_from_the_daemon(tmp_path):
    run = run_with(tmp_path, FAST.replace("[mqtt]\n", '[mqtt]\ntopic_prefix = "$SYS/x"\n'), "--frames", "1")
    one_line_error(run, "mqtt.topic_prefix: got '$SYS/x'", "a leading '$'")
