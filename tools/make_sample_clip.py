"""Make samples/living-room.mp4, the bundled demo clip, from public-domain images.

Faces: scikit-image's ``astronaut()`` (Eileen Collins, NASA photo, public domain) and
``lfw_subset()`` faces (Labeled Faces in the Wild, public-domain news photos as redistributed by
scikit-image under BSD-3). The background is synthetic. Run it again to regenerate the clip:

    python tools/make_sample_clip.py [--out samples/living-room.mp4]

The clip (20 s, 640x480, 15 fps, grayscale-in-BGR mp4v) has four scenes so the demo shows the
mood smoothing at work: the astronaut smiling (happy), an empty room (nobody), a row of LFW faces,
and the astronaut again.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

W, H, FPS = 640, 480, 15


def background(rng: np.random.Generator) -> np.ndarray:
    noise = rng.normal(0, 1, (H // 8, W // 8)).astype(np.float32)
    room = cv2.resize(cv2.GaussianBlur(noise, (0, 0), 2), (W, H), interpolation=cv2.INTER_CUBIC)
    room = (room - room.min()) / (np.ptp(room) + 1e-6)
    gradient = np.linspace(0.7, 1.1, H, dtype=np.float32)[:, None]
    img = 60 + 90 * room * gradient
    cv2.rectangle(img, (40, 300), (600, 470), 70, -1)  # a sofa
    cv2.rectangle(img, (460, 60), (610, 200), 150, -1)  # a window
    return np.clip(img, 0, 255).astype(np.uint8)


def astronaut_head() -> np.ndarray:
    from skimage import data

    rgb = data.astronaut()
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return gray[0:300, 90:330]  # head and shoulders


def lfw_faces(n: int) -> list[np.ndarray]:
    from skimage import data

    faces = data.lfw_subset()[:n]
    return [cv2.resize((f * 255).astype(np.uint8), (140, 140), interpolation=cv2.INTER_CUBIC) for f in faces]


def paste(frame: np.ndarray, patch: np.ndarray, x: int, y: int) -> None:
    h, w = patch.shape
    frame[y:y + h, x:x + w] = patch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "samples" / "living-room.mp4"))
    args = ap.parse_args()
    rng = np.random.default_rng(2026)
    room = background(rng)
    head = astronaut_head()
    lfw = lfw_faces(12)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (W, H))
    if not writer.isOpened():
        raise SystemExit(f"cannot write {out}")
    for i in range(20 * FPS):
        t = i / FPS
        frame = room.copy()
        if t < 7 or t >= 15:  # the astronaut, drifting slowly as people do
            dx = int(30 * np.sin(t * 0.8))
            dy = int(8 * np.sin(t * 1.3))
            paste(frame, head, 200 + dx, 60 + dy)
        elif 10 <= t < 15:  # three LFW faces, changing every second
            k = int(t - 10) * 3
            for j in range(3):
                paste(frame, lfw[(k + j) % len(lfw)], 40 + j * 200, 150)
        # 7..10 s: nobody in the room
        frame = cv2.add(frame, rng.normal(0, 3, frame.shape).astype(np.int8), dtype=cv2.CV_8U)
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()
    print(f"wrote {out} ({out.stat().st_size} bytes, {20 * FPS} frames)")


if __name__ == "__main__":
    main()
