"""Training can start from a shipped model: its float twin's weights go back into the Keras network."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import fer_data
from convert.data import to_input
from convert.export import predict_tflite
from edge.errors import ModelError

pytestmark = pytest.mark.train

MODELS = Path(__file__).resolve().parent.parent / "models"
TWIN = MODELS / "mood_xception_ferplus_float32.tflite"


def _faces(n_per_class: int = 8) -> np.ndarray:
    images, _ = fer_data.make_images(n_per_class, seed=3)
    return to_input(images)


def test_the_shipped_twin_put_back_into_keras_reads_faces_as_the_twin_does():
    from convert.model import build_mood_xception
    from convert.warm_start import load_float_twin

    faces = _faces()
    model = build_mood_xception()
    load_float_twin(model, TWIN, faces)
    keras_p = model.predict(faces, verbose=0)
    assert np.abs(keras_p - predict_tflite(TWIN, faces)).max() < 1e-3


def test_the_unfolded_batchnorm_normalizes_training_batches_to_the_same_readings():
    from convert.model import build_mood_xception
    from convert.warm_start import load_float_twin

    faces = _faces()
    model = build_mood_xception()
    load_float_twin(model, TWIN, faces)
    model.get_layer("head_dropout").rate = 0.0  # dropout aside, training mode is the batch statistics
    training = model(faces, training=True).numpy()
    assert np.abs(training - model.predict(faces, verbose=0)).max() < 1e-3


def test_a_twin_of_another_architecture_is_refused_naming_the_file_and_layer():
    from convert.model import build_mood_xception
    from convert.warm_start import load_float_twin

    with pytest.raises(ModelError, match=r"mini_xception_fer7_float32\.tflite.*layer 'stem_conv1'"):
        load_float_twin(build_mood_xception(), MODELS / "mini_xception_fer7_float32.tflite", _faces(1))


def test_a_teacher_reads_each_face_and_its_mirror_image():
    from convert.warm_start import teacher_targets

    faces = _faces(2)
    both = teacher_targets(TWIN, faces, 7)
    mirrored = teacher_targets(TWIN, np.ascontiguousarray(faces[:, :, ::-1]), 7)
    assert np.allclose(both, mirrored, atol=1e-4)  # the average of a face and its mirror is symmetric
    assert np.allclose(both.sum(axis=1), 1, atol=1e-4)


def test_a_teacher_with_other_classes_is_refused_naming_it():
    from convert.warm_start import teacher_targets

    with pytest.raises(ModelError, match=r"mood_xception_ferplus_float32\.tflite: the teacher has 7 outputs"):
        teacher_targets(TWIN, _faces(1), 4)


def test_a_run_started_from_a_twin_names_it_and_its_teacher_in_the_report_and_the_card(tmp_path):
    from convert.__main__ import main

    data = fer_data.write_csv(tmp_path / "fer2013.csv", n_train=30, n_val=10, n_test=0, seed=7)
    votes = fer_data.write_ferplus(tmp_path / "fer2013new.csv", data)
    out = tmp_path / "run"
    assert main(["train", str(data), "--ferplus", str(votes), "--out", str(out), "--epochs", "3",
                 "--batch-size", "32", "--lr", "0.001", "--init-from", str(TWIN), "--teacher", str(TWIN),
                 "--average-last", "2", "--name", "tuned"]) == 0
    report = json.loads((out / "train_report.json").read_text())
    names = [i["file"] for i in report["training_data"]["inputs"]]
    assert names == ["fer2013.csv", "fer2013new.csv", TWIN.name, TWIN.name]
    assert "--init-from" in report["command"] and "--average-last 2" in report["command"]
    assert str(tmp_path) not in json.dumps(report)
    assert report["started_from"]["weights"]["command"].startswith("mood-convert train")
    assert report["started_from"]["teacher"]["weight"] == 0.5
    card = (out / "tuned_MODEL_CARD.md").read_text()
    assert f"Started from the weights of `{TWIN.name}`" in card and f"Teacher `{TWIN.name}`" in card
    assert "50% of each face's targets" in card and str(tmp_path) not in card


@pytest.mark.parametrize("content", [None, b"not a model"])
def test_a_start_model_that_is_missing_or_not_a_model_is_refused_before_training(cli, tmp_path, content):
    data = fer_data.write_csv(tmp_path / "fer2013.csv", n_train=5, n_val=2, n_test=0)
    start = tmp_path / "start.tflite"
    if content is not None:
        start.write_bytes(content)
    r = cli("train", str(data), "--init-from", str(start), "--out", str(tmp_path / "o"), module="convert")
    assert r.returncode == 2 and "Traceback" not in r.stderr and f"{start}: " in r.stderr
    assert not (tmp_path / "o").exists()  # nothing trained
