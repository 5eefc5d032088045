"""`edgelstm quantize` end to end (Keras 3 -> converter child process -> int8 .tflite) and its
refusals; the Python API; `simulate` agreeing with what `quantize` reported."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgelstm.tflite.reader import parse_flatbuffer, read_metadata
from edgelstm.tflite.schema import op_name

from .conftest import assert_one_line_error, need_tflm, run_cli


def _train(ds_path: Path, out: Path, **cfg) -> Path:
    from edgelstm.data import load_dataset
    from edgelstm.train import TrainConfig, save_model, train_model

    ds = load_dataset(ds_path)
    res = train_model(ds, TrainConfig(epochs=cfg.pop("epochs", 2), batch_size=32, **cfg))
    save_model(res, out)
    return out


@pytest.fixture(scope="module")
def tiny_lstm(radar_tiny, tmp_path_factory) -> Path:
    return _train(radar_tiny, tmp_path_factory.mktemp("m") / "lstm.keras", units=8)


def test_quantize_lstm_end_to_end(tiny_lstm, radar_tiny, tmp_path, edgelstm_exe):
    need_tflm()
    out = tmp_path / "lstm_int8.tflite"
    res = run_cli(edgelstm_exe, "quantize", tiny_lstm, "--data", radar_tiny, "--out", out, "--json",
                  "--calib-samples", "100")
    assert res.returncode == 0, res.stderr
    rep = json.loads(res.stdout)  # one JSON object and nothing else on stdout
    for k in ("float_accuracy", "int8_accuracy"):
        assert 0.0 <= rep[k] <= 1.0
    assert rep["tflm"]["mismatched_bytes"] == 0
    assert out.exists()
    model = parse_flatbuffer(out.read_bytes())
    names = [op_name(model, op) for op in model.subgraphs[0].operators]
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in names and "WHILE" not in names
    meta = read_metadata(model)
    assert meta["class_names"][0] == "empty" and len(meta["normalization"]["mean"]) == 18
    assert abs(meta["accuracy"]["int8"] - rep["int8_accuracy"]) < 1e-12
    # simulate reports the same int8 accuracy and writes logits/pred
    preds = tmp_path / "preds.npz"
    sim = run_cli(edgelstm_exe, "simulate", out, "--data", radar_tiny, "--out", preds, "--json")
    assert sim.returncode == 0, sim.stderr
    assert abs(json.loads(sim.stdout)["accuracy"] - rep["int8_accuracy"]) < 1e-12
    z = np.load(preds)
    assert z["logits"].dtype == np.int8 and z["logits"].shape == (140, 7)
    assert np.array_equal(z["pred"], np.argmax(z["logits"], -1))


def test_python_api(tiny_lstm, radar_tiny, tmp_path):
    import edgelstm
    from edgelstm.quantize.pipeline import CalibrationConfig, quantize_model

    out = tmp_path / "m.tflite"
    res = quantize_model(tiny_lstm, radar_tiny, out, tflm_samples=50, calib=CalibrationConfig(samples=100))
    m = edgelstm.load_int8_model(out)
    ds = edgelstm.load_dataset(radar_tiny)
    xq = m.quantize_input(ds.X_test)
    assert xq.dtype == np.int8 and xq.shape == ds.X_test.shape
    y = m.predict_int8(xq)
    assert y.shape == (len(ds.X_test), 7) and y.dtype == np.int8
    assert abs(float(np.mean(np.argmax(y, -1) == ds.y_test)) - res.int8_accuracy) < 1e-12
    hs = m.hidden_states(xq[:5])
    assert list(hs.values())[0].shape == (5, ds.window, 8)


def test_quantize_bidirectional(radar_tiny, tmp_path):
    """Bidirectional through the live converter (stacked Bi-LSTMs: tests/data/conv_bistack2_lstm8)."""
    need_tflm()
    from edgelstm.quantize.pipeline import CalibrationConfig, quantize_model

    k = _train(radar_tiny, tmp_path / "bi.keras", units=6, bidirectional=True, dense_head=[8], epochs=1)
    res = quantize_model(k, radar_tiny, tmp_path / "bi.tflite", calib=CalibrationConfig(samples=60))
    assert res.tflm is not None and res.tflm["mismatched_bytes"] == 0
    assert len(res.model.ir.recurrent_ops()) == 2


def _save_keras(tmp_path: Path, name: str, build) -> Path:
    from edgelstm._tf import import_keras

    keras = import_keras()
    inp = keras.Input((16, 18))
    model = keras.Model(inp, build(keras, inp))
    p = tmp_path / f"{name}.keras"
    model.save(p)
    return p


UNSUPPORTED = {
    "conv1d": (lambda k, i: k.layers.Dense(7)(k.layers.LSTM(4)(k.layers.Conv1D(4, 3)(i))), "Conv1D"),
    "simplernn": (lambda k, i: k.layers.Dense(7)(k.layers.SimpleRNN(4)(i)), "SimpleRNN"),
    "relu_lstm": (lambda k, i: k.layers.Dense(7)(k.layers.LSTM(4, activation="relu")(i)), "relu"),
    "return_state": (lambda k, i: k.layers.Dense(7)(k.layers.LSTM(4, return_state=True)(i)[0]), "return_state"),
    "masking": (lambda k, i: k.layers.Dense(7)(k.layers.LSTM(4)(k.layers.Masking()(i))), "Masking"),
    "seq_out": (lambda k, i: k.layers.Dense(7)(k.layers.LSTM(4, return_sequences=True)(i)), "return_sequences"),
}


@pytest.mark.parametrize("case", list(UNSUPPORTED))
def test_unsupported_layers_are_refused(case, tmp_path):
    from edgelstm.errors import UnsupportedError
    from edgelstm.quantize.keras_spec import keras_to_spec, load_keras_model

    build, needle = UNSUPPORTED[case]
    with pytest.raises(UnsupportedError) as e:
        keras_to_spec(load_keras_model(_save_keras(tmp_path, case, build)), case)
    assert needle.lower() in str(e.value).lower()
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("case", ["conv1d", "relu_lstm"])
def test_unsupported_layer_cli_message(case, radar_tiny, tmp_path, edgelstm_exe):
    build, needle = UNSUPPORTED[case]
    k = _save_keras(tmp_path, case, build)
    out = tmp_path / "x.tflite"
    res = run_cli(edgelstm_exe, "quantize", k, "--data", radar_tiny, "--out", out)
    assert_one_line_error(res, needle)
    assert not out.exists()
    assert not any(p.name.startswith(".x.tflite") for p in tmp_path.iterdir())


def test_quantize_bad_files(tmp_path, radar_tiny, tiny_lstm, edgelstm_exe):
    out = tmp_path / "o.tflite"
    png = tmp_path / "pic.keras"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    trunc = tmp_path / "trunc.keras"
    trunc.write_bytes(tiny_lstm.read_bytes()[:500])
    cases = [
        ((tmp_path / "missing.keras", "--data", radar_tiny, "--out", out), "does not exist"),
        ((png, "--data", radar_tiny, "--out", out), "PNG"),
        ((trunc, "--data", radar_tiny, "--out", out), "corrupt"),
        ((tiny_lstm, "--data", tmp_path / "nodata.npz", "--out", out), "does not exist"),
        ((tiny_lstm, "--data", radar_tiny, "--out", tmp_path), "directory"),
        ((tiny_lstm, "--data", radar_tiny, "--out", tmp_path / "o.txt"), ".tflite"),
    ]
    for args, needle in cases:
        res = run_cli(edgelstm_exe, "quantize", *args)
        assert_one_line_error(res, needle)
        assert not out.exists()


def test_quantize_feature_mismatch(tmp_path, tiny_lstm, edgelstm_exe):
    from edgelstm.data import Dataset, save_dataset

    r = np.random.default_rng(0)
    ds = Dataset(X_train=r.normal(size=(20, 16, 5)).astype(np.float32), y_train=np.arange(20) % 7,
                 X_test=r.normal(size=(10, 16, 5)).astype(np.float32), y_test=np.arange(10) % 7,
                 class_names=[f"c{i}" for i in range(7)], feature_names=[f"f{i}" for i in range(5)])
    p = tmp_path / "five.npz"
    save_dataset(ds, p)
    res = run_cli(edgelstm_exe, "quantize", tiny_lstm, "--data", p, "--out", tmp_path / "o.tflite")
    assert_one_line_error(res, "features")


def test_simulate_refuses_float_and_foreign_models(tmp_path, radar_tiny, tiny_lstm, edgelstm_exe):
    res = run_cli(edgelstm_exe, "simulate", tiny_lstm, "--data", radar_tiny)
    assert_one_line_error(res, "not a .tflite")
    png = tmp_path / "pic.tflite"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    assert_one_line_error(run_cli(edgelstm_exe, "simulate", png, "--data", radar_tiny), "PNG")
