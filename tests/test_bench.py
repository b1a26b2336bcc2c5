"""``mood-edge bench``: a real run on the bundled clip, its JSON, table and plot, and its errors.

No timing is asserted: only that every figure is measured (present and positive) and reported.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from edge.commands.bench import parse_size
from edge.measure import SIMD_FLAGS
from edge.commands.bench.progress import Progress
from edge.commands.bench.timing import STAGES
from edge.measure import summarize
from edge.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
QUICK = ("--frames", "6", "--warmup", "1", "--compare-frames", "3", "--no-progress")


def blocked(tmp_path: Path, *modules: str) -> dict[str, str]:
    """An environment in which importing ``modules`` fails, as on a Pi without them."""
    stubs = tmp_path / "blocked"
    for name in modules:
        (stubs / name).mkdir(parents=True)
        (stubs / name / "__init__.py").write_text(f"raise ImportError('{name} is blocked for this test')\n")
    return {"PYTHONPATH": str(stubs)}


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """One complete bench (every comparison) on the sample clip, shared by the tests that read it."""
    from conftest import run_cli

    out = tmp_path_factory.mktemp("bench")
    result = run_cli("bench", *QUICK, "--json", str(out / "bench.json"), "--plot", str(out / "bench.png"),
                     timeout=600)
    assert result.returncode == 0, result.stderr
    return result, json.loads((out / "bench.json").read_text()), out / "bench.png"


def positive(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def test_json_has_every_stage_with_positive_percentiles(full_run):
    _, report, _ = full_run
    assert set(report["stages"]) == set(STAGES)
    assert "classify" in report["stages"] and "detect" in report["stages"]
    for name, stage in report["stages"].items():
        for key in ("median_ms", "p95_ms", "p99_ms"):
            assert positive(stage[key]), (name, key, stage)
        assert stage["p95_ms"] >= stage["median_ms"]


def test_json_has_end_to_end_fps_cpu_memory_and_machine(full_run):
    _, report, _ = full_run
    for key in ("median_ms", "p95_ms", "fps"):
        assert positive(report["end_to_end"][key])
    assert positive(report["rss_mb"])
    assert positive(report["cpu"]["ms_per_frame"])
    machine = report["machine"]
    for key in ("cpu", "cores", "python", "litert", "opencv", "numpy"):
        assert machine[key], key
    assert set(machine["simd"]) <= set(SIMD_FLAGS)  # which int8 dot-product support the CPU has
    assert report["source"]["frames"] == 6 and report["source"]["size"] == [640, 480]


def test_comparisons_cover_models_threads_and_detectors_with_ratios(full_run):
    _, report, _ = full_run
    comps = report["comparisons"]
    for name in ("classify_int8_1t", "classify_int8_2t", "classify_float32_1t",
                 "detect_haar_320x240", "detect_blazeface_320x240", "detect_haar_640x480",
                 "detect_blazeface_640x480", "detect_haar_track_640x480"):
        assert name in comps, sorted(comps)
    for name, comp in comps.items():
        assert positive(comp["median_ms"]), name
        assert positive(comp["ratio_to_baseline"]), name
    assert positive(report["ratios"]["haar_over_blazeface_320x240"])
    assert positive(report["ratios"]["float32_over_int8"])


def test_keras_and_fer_are_reported_as_moved_to_mood_convert(full_run):
    _, report, _ = full_run
    assert not any("keras" in name or "fer" in name for name in report["comparisons"])
    assert "mood-convert bench-keras" in report["skipped"]["classify_keras"]
    assert "mood-convert bench-keras" in report["skipped"]["fer_pipeline"]
    assert "tensorflow" not in report["machine"]


def test_plot_is_a_png(full_run):
    _, _, png = full_run
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10_000


def test_table_shows_every_stage_and_says_publish_was_not_sent(full_run):
    result, _, _ = full_run
    for title in ("capture/decode", "face detection", "crop+resize+scale", "classify", "smooth+recommend",
                  "publish", "end-to-end", "peak RSS", "BlazeFace", "Haar", "int8 TFLite", "float32 TFLite"):
        assert title in result.stdout, title
    assert "serialisation only" in result.stdout


def test_smaller_camera_size_is_measured_at_that_size(cli, tmp_path):
    result = cli("bench", *QUICK, "--no-compare", "--size", "320x240", "--detector", "blazeface",
                 "--json", str(tmp_path / "b.json"))
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "b.json").read_text())
    assert report["source"]["size"] == [320, 240]
    assert report["pipeline"]["detector"] == "blazeface+track"  # tracking is on by default
    assert report["comparisons"] == {}


def test_publishes_to_a_real_broker_and_clears_its_retained_state(cli, broker, subscriber_factory, tmp_path):
    sub = subscriber_factory(broker.port, ["mood-edge/bench/state"])
    result = cli("bench", *QUICK, "--no-compare", "--broker", broker.url, "--json", str(tmp_path / "b.json"))
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "b.json").read_text())
    assert report["pipeline"]["publish"].startswith(f"published to {broker.url}")
    assert report["pipeline"]["published"] >= 6
    first = sub.wait_for("mood-edge/bench/state", lambda m: m.payload)
    assert json.loads(first.payload)["schema"] == 1
    # the bench leaves no retained state behind for displays to show
    late = subscriber_factory(broker.port, ["mood-edge/bench/state"])
    with pytest.raises(TimeoutError):
        late.wait_for("mood-edge/bench/state", lambda m: m.payload, timeout=1.5)


def test_bench_runs_without_tensorflow(cli, tmp_path):
    result = cli("bench", *QUICK, "--json", str(tmp_path / "b.json"),
                 env=blocked(tmp_path, "tensorflow", "keras"))
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "b.json").read_text())
    assert "classify_int8_1t" in report["comparisons"]


@pytest.mark.parametrize("option", [("--keras-model", "m.keras"), ("--compare-fer",)])
def test_the_old_keras_and_fer_options_point_to_mood_convert(cli, option):
    result = cli("bench", *QUICK, *option)
    assert result.returncode == 2
    assert f"{option[0]}: the Keras and fer comparisons moved" in result.stderr
    assert "mood-convert bench-keras" in result.stderr
    assert "Traceback" not in result.stderr


def test_plot_without_matplotlib_is_a_clear_error_before_measuring(cli, tmp_path):
    result = cli("bench", *QUICK, "--plot", str(tmp_path / "b.png"), env=blocked(tmp_path, "matplotlib"))
    assert result.returncode == 2
    assert "--plot: matplotlib is not installed" in result.stderr
    assert "Traceback" not in result.stderr
    assert "pipeline" not in result.stdout


def test_unknown_option_is_refused(cli):
    result = cli("bench", "--frames", "3", "--bogus")
    assert result.returncode == 2
    assert "unrecognized arguments" in result.stderr


@pytest.mark.parametrize("make_source,message", [
    (lambda p: f"file:{p / 'missing.mp4'}", "no such video file"),
    (lambda p: f"dir:{p / 'missing'}", "no such folder"),
    (lambda p: (p / "empty").mkdir() or f"dir:{p / 'empty'}", "holds no images"),
    (lambda p: (p / "notvideo.mp4").write_text("hello") and f"file:{p / 'notvideo.mp4'}", "notvideo.mp4"),
    (lambda p: "rtsp://camera", "camera.source"),
])
def test_unreadable_sources_are_clear_errors(cli, tmp_path, make_source, message):
    result = cli("bench", *QUICK, "--camera", make_source(tmp_path))
    assert result.returncode == 2, result.stdout
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args,message", [
    (("--frames", "0"), "--frames: got 0"),
    (("--size", "big"), "--size: got 'big'"),
    (("--json", "/no/such/folder/b.json"), "--json: its folder does not exist"),
    (("--model", "/no/such/model.tflite"), "no such model file"),
])
def test_bad_values_are_clear_errors(cli, args, message):
    result = cli("bench", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_help_describes_the_comparisons(cli):
    result = cli("bench", "--help")
    assert result.returncode == 0
    for word in ("--camera", "--frames", "--json", "--plot", "--broker", "mood-convert bench-keras", "int8",
                 "BlazeFace"):
        assert word in result.stdout


# --- the helpers ---------------------------------------------------------------------------------

def test_summary_reports_percentiles_in_milliseconds():
    s = summarize([i * 1_000_000 for i in range(1, 101)])  # 1..100 ms
    assert s["median_ms"] == pytest.approx(50.5)
    assert s["p95_ms"] == pytest.approx(95.05)
    assert s["p99_ms"] == pytest.approx(99.01)
    assert s["n"] == 100


def test_summary_of_nothing_has_no_figures():
    assert summarize([])["median_ms"] is None


def test_size_is_width_by_height():
    assert parse_size("320x240") == (320, 240)
    assert parse_size(None) is None
    with pytest.raises(ConfigError, match="WIDTHxHEIGHT"):
        parse_size("320")


def test_progress_off_a_terminal_writes_one_line_per_phase():
    stream = io.StringIO()
    bar = Progress("pipeline", 3, stream=stream)
    for _ in range(3):
        bar.update()
    bar.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pipeline") and "3/3" in lines[0]

