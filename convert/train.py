"""``mood-convert train``: train mini-Xception on FER-2013, then export and evaluate it.

Keras-io example order: data -> model -> fit -> export. Honest splits: fit on train, pick the checkpoint
on validation (PublicTest, or a stratified slice of train/), touch test (PrivateTest or test/) once at
the end. BatchNorm moving statistics are refreshed from the training images before every validation and
before export, so a short run is judged (and calibrated) with the statistics the weights actually need.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from pathlib import Path
from typing import Any

import numpy as np

from convert.data import PIXEL_OFFSET, PIXEL_SCALE, Dataset, to_input
from edge.errors import DataError
from edge.labels import LABEL_SETS

log = logging.getLogger(__name__)

SUMMARY = "train mini-Xception on FER-2013 (csv or folders), then quantize and evaluate it"
DESCRIPTION = """\
Trains mini-Xception on FER-2013 in either public layout:
  fer2013.csv          columns emotion,pixels,Usage (Training / PublicTest / PrivateTest)
  DIR/train/<class>/   and DIR/test/<class>/ image folders (class = angry, disgust, fear, happy, sad,
                       surprise, neutral); validation is a stratified slice of train/
with augmentation (flips, shifts, rotations, zoom, contrast, brightness), class weights (for the rare
disgust), a learning-rate schedule, early stopping on validation accuracy, the best checkpoint and a
fixed seed. --classes mood4 trains the 4-mood head (disgust, fear -> angry; surprise -> happy).

Writes into --out: best.keras, train_report.json, curves.png, and (unless --no-export) the int8 model
with its float twin and cards (calibrated on training images), evaluated once on the test split.
Then copy <name>_int8.tflite/.json and the float twin to models/ (or point the daemon's model.path at them)."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", type=Path, help="fer2013.csv, or a folder with train/ and test/")
    p.add_argument("--out", type=Path, default=Path("artifacts/train"), help="output folder")
    p.add_argument("--classes", choices=sorted(LABEL_SETS), default="fer7")
    p.add_argument("--input-size", type=int, default=64, help="square input side (48 or 64; default 64)")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3, help="initial learning rate (Adam)")
    p.add_argument("--patience", type=int, default=15, help="epochs without validation gain before stopping")
    p.add_argument("--val-fraction", type=float, default=0.1, help="folder layout: share of train/ for validation")
    p.add_argument("--limit", type=int, default=None,
                   help="at most N images per split (csv) or per class folder (quick trials)")
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--no-export", action="store_true", help="stop after training (no int8 model)")
    p.add_argument("--name", default=None, help="exported file stem (default: mini_xception_<classes>)")
    p.add_argument("--crop-margin", type=float, default=0.1, help="crop margin recorded in the card")


# ---- data -------------------------------------------------------------------------------------------

def make_datasets(ds: Dataset, batch: int, seed: int) -> tuple[Any, Any]:
    """tf.data pipelines: shuffled training batches, plain validation batches (one-hot labels)."""
    import tensorflow as tf  # noqa: PLC0415

    k = len(ds.labels)
    train = (tf.data.Dataset.from_tensor_slices((to_input(ds.train.x), np.eye(k, dtype=np.float32)[ds.train.y]))
             .shuffle(len(ds.train), seed=seed, reshuffle_each_iteration=True)
             .batch(batch)
             .prefetch(tf.data.AUTOTUNE))
    val = (tf.data.Dataset.from_tensor_slices((to_input(ds.val.x), np.eye(k, dtype=np.float32)[ds.val.y]))
           .batch(256))
    return train, val


def with_augmentation(model: Any, seed: int) -> Any:
    """The model behind random flips, shifts, rotations, zoom, contrast and brightness.

    The augmentation layers are part of the *training* model (active in training mode only, seeded,
    deterministic); the model we save and export is the bare one.
    """
    import keras  # noqa: PLC0415

    augment = keras.Sequential([
        keras.layers.RandomFlip("horizontal", seed=seed),
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=seed + 1),
        keras.layers.RandomRotation(10 / 360, fill_mode="nearest", seed=seed + 2),
        keras.layers.RandomZoom(0.1, fill_mode="nearest", seed=seed + 3),
        keras.layers.RandomContrast(0.2, value_range=(-1.0, 1.0), seed=seed + 4),
        keras.layers.RandomBrightness(0.1, value_range=(-1.0, 1.0), seed=seed + 5),
    ], name="augment")
    inputs = keras.Input(shape=model.input_shape[1:], name="image")
    return keras.Model(inputs, model(augment(inputs)), name="training")


def class_weights(y: np.ndarray, k: int, cap: float = 10.0) -> dict[int, float]:
    """Balanced weights n / (k * n_c), capped so a near-empty class cannot dominate."""
    counts = np.bincount(y, minlength=k).astype(float)
    w = np.where(counts > 0, len(y) / (k * np.maximum(counts, 1)), 0.0)
    return {i: float(min(cap, v)) for i, v in enumerate(w)}


# ---- BatchNorm statistics ----------------------------------------------------------------------------

def refresh_batchnorm(model: Any, x: np.ndarray, chunk: int = 256, max_images: int = 2048) -> None:
    """Replace BN moving statistics with the average batch statistics of ``x`` (training-mode passes).

    After a short run the moving averages (momentum 0.99) still remember their initial values, and
    inference-mode accuracy sits near chance while training accuracy is high.
    """
    import keras  # noqa: PLC0415

    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    saved = [layer.momentum for layer in bns]
    x = x[:max_images]
    try:
        for i, start in enumerate(range(0, len(x), chunk)):
            for layer in bns:  # running average over chunks: chunk i gets weight 1/(i+1)
                layer.momentum = i / (i + 1)
            model(x[start:start + chunk], training=True)
    finally:
        for layer, m in zip(bns, saved):
            layer.momentum = m


def make_callbacks(model: Any, ds: Dataset, out: Path, epochs: int, patience: int, seed: int) -> list[Any]:
    """``model`` is the bare network: its BN statistics are refreshed and it is what gets saved."""
    import keras  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    refresh_x = to_input(ds.train.x[rng.permutation(len(ds.train))[:2048]])

    class RefreshBatchNorm(keras.callbacks.Callback):
        def on_test_begin(self, logs: Any = None) -> None:
            refresh_batchnorm(model, refresh_x)

    class BestCheckpoint(keras.callbacks.Callback):
        """Save the bare model whenever validation accuracy improves."""

        best = -1.0

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            acc = float((logs or {}).get("val_accuracy", -1.0))
            if acc > self.best:
                self.best = acc
                model.save(out / "best.keras")

    return [
        RefreshBatchNorm(),
        BestCheckpoint(),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=max(2, patience // 3),
                                          min_lr=1e-5),
        keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=patience,
                                      restore_best_weights=True),
        ProgressBar(epochs),
    ]


class _Tqdm:
    """An epoch progress bar (tqdm when available) that shows the latest metrics."""

    def __init__(self, epochs: int) -> None:
        try:
            from tqdm import tqdm  # noqa: PLC0415

            self.bar = tqdm(total=epochs, unit="epoch", file=sys.stderr, dynamic_ncols=True)
        except ImportError:
            self.bar = None

    def update(self, epoch: int, logs: dict[str, float]) -> None:
        text = " ".join(f"{k}={v:.3f}" for k, v in logs.items() if k in
                        ("loss", "accuracy", "val_loss", "val_accuracy"))
        if self.bar is not None:
            self.bar.set_postfix_str(text)
            self.bar.update(1)
        else:
            log.info("epoch %d: %s", epoch + 1, text)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def ProgressBar(epochs: int) -> Any:  # noqa: N802 - a Keras callback factory
    import keras  # noqa: PLC0415

    class _Bar(keras.callbacks.Callback):
        def on_train_begin(self, logs: Any = None) -> None:
            self.tq = _Tqdm(epochs)

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.tq.update(epoch, dict(logs or {}))

        def on_train_end(self, logs: Any = None) -> None:
            self.tq.close()

    return _Bar()


def save_curves(history: dict[str, list[float]], path: Path) -> None:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for key, ax in (("loss", a), ("accuracy", b)):
        ax.plot(history.get(key, []), label=f"train {key}")
        ax.plot(history.get(f"val_{key}", []), label=f"validation {key}")
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ---- the command ------------------------------------------------------------------------------------

def main(args: argparse.Namespace) -> int:
    from convert.data import load  # noqa: PLC0415
    from convert.export import quiet_tensorflow  # noqa: PLC0415

    if args.input_size < 32:
        raise DataError(f"got {args.input_size}", field="--input-size", expected="at least 32 (48 or 64)")
    if args.epochs < 1 or args.batch_size < 1:
        raise DataError("must be positive", field="--epochs/--batch-size", expected="integers >= 1")

    # data (read and checked before TensorFlow loads, so a bad file fails fast)
    ds = load(args.data, size=args.input_size, classes=args.classes, val_fraction=args.val_fraction,
              seed=args.seed, limit=args.limit)
    quiet_tensorflow()
    import keras  # noqa: PLC0415

    from convert.model import build_mini_xception  # noqa: PLC0415

    import tensorflow as tf  # noqa: PLC0415

    keras.utils.set_random_seed(args.seed)
    tf.config.experimental.enable_op_determinism()  # same seed, same data -> same weights
    args.out.mkdir(parents=True, exist_ok=True)
    train_data, val_data = make_datasets(ds, args.batch_size, args.seed)
    weights = class_weights(ds.train.y, len(ds.labels))

    # model
    model = build_mini_xception(args.input_size, len(ds.labels))
    trainer = with_augmentation(model, args.seed)
    trainer.compile(optimizer=keras.optimizers.Adam(args.lr), loss="categorical_crossentropy",
                    metrics=["accuracy"])

    # fit
    history = trainer.fit(train_data, validation_data=val_data, epochs=args.epochs, class_weight=weights,
                        callbacks=make_callbacks(model, ds, args.out, args.epochs, args.patience, args.seed),
                        verbose=0)
    hist = {k: [float(v) for v in vs] for k, vs in history.history.items()}
    refresh_batchnorm(model, to_input(ds.train.x[np.random.default_rng(args.seed).permutation(len(ds.train))[:2048]]))
    model.save(args.out / "best.keras")
    save_curves(hist, args.out / "curves.png")
    model.compile(loss="categorical_crossentropy", metrics=["accuracy"])
    val_loss, val_acc = model.evaluate(to_input(ds.val.x), np.eye(len(ds.labels))[ds.val.y], verbose=0)
    test_loss, test_acc = model.evaluate(to_input(ds.test.x), np.eye(len(ds.labels))[ds.test.y], verbose=0)
    best_epoch = int(np.argmax(hist.get("val_accuracy", [0]))) + 1
    report = {
        "training_data": {"source": ds.source, "classes": args.classes, "labels": ds.labels,
                          "splits": {"train": len(ds.train), "val": len(ds.val), "test": len(ds.test)},
                          "split_rules": {"train": "Training / train/", **ds.notes}, "counts": ds.counts()},
        "metrics": {"val_accuracy": round(float(val_acc), 4), "test_accuracy": round(float(test_acc), 4),
                    "test_loss": round(float(test_loss), 4), "best_epoch": best_epoch,
                    "epochs_run": len(hist.get("loss", []))},
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                   if not k.startswith("_") and k not in ("command",)},
        "class_weights": {ds.labels[i]: round(w, 3) for i, w in weights.items()},
        "history": hist,
        "command": "mood-convert train " + shlex.join(sys.argv[sys.argv.index("train") + 1:]
                                                      if "train" in sys.argv else []),
    }
    (args.out / "train_report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    log.info("best epoch %d: validation accuracy %.4f; test accuracy %.4f (reported once)", best_epoch,
             val_acc, test_acc)
    print(f"trained: validation accuracy {val_acc:.4f}, test accuracy {test_acc:.4f} -> {args.out / 'best.keras'}")
    if not args.no_export:
        _export(model, ds, args, report)
    return 0


def _export(model: Any, ds: Dataset, args: argparse.Namespace, report: dict[str, Any]) -> None:
    """Quantize on training images, check fidelity on validation, evaluate on test once."""
    from convert.evaluate import evaluate_model  # noqa: PLC0415
    from convert.quantize import quantize_keras  # noqa: PLC0415
    from edge.modelcard import Preprocess, sha256_of  # noqa: PLC0415

    rng = np.random.default_rng(args.seed)
    cal = ds.train.x[rng.permutation(len(ds.train))[:500]]
    stem = args.name or f"mini_xception_{args.classes}"
    extra = {
        "source": {"keras_model": str(args.out / "best.keras"), "sha256": sha256_of(args.out / "best.keras"),
                   "trained_by": "mood-convert train"},
        "license": "weights trained by you on FER-2013; FER-2013's own terms apply to the data",
        "training_data": report["training_data"],
        "metrics": {"training": report["metrics"]},
        "fidelity_sets": {"val": "the validation split"},
        "quantization": {"calibration": f"{len(cal)} training images (seed {args.seed})"},
        "command": report["command"],
    }
    preprocess = Preprocess(crop_margin=args.crop_margin, interpolation="area", scale=PIXEL_SCALE,
                            offset=PIXEL_OFFSET)
    written = quantize_keras(model, ds.labels, args.out, stem, cal, {"val": ds.val.x}, {"val": ds.val.y},
                             preprocess, extra)
    ev = evaluate_model(written.int8_path, Path(ds.source), "test", write=True, dataset=ds)
    for name, r in ev["models"].items():
        print(f"{name}: test accuracy {r['accuracy']:.4f}, macro-F1 {r['macro_f1']:.4f}, "
              f"4-mood accuracy {r['mood4_accuracy']:.4f}")
