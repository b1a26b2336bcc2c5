"""``mood-edge bench --distance``: how far away does each detector still find and read a face?

Frames are built from real faces with their real head-and-shoulders context — scikit-image's
astronaut (NASA, public domain) and matplotlib's Grace Hopper (US Navy, public domain), both in
colour, each also mirrored — scaled so the face is as wide as it would be at a given distance from
the camera, and pasted at a random place into real photographs with nobody in them (scikit-image's
coffee, rocket, chelsea, motorcycle, brick; matplotlib's present), at the capture size. The same
empty scenes, without a face, count false faces.

Geometry (:func:`edge.geometry.face_px`): a face is ~0.15 m wide; at distance d it is
``0.15 * W / (2 d tan(HFOV / 2))`` pixels of a W-pixel-wide capture (HFOV 62 deg: Camera Module v2;
66: Module 3; 102: Module 3 Wide).

The detector sees what the camera would give it: on ``picamera2`` the lores stream
(``camera.lores_width`` x ``lores_height``, in colour), elsewhere the capture itself. The classifier
reads the grey capture, and its answer is compared with its answer on the same face seen large (the
source photo's own face crop): "agreement".

Every figure is a count over this small, fixed set (seeded): faces found, false faces, agreement.
Times are per frame on this machine and are printed, never asserted.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from dataclasses import dataclass
from typing import Any, Callable

import cv2
import numpy as np

from ...config import Config, DetectorConfig
from ...detectors.base import Detector, Face
from ...errors import ConfigError
from ...geometry import face_px
from .scenes import DEFAULT_DISTANCES, Person, Sample, build_set, compose, cover, people, scenes  # noqa: F401

log = logging.getLogger(__name__)

# --- matching and scoring -------------------------------------------------------------------------

def matches(face: Face, truth: tuple[int, int, int, int]) -> bool:
    """A detection is the face when its centre lies on the face and its size is within 2x."""
    x, y, w, h = truth
    cx, cy = face.center
    return (x - 0.25 * w <= cx <= x + 1.25 * w and y - 0.25 * h <= cy <= y + 1.25 * h
            and 0.5 <= face.w / w <= 2.0)


@dataclass
class CameraView:
    """What the detector is given: the capture itself, or (picamera2) the lores stream of it."""

    lores: tuple[int, int] | None = None

    def detect_image(self, frame: np.ndarray) -> tuple[np.ndarray, float]:
        if self.lores is None or self.lores[0] >= frame.shape[1]:
            return frame, 1.0
        small = cv2.resize(frame, self.lores, interpolation=cv2.INTER_AREA)
        return small, frame.shape[1] / self.lores[0]


@dataclass
class Variant:
    key: str
    title: str
    make: Callable[[], Detector]
    #: give the detector colour (False: the grey plane, as mood-edge did before)
    color: bool = True


def evaluate(variant: Variant, samples: list[Sample], view: CameraView, classifier: Any | None,
             references: dict[str, str]) -> dict[str, Any]:
    det = variant.make()
    warm, _ = view.detect_image(samples[0].frame)
    det.detect(warm if variant.color else cv2.cvtColor(warm, cv2.COLOR_BGR2GRAY))
    rows: dict[str, dict[str, Any]] = {}
    times: list[int] = []
    for s in samples:
        if hasattr(det, "reset"):
            det.reset()  # every sample is a still; a tracker must not carry one into the next
        image, back = view.detect_image(s.frame)
        if not variant.color:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        t0 = time.perf_counter_ns()
        faces = [f.scaled(back) for f in det.detect(image)]
        times.append(time.perf_counter_ns() - t0)
        key = "empty" if s.distance is None else f"{s.distance:g}"
        row = rows.setdefault(key, {"distance_m": s.distance, "frames": 0, "found": 0, "false_faces": 0,
                                    "frames_with_false_faces": 0, "read": 0, "agree": 0, "ns": []})
        row["frames"] += 1
        row["ns"].append(times[-1])
        hit = [f for f in faces if s.truth is not None and matches(f, s.truth)]
        false = len(faces) - (1 if hit else 0)
        row["false_faces"] += false
        row["frames_with_false_faces"] += int(false > 0)
        if hit:
            row["found"] += 1
            if classifier is not None and s.person in references:
                gray = cv2.cvtColor(s.frame, cv2.COLOR_BGR2GRAY)
                pred = classifier.classify_still(gray, [hit[0]])[0]
                row["read"] += 1
                row["agree"] += int(pred.label == references[s.person])
    for row in rows.values():
        ns = sorted(row.pop("ns"))
        row["median_ms"] = round(ns[len(ns) // 2] / 1e6, 3)
        row["found_pct"] = round(100.0 * row["found"] / row["frames"], 1) if row["distance_m"] is not None else None
        row["agree_pct"] = round(100.0 * row["agree"] / row["read"], 1) if row["read"] else None
    ordered = sorted(times)
    return {"key": variant.key, "title": variant.title, "color": variant.color, "rows": rows,
            "median_ms": round(ordered[len(ordered) // 2] / 1e6, 3)}


def reference_labels(classifier: Any) -> dict[str, str]:
    """The classifier's reading of each person's face seen large (the source photo's own crop)."""
    out = {}
    for p in people():
        gray = cv2.cvtColor(p.image, cv2.COLOR_BGR2GRAY)
        out[p.name] = classifier.classify_still(gray, [Face(*p.face)])[0].label
    return out


def variants(cfg: DetectorConfig, threads: int) -> list[Variant]:
    """Every detector tried, by registry key, plus the old grey feed and tracked combinations."""
    from ...detectors.make import make_detector  # noqa: PLC0415

    def make(kind: str, **changes: Any) -> Callable[[], Detector]:
        c = dataclasses.replace(cfg, kind=kind, num_threads=threads, **changes)
        return lambda: make_detector(c)

    from ...detectors.blazeface_scan import BlazeFaceScanOptions  # noqa: PLC0415

    full_w = 8192
    out = [
        Variant("blazeface_gray", "BlazeFace short-range, grey (before)", make("blazeface", track=False), color=False),
        Variant("blazeface", "BlazeFace short-range 128, colour", make("blazeface", track=False)),
        Variant("blazeface_full", "BlazeFace full-range 192, colour", make("blazeface_full", track=False)),
        Variant("haar", "Haar, detect_width 320", make("haar", track=False, detect_width=320, min_size=24)),
        Variant("haar_full", "Haar, full width, min_size 16",
                make("haar", track=False, detect_width=full_w, min_size=16)),
    ]
    # scan widths up to the detector's input (the lores stream on picamera2; a wider scan than that
    # would only upscale); thresholds around the default 0.75
    for width in (640, 800):
        for conf in (0.6, 0.75):
            opts = {"blazeface_scan": BlazeFaceScanOptions(width=width, min_confidence=conf)}
            out.append(Variant(f"blazeface_scan_{width}_{round(conf * 100)}",
                               f"BlazeFace short-range scan at {width} px, min_confidence {conf:g}",
                               make("blazeface_scan", track=False, options=opts)))
    opts = {"blazeface_scan": BlazeFaceScanOptions(whole_frame=False)}
    out.append(Variant("blazeface_scan_no_whole_frame", "BlazeFace scan at 800 px without the whole-frame pass",
                       make("blazeface_scan", track=False, options=opts)))
    return out


def run(cfg: Config, *, width: int, height: int, distances: tuple[float, ...], per_distance: int, empty: int,
        only: list[str] | None = None, threads: int | None = None, progress: bool = False) -> dict[str, Any]:
    from ...classify.classifier import Classifier  # noqa: PLC0415

    samples = build_set(width, height, distances, per_distance, empty, cfg.camera.hfov_deg)
    view = CameraView((cfg.camera.lores_width, cfg.camera.lores_height)
                      if cfg.camera.source == "picamera2" else None)
    classifier = Classifier(cfg.model.path, cfg.model.num_threads, cfg.model.labels)
    refs = reference_labels(classifier)
    n_threads = threads or cfg.detector.num_threads
    results = []
    chosen = variants(cfg.detector, n_threads)
    default_key = "default"
    from ...detectors.make import make_detector  # noqa: PLC0415

    chosen.insert(0, Variant(default_key, f"default ({cfg.detector.kind}"
                                          f"{' + tracking' if cfg.detector.track else ''})",
                             lambda: make_detector(cfg.detector)))
    for v in chosen:
        if only and v.key not in only:
            continue
        t0 = time.monotonic()
        results.append(evaluate(v, samples, view, classifier, refs))
        if progress:
            log.info("%s: %.1f s", v.key, time.monotonic() - t0)
    return {
        "capture": [width, height],
        "detector_input": list(view.lores) if view.lores else [width, height],
        "hfov_deg": cfg.camera.hfov_deg,
        "face_px": {f"{d:g}": round(face_px(d, width, cfg.camera.hfov_deg), 1) for d in distances},
        "people": sorted({p.name for p in people()}),
        "scenes": [name for name, _ in scenes()],
        "references": refs,
        "threads": n_threads,
        "classifier": {"id": classifier.model_id, "input_size": list(classifier.input_size)},
        "detectors": results,
        "cpu_count": os.cpu_count(),
    }


def format_table(report: dict[str, Any]) -> str:
    keys = list(report["face_px"])
    head = "| detector | " + " | ".join(f"{k} m ({report['face_px'][k]:.0f} px)" for k in keys) + \
        " | empty: false faces | ms/frame |"
    lines = [f"capture {report['capture'][0]}x{report['capture'][1]}, detector input "
             f"{report['detector_input'][0]}x{report['detector_input'][1]}, HFOV {report['hfov_deg']:g} deg; "
             "faces found % (classifier agreement with the large face %)", "", head,
             "|" + "---|" * (len(keys) + 3)]
    for det in report["detectors"]:
        cells = []
        for k in keys:
            row = det["rows"].get(k)
            if not row:
                cells.append("")
                continue
            agree = f" ({row['agree_pct']:.0f})" if row["agree_pct"] is not None else ""
            cells.append(f"{row['found_pct']:.0f}%{agree}")
        empty = det["rows"].get("empty")
        false = f"{empty['false_faces']} in {empty['frames']}" if empty else ""
        lines.append(f"| {det['title']} | " + " | ".join(cells) + f" | {false} | {det['median_ms']:.2f} |")
    return "\n".join(lines)


def parse_distances(text: str | None) -> tuple[float, ...]:
    if not text:
        return DEFAULT_DISTANCES
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if not values or any(not (0.1 <= v <= 50) for v in values):
        raise ConfigError(f"got {text!r}", path="command line", field="--distances",
                          expected="comma-separated metres between 0.1 and 50, e.g. 1,2,3.5")
    return values


# --- end to end: one face at sofa distance through the daemon's own pipeline ----------------------

def _today_config(cfg: Config) -> Config:
    """The old default, the baseline of the end-to-end figure: 640x480 grey frames, BlazeFace short-range,
    no tracking."""
    old = dataclasses.replace(cfg, camera=dataclasses.replace(cfg.camera, width=640, height=480, region=[]),
                              detector=dataclasses.replace(cfg.detector, kind="blazeface", track=False,
                                                           full_every=30, options={}))
    return old


def end_to_end(cfg: Config, *, width: int, height: int, distance: float = 3.5, frames: int = 60,
               state_dir: str) -> dict[str, Any]:
    """Median capture->publish ms of the configured pipeline and of the old default, on the same
    sequence (one face at ``distance``, drifting a little), and how many frames found the face."""
    from ...sources.base import Frame  # noqa: PLC0415
    from ...sources.pi_camera import yuv420_gray, yuv420_to_bgr  # noqa: PLC0415
    from ..daemon import Pipeline  # noqa: PLC0415

    rng = np.random.default_rng(35)
    person = people()[0]
    _, room = scenes()[0]
    scene = cover(room, width, height)
    base, truth = compose(scene, person, face_px(distance, width, cfg.camera.hfov_deg), rng)
    seq = []
    for i in range(frames):
        dx, dy = int(6 * math.sin(i / 7)), int(3 * math.sin(i / 5))
        seq.append((np.roll(base, (dy, dx), axis=(0, 1)), (truth[0] + dx, truth[1] + dy, truth[2], truth[3])))
    out: dict[str, Any] = {"distance_m": distance, "frames": frames, "capture": [width, height]}
    for key, c in (("today", _today_config(cfg)), ("default", cfg)):
        c = dataclasses.replace(c, mqtt=dataclasses.replace(c.mqtt, broker=""),
                                daemon=dataclasses.replace(c.daemon, state_dir=state_dir),
                                homeassistant=dataclasses.replace(c.homeassistant, enabled=False))
        pipe = Pipeline(c)
        picam = c.camera.source == "picamera2"
        w, h = c.camera.width, c.camera.height
        lw, lh = (min(c.camera.lores_width, w), min(c.camera.lores_height, h))
        buffers = []
        for image, t in seq:
            image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA) if (w, h) != (width, height) else image
            if key == "today":  # the old picamera2 path: the lores Y plane, grey
                buffers.append((cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420), None, t, w / width))
            elif picam:
                small = cv2.resize(image, (lw, lh), interpolation=cv2.INTER_AREA)
                buffers.append((cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420),
                                cv2.cvtColor(small, cv2.COLOR_BGR2YUV_I420), t, w / width))
            else:
                buffers.append((image, None, t, w / width))
        ns, found = [], 0
        for i, (main, lores, t, s) in enumerate(buffers):
            t0 = time.perf_counter_ns()
            if key == "today":
                frame = Frame(gray=yuv420_gray(main, w, h), t=0.0, index=i)
            elif picam:
                frame = Frame(gray=yuv420_gray(main, w, h), t=0.0, index=i, color=yuv420_to_bgr(lores, lw, lh))
            else:
                frame = Frame(gray=cv2.cvtColor(main, cv2.COLOR_BGR2GRAY), t=0.0, index=i, color=main)
            result = pipe.step(frame)
            pipe.message(result.state, result.picks).to_json()
            ns.append(time.perf_counter_ns() - t0)
            truth_here = tuple(int(round(v * s)) for v in t)
            found += int(any(matches(f, truth_here) for f in result.faces))
        ns.sort()
        out[key] = {"detector": pipe.detector.name, "median_ms": round(ns[len(ns) // 2] / 1e6, 3),
                    "p95_ms": round(ns[int(len(ns) * 0.95)] / 1e6, 3), "found_pct": round(100.0 * found / frames, 1),
                    "capture": [w, h], "detector_input": [lw, lh] if picam and key != "today" else [w, h]}
        full = getattr(pipe.detector, "full_detections", None)
        if full is not None:
            out[key]["full_frame_detections"] = int(full)
    out["ratio_to_today"] = round(out["default"]["median_ms"] / max(out["today"]["median_ms"], 1e-6), 2)
    out["empty_room"] = empty_room_sequence(cfg, width, height, frames)
    return out


def empty_room_sequence(cfg: Config, width: int, height: int, frames: int = 60) -> dict[str, Any]:
    """The configured detector (tracking included) over a sequence of empty scenes, frame after
    frame as the daemon runs it: a false face that tracking kept alive would count in every frame."""
    from ...detectors.make import make_detector  # noqa: PLC0415

    view = CameraView((cfg.camera.lores_width, cfg.camera.lores_height) if cfg.camera.source == "picamera2" else None)
    det = make_detector(cfg.detector)
    rooms = [cover(image, width, height) for _, image in scenes()]
    with_face = 0
    per_room = max(1, frames // len(rooms))
    for room in rooms:
        for i in range(per_room):
            image, _ = view.detect_image(np.roll(room, (i % 3, i % 5), axis=(0, 1)))
            with_face += int(bool(det.detect(image)))
    total = per_room * len(rooms)
    return {"frames": total, "frames_with_a_face": with_face,
            "full_frame_searches": int(getattr(det, "full_detections", total))}


def end_to_end_lines(e2e: dict[str, Any]) -> list[str]:
    """The closing lines of the table: the pipeline end to end against the old default, and the empty rooms."""
    empty = e2e["empty_room"]
    return [f"end to end, one face at {e2e['distance_m']:g} m, capture->publish median: "
            f"default ({e2e['default']['detector']}) {e2e['default']['median_ms']:.2f} ms, face found in "
            f"{e2e['default']['found_pct']:.0f}% of frames; before ({e2e['today']['detector']}, 640x480 grey) "
            f"{e2e['today']['median_ms']:.2f} ms, found in {e2e['today']['found_pct']:.0f}%; "
            f"ratio {e2e['ratio_to_today']:.2f}",
            f"empty rooms, frame after frame (tracking as in the daemon): a face in {empty['frames_with_a_face']} "
            f"of {empty['frames']} frames ({empty['full_frame_searches']} whole-frame searches)"]
