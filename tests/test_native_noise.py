"""Native libraries' chatter stays out of the terminal; their real messages and our errors do not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _damaged_mjpeg(path: Path) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    rng = np.random.default_rng(0)
    for _ in range(20):
        writer.write(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    writer.release()
    data = bytearray(path.read_bytes())
    for k in range(4000, len(data) - 2000, 97):  # flip bytes inside the JPEG frames, not the header
        data[k] ^= 0x5A
    path.write_bytes(bytes(data))
    return path


def test_a_model_load_and_a_damaged_video_print_no_native_lines(tmp_path):
    clip = _damaged_mjpeg(tmp_path / "damaged.avi")
    run = subprocess.run([sys.executable, "-m", "edge", "check", "--camera", f"file:{clip}"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert "XNNPACK" not in run.stderr
    assert "[mjpeg @" not in run.stderr
    assert "Traceback" not in run.stderr
    assert f"camera file:{clip}" in run.stdout  # check still reports on what it could read


def test_other_native_lines_during_a_model_load_still_reach_stderr():
    code = ("import os; from edge.native import without_native_info\n"
            "with without_native_info():\n"
            "    os.write(2, b'INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\\n')\n"
            "    os.write(2, b'ERROR: a real native error\\n')\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.stderr == "ERROR: a real native error\n"
