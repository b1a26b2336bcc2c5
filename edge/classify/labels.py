"""The class lists and the one FER-7 -> 4-mood mapping (shared by training, evaluation and the daemon).

Kept free of TensorFlow and numpy so the Pi and the training host import the very same table.
FER-2013's seven classes are too fine for a living-room mood: ``disgust`` and ``fear`` are rare and
look like ``angry`` at 64x64, and ``surprise`` is usually delighted, so they fold into four moods.
"""

from __future__ import annotations

from typing import Mapping

#: FER-2013 class order (the order of the ``emotion`` column and of the shipped model's outputs)
FER7: list[str] = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]

#: the four moods the appliance publishes when ``labels = "mood4"``
MOOD4: list[str] = ["happy", "sad", "neutral", "angry"]

#: where each FER-7 class goes in the 4-mood set
FER7_TO_MOOD4: dict[str, str] = {
    "angry": "angry",
    "disgust": "angry",
    "fear": "angry",
    "happy": "happy",
    "sad": "sad",
    "surprise": "happy",
    "neutral": "neutral",
}

LABEL_SETS: dict[str, list[str]] = {"fer7": FER7, "mood4": MOOD4}


def to_mood4(probs: Mapping[str, float]) -> dict[str, float]:
    """Sum FER-7 probabilities into the 4 moods (in :data:`MOOD4` order); mood4 input passes through.

    Unknown class names raise ``KeyError``: a silent drop would skew every published mood.
    """
    out = {mood: 0.0 for mood in MOOD4}
    for name, p in probs.items():
        target = name if name in out else FER7_TO_MOOD4[name]
        out[target] += float(p)
    return out


def mood4_index(labels: list[str]) -> list[int]:
    """For each class in ``labels`` (FER-7 or 4-mood names), its index in :data:`MOOD4`."""
    return [MOOD4.index(name if name in MOOD4 else FER7_TO_MOOD4[name]) for name in labels]
