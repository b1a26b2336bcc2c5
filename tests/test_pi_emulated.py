"""tools/pi-emulated-test.sh: its command line, and the pieces it mounts into the emulated Pi.

The emulated run itself (debootstrap, qemu, minutes of CPU) is not a pytest test: ./tools/test.sh
runs it after the whole suite (MOOD_EDGE_PI_EMULATION=0 skips it). These check the cheap parts.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "pi-emulated-test.sh"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=30)


def test_help_says_what_it_checks_and_how_to_run_it():
    out = run("--help")
    assert out.returncode == 0
    for text in ("install.sh", "--uninstall", "mood-edge bench", "--version", "no camera", "--pi 4|5", "--cost",
                 "--rebuild", "/var/cache/mood-edge"):
        assert text in out.stdout, text


@pytest.mark.parametrize("args, said", [
    (["--frobnicate"], "unknown option '--frobnicate' (see --help)"),
    (["--pi", "3"], "--pi 3: expected 4 (Cortex-A72) or 5 (Cortex-A76)"),
    (["--pi"], "--pi needs 4 or 5"),
    (["--cache"], "--cache needs a directory"),
])
def test_bad_options_are_refused_in_one_line_before_anything_is_done(args, said):
    out = run(*args)
    assert out.returncode == 2
    assert out.stderr == f"pi-emulated-test.sh: error: {said}\n"
    assert out.stdout == ""


@pytest.mark.parametrize("pi, part, model", [("4", "0xd08", "Raspberry Pi 4"), ("5", "0xd0b", "Raspberry Pi 5")])
def test_the_cpuinfo_it_mounts_is_a_raspberry_pis(pi, part, model):
    """LiteRT reads /proc/cpuinfo on ARM; qemu-user would show it this machine's x86 one."""
    text = (ROOT / "tools" / "pi" / f"cpuinfo-pi{pi}").read_text()
    processors = text.split("\n\n")[:4]
    assert len(processors) == 4 and all(f"CPU part\t: {part}" in p and "asimd" in p for p in processors)
    assert f"Model\t\t: {model}" in text
    assert ("asimddp" in text) == (pi == "5")  # the dot product: Cortex-A76 has it, A72 not


def test_the_cost_report_gives_each_scene_its_first_sight_and_the_aims(tmp_path):
    """tools/pi/stage_cost_report.py on markers whose counts are known: 2 M instructions a stage,
    the scene's first frame a 600 M look; a face seen 2 frames after it came into view."""
    stages = ["capture", "detect", "publish"]
    guest, marks, n = [], [f"{-k} {k * 100}" for k in range(1, 41)], 4000

    def frames(first: int, count: int, faces: int, look: bool = True) -> None:
        nonlocal n
        for i in range(first, first + count):
            guest.append(f"frame {i} faces {faces if i >= first + 2 else 0}")
            for j in range(len(stages) + 1):
                marks.append(f"{i * 8 + j} {n}")
                n += (600_000_000 if look and i == first and j == 1 else 2_000_000) + 100
    frames(0, 10, 0)
    frames(10, 10, 1)
    frames(20, 10, 0, look=False)
    frames(30, 10, 0)
    guest += ["scene empty 0 9 start 0", "scene close 10 19 start 10 in_view 10",
              "scene tv 25 29 start 20 left_out 1 restless_frames 10", "scene idle 30 39 start 30 look_every 10",
              "stages " + " ".join(stages) + " detector blazeface_motion warmup 0 size 1280x960+lores800x600"]
    (tmp_path / "marks.txt").write_text("\n".join(marks) + "\n")
    (tmp_path / "guest.txt").write_text("\n".join(guest) + "\n")
    out = subprocess.run(["python3", str(ROOT / "tools" / "pi" / "stage_cost_report.py"), str(tmp_path / "marks.txt"),
                          str(tmp_path / "guest.txt"), "test", str(tmp_path / "cost.json")],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    report = json.loads((tmp_path / "cost.json").read_text())
    empty, close, tv = (report["scenes"][s] for s in ("empty", "close", "tv"))
    assert empty["per_frame_minstr"] == {"median": 6.0, "mean": 65.8, "max": 604.0}
    assert empty["first_frame_minstr"] == 604.0 and "first_sight" not in empty
    assert close["first_sight"] == {"in_view_frame": 10, "seen_frame": 12, "frames": 3, "minstr": 616.0}
    assert tv["frames"] == 5 and tv["before_measured"]["frames"] == 5 and tv["left_out"] is True
    assert report["scenes"]["idle"]["scheduled_look_max_minstr"] == 6.0  # its first frame's look left out
    assert report["targets"] == {
        "whole-frame look at start, at once (the empty room's first frame)": {"value": 604.0, "limit": 700.0,
                                                                              "met": True},
        "scheduled whole-frame look, its costliest frame (spread over frames)": {"value": 6.0, "limit": 700.0,
                                                                                 "met": True},
        "first sight of a close face (1 m, walking in)": {"value": 616.0, "limit": 500.0, "met": False},
        "a playing TV / an empty room (medians)": {"value": 1.0, "limit": 2.0, "met": True}}
    assert "first sight of a close face (1 m, walking in): 616.0 (aim <= 500.0): NOT met" in out.stdout
