"""Representative data for int8 calibration, and held-out crops for the fidelity check.

Int8 ranges are set from what the model sees during calibration, so it must see real faces, cut and
scaled the way the daemon does, with the variation a living-room camera brings (mirror images, off-centre
boxes, tilted heads, dim or bright rooms): never random noise, whose activations look nothing like a face's.

Calibration and fidelity use different random seeds and, for LFW, different people
(:data:`CALIBRATION_LFW` vs :data:`HELD_OUT_LFW`), so the fidelity figures are not measured on the very
crops that set the ranges.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from convert.faces import FaceImage, astronaut_face, crop_face, lfw_faces

log = logging.getLogger(__name__)

CALIBRATION_LFW = (0, 80)
HELD_OUT_LFW = (80, 100)
CALIBRATION_SEED = 20240
FIDELITY_SEED = 777
#: LFW crops are 25x25; we blow them up to a typical camera face size before augmenting and cropping,
#: so the final resize is a downscale like on the Pi
LFW_UPSCALE = 100


@dataclass(frozen=True)
class Augment:
    """Ranges of the random changes applied to a face before cropping."""

    max_rotation_deg: float = 10.0
    max_shift: float = 0.06      # fraction of the box size
    max_zoom: float = 0.08       # fraction of the box size
    contrast: tuple[float, float] = (0.7, 1.3)
    max_brightness: float = 25.0  # grey levels
    flip: bool = True


def _upscaled(face: FaceImage) -> FaceImage:
    if face.gray.shape[0] >= LFW_UPSCALE:
        return face
    big = cv2.resize(face.gray, (LFW_UPSCALE, LFW_UPSCALE), interpolation=cv2.INTER_LINEAR)
    return FaceImage(face.name, big, (0, 0, LFW_UPSCALE, LFW_UPSCALE))


def augment(face: FaceImage, rng: np.random.Generator, aug: Augment = Augment()) -> FaceImage:
    """One randomly changed copy of ``face`` (the box stays where the detector would put it)."""
    gray, (x, y, w, h) = face.gray, face.box
    cx, cy = x + w / 2, y + h / 2
    angle = rng.uniform(-aug.max_rotation_deg, aug.max_rotation_deg)
    zoom = 1.0 + rng.uniform(-aug.max_zoom, aug.max_zoom)
    m = cv2.getRotationMatrix2D((cx, cy), angle, zoom)
    m[:, 2] += rng.uniform(-aug.max_shift, aug.max_shift, size=2) * (w, h)
    out = cv2.warpAffine(gray, m, (gray.shape[1], gray.shape[0]), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT_101)
    box = (x, y, w, h)
    if aug.flip and rng.random() < 0.5:
        out = out[:, ::-1]
        box = (gray.shape[1] - x - w, y, w, h)
    a = rng.uniform(*aug.contrast)
    b = rng.uniform(-aug.max_brightness, aug.max_brightness)
    out = np.clip((out.astype(np.float32) - 128.0) * a + 128.0 + b, 0, 255).astype(np.uint8)
    return FaceImage(face.name, np.ascontiguousarray(out), box)


def face_crops(faces: list[FaceImage], n: int, seed: int, *, margin: float, size: int,
               interpolation: str = "area", originals: bool = True, aug: Augment = Augment()) -> np.ndarray:
    """``n`` uint8 crops (N, size, size): the faces as they are (if ``originals``) then augmented copies."""
    rng = np.random.default_rng(seed)
    sources = [_upscaled(f) for f in faces]
    crops = [crop_face(f.gray, f.box, margin, size, interpolation) for f in sources] if originals else []
    while len(crops) < n:
        f = augment(sources[int(rng.integers(len(sources)))], rng, aug)
        crops.append(crop_face(f.gray, f.box, margin, size, interpolation))
    return np.stack(crops[:n])


def calibration_faces() -> list[FaceImage]:
    return [astronaut_face(), *lfw_faces(*CALIBRATION_LFW)]


def calibration_crops(n: int, *, margin: float, size: int, interpolation: str = "area",
                      seed: int = CALIBRATION_SEED) -> np.ndarray:
    """Real-face representative set: astronaut + LFW 0-79, augmented (uint8 crops)."""
    return face_crops(calibration_faces(), n, seed, margin=margin, size=size, interpolation=interpolation)


def fidelity_crops(n: int, *, margin: float, size: int, interpolation: str = "area",
                   seed: int = FIDELITY_SEED) -> dict[str, np.ndarray]:
    """Held-out crops: ``all`` (every offline face, other seed) and ``unseen`` (LFW 80-99 only)."""
    every = [astronaut_face(), *lfw_faces()]
    unseen = lfw_faces(*HELD_OUT_LFW)
    return {
        "all": face_crops(every, n, seed, margin=margin, size=size, interpolation=interpolation),
        "unseen": face_crops(unseen, max(n // 4, len(unseen)), seed + 1, margin=margin, size=size,
                             interpolation=interpolation),
    }
