"""FER-2013 in its two public layouts, loaded into honest train / validation / test splits.

* ``fer2013.csv``: columns ``emotion`` (0-6 in :data:`edge.labels.FER7` order), ``pixels`` (48x48 = 2304
  space-separated grey levels) and ``Usage``: ``Training`` -> train, ``PublicTest`` -> validation
  (checkpoint choice), ``PrivateTest`` -> test (reported once, at the end).
* a folder with ``train/<class>/*.png`` and ``test/<class>/*.png`` (the Kaggle image layout): a
  stratified, seeded slice of ``train/`` becomes the validation split; ``test/`` is the test split.

Images are kept as uint8 (N, H, W) at the model's input size; :func:`to_input` scales them the way
the card's ``preprocess`` says. Every malformed input raises :class:`DataError` naming the file,
the line or folder, and what was expected.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from edge.errors import DataError
from edge.labels import FER7, FER7_TO_MOOD4, LABEL_SETS

log = logging.getLogger(__name__)

#: pixel -> model input: x = pixel * PIXEL_SCALE + PIXEL_OFFSET, i.e. (pixel - 128) * 2/255, which int8
#: represents exactly (q = pixel - 128); see models/MODEL_CARD.md
PIXEL_SCALE = 2.0 / 255.0
PIXEL_OFFSET = -128.0 * PIXEL_SCALE
FER_SIDE = 48
CSV_COLUMNS = ("emotion", "pixels", "Usage")
USAGE_TO_SPLIT = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".pgm"}


@dataclass
class Split:
    """Images (uint8, N x H x W) and class indices into :attr:`Dataset.labels`."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return int(len(self.y))


@dataclass
class Dataset:
    labels: list[str]
    train: Split
    val: Split
    test: Split
    source: str
    notes: dict[str, str] = field(default_factory=dict)

    def counts(self) -> dict[str, dict[str, int]]:
        return {name: {label: int(np.sum(split.y == i)) for i, label in enumerate(self.labels)}
                for name, split in (("train", self.train), ("val", self.val), ("test", self.test))}


def to_input(images: np.ndarray, scale: float = PIXEL_SCALE, offset: float = PIXEL_OFFSET) -> np.ndarray:
    """uint8 (N, H, W) -> float32 (N, H, W, 1) model input."""
    return (images.astype(np.float32) * np.float32(scale) + np.float32(offset))[..., None]


def resize_all(images: np.ndarray, size: int) -> np.ndarray:
    if images.shape[1:] == (size, size):
        return images
    interp = cv2.INTER_AREA if size < images.shape[1] else cv2.INTER_LINEAR
    out = np.empty((len(images), size, size), dtype=np.uint8)
    for i, img in enumerate(images):
        out[i] = cv2.resize(img, (size, size), interpolation=interp)
    return out


def _remap(y: np.ndarray, classes: str) -> np.ndarray:
    if classes == "fer7":
        return y
    target = LABEL_SETS[classes]
    table = np.array([target.index(FER7_TO_MOOD4[name]) for name in FER7])
    return table[y]


def load(path: str | Path, *, size: int = 64, classes: str = "fer7", val_fraction: float = 0.1,
         seed: int = 1337, limit: int | None = None) -> Dataset:
    """FER-2013 from a csv file or a folder layout, resized to ``size``, labelled ``classes``."""
    path = Path(path)
    if classes not in LABEL_SETS:
        raise DataError(f"unknown class set {classes!r}", field="--classes", expected=" or ".join(LABEL_SETS))
    if path.is_dir():
        ds = load_folders(path, val_fraction=val_fraction, seed=seed, limit=limit)
    elif path.is_file():
        ds = load_csv(path, limit=limit)
    else:
        raise DataError("no such file or folder", path=path,
                        expected="fer2013.csv or a folder holding train/<class>/ and test/<class>/")
    for name in ("train", "val", "test"):
        if len(getattr(ds, name)) == 0:
            raise DataError(f"the {name} split is empty", path=path,
                            expected="images in Training, PublicTest and PrivateTest (csv) or in train/ and "
                                     "test/ (folders)")
    for name in ("train", "val", "test"):
        split = getattr(ds, name)
        setattr(ds, name, Split(resize_all(split.x, size), _remap(split.y, classes)))
    ds.labels = list(LABEL_SETS[classes])
    log.info("loaded %s: train %d, val %d, test %d images (%s, %dx%d)", path, len(ds.train), len(ds.val),
             len(ds.test), classes, size, size)
    return ds


def load_csv(path: Path, *, limit: int | None = None) -> Dataset:
    """``fer2013.csv``; ``limit`` keeps at most that many rows per split (quick runs)."""
    parts: dict[str, tuple[list[np.ndarray], list[int]]] = {s: ([], []) for s in USAGE_TO_SPLIT.values()}
    try:
        f = open(path, newline="", encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read it: {exc}", path=path) from None
    with f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in CSV_COLUMNS if c not in header]
        if missing:
            raise DataError(f"has columns {header}, lacks {missing}", path=path, field="header",
                            expected="the FER-2013 columns emotion,pixels,Usage")
        reader.fieldnames = header
        try:
            for row in reader:
                line = reader.line_num
                split = _usage(row["Usage"], path, line)
                xs, ys = parts[split]
                if limit is not None and len(ys) >= limit:
                    continue
                ys.append(_emotion(row["emotion"], path, line))
                xs.append(_pixels(row["pixels"], path, line))
        except UnicodeDecodeError:
            raise DataError("is not UTF-8 text", path=path, expected="the FER-2013 csv file") from None
        except csv.Error as exc:
            raise DataError(f"is not valid CSV ({exc})", path=path, field=f"line {reader.line_num}") from None
    return Dataset(list(FER7), *(_split(*parts[s]) for s in ("train", "val", "test")), source=str(path),
                   notes={"val": "PublicTest", "test": "PrivateTest"})


def _usage(value: str | None, path: Path, line: int) -> str:
    split = USAGE_TO_SPLIT.get((value or "").strip())
    if split is None:
        raise DataError(f"Usage is {value!r}", path=path, field=f"line {line}",
                        expected="Training, PublicTest or PrivateTest")
    return split


def _emotion(value: str | None, path: Path, line: int) -> int:
    try:
        e = int((value or "").strip())
    except ValueError:
        e = -1
    if not 0 <= e < len(FER7):
        raise DataError(f"emotion is {value!r}", path=path, field=f"line {line}",
                        expected=f"an integer 0-6 ({', '.join(FER7)})")
    return e


def _pixels(value: str | None, path: Path, line: int) -> np.ndarray:
    fields = (value or "").split()
    n = FER_SIDE * FER_SIDE
    if len(fields) != n:
        raise DataError(f"pixels has {len(fields)} values", path=path, field=f"line {line}",
                        expected=f"{n} space-separated grey levels (48x48)")
    try:
        arr = np.array([int(v) for v in fields], dtype=np.int64)
    except ValueError:
        raise DataError("pixels holds a non-integer value", path=path, field=f"line {line}",
                        expected="integers 0-255") from None
    if arr.min() < 0 or arr.max() > 255:
        raise DataError(f"pixels has values {arr.min()}..{arr.max()}", path=path, field=f"line {line}",
                        expected="integers 0-255")
    return arr.astype(np.uint8).reshape(FER_SIDE, FER_SIDE)


def _split(xs: list[np.ndarray], ys: list[int]) -> Split:
    if not ys:
        return Split(np.zeros((0, FER_SIDE, FER_SIDE), dtype=np.uint8), np.zeros(0, dtype=np.int64))
    return Split(np.stack(xs), np.array(ys, dtype=np.int64))


def load_folders(root: Path, *, val_fraction: float = 0.1, seed: int = 1337, limit: int | None = None) -> Dataset:
    """``root/train/<class>/*`` and ``root/test/<class>/*``; validation = a stratified slice of train."""
    for sub in ("train", "test"):
        if not (root / sub).is_dir():
            raise DataError(f"has no {sub}/ folder", path=root,
                            expected="train/<class>/*.png and test/<class>/*.png (class = angry, disgust, ...)")
    train = _read_folder(root / "train", limit)
    test = _read_folder(root / "test", limit)
    if not 0 < val_fraction < 1:
        raise DataError(f"got {val_fraction}", field="--val-fraction", expected="a fraction between 0 and 1")
    rng = np.random.default_rng(seed)
    val_idx: list[int] = []
    for c in range(len(FER7)):
        idx = np.flatnonzero(train.y == c)
        rng.shuffle(idx)
        val_idx += idx[: int(round(len(idx) * val_fraction))].tolist()
    mask = np.zeros(len(train), dtype=bool)
    mask[val_idx] = True
    return Dataset(list(FER7), Split(train.x[~mask], train.y[~mask]), Split(train.x[mask], train.y[mask]),
                   test, source=str(root),
                   notes={"val": f"stratified {val_fraction:.0%} of train/ (seed {seed})", "test": "test/"})


def _read_folder(folder: Path, limit: int | None) -> Split:
    xs: list[np.ndarray] = []
    ys: list[int] = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        name = sub.name.lower()
        if name not in FER7:
            raise DataError(f"unknown class folder {sub.name!r}", path=sub,
                            expected="class folders named " + ", ".join(FER7))
        files = sorted(p for p in sub.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        for p in files[:limit] if limit is not None else files:
            img = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
            if img is None:
                raise DataError("is not an image OpenCV can read", path=p, expected="a PNG/JPEG face crop")
            if img.shape != (FER_SIDE, FER_SIDE):
                img = cv2.resize(img, (FER_SIDE, FER_SIDE), interpolation=cv2.INTER_AREA)
            xs.append(img)
            ys.append(FER7.index(name))
    return _split(xs, ys)
