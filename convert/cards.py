"""Write a model pair (int8 + float twin) with their JSON cards, labels.txt and MODEL_CARD.md.

The JSON card is what the daemon reads (see ``edge/classify/modelcard.py``); MODEL_CARD.md is rendered from
the same dictionary so the human-readable figures can never drift from the machine-readable ones.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convert.export import ModelPair, TfliteInfo
from convert.provenance import portable
from edge.classify.modelcard import ModelCard, Preprocess, sha256_of

log = logging.getLogger(__name__)


@dataclass
class WrittenModel:
    int8_path: Path
    float_path: Path
    int8_card: ModelCard
    float_card: ModelCard


def _quant(info: TfliteInfo, which: str) -> dict[str, Any]:
    dtype = info.input_dtype if which == "input" else info.output_dtype
    scale, zp = info.input_quant if which == "input" else info.output_quant
    out: dict[str, Any] = {"dtype": dtype}
    if which == "input":
        out["channels"] = int(info.input_shape[-1])
    if dtype == "int8":
        out.update({"scale": scale, "zero_point": zp})
    if which == "output":
        out["activation"] = "softmax"
    return out


def write_model_pair(out_dir: Path, stem: str, pair: ModelPair, labels: list[str], input_size: int,
                     preprocess: Preprocess, extra: dict[str, Any]) -> WrittenModel:
    """``<stem>_int8.tflite`` + ``.json``, ``<stem>_float32.tflite`` + ``.json`` and ``labels.txt``."""
    int8, float32, int8_info, float_info = pair.int8, pair.float32, pair.int8_info, pair.float_info
    extra = portable(extra)  # the card goes to every Pi: file names and hashes, not this machine's folders
    out_dir.mkdir(parents=True, exist_ok=True)
    int8_path, float_path = out_dir / f"{stem}_int8.tflite", out_dir / f"{stem}_float32.tflite"
    int8_path.write_bytes(int8)
    float_path.write_bytes(float32)
    float_sha, int8_sha = sha256_of(float_path), sha256_of(int8_path)
    size = (input_size, input_size)
    float_card = ModelCard(
        id=float_path.stem, file=float_path.name, sha256=float_sha, labels=labels, input_size=size,
        preprocess=preprocess, input=_quant(float_info, "input"), output=_quant(float_info, "output"),
        extra={**extra, "quantized_twin": {"file": int8_path.name, "sha256": int8_sha}})
    int8_card = ModelCard(
        id=int8_path.stem, file=int8_path.name, sha256=int8_sha, labels=labels, input_size=size,
        preprocess=preprocess, input=_quant(int8_info, "input"), output=_quant(int8_info, "output"),
        float_twin={"file": float_path.name, "sha256": float_sha}, extra=extra)
    float_card.save(float_path.with_suffix(".json"))
    int8_card.save(int8_path.with_suffix(".json"))
    (out_dir / "labels.txt").write_text("".join(f"{name}\n" for name in labels), encoding="utf-8")
    log.info("wrote %s (%d bytes) and %s (%d bytes) with their cards", int8_path, len(int8),
             float_path, len(float32))
    return WrittenModel(int8_path, float_path, int8_card, float_card)
