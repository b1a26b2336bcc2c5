"""The command line: man-page help, and one clear line plus a non-zero exit for every user mistake."""

import pytest

from cli_helpers import one_line_error
from daemon_helpers import astronaut_folder
from edge.paths import default_model


def test_help_reads_like_a_man_page(cli):
    run = cli("run", "--help")
    assert run.returncode == 0
    for word in ("--camera", "--broker", "--frames", "--loop", "--device-id", "Privacy", "SIGTERM"):
        assert word in run.stdout


def test_version(cli):
    run = cli("--version")
    assert run.returncode == 0 and run.stdout.startswith("mood-edge ")


def test_malformed_toml(cli, tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[mqtt\nbroker = 'x'\n")
    one_line_error(cli("run", "--config", str(cfg)), "bad.toml", "invalid TOML")


def test_wrong_type_in_the_config(cli, tmp_path):
    cfg = tmp_path / "wrong.toml"
    cfg.write_text("[camera]\nfps = 'fast'\n")
    one_line_error(cli("run", "--config", str(cfg)), "wrong.toml", "camera.fps", "expected a number")


def test_missing_model_file(cli, tmp_path):
    run = cli("run", "--model", str(tmp_path / "gone.tflite"), "--camera", f"dir:{tmp_path}", "--broker", "")
    one_line_error(run, "gone.tflite", "no such model file")


def test_truncated_model_file(cli, tmp_path):
    bad = tmp_path / "cut.tflite"
    bad.write_bytes(default_model().read_bytes()[:3000])
    (tmp_path / "cut.json").write_text(default_model().with_suffix(".json").read_text())
    run = cli("run", "--model", str(bad), "--camera", f"dir:{astronaut_folder(tmp_path)}", "--broker", "")
    one_line_error(run, "cut.json", "sha256")


def test_unreadable_camera_source(cli, tmp_path):
    run = cli("run", "--camera", f"file:{tmp_path / 'missing.mp4'}", "--broker", "",
              "--state-dir", str(tmp_path / "state"))
    one_line_error(run, "missing.mp4", "no such video file")


def test_unknown_source_scheme(cli):
    one_line_error(cli("run", "--camera", "rtsp://cam"), "camera.source", "expected")


def test_bad_broker_url(cli):
    one_line_error(cli("run", "--broker", "http://broker"), "mqtt.broker", "mqtt://")


@pytest.mark.parametrize("frames", ["0", "-3"])
def test_frames_must_be_positive(cli, frames):
    one_line_error(cli("run", "--frames", frames, "--broker", ""), "--frames")


@pytest.mark.parametrize("command", ["run", "watch", "bench", "demo", "check"])
def test_every_command_takes_the_config_as_dash_c(cli, command):
    run = cli(command, "--help")
    assert run.returncode == 0
    assert "-c PATH, --config PATH" in run.stdout, run.stdout
