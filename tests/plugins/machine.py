"""Name the machine at the top and the bottom of every run, so a failure on a new CPU says which CPU.

The suite must pass on any x86-64 or aarch64 CPU; when it does not, the SIMD extensions (which decide
the code paths of TensorFlow's converter, XNNPACK and OpenCV) are the first thing to know.
"""

from __future__ import annotations

import os
import platform

import pytest


def machine_line() -> str:
    from edge.measure import cpu_features, cpu_model  # noqa: PLC0415

    simd = " ".join(cpu_features()) or "none of the tracked ones"
    return (f"machine: {cpu_model()}, {platform.machine()}, {os.cpu_count()} cores, SIMD: {simd}; "
            f"Python {platform.python_version()}")


def pytest_report_header(config: pytest.Config) -> str:
    return machine_line()


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    terminalreporter.section("machine")
    terminalreporter.write_line(machine_line())
