"""The real shipped int8 model through the real LiteRT interpreter, on real faces."""

import json
import shutil

import numpy as np
import pytest

from edge.classify.classifier import Classifier
from edge.detectors.haar import HaarDetector
from edge.errors import ModelError
from edge.classify.labels import FER7, MOOD4
from edge.paths import default_model
from faces import astronaut_gray, empty_room


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(default_model(), num_threads=2)


def test_the_shipped_model_is_full_integer_and_reads_its_size_from_the_file(classifier):
    assert classifier.is_int8
    assert classifier.input_size in ((48, 48), (64, 64))
    assert classifier.labels == FER7


def test_the_astronaut_is_one_face_and_confidently_happy(classifier):
    gray = astronaut_gray()
    faces = HaarDetector().detect(gray)
    assert len(faces) == 1
    (pred,) = classifier.classify(gray, faces)
    assert pred.label == "happy" and pred.confidence > 0.6
    assert abs(sum(pred.probabilities.values()) - 1) < 0.01


def test_a_room_without_faces_gives_no_predictions(classifier):
    gray = empty_room()
    assert HaarDetector().detect(gray) == []
    assert classifier.classify(gray, []) == []


def test_several_faces_are_classified_each(classifier):
    gray = astronaut_gray()
    face = HaarDetector().detect(gray)[0]
    side = np.hstack([gray, gray])
    shifted = type(face)(face.x + gray.shape[1], face.y, face.w, face.h)
    preds = classifier.classify(side, [face, shifted])
    assert [p.label for p in preds] == ["happy", "happy"]
    assert preds[0].probabilities == pytest.approx(preds[1].probabilities, abs=1e-6)


def test_the_four_mood_view_folds_the_fer_classes():
    clf = Classifier(default_model(), labels="mood4")
    gray = astronaut_gray()
    (pred,) = clf.classify(gray, HaarDetector().detect(gray))
    assert list(pred.probabilities) == MOOD4 and pred.label == "happy"


def test_a_truncated_model_is_a_clear_model_error(tmp_path):
    model = default_model()
    bad = tmp_path / model.name
    bad.write_bytes(model.read_bytes()[:2000])
    (tmp_path / model.with_suffix(".json").name).write_bytes(model.with_suffix(".json").read_bytes())
    with pytest.raises(ModelError, match="sha256"):
        Classifier(bad)


def test_a_model_without_its_card_is_refused(tmp_path):
    bad = tmp_path / "model.tflite"
    bad.write_bytes(default_model().read_bytes())
    with pytest.raises(ModelError, match="has no card"):
        Classifier(bad)


def test_a_card_that_scales_pixels_out_of_any_sane_range_is_refused(tmp_path):
    model = tmp_path / "model.tflite"
    shutil.copy(default_model(), model)
    card = json.loads(default_model().with_suffix(".json").read_text(encoding="utf-8"))
    card["preprocess"]["scale"] = 1e300
    model.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match=r"preprocess\.scale: maps pixels 0\.\.255 to"):
        Classifier(model)


def test_the_training_host_reads_a_model_through_the_daemons_own_quantization(classifier):
    """``convert.export.predict_tflite`` (fidelity, cards) and the daemon share one int8 in/out path."""
    from convert.data import to_input
    from convert.export import predict_tflite

    rng = np.random.default_rng(5)
    size = classifier.input_size[0]
    crops = rng.integers(0, 256, size=(6, size, size), dtype=np.uint8)
    pre = classifier.card.preprocess
    host = predict_tflite(classifier.model_path, to_input(crops, pre.scale, pre.offset))
    pi = classifier.infer(classifier.preprocess_crops(crops))
    assert (host.argmax(1) == pi.argmax(1)).all()
    assert np.abs(host / host.sum(1, keepdims=True) - pi).max() < 0.02
