"""``mood-edge bench``: time every stage of the pipeline on a real clip, and compare alternatives.

The main run drives the daemon's own step (``edge.commands.daemon.Pipeline.step``) frame by frame and
times each stage with ``time.perf_counter_ns``. Then, on the same frames and the same face crops, it
times the alternatives side by side: int8 vs float32 TFLite, 1 thread vs all cores, and the Haar
and BlazeFace detectors (with and without tracking) at 320x240 and 640x480. Ratios matter more than
absolute times on a noisy machine, so every comparison carries one.

Only what runs on the Pi is measured here: the Keras and ``fer`` comparisons need TensorFlow and
live on the training host (``mood-convert bench-keras``), so this package never imports it.

The work is split by job: :mod:`.timing` (the main run through ``Pipeline.step``), :mod:`.compare`
(the side-by-side comparisons), :mod:`.report` (table, JSON, plot) and :mod:`.distance`
(``--distance``); what machine measured it, and the figures' summaries, come from :mod:`edge.measure`,
which ``mood-convert bench-keras`` shares. This module is the command line; it imports the
rest only when the command runs, so ``from edge.commands.bench.timing import ...`` stays light.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import tempfile
from pathlib import Path

from ... import config as config_mod
from ...config import Config, detector_kinds
from ...errors import ConfigError, ModelError, MoodEdgeError, SourceError, kind_of
from ...paths import default_model, sample_clip
from ...sources import choices as source_choices

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

#: what --keras-model / --compare-fer say now (kept so old scripts get a clear answer, not "unrecognized")
MOVED = "the Keras and fer comparisons moved to the training host: run `mood-convert bench-keras`"


# --------------------------------------------------------------------------------------------------
# command line

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--camera", metavar="SOURCE",
                   help=f"frame source: {source_choices()} (default: the bundled sample clip)")
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
                        "empty scenes at their width at 0.5-6 m); see docs/detectors.md")
    d.add_argument("--capture", metavar="WxH", help="capture size for --distance (default: camera.width x height)")
    d.add_argument("--distances", metavar="M,M,...", help="metres (default: 0.5,1,2,3,3.5,4,5,6)")
    d.add_argument("--per-distance", type=int, default=16, metavar="N", help="frames per distance (default: 16)")
    d.add_argument("--empty", type=int, default=24, metavar="N", help="empty-scene frames (default: 24)")
    d.add_argument("--only", metavar="KEY,...", help="only these detector variants (keys as in the JSON)")
    d.add_argument("--positions", action="store_true",
                   help="also place every face at the corners, edges and centre and in groups of 3 and 4: "
                        "found %% per position, the mean and the worst (the default detector and blazeface_scan)")


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


def _check_output_dir(path: str | None, option: str) -> Path | None:
    if path is None:
        return None
    p = Path(path)
    if not p.parent.is_dir():
        raise MoodEdgeError("its folder does not exist", path=p, field=option, expected="a path in an existing folder")
    return p


def distance_main(args: argparse.Namespace) -> int:
    from . import distance as bd  # noqa: PLC0415
    from ...classify.interpreter import runtime_name  # noqa: PLC0415
    from ...measure import machine_info  # noqa: PLC0415
    from .report import write_json  # noqa: PLC0415

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
    report["machine"] = machine_info(runtime_name())
    print(bd.format_table(report))
    print("\n" + "\n".join(bd.end_to_end_lines(report["end_to_end"])))
    if args.positions:
        from . import positions  # noqa: PLC0415

        report["positions"] = positions.run(cfg, width=width, height=height,
                                            distances=bd.parse_distances(args.distances), empty=args.empty)
        for result in report["positions"].values():
            print("\n" + positions.format_table(result["title"], result))
    if json_path is not None:
        write_json(report, json_path)
        log.info("wrote %s", json_path)
    return 0


def main(args: argparse.Namespace) -> int:
    from .compare import (  # noqa: PLC0415 - the command's work, loaded when it runs
        Comparison,
        classifier_comparisons,
        detector_comparisons,
        float_twin_path,
        read_frames,
    )
    from ...classify.interpreter import runtime_name  # noqa: PLC0415
    from ...measure import face_sets, machine_info, peak_rss_mb  # noqa: PLC0415
    from .report import build_report, check_plot_available, format_table, write_json, write_plot  # noqa: PLC0415
    from .timing import run_pipeline  # noqa: PLC0415

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
        if kind_of(cfg.model.path, ModelError, "the int8 classifier", field="model.path") != "file":
            raise ModelError("no such model file", path=cfg.model.path,
                             expected=f"the int8 classifier (default {default_model()}); see --model")
        machine = machine_info(runtime_name())
        run = run_pipeline(cfg, args.frames, args.warmup, size, progress)
        rss_mb = peak_rss_mb()  # before the comparisons load more models
        comparisons: list[Comparison] = []
        if not args.no_compare:
            frames = read_frames(cfg, args.compare_frames, size)
            from ...detectors.make import make_detector  # noqa: PLC0415

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
