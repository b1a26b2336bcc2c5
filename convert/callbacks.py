"""The callbacks of ``mood-convert train``'s fit: clean BatchNorm statistics before every validation, the
best checkpoint, early stopping, a CSV log, a time budget, and the average of the last epochs' weights
(stochastic weight averaging, Izmailov et al., UAI 2018: weights from along the last stretch of a run sit
around a wide minimum, and their mean often reads unseen faces better than any one epoch; it is kept
only where it beats the best checkpoint on validation)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


# ---- BatchNorm statistics ----------------------------------------------------------------------------

def refresh_batchnorm(model: Any, x: np.ndarray, chunk: int = 256) -> None:
    """Set BN moving statistics to the average batch statistics of ``x`` (clean, unaugmented faces).

    The moving averages follow augmented batches and, after a short run, still remember their initial
    values; inference then runs on statistics the weights never saw.
    """
    import keras  # noqa: PLC0415

    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    saved = [layer.momentum for layer in bns]
    try:
        for i, start in enumerate(range(0, len(x), chunk)):
            for layer in bns:  # running average over chunks: chunk i gets weight 1/(i+1)
                layer.momentum = i / (i + 1)
            model(x[start:start + chunk], training=True)
    finally:
        for layer, m in zip(bns, saved):
            layer.momentum = m


def make_callbacks(model: Any, refresh_x: np.ndarray, out: Path, patience: int,
                   time_limit: float | None = None) -> list[Any]:
    import keras  # noqa: PLC0415

    started = time.monotonic()

    class TimeLimit(keras.callbacks.Callback):
        """A run that must fit a budget (the issue's 150 minutes on 2 cores) ends at an epoch boundary."""

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if time_limit is not None and time.monotonic() - started > time_limit * 60:
                log.warning("time limit of %.0f min reached after epoch %d", time_limit, epoch + 1)
                model.stop_training = True

    class RefreshBatchNorm(keras.callbacks.Callback):
        """Validation (and so the checkpoint choice) sees the statistics of clean faces."""

        def on_test_begin(self, logs: Any = None) -> None:
            refresh_batchnorm(model, refresh_x)

    return [
        RefreshBatchNorm(),
        keras.callbacks.ModelCheckpoint(out / "best.keras", monitor="val_accuracy", mode="max",
                                        save_best_only=True),
        keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=patience,
                                      restore_best_weights=True),
        keras.callbacks.CSVLogger(str(out / "history.csv")),
        TimeLimit(),
    ]


# ---- weight averaging ---------------------------------------------------------------------------------

def weight_averager(first_epoch: int) -> Any:
    """A Keras callback summing the weights at the end of every epoch from ``first_epoch`` (1-based)."""
    import keras  # noqa: PLC0415 - training host only

    class WeightAverage(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.total: list[np.ndarray] | None = None
            self.count = 0

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if epoch + 1 < first_epoch:
                return
            weights = self.model.get_weights()
            self.total = weights if self.total is None else [a + b for a, b in zip(self.total, weights)]
            self.count += 1

        def mean(self) -> list[np.ndarray]:
            return [a / self.count for a in self.total or []]

    return WeightAverage()


def keep_average_if_better(model: Any, averager: Any, val_data: Any, best_accuracy: float,
                           refresh: Callable[[Any], None], path: Path) -> float | None:
    """Swap in the averaged weights (BatchNorm re-measured by ``refresh``) if validation prefers them.

    Returns the average's validation accuracy where it was kept (and saved to ``path``), else None.
    """
    if averager.count < 2:
        return None
    best = model.get_weights()
    model.set_weights(averager.mean())
    refresh(model)
    accuracy = float(model.evaluate(val_data, verbose=0, return_dict=True)["accuracy"])
    log.info("average of the last %d epochs: validation accuracy %.4f (best single epoch %.4f)",
             averager.count, accuracy, best_accuracy)
    print(f"average of the last {averager.count} epochs: validation accuracy {accuracy:.4f} "
          f"(best single epoch {best_accuracy:.4f})")
    if accuracy > best_accuracy:
        model.save(path)
        return accuracy
    model.set_weights(best)
    return None
