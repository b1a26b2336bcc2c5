"""``mood-convert train``: train the expression model on FER-2013's faces (FER+'s votes or FER-2013's
labels), then export and evaluate it.

Read it top to bottom like a keras-io example: data -> augmentation -> model -> fit -> export.
Honest protocol: fit on Training (cleaned of FER-2013's known flaws, see :mod:`convert.data`), choose
the checkpoint on a stratified validation slice of Training, and touch the test split (PublicTest, or
``test/``) once, at the very end. The recipe that made the shipped model is the default of every flag.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import time
from pathlib import Path
from typing import Any

import numpy as np

from convert.augment import augment, mixup
from convert.callbacks import keep_average_if_better, make_callbacks, refresh_batchnorm, weight_averager
from convert.data import PIXEL_OFFSET, PIXEL_SCALE, Dataset, to_input
from convert.provenance import input_file, portable
from convert.warm_start import load_float_twin, teacher_targets, twin_weights
from edge.errors import DataError, ModelError
from edge.classify.labels import LABEL_SETS

log = logging.getLogger(__name__)

SUMMARY = "train the expression model on FER-2013's faces and FER+'s votes, then quantize and evaluate it"
DESCRIPTION = """\
Trains the expression model on FER-2013's faces, labelled by FER+'s ten annotators (--ferplus
fer2013new.csv, the shipped model's recipe) or by FER-2013's own single labels (without --ferplus).
FER+ is read row for row beside fer2013.csv: the row counts and every row's Usage must agree, or the run
stops in one line. Single votes are dropped; the model learns the remaining vote distribution over our
7 emotions (contempt, unknown and not-a-face votes set aside; faces where those hold half the votes or
more, and faces FER+ dropped, are not trained on); validation steers by the top class and the test split
is judged by the FER+ majority, with FER-2013's labels reported beside it.
The images come in either public layout:
  fer2013.csv          columns emotion,pixels,Usage: Training is split into train and a stratified
                       validation slice (--val-fraction); PublicTest is the test split, used once at the end;
                       PrivateTest rows, if present, are kept apart (mood-convert evaluate --split private)
  DIR/train/<class>/   and DIR/test/<class>/ image folders (class = angry, disgust, fear, happy, sad,
                       surprise, neutral): validation is the same slice of train/, test/ is the test split
FER-2013's flaws are removed from train first: blank images, extra copies of duplicates (groups that
disagree on the label are dropped whole), and images that are also in the test split (--keep-flaws keeps
them). The defaults, with --ferplus, are the recipe of the shipped model: the 92k-parameter
mood-xception at 48x48, augmentation (flips, rotation, zoom and shifts, brightness and contrast,
down-and-up scaling to sofa-distance face sizes, random erasing), label smoothing, no class weights,
AdamW with warm-up and cosine decay over 50 epochs, the checkpoint with the best validation accuracy,
a fixed seed.
To train on from a model instead of from scratch: --init-from puts a float twin's weights back into the
network (its BatchNorms unfolded with statistics measured on training faces), --teacher blends a model's
readings of each training face and its mirror image into the targets (--teacher-weight of them), and
--average-last N averages the weights of the last N epochs, kept where validation prefers the average.

Writes into --out: best.keras, history.csv, train_report.json, curves.png, and (unless --no-export)
the int8 model with its float twin and cards (calibrated on training images; post-processing chosen on
validation, as mood-convert adjust does), evaluated once on the test
split (all of it, and without the images FER-2013 shares with Training) and at distant-face sizes, and
<name>_MODEL_CARD.md (compared with the shipped baseline when that was evaluated on the same split).
Then copy <name>_int8.tflite/.json and the float twin into models/ (or point model.path at them)."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    from convert.model import ARCHITECTURES  # noqa: PLC0415 - no TensorFlow at import

    p.add_argument("data", type=Path, help="fer2013.csv, or a folder with train/ and test/")
    p.add_argument("--ferplus", type=Path, default=None, metavar="FER2013NEW_CSV",
                   help="FER+'s fer2013new.csv (ten votes a face, row for row with the csv): learn the vote "
                        "distribution and steer by the FER+ majority; without it, FER-2013's single labels")
    p.add_argument("--out", type=Path, default=Path("artifacts/train"), help="output folder")
    p.add_argument("--classes", choices=sorted(LABEL_SETS), default="fer7")
    p.add_argument("--arch", choices=sorted(ARCHITECTURES), default="mood-xception",
                   help="network (default mood-xception; mini-xception is Arriaga's original)")
    p.add_argument("--input-size", type=int, default=48, help="square input side (default 48, FER-2013's own)")
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (AdamW, cosine decay)")
    p.add_argument("--weight-decay", type=float, default=0.01, help="AdamW decoupled weight decay")
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--mixup", type=float, default=0.0, metavar="ALPHA",
                   help="mix each training batch with itself reversed, faces and vote distributions alike, "
                        "by a Beta(ALPHA, ALPHA) share (0, the default, turns it off; 0.2 is a usual choice)")
    p.add_argument("--small-faces", type=float, default=0.35, metavar="SHARE",
                   help="share of training faces shrunk to 14-40 px and scaled back up (default 0.35)")
    p.add_argument("--class-weight", choices=["none", "sqrt", "balanced"], default="none",
                   help="per-class loss weights against the imbalance (disgust is 1.5%% of FER-2013, 0.7%% of "
                        "FER+); none (default) steers by accuracy, sqrt trades some of it for rare classes")
    p.add_argument("--time-limit", type=float, default=None, metavar="MINUTES",
                   help="stop after the epoch that passes this much training time (the best epoch is kept)")
    p.add_argument("--patience", type=int, default=25, help="epochs without validation gain before stopping")
    p.add_argument("--val-fraction", type=float, default=0.1, help="share of Training / train/ for validation")
    p.add_argument("--keep-flaws", action="store_true",
                   help="train on FER-2013 as it is (blanks, duplicates, copies of test images)")
    p.add_argument("--limit", type=int, default=None,
                   help="at most N images per split (csv) or per class folder (quick trials)")
    p.add_argument("--init-from", type=Path, default=None, metavar="FLOAT32_TFLITE",
                   help="start from this float twin's weights (same architecture) instead of at random")
    p.add_argument("--teacher", type=Path, default=None, metavar="TFLITE",
                   help="blend this model's mirror-averaged readings of the training faces into the targets "
                        "(any TFLite classifier of this input size and these classes: a twin, a larger model)")
    p.add_argument("--teacher-weight", type=float, default=0.5, help="the teacher's share of the targets")
    p.add_argument("--average-last", type=int, default=0, metavar="N",
                   help="average the weights of the last N epochs; kept where validation prefers them")
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--no-export", action="store_true", help="stop after training (no int8 model)")
    p.add_argument("--name", default=None, help="exported file stem (default: <arch>_<classes>)")
    p.add_argument("--crop-margin", type=float, default=0.1, help="crop margin recorded in the card")


# ---- data -------------------------------------------------------------------------------------------

def make_datasets(ds: Dataset, batch: int, seed: int, size: int, mix: float = 0.0,
                  small: float = 0.35) -> tuple[Any, Any]:
    """tf.data pipelines: shuffled, augmented training batches; plain validation batches."""
    import tensorflow as tf  # noqa: PLC0415

    k = len(ds.labels)
    onehot = np.eye(k, dtype=np.float32)

    def targets(split: Any) -> np.ndarray:  # FER+'s vote distribution where there is one
        return split.soft if split.soft is not None else onehot[split.y]

    steps = tf.data.Dataset.counter().map(lambda i: tf.stack([tf.constant(seed, tf.int64), i]))
    train = (tf.data.Dataset.from_tensor_slices((to_input(ds.train.x), targets(ds.train)))
             .shuffle(len(ds.train), seed=seed, reshuffle_each_iteration=True)
             .batch(batch))
    train = (tf.data.Dataset.zip((train, steps))
             .map(lambda xy, s: (augment(xy[0], s, size, small), xy[1]),
                  num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
             .prefetch(tf.data.AUTOTUNE))
    if mix > 0:
        train = (tf.data.Dataset.zip((train, steps))
                 .map(lambda xy, s: mixup(xy[0], xy[1], s, mix), deterministic=True))
    val = tf.data.Dataset.from_tensor_slices((to_input(ds.val.x), targets(ds.val))).batch(256)
    return train, val


def class_weights(y: np.ndarray, k: int, mode: str = "sqrt", cap: float = 10.0) -> dict[int, float] | None:
    """Balanced weights n / (k * n_c), or their square root (milder), capped so no class dominates."""
    if mode == "none":
        return None
    counts = np.bincount(y, minlength=k).astype(float)
    w = np.where(counts > 0, len(y) / (k * np.maximum(counts, 1)), 0.0)
    if mode == "sqrt":
        w = np.sqrt(w)
    return {i: float(min(cap, v)) for i, v in enumerate(w)}


def command_line(args: argparse.Namespace) -> str:
    """The ``mood-convert train`` command that repeats this run: the data and every option that differs
    from its default (for the card; read from the parsed options, not from ``sys.argv``)."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    words = [str(args.data)]
    for action in parser._actions:  # noqa: SLF001 - argparse has no public list of its options
        if not action.option_strings or action.dest == "help":
            continue
        value = getattr(args, action.dest, action.default)
        if value == action.default:
            continue
        words += [action.option_strings[0]] if action.nargs == 0 else [action.option_strings[0], str(value)]
    return "mood-convert train " + shlex.join(words)


def save_curves(history: dict[str, list[float]], path: Path) -> None:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for key, ax in (("loss", a), ("accuracy", b)):
        ax.plot(history.get(key, []), label=f"train {key} (augmented)")
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
    if not 0 <= args.mixup <= 10:
        raise DataError(f"got {args.mixup}", field="--mixup", expected="an alpha from 0 (off) to 10")
    if not 0 <= args.teacher_weight <= 1:
        raise DataError(f"got {args.teacher_weight}", field="--teacher-weight", expected="a share from 0 to 1")
    if not 0 <= args.small_faces <= 1:
        raise DataError(f"got {args.small_faces}", field="--small-faces", expected="a share from 0 to 1")
    if args.epochs < 1 or args.batch_size < 1:
        raise DataError("must be positive", field="--epochs/--batch-size", expected="integers >= 1")
    if not 0 <= args.average_last <= args.epochs:
        raise DataError(f"got {args.average_last}", field="--average-last", expected="0 to --epochs")
    started = time.monotonic()
    lineage = _lineage(args)  # read before training, so a wrong file stops the run at once

    # data (read and checked before TensorFlow loads, so a bad file fails fast)
    ds = load(args.data, size=args.input_size, classes=args.classes, val_fraction=args.val_fraction,
              seed=args.seed, limit=args.limit, clean_data=not args.keep_flaws, ferplus=args.ferplus)
    quiet_tensorflow()
    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    from convert.model import ARCHITECTURES  # noqa: PLC0415

    keras.utils.set_random_seed(args.seed)
    tf.config.experimental.enable_op_determinism()  # same seed, same data, same CPU -> same weights
    args.out.mkdir(parents=True, exist_ok=True)
    refresh_x = to_input(ds.train.x[np.random.default_rng(args.seed).permutation(len(ds.train))[:2048]])
    if args.teacher is not None:
        ds = _with_teacher(ds, args)
    train_data, val_data = make_datasets(ds, args.batch_size, args.seed, args.input_size,
                                          args.mixup, args.small_faces)
    weights = class_weights(ds.train.y, len(ds.labels), args.class_weight)

    # model
    model = ARCHITECTURES[args.arch](args.input_size, len(ds.labels))
    if args.init_from is not None:
        load_float_twin(model, args.init_from, refresh_x)
    steps = int(np.ceil(len(ds.train) / args.batch_size))
    warmup = steps * min(3, args.epochs // 10)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0 if warmup else args.lr, decay_steps=max(1, steps * args.epochs - warmup), alpha=0.01,
        warmup_target=args.lr if warmup else None, warmup_steps=warmup)
    model.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=args.weight_decay),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=args.label_smoothing),
                  metrics=["accuracy"])

    # fit
    averager = weight_averager(args.epochs - args.average_last + 1)
    callbacks = make_callbacks(model, refresh_x, args.out, args.patience, args.time_limit)
    history = model.fit(train_data, validation_data=val_data, epochs=args.epochs, class_weight=weights,
                        callbacks=callbacks + ([averager] if args.average_last > 1 else []), verbose=2)
    # EarlyStopping restored the best epoch's weights, whose BatchNorm statistics RefreshBatchNorm
    # measured on clean faces before that epoch's validation; ModelCheckpoint saved the same weights
    hist = {k: [float(v) for v in vs] for k, vs in history.history.items()}
    averaged = keep_average_if_better(model, averager, val_data, max(hist.get("val_accuracy", [0.0])),
                                      lambda m: refresh_batchnorm(m, refresh_x), args.out / "best.keras")
    save_curves(hist, args.out / "curves.png")
    train_minutes = (time.monotonic() - started) / 60
    best_epoch = int(np.argmax(hist.get("val_accuracy", [0]))) + 1
    command = command_line(args)
    inputs = [input_file(p) for p in (args.data, args.ferplus, args.init_from, args.teacher)
              if p is not None and Path(p).is_file()]
    report = {
        "training_data": {"source": Path(ds.source).name, "inputs": inputs, "classes": args.classes, "labels": ds.labels,
                          "splits": {"train": len(ds.train), "val": len(ds.val), "test": len(ds.test)},
                          "split_rules": {"train": "Training / train/, cleaned", **ds.notes},
                          "cleaning": ds.cleaning, "test_also_in_training": int(np.sum(ds.test_seen)),
                          "counts": ds.counts()},
        "metrics": {"val_accuracy": round(averaged or max(hist.get("val_accuracy", [0.0])), 4),
                    "best_epoch": f"average of the last {averager.count}" if averaged else best_epoch,
                    "epochs_run": len(hist.get("loss", [])), "training_minutes": round(train_minutes, 1),
                    "parameters": int(model.count_params())},
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                   if not k.startswith("_") and k not in ("command", "func")},
        "class_weights": {ds.labels[i]: round(w, 3) for i, w in (weights or {}).items()},
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__},
        "history": hist,
        "command": command,
        "started_from": lineage,
    }
    report = portable(report)
    (args.out / "train_report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    log.info("best epoch %d of %d: validation accuracy %.4f (%.1f min)", best_epoch, len(hist["loss"]),
             report["metrics"]["val_accuracy"], train_minutes)
    print(f"trained in {train_minutes:.1f} min: validation accuracy {report['metrics']['val_accuracy']:.4f} "
          f"(epoch {best_epoch}) -> {args.out / 'best.keras'}")

    # export: int8 + float twin, then the test split, once
    if not args.no_export:
        _export(model, ds, args, report)
    return 0


def _lineage(args: argparse.Namespace) -> dict[str, Any] | None:
    """What a run started from (--init-from, --teacher): each file's name and hash, and the command and
    minutes its card says made it, so the card of the result names every step that led to it."""
    from convert.export import interpreter  # noqa: PLC0415
    from edge.classify.modelcard import load_card  # noqa: PLC0415

    if args.init_from is None and args.teacher is None:
        return None
    lineage: dict[str, Any] = {}
    for role, path in (("weights", args.init_from), ("teacher", args.teacher)):
        if path is not None:
            (twin_weights if role == "weights" else interpreter)(path)  # readable, or one line naming it
            try:
                extra = load_card(path).extra
            except ModelError:  # a twin without its card: named by its hash alone
                extra = {}
            lineage[role] = {**input_file(path), "command": extra.get("command", ""),
                             "training_minutes": extra.get("metrics", {}).get("training", {}).get("training_minutes")}
    if args.teacher is not None:
        lineage["teacher"]["weight"] = args.teacher_weight
    return lineage


def _with_teacher(ds: Dataset, args: argparse.Namespace) -> Dataset:
    """Training targets blended with a teacher's readings: (1 - w) * votes + w * teacher."""
    from dataclasses import replace  # noqa: PLC0415

    taught = teacher_targets(args.teacher, to_input(ds.train.x), len(ds.labels))
    votes = ds.train.soft if ds.train.soft is not None else np.eye(len(ds.labels), dtype=np.float32)[ds.train.y]
    soft = (1 - args.teacher_weight) * votes + args.teacher_weight * taught
    return replace(ds, train=replace(ds.train, soft=soft.astype(np.float32)))


def _export(model: Any, ds: Dataset, args: argparse.Namespace, report: dict[str, Any]) -> None:
    """Quantize on training images, check fidelity on validation, evaluate on test once."""
    from convert.adjust import TAUS, choose, write_choice  # noqa: PLC0415
    from convert.evaluate import evaluate_model  # noqa: PLC0415
    from convert.quantize import quantize_keras  # noqa: PLC0415
    from edge.classify.modelcard import Preprocess, sha256_of  # noqa: PLC0415

    rng = np.random.default_rng(args.seed)
    cal = ds.train.x[rng.permutation(len(ds.train))[:500]]
    stem = args.name or f"{args.arch.replace('-', '_')}_{args.classes}"
    extra = {
        "source": {"keras_model": "best.keras", "sha256": sha256_of(args.out / "best.keras"),
                   "trained_by": "mood-convert train", "architecture": args.arch,
                   "parameters": report["metrics"]["parameters"]},
        "license": ("MIT (weights trained by mood-convert train on FER-2013's faces"
                    + (" with FER+'s labels, MIT, (c) Microsoft Corporation" if args.ferplus else "")
                    + "; FER-2013's own terms apply to the data)"),
        "training_data": report["training_data"],
        "metrics": {"training": report["metrics"]},
        "training": {"config": report["config"], "versions": report["versions"],
                     "class_weights": report["class_weights"]},
        "fidelity_sets": {"val": "the validation split"},
        "quantization": {"calibration": f"{len(cal)} training images (seed {args.seed})"},
        "command": report["command"],
        **({"started_from": report["started_from"]} if report["started_from"] else {}),
    }
    preprocess = Preprocess(crop_margin=args.crop_margin, interpolation="area", scale=PIXEL_SCALE,
                            offset=PIXEL_OFFSET)
    written = quantize_keras(model, ds.labels, args.out, stem, cal, {"val": ds.val.x}, {"val": ds.val.y},
                             preprocess, extra)
    post, tried = choose(written.int8_path, ds, list(TAUS))  # on validation, before the test split is read
    write_choice(written.int8_path, post, tried, "validation accuracy, then macro-F1")
    print(f"post-processing chosen on validation: mirror {str(post.mirror).lower()}, tau {post.tau:g}")
    ev = evaluate_model(written.int8_path, Path(ds.source), "test", write=True, dataset=ds)
    for name, r in ev["models"].items():
        print(f"{name}: test accuracy {r['accuracy']:.4f}, macro-F1 {r['macro_f1']:.4f}, "
              f"4-mood accuracy {r['mood4_accuracy']:.4f}")
    write_model_card(written.int8_path, args.out / f"{stem}_MODEL_CARD.md")


def write_model_card(int8_path: Path, md_path: Path, baseline: Path | None = None) -> None:
    """MODEL_CARD.md from the cards; the imported baseline's card is compared when it was evaluated on the
    same split (``mood-convert evaluate models/mini_xception_fer7_int8.tflite --data fer2013.csv``)."""
    from convert.model_card_md import render_trained  # noqa: PLC0415
    from edge.classify.modelcard import load_card  # noqa: PLC0415
    from edge.paths import models_dir  # noqa: PLC0415

    card = load_card(int8_path)
    twin_path = int8_path.parent / card.float_twin["file"]
    twin = load_card(twin_path)
    baseline = baseline or models_dir() / "mini_xception_fer7_int8.tflite"
    base = load_card(baseline).to_json() if baseline.is_file() else None
    md = render_trained({**card.to_json(), "_size": int8_path.stat().st_size},
                        {**twin.to_json(), "_size": twin_path.stat().st_size}, base)
    md_path.write_text(md, encoding="utf-8")
