"""FER+ (Microsoft, MIT): ten annotators' votes for every FER-2013 face, read row for row beside the csv.

``fer2013new.csv`` has one row per row of the original ``fer2013.csv``, in the same order, with columns
``Usage, Image name`` and the vote counts ``neutral, happiness, surprise, sadness, anger, disgust, fear,
contempt, unknown, NF``. Rows are aligned by position, so a file in another order or of another length
is refused in one line (:func:`align`).

How the votes become our 7 classes (the same rules for training, validation and test):

* **single votes are dropped** first (FERPlus's own outlier removal: one annotator in ten is noise);
* **majority label** (the yardstick, FERPlus's "majority" mode): the top column of all ten, kept when it
  has more than half of the remaining votes and is one of our 7 emotions. There are no ties: a column with
  more than half cannot tie. Faces whose majority is ``contempt`` (not one of our classes), ``unknown``
  or ``NF`` (not a face), or that have no majority, get no majority label (-1): they are left out of
  majority accuracy and reported as such;
* **soft targets** (what training learns): the remaining votes of the 7 emotions, normalised. ``contempt``,
  ``unknown`` and ``NF`` votes are set aside; a face is trained on only when the 7 emotions hold more than
  half of its remaining votes (so a face most annotators called "not a face" or "unknown" is not taught);
* faces FER+ dropped (``Image name`` empty, all ten votes ``NF``) are never trained on.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from convert.csv_lines import bounded_lines
from edge.errors import DataError
from edge.classify.labels import FER7

#: FER+'s vote columns, in its file's order
VOTE_COLUMNS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt",
                "unknown", "NF")
#: FER+ column -> our FER7 class (contempt, unknown and NF have none)
TO_FER7 = {"neutral": "neutral", "happiness": "happy", "surprise": "surprise", "sadness": "sad",
           "anger": "angry", "disgust": "disgust", "fear": "fear"}
HEADER = ("Usage", "Image name", *VOTE_COLUMNS)
#: index of each FER7 class's column among VOTE_COLUMNS
_FER7_COLUMNS = np.array([VOTE_COLUMNS.index(next(k for k, v in TO_FER7.items() if v == c)) for c in FER7])


@dataclass(frozen=True)
class Votes:
    """One FER+ file: the Usage of every row and its ten vote counts (N x 10, in VOTE_COLUMNS order)."""

    path: Path
    usage: list[str]
    counts: np.ndarray
    has_face: np.ndarray

    def __len__(self) -> int:
        return len(self.usage)


#: a fer2013new.csv line is ~40 characters
MAX_LINE = 4096


def read_votes(path: str | Path) -> Votes:
    """``fer2013new.csv`` -> :class:`Votes`; any malformed row is a :class:`DataError` naming its line."""
    path = Path(path)
    usage: list[str] = []
    rows: list[list[int]] = []
    named: list[bool] = []
    with bounded_lines(path, MAX_LINE, "FER+'s fer2013new.csv") as lines:
        reader = csv.reader(lines)
        try:
            header = tuple(h.strip() for h in next(reader, []))
            if header != HEADER:
                raise DataError(f"has columns {list(header)}", path=path, field="header",
                                expected="FER+'s columns " + ",".join(HEADER))
            for row in reader:
                if not row:
                    continue
                if len(row) != len(HEADER):
                    raise DataError(f"has {len(row)} fields", path=path, field=f"line {reader.line_num}",
                                    expected=f"{len(HEADER)} fields ({','.join(HEADER)})")
                try:
                    votes = [int(v) for v in row[2:]]
                except ValueError:
                    raise DataError("a vote count is not an integer", path=path,
                                    field=f"line {reader.line_num}", expected="ten vote counts 0-10") from None
                if min(votes) < 0 or max(votes) > 10:
                    raise DataError(f"votes are {votes}", path=path, field=f"line {reader.line_num}",
                                    expected="ten vote counts 0-10")
                usage.append(row[0].strip())
                named.append(bool(row[1].strip()))
                rows.append(votes)
        except UnicodeDecodeError:
            raise DataError("is not UTF-8 text", path=path, expected="FER+'s fer2013new.csv") from None
        except csv.Error as exc:
            raise DataError(f"is not valid CSV ({exc})", path=path, field=f"line {reader.line_num}") from None
    counts = np.array(rows, dtype=np.int64).reshape(-1, len(VOTE_COLUMNS))
    return Votes(path, usage, counts, np.array(named, dtype=bool))


def align(votes: Votes, usage: list[str], images: Path) -> Votes:
    """The votes of the image rows, checked row for row.

    The FER+ file may run past the image csv only with PrivateTest rows (the csv may lack that split);
    any other difference in length, or one row whose Usage differs, means the files are not in the same
    order and nothing can be trusted.
    """
    n = len(usage)
    extra = votes.usage[n:]
    if len(votes) < n or any(u != "PrivateTest" for u in extra):
        raise DataError(f"has {len(votes)} rows for the {n} image rows of {images}", path=votes.path,
                        expected="one row per row of fer2013.csv, in the same order (35,887 rows for the "
                                 "original; extra rows only for PrivateTest)")
    mismatch = next((i for i, (a, b) in enumerate(zip(votes.usage, usage)) if a != b), None)
    if mismatch is not None:
        raise DataError(f"row {mismatch + 1} is {votes.usage[mismatch]!r} where {images} has {usage[mismatch]!r}",
                        path=votes.path, field=f"line {mismatch + 2}",
                        expected="the same Usage on every row: both files in the original row order")
    return Votes(votes.path, votes.usage[:n], votes.counts[:n], votes.has_face[:n])


def without_single_votes(counts: np.ndarray) -> np.ndarray:
    return np.where(counts > 1, counts, 0)


def majority_labels(counts: np.ndarray) -> np.ndarray:
    """FER7 index of each face's FER+ majority, or -1 where there is none among our 7 classes."""
    kept = without_single_votes(counts)
    top = kept.argmax(1)
    has_majority = kept.max(1) * 2 > kept.sum(1)
    column_to_fer7 = np.full(len(VOTE_COLUMNS), -1)
    column_to_fer7[_FER7_COLUMNS] = np.arange(len(FER7))
    return np.where(has_majority, column_to_fer7[top], -1)


def soft_targets(counts: np.ndarray, has_face: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N x 7 vote distribution in FER7 order, mask of the faces fit to be trained on)."""
    kept = without_single_votes(counts)
    emotions = kept[:, _FER7_COLUMNS].astype(np.float64)
    total = emotions.sum(1)
    usable = has_face & (total * 2 > kept.sum(1)) & (total > 0)
    soft = np.divide(emotions, total[:, None], out=np.zeros_like(emotions), where=total[:, None] > 0)
    return soft.astype(np.float32), usable


def why_none_usable(counts: np.ndarray, has_face: np.ndarray) -> str:
    """In words, why :func:`soft_targets` keeps none of these faces (all-zero votes are not "blank")."""
    kept = without_single_votes(counts)
    none = int(np.sum(counts.sum(1) == 0))
    single = int(np.sum((kept.sum(1) == 0) & (counts.sum(1) > 0)))
    no_face = int(np.sum(~has_face))
    return (f"of {len(counts)} training faces: {none} with no votes at all, {single} with only single votes, "
            f"{no_face} marked as no face by FER+, the rest with most votes outside the 7 emotions")


def agreement(fer_labels: np.ndarray, majority: np.ndarray) -> dict[str, float]:
    """Share of faces with a FER+ majority whose FER-2013 label is the same, per FER-2013 class."""
    ok = majority >= 0
    out = {"all": round(float(np.mean(fer_labels[ok] == majority[ok])), 4) if ok.any() else 0.0}
    for i, name in enumerate(FER7):
        m = ok & (fer_labels == i)
        if m.any():
            out[name] = round(float(np.mean(majority[m] == i)), 4)
    return out
