"""BlazeFace short-range (MediaPipe, 128x128) on the LiteRT interpreter, plus the shared machinery
of every BlazeFace plug-in: anchors, box decoding, (weighted) non-maximum suppression, letterbox.

Only the model files are third-party (``models/face_detection_*.tflite``, extracted and checked by
``mood-convert blazeface``). Anchor generation, decoding and NMS follow MediaPipe's
``face_detection_*_common.pbtxt`` but are written here, so the Pi needs nothing beyond LiteRT and numpy.

The models want **RGB** in [-1, 1]. A colour frame (BGR, as sources deliver it) is converted after it
has been shrunk to the model input, so colour costs almost nothing; a grey frame is replicated to three
channels, which works for large frontal faces but loses most small ones (measured: 2% vs 76% of
80 px faces in 640x480 scenes). The frame is letterboxed: scaled to fit the input keeping its aspect
ratio, padded with -1 (black); the mapping back to frame pixels undoes exactly that.

This plug-in sees the whole frame in 128x128: best for faces within ~1.5 m. For a sofa, see
``blazeface_scan`` (the same model run over the whole frame at a useful scale).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np

from ..classify.interpreter import load_interpreter
from ..classify.modelcard import load_card
from ..errors import ModelError, kind_of
from ..fields import PATH_EXPECTED, path_ok
from ..paths import models_dir
from ..track import Tracking
from .base import Detector, Face, check_frame
from .config import DetectorConfig

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


def default_model_path(file: str = MODEL_FILE) -> Path:
    return models_dir() / file


def generate_anchors(input_size: int | tuple[int, int] = INPUT_SIZE, strides: tuple[int, ...] = STRIDES,
                     per_layer: int = 2) -> np.ndarray:
    """Anchor centres (x, y) in [0, 1], in the model's output order (MediaPipe's SsdAnchorsCalculator
    with fixed anchor size; ``per_layer`` anchors per layer and cell: 2 for short range, 1 for full
    range). ``input_size`` is (width, height) for a non-square input."""
    in_w, in_h = (input_size, input_size) if isinstance(input_size, int) else input_size
    centres: list[np.ndarray] = []
    layer = 0
    while layer < len(strides):
        stride = strides[layer]
        repeats = 0
        while layer < len(strides) and strides[layer] == stride:
            repeats += per_layer
            layer += 1
        cols, rows = -(-in_w // stride), -(-in_h // stride)
        ys, xs = np.meshgrid((np.arange(rows) + 0.5) / rows, (np.arange(cols) + 0.5) / cols, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(grid, repeats, axis=0))
    return np.concatenate(centres).astype(np.float32)


def decode_boxes(raw: np.ndarray, anchors: np.ndarray, input_size: int | tuple[int, int] = INPUT_SIZE) -> np.ndarray:
    """Regressor rows (dx, dy, w, h, ...) in input pixels -> boxes (xmin, ymin, xmax, ymax) in [0, 1]
    of the model input."""
    in_w, in_h = (input_size, input_size) if isinstance(input_size, int) else input_size
    cx = raw[:, 0] / in_w + anchors[:, 0]
    cy = raw[:, 1] / in_h + anchors[:, 1]
    half_w = raw[:, 2] / in_w / 2
    half_h = raw[:, 3] / in_h / 2
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
    """How a frame was placed into the model input (``size`` x ``size_h``): scaled to
    ``(new_w, new_h)`` and pasted at ``(pad_x, pad_y)``. Separate x and y scales keep the inverse
    exact after rounding.

    A transform (a scale and a pad between two pictures), not a :class:`edge.geometry.Box`: it maps
    whole arrays of model-input boxes to frame pixels at once."""

    frame_w: int
    frame_h: int
    new_w: int
    new_h: int
    pad_x: int
    pad_y: int
    size: int = INPUT_SIZE
    size_h: int = 0

    @property
    def in_h(self) -> int:
        return self.size_h or self.size

    @classmethod
    def fit(cls, frame_w: int, frame_h: int, size: int = INPUT_SIZE, size_h: int = 0) -> "Letterbox":
        in_h = size_h or size
        scale = min(size / frame_w, in_h / frame_h)
        new_w = min(size, max(1, round(frame_w * scale)))
        new_h = min(in_h, max(1, round(frame_h * scale)))
        return cls(frame_w, frame_h, new_w, new_h, (size - new_w) // 2, (in_h - new_h) // 2, size, size_h)

    @classmethod
    def place(cls, frame_w: int, frame_h: int, size: int, size_h: int) -> "Letterbox":
        """The frame pasted at the top left as it is (a tile of a picture already scaled)."""
        return cls(frame_w, frame_h, frame_w, frame_h, 0, 0, size, size_h)

    def to_frame(self, boxes: np.ndarray) -> np.ndarray:
        """Boxes in [0, 1] of the model input -> (xmin, ymin, xmax, ymax) in frame pixels."""
        out = np.empty_like(boxes, dtype=np.float64)
        sx = self.frame_w / self.new_w
        sy = self.frame_h / self.new_h
        out[:, [0, 2]] = (boxes[:, [0, 2]] * self.size - self.pad_x) * sx
        out[:, [1, 3]] = (boxes[:, [1, 3]] * self.in_h - self.pad_y) * sy
        return out


_SCALE = np.float32(2.0 / 255.0)
_LUT = np.arange(256, dtype=np.float32) * _SCALE - np.float32(1.0)


class BlazeFaceNet:
    """One BlazeFace model on one interpreter with a fixed input (width x height): letterbox a frame
    into it in colour, run it, decode and suppress. The plug-ins choose the model and the input."""

    def __init__(self, path: Path, *, input_wh: tuple[int, int] | None, strides: tuple[int, ...],
                 per_layer: int, native: int, num_threads: int, min_confidence: float,
                 weighted_nms: bool = True, expect: str = "BlazeFace") -> None:
        if kind_of(path, ModelError, f"the {expect} model", field="[detector.<kind>].model") != "file":
            raise ModelError(f"the {expect} model is missing", path=path,
                             expected="run `mood-convert blazeface` to extract it into models/")
        self.card = load_card(path)
        self.path = path
        self.native = native
        in_w, in_h = input_wh or (native, native)
        shape = None if (in_w, in_h) == (native, native) else [1, in_h, in_w, 3]
        self._interp = load_interpreter(path, num_threads, input_shape=shape)
        inp = self._interp.get_input_details()[0]
        if [int(v) for v in inp["shape"]] != [1, in_h, in_w, 3]:
            raise ModelError(f"input shape is {list(inp['shape'])}", path=path,
                             expected=f"[1, {in_h}, {in_w}, 3] ({expect})")
        self.in_w, self.in_h = in_w, in_h
        self._input_index = inp["index"]
        outputs = self._interp.get_output_details()
        by_width = {int(d["shape"][-1]): d["index"] for d in outputs}
        if len(outputs) != 2 or set(by_width) != {16, 1}:
            raise ModelError(f"outputs are {[list(d['shape']) for d in outputs]}", path=path,
                             expected="regressors [1, N, 16] and classificators [1, N, 1]")
        self._reg_index, self._cls_index = by_width[16], by_width[1]
        self._anchors = generate_anchors((in_w, in_h), strides, per_layer)
        n = int(outputs[0]["shape"][1])
        if len(self._anchors) != n:
            raise ModelError(f"{n} outputs for {len(self._anchors)} anchors", path=path, expected=expect)
        t = min(max(min_confidence, 1e-6), 1 - 1e-6)
        # raw logit threshold: sigmoid(x) >= t  <=>  x >= log(t / (1 - t)); skips a sigmoid per anchor
        self._logit_threshold = float(np.log(t / (1 - t)))
        self.weighted_nms = weighted_nms
        self._buffer = np.full((1, in_h, in_w, 3), -1.0, dtype=np.float32)
        self._box: Letterbox | None = None
        self._fit = True
        self._warned_gray = False

    def _prepare(self, image: np.ndarray, fit: bool) -> Letterbox:
        h, w = image.shape[:2]
        box = self._box
        if box is None or (box.frame_w, box.frame_h, self._fit) != (w, h, fit):
            if not fit and (w > self.in_w or h > self.in_h):
                raise ValueError(f"a {w}x{h} tile does not fit the {self.in_w}x{self.in_h} input")
            box = self._box = (Letterbox.fit(w, h, self.in_w, self.in_h) if fit
                               else Letterbox.place(w, h, self.in_w, self.in_h))
            self._fit = fit
            self._buffer.fill(-1.0)
        small = image if (box.new_w, box.new_h) == (w, h) else cv2.resize(
            image, (box.new_w, box.new_h), interpolation=cv2.INTER_AREA if box.new_w < w else cv2.INTER_LINEAR)
        region = self._buffer[0, box.pad_y:box.pad_y + box.new_h, box.pad_x:box.pad_x + box.new_w]
        if small.ndim == 2:
            if not self._warned_gray:
                log.debug("BlazeFace is fed grey frames: small faces will be missed (it wants colour)")
                self._warned_gray = True
            region[...] = _LUT[small][..., None]
        else:
            # RGB in [-1, 1] with _LUT's float32 arithmetic, in vector passes: measured on the emulated
            # Cortex-A72, 1.9 M instructions a 464x368 tile against 13.0 M for the table lookup
            rgb = cv2.cvtColor(small, cv2.COLOR_BGRA2RGB if small.shape[2] == 4 else cv2.COLOR_BGR2RGB)
            np.multiply(rgb, _SCALE, out=region, dtype=np.float32)
            region -= np.float32(1.0)
        return box

    def run(self, image: np.ndarray, fit: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Boxes (xmin, ymin, xmax, ymax) in frame pixels and their scores, after NMS. ``fit``:
        letterbox the frame into the input; else paste it as it is (a tile no larger than the input)."""
        check_frame(image)
        box = self._prepare(image, fit)
        self._interp.set_tensor(self._input_index, self._buffer)
        self._interp.invoke()
        logits = self._interp.get_tensor(self._cls_index)[0, :, 0]
        keep = np.flatnonzero(logits >= self._logit_threshold)
        if keep.size == 0:
            return np.zeros((0, 4)), np.zeros((0,), np.float32)
        raw = self._interp.get_tensor(self._reg_index)[0, keep]
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits[keep], -SCORE_CLIP, SCORE_CLIP)))
        boxes = decode_boxes(raw, self._anchors[keep], (self.in_w, self.in_h))
        boxes, scores = non_max_suppression(boxes, scores.astype(np.float32), NMS_IOU, self.weighted_nms)
        return box.to_frame(boxes), scores


def to_faces(boxes: np.ndarray, scores: np.ndarray, w: int, h: int, min_px: float, max_faces: int) -> list[Face]:
    """Boxes (xmin, ymin, xmax, ymax) in frame pixels -> faces clamped to the w x h frame, the
    empty ones and those narrower or lower than ``min_px`` dropped, largest first."""
    faces: list[Face] = []
    for (x0, y0, x1, y1), score in zip(boxes, scores):
        face = Face.from_corners(x0, y0, x1, y1, score=float(score)).clipped(w, h)
        if face.area and face.w >= min_px and face.h >= min_px:
            faces.append(face)
    faces.sort(key=lambda f: f.area, reverse=True)
    return faces[:max_faces]


@dataclass
class BlazeFaceOptions:
    #: the model file, relative to models/ (or absolute)
    model: str = MODEL_FILE

    #: values checked beyond their type when read from [detector.blazeface]: name -> (test, expected)
    checks: ClassVar[dict] = {"model": (path_ok, PATH_EXPECTED)}


def window_tracking(cfg: DetectorConfig, **plan: Any) -> Tracking:
    """Tracking for every BlazeFace plug-in: a known face is followed with the cheap 128x128 model on a
    window around it (the face fills its input); the face is known, so a lower threshold and no size
    floor (a 5 m face is ~20 px) are safe there. ``plan``: the plug-in's own schedule, motion."""
    local = BlazeFaceDetector(dataclasses.replace(cfg, kind="blazeface", min_confidence=min(cfg.min_confidence, 0.5),
                                                  min_size=1))
    return Tracking(**{"full_every": cfg.full_every, **plan}, face_px=64, local=local)


class BlazeFaceDetector(Detector):
    """MediaPipe BlazeFace short-range, the whole frame letterboxed into 128x128.

    ``min_confidence`` is the score threshold; ``min_size`` is read, like the Haar detector, in
    pixels of a frame downscaled to ``detect_width``."""

    key = "blazeface"
    Options = BlazeFaceOptions
    summary = "BlazeFace short-range, whole frame in 128x128: faces within ~1.5 m"
    name = "blazeface"

    def __init__(self, cfg: "DetectorConfig | None" = None, options: BlazeFaceOptions | None = None, *,
                 model_path: str | Path | None = None, num_threads: int | None = None,
                 weighted_nms: bool = True) -> None:
        self.cfg = cfg or DetectorConfig()
        self.options = options or self.options_from(self.cfg)
        if num_threads is None:
            num_threads = int(getattr(self.cfg, "num_threads", DEFAULT_THREADS))
        path = Path(model_path) if model_path else default_model_path(self.options.model)
        self.num_threads = num_threads
        self.weighted_nms = weighted_nms
        self.net = BlazeFaceNet(path, input_wh=None, strides=STRIDES, per_layer=2, native=INPUT_SIZE,
                                num_threads=num_threads, min_confidence=self.cfg.min_confidence,
                                weighted_nms=weighted_nms, expect="BlazeFace short range")
        self.card = self.net.card

    def reliable_min_px(self, frame_w: int) -> float:
        # the whole frame in 128 px: measured 100% at a face 25% of the frame wide, 88% at 12.5%
        return 0.2 * frame_w

    def tracking(self, cfg: DetectorConfig) -> Tracking:
        return window_tracking(cfg)

    def raw_detections(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.net.run(image)

    def detect(self, image: np.ndarray) -> list[Face]:
        h, w = image.shape[:2]
        boxes, scores = self.net.run(image)
        min_px = self.cfg.min_size * max(1.0, w / self.cfg.detect_width)
        return to_faces(boxes, scores, w, h, min_px, self.cfg.max_faces)
