"""Start training from a shipped model: its float32 twin's weights put back into the Keras network.

The shipped models keep no ``.keras`` file, only the int8 model and its float twin, in which the
converter folded every BatchNorm into the convolution before it. :func:`load_float_twin` reads each
convolution's kernel and bias out of the twin and unfolds the BatchNorms again with statistics measured
on real faces, so the Keras model reads faces exactly as the twin does and trains on from there (a
fine-tune, a weight average) instead of from scratch. :func:`teacher_targets` reads training faces
with another model, for targets that blend its readings with the votes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from edge.errors import ModelError

log = logging.getLogger(__name__)

#: TFLite ops whose second input is a layer's kernel and third its (BN-folded) bias
_WEIGHT_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"}


def twin_weights(path: Path) -> dict[str, dict[str, np.ndarray]]:
    """Kernel and bias of every weighted op in a float TFLite model, by the Keras layer it came from.

    The converter names a kernel ``<model>_1/<layer>_1/<op>`` (a depthwise one adds ``/depthwise``); the
    layer's name is read from there, so nothing depends on the order the converter chose.
    """
    from convert.export import interpreter  # noqa: PLC0415

    it = interpreter(path, num_threads=1, delegates=False)  # the model's own ops; a bad file names itself
    names = {t["index"]: t["name"] for t in it.get_tensor_details()}
    found: dict[str, dict[str, np.ndarray]] = {}
    for op in it._get_ops_details():  # noqa: SLF001 - the interpreter's only view of the graph
        if op["op_name"] not in _WEIGHT_OPS:
            continue
        kernel, bias = op["inputs"][1], op["inputs"][2]
        parts = names[kernel].split("/")
        depthwise = parts[-1] == "depthwise"
        if op["op_name"] == "FULLY_CONNECTED":
            layer = parts[-2]
        else:
            layer = parts[-3] if depthwise else parts[-2]
        layer = layer.removesuffix("_1")
        entry = found.setdefault(layer, {})
        entry["depthwise" if depthwise else "kernel"] = it.get_tensor(kernel).copy()
        if not depthwise and bias >= 0:
            entry["bias"] = it.get_tensor(bias).copy()
    if not found:
        raise ModelError(f"{path}: no convolution or dense weights found (expected a float32 twin)")
    return found


def _batchnorm_of(model: Any, layer_name: str) -> Any:
    """The BatchNormalization right after a convolution (stem_convN -> stem_bnN, X -> X_bn)."""
    bn_name = layer_name.replace("stem_conv", "stem_bn") if layer_name.startswith("stem_conv") else f"{layer_name}_bn"
    try:
        return model.get_layer(bn_name)
    except ValueError:
        return None


def load_float_twin(model: Any, path: Path, faces: np.ndarray) -> None:
    """Put a float twin's weights into ``model`` (same architecture), BatchNorms unfolded on ``faces``.

    Each folded convolution ``y = W'x + b'`` becomes ``BN(W'x)`` with the mean ``m`` and variance ``v``
    of ``W'x`` over ``faces``: gamma = sqrt(v + eps), beta = b' + m. Inference is unchanged; training
    mode normalizes batches to the same statistics, so the first step does not jolt the weights.
    """
    import keras  # noqa: PLC0415

    weights = twin_weights(path)
    convs: list[tuple[Any, Any]] = []
    for layer in model.layers:
        w = weights.pop(layer.name, None)
        if w is None:
            if layer.weights and not isinstance(layer, keras.layers.BatchNormalization):
                raise ModelError(f"{path}: has no weights for layer {layer.name!r} (another architecture?)")
            continue
        try:
            if isinstance(layer, keras.layers.SeparableConv2D):
                dw = np.transpose(w["depthwise"], (1, 2, 3, 0))  # (1,kh,kw,C) -> (kh,kw,C,1)
                layer.set_weights([dw, np.transpose(w["kernel"], (1, 2, 3, 0))])
            elif isinstance(layer, keras.layers.Conv2D):
                layer.set_weights([np.transpose(w["kernel"], (1, 2, 3, 0))])
            elif isinstance(layer, keras.layers.Dense):
                layer.set_weights([w["kernel"].T, w["bias"]])
                continue
        except (KeyError, ValueError) as exc:
            raise ModelError(f"{path}: layer {layer.name!r} does not fit this architecture ({exc})") from exc
        bn = _batchnorm_of(model, layer.name)
        if bn is None:
            raise ModelError(f"{path}: layer {layer.name!r} has no BatchNormalization after it")
        one = np.ones_like(w["bias"])
        bn.set_weights([one, w["bias"], np.zeros_like(one), one - bn.epsilon])  # identity + the folded bias
        convs.append((layer, bn))
    if weights:
        raise ModelError(f"{path}: weights for layers this architecture lacks: {sorted(weights)}")
    probe = keras.Model(model.inputs, [layer.output for layer, _ in convs])
    outputs = probe.predict(faces, batch_size=256, verbose=0)
    for (layer, bn), z in zip(convs, outputs):
        m = z.mean(axis=(0, 1, 2))
        v = z.var(axis=(0, 1, 2))
        _, folded_bias, _, _ = bn.get_weights()
        bn.set_weights([np.sqrt(v + bn.epsilon), folded_bias + m, m, v])
    log.info("warm start: %d layers from %s, BatchNorm statistics from %d faces", len(convs) + 1,
             path.name, len(faces))


def teacher_targets(path: Path, faces: np.ndarray, classes: int, mirror: bool = True) -> np.ndarray:
    """A classifier's readings of clean faces, averaged with their mirror images: any TFLite model with
    this input size and ``classes`` outputs (the float twin of ours, or a larger teacher)."""
    from convert.export import predict_tflite  # noqa: PLC0415

    p = predict_tflite(path, faces)  # a missing or broken file: a ModelError naming it
    if p.shape[1] != classes:
        raise ModelError(f"{path}: the teacher has {p.shape[1]} outputs, this run {classes} classes")
    if mirror:
        p = (p + predict_tflite(path, np.ascontiguousarray(faces[:, :, ::-1]))) / 2
    return p.astype(np.float32)
