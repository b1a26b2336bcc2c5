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
(tools/pi/pi_scenes.py) and each scene of ``--scenes`` (empty, one, two, walkin, close, tv, idle) runs in
a fresh pipeline; it prints ``scene NAME FIRST LAST ...`` for the report. Under qemu the scenes'
buffers come from ``--scene-dir`` (built on the host: the emulated root has no scikit-image).

Markers: the qemu plugin's system call, or, with ``MOOD_EDGE_MARK_LIB`` naming a library built from
tools/pi/callgrind-mark.c, a callgrind dump (tools/pi/callgrind-cost.sh: x86 instructions, a proxy
where no qemu and arm64 root are at hand).
"""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
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


def run_frames(pipe: Pipeline, first: int, count: int, close: bool = True) -> tuple[int, str]:
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
    if close:
        source.close()
    return first + count, size


def picamera2_scenes(cfg: config_mod.Config, names: list[str], frames: int, warmup: int,
                     scene_dir: Path | None = None) -> str:
    """Every scene in a fresh pipeline reading the real Picamera2Source; returns the capture size.
    Prints ``scene NAME FIRST LAST start S [in_view V] [left_out L]`` per scene: measured frames
    FIRST..LAST, the scene's first frame S, where the face comes into view (first sight is counted
    from there) and, for the TV, whether it was left out by FIRST."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import pi_scenes  # noqa: PLC0415 - tools/pi, next to this file

    cfg.camera.source = "picamera2"
    lores = (cfg.camera.lores_width, cfg.camera.lores_height)
    index = 0
    for spec in names:
        name, _, count = spec.partition(":")
        n = pi_scenes.frame_count(name, int(count) if count else frames, warmup)
        if scene_dir is not None:
            buffers = pi_scenes.load(scene_dir / f"{name}.npz")
            if len(buffers[0]) != n or buffers[1].shape[1:] != (lores[1] * 3 // 2, lores[0]):
                raise SystemExit(f"{scene_dir / name}.npz: {len(buffers[0])} frames of lores "
                                 f"{buffers[1].shape[1:]}, expected {n} of {lores}: build it again")
        else:
            buffers = pi_scenes.build(name, n, cfg.camera.width, cfg.camera.height)
        options = cfg.detector.options.get(cfg.detector.kind)
        # the scene's own detector settings (the TV learnt in 20 frames, scheduled looks within the run)
        changes = {k: v for k, v in pi_scenes.SCENE_OPTIONS.get(name, {}).items()
                   if hasattr(detector_options(cfg), k)}
        if changes:
            cfg.detector.options[cfg.detector.kind] = dataclasses.replace(detector_options(cfg), **changes)
        sys.modules["picamera2"] = pi_scenes.standin(buffers, lores)
        pipe = Pipeline(cfg)
        if options is None:
            cfg.detector.options.pop(cfg.detector.kind, None)
        else:
            cfg.detector.options[cfg.detector.kind] = options
        pipe.source.open()
        # the detector's interpreters made and warmed once, uncounted (the daemon does it at start)
        pipe.detector.detect(pipe.source.read().detect_image)
        getattr(pipe.detector, "reset", lambda: None)()
        pipe.source._cam.index = 0  # the stand-in starts the scene again
        counting(True)
        start = index
        skip = warmup + (pi_scenes.TV_LEARN if name == "tv" else 0)
        index, _ = run_frames(pipe, index, skip, close=False)
        left_out = restless_out(pipe)
        index, _ = run_frames(pipe, index, n - skip)
        counting(False)
        extra = f" start {start}"
        if name in pi_scenes.WALK_TO:
            extra += f" in_view {start + pi_scenes.WALK_START}"
        elif name in ("one", "two"):
            extra += f" in_view {start}"
        if name == "tv":
            extra += f" left_out {int(left_out)} restless_frames {pi_scenes.TV_RESTLESS}"
        if name == "idle":
            extra += f" look_every {pi_scenes.IDLE_EVERY}"
        print(f"scene {name} {start + skip} {index - 1}{extra}", flush=True)
        del pipe, buffers
    return f"{cfg.camera.width}x{cfg.camera.height}+lores{lores[0]}x{lores[1]}"


def detector_options(cfg: config_mod.Config):
    """The configured detector's options (its defaults if the config has none)."""
    from edge.detectors import detector_class  # noqa: PLC0415

    return detector_class(cfg.detector.kind).options_from(cfg.detector)


def restless_out(pipe: Pipeline) -> bool:
    """Whether the motion detector has left part of the picture out (a TV) by now."""
    restless = getattr(getattr(pipe.detector, "motion", None), "restless", None)
    out = getattr(restless, "out", None)
    return bool(out is not None and out.any())


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--detector", help="a detector kind from edge.detectors (default: the config's)")
    p.add_argument("--frames", type=int, default=30, help="frames measured (default 30)")
    p.add_argument("--warmup", type=int, default=5, help="frames run first, not measured (default 5)")
    p.add_argument("--threads", type=int, default=1, help="detector and classifier threads (default 1)")
    p.add_argument("--picamera2", action="store_true",
                   help="the real Picamera2Source fed main and lores YUV420 buffers by a stand-in picamera2")
    p.add_argument("--scenes", default="empty,one,two,walkin", help="with --picamera2: scenes, comma-separated, each NAME or NAME:FRAMES (default --frames)")
    p.add_argument("--scene-dir", type=Path, help="with --picamera2: read each scene's buffers from DIR/NAME.npz "
                   "(tools/pi/pi_scenes.py DIR, with the same --frames and --warmup) instead of building them")
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
        size = picamera2_scenes(cfg, [s for s in args.scenes.split(",") if s], args.frames, args.warmup, args.scene_dir)
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
