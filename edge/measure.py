"""What every benchmark shares, the Pi's (``mood-edge bench``) and the training host's
(``mood-convert bench-keras``): nanosecond samples to medians and tails, timed calls, peak memory,
the machine a figure was measured on (CPU, its SIMD extensions, cores, library versions: a latency
means little without it) and a report's closing verdict lines. A shared module: it imports no stage
and no command, so both sides may use it.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import re
import resource
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

import cv2
import numpy as np

from .geometry import Box

if TYPE_CHECKING:
    from .detectors.base import Detector


def summarize(ns: Iterable[int]) -> dict[str, Any]:
    """median, p95 and p99 in ms of nanosecond samples (``None`` figures when there are none)."""
    arr = np.asarray(list(ns), dtype=np.float64) / 1e6
    if arr.size == 0:
        return {"median_ms": None, "p95_ms": None, "p99_ms": None, "mean_ms": None, "n": 0}
    med, p95, p99 = np.percentile(arr, [50, 95, 99])
    return {"median_ms": round(float(med), 4), "p95_ms": round(float(p95), 4), "p99_ms": round(float(p99), 4),
            "mean_ms": round(float(arr.mean()), 4), "n": int(arr.size)}


def time_calls(fn: Callable[[], Any], repeat: int = 1) -> list[int]:
    clock = time.perf_counter_ns
    out = []
    for _ in range(repeat):
        t0 = clock()
        fn()
        out.append(clock() - t0)
    return out


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def dist_version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def verdict_lines(report: dict[str, Any]) -> list[str]:
    """The closing lines of a benchmark report: its ratios, each aim met or not, and what was skipped
    (``mood-convert bench-keras`` ends its report the same way)."""
    lines = ["ratios: " + ", ".join(f"{k} {v}" for k, v in report["ratios"].items())] if report["ratios"] else []
    lines += [f"target {name}: {t['value']} (target {t['target']}): {'met' if t['met'] else 'NOT met'}"
              for name, t in report["targets"].items()]
    lines += [f"skipped {name}: {why}" for name, why in report["skipped"].items()]
    return lines


def face_sets(frames: list[np.ndarray], detector: "Detector") -> list[tuple[np.ndarray, list[Box]]]:
    """Each frame with the faces the pipeline's detector finds in it; a centred box stands in
    when no frame has a face, so the classifiers still have crops to chew on."""
    sets = [(g, detector.detect(g)) for g in frames]
    sets = [(g, f) for g, f in sets if f]
    if not sets and frames:
        g = frames[0]
        side = min(g.shape[:2]) // 2
        sets = [(g, [Box((g.shape[1] - side) // 2, (g.shape[0] - side) // 2, side, side)])]
    return sets


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


def machine_info(runtime: str) -> dict[str, Any]:
    """The machine and its libraries; ``runtime``: the interpreter that ran the model
    (:func:`edge.classify.interpreter.runtime_name`)."""
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
        "runtime": runtime,
        "litert": dist_version("ai-edge-litert") or dist_version("tflite-runtime"),
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "paho_mqtt": dist_version("paho-mqtt"),
        "opencv_threads": cv2.getNumThreads(),
    }
