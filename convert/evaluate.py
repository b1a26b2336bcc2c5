"""``mood-convert evaluate``: measure an int8 model and its float twin on the same labelled split.

Both run through :class:`edge.classify.Classifier`, the code the Pi runs (its interpreter, its resize
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

from edge.errors import DataError, ModelError
from edge.labels import LABEL_SETS

#: face widths (px) at which accuracy is also reported: 40 px is a face at 4 m in the 1280 px capture,
#: 24-32 px one at 5-6 m or in a 640 px capture
DISTANT_FACE_SIZES = (24, 32, 40)

log = logging.getLogger(__name__)

SUMMARY = "accuracy, macro-F1, per-class P/R, 4-mood accuracy and confusion matrix, written into the card"
DESCRIPTION = """\
Evaluates MODEL (a .tflite with its JSON card, usually the int8 one) and the float twin its card names,
on one split of FER-2013 data (csv or folder layout), through the daemon's own classifier code:
accuracy, macro-F1, per-class precision/recall, accuracy on the 4 moods (disgust, fear -> angry;
surprise -> happy) and the confusion matrix (numbers and a PNG); also the split without the images it
shares with Training, and accuracy with the faces shrunk to 24, 32 and 40 px (sofa distance). The results
are written into both model cards (metrics.evaluation). Use the test split (PublicTest / test/) once,
for the final figure; the validation split (a stratified slice of Training) for anything you tune on."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", type=Path, help="the .tflite model (its card is the same path with .json)")
    p.add_argument("--data", type=Path, required=True, help="FER-2013 csv file or folder layout")
    p.add_argument("--split", choices=["test", "val", "private"], default="test",
                   help="test = PublicTest / test/ (default); val = the slice of Training / train/; "
                        "private = PrivateTest rows of a csv that has them")
    p.add_argument("--png", type=Path, default=None,
                   help="confusion matrix image (default: <model>_confusion.png beside the model)")
    p.add_argument("--no-write", action="store_true", help="print the metrics, leave the cards as they are")


def evaluate_model(model_path: Path, data: Path, split: str = "test", png: Path | None = None,
                   write: bool = True, dataset: Any = None) -> dict[str, Any]:
    """Metrics of the model and its twin on ``split``; ``dataset`` reuses an already loaded one."""
    import cv2  # noqa: PLC0415

    from convert.data import FER_SIDE, load  # noqa: PLC0415
    from convert.metrics import classification_metrics, plot_confusions  # noqa: PLC0415
    from edge.classify import Classifier  # noqa: PLC0415
    from edge.modelcard import load_card  # noqa: PLC0415

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
    ds = dataset if dataset is not None else load(data, size=FER_SIDE, classes=classes)
    chosen = ds.split(split)
    labelled = chosen.y >= 0  # FER+: faces with a majority among our classes
    chosen = chosen.take(labelled)
    test_seen = ds.test_seen[labelled] if split == "test" and ds.test_seen is not None else None
    if len(chosen) == 0:
        raise DataError(f"the {split} split is empty", path=data, expected="labelled images")

    def probabilities(clf: Classifier, images: np.ndarray) -> np.ndarray:
        return clf.infer(clf.preprocess_crops(images))

    probs = {name: probabilities(clf, chosen.x) for name, clf in classifiers.items()}
    results = {name: classification_metrics(chosen.y, p, card.labels) for name, p in probs.items()}
    png = png or model_path.with_name(model_path.stem + "_confusion.png")
    plot_confusions(results, png, f"{data.name}, {split} split ({len(chosen)} images)")
    evaluation: dict[str, Any] = {"data": str(data), "split": split, "split_is": ds.notes.get(split, split),
                                  "n": len(chosen), "confusion_png": png.name, "models": results}
    if test_seen is not None and test_seen.any():
        unseen = ~test_seen  # the same faces minus those also in training: no second inference
        evaluation["without_images_also_in_training"] = {
            "n": int(unseen.sum()), "removed": int(test_seen.sum()),
            "models": {name: _summary(classification_metrics(chosen.y[unseen], p[unseen], card.labels))
                       for name, p in probs.items()}}
    evaluation["at_face_size"] = {}
    for side in DISTANT_FACE_SIZES:
        small = np.stack([cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA) for img in chosen.x])
        evaluation["at_face_size"][f"{side}px"] = {
            name: _summary(classification_metrics(chosen.y, probabilities(clf, small), card.labels))
            for name, clf in classifiers.items()}
    for name, r in results.items():
        log.info("%s on %s/%s: accuracy %.4f, macro-F1 %.4f, 4-mood accuracy %.4f", name, data.name, split,
                 r["accuracy"], r["macro_f1"], r["mood4_accuracy"])
    if write:
        for c in cards.values():
            if c.path is not None:
                metrics = dict(c.extra.get("metrics") or {})
                metrics["evaluation"] = evaluation
                c.extra["metrics"] = metrics
                c.save(c.path)
    return evaluation


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: metrics[k] for k in ("n", "accuracy", "macro_f1", "mood4_accuracy")}


def main(args: argparse.Namespace) -> int:
    ev = evaluate_model(args.model, args.data, args.split, args.png, write=not args.no_write)
    print(f"{'model':34} {'accuracy':>9} {'macro-F1':>9} {'4-mood':>7}   ({ev['n']} images, {ev['split']} split)")
    for name, r in ev["models"].items():
        print(f"{name:34} {r['accuracy']:9.4f} {r['macro_f1']:9.4f} {r['mood4_accuracy']:7.4f}")
    rest = ev.get("without_images_also_in_training")
    if rest:
        print(f"without the {rest['removed']} images also in training ({rest['n']} images):")
        for name, r in rest["models"].items():
            print(f"{name:34} {r['accuracy']:9.4f} {r['macro_f1']:9.4f} {r['mood4_accuracy']:7.4f}")
    for side, models in ev["at_face_size"].items():
        print(f"faces shrunk to {side} and scaled back up by the classifier:")
        for name, r in models.items():
            print(f"{name:34} {r['accuracy']:9.4f} {r['macro_f1']:9.4f} {r['mood4_accuracy']:7.4f}")
    print(f"confusion matrices: {ev['confusion_png']}")
    return 0
