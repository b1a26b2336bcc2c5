"""FER-2013 in its two public layouts, loaded into honest train / validation / test splits.

* ``fer2013.csv``: columns ``emotion`` (0-6 in :data:`edge.classify.labels.FER7` order), ``pixels`` (48x48 = 2304
  space-separated grey levels) and ``Usage``. ``Training`` is split into train and a stratified, seeded
  validation slice (checkpoint choice); ``PublicTest`` is the test split, touched once at the end.
  ``PrivateTest`` rows, where a csv has them, are kept apart (:attr:`Dataset.private`) and never used
  for a choice: ``mood-convert evaluate --split private`` reports them.
* a folder with ``train/<class>/*.png`` and ``test/<class>/*.png`` (the Kaggle image layout): the same
  stratified slice of ``train/`` becomes validation; ``test/`` is the test split.

FER-2013 has known flaws, treated here before the validation slice is cut (:func:`clean`): blank images
are dropped from train, pixel-identical copies inside train are kept once (a group whose copies disagree
on the label is dropped whole), and train images that also appear in the test split are dropped from
train, so that neither validation nor test accuracy is inflated by images the model has seen. The test
split keeps all its images; :attr:`Dataset.test_seen` marks those that were also in the raw training
data, so the test figure can be reported with and without them.

Images are kept as uint8 (N, H, W) at the model's input size; :func:`to_input` scales them the way
the card's ``preprocess`` says. Every malformed input raises :class:`DataError` naming the file,
the line or folder, and what was expected.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from convert import ferplus as fp
from convert.csv_lines import bounded_lines
from edge.errors import DataError
from edge.classify.labels import FER7, FER7_TO_MOOD4, LABEL_SETS

log = logging.getLogger(__name__)

#: pixel -> model input: x = pixel * PIXEL_SCALE + PIXEL_OFFSET, i.e. (pixel - 128) * 2/255, which int8
#: represents exactly (q = pixel - 128); see models/MODEL_CARD.md
PIXEL_SCALE = 2.0 / 255.0
PIXEL_OFFSET = -128.0 * PIXEL_SCALE
FER_SIDE = 48
CSV_COLUMNS = ("emotion", "pixels", "Usage")
USAGE_TO_SPLIT = {"Training": "train", "PublicTest": "test", "PrivateTest": "private"}
#: an image whose grey levels span less than this is blank (FER-2013 has all-black and flat grey ones)
BLANK_RANGE = 8
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".pgm"}


@dataclass
class Split:
    """Images (uint8, N x H x W) and class indices into :attr:`Dataset.labels`.

    With FER+ votes (:mod:`convert.ferplus`), ``y`` is the label the model is steered by (the vote
    distribution's top class for training, the FER+ majority or -1 for evaluation), ``soft`` the vote
    distribution and ``fer`` FER-2013's own single label, kept for reporting.
    """

    x: np.ndarray
    y: np.ndarray
    soft: np.ndarray | None = None
    fer: np.ndarray | None = None
    #: row of each image in its csv (aligns FER+ votes); None for folders
    rows: np.ndarray | None = None

    def __len__(self) -> int:
        return int(len(self.y))

    def take(self, keep: np.ndarray) -> "Split":
        """The images selected by a mask or an index array, with everything that belongs to them."""
        return Split(*(None if a is None else a[keep] for a in (self.x, self.y, self.soft, self.fer, self.rows)))


@dataclass
class Dataset:
    labels: list[str]
    train: Split
    val: Split
    test: Split
    source: str
    notes: dict[str, str] = field(default_factory=dict)
    #: test images that were also in the raw training data (FER-2013 shares ~280 with PublicTest)
    test_seen: np.ndarray | None = None
    #: PrivateTest rows of a csv that has them: kept apart, never used for a choice
    private: Split | None = None
    #: what :func:`clean` removed, by reason
    cleaning: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, dict[str, int]]:
        return {name: {label: int(np.sum(split.y == i)) for i, label in enumerate(self.labels)}
                for name, split in (("train", self.train), ("val", self.val), ("test", self.test))}

    def split(self, name: str) -> Split:
        """``train``, ``val``, ``test``, ``test_unseen`` (test without images also in training) or
        ``private``."""
        if name == "test_unseen":
            keep = ~self.test_seen if self.test_seen is not None else np.ones(len(self.test), bool)
            return self.test.take(keep)
        if name == "private":
            return self.private if self.private is not None else _split([], [])
        return getattr(self, name)


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


def _remap(split: Split, classes: str, size: int) -> Split:
    """The split at ``size`` px with its labels in the ``classes`` set (FER7 folds into the 4 moods)."""
    x = resize_all(split.x, size)
    if classes == "fer7":
        return replace(split, x=x)
    target = LABEL_SETS[classes]
    table = np.array([target.index(FER7_TO_MOOD4[name]) for name in FER7] + [-1])  # -1 stays -1
    soft = None
    if split.soft is not None:
        soft = np.zeros((len(split), len(target)), np.float32)
        for i, t in enumerate(table[:-1]):
            soft[:, t] += split.soft[:, i]
    return replace(split, x=x, y=table[split.y], soft=soft, fer=None if split.fer is None else table[split.fer])


def load(path: str | Path, *, size: int = 64, classes: str = "fer7", val_fraction: float = 0.1,
         seed: int = 1337, limit: int | None = None, clean_data: bool = True,
         ferplus: str | Path | None = None) -> Dataset:
    """FER-2013 from a csv file or a folder layout, resized to ``size``, labelled ``classes``: by FER-2013's
    single labels, or by FER+'s ten votes when ``ferplus`` names ``fer2013new.csv`` (csv layout only)."""
    path = Path(path)
    if ferplus is not None and not path.is_file():
        raise DataError("FER+ votes are aligned by csv row", path=path, field="--ferplus",
                        expected="fer2013.csv (the csv layout) beside fer2013new.csv")
    if classes not in LABEL_SETS:
        raise DataError(f"unknown class set {classes!r}", field="--classes", expected=" or ".join(LABEL_SETS))
    if not 0 < val_fraction < 1:
        raise DataError(f"got {val_fraction}", field="--val-fraction", expected="a fraction between 0 and 1")
    if path.is_dir():
        train, test, private, test_name = *load_folders(path, limit=limit), None, "test/"
    elif path.is_file():
        train, test, private, usages = load_csv(path, limit=limit)
        test_name = "PublicTest"
    else:
        raise DataError("no such file or folder", path=path,
                        expected="fer2013.csv or a folder holding train/<class>/ and test/<class>/")
    for name, split in (("training", train), ("test", test)):
        if len(split) == 0:
            raise DataError(f"the {name} split is empty", path=path,
                            expected="images in Training and PublicTest (csv) or in train/ and test/ (folders)")
    test_seen = seen_in(test, train)  # against all of Training, before FER+ sets any face aside
    if ferplus is not None:
        train, test, private = with_ferplus_votes(Path(ferplus), path, usages, train, test, private)
    cleaning: dict[str, int] = {}
    if clean_data:
        train, cleaning = clean(train, test)
    if len(train) == 0:
        raise DataError(f"no training image is left after cleaning ({describe_cleaning(cleaning)})", path=path,
                        expected="real face images (or --keep-flaws to train on the data as it is)")
    train, val = stratified_split(train, val_fraction, seed)
    ds = Dataset(list(FER7), train, val, test, source=str(path), test_seen=test_seen, private=private,
                 cleaning=cleaning,
                 notes={"val": f"stratified {val_fraction:.0%} of {'Training' if test_name == 'PublicTest' else 'train/'}"
                               f" (seed {seed})", "test": test_name,
                        "cleaning": describe_cleaning(cleaning) if clean_data else "none (--keep-flaws)"})
    if ferplus is not None:
        ds.notes["labels"] = f"FER+ votes ({Path(ferplus).name}): {FERPLUS_RULES}"
    for name in ("train", "val", "test"):
        setattr(ds, name, _remap(getattr(ds, name), classes, size))
    if ds.private is not None:
        ds.private = _remap(ds.private, classes, size)
    ds.labels = list(LABEL_SETS[classes])
    log.info("loaded %s: train %d, val %d, test %d images (%s, %dx%d); %s", path, len(ds.train), len(ds.val),
             len(ds.test), classes, size, size, ds.notes["cleaning"])
    return ds


def _keys(images: np.ndarray) -> list[bytes]:
    return [img.tobytes() for img in images]


def seen_in(split: Split, reference: Split) -> np.ndarray:
    """Mask of the images of ``split`` that are pixel-identical to one in ``reference``."""
    ref = set(_keys(reference.x))
    return np.array([k in ref for k in _keys(split.x)], dtype=bool)


def clean(train: Split, test: Split) -> tuple[Split, dict[str, int]]:
    """Training images without blanks, inner duplicates and copies of test images (see module doc)."""
    keys = _keys(train.x)
    span = np.ptp(train.x.reshape(len(train), -1), axis=1) if len(train) else np.zeros(0)
    blank = span < BLANK_RANGE
    in_test = seen_in(train, test)
    labels: dict[bytes, set[int]] = {}
    for k, y in zip(keys, train.y.tolist()):
        labels.setdefault(k, set()).add(y)
    first: set[bytes] = set()
    keep = np.zeros(len(train), dtype=bool)
    dropped = {"blank": 0, "duplicate": 0, "conflicting_duplicate": 0, "also_in_test": 0}
    for i, k in enumerate(keys):
        if blank[i]:
            dropped["blank"] += 1
        elif in_test[i]:
            dropped["also_in_test"] += 1
        elif len(labels[k]) > 1:
            dropped["conflicting_duplicate"] += 1
        elif k in first:
            dropped["duplicate"] += 1
        else:
            first.add(k)
            keep[i] = True
    return train.take(keep), dropped


def describe_cleaning(dropped: dict[str, int]) -> str:
    return ("dropped from train: {blank} blank, {duplicate} extra copies of duplicates, {conflicting_duplicate} "
            "copies with conflicting labels, {also_in_test} also in the test split").format(**dropped)


def stratified_split(train: Split, val_fraction: float, seed: int) -> tuple[Split, Split]:
    """A seeded validation slice holding ``val_fraction`` of every class, and the rest."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(train), dtype=bool)
    for c in np.unique(train.y):
        idx = np.flatnonzero(train.y == c)
        rng.shuffle(idx)
        n = int(round(len(idx) * val_fraction))
        mask[idx[: max(n, 1) if len(idx) > 1 else 0]] = True  # every class with 2+ images is validated
    return train.take(~mask), train.take(mask)


#: a fer2013.csv line is at most ~9,300 characters (2,304 pixels of up to 3 digits and a space)
MAX_CSV_LINE = 64 * 1024


def load_csv(path: Path, *, limit: int | None = None) -> tuple[Split, Split, Split | None, list[str]]:
    """``fer2013.csv`` -> (Training, PublicTest, PrivateTest or None, the Usage of every row);
    ``limit`` keeps at most that many rows per split (quick runs)."""
    parts: dict[str, tuple[list[np.ndarray], list[int], list[int]]] = {
        s: ([], [], []) for s in USAGE_TO_SPLIT.values()}
    usages: list[str] = []
    with bounded_lines(path, MAX_CSV_LINE, "the FER-2013 csv file") as lines:
        reader = csv.DictReader(lines)
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
                usages.append(row["Usage"].strip())
                xs, ys, rows = parts[split]
                if limit is not None and len(ys) >= limit:
                    continue
                ys.append(_emotion(row["emotion"], path, line))
                xs.append(_pixels(row["pixels"], path, line))
                rows.append(len(usages) - 1)
        except UnicodeDecodeError:
            raise DataError("is not UTF-8 text", path=path, expected="the FER-2013 csv file") from None
        except csv.Error as exc:
            raise DataError(f"is not valid CSV ({exc})", path=path, field=f"line {reader.line_num}") from None
    private = _split(*parts["private"]) if parts["private"][1] else None
    return _split(*parts["train"]), _split(*parts["test"]), private, usages


#: how FER+ votes become labels, for cards and reports (details in convert.ferplus)
FERPLUS_RULES = ("single votes dropped; trained on the 7 emotions' vote distribution (contempt, unknown and "
                 "not-a-face votes set aside; faces where those hold half the votes or more, and faces FER+ "
                 "dropped, not trained on); evaluated on the majority (top emotion with more than half of the "
                 "remaining votes; faces without one among the 7 emotions left out)")


def with_ferplus_votes(votes_path: Path, images: Path, usages: list[str],
                       *splits: Split | None) -> list[Split | None]:
    """Each split relabelled by FER+ (aligned by csv row): training faces FER+ cannot teach are dropped;
    the test splits keep every face, with y = the FER+ majority or -1 where there is none."""
    votes = fp.align(fp.read_votes(votes_path), usages, images)
    out: list[Split | None] = []
    for i, split in enumerate(splits):
        if split is None or split.rows is None:
            out.append(split)
            continue
        counts = votes.counts[split.rows]
        soft, usable = fp.soft_targets(counts, votes.has_face[split.rows])
        if i == 0:  # training: taught by the votes, steered by their top class
            relabelled = Split(split.x, soft.argmax(1), soft, split.y, split.rows).take(usable)
        else:
            relabelled = Split(split.x, fp.majority_labels(counts), soft, split.y, split.rows)
        out.append(relabelled)
    if len(out[0]) == 0:
        rows = splits[0].rows
        raise DataError(f"no training face can be taught by its votes "
                        f"({fp.why_none_usable(votes.counts[rows], votes.has_face[rows])})", path=votes_path,
                        expected="FER+'s votes: most of a face's votes (2 or more each) on the 7 emotions")
    log.info("FER+ votes from %s: %d of %d training faces kept; test faces with a majority among the 7 "
             "emotions: %d of %d", votes_path, len(out[0]), len(splits[0]), int(np.sum(out[1].y >= 0)),
             len(out[1]))
    return out


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


def _split(xs: list[np.ndarray], ys: list[int], rows: list[int] | None = None) -> Split:
    if not ys:
        return Split(np.zeros((0, FER_SIDE, FER_SIDE), dtype=np.uint8), np.zeros(0, dtype=np.int64),
                     rows=None if rows is None else np.zeros(0, dtype=np.int64))
    return Split(np.stack(xs), np.array(ys, dtype=np.int64),
                 rows=None if rows is None else np.array(rows, dtype=np.int64))


def load_folders(root: Path, *, limit: int | None = None) -> tuple[Split, Split]:
    """``root/train/<class>/*`` and ``root/test/<class>/*``."""
    for sub in ("train", "test"):
        if not (root / sub).is_dir():
            raise DataError(f"has no {sub}/ folder", path=root,
                            expected="train/<class>/*.png and test/<class>/*.png (class = angry, disgust, ...)")
    return _read_folder(root / "train", limit), _read_folder(root / "test", limit)


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
