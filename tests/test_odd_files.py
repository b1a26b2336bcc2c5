"""Odd files and values where the user names a file or a topic (issue 15): a FIFO, a device, a
huge file, an over-long or control-character topic, an unwritable debug folder. Each is a one-line
error and exit 2 at start-up, without hanging or reading gigabytes. The real CLI in a subprocess
(its timeout turns a hang into a failure)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from cli_helpers import one_line_error
from daemon_helpers import FAST, ROOT, astronaut_folder
from edge import config as config_mod
from edge.recommend.catalog import MAX_CATALOG_BYTES
from edge.errors import ConfigError


def run_edge(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edge", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout)


def config_file(tmp_path: Path, extra: str = "", mqtt: str = "") -> Path:
    p = tmp_path / "config.toml"
    p.write_text(FAST.replace("[mqtt]\n", "[mqtt]\n" + mqtt) + extra)
    return p


def fifo(tmp_path: Path, name: str) -> Path:
    p = tmp_path / name
    os.mkfifo(p)
    return p


def test_a_fifo_as_the_config_is_an_error_not_a_hang(tmp_path):
    p = fifo(tmp_path, "config.toml")
    one_line_error(run_edge("run", "--config", str(p), "--broker", ""), str(p), "is a FIFO")


def test_dev_zero_as_the_config_is_an_error_not_a_memory_error():
    one_line_error(run_edge("run", "--config", "/dev/zero", "--broker", ""), "/dev/zero", "is a device")


@pytest.mark.parametrize("kind", ["fifo", "device", "huge"])
def test_an_odd_catalog_is_an_error(tmp_path, kind):
    if kind == "fifo":
        catalog = fifo(tmp_path, "catalog.json")
        what = "is a FIFO"
    elif kind == "device":
        catalog, what = Path("/dev/zero"), "is a device"
    else:
        catalog = tmp_path / "catalog.json"
        with open(catalog, "wb") as f:  # sparse: no disk used, nothing to read
            f.truncate(MAX_CATALOG_BYTES + 1)
        what = "too large"
    cfg = config_file(tmp_path)
    one_line_error(run_edge("run", "--config", str(cfg), "--catalog", str(catalog), "--broker", "",
                             "--camera", f"dir:{astronaut_folder(tmp_path)}", "--frames", "1"),
                    str(catalog), what)


def test_a_fifo_as_the_model_card_is_an_error_not_a_hang(tmp_path):
    model = tmp_path / "model_int8.tflite"
    model.write_bytes((ROOT / "models" / "mini_xception_fer7_int8.tflite").read_bytes())
    card = fifo(tmp_path, "model_int8.json")
    cfg = config_file(tmp_path)
    one_line_error(run_edge("run", "--config", str(cfg), "--model", str(model), "--broker", "",
                             "--camera", f"dir:{astronaut_folder(tmp_path)}", "--frames", "1"),
                    str(card), "is a FIFO")


def test_a_fifo_as_the_password_file_is_an_error_not_a_hang(tmp_path):
    secret = fifo(tmp_path, "mqtt-password")
    cfg = config_file(tmp_path, mqtt=f'password_file = "{secret}"\nusername = "kitchen"\n')
    one_line_error(run_edge("run", "--config", str(cfg), "--broker", "mqtt://127.0.0.1:1",
                             "--camera", f"dir:{astronaut_folder(tmp_path)}", "--frames", "1"),
                    "mqtt.password_file", "is a FIFO")


def test_a_huge_password_file_is_refused_unread(tmp_path):
    secret = tmp_path / "mqtt-password"
    with open(secret, "wb") as f:
        f.truncate(2 << 30)
    cfg = config_file(tmp_path, mqtt=f'password_file = "{secret}"\nusername = "kitchen"\n')
    one_line_error(run_edge("run", "--config", str(cfg), "--broker", "mqtt://127.0.0.1:1",
                             "--camera", f"dir:{astronaut_folder(tmp_path)}", "--frames", "1"),
                    "mqtt.password_file", "too large")


@pytest.mark.parametrize("key, value", [
    ("mqtt.topic_prefix", "a" * 70_000),
    ("mqtt.topic_prefix", "mood\0edge"),
    ("mqtt.topic_prefix", "mood\nedge"),
    ("mqtt.topic_prefix", "mood\u202eedge"),
    ("mqtt.client_id", "kitchen\x1b[2J"),
    ("mqtt.client_id", "k" * 200),
    ("homeassistant.discovery_prefix", "home\0assistant"),
    ("homeassistant.discovery_prefix", "h" * 300),
])
def test_topics_and_client_ids_the_broker_would_refuse_are_config_errors(key, value):
    section, _, name = key.partition(".")
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")) as err:
        config_mod.from_dict({section: {name: value}}, origin="c.toml")
    assert len(str(err.value)) < 400  # one readable line, not the 70,000 characters


def test_an_unwritable_debug_faces_dir_is_a_start_up_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    cfg = config_file(tmp_path, extra=f'[daemon]\ndebug_save_faces_dir = "{blocker / "faces"}"\n')
    one_line_error(run_edge("run", "--config", str(cfg), "--broker", "",
                             "--camera", f"dir:{astronaut_folder(tmp_path)}", "--frames", "2"),
                    "daemon.debug_save_faces_dir")


def test_debug_face_crops_are_readable_by_their_owner_only(tmp_path):
    faces = tmp_path / "faces"
    cfg = config_file(tmp_path, extra=f'[daemon]\ndebug_save_faces_dir = "{faces}"\n')
    old = os.umask(0o022)
    try:
        run = run_edge("run", "--config", str(cfg), "--broker", "", "--state-dir", str(tmp_path / "state"),
                       "--camera", f"dir:{astronaut_folder(tmp_path)}", "--frames", "2")
    finally:
        os.umask(old)
    assert run.returncode == 0, run.stderr
    crops = list(faces.glob("*.png"))
    assert crops
    assert stat.S_IMODE(faces.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in crops} == {0o600}


def test_a_password_in_the_broker_url_on_the_command_line_is_warned_about_and_not_logged(tmp_path):
    run = run_edge("run", "--config", str(config_file(tmp_path)), "--broker", "mqtt://kitchen:hunter2-x@127.0.0.1:1",
                   "--state-dir", str(tmp_path / "state"), "--camera", f"dir:{astronaut_folder(tmp_path)}",
                   "--frames", "1")
    assert run.returncode == 0, run.stderr
    assert "--broker carries a password" in run.stderr and "MOOD_EDGE_MQTT_PASSWORD" in run.stderr
    assert "hunter2-x" not in run.stdout + run.stderr
