"""``mood-convert quantize``: a trained Keras model -> full-integer int8 TFLite + float twin + cards.

Calibration uses real faces: the training split when ``--data`` is given (what the model was trained
on), otherwise the faces that ship with scikit-image (astronaut, LFW), augmented. The fidelity check runs
on held-out crops: the validation split (with accuracies) or the offline faces with another seed.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from pathlib import Path
from typing import Any

import numpy as np

from convert.data import PIXEL_OFFSET, PIXEL_SCALE
from edge.errors import DataError, ModelError
from edge.classify.labels import LABEL_SETS
from edge.classify.modelcard import Preprocess, sha256_of

log = logging.getLogger(__name__)

SUMMARY = "quantize a Keras model to full-integer int8 TFLite with a model card"
DESCRIPTION = """\
Converts a Keras mini-Xception (.keras, e.g. best.keras from `mood-convert train`) into
  <name>_int8.tflite + .json     full-integer int8 (int8 input/output, builtin int8 ops), for the Pi
  <name>_float32.tflite + .json  its float twin
in --out, with labels.txt. Calibration: --data (FER-2013 csv or folders; a seeded sample of its
training split) or, without it, real face crops that ship with scikit-image (astronaut, LFW), augmented.
The card records the fidelity (float vs int8 top-1 agreement, mean/max |dp|; accuracies on the
validation split when --data is given). Add accuracy figures with `mood-convert evaluate`."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", type=Path, help="the Keras model (.keras)")
    p.add_argument("--data", type=Path, help="FER-2013 csv file or folder layout to calibrate on")
    p.add_argument("--classes", choices=sorted(LABEL_SETS), default=None,
                   help="label set of the model's outputs (default: fer7 for 7 outputs, mood4 for 4)")
    p.add_argument("--out", type=Path, default=Path("artifacts/model"), help="output folder")
    p.add_argument("--name", default=None, help="file stem (default: mini_xception_<classes>)")
    p.add_argument("--crop-margin", type=float, default=0.1,
                   help="face box growth the daemon applies before resizing (default 0.1)")
    p.add_argument("--calibration-size", type=int, default=500, help="calibration images (default 500)")
    p.add_argument("--seed", type=int, default=1337)


def load_keras(path: Path) -> Any:
    """A .keras model, or a clear error naming the file."""
    from convert.export import quiet_tensorflow  # noqa: PLC0415

    quiet_tensorflow()
    import keras  # noqa: PLC0415

    if not path.is_file():
        raise ModelError("no such file", path=path, expected="a Keras model saved as .keras")
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as exc:  # noqa: BLE001 - Keras raises many kinds for a bad file
        raise ModelError(f"Keras cannot load it ({type(exc).__name__}: {str(exc)[:200]})", path=path,
                         expected="a Keras 3 model saved with model.save('x.keras')") from None
    shape = model.input_shape
    if len(shape) != 4 or shape[1] != shape[2] or shape[3] != 1:
        raise ModelError(f"input shape is {shape}", path=path, expected="(None, S, S, 1) grayscale square input")
    return model


def labels_for(model: Any, classes: str | None, path: Path) -> list[str]:
    n = int(model.output_shape[-1])
    if classes is None:
        classes = {7: "fer7", 4: "mood4"}.get(n)
    if classes is None or len(LABEL_SETS[classes]) != n:
        raise ModelError(f"the model has {n} outputs", path=path,
                         expected="7 (fer7) or 4 (mood4) outputs, matching --classes")
    return list(LABEL_SETS[classes])


def quantize_keras(model: Any, labels: list[str], out_dir: Path, stem: str, calibration: np.ndarray,
                   fidelity_sets: dict[str, np.ndarray], truth: dict[str, np.ndarray] | None,
                   preprocess: Preprocess, extra: dict[str, Any]) -> Any:
    """Convert, check full-integer-ness and fidelity, write the pair. Images are uint8 (N, S, S)."""
    from convert import export  # noqa: PLC0415
    from convert.cards import write_model_pair  # noqa: PLC0415
    from convert.data import to_input  # noqa: PLC0415
    from convert.fidelity import measure_fidelity  # noqa: PLC0415

    pair = export.to_tflite_pair(model, to_input(calibration, preprocess.scale, preprocess.offset))
    fidelity = measure_fidelity(pair, {k: to_input(v, preprocess.scale, preprocess.offset)
                                       for k, v in fidelity_sets.items()}, labels, truth, grey_level=preprocess.scale)
    extra = {**extra, "fidelity": {"reference": "float32 twin (same weights) on LiteRT", **fidelity},
             "quantization": {"kind": "full-integer int8 (TFLITE_BUILTINS_INT8, int8 input and output)",
                              "ops": pair.int8_info.ops, "calibration_images": int(len(calibration)),
                              **extra.get("quantization", {})}}
    return write_model_pair(out_dir, stem, pair, labels, int(model.input_shape[1]), preprocess, extra)


def main(args: argparse.Namespace) -> int:
    from convert import calibrate  # noqa: PLC0415

    if not 0 <= args.crop_margin <= 1:
        raise ModelError(f"got {args.crop_margin}", field="--crop-margin", expected="a fraction between 0 and 1")
    if args.calibration_size < 10:
        raise ModelError(f"got {args.calibration_size}", field="--calibration-size", expected="at least 10")
    model = load_keras(args.model)
    labels = labels_for(model, args.classes, args.model)
    classes = "fer7" if labels == LABEL_SETS["fer7"] else "mood4"
    size = int(model.input_shape[1])
    stem = args.name or f"mini_xception_{classes}"
    truth = None
    if args.data is not None:
        from convert.data import load  # noqa: PLC0415

        ds = load(args.data, size=size, classes=classes, seed=args.seed)
        rng = np.random.default_rng(args.seed)
        pick = rng.permutation(len(ds.train))[: args.calibration_size]
        cal = ds.train.x[pick]
        sets, truth = {"val": ds.val.x}, {"val": ds.val.y}
        cal_note = f"{len(cal)} images sampled (seed {args.seed}) from the training split of {args.data}"
        fid_note = {"val": f"validation split of {args.data} ({ds.notes.get('val', '')})"}
    else:
        cal = calibrate.calibration_crops(args.calibration_size, margin=args.crop_margin, size=size)
        sets = calibrate.fidelity_crops(1000, margin=args.crop_margin, size=size)
        cal_note = "real faces: skimage astronaut + LFW 0-79, augmented"
        fid_note = {"all": "astronaut + 100 LFW faces, other seed", "unseen": "LFW 80-99, augmented"}
    if len(cal) == 0:
        raise DataError("no calibration images", path=args.data, expected="a non-empty training split")
    extra = {
        "source": {"keras_model": str(args.model), "sha256": sha256_of(args.model)},
        "quantization": {"calibration": cal_note},
        "fidelity_sets": fid_note,
        "metrics": {},
        "command": "mood-convert quantize " + shlex.join(sys.argv[sys.argv.index("quantize") + 1:]
                                                         if "quantize" in sys.argv else []),
    }
    _merge_training_report(args.model, extra)
    preprocess = Preprocess(crop_margin=args.crop_margin, interpolation="area", scale=PIXEL_SCALE,
                            offset=PIXEL_OFFSET)
    written = quantize_keras(model, labels, args.out, stem, cal, sets, truth, preprocess, extra)
    print(f"{written.int8_path} ({written.int8_path.stat().st_size} bytes) and its float twin written")
    return 0


def _merge_training_report(model_path: Path, extra: dict[str, Any]) -> None:
    """Carry training data and split facts over from train_report.json beside the model, if there."""
    import json  # noqa: PLC0415

    report = model_path.parent / "train_report.json"
    if report.is_file():
        try:
            data = json.loads(report.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.warning("ignoring unreadable %s", report)
            return
        extra["training_data"] = data.get("training_data")
        extra["metrics"] = {"training": data.get("metrics", {})}
