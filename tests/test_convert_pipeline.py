"""train -> quantize -> evaluate on tiny learnable FER-format data (both layouts), in-process.

One short training run per layout is shared by the tests of this module (keeps the suite in budget).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import fer_data
from convert.export import inspect_tflite, predict_tflite
from edge.classify.labels import FER7, MOOD4
from edge.classify.modelcard import load_card

pytestmark = pytest.mark.train


def _run(*argv: str) -> int:
    from convert.__main__ import main

    return main(list(argv))


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("csv")
    data = fer_data.write_csv(root / "fer2013.csv", n_train=40, n_val=10, n_test=12, seed=5)
    out = root / "run"
    assert _run("train", str(data), "--out", str(out), "--input-size", "48", "--epochs", "6",
                "--batch-size", "32", "--lr", "0.005") == 0
    return data, out


@pytest.fixture(scope="module")
def ferplus_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("ferplus")
    data = fer_data.write_csv(root / "fer2013.csv", n_train=40, n_val=10, n_test=0, seed=5)
    votes = fer_data.write_ferplus(root / "fer2013new.csv", data, extra_private=7)
    out = root / "run"
    assert _run("train", str(data), "--ferplus", str(votes), "--out", str(out), "--epochs", "6",
                "--batch-size", "32", "--lr", "0.005") == 0
    return out


def test_the_model_card_names_its_inputs_by_file_and_hash_never_by_this_machines_paths(ferplus_run):
    root = str(ferplus_run.parent)
    for card in ferplus_run.glob("*.json"):
        text = card.read_text()
        assert root not in text, f"{card.name} records a path of the training machine"
    data = load_card(ferplus_run / "mood_xception_fer7_int8.tflite").extra["training_data"]
    assert [i["file"] for i in data["inputs"]] == ["fer2013.csv", "fer2013new.csv"]
    assert all(len(i["sha256"]) == 64 for i in data["inputs"])
    md = (ferplus_run / "mood_xception_fer7_MODEL_CARD.md").read_text()
    assert root not in md and "Class shares in training (FER+'s top vote a face)" in md


def test_training_on_ferplus_votes_learns_and_is_judged_by_the_majority(ferplus_run):
    report = json.loads((ferplus_run / "train_report.json").read_text())
    assert report["metrics"]["val_accuracy"] >= 0.6  # chance is 1/7
    assert "FER+" in report["training_data"]["split_rules"]["labels"]
    card = load_card(ferplus_run / "mood_xception_fer7_int8.tflite")
    ev = card.extra["metrics"]["evaluation"]
    assert ev["yardstick"] == "FER+ majority" and ev["n"] == 70
    assert ev["ferplus"]["n_with_majority"] == 63  # every 10th row is not a face or a contempt majority
    m = ev["models"]["mood_xception_fer7_int8"]
    assert m["accuracy"] >= 0.6 and m["fer2013"]["accuracy"] >= 0.5
    assert "FER+" in card.extra["license"]
    md = (ferplus_run / "mood_xception_fer7_MODEL_CARD.md").read_text()
    assert "FER+ majority" in md and "FER-2013 labels" in md


def test_training_beats_chance_clearly(csv_run):
    _, out = csv_run
    report = json.loads((out / "train_report.json").read_text())
    assert report["training_data"]["splits"] == {"train": 252, "val": 28, "test": 70}
    assert report["metrics"]["val_accuracy"] >= 0.6  # chance is 1/7
    assert "test_accuracy" not in report["metrics"]  # the test split is touched once, by the exported model
    assert (out / "best.keras").is_file() and (out / "curves.png").stat().st_size > 10_000


def test_the_exported_model_is_full_integer_and_runs_on_litert(csv_run):
    _, out = csv_run
    model = out / "mood_xception_fer7_int8.tflite"
    card = load_card(model)
    info = inspect_tflite(model)
    assert info.full_integer and info.input_shape == [1, 48, 48, 1] and info.output_shape == [1, 7]
    assert card.labels == FER7 and card.input_size == (48, 48)
    x = np.zeros((2, 48, 48, 1), np.float32)
    probs = predict_tflite(model, x)
    assert probs.shape == (2, 7) and np.allclose(probs.sum(1), 1, atol=0.03)


def test_train_evaluates_float_and_int8_on_the_test_split_into_the_card(csv_run):
    _, out = csv_run
    card = load_card(out / "mood_xception_fer7_int8.tflite")
    ev = card.extra["metrics"]["evaluation"]
    assert ev["split"] == "test" and ev["n"] == 70 and ev["split_is"] == "PublicTest"
    for name in ("mood_xception_fer7_int8", "mood_xception_fer7_float32"):
        m = ev["models"][name]
        assert m["accuracy"] >= 0.6 and 0 <= m["macro_f1"] <= 1 and m["mood4_accuracy"] >= 0.6
        assert set(m["per_class"]) == set(FER7)
        assert np.array(m["confusion"]["rows_true_columns_predicted"]).sum() == 70
    int8_acc = ev["models"]["mood_xception_fer7_int8"]["accuracy"]
    float_acc = ev["models"]["mood_xception_fer7_float32"]["accuracy"]
    assert abs(int8_acc - float_acc) <= 0.05
    assert (out / ev["confusion_png"]).stat().st_size > 10_000
    assert card.extra["fidelity"]["val"]["top1_agreement"] >= 0.9


def test_evaluate_command_measures_another_split_and_updates_both_cards(csv_run, tmp_path):
    data, out = csv_run
    png = tmp_path / "cm.png"
    assert _run("evaluate", str(out / "mood_xception_fer7_int8.tflite"), "--data", str(data),
                "--split", "val", "--png", str(png)) == 0
    for name in ("mood_xception_fer7_int8", "mood_xception_fer7_float32"):
        ev = load_card(out / f"{name}.tflite").extra["metrics"]["evaluation"]
        assert ev["split"] == "val" and ev["n"] == 28 and ev["split_is"].startswith("stratified 10% of Training")
    assert png.stat().st_size > 10_000


def test_train_chooses_the_post_processing_on_validation_and_writes_it_into_both_cards(ferplus_run):
    for name in ("mood_xception_fer7_int8", "mood_xception_fer7_float32"):
        card = load_card(ferplus_run / f"{name}.tflite")
        choice = card.extra["postprocess_choice"]
        assert choice["split"] == "val" and len(choice["tried"]) == 12  # 6 taus, with and without mirror
        best = max(choice["tried"], key=lambda r: (r["accuracy"], r["macro_f1"]))
        assert (card.postprocess.mirror, card.postprocess.tau) == (best["mirror"], best["tau"])
        assert card.postprocess.prior is None or abs(sum(card.postprocess.prior) - 1) < 0.01


def test_adjust_dry_run_prints_the_table_and_leaves_the_cards(csv_run, capsys):
    data, out = csv_run
    model = out / "mood_xception_fer7_int8.tflite"
    before = model.with_suffix(".json").read_bytes()
    assert _run("adjust", str(model), "--data", str(data), "--taus", "0", "0.5", "--dry-run") == 0
    printed = capsys.readouterr().out
    assert printed.count("\n") >= 5 and "<- chosen" in printed
    assert model.with_suffix(".json").read_bytes() == before


def test_adjust_refuses_a_tau_out_of_range_naming_the_option(csv_run, capsys):
    data, out = csv_run
    assert _run("adjust", str(out / "mood_xception_fer7_int8.tflite"), "--data", str(data), "--taus", "9") != 0
    assert "--taus" in capsys.readouterr().err


def test_quantize_without_data_calibrates_on_real_offline_faces(csv_run, tmp_path):
    _, out = csv_run
    assert _run("quantize", str(out / "best.keras"), "--out", str(tmp_path), "--name", "faces",
                "--calibration-size", "60") == 0
    card = load_card(tmp_path / "faces_int8.tflite")
    assert inspect_tflite(tmp_path / "faces_int8.tflite").full_integer
    assert "astronaut" in card.extra["quantization"]["calibration"]
    assert set(card.extra["fidelity"]) >= {"all", "unseen"}
    assert card.extra["training_data"]["splits"]["train"] == 252  # carried over from train_report.json


def test_folder_layout_trains_the_four_mood_head(tmp_path):
    data = fer_data.write_folders(tmp_path / "fer", n_train=40, n_test=12, seed=9)
    out = tmp_path / "run"
    assert _run("train", str(data), "--out", str(out), "--classes", "mood4", "--input-size", "48",
                "--epochs", "6", "--batch-size", "32", "--lr", "0.005", "--no-export") == 0
    report = json.loads((out / "train_report.json").read_text())
    assert report["training_data"]["labels"] == MOOD4
    assert report["training_data"]["split_rules"]["val"].startswith("stratified 10% of train/")
    # majority class (angry = angry + disgust + fear) is 3/7 of the validation split
    assert report["metrics"]["val_accuracy"] >= 0.7
    assert not (out / "mood_xception_mood4_int8.tflite").exists()


def test_quantize_and_evaluate_refuse_bad_inputs_with_the_file_named(cli, tmp_path):
    junk = tmp_path / "model.keras"
    junk.write_bytes(b"nope")
    r = cli("quantize", str(junk), "--out", str(tmp_path / "o"), module="convert")
    assert r.returncode == 2 and "Traceback" not in r.stderr and f"{junk}: Keras cannot load it" in r.stderr
    lonely = tmp_path / "lonely.tflite"
    lonely.write_bytes(b"x")
    r = cli("evaluate", str(lonely), "--data", str(tmp_path), module="convert")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "lonely.json" in r.stderr and "no card" in r.stderr


def test_the_card_records_the_command_that_repeats_the_run_from_its_options():
    import argparse

    from convert.train import add_arguments, command_line

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["fer 2013.csv", "--out", "runs/a", "--epochs", "60", "--epochs", "80", "--keep-flaws"])
    assert command_line(args) == "mood-convert train 'fer 2013.csv' --out runs/a --epochs 80 --keep-flaws"


def test_mixup_blends_faces_and_votes_alike_and_each_face_keeps_the_larger_share():
    import tensorflow as tf

    from convert.augment import mixup

    x = tf.constant(np.stack([np.full((4, 4, 1), v, np.float32) for v in (-1.0, 0.0, 1.0)]))
    y = tf.constant(np.eye(3, dtype=np.float32))
    mx, my = mixup(x, y, tf.constant([1337, 0], tf.int64), 0.2)
    mx, my = mx.numpy(), my.numpy()
    np.testing.assert_allclose(my.sum(axis=1), 1.0, atol=1e-6)
    assert (np.diag(my) >= 0.5 - 1e-6).all()
    lam = np.diag(my)  # face i is mixed with face 2 - i, by the same share as its votes
    np.testing.assert_allclose(mx[:, 0, 0, 0], lam * x.numpy()[:, 0, 0, 0] + (1 - lam) * x.numpy()[::-1, 0, 0, 0],
                               atol=1e-5)
