"""How far the int8 model strays from its float twin (and, where labels exist, from the truth)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from convert.export import ModelPair, predict_tflite
from edge.classify.labels import FER7, mood4_index

log = logging.getLogger(__name__)

TARGET_AGREEMENT = 0.98


def compare(p_float: np.ndarray, p_int8: np.ndarray, labels: list[str],
            truth: np.ndarray | None = None) -> dict[str, Any]:
    """Top-1 agreement, mean/max |Δp| (and 4-mood agreement, accuracies when ``truth`` is given)."""
    diff = np.abs(p_float - p_int8)
    out: dict[str, Any] = {
        "n": int(len(p_float)),
        "top1_agreement": round(float(np.mean(p_float.argmax(1) == p_int8.argmax(1))), 4),
        "mean_abs_dprob": round(float(diff.mean()), 5),
        "max_abs_dprob": round(float(diff.max()), 5),
    }
    if all(name in FER7 for name in labels) and len(labels) > 4:
        idx = np.array(mood4_index(labels))
        f4, q4 = _fold(p_float, idx), _fold(p_int8, idx)
        out["mood4_agreement"] = round(float(np.mean(f4.argmax(1) == q4.argmax(1))), 4)
    if truth is not None:
        out["float_accuracy"] = round(float(np.mean(p_float.argmax(1) == truth)), 4)
        out["int8_accuracy"] = round(float(np.mean(p_int8.argmax(1) == truth)), 4)
    return out


def _fold(p: np.ndarray, idx: np.ndarray) -> np.ndarray:
    out = np.zeros((len(p), int(idx.max()) + 1), dtype=np.float64)
    for j, target in enumerate(idx):
        out[:, target] += p[:, j]
    return out


def fidelity_report(float_model: bytes | str | Path, int8_model: bytes | str | Path,
                    sets: dict[str, np.ndarray], labels: list[str],
                    truth: dict[str, np.ndarray] | None = None, *, grey_level: float = 0.0,
                    seed: int = 0) -> dict[str, Any]:
    """Run both .tflite models on every named set of (already scaled) inputs and compare them.

    With ``grey_level`` (one pixel step in input units, i.e. the card's ``preprocess.scale``) it also
    reports the float model against *itself* on inputs with invisible uniform noise of +-0.5 and +-1
    grey level: the agreement any faithful int8 model can hope for on these crops (near ties flip).
    """
    report = {}
    rng = np.random.default_rng(seed)
    for name, x in sets.items():
        pf = predict_tflite(float_model, x)
        pq = predict_tflite(int8_model, x)
        rep = compare(pf, pq, labels, None if truth is None else truth.get(name))
        top2 = np.sort(pf, axis=1)[:, -2:]
        sure = (top2[:, 1] - top2[:, 0]) >= 0.1
        if sure.any():
            rep["top1_agreement_where_float_margin_ge_0.1"] = round(float(np.mean(
                pf[sure].argmax(1) == pq[sure].argmax(1))), 4)
            rep["share_with_float_margin_ge_0.1"] = round(float(sure.mean()), 4)
        if grey_level:
            for amp in (0.5, 1.0):
                noisy = x + rng.uniform(-amp * grey_level, amp * grey_level, x.shape).astype(np.float32)
                pn = predict_tflite(float_model, noisy)
                rep[f"float_vs_float_with_noise_pm{amp:g}_grey"] = round(float(np.mean(
                    pf.argmax(1) == pn.argmax(1))), 4)
        report[name] = rep
    return report


def measure_fidelity(pair: ModelPair, sets: dict[str, np.ndarray], labels: list[str],
                     truth: dict[str, np.ndarray] | None = None, *, grey_level: float = 0.0) -> dict[str, Any]:
    """:func:`fidelity_report` of a freshly converted pair, logged, with a warning below the target."""
    report = fidelity_report(pair.float32, pair.int8, sets, labels, truth, grey_level=grey_level)
    for name, rep in report.items():
        log.info("fidelity on %s (%d images): top-1 agreement %.2f%%, mean |dp| %.4f, max |dp| %.3f", name,
                 rep["n"], 100 * rep["top1_agreement"], rep["mean_abs_dprob"], rep["max_abs_dprob"])
    overall = report.get("all") or next(iter(report.values()), None)
    if overall and overall["top1_agreement"] < TARGET_AGREEMENT:
        log.warning("top-1 agreement %.2f%% is below the %.0f%% target", 100 * overall["top1_agreement"],
                    100 * TARGET_AGREEMENT)
    return report
