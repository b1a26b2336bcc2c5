"""Living-room scenes as the Pi camera delivers them, and a thin stand-in ``picamera2`` that hands
them to the real :class:`edge.sources.pi_camera.Picamera2Source`.

Used by ``tools/pi/stage_cost.py --picamera2``: the source under test is the daemon's own, reading
two real planar YUV420 buffers per request (1280x960 main, 800x600 lores by default), so the cost of
the conversions and of detection on the lores stream is what a Pi pays. The pictures are real: the
distance benchmark's empty photographs and public-domain people (edge/commands/bench/scenes.py, which
needs scikit-image), with a little sensor noise in every frame.

The emulated Pi has no scikit-image (the daemon does not need it): ``tools/pi-emulated-test.sh
--cost`` builds the scenes' buffers on the build machine with this file's command line and the
emulated run reads them (``stage_cost.py --scene-dir``), so both count the same pictures::

    python tools/pi/pi_scenes.py DIR [--scenes empty,one,...] [--frames 40] [--width 1280 ...]

Scenes (each a list of BGR frames at the main size, built before anything is counted):
``empty`` a still room; ``one`` one face at 3 m, breathing (a few pixels of drift); ``two`` two
faces on a sofa at 3 and 3.5 m; ``walkin`` an empty room, then a person walking in from the left
and sitting down at 3 m (``WALK_START`` is the first frame they are in view); ``close`` the same
walk, ending 1 m from the camera (a close face coming in); ``tv`` the empty room with a TV in view
playing a noisy, changing picture (tools/make_scene_clips.py draws it).
"""

from __future__ import annotations

import argparse
import math
import sys
import types
from pathlib import Path

import cv2
import numpy as np

from edge.commands.bench.scenes import Person, cover, people, scenes
from edge.geometry import face_px

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from make_scene_clips import draw_tv  # noqa: E402 - tools/, next to this folder

SCENES = ("empty", "one", "two", "walkin", "close", "tv", "idle")
#: idle: the empty room with a scheduled whole-frame look every this many frames (the detector's
#: ``idle_every``, 300 by default: too far apart to emulate), to count what one costs a frame
IDLE_EVERY = 10
#: walkin, close: frames of empty room, then frames walking in, then seated
WALK_START, WALK_FRAMES = 10, 12
#: where the walk ends: metres from the camera
WALK_TO = {"walkin": 3.0, "close": 1.0}
#: tv: the detector's ``restless_frames`` for the count (900 by default: ~1.6 min of a TV playing
#: before it is left out, too long to emulate), and the frames run before the measured ones, by
#: which the TV is left out
TV_RESTLESS, TV_LEARN = 10, 20
#: the detector settings a scene runs with (stage_cost.py), where the detector has them
SCENE_OPTIONS = {"tv": {"restless_frames": TV_RESTLESS}, "idle": {"idle_every": IDLE_EVERY}}
HFOV = 62.0
NOISE_SIGMA = 2.0


def _paste(frame: np.ndarray, person: Person, distance: float, fx: int, fy: int) -> None:
    """``person`` scaled to ``distance`` with its face's top-left corner at (fx, fy), in place."""
    H, W = frame.shape[:2]
    s = face_px(distance, W, HFOV) / person.face[2]
    ph, pw = person.image.shape[:2]
    patch = cv2.resize(person.image, (max(1, round(pw * s)), max(1, round(ph * s))), interpolation=cv2.INTER_AREA)
    x, y = fx - round(person.face[0] * s), fy - round(person.face[1] * s)
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + patch.shape[1]), min(H, y + patch.shape[0])
    if x1 > x0 and y1 > y0:
        frame[y0:y1, x0:x1] = patch[y0 - y:y1 - y, x0 - x:x1 - x]


def build(name: str, frames: int, width: int = 1280, height: int = 960, seed: int = 7) -> list[np.ndarray]:
    """The scene's frames (BGR, main size)."""
    rng = np.random.default_rng(seed)
    room = cover(dict(scenes())["coffee"], width, height)
    folks = people()
    noise = [rng.normal(0, NOISE_SIGMA, room.shape).astype(np.int16) for _ in range(4)]
    out = []
    for i in range(frames):
        frame = room.copy()
        dx, dy = round(3 * math.sin(i / 5)), round(2 * math.sin(i / 7))
        if name == "one":
            _paste(frame, folks[0], 3.0, int(width * 0.45) + dx, int(height * 0.5) + dy)
        elif name == "two":
            _paste(frame, folks[0], 3.0, int(width * 0.3) + dx, int(height * 0.5) + dy)
            _paste(frame, folks[1], 3.5, int(width * 0.62) - dx, int(height * 0.52) + dy)
        elif name in WALK_TO and i >= WALK_START:
            seat_x = int(width * 0.55)
            k = min(1.0, (i - WALK_START + 1) / WALK_FRAMES)
            _paste(frame, folks[0], WALK_TO[name], int(-0.1 * width + k * (seat_x + 0.1 * width)) + dx,
                   int(height * 0.42 + 0.08 * height * k) + dy)
        elif name == "tv":
            draw_tv(frame, rng, i)
        elif name not in SCENES:  # idle: the empty room
            raise ValueError(f"unknown scene {name!r}: one of {', '.join(SCENES)}")
        out.append(np.clip(frame.astype(np.int16) + noise[i % len(noise)], 0, 255).astype(np.uint8))
    return out


def frame_count(name: str, measured: int, warmup: int) -> int:
    """Frames a scene runs: ``measured`` after ``warmup``; a walk-in runs until well after the walk,
    a TV learns first."""
    if name in WALK_TO:
        return warmup + WALK_START + WALK_FRAMES + measured // 4
    return warmup + (TV_LEARN if name == "tv" else 0) + measured


def yuv_buffers(frames: list[np.ndarray], lores: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Every frame as the camera's two real YUV420 buffers: (main, lores), each stacked by frame."""
    main = np.stack([cv2.cvtColor(f, cv2.COLOR_BGR2YUV_I420) for f in frames])
    small = np.stack([cv2.cvtColor(cv2.resize(f, lores, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2YUV_I420)
                      for f in frames])
    return main, small


def save(path: Path, frames: list[np.ndarray], lores: tuple[int, int]) -> None:
    main, small = yuv_buffers(frames, lores)
    np.savez(path, main=main, lores=small)


def load(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path) as data:
        return data["main"], data["lores"]


def standin(buffers: tuple[np.ndarray, np.ndarray] | list[np.ndarray], lores: tuple[int, int]) -> types.ModuleType:
    """A ``picamera2`` module whose camera hands out the frames in turn as real YUV420 buffers, main
    and lores: ``buffers`` from :func:`yuv_buffers` or :func:`load`, or BGR frames (converted here,
    before counting starts)."""
    main, small = buffers if isinstance(buffers, tuple) else yuv_buffers(buffers, lores)
    buffers = list(zip(main, small))

    class Request:
        def __init__(self, arrays: dict[str, np.ndarray]) -> None:
            self.arrays = arrays

        def make_array(self, stream: str) -> np.ndarray:
            return self.arrays[stream].copy()  # picamera2 copies out of the camera's buffer too

        def release(self) -> None:
            pass

    class Picamera2:
        def __init__(self) -> None:
            self.camera_controls: dict = {}
            self.camera_properties = {"PixelArraySize": (3280, 2464)}
            self.index = 0

        def create_video_configuration(self, main: dict, lores: dict, controls: dict, buffer_count: int) -> dict:
            return {"main": dict(main), "lores": dict(lores), "controls": dict(controls)}

        def align_configuration(self, config: dict) -> None:
            pass

        def configure(self, config: dict) -> None:
            if tuple(config["lores"]["size"]) != lores:
                raise ValueError(f"lores {config['lores']['size']} but the buffers are {lores}")

        def start(self) -> None:
            pass

        def capture_request(self) -> Request:
            main, small = buffers[self.index % len(buffers)]
            self.index += 1
            return Request({"main": main, "lores": small})

        def stop(self) -> None:
            pass

        def close(self) -> None:
            pass

    module = types.ModuleType("picamera2")
    module.Picamera2 = Picamera2  # type: ignore[attr-defined]
    return module


def main() -> int:
    p = argparse.ArgumentParser(description="Write the scenes' YUV420 buffers (main and lores) to DIR/NAME.npz, "
                                            "for stage_cost.py --scene-dir.")
    p.add_argument("dir", type=Path)
    p.add_argument("--scenes", default=",".join(SCENES), help="comma-separated, each NAME or NAME:FRAMES")
    p.add_argument("--frames", type=int, default=40, help="frames measured per scene (default 40)")
    p.add_argument("--warmup", type=int, default=0, help="frames run before them (default 0)")
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=960)
    p.add_argument("--lores", default="800x600", help="the lores stream's WIDTHxHEIGHT (default 800x600)")
    args = p.parse_args()
    lores = tuple(int(v) for v in args.lores.split("x"))
    args.dir.mkdir(parents=True, exist_ok=True)
    for spec in filter(None, args.scenes.split(",")):
        name, _, count = spec.partition(":")
        warmup = args.warmup
        n = frame_count(name, int(count) if count else args.frames, warmup)
        save(args.dir / f"{name}.npz", build(name, n, args.width, args.height), lores)  # type: ignore[arg-type]
        print(f"{name}: {n} frames", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
