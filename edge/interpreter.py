"""The TFLite interpreter, found once: LiteRT first, then tflite-runtime (never TensorFlow).

A neutral module so that detectors and the classifier both load models without importing each
other (a detector must not import the classifier).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from .errors import ModelError

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


def load_interpreter(path: str | Path, num_threads: int = 2, input_shape: list[int] | None = None) -> Any:
    """An allocated interpreter for ``path``; a clear :class:`ModelError` if the file is not a model.
    ``input_shape`` resizes the first input first (fully convolutional models such as BlazeFace
    short-range run on a whole frame that way)."""
    path = Path(path)
    if not path.is_file():
        raise ModelError("no such model file", path=path, expected="a .tflite model")
    cls, runtime = _interpreter_class()
    try:
        interpreter = cls(model_path=str(path), num_threads=num_threads)
        if input_shape is not None:
            interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], list(input_shape))
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"not a valid TFLite model ({first})", path=path,
                         expected="a .tflite flatbuffer written by mood-convert") from None
    log.debug("loaded %s with %s (%d threads)", path.name, runtime, num_threads)
    return interpreter


def runtime_name() -> str:
    """Which interpreter package :func:`load_interpreter` uses here (for logs and benchmarks)."""
    return _interpreter_class()[1]
