"""The evaluation metrics on hand-checked cases (no TensorFlow)."""

from __future__ import annotations

import numpy as np
import pytest

from convert.fidelity import compare
from convert.metrics import classification_metrics
from edge.classify.labels import FER7


def _onehot(idx: list[int], k: int = 7) -> np.ndarray:
    return np.eye(k)[idx]


def test_accuracy_precision_recall_and_macro_f1_match_a_hand_count():
    truth = np.array([3, 3, 3, 4, 4, 6])
    pred = [3, 3, 4, 4, 6, 6]
    m = classification_metrics(truth, _onehot(pred), FER7)
    assert m["accuracy"] == pytest.approx(4 / 6, abs=1e-4)
    assert m["per_class"]["happy"] == {"precision": 1.0, "recall": pytest.approx(0.6667, abs=1e-4),
                                       "f1": pytest.approx(0.8, abs=1e-4), "support": 3}
    assert m["per_class"]["sad"]["precision"] == 0.5 and m["per_class"]["sad"]["recall"] == 0.5
    # macro-F1 over the classes present in the truth: happy 0.8, sad 0.5, neutral 0.6667
    assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3, abs=1e-4)
    assert m["confusion"]["rows_true_columns_predicted"][3][4] == 1


def test_four_mood_accuracy_sums_probabilities_like_the_daemon():
    # true "fear"; the model says happy 0.4, but angry+disgust+fear = 0.6 -> the angry mood: correct
    probs = np.array([[0.2, 0.2, 0.2, 0.4, 0.0, 0.0, 0.0]])
    m = classification_metrics(np.array([2]), probs, FER7)
    assert m["accuracy"] == 0.0 and m["mood4_accuracy"] == 1.0


def test_fidelity_compares_top1_and_probability_gaps():
    pf = np.array([[0.6, 0.4], [0.1, 0.9], [0.5, 0.5]])
    pq = np.array([[0.55, 0.45], [0.2, 0.8], [0.4, 0.6]])
    rep = compare(pf, pq, ["happy", "sad"], truth=np.array([0, 1, 1]))
    assert rep["top1_agreement"] == pytest.approx(2 / 3, abs=1e-4)
    assert rep["max_abs_dprob"] == pytest.approx(0.1) and rep["mean_abs_dprob"] == pytest.approx(0.5 / 6, abs=1e-4)
    assert rep["float_accuracy"] == pytest.approx(2 / 3, abs=1e-4) and rep["int8_accuracy"] == 1.0
