"""``mood-convert bench-keras``: the Keras model against the int8 model on the same crops, on the training host.

TensorFlow-heavy, so one small real run (two frames, a handful of calls) serves the tests that read it.
No timing is asserted: only that each figure is measured and reported.
"""

from __future__ import annotations

import json

import pytest

from conftest import run_cli

SMALL = ("--frames", "2", "--calls", "6", "--predicts", "3")


def positive(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    pytest.importorskip("tensorflow")
    out = tmp_path_factory.mktemp("bench-keras") / "keras.json"
    result = run_cli("bench-keras", *SMALL, "--json", str(out), module="convert", timeout=600)
    assert result.returncode == 0, result.stderr
    return result, json.loads(out.read_text())


def test_keras_call_predict_and_int8_are_timed_per_face(small_run):
    _, report = small_run
    for name in ("classify_int8", "classify_keras_call", "classify_keras_predict"):
        comp = report["comparisons"][name]
        assert positive(comp["median_ms"]) and comp["p95_ms"] >= comp["median_ms"], name
    assert report["comparisons"]["classify_keras_call"]["n"] == 6
    assert report["comparisons"]["classify_keras_predict"]["n"] == 3
    assert report["source"]["faces"] >= 1


def test_ratios_and_the_products_target_are_reported(small_run):
    result, report = small_run
    assert positive(report["ratios"]["keras_call_over_int8"])
    assert positive(report["ratios"]["keras_predict_over_int8"])
    assert report["targets"]["keras_over_int8"]["target"] == 5.0
    assert "keras_call_over_int8" in result.stdout


def test_the_default_keras_model_is_the_cards_architecture(small_run):
    _, report = small_run
    # the default model's card names its architecture: mood-xception, trained on FER+ by mood-convert train
    assert report["model"]["keras"] == "mood-xception"
    assert report["model"]["weights"].startswith("mood-xception")
    assert report["machine"]["tensorflow"] and report["machine"]["runtime"] == "ai-edge-litert"


def test_compare_fer_without_fer_is_a_one_line_error(tmp_path):
    pytest.importorskip("tensorflow")
    try:
        import fer  # noqa: F401
        pytest.skip("fer is installed here")
    except ImportError:
        pass
    result = run_cli("bench-keras", *SMALL, "--compare-fer", module="convert")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].endswith(
        "--compare-fer: the fer package is not installed (expected `pip install fer` (it pulls TensorFlow, "
        "torch and facenet-pytorch), or leave out --compare-fer)")
    assert "Traceback" not in result.stderr


def test_a_missing_keras_model_is_a_clear_error(tmp_path):
    result = run_cli("bench-keras", "--keras-model", str(tmp_path / "nope.keras"), module="convert")
    assert result.returncode == 2
    assert "--keras-model: no such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_mood_convert_lists_bench_keras():
    result = run_cli("--help", module="convert")
    assert result.returncode == 0
    assert "bench-keras" in result.stdout and "time the Keras model" in result.stdout
