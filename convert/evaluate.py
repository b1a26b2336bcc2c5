"""``mood-convert evaluate``: measure an int8 model and its float twin on the same labelled split.

Both run through :class:`edge.classify.classifier.Classifier`, the code the Pi runs (its interpreter, its resize
and scaling from the card); FER-2013 images are already face crops, so only the crop margin is skipped.
Besides the split itself it reports the split without the images FER-2013 shares with Training, and
the faces shrunk to sofa-distance sizes (24, 32 and 40 px, then scaled up by the classifier like a distant
face is). The metrics go into both cards under ``metrics.evaluation``; the confusion matrices are also
saved as a PNG beside the model.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import numpy as np

from convert.provenance import portable
from edge.errors import DataError, ModelError
from edge.classify.labels import LABEL_SETS

#: face widths (px) at which accuracy is also reported: 48 px is FER-2013's own size; 40 px is a face at 4 m
#: in the 1280 px capture, 24-32 px one at 5-6 m or in a 640 px capture
FACE_SIZES = (48, 40, 32, 24)

log = logging.getLogger(__name__)

SUMMARY = "FER+ majority and FER-2013 accuracy, macro-F1, per-class recall, 4 moods, confusion, at 48-24 px"
DESCRIPTION = """\
Evaluates MODEL (a .tflite with its JSON card, usually the int8 one) and the float twin its card names,
on one split of FER-2013 data (csv or folder layout), through the daemon's own classifier code.

Two yardsticks. With --ferplus (FER+'s fer2013new.csv, ten annotators a face, row for row with the csv) the
model is judged by the FER+ majority, the one we steer by: FERPlus's own "majority" rule (single votes
dropped; a face counts when its top emotion has more than half of the remaining votes; faces whose
majority is contempt, unknown or not-a-face, or that have none, are left out). FER-2013's single labels
(one person a face, ~1 in 3 disagreeing with the FER+ majority) are reported beside it, not steered by,
with how often the two label sets agree per class. Without --ferplus, FER-2013's labels are the yardstick.

Reported: accuracy, macro-F1, per-class precision/recall, accuracy on the 4 moods (disgust, fear -> angry;
surprise -> happy) and the confusion matrix (numbers and a PNG); the split without the images it shares
with Training; and all of it with the faces shrunk to 40, 32 and 24 px (sofa distance) and scaled back up
by the classifier. The card's postprocess (mood-convert adjust: logit adjustment, mirror views) applies as
in the daemon; with mirror, a face's two views are averaged (what the smoother sees over two frames) and
one view's accuracy is given beside it. The results are written into both model cards
(metrics.evaluation). Use the test split (PublicTest / test/) once, for the final figure; the validation
split for anything you tune on."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", type=Path, help="the .tflite model (its card is the same path with .json)")
    p.add_argument("--data", type=Path, required=True, help="FER-2013 csv file or folder layout")
    p.add_argument("--ferplus", type=Path, default=None, metavar="FER2013NEW_CSV",
                   help="FER+'s fer2013new.csv: judge by the FER+ majority (FER-2013's labels reported beside)")
    p.add_argument("--split", choices=["test", "val", "private"], default="test",
                   help="test = PublicTest / test/ (default); val = the slice of Training / train/; "
                        "private = PrivateTest rows of a csv that has them")
    p.add_argument("--png", type=Path, default=None,
                   help="confusion matrix image (default: <model>_confusion.png beside the model)")
    p.add_argument("--no-write", action="store_true", help="print the metrics, leave the cards as they are")


def evaluate_model(model_path: Path, data: Path, split: str = "test", png: Path | None = None,
                   write: bool = True, dataset: Any = None, ferplus: Path | None = None) -> dict[str, Any]:
    """Metrics of the model and its twin on ``split``; ``dataset`` reuses an already loaded one."""
    import cv2  # noqa: PLC0415

    from convert.data import FER_SIDE, load  # noqa: PLC0415
    from convert.ferplus import agreement  # noqa: PLC0415
    from convert.metrics import classification_metrics, plot_confusions  # noqa: PLC0415
    from edge.classify.classifier import Classifier  # noqa: PLC0415
    from edge.classify.modelcard import load_card  # noqa: PLC0415

    card = load_card(model_path)
    classes = next((name for name, labels in LABEL_SETS.items() if labels == card.labels), None)
    if classes is None:
        raise ModelError(f"labels are {card.labels}", path=card.path, field="labels",
                         expected="the fer7 or mood4 label list")
    cards = {card.id: card}
    if card.float_twin:
        twin = load_card(model_path.parent / card.float_twin["file"])
        cards[twin.id] = twin
    classifiers = {name: Classifier(c.path.with_name(c.file), card=c) for name, c in cards.items()}
    ds = dataset if dataset is not None else load(data, size=FER_SIDE, classes=classes, ferplus=ferplus)
    chosen = ds.split(split)
    if len(chosen) == 0:
        raise DataError(f"the {split} split is empty", path=data, expected="labelled images")
    by_votes = chosen.fer is not None  # y is the FER+ majority (-1: none), fer FER-2013's own label
    judged = chosen.y >= 0
    labels = card.labels

    def score(probs: np.ndarray, keep: np.ndarray) -> dict[str, Any]:
        r = classification_metrics(chosen.y[keep & judged], probs[keep & judged], labels)
        if by_votes:
            r["fer2013"] = _summary(classification_metrics(chosen.fer[keep], probs[keep], labels))
        return r

    everyone = np.ones(len(chosen), dtype=bool)
    at_size: dict[str, dict[str, Any]] = {}
    results: dict[str, dict[str, Any]] = {}
    probs: dict[str, np.ndarray] = {}
    for side in FACE_SIZES:
        images = chosen.x if side == FER_SIDE else np.stack(
            [cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA) for img in chosen.x])
        for name, clf in classifiers.items():
            batch = clf.preprocess_crops(images)
            p = clf.infer_views(batch)  # with the card's mirror: both views, as the smoother sees them
            full = score(p, everyone)
            if clf.mirror:  # one frame's reading, one view
                full["one_view_accuracy"] = score(clf.infer(batch), everyone)["accuracy"]
            if side == FER_SIDE:
                results[name], probs[name] = full, p
            at_size.setdefault(f"{side}px", {})[name] = _summary(full)
    png = png or model_path.with_name(model_path.stem + "_confusion.png")
    yardstick = "FER+ majority" if by_votes else "FER-2013 labels"
    plot_confusions(results, png, f"{data.name}, {split} split, {yardstick} ({int(judged.sum())} faces)")
    evaluation: dict[str, Any] = {"data": str(data), "split": split, "split_is": ds.notes.get(split, split),
                                  "n": len(chosen), "yardstick": yardstick, "confusion_png": png.name,
                                  "models": results, "at_face_size": at_size}
    if by_votes:
        evaluation["ferplus"] = {"labels": ds.notes.get("labels", ""), "n_with_majority": int(judged.sum()),
                                 "fer2013_agrees_with_majority": agreement(chosen.fer, chosen.y)}
    seen = ds.test_seen if split == "test" else None
    if seen is not None and seen.any():
        evaluation["without_images_also_in_training"] = {
            "n": int((~seen).sum()), "removed": int(seen.sum()),
            "models": {name: _summary(score(p, ~seen)) for name, p in probs.items()}}
    for name, r in results.items():
        log.info("%s on %s/%s (%s): accuracy %.4f, macro-F1 %.4f, 4-mood accuracy %.4f", name, data.name, split,
                 yardstick, r["accuracy"], r["macro_f1"], r["mood4_accuracy"])
    if write:
        for c in cards.values():
            if c.path is not None:
                metrics = dict(c.extra.get("metrics") or {})
                metrics["evaluation"] = evaluation
                c.extra["metrics"] = metrics
                c.extra = portable(c.extra)
                c.save(c.path)
    return evaluation


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    out = {k: metrics[k] for k in ("n", "accuracy", "macro_f1", "mood4_accuracy", "one_view_accuracy")
           if k in metrics}
    if "per_class" in metrics:
        out["recall"] = {c: v["recall"] for c, v in metrics["per_class"].items()}
    if "fer2013" in metrics:
        out["fer2013_accuracy"] = metrics["fer2013"]["accuracy"]
    return out


def main(args: argparse.Namespace) -> int:
    ev = evaluate_model(args.model, args.data, args.split, args.png, write=not args.no_write,
                        ferplus=args.ferplus)
    print(f"{ev['split']} split ({ev['split_is']}), {ev['n']} faces; judged by the {ev['yardstick']}")
    if "ferplus" in ev:
        fp = ev["ferplus"]
        print(f"  {fp['n_with_majority']} faces have a FER+ majority among our 7 classes; FER-2013's label agrees "
              f"with it on {fp['fer2013_agrees_with_majority']['all']:.1%} of them")
    head = f"{'model':34} {'size':>5} {'accuracy':>9} {'macro-F1':>9} {'4-mood':>7}"
    print(head + ("  FER-2013" if "ferplus" in ev else ""))
    for side, models in ev["at_face_size"].items():
        for name, r in models.items():
            extra = f"  {r['fer2013_accuracy']:8.4f}" if "fer2013_accuracy" in r else ""
            print(f"{name:34} {side:>5} {r['accuracy']:9.4f} {r['macro_f1']:9.4f} {r['mood4_accuracy']:7.4f}{extra}")
    for name, r in ev["models"].items():
        recall = ", ".join(f"{c} {v['recall']:.2f}" for c, v in r["per_class"].items())
        print(f"{name}: recall {recall}")
    rest = ev.get("without_images_also_in_training")
    if rest:
        print(f"without the {rest['removed']} images also in training ({rest['n']} faces):")
        for name, r in rest["models"].items():
            print(f"{name:34} {'48px':>5} {r['accuracy']:9.4f} {r['macro_f1']:9.4f} {r['mood4_accuracy']:7.4f}")
    print(f"confusion matrices: {ev['confusion_png']}")
    return 0
