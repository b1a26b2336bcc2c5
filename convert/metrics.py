"""Classification metrics in plain numpy (accuracy, macro-F1, per-class P/R, 4-mood accuracy, confusion)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edge.classify.labels import MOOD4, mood4_index


def confusion(truth: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    """Rows: true class, columns: predicted class."""
    m = np.zeros((k, k), dtype=np.int64)
    np.add.at(m, (truth, pred), 1)
    return m


def classification_metrics(truth: np.ndarray, probs: np.ndarray, labels: list[str]) -> dict[str, Any]:
    k = len(labels)
    pred = probs.argmax(1)
    cm = confusion(truth, pred, k)
    tp = np.diag(cm).astype(float)
    support = cm.sum(1).astype(float)
    predicted = cm.sum(0).astype(float)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(k), where=support > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(k), where=(precision + recall) > 0)
    present = support > 0
    m4 = np.array(mood4_index(labels))
    # the daemon's 4-mood decision: sum the probabilities per mood, then take the largest
    folded = np.zeros((len(probs), len(MOOD4)))
    for j, target in enumerate(m4):
        folded[:, target] += probs[:, j]
    pred4 = folded.argmax(1)
    out: dict[str, Any] = {
        "n": int(len(truth)),
        "accuracy": round(float(np.mean(pred == truth)), 4),
        "macro_f1": round(float(f1[present].mean()) if present.any() else 0.0, 4),
        "mood4_accuracy": round(float(np.mean(pred4 == m4[truth])), 4),
        "per_class": {name: {"precision": round(float(precision[i]), 4), "recall": round(float(recall[i]), 4),
                             "f1": round(float(f1[i]), 4), "support": int(support[i])}
                      for i, name in enumerate(labels)},
        "confusion": {"labels": list(labels), "rows_true_columns_predicted": cm.tolist()},
    }
    if len(labels) != len(MOOD4):
        out["mood4_confusion"] = {"labels": list(MOOD4),
                                  "rows_true_columns_predicted": confusion(m4[truth], pred4, 4).tolist()}
    return out


def plot_confusions(results: dict[str, dict[str, Any]], path: Path, title: str) -> None:
    """One normalized confusion matrix per model, side by side, with counts in the cells."""
    import matplotlib  # noqa: PLC0415 - training host only

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, axes = plt.subplots(1, len(results), figsize=(5.2 * len(results), 4.8), squeeze=False)
    for ax, (name, res) in zip(axes[0], results.items()):
        labels = res["confusion"]["labels"]
        cm = np.array(res["confusion"]["rows_true_columns_predicted"], dtype=float)
        norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
        ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
        for i in range(len(labels)):
            for j in range(len(labels)):
                ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=7,
                        color="white" if norm[i, j] > 0.5 else "black")
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{name}: acc {res['accuracy']:.3f}, macro-F1 {res['macro_f1']:.3f}", fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
