"""tools/pi-emulated-test.sh: its command line, and the pieces it mounts into the emulated Pi.

The emulated run itself (debootstrap, qemu, minutes of CPU) is not a pytest test: ./tools/test.sh
runs it after the whole suite (MOOD_EDGE_PI_EMULATION=0 skips it). These check the cheap parts.
"""

from __future__ import annotations

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
