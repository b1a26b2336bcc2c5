"""Sources are plug-ins: one module and one registry line make a new ``camera.source`` kind, which the
config then accepts, documents and opens, and every command's --camera help names."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from edge import config as config_mod
from edge.config.example import render
from edge.errors import ConfigError, SourceError
from edge.sources import PATH, SOURCES, SourceKind, choices, open_source, source_ok
from edge.sources.base import Source
from edge.sources.config import CameraConfig

ROOT = Path(__file__).resolve().parent.parent


class PatternSource(Source):
    """A plug-in as a contributor would write it: grey frames of one shade."""

    live = False

    def __init__(self, shade: str, width: int, height: int) -> None:
        super().__init__()
        self.shade, self.size = shade, (height, width)
        self.description = f"pattern:{shade}"

    @classmethod
    def from_config(cls, argument: str, camera: CameraConfig) -> Source:
        return cls(argument, camera.width, camera.height)

    def _open(self) -> None:
        pass

    def _read(self) -> np.ndarray:
        return np.full(self.size, len(self.shade), np.uint8)


@pytest.fixture
def pattern_plugin(monkeypatch):
    module = types.ModuleType("pattern_source")
    module.PatternSource = PatternSource
    monkeypatch.setitem(sys.modules, "pattern_source", module)
    monkeypatch.setitem(SOURCES, "pattern", SourceKind("pattern_source:PatternSource", PATH,
                                                       ('"pattern:/path/shade"',), "a test pattern"))


def test_a_registered_source_is_opened_from_camera_source_with_the_camera_settings(pattern_plugin):
    src = open_source(CameraConfig(source="pattern:abc", width=32, height=24))
    with src:
        frame = src.read()
    assert isinstance(src, PatternSource)
    assert frame.gray.shape == (24, 32) and int(frame.gray[0, 0]) == 3


def test_a_registered_source_is_a_value_the_config_accepts_and_the_help_names(pattern_plugin):
    cfg = config_mod.load(None, {"camera.source": "pattern:/tmp/x"})
    assert cfg.camera.source == "pattern:/tmp/x"
    assert '"pattern:PATH"' in choices()


def test_the_config_checks_camera_source_without_numpy_or_opencv():
    """``mood-edge bridge`` reads the config on the system Python, which may have neither."""
    code = ("import sys; from edge import config; config.load(None, {'camera.source': 'dir:/x'}); "
            "print(sorted({'numpy', 'cv2'} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_every_kind_in_the_registry_is_in_the_help_and_the_example_config():
    example = render()
    for key in SOURCES:
        assert f'"{key}' in choices()
        assert f'"{key}' in example


@pytest.mark.parametrize("spec", ["rtsp://cam", "picamera2:0", "v4l2:", "file:", "dir:a\0b", ""])
def test_a_source_no_plugin_takes_is_refused_by_the_config_and_by_open_source(spec):
    assert not source_ok(spec)
    with pytest.raises(ConfigError, match="camera.source"):
        config_mod.load(None, {"camera.source": spec})
    with pytest.raises(SourceError, match='"picamera2", "v4l2:N", "file:PATH" or "dir:PATH"'):
        open_source(CameraConfig(source=spec))
