"""The TFLite interpreter, found once: LiteRT first, then tflite-runtime (never TensorFlow).

A neutral module so that detectors and the classifier both load models without importing each
other (a detector must not import the classifier).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError, kind_of, read_user_bytes
from ..native import announced, without_native_info

log = logging.getLogger(__name__)


def _interpreter_class() -> tuple[Any, str]:
    """LiteRT first, then tflite-runtime; nothing else, so edge/ never loads TensorFlow."""
    try:
        from ai_edge_litert.interpreter import Interpreter  # noqa: PLC0415

        return Interpreter, "ai-edge-litert"
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter  # noqa: PLC0415

        return Interpreter, "tflite-runtime"
    except ImportError:
        pass
    # never TensorFlow: edge/ stays small (a training host installs ai-edge-litert like the Pi)
    raise ModelError("no TFLite interpreter is installed",
                     expected="`pip install ai-edge-litert` (or tflite-runtime on Python <= 3.11)")


#: a model file's bytes, read once and shared by every interpreter made from it (a detector keeps
#: several, one per input size): with ``model_path`` each interpreter kept the file open, one more
#: descriptor per size. At most MODEL_CACHE_BYTES in all (the shipped models: 1.7 MB); the oldest
#: go first, and an interpreter keeps its own reference to the bytes it was made from.
_MODELS: dict[tuple[str, int, int], bytes] = {}
MODEL_CACHE_BYTES = 64 * 1024 * 1024


def _model_bytes(path: Path) -> bytes:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _MODELS:
        data = read_user_bytes(path, ModelError, "a .tflite model", max_bytes=MODEL_CACHE_BYTES)
        while _MODELS and sum(map(len, _MODELS.values())) + len(data) > MODEL_CACHE_BYTES:
            _MODELS.pop(next(iter(_MODELS)))
        _MODELS[key] = data
    return _MODELS[key]


def load_interpreter(path: str | Path, num_threads: int = 2, input_shape: list[int] | None = None) -> Any:
    """An allocated interpreter for ``path``; a clear :class:`ModelError` if the file is not a model.
    ``input_shape`` resizes the first input first (fully convolutional models such as BlazeFace
    short-range run on a whole frame that way)."""
    path = Path(path)
    if kind_of(path, ModelError, "a .tflite model") != "file":
        raise ModelError("no such model file", path=path, expected="a .tflite model")
    cls, runtime = _interpreter_class()
    content = _model_bytes(path)
    try:
        with without_native_info():
            interpreter = cls(model_content=content, num_threads=num_threads)
            if input_shape is not None:
                interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], list(input_shape))
            interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"not a valid TFLite model ({first})", path=path,
                         expected="a .tflite flatbuffer written by mood-convert") from None
    log.debug("loaded %s with %s (%d threads%s)", path.name, runtime, num_threads,
              ", XNNPACK delegate" if announced["xnnpack"] else "")
    return interpreter


def runtime_name() -> str:
    """Which interpreter package :func:`load_interpreter` uses here (for logs and benchmarks)."""
    return _interpreter_class()[1]


class ModelIO:
    """A model's first input and output with their quantization: the one place values are quantized
    into a model and dequantized out of it (the classifier and the training host's checks share it)."""

    def __init__(self, interpreter: Any) -> None:
        self.interpreter = interpreter
        inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
        self.input_shape = tuple(int(v) for v in inp["shape"])
        self.output_shape = tuple(int(v) for v in out["shape"])
        self.input_dtype, self.output_dtype = np.dtype(inp["dtype"]), np.dtype(out["dtype"])
        self.input_scale, self.input_zero = float(inp["quantization"][0]), int(inp["quantization"][1])
        self.output_scale, self.output_zero = float(out["quantization"][0]), int(out["quantization"][1])
        self._in_index, self._out_index = inp["index"], out["index"]

    @property
    def is_int8(self) -> bool:
        return self.input_dtype == np.int8

    def quantize(self, values: np.ndarray) -> np.ndarray:
        """Float input values -> the model's input dtype (int8: rounded, clipped to its range)."""
        values = np.asarray(values, dtype=np.float32)
        if self.input_dtype.kind in "iu":
            info = np.iinfo(self.input_dtype)
            return np.clip(np.round(values / self.input_scale + self.input_zero), info.min, info.max) \
                .astype(self.input_dtype)
        return values.astype(self.input_dtype)

    def run(self, batch: np.ndarray) -> np.ndarray:
        """A batch (N, ...) in the input dtype, one invoke per row -> outputs (N, classes), dequantized."""
        rows = []
        for i in range(len(batch)):
            self.interpreter.set_tensor(self._in_index, batch[i: i + 1])
            self.interpreter.invoke()
            raw = self.interpreter.get_tensor(self._out_index)[0]
            if self.output_dtype.kind in "iu":
                rows.append((raw.astype(np.float32) - self.output_zero) * self.output_scale)
            else:
                rows.append(raw.astype(np.float32))
        return np.stack(rows) if rows else np.empty((0, self.output_shape[-1]), np.float32)
