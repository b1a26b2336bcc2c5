"""Expression classification with a (preferably full-integer int8) TFLite model.

One interpreter is created once and reused. Everything about the model is read from the model
itself (input size, dtype, quantization) and from its card (labels, crop margin, resize, scaling),
so a 48x48 or 64x64, int8 or float model drops in without code changes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from ..errors import ModelError
from ..geometry import Box
from .interpreter import ModelIO, load_interpreter
from .labels import FER7, MOOD4, to_mood4
from .modelcard import ModelCard, load_card

log = logging.getLogger(__name__)

_INTERPOLATION = {"area": cv2.INTER_AREA, "linear": cv2.INTER_LINEAR, "nearest": cv2.INTER_NEAREST,
                  "cubic": cv2.INTER_CUBIC}


@dataclass
class FacePrediction:
    #: the face's box as the detector gave it (a :class:`edge.detectors.base.Face`)
    face: Box
    #: label -> probability, in the classifier's label view (fer7 or mood4)
    probabilities: dict[str, float]
    label: str
    confidence: float


class Classifier:
    """Crop, preprocess and classify faces with one long-lived interpreter."""

    def __init__(self, model_path: str | Path, num_threads: int = 2, labels: str = "fer7",
                 card: ModelCard | None = None) -> None:
        self.model_path = Path(model_path)
        self.card = card or load_card(self.model_path, field="model.path")
        self.interpreter = load_interpreter(self.model_path, num_threads)
        self.io = ModelIO(self.interpreter)
        shape = self.io.input_shape
        if len(shape) != 4 or shape[3] != 1:
            raise ModelError(f"input shape {list(shape)}", path=self.model_path,
                             expected="[N, H, W, 1] grayscale input")
        self.input_size = (shape[1], shape[2])
        if tuple(self.card.input_size) != self.input_size:
            raise ModelError(f"card says {list(self.card.input_size)}, model has {list(self.input_size)}",
                             path=self.card.path, field="input.size", expected="the model's own input size")
        n_out = self.io.output_shape[-1]
        if n_out != len(self.card.labels):
            raise ModelError(f"{len(self.card.labels)} labels for {n_out} outputs", path=self.card.path,
                             field="labels", expected="one label per model output")
        self.is_int8 = self.io.is_int8
        pre = self.card.preprocess
        self._interp = _INTERPOLATION[pre.interpolation]
        # the card's scaling and the model's input quantization folded into one lookup table on pixels
        self._lut = self.io.quantize(np.arange(256, dtype=np.float32) * pre.scale + pre.offset)
        self.model_labels = list(self.card.labels)
        if labels == "mood4":
            if not set(FER7) <= set(self.model_labels) and not set(MOOD4) <= set(self.model_labels):
                raise ModelError("the 4-mood view needs a model with the FER-2013 classes",
                                 path=self.card.path, field="labels")
            self.labels = list(MOOD4)
        else:
            self.labels = self.model_labels
        self.view = labels
        post = self.card.postprocess
        weights = post.weights()
        self._adjust = None if weights is None else np.asarray(weights, np.float32)
        self.mirror = post.mirror
        #: frames whose faces :meth:`preprocess` has read; every second one reads them mirrored
        self._frames = 0

    @property
    def model_id(self) -> str:
        return self.card.id

    def crop(self, gray: np.ndarray, face: Box) -> np.ndarray:
        """The face box grown by the card's margin, clamped to the frame."""
        box = face.grown(self.card.preprocess.crop_margin).clipped(gray.shape[1], gray.shape[0])
        return gray[box.y:box.y1, box.x:box.x1]

    def preprocess(self, gray: np.ndarray, faces: Sequence[Box]) -> np.ndarray:
        """A batch (N, H, W, 1) in the model's input dtype; with the card's ``mirror``, every other
        frame's faces mirrored (the smoother then averages both views at one view's cost)."""
        crops = [self.crop(gray, face) for face in faces]
        if self.mirror:
            self._frames += 1
            if self._frames % 2 == 0:
                crops = [cv2.flip(crop, 1) if crop.size else crop for crop in crops]
        return self.preprocess_crops(crops)

    def preprocess_crops(self, crops: list[np.ndarray] | np.ndarray) -> np.ndarray:
        """Grey face crops of any size -> a batch (N, H, W, 1): resized and scaled as the card says.

        The one place pixels become model input: the daemon, the benchmark and ``mood-convert
        evaluate`` (whose FER-2013 images are crops already) all come through here.
        """
        hh, ww = self.input_size
        batch = np.empty((len(crops), hh, ww, 1), dtype=self.io.input_dtype)
        for i, crop in enumerate(crops):
            if crop.size == 0:
                crop = np.zeros((hh, ww), np.uint8)
            if crop.shape[:2] != (hh, ww):
                crop = cv2.resize(crop, (ww, hh), interpolation=self._interp)
            batch[i, :, :, 0] = self._lut[crop]
        return batch

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities (N, classes) in the model's label order."""
        out = np.clip(self.io.run(batch), 0.0, None)
        if self._adjust is not None:  # the card's logit adjustment: p / prior ** tau
            out *= self._adjust
        sums = out.sum(axis=1, keepdims=True)
        np.divide(out, sums, out=out, where=sums > 0)
        return out

    def infer_views(self, batch: np.ndarray) -> np.ndarray:
        """:meth:`infer`, averaged with the mirror images' where the card says ``mirror``: what the
        smoother sees of a face over two frames (evaluation reads a still face this way)."""
        probs = self.infer(batch)
        if self.mirror:
            probs = (probs + self.infer(np.ascontiguousarray(batch[:, :, ::-1]))) / 2
        return probs

    def classify(self, gray: np.ndarray, faces: Sequence[Box]) -> list[FacePrediction]:
        if not faces:
            return []
        return self.predictions(faces, self.infer(self.preprocess(gray, faces)))

    def classify_still(self, gray: np.ndarray, faces: Sequence[Box]) -> list[FacePrediction]:
        """:meth:`classify` for a still picture: both views averaged at once, so a reading does not
        depend on how many frames came before (a benchmark's photos, a test's faces)."""
        if not faces:
            return []
        batch = self.preprocess_crops([self.crop(gray, face) for face in faces])
        return self.predictions(faces, self.infer_views(batch))

    def predictions(self, faces: Sequence[Box], probs: np.ndarray) -> list[FacePrediction]:
        """Pair faces with their rows of :meth:`infer` output, in the configured label view."""
        return [self._prediction(face, p) for face, p in zip(faces, probs)]

    def _prediction(self, face: Box, p: np.ndarray) -> FacePrediction:
        named = {label: float(v) for label, v in zip(self.model_labels, p)}
        if self.view == "mood4" and self.model_labels != MOOD4:
            named = to_mood4(named)
        label = max(named, key=named.__getitem__)
        return FacePrediction(face=face, probabilities=named, label=label, confidence=named[label])
