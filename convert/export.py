"""Keras model -> TFLite (float32 twin and full-integer int8), and a look inside a .tflite.

Full integer means: int8 weights and activations, int8 input and output tensors, builtin ops only
(``TFLITE_BUILTINS_INT8``), so the Pi runs it on LiteRT's int8 kernels (XNNPACK) with no float
fallback and no Flex/TensorFlow ops. The converter is deterministic for a given model, representative
set and CPU family; across CPUs (AVX2, AVX-512, NEON) its float rounding can move a weight by one int8
step, so :func:`model_differences` compares two conversions step by step rather than byte by byte.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from edge.errors import ModelError

log = logging.getLogger(__name__)

#: tensor types that may appear in a full-integer model (int32 = biases and shapes)
INTEGER_TYPES = {"int8", "int32"}


def quiet_tensorflow() -> None:
    """Keep TensorFlow's C++ start-up chatter out of the user's terminal (call before importing it)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _converter(model: Any) -> Any:
    quiet_tensorflow()
    import tensorflow as tf  # noqa: PLC0415 - training host only

    return tf.lite.TFLiteConverter.from_keras_model(model)


def _convert(conv: Any) -> bytes:
    # Keras prints the whole temporary SavedModel signature to stdout; keep it in the debug log
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        data = conv.convert()
    log.debug("converter said: %s", buf.getvalue()[:2000])
    return bytes(data)


def to_float_tflite(model: Any) -> bytes:
    """The float32 twin: same weights, no quantization (the reference for fidelity and benchmarks)."""
    return _convert(_converter(model))


def to_int8_tflite(model: Any, representative: np.ndarray, batch: int = 1) -> bytes:
    """Full-integer int8, calibrated on ``representative`` (float32, N x H x W x 1, already scaled)."""
    import tensorflow as tf  # noqa: PLC0415

    if representative.ndim != 4 or len(representative) == 0:
        raise ModelError(f"representative data has shape {representative.shape}",
                         expected="N x H x W x 1 float images, N > 0")
    data = representative.astype(np.float32)

    def gen() -> Iterator[list[np.ndarray]]:
        for i in range(0, len(data), batch):
            yield [data[i:i + batch]]

    conv = _converter(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = gen
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return _convert(conv)


@dataclass
class TfliteInfo:
    """What a .tflite file holds, as the interpreter sees it."""

    input_dtype: str
    input_shape: list[int]
    input_quant: tuple[float, int]
    output_dtype: str
    output_shape: list[int]
    output_quant: tuple[float, int]
    ops: list[str]
    tensor_types: set[str] = field(default_factory=set)
    size: int = 0

    @property
    def full_integer(self) -> bool:
        """int8 in, int8 out, and only integer tensors inside (no float fallback)."""
        return (self.input_dtype == "int8" and self.output_dtype == "int8"
                and self.tensor_types <= INTEGER_TYPES and self.builtin_only)

    @property
    def builtin_only(self) -> bool:
        """No custom, Flex (TensorFlow) or delegate ops: plain LiteRT builtins."""
        return all(op.isupper() and op not in ("CUSTOM", "DELEGATE") and not op.startswith("FLEX")
                   for op in self.ops)


@dataclass
class ModelPair:
    """One Keras model converted twice: the full-integer int8 model the Pi runs and its float twin."""

    int8: bytes
    float32: bytes
    int8_info: TfliteInfo
    float_info: TfliteInfo


def to_tflite_pair(model: Any, representative: np.ndarray) -> ModelPair:
    """The int8 model (calibrated on ``representative``) and its float twin; refuses a model the
    converter could not make full-integer (a float op left in would run slowly or not at all)."""
    float32, int8 = to_float_tflite(model), to_int8_tflite(model, representative)
    pair = ModelPair(int8, float32, inspect_tflite(int8), inspect_tflite(float32))
    if not pair.int8_info.full_integer:
        raise ModelError(f"the converter left non-integer parts: ops {pair.int8_info.ops}, tensors "
                         f"{sorted(pair.int8_info.tensor_types)}", expected="a full-integer int8 model")
    return pair


def interpreter(model: bytes | str | Path, num_threads: int = 2, *, delegates: bool = True) -> Any:
    """A LiteRT interpreter (the runtime the Pi uses), tensors allocated.

    ``delegates=False`` keeps XNNPACK out, so the op list shows the model's own builtin ops.
    """
    from ai_edge_litert.interpreter import Interpreter, OpResolverType  # noqa: PLC0415

    resolver = OpResolverType.AUTO if delegates else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    try:
        if isinstance(model, (str, Path)):
            interp = Interpreter(model_path=str(model), num_threads=num_threads,
                                 experimental_op_resolver_type=resolver)
        else:
            interp = Interpreter(model_content=model, num_threads=num_threads,
                                 experimental_op_resolver_type=resolver)
        interp.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"LiteRT cannot load it: {exc}", path=str(model) if not isinstance(model, bytes) else None,
                         expected="a .tflite flatbuffer") from None
    return interp


def inspect_tflite(model: bytes | str | Path) -> TfliteInfo:
    interp = interpreter(model, delegates=False)
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    ops = [d["op_name"] for d in interp._get_ops_details()]  # noqa: SLF001 - the only op listing LiteRT has
    types = set()
    for d in interp.get_tensor_details():
        if d["name"] or d["shape"].size:
            types.add(np.dtype(d["dtype"]).name)
    size = Path(model).stat().st_size if isinstance(model, (str, Path)) else len(model)
    return TfliteInfo(
        input_dtype=np.dtype(inp["dtype"]).name, input_shape=[int(v) for v in inp["shape"]],
        input_quant=(float(inp["quantization"][0]), int(inp["quantization"][1])),
        output_dtype=np.dtype(out["dtype"]).name, output_shape=[int(v) for v in out["shape"]],
        output_quant=(float(out["quantization"][0]), int(out["quantization"][1])),
        ops=sorted(set(ops)), tensor_types=types, size=size)


def predict_tflite(model: bytes | str | Path, x: np.ndarray, num_threads: int = 2) -> np.ndarray:
    """Probabilities (N x classes, float) for float inputs ``x`` (N x H x W x 1, already scaled),
    quantized in and dequantized out by the daemon's own :class:`edge.classify.interpreter.ModelIO`."""
    from edge.classify.interpreter import ModelIO  # noqa: PLC0415

    io = ModelIO(interpreter(model, num_threads))
    x = np.asarray(x, dtype=np.float32)
    if x.shape[1:] != io.input_shape[1:]:
        raise ModelError(f"input has shape {[1, *x.shape[1:]]}, the model wants {list(io.input_shape)}")
    return io.run(io.quantize(x))


@dataclass
class TensorInfo:
    """One tensor of a .tflite model, with its quantization and (for constants) its values."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    scales: np.ndarray
    zero_points: np.ndarray
    axis: int
    values: np.ndarray | None

    def step(self) -> np.ndarray:
        """One quantization step, broadcastable over :attr:`values` (0 for float tensors)."""
        return self._per_channel(self.scales) if self.scales.size else np.zeros(1)

    def dequantized(self) -> np.ndarray | None:
        if self.values is None or self.scales.size == 0:
            return self.values
        return (self.values.astype(np.float64) - self._per_channel(self.zero_points)) * self.step()

    def _per_channel(self, params: np.ndarray) -> np.ndarray:
        """Quantization parameters shaped to broadcast along :attr:`axis` (or as one scalar)."""
        ndim = self.values.ndim if self.values is not None else len(self.shape)
        shape = [1] * ndim
        if params.size > 1:
            shape[self.axis] = -1
        return params.reshape(shape)


def tensors(model: bytes | str | Path) -> dict[str, TensorInfo]:
    """Every named tensor of ``model``: shape, type, quantization, and the values of constants."""
    interp = interpreter(model, delegates=False)
    ops = interp._get_ops_details()  # noqa: SLF001 - the only op listing LiteRT has
    computed = {int(i) for op in ops for i in op["outputs"]} | {int(d["index"]) for d in interp.get_input_details()}
    constants = {int(i) for op in ops for i in op["inputs"] if int(i) >= 0} - computed
    table: dict[str, TensorInfo] = {}
    for d in interp.get_tensor_details():  # op scratch tensors (e.g. Conv_hwcn_weights) are neither
        if d["index"] not in computed | constants:
            continue
        q = d.get("quantization_parameters") or {}
        values = np.array(interp.get_tensor(d["index"])) if d["index"] in constants else None
        table[d["name"]] = TensorInfo(
            name=d["name"], shape=tuple(int(v) for v in d["shape"]), dtype=np.dtype(d["dtype"]).name,
            scales=np.asarray(q.get("scales", []), dtype=np.float64),
            zero_points=np.asarray(q.get("zero_points", []), dtype=np.int64),
            axis=int(q.get("quantized_dimension", 0)), values=values)
    return table


def model_differences(a: bytes | str | Path, b: bytes | str | Path, *, steps: float = 1.0) -> list[str]:
    """Where two conversions of the same network differ by more than ``steps`` quantization steps.

    TensorFlow's converter rounds through float code whose SIMD path (AVX2, AVX-512, NEON) depends on the
    CPU, so the same weights can land one int8 step apart on another machine: equal within one step is
    the same model. Compared: op list, tensor names, shapes and types, quantization parameters (within
    ``steps`` of each other, relative to the scale), and constant values (dequantized, within ``steps``
    steps; float constants to 1e-6 relative).
    """
    ia, ib = inspect_tflite(a), inspect_tflite(b)
    diffs: list[str] = []
    if ia.ops != ib.ops:
        diffs.append(f"ops {ia.ops} != {ib.ops}")
    ta, tb = tensors(a), tensors(b)
    if set(ta) != set(tb):
        diffs.append(f"tensors only in one model: {sorted(set(ta) ^ set(tb))[:5]}")
    for name in sorted(set(ta) & set(tb)):
        x, y = ta[name], tb[name]
        if (x.shape, x.dtype) != (y.shape, y.dtype):
            diffs.append(f"{name}: {x.dtype}{list(x.shape)} != {y.dtype}{list(y.shape)}")
            continue
        if x.scales.shape != y.scales.shape or x.zero_points.shape != y.zero_points.shape:
            diffs.append(f"{name}: quantized over {x.scales.size} vs {y.scales.size} channel(s)")
            continue
        if x.zero_points.size and np.abs(x.zero_points - y.zero_points).max() > steps:
            diffs.append(f"{name}: quantization zero points {x.zero_points[:4]} != {y.zero_points[:4]}")
            continue
        if x.scales.size and not np.allclose(x.scales, y.scales, rtol=1e-3 * max(steps, 1), atol=0):
            diffs.append(f"{name}: quantization scales differ (max ratio "
                         f"{float(np.max(np.maximum(x.scales, y.scales) / np.minimum(x.scales, y.scales))):.6f})")
        if (x.values is None) != (y.values is None):
            diffs.append(f"{name}: a constant in one model only")
        elif x.values is not None and y.values is not None:
            dx, dy = x.dequantized(), y.dequantized()
            if x.scales.size:
                tol = steps * np.maximum(x.step(), y.step()) * 1.001
                bad = np.abs(dx - dy) > tol
            else:
                bad = ~np.isclose(dx, dy, rtol=1e-6, atol=1e-7)
            if bad.any():
                diffs.append(f"{name}: {int(bad.sum())} of {bad.size} values differ by more than {steps:g} step(s)")
    return diffs
