"""FER+'s ten votes a face: how they are aligned with the images, and how they become labels (no TensorFlow)."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest

import fer_data
from convert import ferplus as fp
from convert.data import load
from edge.errors import DataError
from edge.classify.labels import FER7

#               neutral happy surprise sad anger disgust fear contempt unknown NF
VOTES = np.array([[6,     2,    1,      1,  0,    0,      0,   0,       0,      0],   # neutral: 6 of 8 after drops
                  [4,     4,    0,      2,  0,    0,      0,   0,       0,      0],   # no majority (4 of 10)
                  [0,     0,    0,      0,  0,    0,      0,   6,       0,      4],   # contempt: not ours
                  [0,     0,    0,      0,  0,    0,      0,   0,       3,      7],   # not a face
                  [0,     0,    0,      0,  5,    4,      0,   0,       0,      1]])  # anger 5 of 9


def _fer(name: str) -> int:
    return FER7.index(name)


def test_the_majority_drops_single_votes_and_needs_more_than_half_of_the_rest():
    assert fp.majority_labels(VOTES).tolist() == [_fer("neutral"), -1, -1, -1, _fer("angry")]


def test_soft_targets_are_the_seven_emotions_votes_without_single_votes():
    soft, usable = fp.soft_targets(VOTES, np.ones(len(VOTES), bool))
    assert soft[0, _fer("neutral")] == pytest.approx(6 / 8) and soft[0, _fer("happy")] == pytest.approx(2 / 8)
    assert soft[0, _fer("surprise")] == 0  # a single vote is noise
    assert soft[4, _fer("angry")] == pytest.approx(5 / 9) and soft[4, _fer("disgust")] == pytest.approx(4 / 9)
    assert usable.tolist() == [True, True, False, False, True]  # contempt / not-a-face faces teach nothing


def test_a_face_ferplus_dropped_is_never_trained_on():
    _, usable = fp.soft_targets(VOTES[:1], np.array([False]))
    assert not usable[0]


def test_fer2013_and_ferplus_agreement_is_reported_per_fer2013_class():
    fer = np.array([_fer("neutral"), _fer("sad"), _fer("angry")])
    majority = np.array([_fer("neutral"), _fer("neutral"), -1])
    agree = fp.agreement(fer, majority)
    assert agree["all"] == 0.5 and agree["neutral"] == 1.0 and agree["sad"] == 0.0 and "angry" not in agree


@pytest.fixture()
def pair(tmp_path):
    images = fer_data.write_csv(tmp_path / "fer2013.csv", n_train=6, n_val=3, n_test=0, seed=3)
    return images, fer_data.write_ferplus(tmp_path / "fer2013new.csv", images, extra_private=4)


def test_loading_with_ferplus_trains_on_votes_and_judges_the_test_split_by_its_majority(pair):
    images, votes = pair
    ds = load(images, size=48, ferplus=votes, val_fraction=0.2)
    assert ds.train.soft is not None and ds.train.soft.shape[1] == 7
    assert np.allclose(ds.train.soft.sum(1), 1)
    assert (ds.train.y == ds.train.soft.argmax(1)).all()
    assert len(ds.train) + len(ds.val) < 42  # the not-a-face and contempt rows are set aside
    assert len(ds.test) == 21 and (ds.test.y == -1).sum() >= 2  # the test split keeps every face
    keep = ds.test.y >= 0
    assert (ds.test.y[keep] == ds.test.fer[keep]).all()  # the generated votes agree with the csv's labels
    assert "FER+" in ds.notes["labels"]


def test_a_ferplus_file_in_another_row_order_is_refused_naming_the_row(pair, tmp_path):
    images, votes = pair
    rows = list(csv.reader(open(votes, newline="", encoding="utf-8")))
    shuffled = tmp_path / "shuffled.csv"
    with open(shuffled, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([rows[0], *rows[40:50], *rows[1:40], *rows[50:]])
    with pytest.raises(DataError, match=r"line 5: row 4 is 'PublicTest' where .* has 'Training'.*original row order"):
        load(images, size=48, ferplus=shuffled)


def test_a_ferplus_file_of_another_length_is_refused(pair, tmp_path):
    images, votes = pair
    short = tmp_path / "short.csv"
    short.write_text("".join(open(votes, encoding="utf-8").readlines()[:30]), encoding="utf-8")
    with pytest.raises(DataError, match=r"has 29 rows for the 63 image rows"):
        load(images, size=48, ferplus=short)


def test_a_file_that_is_not_ferplus_is_refused_by_its_header(pair):
    images, _ = pair
    with pytest.raises(DataError, match=r"header.*FER\+'s columns"):
        load(images, size=48, ferplus=images)


def test_the_train_command_fails_in_one_clear_line_on_a_misaligned_ferplus_file(pair, tmp_path):
    images, votes = pair
    short = tmp_path / "short.csv"
    short.write_text("".join(open(votes, encoding="utf-8").readlines()[:30]), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "convert", "train", str(images), "--ferplus", str(short),
                          "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    errors = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and "short.csv" in errors[0] and "same order" in errors[0]
    assert "Traceback" not in run.stderr


def test_evaluation_reports_both_yardsticks_at_every_face_size_through_the_pi_classifier(pair, tmp_path):
    from convert.evaluate import evaluate_model
    from edge.paths import default_model

    images, votes = pair
    model = default_model()
    ev = evaluate_model(model, images, "test", png=tmp_path / "cm.png", write=False, ferplus=votes)
    assert ev["yardstick"] == "FER+ majority" and ev["n"] == 21
    assert ev["ferplus"]["n_with_majority"] == int((load(images, size=48, ferplus=votes).test.y >= 0).sum()) == 19
    assert set(ev["at_face_size"]) == {"48px", "40px", "32px", "24px"}
    for side in ev["at_face_size"].values():
        for r in side.values():
            assert set(r) >= {"accuracy", "macro_f1", "mood4_accuracy", "recall", "fer2013_accuracy"}
            assert r["n"] == ev["ferplus"]["n_with_majority"]
    m = ev["models"][model.stem]
    assert m["fer2013"]["n"] == 21  # FER-2013's labels judge every face
    assert np.array(m["confusion"]["rows_true_columns_predicted"]).sum() == ev["ferplus"]["n_with_majority"]
    assert (tmp_path / "cm.png").stat().st_size > 10_000
