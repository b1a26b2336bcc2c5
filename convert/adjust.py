"""``mood-convert adjust``: choose the card's post-processing (mirror views, logit adjustment) on validation.

A model trained on FER+'s votes learns their shares: fear and disgust are 2.7% and 0.7% of the votes,
so a face between fear and surprise reads as surprise, and a frightened or disgusted room is never
reported. Dividing the probabilities by the training prior to a power ``tau`` (Menon et al., "Long-tail
learning via logit adjustment", ICLR 2021) moves those close calls; reading each face mirrored every
other frame lets the smoother average both views for free. Both are chosen here on the validation
split (never the test split), through :class:`edge.classify.classifier.Classifier`, and written into the
model's card and its float twin's, which the daemon, ``bench`` and ``check`` then read.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np

from convert.provenance import portable
from edge.errors import DataError

log = logging.getLogger(__name__)

SUMMARY = "choose the model card's post-processing (mirror views, logit adjustment) on the validation split"
DESCRIPTION = """\
Chooses how the classifier post-processes MODEL's answers, on the validation split of the training data
(the same slice mood-convert train steered by; the test split is never read), and writes the choice
into MODEL's card and its float twin's ("postprocess"):
  mirror   each face is read mirrored on every other frame; the mood smoother's average then sees
           both views of a face at one view's cost (a still face is evaluated as their average)
  prior    the classes' shares of the training votes (FER+'s, with --ferplus; else of the labels)
  tau      the probabilities are divided by prior ** tau, then renormalised: 0 leaves them as they
           are; larger values give rare classes (fear, disgust) more of the close calls
Every combination of --taus with and without mirror is scored by validation accuracy (the FER+
majority with --ferplus; ties go to the higher macro-F1); the table is printed and kept in the card.
Run mood-convert evaluate afterwards for the test figures (mood-convert train does both)."""

#: the taus tried by default (0.3 was chosen for the shipped model: see docs/model.md)
TAUS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", type=Path, help="the int8 .tflite model (its card is the same path with .json)")
    p.add_argument("--data", type=Path, required=True, help="FER-2013 csv file or folder layout (as trained on)")
    p.add_argument("--ferplus", type=Path, default=None, metavar="FER2013NEW_CSV",
                   help="FER+'s fer2013new.csv: the prior from the votes, validation judged by their majority")
    p.add_argument("--taus", type=float, nargs="+", default=list(TAUS), metavar="TAU",
                   help="taus to try (default: %(default)s)")
    p.add_argument("--no-mirror", action="store_true", help="never choose mirror views")
    p.add_argument("--seed", type=int, default=1337, help="the validation slice's seed (as mood-convert train)")
    p.add_argument("--dry-run", action="store_true", help="print the table, leave the cards as they are")


def class_prior(ds: Any) -> list[float]:
    """Each class's share of the training targets (FER+'s vote distributions, else the labels)."""
    k = len(ds.labels)
    shares = (ds.train.soft.mean(axis=0) if ds.train.soft is not None
              else np.bincount(ds.train.y, minlength=k) / max(1, len(ds.train.y)))
    return [round(max(float(v), 1e-4), 5) for v in shares]


def choose(model_path: Path, ds: Any, taus: list[float], mirror: bool = True) -> tuple[Any, list[dict[str, Any]]]:
    """The best :class:`~edge.classify.modelcard.Postprocess` on validation, and the table of all tried."""
    from convert.metrics import classification_metrics  # noqa: PLC0415
    from edge.classify.classifier import Classifier  # noqa: PLC0415
    from edge.classify.modelcard import MAX_TAU, Postprocess, load_card  # noqa: PLC0415

    if not taus or not all(0 <= t <= MAX_TAU for t in taus):
        raise DataError(f"got {taus}", field="--taus", expected=f"numbers from 0 to {MAX_TAU:g}")
    card = load_card(model_path)
    val = ds.split("val")
    judged = val.y >= 0
    if not judged.any():
        raise DataError("no labelled faces in the validation split", path=Path(ds.source), expected="labelled images")
    prior = class_prior(ds)
    table = []
    for use_mirror in ((False, True) if mirror else (False,)):
        for tau in taus:
            post = Postprocess(mirror=use_mirror, prior=prior if tau else None, tau=float(tau))
            clf = Classifier(model_path, num_threads=2, card=dataclasses.replace(card, postprocess=post))
            probs = clf.infer_views(clf.preprocess_crops(val.x))
            m = classification_metrics(val.y[judged], probs[judged], card.labels)
            table.append({"mirror": use_mirror, "tau": float(tau), "accuracy": round(m["accuracy"], 4),
                          "macro_f1": round(m["macro_f1"], 4), "post": post})
    best = max(table, key=lambda r: (r["accuracy"], r["macro_f1"]))
    return best["post"], [{k: v for k, v in r.items() if k != "post"} for r in table]


def write_choice(model_path: Path, post: Any, table: list[dict[str, Any]], criterion: str) -> list[Path]:
    """The choice into the model's card and its float twin's; the cards written."""
    from edge.classify.modelcard import load_card  # noqa: PLC0415

    card = load_card(model_path)
    cards = [card] + ([load_card(model_path.parent / card.float_twin["file"])] if card.float_twin else [])
    for c in cards:
        c.postprocess = post
        c.extra["postprocess_choice"] = portable({"split": "val", "criterion": criterion,
                                                  "prior": "the classes' shares of the training targets",
                                                  "chosen_with": card.id, "tried": table})
        assert c.path is not None
        c.save(c.path)
    return [c.path for c in cards if c.path is not None]


def main(args: argparse.Namespace) -> int:
    from convert.data import FER_SIDE, load  # noqa: PLC0415
    from edge.classify.labels import LABEL_SETS  # noqa: PLC0415
    from edge.classify.modelcard import load_card  # noqa: PLC0415

    labels = load_card(args.model).labels
    classes = next((name for name, ls in LABEL_SETS.items() if ls == labels), None)
    if classes is None:
        raise DataError(f"labels are {labels}", path=args.model, expected="the fer7 or mood4 label list")
    ds = load(args.data, size=FER_SIDE, classes=classes, seed=args.seed, ferplus=args.ferplus)
    post, table = choose(args.model, ds, args.taus, mirror=not args.no_mirror)
    criterion = "FER+ majority accuracy, then macro-F1" if args.ferplus else "accuracy, then macro-F1"
    print(f"validation split, {int((ds.split('val').y >= 0).sum())} faces; {criterion}")
    print(f"{'mirror':>6} {'tau':>5} {'accuracy':>9} {'macro-F1':>9}")
    for r in table:
        mark = "  <- chosen" if (r["mirror"], r["tau"]) == (post.mirror, post.tau) else ""
        print(f"{str(r['mirror']).lower():>6} {r['tau']:5.2f} {r['accuracy']:9.4f} {r['macro_f1']:9.4f}{mark}")
    if args.dry_run:
        return 0
    for path in write_choice(args.model, post, table, criterion):
        print(f"written: {path}")
    print("now: mood-convert evaluate (the test figures in the cards)")
    return 0
