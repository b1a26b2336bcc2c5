"""Real images for tests, from scikit-image's bundled data (public domain / BSD-3; no downloads)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def astronaut_gray() -> np.ndarray:
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)


def empty_room(width: int = 320, height: int = 240) -> np.ndarray:
    """A real photo region with no face in it (a non-face patch of lfw_subset, upscaled)."""
    from skimage import data

    patch = (data.lfw_subset()[150] * 255).astype(np.uint8)
    return cv2.resize(patch, (width, height), interpolation=cv2.INTER_CUBIC)


def write_images(folder: Path, images: list[np.ndarray]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        cv2.imwrite(str(folder / f"{i:04d}.png"), image)
    return folder
