"""The model card: the JSON file beside every .tflite that says how to feed it.

The daemon never guesses preprocessing: labels, crop margin, resize and scaling come from the
card, and the model file must match the card's sha256. ``convert/`` writes cards with
:meth:`ModelCard.save`; the daemon reads them with :func:`load_card`.

Card layout (``<model>.json`` next to ``<model>.tflite``)::

    {
      "schema": 1,
      "id": "mini_xception_fer7_int8",
      "file": "mini_xception_fer7_int8.tflite",
      "sha256": "<hex of the .tflite>",
      "labels": ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"],
      "input": {"size": [64, 64], "channels": 1, "dtype": "int8", "scale": 0.0078, "zero_point": -1},
      "output": {"dtype": "int8", "scale": 0.0039, "zero_point": -128, "activation": "softmax"},
      "preprocess": {"color": "gray", "crop_margin": 0.1, "interpolation": "area",
                     "scale": 0.00784313725490196, "offset": -1.0},
      "float_twin": {"file": "mini_xception_fer7_float32.tflite", "sha256": "<hex>"},
      "postprocess": {"mirror": true, "prior": [0.087, 0.01, ...], "tau": 0.3},   (optional: Postprocess)
      ... free-form provenance: "source", "license", "training_data", "metrics", "command"
    }

``preprocess``: crop the detector's box grown by ``crop_margin`` x its size on every side
(clamped to the frame), resize to ``input.size`` with ``interpolation``, then
``x = pixel * scale + offset`` (then quantized with the model's own input scale/zero-point).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ModelError, kind_of, read_user_text

CARD_SCHEMA = 1
INTERPOLATIONS = ("area", "linear", "nearest", "cubic")
#: the largest model input a card may map a pixel to (real cards use [-1, 1], [0, 1] or [0, 255])
MAX_INPUT_VALUE = 1e6


@dataclass
class Preprocess:
    color: str = "gray"
    crop_margin: float = 0.1
    interpolation: str = "area"
    scale: float = 2.0 / 255.0
    offset: float = -1.0


@dataclass
class Postprocess:
    """What the classifier does with the model's answers (card section ``postprocess``; absent: nothing).

    ``mirror``: read each face mirrored on every other frame; the smoother's average then sees both
    views, as test-time mirror averaging would, at one frame's cost. ``prior`` and ``tau``: divide
    the probabilities by ``prior ** tau`` (logit adjustment, Menon et al., ICLR 2021): the classes
    the training votes seldom gave (fear, disgust) stop losing every close call. Chosen on the
    validation split by ``mood-convert adjust``.
    """

    mirror: bool = False
    prior: list[float] | None = None
    tau: float = 0.0

    def weights(self) -> list[float] | None:
        """Per-class factors for the probabilities, or None where nothing is adjusted."""
        if not self.prior or self.tau == 0:
            return None
        return [p ** -self.tau for p in self.prior]


#: ``postprocess.tau``'s range: 1 is the full correction for the prior; past 2 only noise is left
MAX_TAU = 2.0


@dataclass
class ModelCard:
    id: str
    file: str
    sha256: str
    labels: list[str]
    input_size: tuple[int, int]
    preprocess: Preprocess
    input: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] = field(default_factory=dict)
    float_twin: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    postprocess: Postprocess = field(default_factory=Postprocess)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema": CARD_SCHEMA,
            "id": self.id,
            "file": self.file,
            "sha256": self.sha256,
            "labels": list(self.labels),
            "input": {**self.input, "size": list(self.input_size)},
            "output": self.output,
            "preprocess": asdict(self.preprocess),
        }
        if self.float_twin:
            data["float_twin"] = self.float_twin
        if self.postprocess != Postprocess():
            data["postprocess"] = asdict(self.postprocess)
        data.update(self.extra)
        return data

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")


def card_path(model_path: str | Path) -> Path:
    return Path(model_path).with_suffix(".json")


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def _need(data: dict[str, Any], key: str, kind: type | tuple[type, ...], path: Path, expected: str) -> Any:
    if key not in data:
        raise ModelError("missing field", path=path, field=key, expected=expected)
    value = data[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ModelError(f"got {value!r}", path=path, field=key, expected=expected)
    return value


def parse_card(data: Any, path: Path) -> ModelCard:
    if not isinstance(data, dict):
        raise ModelError("is not a JSON object", path=path, expected="a model card object")
    if data.get("schema") != CARD_SCHEMA:
        raise ModelError(f"got {data.get('schema')!r}", path=path, field="schema", expected=str(CARD_SCHEMA))
    labels = _need(data, "labels", list, path, "a list of class names in output order")
    if not labels or not all(isinstance(x, str) and x for x in labels) or len(set(labels)) != len(labels):
        raise ModelError(f"got {labels!r}", path=path, field="labels", expected="distinct non-empty names")
    inp = _need(data, "input", dict, path, 'an object with "size": [H, W]')
    size = inp.get("size")
    if (not isinstance(size, list) or len(size) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and 8 <= v <= 1024 for v in size)):
        raise ModelError(f"got {size!r}", path=path, field="input.size", expected="[H, W], two integers 8..1024")
    pre_raw = _need(data, "preprocess", dict, path, "an object with crop_margin, interpolation, scale, offset")
    pre = Preprocess()
    for key, default in asdict(pre).items():
        value = pre_raw.get(key, default)
        if isinstance(default, float):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise ModelError(f"got {value!r}", path=path, field=f"preprocess.{key}", expected="a finite number")
            value = float(value)
        setattr(pre, key, value)
    # "rgb" only for face detectors (kind "face-detector"); the classifier reads grey
    allowed = ("gray", "rgb") if data.get("kind") == "face-detector" else ("gray",)
    if pre.color not in allowed:
        raise ModelError(f"got {pre.color!r}", path=path, field="preprocess.color",
                         expected=" or ".join(f'"{c}"' for c in allowed))
    if pre.interpolation not in INTERPOLATIONS:
        raise ModelError(f"got {pre.interpolation!r}", path=path, field="preprocess.interpolation",
                         expected=" or ".join(INTERPOLATIONS))
    lo, hi = pre.offset, 255 * pre.scale + pre.offset
    if pre.scale == 0 or max(abs(lo), abs(hi)) > MAX_INPUT_VALUE:
        raise ModelError(f"maps pixels 0..255 to {lo:g}..{hi:g}", path=path, field="preprocess.scale",
                         expected=f"a non-zero scale with pixel * scale + offset within ±{MAX_INPUT_VALUE:g}")
    if not 0 <= pre.crop_margin <= 1:
        raise ModelError(f"got {pre.crop_margin!r}", path=path, field="preprocess.crop_margin",
                         expected="a fraction between 0 and 1")
    sha = _need(data, "sha256", str, path, "the hex sha256 of the model file")
    if not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise ModelError(f"got {sha!r}", path=path, field="sha256", expected="64 lowercase hex digits")
    ident = _need(data, "id", str, path, "a model id")
    if not ident.strip():
        raise ModelError("is empty", path=path, field="id", expected="a model id (it is published with the mood)")
    file = _need(data, "file", str, path, "the model's file name")
    known = {"schema", "id", "file", "sha256", "labels", "input", "output", "preprocess", "float_twin", "postprocess"}
    twin = data.get("float_twin")
    return ModelCard(id=ident, file=file, sha256=sha, labels=list(labels), input_size=(size[0], size[1]),
                     preprocess=pre, input=inp, output=data.get("output") or {},
                     float_twin=twin if isinstance(twin, dict) else None,
                     extra={k: v for k, v in data.items() if k not in known}, path=path,
                     postprocess=parse_postprocess(data.get("postprocess"), len(labels), path))


def parse_postprocess(raw: Any, classes: int, path: Path) -> Postprocess:
    """The card's ``postprocess`` section, checked: a wrong prior would skew every answer silently."""
    if raw is None:
        return Postprocess()
    if not isinstance(raw, dict):
        raise ModelError(f"got {raw!r}", path=path, field="postprocess",
                         expected='an object with "mirror", "prior" and "tau"')
    mirror = raw.get("mirror", False)
    if not isinstance(mirror, bool):
        raise ModelError(f"got {mirror!r}", path=path, field="postprocess.mirror", expected="true or false")
    prior = raw.get("prior")
    if prior is not None and (not isinstance(prior, list) or len(prior) != classes or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and 0 < v <= 1 for v in prior)):
        raise ModelError(f"got {prior!r}", path=path, field="postprocess.prior",
                         expected=f"{classes} class shares, one per label, each above 0 and at most 1")
    tau = raw.get("tau", 0.0)
    if not isinstance(tau, (int, float)) or isinstance(tau, bool) or not 0 <= tau <= MAX_TAU:
        raise ModelError(f"got {tau!r}", path=path, field="postprocess.tau", expected=f"a number from 0 to {MAX_TAU:g}")
    if tau and prior is None:
        raise ModelError("tau without a prior", path=path, field="postprocess.prior",
                         expected="the class shares tau adjusts for")
    return Postprocess(mirror=mirror, prior=[float(v) for v in prior] if prior else None, tau=float(tau))


def load_card(model_path: str | Path, *, verify: bool = True, field: str | None = None) -> ModelCard:
    """Read the card beside ``model_path`` and check the model file against its sha256; ``field``
    is the setting that named the model, for a path the OS refuses."""
    model_path = Path(model_path)
    if kind_of(model_path, ModelError, "a .tflite model (see models/)", field=field) != "file":
        raise ModelError("no such model file", path=model_path, expected="a .tflite model (see models/)")
    cpath = card_path(model_path)
    if kind_of(cpath, ModelError, "a JSON model card written by mood-convert") is None:
        raise ModelError("the model has no card beside it", path=cpath,
                         expected="a JSON model card written by mood-convert")
    # bounded, non-blocking, regular files only: a FIFO or /dev/zero in its place must not hang the daemon
    text = read_user_text(cpath, ModelError, "a JSON model card written by mood-convert")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", path=cpath) from None
    card = parse_card(data, cpath)
    if verify:
        actual = sha256_of(model_path)
        if actual != card.sha256:
            raise ModelError(f"sha256 of {model_path.name} is {actual[:12]}..., the card says {card.sha256[:12]}...",
                             path=cpath, field="sha256",
                             expected="the model the card describes (re-run mood-convert, or restore the file)")
    return card
