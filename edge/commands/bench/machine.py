"""The machine a benchmark ran on: CPU, its SIMD extensions, cores, runtimes and library versions.

Every figure of ``mood-edge bench`` (and ``mood-convert bench-keras``) is printed with these, since a
latency means little without the machine that measured it.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import re
import resource
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


@functools.lru_cache(maxsize=1)
def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return ""


# The SIMD extensions that decide whether int8 beats float32 in XNNPACK: x86 needs VNNI for fast
# int8 dot products; Arm needs the dot-product extension (asimddp: Pi 5 yes, Pi 4 no).
SIMD_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "asimd", "asimddp", "i8mm")


def cpu_features() -> list[str]:
    m = re.search(r"^(?:flags|Features)\s*:\s*(.+)$", _cpuinfo(), re.MULTILINE)
    present = set(m.group(1).split()) if m else set()
    return [f for f in SIMD_FLAGS if f in present]


def cpu_model() -> str:
    text = _cpuinfo()
    for key in ("model name", "Model", "Hardware", "cpu model"):
        m = re.search(rf"^{key}\s*:\s*(.+)$", text, re.MULTILINE)
        if m:
            return m.group(1).strip()
    return platform.processor() or platform.machine()


def dist_version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    from ...classify.interpreter import runtime_name  # noqa: PLC0415

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    return {
        "cpu": cpu_model(),
        "simd": cpu_features(),
        "cores": os.cpu_count() or 1,
        "usable_cores": usable,
        "arch": platform.machine(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "runtime": runtime_name(),
        "litert": dist_version("ai-edge-litert") or dist_version("tflite-runtime"),
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "paho_mqtt": dist_version("paho-mqtt"),
        "opencv_threads": cv2.getNumThreads(),
    }
