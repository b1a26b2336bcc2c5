"""The model in models/: what the Pi runs. Checked with LiteRT only (no TensorFlow), like the Pi would."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from convert.calibrate import _upscaled, fidelity_crops
from convert.export import inspect_tflite, predict_tflite
from convert.faces import astronaut_face, crop_face, offline_faces, to_model_input
from edge.labels import FER7
from edge.modelcard import load_card, sha256_of

MODELS = Path(__file__).resolve().parent.parent / "models"
INT8 = MODELS / "mini_xception_fer7_int8.tflite"
FLOAT = MODELS / "mini_xception_fer7_float32.tflite"


@pytest.fixture(scope="module")
def card():
    return load_card(INT8)


def _inputs(card, crops: np.ndarray) -> np.ndarray:
    return to_model_input(crops, card.preprocess.scale, card.preprocess.offset)


def test_the_int8_model_matches_its_card_and_the_float_twin_matches_its_own(card):
    assert card.sha256 == sha256_of(INT8)
    assert card.float_twin == {"file": FLOAT.name, "sha256": sha256_of(FLOAT)}
    assert load_card(FLOAT).sha256 == sha256_of(FLOAT)


def test_it_is_full_integer_with_int8_input_and_output_and_builtin_ops(card):
    info = inspect_tflite(INT8)
    assert info.input_dtype == "int8" and info.output_dtype == "int8"
    assert info.input_shape == [1, 64, 64, 1] and info.output_shape == [1, 7]
    assert info.tensor_types <= {"int8", "int32"}
    assert info.builtin_only and info.full_integer
    assert card.input["scale"] == pytest.approx(info.input_quant[0]) and card.input["zero_point"] == info.input_quant[1]
    assert card.output["scale"] == pytest.approx(info.output_quant[0])


def test_it_fits_the_size_budget():
    assert INT8.stat().st_size <= 120 * 1024


def test_labels_are_fer7_in_output_order_everywhere(card):
    assert card.labels == FER7
    assert (MODELS / "labels.txt").read_text().split() == FER7


def test_every_uint8_pixel_maps_exactly_onto_an_int8_input(card):
    pre, inp = card.preprocess, card.input
    x = np.arange(256) * pre.scale + pre.offset
    q = x / inp["scale"] + inp["zero_point"]
    assert np.abs(q - np.round(q)).max() < 1e-3
    assert np.round(q).astype(int).tolist() == list(range(-128, 128))


def test_the_smiling_astronaut_is_happy(card):
    face = astronaut_face()
    crop = crop_face(face.gray, face.box, card.preprocess.crop_margin, 64, card.preprocess.interpolation)
    probs = predict_tflite(INT8, _inputs(card, crop[None]))[0]
    assert FER7[int(probs.argmax())] == "happy" and probs.max() > 0.9


def test_it_agrees_with_its_float_twin_on_the_real_offline_faces(card):
    faces = [_upscaled(f) for f in offline_faces()]  # astronaut + 100 LFW faces, as they are
    crops = np.stack([crop_face(f.gray, f.box, card.preprocess.crop_margin, 64) for f in faces])
    x = _inputs(card, crops)
    pf, pq = predict_tflite(FLOAT, x), predict_tflite(INT8, x)
    assert np.mean(pf.argmax(1) == pq.argmax(1)) >= 0.98
    assert np.abs(pf - pq).mean() < 0.01


def test_the_cards_fidelity_figures_are_what_the_models_do(card):
    """The card's figures on augmented held-out crops are reproducible from the files alone."""
    n = card.extra["fidelity"]["all"]["n"]
    sets = fidelity_crops(n, margin=card.preprocess.crop_margin, size=64)
    for name, crops in sets.items():
        x = _inputs(card, crops)
        pf, pq = predict_tflite(FLOAT, x), predict_tflite(INT8, x)
        agreement = float(np.mean(pf.argmax(1) == pq.argmax(1)))
        assert agreement == pytest.approx(card.extra["fidelity"][name]["top1_agreement"], abs=1e-4)
        assert np.abs(pf - pq).mean() < 0.01


def test_the_model_card_names_source_licence_and_command(card):
    text = (MODELS / "MODEL_CARD.md").read_text()
    for needed in ("Octavio Arriaga", "MIT", "FER-2013", "fer2013_mini_XCEPTION.102-0.66.hdf5",
                   "mood-convert import-fer", "Intended use", "limitations"):
        assert needed in text
    data = json.loads(INT8.with_suffix(".json").read_text())
    assert "MIT" in data["license"] and data["source"]["parameters"] == 58_423
