"""Compatibility: the BlazeFace short-range detector now lives in :mod:`edge.detectors.blazeface`."""

from .detectors.blazeface import (  # noqa: F401 - re-exported
    DEFAULT_THREADS,
    INPUT_SIZE,
    MODEL_FILE,
    NMS_IOU,
    NUM_ANCHORS,
    SCORE_CLIP,
    STRIDES,
    BlazeFaceDetector,
    BlazeFaceNet,
    Letterbox,
    decode_boxes,
    default_model_path,
    generate_anchors,
    iou,
    non_max_suppression,
)
from .interpreter import load_interpreter  # noqa: F401 - convert/blazeface.py used it from here

__all__ = ["DEFAULT_THREADS", "INPUT_SIZE", "MODEL_FILE", "NMS_IOU", "NUM_ANCHORS", "SCORE_CLIP", "STRIDES",
           "BlazeFaceDetector", "BlazeFaceNet", "Letterbox", "decode_boxes", "default_model_path",
           "generate_anchors", "iou", "non_max_suppression", "load_interpreter"]
