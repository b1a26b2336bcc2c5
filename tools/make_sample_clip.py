"""Make samples/living-room.mp4, the bundled demo clip, from public-domain photographs.

People: scikit-image's ``astronaut()`` (Eileen Collins, NASA photo, public domain) and matplotlib's
``grace_hopper.jpg`` (Grace Hopper, US Navy photo, public domain), head and shoulders, in colour,
scaled to the width their faces have at a given distance from a Camera Module v2 (HFOV 62 deg) in a
640x480 picture: a face is ~0.15 m wide, so 80 px at 1 m, 27 px at 3 m, 23 px at 3.5 m. The room
(wall, window, sofa) is synthetic. Run it again to regenerate the clip:

    python tools/make_sample_clip.py [--out samples/living-room.mp4]

The clip (20 s, 640x480, 15 fps, colour mp4v) has four scenes, so the demo shows the smoothing and
the reach of the detector:

     0- 5 s  the astronaut close to the camera (1 m), smiling            -> happy
     5-11 s  an empty room                                               -> nobody (after 5 s)
    11-16 s  two people on the sofa at 3 and 3.5 m: the astronaut and Grace Hopper -> happy
    16-20 s  Grace Hopper alone on the sofa, 3.5 m away                  -> neutral, read from 23 px
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edge.commands.bench.scenes import Person, people  # noqa: E402
from edge.geometry import face_px  # noqa: E402

W, H, FPS, SECONDS = 640, 480, 15, 20


def room(rng: np.random.Generator) -> np.ndarray:
    """A plain living room in colour (BGR): a lit wall, a window, a sofa."""
    noise = rng.normal(0, 1, (H // 8, W // 8)).astype(np.float32)
    texture = cv2.resize(cv2.GaussianBlur(noise, (0, 0), 2), (W, H), interpolation=cv2.INTER_CUBIC)
    light = np.linspace(1.1, 0.75, H, dtype=np.float32)[:, None]
    img = np.empty((H, W, 3), np.float32)
    for c, base in enumerate((150, 170, 190)):  # a warm off-white wall
        img[:, :, c] = (base + 12 * texture) * light
    cv2.rectangle(img, (450, 50), (600, 190), (215, 200, 170), -1)  # a window, cool daylight
    cv2.rectangle(img, (445, 45), (605, 195), (90, 90, 95), 3)
    cv2.rectangle(img, (40, 300), (600, 470), (45, 60, 110), -1)  # a brown sofa
    cv2.rectangle(img, (40, 270), (600, 320), (55, 72, 125), -1)  # its back
    return np.clip(img, 0, 255).astype(np.uint8)


def paste(frame: np.ndarray, person: Person, face_w: float, cx: float, cy: float) -> None:
    """``person`` scaled so the face is ``face_w`` px wide, face centre at (cx, cy), edges feathered."""
    s = face_w / person.face[2]
    ph, pw = person.image.shape[:2]
    patch = cv2.resize(person.image, (max(1, round(pw * s)), max(1, round(ph * s))),
                       interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR).astype(np.float32)
    fx, fy, fw, fh = (v * s for v in person.face)
    x, y = int(round(cx - fx - fw / 2)), int(round(cy - fy - fh / 2))
    h, w = patch.shape[:2]
    mask = np.zeros((h, w), np.float32)
    feather = max(1, int(0.08 * min(w, h)))
    mask[feather:h - feather, feather:w - feather] = 1.0
    mask = cv2.GaussianBlur(mask, (0, 0), feather / 2 + 0.5)[..., None]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x1 <= x0 or y1 <= y0:
        return
    region = frame[y0:y1, x0:x1].astype(np.float32)
    p, m = patch[y0 - y:y1 - y, x0 - x:x1 - x], mask[y0 - y:y1 - y, x0 - x:x1 - x]
    frame[y0:y1, x0:x1] = np.clip(region * (1 - m) + p * m, 0, 255).astype(np.uint8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "samples" / "living-room.mp4"))
    args = ap.parse_args()
    rng = np.random.default_rng(2026)
    background = room(rng)
    folks = {p.name: p for p in people()}
    astronaut, grace = folks["astronaut"], folks.get("grace_hopper", folks["astronaut_mirrored"])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (W, H))
    if not writer.isOpened():
        raise SystemExit(f"cannot write {out}")
    for i in range(SECONDS * FPS):
        t = i / FPS
        frame = background.copy()
        sway = np.sin(t * 0.8)
        if t < 5:  # close to the camera, drifting slowly as people do
            paste(frame, astronaut, face_px(1.0, W), 300 + 30 * sway, 170 + 8 * np.sin(t * 1.3))
        elif 11 <= t < 16:  # two people on the sofa
            paste(frame, astronaut, face_px(3.0, W), 220 + 4 * sway, 262)
            paste(frame, grace, face_px(3.5, W), 420 - 3 * sway, 266)
        elif t >= 16:  # Grace Hopper alone on the sofa
            paste(frame, grace, face_px(3.5, W), 300 + 5 * sway, 266)
        # 5..11 s: nobody in the room
        noise = rng.normal(0, 3, frame.shape).astype(np.int16)
        frame = np.clip(frame.astype(np.int16) + noise, 0, 255).astype(np.uint8)
        writer.write(frame)
    writer.release()
    print(f"wrote {out} ({out.stat().st_size} bytes, {SECONDS * FPS} frames)")


if __name__ == "__main__":
    main()
