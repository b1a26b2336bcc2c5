"""Tiny, learnable stand-ins for FER-2013 in both public layouts (csv and image folders).

Each class is a grating of its own spatial period at a random orientation and phase, on noise: it
survives the training augmentation (flips, small rotations, shifts, zoom, brightness) and a small CNN
tells the classes apart within a few epochs, so "beats chance" is a real test of the training loop.
"""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np

FER7 = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
PERIODS = [3.0, 4.0, 5.2, 6.8, 9.0, 12.0, 16.0]
SIDE = 48


def make_images(n_per_class: int, seed: int, classes: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """``n_per_class`` 48x48 uint8 images per class, shuffled, and their class indices."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)
    xs, ys = [], []
    for c in range(classes):
        for _ in range(n_per_class):
            theta = rng.uniform(0, np.pi)
            phase = rng.uniform(0, 2 * np.pi)
            wave = np.sin(2 * np.pi * (xx * np.cos(theta) + yy * np.sin(theta)) / PERIODS[c] + phase)
            img = 128 + 70 * wave + rng.normal(0, 20, (SIDE, SIDE))
            xs.append(np.clip(img, 0, 255).astype(np.uint8))
            ys.append(c)
    order = rng.permutation(len(ys))
    return np.stack(xs)[order], np.array(ys)[order]


def write_csv(path: Path, n_train: int = 60, n_val: int = 15, n_test: int = 15, seed: int = 0) -> Path:
    """``fer2013.csv`` with Training / PublicTest / PrivateTest rows."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["emotion", "pixels", "Usage"])
        for usage, n, s in (("Training", n_train, seed), ("PublicTest", n_val, seed + 1),
                            ("PrivateTest", n_test, seed + 2)):
            if n == 0:
                continue
            x, y = make_images(n, s)
            for img, label in zip(x, y):
                w.writerow([int(label), " ".join(str(int(v)) for v in img.ravel()), usage])
    return path


def write_folders(root: Path, n_train: int = 70, n_test: int = 15, seed: int = 0) -> Path:
    """``root/train/<class>/*.png`` and ``root/test/<class>/*.png``."""
    for sub, n, s in (("train", n_train, seed), ("test", n_test, seed + 2)):
        x, y = make_images(n, s)
        for i, (img, label) in enumerate(zip(x, y)):
            folder = root / sub / FER7[label]
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / f"{i:05d}.png"), img)
    return root


#: FER+'s header; its vote columns are in another order than FER7
FERPLUS_HEADER = ["Usage", "Image name", "neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear",
                  "contempt", "unknown", "NF"]
_FERPLUS_COLUMN = {"angry": 4, "disgust": 5, "fear": 6, "happy": 1, "sad": 3, "surprise": 2, "neutral": 0}


def ferplus_votes(label: int, rng: np.random.Generator, kind: str = "clear") -> list[int]:
    """Ten votes for one face whose FER-2013 label is ``label``: ``clear`` (a majority for it, plus one stray
    vote FER+ drops), ``nf`` (not a face), ``contempt`` (a contempt majority)."""
    v = [0] * 10
    if kind == "nf":
        v[9] = 10
    elif kind == "contempt":
        v[7], v[_FERPLUS_COLUMN[FER7[label]]] = 7, 3
    else:
        v[_FERPLUS_COLUMN[FER7[label]]] = 7
        v[(_FERPLUS_COLUMN[FER7[label]] + 1) % 7] = 2
        v[int(rng.integers(7, 9))] += 1  # one stray contempt/unknown vote
    return v


def write_ferplus(path: Path, fer_csv: Path, seed: int = 0, odd_every: int = 10, extra_private: int = 0) -> Path:
    """``fer2013new.csv`` row for row with ``fer_csv``: votes agreeing with its labels, except every
    ``odd_every``-th row, which alternates not-a-face (no image name) and a contempt majority;
    ``extra_private`` PrivateTest rows past the end (the original has labels for rows whose pixels a csv lacks)."""
    rng = np.random.default_rng(seed)
    with open(fer_csv, newline="", encoding="utf-8") as f:
        rows = [(int(r["emotion"]), r["Usage"]) for r in csv.DictReader(f)]
    rows += [(6, "PrivateTest")] * extra_private
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(FERPLUS_HEADER)
        for i, (label, usage) in enumerate(rows):
            kind = "clear" if i % odd_every else ("nf" if (i // odd_every) % 2 else "contempt")
            w.writerow([usage, "" if kind == "nf" else f"fer{i:07d}.png", *ferplus_votes(label, rng, kind)])
    return path
