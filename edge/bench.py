"""``mood-edge bench``: time every stage of the pipeline on a real clip, and compare alternatives.

The main run drives the daemon's own stage objects (``edge.daemon.Pipeline``) frame by frame and
times each stage with ``time.perf_counter_ns``. Then, on the same frames and the same face crops, it
times the alternatives side by side: int8 vs float32 TFLite, 1 thread vs all cores, and the Haar
and BlazeFace detectors (with and without tracking) at 320x240 and 640x480. Ratios matter more than
absolute times on a noisy machine, so every comparison carries one.

Only what runs on the Pi is measured here: the Keras and ``fer`` comparisons need TensorFlow and
live on the training host (``mood-convert bench-keras``), so this module never imports it.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib.metadata
import json
import logging
import math
import os
import platform
import re
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, TextIO

import cv2
import numpy as np

from . import config as config_mod
from .config import Config, detector_kinds
from .detect import Detector, Face, HaarDetector
from .errors import ConfigError, MoodEdgeError, ModelError, SourceError
from .paths import default_model, sample_clip

log = logging.getLogger(__name__)

SUMMARY = "measure the latency of every stage; compare int8/float, threads and detectors"

DESCRIPTION = """\
Runs the daemon's pipeline (capture, face detection, crop + preprocess, classification, smoothing
+ recommendation, MQTT publish) over a clip frame by frame and reports, per stage, the median, p95
and p99 latency in milliseconds, then end-to-end capture->publish latency, frames per second of
capacity, CPU time per frame and the peak memory (RSS).

Then, on the same frames and face crops, it compares side by side:
  classifier  int8 TFLite vs float32 TFLite, each with 1 thread and with all cores
  detectors   Haar vs BlazeFace, each alone and with tracking, at 320x240 and 640x480
The Keras model and the `fer` package need TensorFlow, which the Pi does not install: compare
them on the training host with `mood-convert bench-keras` (see its --help).

Without --broker the publish stage only serialises the state message (nothing is sent), and the
report says so. With --broker every frame's state is published (retained) to
<prefix>/<device-id>/state on that broker (device id "bench" unless --device-id is given); the
daemon itself publishes only when something changes.

The default source is the bundled sample clip (samples/living-room.mp4, 640x480); file and folder
sources are replayed until --frames frames are measured. Use --size 320x240 to measure at a smaller
camera resolution (frames are resized as they are captured, like a smaller camera mode).

Output: a table on stdout, progress on stderr, every figure in --json, a plot in --plot (PNG;
needs matplotlib). No figure is asserted: machines are noisy; compare ratios.

--distance runs the distance benchmark instead: real faces with their head and shoulders
(scikit-image's astronaut, matplotlib's Grace Hopper, and their mirror images) scaled to the width
they have at 0.5-6 m from the camera (a face is ~0.15 m; camera.hfov_deg, --capture WxH) and pasted
into real photographs with nobody in them; per detector and distance it prints the share of faces
found, false faces on the empty scenes, the classifier's agreement with its reading of the same face
seen large, and ms per frame; then the daemon's pipeline end to end with one face at 3.5 m, against
the old default (640x480 grey, BlazeFace 128x128). On "picamera2" the detector sees the lores
stream (camera.lores_width x lores_height), elsewhere the capture.

examples:
  mood-edge bench
  mood-edge bench --size 320x240 --frames 500 --json bench.json --plot bench.png
  mood-edge bench --camera v4l2:0 --broker mqtt://localhost --detector haar
  mood-edge bench --distance --json distance.json
  mood-edge bench --distance --capture 1920x1080 --only default,haar_full"""

STAGES = ("capture", "detect", "preprocess", "classify", "smooth_recommend", "publish")
STAGE_TITLES = {
    "capture": "capture/decode",
    "detect": "face detection",
    "preprocess": "crop+resize+scale",
    "classify": "classify",
    "smooth_recommend": "smooth+recommend",
    "publish": "publish",
}
DETECTOR_SIZES = ((320, 240), (640, 480))
JSON_SCHEMA = 1
#: the product's latency aims on a 2-core x86 development machine (reported, never asserted)
TARGETS = {"classify_int8_per_face_ms": 0.3, "end_to_end_median_ms_320x240": 5.0}
#: what --keras-model / --compare-fer say now (kept so old scripts get a clear answer, not "unrecognized")
MOVED = "the Keras and fer comparisons moved to the training host: run `mood-convert bench-keras`"


# --------------------------------------------------------------------------------------------------
# command line

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--camera", metavar="SOURCE",
                   help='frame source: "file:PATH", "dir:PATH", "v4l2:N" or "picamera2" '
                        "(default: the bundled sample clip)")
    p.add_argument("--frames", type=int, default=200, metavar="N", help="frames to measure (default: 200)")
    p.add_argument("--warmup", type=int, default=5, metavar="N",
                   help="frames run first and not counted (default: 5)")
    p.add_argument("--size", metavar="WxH", help="resize frames at capture, e.g. 320x240 (default: as delivered)")
    p.add_argument("--json", metavar="PATH", help="write every figure and the machine to this JSON file")
    p.add_argument("--plot", metavar="PATH", help="write a PNG: latency per stage, end-to-end histogram, "
                                                  "comparisons (needs matplotlib)")
    p.add_argument("--broker", metavar="URL", default="",
                   help="publish to this MQTT broker (mqtt://host[:port]); default: serialisation only")
    p.add_argument("--device-id", default="bench", metavar="ID",
                   help='the <device-id> topic level used with --broker (default: "bench")')
    p.add_argument("--detector", choices=list(detector_kinds()),
                   help="the pipeline's face detector (default: the config's)")
    p.add_argument("-c", "--config", metavar="PATH", help="TOML config of the daemon to take settings from")
    p.add_argument("--model", metavar="PATH", help="the int8 .tflite classifier (default: the config's)")
    p.add_argument("--float-model", metavar="PATH",
                   help="the float32 twin (default: the card's float_twin beside the model)")
    p.add_argument("--keras-model", metavar="PATH", help=argparse.SUPPRESS)  # MOVED
    p.add_argument("--threads", type=int, metavar="N", help="the pipeline's classifier threads (default: config)")
    p.add_argument("--compare-frames", type=int, default=60, metavar="N",
                   help="frames used for the side-by-side comparisons (default: 60)")
    p.add_argument("--no-compare", action="store_true", help="measure the pipeline only")
    p.add_argument("--compare-fer", action="store_true", help=argparse.SUPPRESS)  # MOVED
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    d = p.add_argument_group("distance benchmark (--distance)")
    d.add_argument("--distance", action="store_true",
                   help="instead: how far each detector finds and reads faces (real faces pasted into real "
                        "empty scenes at their width at 0.5-6 m); see README \"Distance\"")
    d.add_argument("--capture", metavar="WxH", help="capture size for --distance (default: camera.width x height)")
    d.add_argument("--distances", metavar="M,M,...", help="metres (default: 0.5,1,2,3,3.5,4,5,6)")
    d.add_argument("--per-distance", type=int, default=16, metavar="N", help="frames per distance (default: 16)")
    d.add_argument("--empty", type=int, default=24, metavar="N", help="empty-scene frames (default: 24)")
    d.add_argument("--only", metavar="KEY,...", help="only these detector variants (keys as in the JSON)")


# --------------------------------------------------------------------------------------------------
# small helpers

def parse_size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not m or not (16 <= int(m.group(1)) <= 8192 and 16 <= int(m.group(2)) <= 8192):
        raise ConfigError(f"got {text!r}", path="command line", field="--size",
                          expected="WIDTHxHEIGHT, e.g. 320x240")
    return int(m.group(1)), int(m.group(2))


def summarize(ns: Iterable[int]) -> dict[str, Any]:
    """median, p95 and p99 in ms of nanosecond samples (``None`` figures when there are none)."""
    arr = np.asarray(list(ns), dtype=np.float64) / 1e6
    if arr.size == 0:
        return {"median_ms": None, "p95_ms": None, "p99_ms": None, "mean_ms": None, "n": 0}
    med, p95, p99 = np.percentile(arr, [50, 95, 99])
    return {"median_ms": round(float(med), 4), "p95_ms": round(float(p95), 4), "p99_ms": round(float(p99), 4),
            "mean_ms": round(float(arr.mean()), 4), "n": int(arr.size)}


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


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    from .interpreter import runtime_name  # noqa: PLC0415

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
        "litert": _version("ai-edge-litert") or _version("tflite-runtime"),
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "paho_mqtt": _version("paho-mqtt"),
        "opencv_threads": cv2.getNumThreads(),
    }


class Progress:
    """A progress bar on stderr: redrawn in place on a terminal, one line per phase otherwise
    (logs and CI stay readable). No tqdm needed on the Pi."""

    def __init__(self, label: str, total: int, *, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.label, self.total, self.done = label, max(1, total), 0
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and self.stream.isatty()
        self._t0 = time.monotonic()
        self._last = 0.0

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.tty and (time.monotonic() - self._last > 0.1 or self.done >= self.total):
            self._last = time.monotonic()
            width = 30
            filled = int(width * min(self.done, self.total) / self.total)
            self.stream.write(f"\r{self.label:<28} [{'#' * filled}{'.' * (width - filled)}] "
                              f"{self.done}/{self.total}")
            self.stream.flush()

    def close(self) -> None:
        if not self.enabled:
            return
        took = time.monotonic() - self._t0
        if self.tty:
            self.stream.write(f"  {took:.1f}s\n")
        else:
            self.stream.write(f"{self.label:<28} {self.done}/{self.total} in {took:.1f}s\n")
        self.stream.flush()


# --------------------------------------------------------------------------------------------------
# the main run: the daemon's stages, timed one by one

@dataclass
class MainRun:
    stages: dict[str, list[int]] = field(default_factory=lambda: {s: [] for s in STAGES})
    end_to_end: list[int] = field(default_factory=list)
    faces: list[int] = field(default_factory=list)
    cpu_ns: int = 0
    wall_ns: int = 0
    frame_size: tuple[int, int] = (0, 0)
    source: str = ""
    detector: str = ""
    model_id: str = ""
    model_int8: bool = True
    threads: int = 1
    publish_mode: str = ""
    published: int = 0
    dropped: int = 0


def bench_config(args: argparse.Namespace, state_dir: str) -> Config:
    cfg = config_mod.load(args.config)
    camera = args.camera
    if camera is None and args.config is None:
        camera = f"file:{sample_clip()}"
    overrides = {"camera.source": camera, "detector.kind": args.detector, "model.path": args.model,
                 "model.num_threads": args.threads, "mqtt.broker": args.broker,
                 "mqtt.device_id": args.device_id}
    for key, value in overrides.items():
        if value is not None:
            config_mod.set_value(cfg, key, value, origin="command line")
    cfg.camera.loop = True  # files and folders replay until enough frames are measured
    cfg.daemon.state_dir = state_dir  # never touch the daemon's recommendation history
    cfg.daemon.debug_save_faces_dir = ""
    cfg.homeassistant.enabled = False
    cfg.mqtt.max_queued = max(cfg.mqtt.max_queued, args.frames + args.warmup + 16)
    return cfg


def resize_to(gray: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    if size is None or (gray.shape[1], gray.shape[0]) == size:
        return gray
    shrink = size[0] < gray.shape[1]
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def run_pipeline(cfg: Config, frames: int, warmup: int, size: tuple[int, int] | None,
                 progress: bool) -> MainRun:
    from .daemon import Pipeline  # noqa: PLC0415 - pulls the whole daemon

    pipe = Pipeline(cfg)
    clf = pipe.classifier
    run = MainRun(detector=pipe.detector.name, model_id=clf.model_id, model_int8=clf.is_int8,
                  threads=cfg.model.num_threads, source=cfg.camera.source)
    publisher = pipe.publisher
    if publisher.enabled:
        publisher.start()
        if not publisher.wait_connected(10.0):
            publisher.stop()
            raise ConfigError(f"cannot reach the broker {cfg.mqtt.broker} within 10 s", path="command line",
                              field="--broker", expected="a running MQTT broker")
        run.publish_mode = f"published to {cfg.mqtt.broker} ({publisher.state_topic}, QoS {cfg.mqtt.qos}, retained)"
    else:
        run.publish_mode = "serialisation only (no --broker given: nothing was sent)"
    source = pipe.source
    bar = Progress("pipeline", frames + warmup, enabled=progress)
    clock = time.perf_counter_ns
    ends: dict[str, int] = {}  # when each stage of this frame ended

    def lap(stage: str) -> None:
        ends[stage] = clock()

    try:
        source.open()
        cpu0 = wall0 = 0
        for i in range(frames + warmup):
            if i == warmup:
                cpu0, wall0 = time.process_time_ns(), clock()
            t0 = clock()
            frame = source.read()
            if frame is None:
                break
            if size:
                frame = dataclasses.replace(frame, gray=resize_to(frame.gray, size), color=(
                    resize_to(frame.color, size) if frame.color is not None else None))
            lap("capture")
            # the daemon's own step; its publish forced so every frame pays it (message, change
            # check, send or, without a broker, serialise): the daemon itself sends only on a
            # change or a heartbeat
            faces = pipe.step(frame, force_publish=True, lap=lap).faces
            bar.update()
            if i < warmup:
                continue
            run.frame_size = (frame.gray.shape[1], frame.gray.shape[0])
            start = t0
            for name in STAGES:
                if not (name in ("preprocess", "classify") and not faces):
                    # (nothing to classify: timing an empty call would flatter the stage)
                    run.stages[name].append(ends[name] - start)
                start = ends[name]
            run.end_to_end.append(ends[STAGES[-1]] - t0)
            run.faces.append(len(faces))
        run.cpu_ns = time.process_time_ns() - cpu0
        run.wall_ns = clock() - wall0
    finally:
        bar.close()
        source.close()
        if publisher.enabled:
            run.published, run.dropped = publisher.stats.published, publisher.stats.dropped
            publisher.publish(publisher.state_topic, "", retain=True)  # clear the bench's retained state
            publisher.stop()
    if not run.end_to_end:
        raise SourceError("delivered no frames after the warm-up", path=cfg.camera.source,
                          expected=f"at least {warmup + 1} frames (or a looping file/folder source)")
    return run


# --------------------------------------------------------------------------------------------------
# side-by-side comparisons on the same frames and crops

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
    from .camera import open_source  # noqa: PLC0415

    source = open_source(cfg.camera)
    frames: list[np.ndarray] = []
    try:
        source.open()
        while len(frames) < n:
            frame = source.read()
            if frame is None:
                break
            frames.append(resize_to(frame.gray, size))
    finally:
        source.close()
    return frames


def time_calls(fn: Callable[[], Any], repeat: int = 1) -> list[int]:
    clock = time.perf_counter_ns
    out = []
    for _ in range(repeat):
        t0 = clock()
        fn()
        out.append(clock() - t0)
    return out


def float_twin_path(model_path: Path, explicit: str | None) -> Path | None:
    if explicit:
        return Path(explicit)
    from .modelcard import load_card  # noqa: PLC0415

    card = load_card(model_path, verify=False)
    if card.float_twin and card.float_twin.get("file"):
        return model_path.parent / str(card.float_twin["file"])
    guess = model_path.parent / model_path.name.replace("int8", "float32")
    return guess if guess != model_path else None


def face_sets(frames: list[np.ndarray], detector: Detector) -> list[tuple[np.ndarray, list[Face]]]:
    """Each frame with the faces the pipeline's detector finds in it; a centred box stands in
    when no frame has a face, so the classifiers still have crops to chew on."""
    sets = [(g, detector.detect(g)) for g in frames]
    sets = [(g, f) for g, f in sets if f]
    if not sets and frames:
        g = frames[0]
        side = min(g.shape[:2]) // 2
        sets = [(g, [Face((g.shape[1] - side) // 2, (g.shape[0] - side) // 2, side, side)])]
    return sets


def classifier_comparisons(cfg: Config, sets: list[tuple[np.ndarray, list[Face]]], float_path: Path | None,
                           skipped: dict[str, str], progress: bool, min_samples: int = 300) -> list[Comparison]:
    """Per-face inference time (batch of one, as the daemon runs it) for each model and thread count."""
    from .classify import Classifier  # noqa: PLC0415

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
    from .track import TrackingDetector  # noqa: PLC0415

    cores = os.cpu_count() or 1
    haar_cfg = dataclasses.replace(cfg.detector, kind="haar")
    bf_cfg = dataclasses.replace(cfg.detector, kind="blazeface")
    variants: list[tuple[str, str, Callable[[], Detector]]] = [
        ("haar", "Haar cascade", lambda: HaarDetector(haar_cfg)),
        ("haar_track", "Haar + tracking", lambda: TrackingDetector(HaarDetector(haar_cfg), face_px=32)),
    ]
    try:
        from .detect_blazeface import BlazeFaceDetector  # noqa: PLC0415

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


# --------------------------------------------------------------------------------------------------
# the report

def build_report(run: MainRun, comparisons: list[Comparison], skipped: dict[str, str], notes: list[str],
                 machine: dict[str, Any], rss_mb: float, argv: list[str]) -> dict[str, Any]:
    stages = {name: {k: v for k, v in summarize(ns).items() if k != "mean_ms"} for name, ns in run.stages.items()}
    e2e = summarize(run.end_to_end)
    frames = len(run.end_to_end)
    fps = frames / (sum(run.end_to_end) / 1e9) if run.end_to_end else 0.0
    medians: dict[str, float] = {"end_to_end": e2e["median_ms"]}
    for c in comparisons:
        med = summarize(c.samples)["median_ms"]
        if med:
            medians[c.name] = med
    comp = {c.name: c.to_json(medians) for c in comparisons}
    ratios = _ratios(medians, run.threads, machine["cores"])
    faces = np.asarray(run.faces)
    report: dict[str, Any] = {
        "schema": JSON_SCHEMA,
        "command": "mood-edge bench " + " ".join(argv),
        "source": {"spec": run.source, "size": list(run.frame_size), "frames": frames},
        "pipeline": {"detector": run.detector, "model": run.model_id, "int8": run.model_int8,
                     "num_threads": run.threads, "publish": run.publish_mode},
        "stages": stages,
        "end_to_end": {"median_ms": e2e["median_ms"], "p95_ms": e2e["p95_ms"], "p99_ms": e2e["p99_ms"],
                       "fps": round(fps, 1), "n": frames},
        "cpu": {"ms_per_frame": round(run.cpu_ns / 1e6 / max(1, frames), 4),
                "cores_used": round(run.cpu_ns / run.wall_ns, 3) if run.wall_ns else None},
        "rss_mb": rss_mb,
        "faces": {"frames_with_faces": int((faces > 0).sum()), "mean_per_frame": round(float(faces.mean()), 3)},
        "machine": machine,
        "comparisons": comp,
        "ratios": ratios,
        "targets": _targets(medians, e2e, run),
        "skipped": skipped,
        "notes": notes,
    }
    if run.published or run.dropped:
        report["pipeline"]["published"] = run.published
        report["pipeline"]["dropped"] = run.dropped
    return report


def _ratios(m: dict[str, float], threads: int, cores: int) -> dict[str, float]:
    """The headline ratios (> 1 means the first is slower)."""
    pairs = {
        "float32_over_int8": ("classify_float32_1t", "classify_int8_1t"),
        f"int8_1_thread_over_{cores}_threads": ("classify_int8_1t", f"classify_int8_{cores}t"),
        f"float32_1_thread_over_{cores}_threads": ("classify_float32_1t", f"classify_float32_{cores}t"),
    }
    for w, h in DETECTOR_SIZES:
        pairs[f"haar_over_blazeface_{w}x{h}"] = (f"detect_haar_{w}x{h}", f"detect_blazeface_{w}x{h}")
        pairs[f"haar_over_haar_track_{w}x{h}"] = (f"detect_haar_{w}x{h}", f"detect_haar_track_{w}x{h}")
    out = {}
    for name, (a, b) in pairs.items():
        if a in m and b in m and a != b and m[b]:
            out[name] = round(m[a] / m[b], 2)
    return out


def _targets(m: dict[str, float], e2e: dict[str, Any], run: MainRun) -> dict[str, Any]:
    out: dict[str, Any] = {}
    per_face = m.get(f"classify_int8_{run.threads}t")
    if per_face:
        out["classify_int8_per_face_ms"] = {"value": per_face, "target": TARGETS["classify_int8_per_face_ms"],
                                            "met": per_face <= TARGETS["classify_int8_per_face_ms"]}
    if tuple(run.frame_size) == (320, 240) and e2e["median_ms"]:
        # the aim is for one face in view; the report's "faces" says how many the frames held
        out["end_to_end_median_ms_320x240"] = {"value": e2e["median_ms"],
                                               "target": TARGETS["end_to_end_median_ms_320x240"],
                                               "met": e2e["median_ms"] <= TARGETS["end_to_end_median_ms_320x240"]}
    return out


def verdict_lines(report: dict[str, Any]) -> list[str]:
    """The closing lines of a benchmark report: its ratios, each aim met or not, and what was skipped
    (``mood-convert bench-keras`` ends its report the same way)."""
    lines = ["ratios: " + ", ".join(f"{k} {v}" for k, v in report["ratios"].items())] if report["ratios"] else []
    lines += [f"target {name}: {t['value']} (target {t['target']}): {'met' if t['met'] else 'NOT met'}"
              for name, t in report["targets"].items()]
    lines += [f"skipped {name}: {why}" for name, why in report["skipped"].items()]
    return lines


def _fmt(v: Any, width: int = 8, digits: int = 3) -> str:
    if v is None:
        return "-".rjust(width)
    if isinstance(v, float):
        return f"{v:{width}.{digits}f}"
    return str(v).rjust(width)


def format_table(report: dict[str, Any]) -> str:
    lines: list[str] = []
    src, pipe, m = report["source"], report["pipeline"], report["machine"]
    lines.append(f"mood-edge bench: {src['frames']} frames of {src['spec']} at {src['size'][0]}x{src['size'][1]}")
    simd = f" ({' '.join(m['simd'])})" if m.get("simd") else ""
    lines.append(f"  machine: {m['cpu']}{simd}, {m['cores']} cores, Python {m['python']}, {m['runtime']} {m['litert']}, "
                 f"OpenCV {m['opencv']}, numpy {m['numpy']}")
    lines.append(f"  pipeline: detector {pipe['detector']}, model {pipe['model']} "
                 f"({'int8' if pipe['int8'] else 'float'}, {pipe['num_threads']} threads)")
    lines.append(f"  publish: {pipe['publish']}")
    lines.append("")
    lines.append(f"{'stage':<26}{'median':>8}{'p95':>8}{'p99':>8}  ms  {'n':>5}")
    for name, s in report["stages"].items():
        lines.append(f"{STAGE_TITLES.get(name, name):<26}{_fmt(s['median_ms'])}{_fmt(s['p95_ms'])}"
                     f"{_fmt(s['p99_ms'])}      {s['n']:>5}")
    e = report["end_to_end"]
    lines.append(f"{'end-to-end capture->publish':<26}{_fmt(e['median_ms'])}{_fmt(e['p95_ms'])}{_fmt(e['p99_ms'])}"
                 f"      {e['n']:>5}")
    cpu = report["cpu"]
    lines.append(f"capacity {e['fps']:.0f} frames/s; CPU {cpu['ms_per_frame']:.3f} ms per frame "
                 f"({cpu['cores_used']} cores busy while running); peak RSS {report['rss_mb']:.1f} MB; "
                 f"faces/frame {report['faces']['mean_per_frame']}")
    if report["comparisons"]:
        lines.append("")
        lines.append(f"{'comparison (same frames/crops)':<44}{'median':>8}{'p95':>8}  ms  {'ratio':>7}  vs")
        for name, c in report["comparisons"].items():
            ratio = c.get("ratio_to_baseline")
            extra = f"  faces/frame {c['faces_per_frame']}" if "faces_per_frame" in c else ""
            lines.append(f"{c['title'][:43]:<44}{_fmt(c['median_ms'])}{_fmt(c['p95_ms'])}    "
                         f"{_fmt(ratio, 7, 2)}  {c.get('baseline', '')}{extra}")
    if report["ratios"]:
        lines.append("")
    lines += verdict_lines(report)
    for note in report["notes"]:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def check_plot_available() -> None:
    """Fail before measuring anything, not after (matplotlib is optional on the Pi)."""
    try:
        import matplotlib  # noqa: F401, PLC0415
    except ImportError:
        raise MoodEdgeError("matplotlib is not installed", field="--plot",
                            expected="`pip install matplotlib` (or `pip install .[bench]`), or leave out --plot") \
            from None


def write_plot(report: dict[str, Any], end_to_end_ns: list[int], path: Path) -> None:
    import matplotlib  # noqa: PLC0415 - optional, only for --plot

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    comps = {k: v for k, v in report["comparisons"].items() if v.get("median_ms")}
    fig, axes = plt.subplots(1, 3 if comps else 2, figsize=(18 if comps else 12, 5.5))
    ax = axes[0]
    names = [n for n, s in report["stages"].items() if s["median_ms"] is not None]
    med = [report["stages"][n]["median_ms"] for n in names]
    p95 = [report["stages"][n]["p95_ms"] for n in names]
    y = np.arange(len(names))
    ax.barh(y, med, color="#4c72b0", label="median")
    ax.errorbar(med, y, xerr=[np.zeros(len(med)), np.subtract(p95, med)], fmt="none", ecolor="black",
                capsize=3, label="to p95")
    ax.set_yticks(y, [STAGE_TITLES.get(n, n) for n in names])
    ax.invert_yaxis()
    ax.set_xlabel("ms per frame")
    ax.set_title("latency per stage")
    ax.legend(loc="lower right")
    ax = axes[1]
    e2e = np.asarray(end_to_end_ns) / 1e6
    ax.hist(e2e, bins=min(50, max(5, len(e2e) // 4)), color="#55a868")
    e = report["end_to_end"]
    for value, style, label in ((e["median_ms"], "-", "median"), (e["p95_ms"], "--", "p95")):
        ax.axvline(value, color="black", linestyle=style, label=f"{label} {value:.2f} ms")
    ax.set_xlabel("end-to-end capture->publish, ms")
    ax.set_ylabel("frames")
    ax.set_title(f"end to end: {e['fps']:.0f} frames/s capacity")
    ax.legend()
    if comps:
        ax = axes[2]
        titles = [c["title"] for c in comps.values()]
        values = [c["median_ms"] for c in comps.values()]
        colors = ["#c44e52" if c["group"] == "detector" else "#8172b2" for c in comps.values()]
        y = np.arange(len(titles))
        ax.barh(y, values, color=colors)
        ax.set_yticks(y, titles, fontsize=7)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlabel("median ms (log scale)")
        ax.set_title("comparisons (same frames and crops)")
    src = report["source"]
    fig.suptitle(f"mood-edge bench: {report['machine']['cpu']}, {src['size'][0]}x{src['size'][1]}, "
                 f"detector {report['pipeline']['detector']}", fontsize=10)
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=110)
    except OSError as exc:
        raise MoodEdgeError(f"cannot write it: {exc.strerror}", path=path, field="--plot") from None
    finally:
        plt.close(fig)


def write_json(report: dict[str, Any], path: Path) -> None:
    try:
        path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise MoodEdgeError(f"cannot write it: {exc.strerror}", path=path, field="--json") from None


def _check_output_dir(path: str | None, option: str) -> Path | None:
    if path is None:
        return None
    p = Path(path)
    if not p.parent.is_dir():
        raise MoodEdgeError("its folder does not exist", path=p, field=option, expected="a path in an existing folder")
    return p


def distance_main(args: argparse.Namespace) -> int:
    from . import bench_distance as bd  # noqa: PLC0415

    cfg = config_mod.load(args.config)
    for key, value in {"camera.source": args.camera, "detector.kind": args.detector, "model.path": args.model,
                       "model.num_threads": args.threads}.items():
        if value is not None:
            config_mod.set_value(cfg, key, value, origin="command line")
    width, height = parse_size(args.capture) or (cfg.camera.width, cfg.camera.height)
    for name, value in (("--per-distance", args.per_distance), ("--empty", args.empty)):
        if not 1 <= value <= 1000:
            raise ConfigError(f"got {value}", path="command line", field=name, expected="1 to 1000 frames")
    json_path = _check_output_dir(args.json, "--json")
    only = [k for k in args.only.split(",") if k] if args.only else None
    report = bd.run(cfg, width=width, height=height, distances=bd.parse_distances(args.distances),
                    per_distance=args.per_distance, empty=args.empty, only=only, progress=not args.no_progress)
    with tempfile.TemporaryDirectory(prefix="mood-edge-bench-") as state_dir:
        report["end_to_end"] = bd.end_to_end(cfg, width=width, height=height, state_dir=state_dir)
    report["machine"] = machine_info()
    print(bd.format_table(report))
    e2e = report["end_to_end"]
    print(f"\nend to end, one face at {e2e['distance_m']:g} m, capture->publish median: "
          f"default ({e2e['default']['detector']}) {e2e['default']['median_ms']:.2f} ms, face found in "
          f"{e2e['default']['found_pct']:.0f}% of frames; before ({e2e['today']['detector']}, 640x480 grey) "
          f"{e2e['today']['median_ms']:.2f} ms, found in {e2e['today']['found_pct']:.0f}%; "
          f"ratio {e2e['ratio_to_today']:.2f}")
    empty = e2e["empty_room"]
    print(f"empty rooms, frame after frame (tracking as in the daemon): a face in {empty['frames_with_a_face']} "
          f"of {empty['frames']} frames ({empty['full_frame_searches']} whole-frame searches)")
    if json_path is not None:
        bd.write_json(report, json_path)
        log.info("wrote %s", json_path)
    return 0


def main(args: argparse.Namespace) -> int:
    if args.keras_model is not None or args.compare_fer:
        raise MoodEdgeError(MOVED, field="--keras-model" if args.keras_model is not None else "--compare-fer")
    if args.distance:
        return distance_main(args)
    if args.frames <= 0:
        raise ConfigError(f"got {args.frames}", path="command line", field="--frames", expected="a positive count")
    if args.warmup < 0:
        raise ConfigError(f"got {args.warmup}", path="command line", field="--warmup", expected="0 or more")
    if args.compare_frames <= 0:
        raise ConfigError(f"got {args.compare_frames}", path="command line", field="--compare-frames",
                          expected="a positive count")
    size = parse_size(args.size)
    json_path = _check_output_dir(args.json, "--json")
    plot_path = _check_output_dir(args.plot, "--plot")
    if plot_path is not None:
        check_plot_available()
    progress = not args.no_progress
    argv = sys.argv[2:] if len(sys.argv) > 2 else []
    notes: list[str] = []
    skipped: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="mood-edge-bench-") as state_dir:
        cfg = bench_config(args, state_dir)
        if cfg.camera.source == f"file:{sample_clip()}" and not sample_clip().is_file():
            raise SourceError("the bundled sample clip is missing", path=sample_clip(),
                              expected="a checkout or install with samples/, or --camera SOURCE")
        if not Path(cfg.model.path).is_file():
            raise ModelError("no such model file", path=cfg.model.path,
                             expected=f"the int8 classifier (default {default_model()}); see --model")
        machine = machine_info()
        run = run_pipeline(cfg, args.frames, args.warmup, size, progress)
        rss_mb = peak_rss_mb()  # before the comparisons load more models
        comparisons: list[Comparison] = []
        if not args.no_compare:
            frames = read_frames(cfg, args.compare_frames, size)
            from .detect import make_detector  # noqa: PLC0415

            sets = face_sets(frames, make_detector(cfg.detector))
            model_path = Path(cfg.model.path)
            comparisons += classifier_comparisons(cfg, sets, float_twin_path(model_path, args.float_model),
                                                  skipped, progress)
            comparisons += detector_comparisons(cfg, frames, skipped, progress)
            notes.append(f"comparisons ran on the first {len(frames)} frames of the same source "
                         f"({sum(len(f) for _, f in sets)} face crops found by {run.detector})")
        skipped["classify_keras"] = MOVED
        skipped["fer_pipeline"] = MOVED
    if "serialisation only" in run.publish_mode:
        notes.append("publish = the daemon's publish step (message, change check) + to_json(), nothing sent; "
                     "give --broker URL to time a real MQTT publish")
    notes.append("publish is forced on every frame here; the daemon sends only on a change or a heartbeat, "
                 "but pays the message build and change check on every frame")
    notes.append("classify = inference + label mapping for the frame's faces; preprocess and classify are "
                 "timed on frames with faces only")
    report = build_report(run, comparisons, skipped, notes, machine, rss_mb, argv)
    print(format_table(report))
    if json_path is not None:
        write_json(report, json_path)
        log.info("wrote %s", json_path)
    if plot_path is not None:
        write_plot(report, run.end_to_end, plot_path)
        log.info("wrote %s", plot_path)
    return 0
