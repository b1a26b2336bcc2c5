"""Issue 34, row 6: a path that cannot be a file, for whatever reason the OS gives.

A 300-character name in ``--model``, ``[detector.*].model``, ``--camera file:``/``dir:`` or
``--library`` (also in ``check`` and ``mood-convert catalog``) was an ``OSError: File name too long``
traceback: ``Path.is_file()`` raises every error but "no such file". Now a name the OS cannot take
(NUL, a name over 255 bytes, a path over 4095) is refused with the config's other rules, and any
other refusal (a loop of links, no permission) is one line naming the setting. The real CLI in a
subprocess, as a user runs it.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cli_helpers import one_line_error
from daemon_helpers import ROOT

LONG = "/tmp/" + "a" * 300


def run(*args: str, module: str = "edge") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def one_line_exit_2(done: subprocess.CompletedProcess, *needles: str) -> None:
    line = one_line_error(done, *needles)
    assert len(line) < 600, line  # the 300 characters are shown by their start, not in full


@pytest.fixture
def loop(tmp_path):
    """A link to itself: stat() says "Too many levels of symbolic links" (ELOOP)."""
    link = tmp_path / "loop"
    os.symlink(link, link)
    return str(link)


def _run_args(tmp_path, option: str, path: str) -> list[str]:
    base = ["run", "--broker", "", "--state-dir", str(tmp_path / "state"), "--frames", "1"]
    if option == "detector":
        config = tmp_path / "config.toml"
        config.write_text(f'[detector.blazeface_motion]\nmodel = "{path}"\n')
        return [*base, "--config", str(config)]
    value = {"file": f"file:{path}", "dir": f"dir:{path}"}.get(option, path)
    return [*base, "--camera" if option in ("file", "dir") else f"--{option}", value]


SETTINGS = {"model": "model.path", "file": "camera.source", "dir": "camera.source", "library": "recommend.library",
            "detector": "detector.blazeface_motion.model"}


@pytest.mark.parametrize("option", list(SETTINGS))
def test_attack_a_300_character_name_in_run_is_one_line_naming_the_setting(tmp_path, option):
    one_line_exit_2(run(*_run_args(tmp_path, option, LONG)), SETTINGS[option], "255 bytes")


@pytest.mark.parametrize("option", list(SETTINGS))
def test_attack_a_loop_of_links_in_run_is_one_line_naming_the_setting(tmp_path, loop, option):
    setting = "[detector.<kind>].model" if option == "detector" else SETTINGS[option]
    one_line_exit_2(run(*_run_args(tmp_path, option, loop)), setting, "Too many levels of symbolic links")


def test_attack_a_300_character_camera_file_in_check_is_one_line(tmp_path):
    one_line_exit_2(run("check", "--camera", f"file:{LONG}"), "camera.source", "255 bytes")


def test_attack_a_300_character_model_in_checks_config_is_one_line(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'[model]\npath = "{LONG}"\n[detector.blazeface_motion]\nmodel = "{LONG}"\n')
    one_line_exit_2(run("check", "--config", str(config)), "config.toml: model.path", "255 bytes")


def test_attack_a_loop_of_links_as_checks_camera_folder_is_one_line(loop):
    one_line_exit_2(run("check", "--camera", f"dir:{loop}"), "camera.source", "Too many levels of symbolic links")


@pytest.mark.parametrize("name", ["long", "loop"])
def test_attack_a_library_mood_convert_catalog_cannot_use_is_one_line_naming_library(tmp_path, loop, name):
    path = LONG if name == "long" else loop
    done = run("catalog", "--library", path, "--out", str(tmp_path / "out.json"), module="convert")
    one_line_exit_2(done, "--library", "255 bytes" if name == "long" else "Too many levels of symbolic links")


def test_a_checkout_this_user_may_not_look_into_falls_back_to_the_installed_data(monkeypatch):
    """``mood-edge watch`` as a display user, run from a 0700 clone: a PermissionError was a traceback."""
    from pathlib import Path

    from edge import paths

    def refused(self: Path) -> bool:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.delenv("MOOD_EDGE_DATA", raising=False)
    monkeypatch.setattr(Path, "is_dir", refused)
    assert paths.data_root() == Path(sys.prefix) / "share" / "mood-edge"
