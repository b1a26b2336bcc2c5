"""``mood-convert evaluate``: measure an int8 model and its float twin on the same labelled split.

Both run on LiteRT, fed exactly as the card's ``preprocess`` says. FER-2013 images are already face
crops, so only the resize and scaling apply (no crop margin). The metrics go into both cards under
``metrics.evaluation``; the confusion matrices are also saved as a PNG beside the model.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from edge.errors import DataError, ModelError
from edge.labels import LABEL_SETS

log = logging.getLogger(__name__)

SUMMARY = "accuracy, macro-F1, per-class P/R, 4-mood accuracy and confusion matrix, written into the card"
DESCRIPTION = """\
Evaluates MODEL (a .tflite with its JSON card, usually the int8 one) and the float twin its card names,
on one split of FER-2013 data (csv or folder layout): accuracy, macro-F1, per-class precision/recall,
accuracy on the 4 moods (disgust, fear -> angry; surprise -> happy) and the confusion matrix (numbers and
a PNG). The results are written into both model cards (metrics.evaluation). Use the test split
(PrivateTest / test/) once, for the final figure; the validation split for anything you tune on."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", type=Path, help="the .tflite model (its card is the same path with .json)")
    p.add_argument("--data", type=Path, required=True, help="FER-2013 csv file or folder layout")
    p.add_argument("--split", choices=["test", "val"], default="test",
                   help="test = PrivateTest / test/ (default); val = PublicTest / slice of train/")
    p.add_argument("--png", type=Path, default=None,
                   help="confusion matrix image (default: <model>_confusion.png beside the model)")
    p.add_argument("--no-write", action="store_true", help="print the metrics, leave the cards as they are")


def evaluate_model(model_path: Path, data: Path, split: str = "test", png: Path | None = None,
                   write: bool = True, dataset: Any = None) -> dict[str, Any]:
    """Metrics of the model and its twin on ``split``; ``dataset`` reuses an already loaded one."""
    from convert.data import load, to_input  # noqa: PLC0415
    from convert.export import predict_tflite  # noqa: PLC0415
    from convert.metrics import classification_metrics, plot_confusions  # noqa: PLC0415
    from edge.modelcard import load_card  # noqa: PLC0415

    card = load_card(model_path)
    classes = next((name for name, labels in LABEL_SETS.items() if labels == card.labels), None)
    if classes is None:
        raise ModelError(f"labels are {card.labels}", path=card.path, field="labels",
                         expected="the fer7 or mood4 label list")
    models = {card.id: model_path}
    twin_card = None
    if card.float_twin:
        twin_path = model_path.parent / card.float_twin["file"]
        twin_card = load_card(twin_path)
        models[twin_card.id] = twin_path
    ds = dataset if dataset is not None else load(data, size=card.input_size[0], classes=classes)
    chosen = getattr(ds, split)
    if len(chosen) == 0:
        raise DataError(f"the {split} split is empty", path=data, expected="labelled images")
    x = to_input(chosen.x, card.preprocess.scale, card.preprocess.offset)
    results = {name: classification_metrics(chosen.y, predict_tflite(path, x), card.labels)
               for name, path in models.items()}
    png = png or model_path.with_name(model_path.stem + "_confusion.png")
    plot_confusions(results, png, f"{data.name}, {split} split ({len(chosen)} images)")
    evaluation = {"data": str(data), "split": split, "split_is": ds.notes.get(split, split),
                  "n": len(chosen), "confusion_png": png.name, "models": results}
    for name, r in results.items():
        log.info("%s on %s/%s: accuracy %.4f, macro-F1 %.4f, 4-mood accuracy %.4f", name, data.name, split,
                 r["accuracy"], r["macro_f1"], r["mood4_accuracy"])
    if write:
        for c in (card, twin_card):
            if c is not None and c.path is not None:
                metrics = dict(c.extra.get("metrics") or {})
                metrics["evaluation"] = evaluation
                c.extra["metrics"] = metrics
                c.save(c.path)
    return evaluation


def main(args: argparse.Namespace) -> int:
    ev = evaluate_model(args.model, args.data, args.split, args.png, write=not args.no_write)
    print(f"{'model':34} {'accuracy':>9} {'macro-F1':>9} {'4-mood':>7}   ({ev['n']} images, {ev['split']} split)")
    for name, r in ev["models"].items():
        print(f"{name:34} {r['accuracy']:9.4f} {r['macro_f1']:9.4f} {r['mood4_accuracy']:7.4f}")
    print(f"confusion matrices: {ev['confusion_png']}")
    return 0
