"""The daemon's pipeline, frame by frame, with a marker system call between its stages.

Run by ``tools/pi-emulated-test.sh --cost`` inside qemu-aarch64 with the insn-count plugin
(tools/pi/insn-count.c), which logs the guest's instruction count at each marker: the differences
are aarch64 instructions per stage per frame, a cost figure that does not depend on this machine's
speed or load. The stages and their order are those of ``mood-edge bench`` (edge/bench/timing.py); the
settings are the default config's, on the bundled sample clip, with one thread for detection and
classification ("within one core"). Marker tags: ``frame * 8 + stage boundary``; negative tags
are back-to-back markers that measure the marker's own cost.
"""

from __future__ import annotations

import argparse
import ctypes
import tempfile

from edge import config as config_mod
from edge.bench.timing import STAGES
from edge.daemon import Pipeline
from edge.paths import sample_clip

MARK_SYSCALL = 0x4D45  # no kernel has it; qemu answers ENOSYS after the plugin has seen it
_libc = ctypes.CDLL(None)


def mark(tag: int) -> None:
    _libc.syscall(ctypes.c_long(MARK_SYSCALL), ctypes.c_long(tag))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--detector", help="a detector kind from edge.detectors (default: the config's)")
    p.add_argument("--frames", type=int, default=30, help="frames measured (default 30)")
    p.add_argument("--warmup", type=int, default=5, help="frames run first, not measured (default 5)")
    p.add_argument("--threads", type=int, default=1, help="detector and classifier threads (default 1)")
    args = p.parse_args()

    cfg = config_mod.Config()
    cfg.camera.source = f"file:{sample_clip()}"
    cfg.mqtt.broker = ""  # the publish stage serialises, as `mood-edge bench` without --broker
    cfg.detector.num_threads = cfg.model.num_threads = args.threads
    if args.detector:
        cfg.detector.kind = args.detector
    state_dir = tempfile.TemporaryDirectory(prefix="mood-edge-cost-")
    cfg.daemon.state_dir = state_dir.name
    pipe = Pipeline(cfg)
    source = pipe.source
    source.open()
    for k in range(1, 41):
        mark(-k)
    for i in range(args.warmup + args.frames):
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
    source.close()
    gray = frame.gray if frame is not None else None
    size = f"{gray.shape[1]}x{gray.shape[0]}" if gray is not None else "?"
    print("stages " + " ".join(STAGES) + f" detector {getattr(pipe.detector, 'name', cfg.detector.kind)}"
          f" warmup {args.warmup} size {size}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
