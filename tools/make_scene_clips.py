"""Clips of the living-room scenes the daemon's memory and cost are measured on (issue 31).

    python tools/make_scene_clips.py OUT_DIR [--frames N] [--scenes tv,box,walkin,portrait,tall]

Each is an mp4 (mp4v) made from the benchmark's real empty photographs and real people
(edge/commands/bench/scenes.py), seeded, so two runs give the same frames:

    empty     800x600   an empty room, a little sensor noise in every frame
    tv        800x600   the same room with a TV in view playing a noisy, changing picture
    box       800x600   a textured box moving across the room and changing size every frame
    walkin    800x600   someone walking in from the left edge to a seat at 3 m, then sitting, a TV playing
    portrait  1080x1920 the room held upright (a phone clip)
    tall      640x6400  a strip 10 times taller than wide (what no camera gives: refused or scaled)

Measure the daemon on one:  /usr/bin/time -f %M mood-edge run --camera file:OUT/tv.mp4 --loop
--frames 400 --fps 0 --broker ""  (peak RSS in KB).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edge.commands.bench.positions import place  # noqa: E402
from edge.commands.bench.scenes import cover, people, scenes  # noqa: E402
from edge.geometry import face_px  # noqa: E402

#: where the TV sits in an 800x600 view (x, y, w, h), as a fraction of the frame
TV = (0.3, 0.12, 0.36, 0.3)


def _room(w: int, h: int, index: int = 0) -> np.ndarray:
    return cover(scenes()[index % len(scenes())][1], w, h)


def draw_tv(frame: np.ndarray, rng: np.random.Generator, i: int) -> None:
    """A TV playing: a noisy picture whose blocks change every frame, in a dark frame."""
    h, w = frame.shape[:2]
    x, y, tw, th = (int(v * s) for v, s in zip(TV, (w, h, w, h)))
    cv2.rectangle(frame, (x - 6, y - 6), (x + tw + 6, y + th + 6), (20, 20, 20), -1)
    blocks = rng.integers(0, 256, (max(1, th // 16), max(1, tw // 16), 3), dtype=np.uint8)
    picture = cv2.resize(blocks, (tw, th), interpolation=cv2.INTER_LINEAR)
    picture = cv2.add(picture, rng.integers(0, 40, picture.shape, dtype=np.uint8))
    shift = (i * 7) % tw  # a pan, as a film does
    frame[y:y + th, x:x + tw] = np.roll(picture, shift, axis=1)


def tv(n: int) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(31)
    room = _room(800, 600)
    for i in range(n):
        frame = room.copy()
        draw_tv(frame, rng, i)
        yield frame


def box(n: int) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(32)
    room = _room(800, 600, 1)
    texture = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    for i in range(n):
        frame = room.copy()
        size = 40 + (i * 13) % 420  # 35 sizes and more, up to most of the frame
        x = (i * 17) % max(1, 800 - size)
        y = min(600 - size, 40 + (i * 5) % 200) if size < 600 else 0
        frame[y:y + size, x:x + size] = cv2.resize(texture, (size, size), interpolation=cv2.INTER_NEAREST)
        yield frame


def walkin(n: int) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(33)
    room = _room(800, 600, 2)
    person = people()[0]
    px = face_px(3.0, 800)
    seat_x, seat_y = 360, 300
    for i in range(n):
        frame = room.copy()
        draw_tv(frame, rng, i)
        if i >= 10:
            step = min(1.0, (i - 10) / 12)  # 12 frames from the left edge to the seat
            place(frame, person, px, int(step * seat_x), seat_y)
        yield frame


def _still(w: int, h: int, index: int = 3) -> Callable[[int], Iterator[np.ndarray]]:
    def make(n: int) -> Iterator[np.ndarray]:
        rng = np.random.default_rng(34)
        room = _room(w, h, index)
        for _ in range(n):
            yield cv2.add(room, rng.integers(0, 6, room.shape, dtype=np.uint8))  # sensor noise
    return make


SCENES: dict[str, Callable[[int], Iterator[np.ndarray]]] = {
    "empty": _still(800, 600, 0), "tv": tv, "box": box, "walkin": walkin, "portrait": _still(1080, 1920), "tall": _still(640, 6400)}


def write(path: Path, frames: Iterator[np.ndarray], fps: float = 15.0) -> Path:
    out = None
    for frame in frames:
        if out is None:
            out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (frame.shape[1], frame.shape[0]))
        out.write(frame)
    if out is not None:
        out.release()
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--scenes", default=",".join(SCENES))
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.scenes.split(","):
        print(write(args.out / f"{name}.mp4", SCENES[name](args.frames if name not in ("portrait", "tall") else 30)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
