"""Bad input, generated: thousands of malformed configs, catalogs, model cards, models and images.

Every loader must end in the project's own error type (a :class:`MoodEdgeError` subclass with a
message), never another exception; an input a loader accepts must not crash the stage it feeds.
Hypothesis generates the inputs: random values, and mutations of the real shipped files
(catalog.json, a model card, a .tflite model, encoded camera images).

The TFLite interpreter is C++: a corrupt but well-formed flatbuffer can crash it (SIGSEGV) instead
of raising. Inputs handed to the interpreter therefore run in a worker process that forks once per
input, so a crash is seen as a signal and reported instead of killing the test run. The daemon's own
defence is the model card: a model whose sha256 differs from its card is refused before the
interpreter ever sees it (shown below with a corrupt model that does crash LiteRT).

The number of inputs tried per loader is recorded as figures (``fuzz.<loader>.inputs``). CI runs a
fixed set (derandomized, ~5,000 inputs in under a minute); MOOD_EDGE_LONG=1 runs ten times as many, new
ones each time.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import hashlib
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from edge import config as config_mod
from edge.sources import open_source
from edge.sources.opencv import ImageFolderSource, load_gray
from edge.recommend.catalog import MOODS, load_catalog, validate_catalog
from edge.classify.classifier import Classifier, FacePrediction
from edge.detectors.base import Face
from edge.detectors.make import make_detector
from edge.errors import CatalogError, ConfigError, ModelError, MoodEdgeError, SourceError
from edge.mqtt.homeassistant import discovery_messages
from edge.classify.labels import FER7
from edge.classify.modelcard import MAX_INPUT_VALUE, load_card, parse_card
from edge.mood import MoodSmoother
from edge.mqtt.publish import Publisher
from edge.recommend.recommender import Recommender
from faces import astronaut_gray
from plugins.long import record_figure

ROOT = Path(__file__).resolve().parent.parent
DETECTOR_MODEL = ROOT / "models" / "face_detection_short_range.tflite"
EMOTION_MODEL = ROOT / "models" / "mini_xception_fer7_int8.tflite"

#: inputs tried per loader in this run (reported as figures at the end of the module)
TRIED: Counter[str] = Counter()

#: CI: 400 examples per test, the same ones every run; MOOD_EDGE_LONG=1: 4000, new ones every run
LONG = os.environ.get("MOOD_EDGE_LONG") == "1"
FUZZ = settings(max_examples=4000 if LONG else 400, deadline=None, derandomize=not LONG,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
FUZZ_FEW = settings(FUZZ, max_examples=1500 if LONG else 150)


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request: pytest.FixtureRequest):
    yield
    for name, count in sorted(TRIED.items()):
        record_figure(request.config, f"fuzz.{name}.inputs", count)
    record_figure(request.config, "fuzz.total.inputs", sum(TRIED.values()))


@pytest.fixture(scope="module")
def scratch() -> Path:
    """A folder shared by the examples of this module (Hypothesis reruns a test body many times)."""
    with tempfile.TemporaryDirectory(prefix="mood-edge-fuzz-") as d:
        yield Path(d)


# -------------------------------------------------------------------------------- strategies

#: values that sit near the edge of what a field accepts
NEAR_MISS: list[Any] = ["", " ", "\n", "\x00", "🎬", "x" * 5000, "happy", "comedy", "mqtt://", "file:", "dir:",
                        0, -1, 1, 2, 65536, 10**20, -(10**20), 0.0, -0.0, 1e-300, 1.5, -1.5,
                        float("nan"), float("inf"), float("-inf"), True, False, None, [], {}, [1, "a"], {"a": 1}]

json_scalars = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
                | st.sampled_from(NEAR_MISS))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=10)
toml_scalars = (st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.floats()
                | st.text(max_size=30) | st.datetimes() | st.dates() | st.times()
                | st.sampled_from([v for v in NEAR_MISS if v is not None and not isinstance(v, (list, dict))
                                   and not (isinstance(v, int) and abs(v) >= 2**63)]))
toml_values = st.recursive(toml_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=6)


def _config_keys() -> dict[str, list[str]]:
    cfg = config_mod.Config()
    return {f.name: [g.name for g in dataclasses.fields(getattr(cfg, f.name))]
            for f in dataclasses.fields(cfg) if f.name != "origin"}


CONFIG_KEYS = _config_keys()
#: sensible values per key, so that many generated configs pass and reach the stages they configure
GOOD_VALUES: dict[str, list[Any]] = {
    "camera.source": ["picamera2", "v4l2:0", "v4l2:/dev/video9", "file:/nonexistent.mp4", "dir:/nonexistent"],
    "detector.kind": ["haar"],
    "model.labels": ["fer7", "mood4"],
    "recommend.strategy": ["match", "lift"],
    "mqtt.broker": ["", "mqtt://localhost", "mqtts://u:p@127.0.0.1:8883", "mqtt://[::1]:1883", "mqtt://[::1",
                    "mqtt://h:0", "mqtt://h:99999", "mqtt://a b", "mqtts://host/path?x#y"],
    "mqtt.device_id": ["livingroom", "a-b_c", "x" * 64, "bad/level", "#", ""],
    "mqtt.topic_prefix": ["mood-edge", "a/b", "x/", "+", ""],
    "daemon.log_level": ["debug", "INFO", "trace"],
    "homeassistant.discovery_prefix": ["homeassistant", "", "/x", "a/+"],
    "mqtt.password_file": ["", "/nonexistent/secret"],
    "mqtt.ca_file": ["", "/nonexistent/ca.pem"],
}


NUMBERS = [-1, 0, 1, 2, 5, 64, 65535, 65536, 2**31, 0.0, 0.5, 0.99, 1.0, 1.0001, 1.15, 4.0, 4.5, 1e-9, 1e9]


@st.composite
def config_edits(draw: st.DrawFn) -> tuple[str, str, Any]:
    """One ``(section, key, value)``: a real key (mostly) with a good, boundary or random value."""
    section = draw(st.sampled_from(sorted(CONFIG_KEYS)) if draw(st.integers(0, 9)) else st.text(max_size=8))
    keys = CONFIG_KEYS.get(section) or ["x"]
    key = draw(st.sampled_from(keys) if draw(st.integers(0, 9)) else st.text(max_size=8))
    default = getattr(getattr(config_mod.Config(), section, None), key, None)
    good = GOOD_VALUES.get(f"{section}.{key}")
    pick = draw(st.integers(0, 9))
    if good and pick < 5:
        value = draw(st.sampled_from(good))
    elif isinstance(default, bool) and pick < 5:
        value = draw(st.booleans())
    elif isinstance(default, (int, float)) and not isinstance(default, bool) and pick < 7:
        value = draw(st.sampled_from(NUMBERS) | st.integers(-3, 100) | st.floats(-10, 1000))
        value = int(value) if isinstance(default, int) and isinstance(value, float) and value.is_integer() else value
    elif pick < 9:
        value = draw(toml_scalars | st.sampled_from(NEAR_MISS))
    else:
        value = draw(toml_values)
    return section, key, value


@st.composite
def config_dicts(draw: st.DrawFn) -> dict[str, Any]:
    """A config as a dict: a few edits, so that many are valid and reach the stages they configure;
    sometimes a whole section is replaced by a random value."""
    data: dict[str, Any] = {}
    for section, key, value in draw(st.lists(config_edits(), max_size=4)):
        table = data.setdefault(section, {})
        if isinstance(table, dict):
            table[key] = value
    if data and draw(st.integers(0, 19)) == 0:
        data[draw(st.sampled_from(sorted(data)))] = draw(toml_values)
    return data


def toml_text(data: dict[str, Any]) -> str:
    """A TOML document for ``data`` (tables of key = value); None values are left out (TOML has none)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, float):
            return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
        if isinstance(v, str):
            return json.dumps(v, ensure_ascii=False)
        if isinstance(v, (dt.datetime, dt.date, dt.time)):
            return v.isoformat()
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v if x is not None) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items() if x is not None) + "}"
        return json.dumps(str(v))

    lines = []
    for section, table in data.items():
        if isinstance(table, dict):
            lines.append(f"[{json.dumps(section)}]")
            lines += [f"{json.dumps(k)} = {value(v)}" for k, v in table.items() if v is not None]
        elif table is not None:
            lines.insert(0, f"{json.dumps(section)} = {value(table)}")
    return "\n".join(lines) + "\n"


def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, prefix + (i,))
    return out


@st.composite
def mutated(draw: st.DrawFn, original: Any, max_mutations: int = 3) -> Any:
    """``original`` with 1..n random edits: delete a field, replace a value, add an unknown key,
    duplicate a list entry, or swap in a near-miss value."""
    doc = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, max_mutations))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        if not path:
            doc = draw(json_values) if draw(st.integers(0, 20)) == 0 else doc
            continue
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        op = draw(st.sampled_from(["delete", "replace", "near", "add", "duplicate"]))
        if op == "delete":
            del parent[last]
        elif op == "replace":
            parent[last] = draw(json_values)
        elif op == "near":
            parent[last] = draw(st.sampled_from(NEAR_MISS))
        elif op == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(json_values)
        elif op == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
    return doc


def corrupt_bytes(data: bytes) -> st.SearchStrategy[bytes]:
    """Truncations, byte edits and both, of an encoded file."""

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        out = bytearray(data)
        op = draw(st.sampled_from(["truncate", "edit", "both", "splice"]))
        if op in ("truncate", "both"):
            out = out[: draw(st.integers(0, max(0, len(out) - 1)))]
        if op in ("edit", "both") and out:
            for _ in range(draw(st.integers(1, 24))):
                out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
        if op == "splice":
            at = draw(st.integers(0, len(out)))
            out[at:at] = draw(st.binary(max_size=64))
        return bytes(out)

    return build()


def assert_own_error(exc: BaseException, kind: type[MoodEdgeError]) -> None:
    assert isinstance(exc, kind), f"{type(exc).__name__}: {exc}"
    assert str(exc).strip(), "the error has no message"


# -------------------------------------------------------------------------------- configs


def exercise_config(cfg: config_mod.Config) -> None:
    """Build every stage a config drives without touching the network or a model, and run it once."""
    if cfg.mqtt.broker:
        Publisher(cfg.mqtt)  # parses the URL, reads secrets, sets up TLS; connects nothing
    open_source(cfg.camera)
    detector = make_detector(cfg.detector)
    detector.detect(np.zeros((60, 80), np.uint8))
    discovery_messages(cfg, "model-id")
    smoother = MoodSmoother(cfg.mood, list(FER7))
    face = Face(10, 10, 40, 40)
    probs = {label: 1.0 / 7 for label in FER7}
    for t in (0.0, 1.0, 100.0):
        smoother.update([FacePrediction(face, probs, "happy", 1.0 / 7)], now=t, wall=t)
        smoother.update([], now=t + 50, wall=t + 50)


@FUZZ
@given(data=config_dicts())
@example(data={"detector": {"scale_factor": 1.0}})  # was accepted, then cv2.error in the main loop
@example(data={"mood": {"dwell_s": 10**400}})  # was an OverflowError
@example(data={"mqtt": {"broker": "mqtt://[::1"}})  # was accepted, then ValueError in the publisher
def test_any_config_dict_is_accepted_or_refused_with_a_config_error(data):
    TRIED["config.from_dict"] += 1
    try:
        cfg = config_mod.from_dict(data, origin="<fuzz>")
        exercise_config(cfg)
    except MoodEdgeError as exc:
        assert_own_error(exc, MoodEdgeError)


@FUZZ
@given(data=config_dicts())
def test_any_toml_document_is_loaded_or_refused_with_a_config_error(scratch, data):
    TRIED["config.load"] += 1
    path = scratch / "config.toml"
    path.write_text(toml_text(data), encoding="utf-8")
    try:
        cfg = config_mod.load(path)
    except MoodEdgeError as exc:
        assert_own_error(exc, ConfigError)
        assert str(path) in str(exc)  # it names the file
        return
    try:
        exercise_config(cfg)  # a stage may still refuse it at start-up, with our own error
    except MoodEdgeError as exc:
        assert_own_error(exc, MoodEdgeError)


@pytest.mark.parametrize("key, value", [
    ("camera.retry_s", 0.0),  # the camera would be reopened in a busy loop
    ("camera.retry_max_s", -1.0),
    ("detector.scale_factor", 1.0),  # OpenCV raises inside the main loop
    ("detector.min_neighbors", -1),
    ("mood.min_face_confidence", 2.0),  # every face would be ignored
    ("mood.ema_alpha", float("nan")),
    ("mqtt.heartbeat_s", float("inf")),
    ("mqtt.keepalive_s", 70_000),  # paho refuses it only when connecting
    ("mqtt.reconnect_min_s", 0.0),
    ("mqtt.broker", "mqtt://[::1"),
    ("homeassistant.discovery_prefix", "homeassistant/"),
])
def test_settings_that_would_spin_or_crash_the_running_loop_are_refused_at_load(tmp_path, key, value):
    section, name = key.split(".")
    path = tmp_path / "config.toml"
    path.write_text(toml_text({section: {name: value}}))
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        config_mod.load(path)


def test_a_bad_broker_url_error_does_not_show_the_password(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[mqtt]\nbroker = "mqtt://edge:s3cret-pw@[::1"\n')
    with pytest.raises(ConfigError) as info:
        config_mod.load(path)
    assert "s3cret-pw" not in str(info.value) and "edge:***@" in str(info.value)


EXAMPLE_CONFIG = (ROOT / "config.example.toml").read_bytes() if (ROOT / "config.example.toml").exists() else b""


@FUZZ
@given(raw=st.binary(max_size=400) | st.text(max_size=400).map(lambda s: s.encode("utf-8", "surrogatepass"))
       | corrupt_bytes(EXAMPLE_CONFIG))
def test_any_config_file_bytes_are_loaded_or_refused_with_a_config_error(scratch, raw):
    TRIED["config.load"] += 1
    path = scratch / "raw.toml"
    path.write_bytes(raw)
    try:
        exercise_config(config_mod.load(path))
    except MoodEdgeError as exc:
        assert_own_error(exc, MoodEdgeError)


@FUZZ
@given(key=st.sampled_from([f"{s}.{k}" for s, keys in CONFIG_KEYS.items() for k in keys]) | st.text(max_size=20),
       value=toml_values | st.sampled_from(NEAR_MISS))
@example(key="mqtt.password_file", value="\x00")  # was a ValueError traceback (found by MOOD_EDGE_LONG=1)
@example(key="detector.num_threads", value=2**31)  # was a TypeError from the interpreter (MOOD_EDGE_LONG=1)
def test_any_command_line_override_is_applied_or_refused_with_a_config_error(key, value):
    TRIED["config.set_value"] += 1
    cfg = config_mod.Config()
    try:
        config_mod.set_value(cfg, key, value)
        exercise_config(cfg)
    except MoodEdgeError as exc:
        assert_own_error(exc, MoodEdgeError)


@FUZZ
@given(url=st.text(max_size=60) | st.builds(lambda s, t: s + t, st.sampled_from(["mqtt://", "mqtts://"]),
                                            st.text(max_size=40)))
@example(url="mqtt://[")  # was a ValueError from urllib
@example(url="mqtt://a b")  # was accepted as host "a b"
def test_any_broker_url_is_parsed_or_refused_with_a_config_error(url):
    TRIED["config.parse_broker"] += 1
    try:
        broker = config_mod.parse_broker(url)
    except MoodEdgeError as exc:
        assert_own_error(exc, ConfigError)
        return
    assert broker.host and 1 <= broker.port <= 65535


# -------------------------------------------------------------------------------- catalogs

CATALOG = json.loads((ROOT / "catalog.json").read_text(encoding="utf-8"))
#: a small catalog (the real policy, a few films) so that each example stays cheap
SMALL_CATALOG = {**CATALOG, "films": CATALOG["films"][:6]}


def exercise_catalog(catalog) -> None:
    rec = Recommender(catalog, strategy="lift", count=3, seed=1)
    for mood in MOODS:
        rec.recommend(mood, None if mood == "nobody" else {m: 1.0 / len(FER7) for m in FER7})


@FUZZ
@given(doc=mutated(SMALL_CATALOG))
def test_a_mutated_catalog_is_accepted_or_refused_with_a_catalog_error(doc):
    TRIED["catalog.validate_catalog"] += 1
    try:
        catalog = validate_catalog(doc, origin="fuzz.json")
    except MoodEdgeError as exc:
        assert_own_error(exc, CatalogError)
        assert "fuzz.json" in str(exc)
        return
    exercise_catalog(catalog)


@FUZZ_FEW
@given(doc=json_values)
def test_any_json_value_as_a_catalog_is_refused_with_a_catalog_error(doc):
    TRIED["catalog.validate_catalog"] += 1
    with pytest.raises(CatalogError) as info:
        validate_catalog(doc, origin="fuzz.json")
    assert str(info.value).strip()


@FUZZ
@given(raw=corrupt_bytes(json.dumps(SMALL_CATALOG, indent=1).encode()) | st.binary(max_size=300))
def test_a_corrupt_catalog_file_is_loaded_or_refused_with_a_catalog_error(scratch, raw):
    TRIED["catalog.load_catalog"] += 1
    path = scratch / "catalog.json"
    path.write_bytes(raw)
    try:
        exercise_catalog(load_catalog(path))
    except MoodEdgeError as exc:
        assert_own_error(exc, CatalogError)
        assert str(path) in str(exc)


# -------------------------------------------------------------------------------- model cards

CARD = json.loads((ROOT / "models" / "face_detection_short_range.json").read_text(encoding="utf-8"))


@FUZZ
@given(doc=mutated(CARD) | json_values)
@example(doc={**CARD, "preprocess": {**CARD["preprocess"], "scale": float("nan")}})  # was accepted
@example(doc={**CARD, "id": ""})  # was accepted
@example(doc={**CARD, "preprocess": {**CARD["preprocess"], "scale": 1e300}})  # overflowed the classifier's table
def test_a_mutated_model_card_is_parsed_or_refused_with_a_model_error(doc):
    TRIED["modelcard.parse_card"] += 1
    try:
        card = parse_card(doc, Path("fuzz.json"))
    except MoodEdgeError as exc:
        assert_own_error(exc, ModelError)
        return
    pre = card.preprocess
    # what the classifier folds into its lookup table must be usable numbers
    assert all(math.isfinite(v) for v in (pre.scale, pre.offset, pre.crop_margin)), pre
    assert pre.scale != 0 and max(abs(pre.offset), abs(255 * pre.scale + pre.offset)) <= MAX_INPUT_VALUE, pre
    assert card.labels and card.id and len(card.input_size) == 2


@FUZZ
@given(raw=corrupt_bytes(json.dumps(CARD).encode()) | st.binary(max_size=200))
def test_a_corrupt_model_card_file_is_refused_with_a_model_error(scratch, raw):
    TRIED["modelcard.load_card"] += 1
    model = scratch / "m.tflite"
    model.write_bytes(b"\x00" * 8)
    model.with_suffix(".json").write_bytes(raw)
    with pytest.raises(MoodEdgeError) as info:
        load_card(model)  # even a well-formed card names another sha256 than this file's
    assert_own_error(info.value, ModelError)


@pytest.mark.skipif(not EMOTION_MODEL.exists(), reason="the shipped emotion model is not in models/ yet")
@pytest.mark.filterwarnings("error::RuntimeWarning")  # an overflow in the input table is a bug, not noise
@FUZZ_FEW
@given(doc=st.data())
def test_a_card_the_parser_accepts_drives_the_classifier_without_crashing(doc):
    """A mutated card for the real model: refused with ModelError, or the classifier runs on a face."""
    TRIED["classify.Classifier(card)"] += 1
    real = json.loads(EMOTION_MODEL.with_suffix(".json").read_text(encoding="utf-8"))
    data = doc.draw(mutated(real, max_mutations=2))
    try:
        card = parse_card(data, EMOTION_MODEL.with_suffix(".json"))
        clf = Classifier(EMOTION_MODEL, num_threads=1, card=card)
    except MoodEdgeError as exc:
        assert_own_error(exc, ModelError)
        return
    preds = clf.classify(_ASTRONAUT, [Face(150, 60, 140, 140), Face(-5, -5, 3, 3)])
    assert all(math.isfinite(p.confidence) for p in preds)


_ASTRONAUT = astronaut_gray()


@pytest.mark.skipif(not EMOTION_MODEL.exists(), reason="the shipped emotion model is not in models/ yet")
def test_a_card_whose_labels_have_no_movie_policy_is_refused_at_start(tmp_path, cli):
    """It once started, then crashed with a traceback the first time the unknown label won."""
    model = tmp_path / "relabelled.tflite"
    shutil.copy(EMOTION_MODEL, model)
    card = json.loads(EMOTION_MODEL.with_suffix(".json").read_text(encoding="utf-8"))
    card["labels"] = ["joy" if label == "happy" else label for label in card["labels"]]
    model.with_suffix(".json").write_text(json.dumps(card))
    run = cli("run", "--model", str(model), "--camera", "dir:/nonexistent", "--broker", "", "--frames", "1",
              "--state-dir", str(tmp_path / "state"))
    assert run.returncode == 2, run.stderr
    assert "relabelled.json: labels" in run.stderr and "'joy'" in run.stderr and "Traceback" not in run.stderr


# -------------------------------------------------------------------------------- .tflite files

# One long-lived worker that forks per input: a crash in the C++ interpreter kills only the fork.
WORKER = r"""
import os, sys
sys.path.insert(0, os.getcwd())
import numpy as np
from edge.classify.classifier import Classifier, load_interpreter
from edge.errors import ModelError
for line in sys.stdin:
    mode, path = line.rstrip("\n").split(" ", 1)
    pid = os.fork()
    if pid == 0:
        try:
            if mode == "interpreter":
                it = load_interpreter(path, 1)
                d = it.get_input_details()[0]
                it.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
                it.invoke()
            else:
                Classifier(path, num_threads=1)
            os._exit(0)
        except ModelError as exc:
            os._exit(1 if str(exc).strip() else 3)
        except BaseException as exc:
            sys.stderr.write(f"{type(exc).__name__}: {exc}\n"); sys.stderr.flush()
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    code = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit {os.WEXITSTATUS(status)}"
    print(code, flush=True)
"""

OUTCOME = {"exit 0": "loaded", "exit 1": "ModelError", "exit 2": "another exception",
           "exit 3": "ModelError without a message"}


class ForkWorker:
    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                                     env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})

    def run(self, mode: str, path: Path) -> str:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(f"{mode} {path}\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline().strip()
        return OUTCOME.get(line, line)

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(30)


@pytest.fixture(scope="module")
def worker():
    w = ForkWorker()
    yield w
    w.close()


def _model_bytes() -> list[bytes]:
    models = [DETECTOR_MODEL.read_bytes()]
    if EMOTION_MODEL.exists():
        models.append(EMOTION_MODEL.read_bytes())
    return models


MODELS = _model_bytes()

tflite_inputs = (st.binary(max_size=2048)
                 | st.builds(lambda head, tail: head + b"TFL3" + tail, st.binary(min_size=4, max_size=4),
                             st.binary(max_size=2048))
                 | st.sampled_from(MODELS).flatmap(lambda m: st.integers(0, len(m) - 1).map(lambda n: m[:n])))


@FUZZ
@given(raw=tflite_inputs)
def test_a_random_or_truncated_tflite_file_is_refused_with_a_model_error(scratch, worker, raw):
    TRIED["classify.load_interpreter"] += 1
    path = scratch / "fuzz.tflite"
    path.write_bytes(raw)
    assert worker.run("interpreter", path) == "ModelError", f"{len(raw)} bytes, starting {raw[:16]!r}"


@FUZZ_FEW
@given(raw=tflite_inputs)
def test_a_random_model_with_a_matching_card_is_refused_with_a_model_error(scratch, worker, raw):
    """Even when a card vouches for the file (sha256 matches), junk ends in ModelError."""
    TRIED["classify.Classifier(file)"] += 1
    path = scratch / "carded.tflite"
    path.write_bytes(raw)
    card = {"schema": 1, "id": "fuzz", "file": path.name, "sha256": hashlib.sha256(raw).hexdigest(),
            "labels": list(FER7), "input": {"size": [64, 64]}, "preprocess": {}}
    path.with_suffix(".json").write_text(json.dumps(card))
    assert worker.run("classifier", path) == "ModelError", f"{len(raw)} bytes, starting {raw[:16]!r}"


def _flip(data: bytes, rng: random.Random, n: int) -> bytes:
    out = bytearray(data)
    for _ in range(n):
        out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


@FUZZ
@given(seed=st.integers(0, 2**32 - 1), flips=st.integers(1, 40))
def test_a_corrupted_model_is_refused_by_its_card_before_the_interpreter_sees_it(scratch, seed, flips):
    TRIED["classify.Classifier(corrupt model)"] += 1
    original = DETECTOR_MODEL.read_bytes()
    corrupt = _flip(original, random.Random(seed), flips)
    if corrupt == original:
        return
    path = scratch / DETECTOR_MODEL.name
    path.write_bytes(corrupt)
    path.with_suffix(".json").write_text(json.dumps(CARD))
    with pytest.raises(ModelError) as info:
        Classifier(path, num_threads=1)  # in-process: a crash here would end the test run
    assert info.value.field == "sha256"


def test_a_model_that_crashes_the_interpreter_cannot_reach_it_through_the_daemon(scratch, worker):
    """Find (deterministically) a corrupt model that kills LiteRT, then load it the daemon's way."""
    original = DETECTOR_MODEL.read_bytes()
    rng = random.Random(20261122)
    probe = scratch / "probe.tflite"
    crashing = None
    for _ in range(600):
        candidate = _flip(original, rng, rng.randrange(1, 20))
        probe.write_bytes(candidate)
        if worker.run("interpreter", probe).startswith("signal"):
            crashing = candidate
            break
    if crashing is None:
        pytest.skip("no corrupt variant crashed this LiteRT build in 600 tries")
    path = scratch / "crashing" / DETECTOR_MODEL.name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(crashing)
    path.with_suffix(".json").write_text(json.dumps(CARD))
    with pytest.raises(ModelError, match="sha256"):
        Classifier(path, num_threads=1)


# -------------------------------------------------------------------------------- images


def _encodings() -> list[bytes]:
    small = cv2.resize(astronaut_gray(), (96, 96), interpolation=cv2.INTER_AREA)
    return [cv2.imencode(ext, small)[1].tobytes() for ext in (".png", ".jpg", ".bmp", ".tiff", ".webp", ".pgm")]


ENCODED = _encodings()


@FUZZ
@given(raw=st.sampled_from(ENCODED).flatmap(corrupt_bytes) | st.binary(max_size=512))
def test_a_corrupt_image_is_decoded_or_refused_with_a_source_error(scratch, raw):
    TRIED["camera.load_gray"] += 1
    path = scratch / "frame.png"
    path.write_bytes(raw)
    try:
        image = load_gray(path)
    except MoodEdgeError as exc:
        assert_own_error(exc, SourceError)
        assert str(path) in str(exc)
        return
    assert image.ndim == 2 and image.dtype == np.uint8 and image.size > 0


def _png_header(width: int, height: int) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("size", [(100_000, 100_000), (2**31 - 1, 2**31 - 1), (1, 2**31 - 1)])
def test_an_image_that_claims_an_absurd_size_is_a_source_error(tmp_path, size):
    path = tmp_path / "huge.png"
    path.write_bytes(_png_header(*size))
    with pytest.raises(SourceError, match="huge.png"):
        load_gray(path)


def test_a_folder_source_reports_a_corrupt_image_as_a_source_error(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "0000.png"), astronaut_gray())
    (folder / "0001.png").write_bytes(_png_header(100_000, 100_000))
    source = ImageFolderSource(str(folder))
    source.open()
    assert source.read() is not None
    with pytest.raises(SourceError, match="0001.png"):
        source.read()
