"""The real shipped int8 model through the real LiteRT interpreter, on real faces."""

import json
import shutil

import numpy as np
import pytest

from edge.classify.classifier import Classifier
from edge.detectors.haar import HaarDetector
from edge.errors import ModelError
from edge.geometry import Box
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
    host = host * np.asarray(classifier.card.postprocess.weights() or 1.0)  # the card's logit adjustment
    assert (host.argmax(1) == pi.argmax(1)).all()
    assert np.abs(host / host.sum(1, keepdims=True) - pi).max() < 0.02


def copy_with_card(folder, **postprocess):
    """The shipped model copied into ``folder``, its card's postprocess set to ``postprocess``."""
    folder.mkdir(exist_ok=True)
    model = folder / "model.tflite"
    shutil.copy(default_model(), model)
    card = json.loads(default_model().with_suffix(".json").read_text(encoding="utf-8"))
    card["postprocess"] = postprocess
    model.with_suffix(".json").write_text(json.dumps(card))
    return model


def test_the_shipped_card_adjusts_for_the_training_prior_and_reads_both_views():
    post = Classifier(default_model()).card.postprocess
    assert post.mirror and 0 < post.tau <= 1 and len(post.prior) == len(FER7)
    assert post.prior[FER7.index("fear")] < post.prior[FER7.index("happy")]


def test_the_logit_adjustment_divides_by_the_prior_to_the_power_tau(tmp_path):
    prior = [0.1, 0.01, 0.03, 0.27, 0.14, 0.11, 0.34]
    plain = Classifier(copy_with_card(tmp_path / "plain"))
    adjusted = Classifier(copy_with_card(tmp_path / "adjusted", prior=prior, tau=0.5))
    crops = np.random.default_rng(2).integers(0, 256, size=(5, 48, 48), dtype=np.uint8)
    raw = plain.infer(plain.preprocess_crops(crops)) / np.sqrt(prior)
    assert np.allclose(adjusted.infer(adjusted.preprocess_crops(crops)), raw / raw.sum(1, keepdims=True), atol=1e-5)


def test_mirror_views_read_every_other_frame_mirrored(tmp_path):
    gray = astronaut_gray()
    (face,) = HaarDetector().detect(gray)
    mirrored = Classifier(copy_with_card(tmp_path / "mirror", mirror=True))
    plain = Classifier(copy_with_card(tmp_path / "plain"))
    frames = [mirrored.infer(mirrored.preprocess(gray, [face])) for _ in range(3)]
    flipped = gray[:, ::-1].copy()
    as_mirror = plain.infer(plain.preprocess(flipped, [Box(gray.shape[1] - face.x - face.w, face.y, face.w, face.h)]))
    assert np.array_equal(frames[0], frames[2]) and not np.array_equal(frames[0], frames[1])
    assert np.allclose(frames[1], as_mirror, atol=1e-6)


def test_a_still_is_read_as_both_views_averaged_however_many_frames_came_before(tmp_path):
    gray = astronaut_gray()
    (face,) = HaarDetector().detect(gray)
    mirrored = Classifier(copy_with_card(tmp_path / "mirror", mirror=True))
    frames = [mirrored.infer(mirrored.preprocess(gray, [face]))[0] for _ in range(2)]
    stills = [mirrored.classify_still(gray, [face])[0] for _ in range(3)]
    assert stills[0].probabilities == stills[1].probabilities == stills[2].probabilities
    both = (frames[0] + frames[1]) / 2
    assert np.allclose([stills[0].probabilities[k] for k in mirrored.labels], both, atol=1e-6)


@pytest.mark.parametrize("post, field", [
    ({"prior": [0.5, 0.5], "tau": 0.3}, "postprocess.prior"),
    ({"prior": [0.1, 0, 0.1, 0.1, 0.1, 0.1, 0.5], "tau": 0.3}, "postprocess.prior"),
    ({"prior": [0.1] * 7, "tau": "high"}, "postprocess.tau"),
    ({"tau": 0.3}, "postprocess.prior"),
    ({"mirror": "yes"}, "postprocess.mirror"),
])
def test_a_card_with_a_broken_postprocess_is_refused_naming_the_field(tmp_path, post, field):
    with pytest.raises(ModelError, match=field.replace(".", r"\.")):
        Classifier(copy_with_card(tmp_path, **post))
