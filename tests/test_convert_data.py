"""FER-2013 loading (both layouts), honest splits, the 4-mood mapping, and clear errors for bad data.

No TensorFlow here: reading and checking data must work (and fail clearly) before TF is even imported.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

import fer_data
from convert.data import load
from edge.errors import DataError
from edge.classify.labels import FER7, FER7_TO_MOOD4, MOOD4, to_mood4


def _csv(path: Path, rows: list[list[str]], header: list[str] | None = None) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header or ["emotion", "pixels", "Usage"])
        w.writerows(rows)
    return path


def _row(emotion: int | str, usage: str, pixels: str | None = None) -> list[str]:
    return [str(emotion), pixels if pixels is not None else " ".join(["128"] * 2304), usage]


def test_csv_training_rows_give_train_and_a_stratified_validation_slice_publictest_is_the_test(tmp_path):
    ds = load(fer_data.write_csv(tmp_path / "fer2013.csv", n_train=10, n_val=2, n_test=3), size=48)
    assert (len(ds.train), len(ds.val), len(ds.test)) == (63, 7, 14)
    assert np.bincount(ds.val.y, minlength=7).tolist() == [1] * 7
    assert ds.notes["val"] == "stratified 10% of Training (seed 1337)" and ds.notes["test"] == "PublicTest"
    assert not set(map(bytes, ds.val.x)) & set(map(bytes, ds.train.x))
    assert ds.labels == FER7


def test_privatetest_rows_are_kept_apart_and_never_in_train_validation_or_test(tmp_path):
    ds = load(fer_data.write_csv(tmp_path / "fer2013.csv", n_train=4, n_val=2, n_test=3), size=48)
    assert len(ds.split("private")) == 21
    private = set(map(bytes, ds.private.x))
    assert not private & set(map(bytes, np.concatenate([ds.train.x, ds.val.x, ds.test.x])))


def test_a_csv_without_privatetest_rows_loads(tmp_path):
    ds = load(fer_data.write_csv(tmp_path / "fer2013.csv", n_train=4, n_val=2, n_test=0), size=48)
    assert len(ds.test) == 14 and ds.private is None and len(ds.split("private")) == 0


def _flawed_csv(path: Path) -> tuple[Path, np.ndarray]:
    x, y = fer_data.make_images(6, seed=3)
    rows = [_row(int(label), "Training", " ".join(map(str, img.ravel()))) for img, label in zip(x, y)]
    rows += [_row(0, "Training", " ".join(["0"] * 2304)), _row(6, "Training", " ".join(["128"] * 2304))]  # blanks
    dup = " ".join(map(str, x[0].ravel()))
    rows += [_row(int(y[0]), "Training", dup), _row(int(y[0]), "Training", dup)]  # two extra copies
    clash = " ".join(map(str, x[1].ravel()))
    rows += [_row((int(y[1]) + 1) % 7, "Training", clash)]  # a copy with another label
    rows += [_row(int(label), "PublicTest", " ".join(map(str, img.ravel()))) for img, label in zip(x[2:4], y[2:4])]
    xt, yt = fer_data.make_images(1, seed=4)
    rows += [_row(int(label), "PublicTest", " ".join(map(str, img.ravel()))) for img, label in zip(xt, yt)]
    return _csv(path, rows), x


def test_fer2013_flaws_are_removed_from_train_and_counted(tmp_path):
    path, x = _flawed_csv(tmp_path / "flawed.csv")
    ds = load(path, size=48)
    assert ds.cleaning == {"blank": 2, "duplicate": 2, "conflicting_duplicate": 2, "also_in_test": 2}
    kept = list(map(bytes, np.concatenate([ds.train.x, ds.val.x])))
    assert len(kept) == len(set(kept)) == 42 - 1 - 2  # 42 distinct, less the one with a clash, less 2 in test
    assert x[0].tobytes() in kept and x[1].tobytes() not in kept and x[2].tobytes() not in kept
    assert "2 blank" in ds.notes["cleaning"]


def test_test_images_also_in_training_are_marked_so_test_can_be_reported_without_them(tmp_path):
    path, _ = _flawed_csv(tmp_path / "flawed.csv")
    ds = load(path, size=48)
    assert ds.test_seen.tolist() == [True, True] + [False] * 7
    assert len(ds.split("test_unseen")) == 7 and len(ds.test) == 9


def test_keep_flaws_trains_on_the_data_as_it_is(tmp_path):
    path, _ = _flawed_csv(tmp_path / "flawed.csv")
    ds = load(path, size=48, clean_data=False)
    assert len(ds.train) + len(ds.val) == 42 + 5 and ds.cleaning == {}


def test_images_are_resized_to_the_input_size_and_keep_their_pixels(tmp_path):
    ramp = " ".join(str(100 + (i % 48)) for i in range(2304))  # a horizontal ramp 100..147
    path = _csv(tmp_path / "f.csv", [_row(3, "Training", ramp), _row(3, "Training", ramp.replace("100", "101")),
                                     _row(0, "PublicTest")])
    ds = load(path, size=64)
    assert ds.train.x.shape == (1, 64, 64) and ds.train.x.dtype == np.uint8
    assert 100 <= int(ds.train.x[0, 10, 0]) <= 101 and int(ds.train.x[0, 10, 63]) == 147
    assert ds.train.y.tolist() == [3]


def test_a_training_split_left_empty_by_cleaning_is_an_error(tmp_path):
    path = _csv(tmp_path / "f.csv", [_row(3, "Training", " ".join(["200"] * 2304)), _row(0, "PublicTest")])
    with pytest.raises(DataError, match="blank"):
        load(path)


def test_folder_layout_takes_validation_as_a_stratified_slice_of_train(tmp_path):
    ds = load(fer_data.write_folders(tmp_path / "fer", n_train=20, n_test=3), size=48, val_fraction=0.1)
    val_counts = np.bincount(ds.val.y, minlength=7)
    assert val_counts.tolist() == [2] * 7
    assert len(ds.train) == 7 * 18 and len(ds.test) == 21
    assert not set(map(bytes, ds.val.x)) & set(map(bytes, ds.train.x))
    assert ds.notes["test"] == "test/" and ds.notes["val"].startswith("stratified 10% of train/")


def test_mood4_folds_disgust_and_fear_into_angry_and_surprise_into_happy(tmp_path):
    ds = load(fer_data.write_csv(tmp_path / "fer2013.csv", n_train=2, n_val=1, n_test=1), size=48,
              classes="mood4")
    assert ds.labels == MOOD4
    counts = dict(zip(MOOD4, np.bincount(np.concatenate([ds.train.y, ds.val.y]), minlength=4).tolist()))
    assert counts == {"happy": 4, "sad": 2, "neutral": 2, "angry": 6}


def test_to_mood4_sums_probabilities_of_folded_classes():
    probs = dict(zip(FER7, [0.1, 0.05, 0.05, 0.3, 0.1, 0.2, 0.2]))
    moods = to_mood4(probs)
    assert list(moods) == MOOD4
    assert moods == pytest.approx({"happy": 0.5, "sad": 0.1, "neutral": 0.2, "angry": 0.2})
    assert set(FER7_TO_MOOD4) == set(FER7) and set(FER7_TO_MOOD4.values()) == set(MOOD4)


def test_a_wrong_column_names_the_file_and_the_missing_column(tmp_path):
    path = _csv(tmp_path / "f.csv", [_row(0, "Training")], header=["emotion", "pixel", "Usage"])
    with pytest.raises(DataError) as err:
        load(path)
    assert str(path) in str(err.value) and "'pixels'" in str(err.value) and "emotion,pixels,Usage" in str(err.value)


def test_a_short_pixel_row_names_its_line(tmp_path):
    path = _csv(tmp_path / "f.csv", [_row(0, "Training"), _row(1, "Training", "1 2 3")])
    with pytest.raises(DataError) as err:
        load(path)
    assert str(path) in str(err.value) and "line 3" in str(err.value) and "2304" in str(err.value)


def test_a_pixel_out_of_range_is_refused(tmp_path):
    path = _csv(tmp_path / "f.csv", [_row(0, "Training", " ".join(["300"] * 2304))])
    with pytest.raises(DataError, match=r"line 2.*0-255"):
        load(path)


def test_an_unknown_emotion_or_usage_is_refused(tmp_path):
    with pytest.raises(DataError, match=r"emotion is '9'.*0-6"):
        load(_csv(tmp_path / "a.csv", [_row(9, "Training")]))
    with pytest.raises(DataError, match=r"Usage is 'Train'.*PrivateTest"):
        load(_csv(tmp_path / "b.csv", [_row(0, "Train")]))


def test_an_empty_split_is_an_error_naming_it(tmp_path):
    path = fer_data.write_csv(tmp_path / "fer2013.csv", n_train=2, n_val=0, n_test=1)
    with pytest.raises(DataError) as err:
        load(path)
    assert "test split is empty" in str(err.value) and str(path) in str(err.value)
    assert "PublicTest" in str(err.value)


def test_an_unknown_class_folder_is_named(tmp_path):
    root = fer_data.write_folders(tmp_path / "fer", n_train=2, n_test=1)
    (root / "train" / "bored").mkdir()
    with pytest.raises(DataError) as err:
        load(root)
    assert "bored" in str(err.value) and "angry, disgust" in str(err.value)


def test_a_folder_without_test_is_refused(tmp_path):
    (tmp_path / "fer" / "train" / "happy").mkdir(parents=True)
    with pytest.raises(DataError, match="has no test/ folder"):
        load(tmp_path / "fer")


def test_an_unreadable_image_is_named(tmp_path):
    root = fer_data.write_folders(tmp_path / "fer", n_train=2, n_test=1)
    bad = root / "test" / "sad" / "broken.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(DataError) as err:
        load(root)
    assert str(bad) in str(err.value)


def test_train_cli_reports_bad_data_in_one_line_without_traceback(cli, tmp_path):
    path = _csv(tmp_path / "f.csv", [_row(0, "Training", "1 2")])
    result = cli("train", str(path), "--out", str(tmp_path / "out"), module="convert")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{path}: line 2: pixels has 2 values" in result.stderr
