"""Keras model -> TFLite (float32 twin and full-integer int8), and a look inside a .tflite.

Full integer means: int8 weights and activations, int8 input and output tensors, builtin ops only
(``TFLITE_BUILTINS_INT8``), so the Pi runs it on LiteRT's int8 kernels (XNNPACK) with no float
fallback and no Flex/TensorFlow ops. The converter is deterministic for a given model and
representative set, which makes ``import-fer`` reproducible bit for bit.
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
    """Probabilities (N x classes, float) for float inputs ``x`` (N x H x W x 1, already scaled).

    For an int8 model the input is quantized with the model's own scale/zero-point and the output
    dequantized, exactly as the daemon does.
    """
    interp = interpreter(model, num_threads)
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    dtype = np.dtype(inp["dtype"])
    in_scale, in_zp = inp["quantization"]
    out_scale, out_zp = out["quantization"]
    shape = list(inp["shape"])
    results = []
    for row in np.asarray(x, dtype=np.float32):
        sample = row[None]
        if dtype == np.int8:
            sample = np.clip(np.round(sample / in_scale) + in_zp, -128, 127).astype(np.int8)
        if list(sample.shape) != shape:
            raise ModelError(f"input has shape {list(sample.shape)}, the model wants {shape}")
        interp.set_tensor(inp["index"], sample)
        interp.invoke()
        y = interp.get_tensor(out["index"])[0]
        if np.dtype(out["dtype"]) == np.int8:
            y = (y.astype(np.float32) - out_zp) * out_scale
        results.append(y.astype(np.float32))
    return np.stack(results)
