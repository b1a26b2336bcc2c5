"""The daemon's pipeline, frame by frame, with a marker system call between its stages.

Run by ``tools/pi-emulated-test.sh --cost`` inside qemu-aarch64 with the insn-count plugin
(tools/pi/insn-count.c), which logs the guest's instruction count at each marker: the differences
are aarch64 instructions per stage per frame, a cost figure that does not depend on this machine's
speed or load. The stages and their order are those of ``mood-edge bench`` (edge/commands/bench/timing.py); the
settings are the default config's, on the bundled sample clip, with one thread for detection and
classification ("within one core"). Marker tags: ``frame * 8 + stage boundary``; negative tags
are back-to-back markers that measure the marker's own cost.

``--picamera2`` measures the way the Pi runs instead: the real ``Picamera2Source`` is handed
1280x960 main and 800x600 lores YUV420 buffers by a thin stand-in ``picamera2``
(tools/pi/pi_scenes.py) and each scene of ``--scenes`` (empty, one, two, walkin) runs in a fresh
pipeline; it prints ``scene NAME FIRST LAST`` for the report.

Markers: the qemu plugin's system call, or, with ``MOOD_EDGE_MARK_LIB`` naming a library built from
tools/pi/callgrind-mark.c, a callgrind dump (tools/pi/callgrind-cost.sh: x86 instructions, a proxy
where no qemu and arm64 root are at hand).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import sys
import tempfile
from pathlib import Path

from edge import config as config_mod
from edge.commands.bench.timing import STAGES
from edge.commands.daemon import Pipeline
from edge.paths import sample_clip

MARK_SYSCALL = 0x4D45  # no kernel has it; qemu answers ENOSYS after the plugin has seen it
_libc = ctypes.CDLL(None)
_marker = ctypes.CDLL(os.environ["MOOD_EDGE_MARK_LIB"]) if os.environ.get("MOOD_EDGE_MARK_LIB") else None


def mark(tag: int) -> None:
    if _marker is not None:
        _marker.mood_edge_mark(ctypes.c_long(tag))
    else:
        _libc.syscall(ctypes.c_long(MARK_SYSCALL), ctypes.c_long(tag))


def counting(on: bool) -> None:
    """Count from here on (or not): callgrind only; qemu's plugin counts everything, and only the
    differences between markers are used either way."""
    if _marker is not None:
        _marker.mood_edge_counting(ctypes.c_int(int(on)))


def run_frames(pipe: Pipeline, first: int, count: int) -> tuple[int, str]:
    """``count`` frames through the pipeline, markers around each stage; the next frame index and
    the grey picture's size."""
    source, size = pipe.source, "?"
    if not source.is_open:
        source.open()
    for i in range(first, first + count):
        tag = i * 8
        mark(tag)
        frame = source.read()
        if frame is None:
            break
        mark(tag + 1)
        # the daemon's own step; a marker as each stage ends (detect, preprocess, classify, ...)
        laps = iter(range(2, len(STAGES) + 1))
        result = pipe.step(frame, force_publish=True, lap=lambda stage: mark(tag + next(laps)))
        print(f"frame {i} faces {len(result.faces)}", flush=True)
        size = f"{frame.gray.shape[1]}x{frame.gray.shape[0]}"
    source.close()
    return first + count, size


def picamera2_scenes(cfg: config_mod.Config, names: list[str], frames: int, warmup: int) -> str:
    """Every scene in a fresh pipeline reading the real Picamera2Source; returns the capture size."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import pi_scenes  # noqa: PLC0415 - tools/pi, next to this file

    cfg.camera.source = "picamera2"
    lores = (cfg.camera.lores_width, cfg.camera.lores_height)
    index = 0
    for spec in names:
        name, _, count = spec.partition(":")
        measured = int(count) if count else frames
        n = warmup + (pi_scenes.WALK_START + pi_scenes.WALK_FRAMES + measured // 4 if name == "walkin" else measured)
        sys.modules["picamera2"] = pi_scenes.standin(pi_scenes.build(name, n, cfg.camera.width, cfg.camera.height),
                                                     lores)
        pipe = Pipeline(cfg)
        pipe.source.open()
        # the detector's interpreters made and warmed once, uncounted (the daemon does it at start)
        pipe.detector.detect(pipe.source.read().detect_image)
        getattr(pipe.detector, "reset", lambda: None)()
        pipe.source._cam.index = 0  # the stand-in starts the scene again
        counting(True)
        first = index
        index, _ = run_frames(pipe, index, n)
        counting(False)
        print(f"scene {name} {first + warmup} {index - 1} in_view {first + pi_scenes.WALK_START}"
              if name == "walkin" else f"scene {name} {first + warmup} {index - 1}", flush=True)
    return f"{cfg.camera.width}x{cfg.camera.height}+lores{lores[0]}x{lores[1]}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--detector", help="a detector kind from edge.detectors (default: the config's)")
    p.add_argument("--frames", type=int, default=30, help="frames measured (default 30)")
    p.add_argument("--warmup", type=int, default=5, help="frames run first, not measured (default 5)")
    p.add_argument("--threads", type=int, default=1, help="detector and classifier threads (default 1)")
    p.add_argument("--picamera2", action="store_true",
                   help="the real Picamera2Source fed main and lores YUV420 buffers by a stand-in picamera2")
    p.add_argument("--scenes", default="empty,one,two,walkin", help="with --picamera2: scenes, comma-separated, each NAME or NAME:FRAMES (default --frames)")
    args = p.parse_args()

    cfg = config_mod.Config()
    cfg.camera.source = f"file:{sample_clip()}"
    cfg.mqtt.broker = ""  # the publish stage serialises, as `mood-edge bench` without --broker
    cfg.detector.num_threads = cfg.model.num_threads = args.threads
    if args.detector:
        cfg.detector.kind = args.detector
    state_dir = tempfile.TemporaryDirectory(prefix="mood-edge-cost-")
    cfg.daemon.state_dir = state_dir.name
    counting(True)
    for k in range(1, 41):
        mark(-k)
    counting(False)
    if args.picamera2:
        size = picamera2_scenes(cfg, [s for s in args.scenes.split(",") if s], args.frames, args.warmup)
        detector = cfg.detector.kind
    else:
        pipe = Pipeline(cfg)
        counting(True)
        _, size = run_frames(pipe, 0, args.warmup + args.frames)
        detector = getattr(pipe.detector, "name", cfg.detector.kind)
    print("stages " + " ".join(STAGES) + f" detector {detector} warmup {args.warmup} size {size}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
