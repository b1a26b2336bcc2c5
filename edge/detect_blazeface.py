"""BlazeFace: MediaPipe's short-range face detector (128x128) on the LiteRT interpreter.

Only the model file is third-party (``models/face_detection_short_range.tflite``, extracted and
checked by ``mood-convert blazeface``). Anchor generation, box decoding and (weighted) non-maximum
suppression follow MediaPipe's ``face_detection_short_range_common.pbtxt`` but are written here, so
the Pi needs nothing beyond LiteRT and numpy.

The model wants RGB in [-1, 1]; our frames are gray, so the gray plane is replicated to three
channels (skin tone carries little for this detector; it still finds frontal faces). The frame is
letterboxed: scaled to fit 128x128 keeping its aspect ratio, padded with -1 (black), and the mapping
back to frame pixels undoes exactly that scale and offset.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
import cv2
import numpy as np

from .classify import load_interpreter
from .config import DetectorConfig
from .detect import Detector, Face
from .errors import ModelError
from .modelcard import load_card
from .paths import models_dir

log = logging.getLogger(__name__)

MODEL_FILE = "face_detection_short_range.tflite"
INPUT_SIZE = 128
#: MediaPipe short-range: a 16x16 grid (stride 8) with 2 anchors per cell, then three stride-16 layers
#: sharing an 8x8 grid, 2 anchors each -> 6 per cell; 512 + 384 = 896 anchors
STRIDES = (8, 16, 16, 16)
NUM_ANCHORS = 896
SCORE_CLIP = 100.0
NMS_IOU = 0.3
#: two threads: 1.6x faster than one on an idle 2-core x86 (see `mood-edge bench`); the Pi 4 has four
DEFAULT_THREADS = 2


def default_model_path() -> Path:
    return models_dir() / MODEL_FILE


def generate_anchors(input_size: int = INPUT_SIZE, strides: tuple[int, ...] = STRIDES) -> np.ndarray:
    """Anchor centres (x, y) in [0, 1], in the model's output order (MediaPipe's SsdAnchorsCalculator
    with fixed anchor size and interpolated scale aspect ratio 1: two anchors per aspect ratio)."""
    centres: list[tuple[float, float]] = []
    layer = 0
    while layer < len(strides):
        stride = strides[layer]
        repeats = 0
        while layer < len(strides) and strides[layer] == stride:
            repeats += 2
            layer += 1
        cells = input_size // stride
        for y in range(cells):
            for x in range(cells):
                centres.extend([((x + 0.5) / cells, (y + 0.5) / cells)] * repeats)
    return np.asarray(centres, dtype=np.float32)


def decode_boxes(raw: np.ndarray, anchors: np.ndarray, input_size: int = INPUT_SIZE) -> np.ndarray:
    """Regressor rows (dx, dy, w, h, ...) in input pixels -> boxes (xmin, ymin, xmax, ymax) in [0, 1]
    of the model input."""
    cx = raw[:, 0] / input_size + anchors[:, 0]
    cy = raw[:, 1] / input_size + anchors[:, 1]
    half_w = raw[:, 2] / input_size / 2
    half_h = raw[:, 3] / input_size / 2
    return np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=1)


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one (xmin, ymin, xmax, ymax) box with each of ``boxes``."""
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def non_max_suppression(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float = NMS_IOU,
                        weighted: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Greedy NMS, best score first. ``weighted`` (MediaPipe's default for BlazeFace) replaces each
    kept box by the score-weighted mean of the boxes it suppresses, which steadies the box from frame
    to frame; the kept score is the best one of its cluster."""
    order = np.argsort(-scores, kind="stable")
    boxes, scores = boxes[order], scores[order]
    kept_boxes: list[np.ndarray] = []
    kept_scores: list[float] = []
    alive = np.ones(len(scores), dtype=bool)
    for i in range(len(scores)):
        if not alive[i]:
            continue
        overlap = iou(boxes[i], boxes) > iou_threshold
        cluster = alive & overlap
        cluster[i] = True
        if weighted:
            w = scores[cluster]
            kept_boxes.append((boxes[cluster] * w[:, None]).sum(axis=0) / w.sum())
        else:
            kept_boxes.append(boxes[i])
        kept_scores.append(float(scores[i]))
        alive &= ~cluster
    if not kept_boxes:
        return np.zeros((0, 4), np.float32), np.zeros((0,), np.float32)
    return np.asarray(kept_boxes, np.float32), np.asarray(kept_scores, np.float32)


@dataclass(frozen=True)
class Letterbox:
    """How a frame was placed into the square model input: scaled to ``(new_w, new_h)`` and pasted
    at ``(pad_x, pad_y)``. Separate x and y scales keep the inverse exact after rounding."""

    frame_w: int
    frame_h: int
    new_w: int
    new_h: int
    pad_x: int
    pad_y: int
    size: int = INPUT_SIZE

    @classmethod
    def fit(cls, frame_w: int, frame_h: int, size: int = INPUT_SIZE) -> "Letterbox":
        scale = size / max(frame_w, frame_h)
        new_w = min(size, max(1, round(frame_w * scale)))
        new_h = min(size, max(1, round(frame_h * scale)))
        return cls(frame_w, frame_h, new_w, new_h, (size - new_w) // 2, (size - new_h) // 2, size)

    def to_frame(self, boxes: np.ndarray) -> np.ndarray:
        """Boxes in [0, 1] of the model input -> (xmin, ymin, xmax, ymax) in frame pixels."""
        out = np.empty_like(boxes, dtype=np.float64)
        sx = self.frame_w / self.new_w
        sy = self.frame_h / self.new_h
        out[:, [0, 2]] = (boxes[:, [0, 2]] * self.size - self.pad_x) * sx
        out[:, [1, 3]] = (boxes[:, [1, 3]] * self.size - self.pad_y) * sy
        return out


class BlazeFaceDetector(Detector):
    """MediaPipe BlazeFace short-range behind :class:`edge.detect.Detector`.

    Best for faces within about two metres that fill a fair part of the frame (a living-room
    sofa seen from a TV). ``min_confidence`` is the score threshold; ``min_size`` is read, like the
    Haar detector, in pixels of a frame downscaled to ``detect_width``."""

    name = "blazeface"

    def __init__(self, cfg: DetectorConfig | None = None, *, model_path: str | Path | None = None,
                 num_threads: int | None = None, weighted_nms: bool = True) -> None:
        self.cfg = cfg or DetectorConfig()
        if num_threads is None:  # a detector.num_threads config key, when there is one
            num_threads = int(getattr(self.cfg, "num_threads", DEFAULT_THREADS))
        path = Path(model_path) if model_path else default_model_path()
        if not path.is_file():
            raise ModelError("the BlazeFace model is missing", path=path,
                             expected="run `mood-convert blazeface` to extract it into models/")
        self.card = load_card(path)
        self.num_threads = num_threads
        self.weighted_nms = weighted_nms
        self._interp = load_interpreter(path, num_threads)
        inp = self._interp.get_input_details()[0]
        if [int(v) for v in inp["shape"]] != [1, INPUT_SIZE, INPUT_SIZE, 3]:
            raise ModelError(f"input shape is {list(inp['shape'])}", path=path,
                             expected=f"[1, {INPUT_SIZE}, {INPUT_SIZE}, 3] (BlazeFace short range)")
        self._input_index = inp["index"]
        outputs = {d["name"]: d for d in self._interp.get_output_details()}
        try:
            self._reg_index = outputs["regressors"]["index"]
            self._cls_index = outputs["classificators"]["index"]
        except KeyError:
            raise ModelError(f"outputs are {sorted(outputs)}", path=path,
                             expected='"regressors" and "classificators"') from None
        self._anchors = generate_anchors()
        # raw logit threshold: sigmoid(x) >= t  <=>  x >= log(t / (1 - t)); skips 896 sigmoids per frame
        t = min(max(self.cfg.min_confidence, 1e-6), 1 - 1e-6)
        self._logit_threshold = float(np.log(t / (1 - t)))
        self._lut = (np.arange(256, dtype=np.float32) * np.float32(2.0 / 255.0) - np.float32(1.0))
        self._buffer = np.full((1, INPUT_SIZE, INPUT_SIZE, 3), -1.0, dtype=np.float32)
        self._box: Letterbox | None = None

    def _prepare(self, gray: np.ndarray) -> Letterbox:
        h, w = gray.shape[:2]
        box = self._box
        if box is None or box.frame_w != w or box.frame_h != h:
            box = self._box = Letterbox.fit(w, h)
            self._buffer.fill(-1.0)
        shrink = box.new_w < w
        small = cv2.resize(gray, (box.new_w, box.new_h),
                           interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        region = self._buffer[0, box.pad_y:box.pad_y + box.new_h, box.pad_x:box.pad_x + box.new_w]
        region[...] = self._lut[small][..., None]
        return box

    def raw_detections(self, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Boxes (xmin, ymin, xmax, ymax) in frame pixels and their scores, after NMS."""
        if gray.ndim != 2 or gray.dtype != np.uint8 or gray.size == 0:
            raise ValueError(f"expected a non-empty 2-D uint8 frame, got {gray.dtype} {gray.shape}")
        box = self._prepare(gray)
        self._interp.set_tensor(self._input_index, self._buffer)
        self._interp.invoke()
        logits = self._interp.get_tensor(self._cls_index)[0, :, 0]
        keep = np.flatnonzero(logits >= self._logit_threshold)
        if keep.size == 0:
            return np.zeros((0, 4)), np.zeros((0,), np.float32)
        raw = self._interp.get_tensor(self._reg_index)[0, keep]
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits[keep], -SCORE_CLIP, SCORE_CLIP)))
        boxes = decode_boxes(raw, self._anchors[keep])
        boxes, scores = non_max_suppression(boxes, scores.astype(np.float32), NMS_IOU, self.weighted_nms)
        return box.to_frame(boxes), scores

    def detect(self, gray: np.ndarray) -> list[Face]:
        h, w = gray.shape[:2]
        boxes, scores = self.raw_detections(gray)
        min_px = self.cfg.min_size * max(1.0, w / self.cfg.detect_width)
        faces: list[Face] = []
        for (x0, y0, x1, y1), score in zip(boxes, scores):
            x0, y0 = max(0, int(round(x0))), max(0, int(round(y0)))
            x1, y1 = min(w, int(round(x1))), min(h, int(round(y1)))
            if x1 - x0 < min_px or y1 - y0 < min_px:
                continue
            faces.append(Face(x0, y0, x1 - x0, y1 - y0, float(score)))
        faces.sort(key=lambda f: f.area, reverse=True)
        return faces[: self.cfg.max_faces]
