"""Side-by-side comparisons on the same frames and face crops: int8 vs float32 TFLite, 1 thread vs
all cores, and the detectors (Haar, BlazeFace, with and without tracking) at two frame sizes.

Only what runs on the Pi is compared here; the Keras model and ``fer`` are compared on the
training host (``mood-convert bench-keras``).
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ...config import Config
from ...detectors.base import Detector, Face
from ...detectors.haar import HaarDetector
from ...errors import MoodEdgeError
from ...measure import summarize, time_calls
from .progress import Progress
from .timing import resize_to

DETECTOR_SIZES = ((320, 240), (640, 480))


@dataclass
class Comparison:
    name: str
    group: str
    title: str
    samples: list[int]
    baseline: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self, medians: dict[str, float]) -> dict[str, Any]:
        data: dict[str, Any] = {"group": self.group, "title": self.title, **summarize(self.samples), **self.extra}
        if self.baseline and self.baseline in medians and data["median_ms"]:
            data["baseline"] = self.baseline
            data["ratio_to_baseline"] = round(data["median_ms"] / medians[self.baseline], 3)
        return data


def read_frames(cfg: Config, n: int, size: tuple[int, int] | None) -> list[np.ndarray]:
    from ...sources import first_frames  # noqa: PLC0415

    return [resize_to(g, size) for g in first_frames(cfg.camera, n)]


def float_twin_path(model_path: Path, explicit: str | None) -> Path | None:
    if explicit:
        return Path(explicit)
    from ...classify.modelcard import load_card  # noqa: PLC0415

    card = load_card(model_path, verify=False)
    if card.float_twin and card.float_twin.get("file"):
        return model_path.parent / str(card.float_twin["file"])
    guess = model_path.parent / model_path.name.replace("int8", "float32")
    return guess if guess != model_path else None


def classifier_comparisons(cfg: Config, sets: list[tuple[np.ndarray, list[Face]]], float_path: Path | None,
                           skipped: dict[str, str], progress: bool, min_samples: int = 300) -> list[Comparison]:
    """Per-face inference time (batch of one, as the daemon runs it) for each model and thread count."""
    from ...classify.classifier import Classifier  # noqa: PLC0415

    cores = os.cpu_count() or 1
    threads = sorted({1, cores})
    base = f"classify_int8_{cfg.model.num_threads}t"
    models: list[tuple[str, Path]] = [("int8", Path(cfg.model.path))]
    if float_path is not None and float_path.is_file():
        models.append(("float32", float_path))
    else:
        skipped["classify_float32"] = (f"no float32 twin at {float_path}" if float_path
                                       else "the model card names no float32 twin")
    out: list[Comparison] = []
    nfaces = sum(len(f) for _, f in sets)
    repeat = max(1, math.ceil(min_samples / max(1, nfaces)))
    bar = Progress("classifier int8/float", len(models) * len(threads), enabled=progress)
    for kind, path in models:
        for t in sorted(set(threads) | {cfg.model.num_threads}):
            clf = Classifier(path, num_threads=t, labels=cfg.model.labels)
            crops = [clf.preprocess(g, faces) for g, faces in sets]
            singles = [b[i:i + 1] for b in crops for i in range(len(b))]
            for x in singles[:5]:
                clf.infer(x)  # warm-up: first invokes allocate and pack weights
            samples: list[int] = []
            for _ in range(repeat):
                for x in singles:
                    samples += time_calls(lambda x=x: clf.infer(x))
            label = f"{t} thread{'s' if t > 1 else ''}"
            out.append(Comparison(f"classify_{kind}_{t}t", "classifier", f"{kind} TFLite, {label}", samples,
                                  baseline=base, extra={"per": "face", "threads": t, "model": path.name}))
            bar.update()
    bar.close()
    return out


def detector_comparisons(cfg: Config, frames: list[np.ndarray], skipped: dict[str, str],
                         progress: bool) -> list[Comparison]:
    """Each detector variant over the same frames at each size; tracking ones run in frame order."""
    from ...track import TrackingDetector  # noqa: PLC0415

    cores = os.cpu_count() or 1
    haar_cfg = dataclasses.replace(cfg.detector, kind="haar")
    bf_cfg = dataclasses.replace(cfg.detector, kind="blazeface")
    variants: list[tuple[str, str, Callable[[], Detector]]] = [
        ("haar", "Haar cascade", lambda: HaarDetector(haar_cfg)),
        ("haar_track", "Haar + tracking", lambda: TrackingDetector(HaarDetector(haar_cfg), face_px=32)),
    ]
    try:
        from ...detectors.blazeface import BlazeFaceDetector  # noqa: PLC0415

        BlazeFaceDetector(bf_cfg)  # the model is there and matches its card
        variants += [
            ("blazeface", "BlazeFace, 1 thread", lambda: BlazeFaceDetector(bf_cfg, num_threads=1)),
            ("blazeface_track", "BlazeFace + tracking, 1 thread",
             lambda: TrackingDetector(BlazeFaceDetector(bf_cfg, num_threads=1), face_px=64)),
        ]
        if cores > 1:
            variants.append((f"blazeface_{cores}t", f"BlazeFace, {cores} threads",
                             lambda: BlazeFaceDetector(bf_cfg, num_threads=cores)))
    except MoodEdgeError as exc:
        skipped["detect_blazeface"] = str(exc)
    out: list[Comparison] = []
    bar = Progress("detectors", len(variants) * len(DETECTOR_SIZES), enabled=progress)
    for w, h in DETECTOR_SIZES:
        sized = [resize_to(g, (w, h)) for g in frames]
        for key, title, make in variants:
            det = make()
            for g in sized[:3]:
                det.detect(g)  # warm-up
            if hasattr(det, "reset"):
                det.reset()
            found: list[int] = []
            samples: list[int] = []
            clock = time.perf_counter_ns
            for g in sized:
                t0 = clock()
                faces = det.detect(g)
                samples.append(clock() - t0)
                found.append(len(faces))
            extra = {"size": [w, h], "faces_per_frame": round(float(np.mean(found)), 3) if found else 0.0}
            if hasattr(det, "full_detections"):
                extra["full_frame_detections"] = int(det.full_detections)
            out.append(Comparison(f"detect_{key}_{w}x{h}", "detector", f"{title} @ {w}x{h}", samples,
                                  baseline=f"detect_haar_{w}x{h}", extra=extra))
            bar.update()
    bar.close()
    return out
