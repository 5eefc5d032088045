"""edgelstm's integer GRU, the Python half: float reference, quantizer, CLI, export.

(a) gru_float (sim/gru.py) == keras.layers.GRU to 1e-5 (reset_after True/False, several
    shapes, random weights and biases);
(b) the integer GRU (run_gru) stays close to the float GRU it quantizes, both against Keras
    and against the float GRU on the very int8 weights it runs; its outputs are deterministic;
(c) `edgelstm quantize` of a trained GRU writes the EDGELSTM_GRU custom op without the TFLite
    converter, reports float/int8 accuracy, and `edgelstm simulate` agrees; bidirectional and
    reset_after=False models quantize too;
(d) `edgelstm export-c` + `edgelstm verify --data` of a quantized GRU: 0 mismatching bytes.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

import edgelstm
from edgelstm._tf import import_keras
from edgelstm.data import load_dataset
from edgelstm.model import Int8Model
from edgelstm.quantize import pipeline
from edgelstm.quantize.gru_quant import _bias_q, _sym_rows, quantize_gru_spec
from edgelstm.quantize.keras_spec import keras_to_spec
from edgelstm.quantize.pipeline import CalibrationConfig, quantize_model
from edgelstm.sim.gru import gru_float, run_gru
from edgelstm.testing import GruSynthSpec, random_int8_inputs, synth_gru_tflite
from edgelstm.tflite.reader import load_ir_from_bytes, parse_flatbuffer, read_metadata
from edgelstm.tflite.schema import op_name
from edgelstm.train import TrainConfig, build_model, normalization_stats, save_model, train_model

from .conftest import need_tool, run_cli


@pytest.fixture(scope="module")
def keras():
    return import_keras()


def _random_gru(keras, T: int, F: int, U: int, reset_after: bool, seed: int, scale: float = 0.6):
    layer = keras.layers.GRU(U, return_sequences=True, reset_after=reset_after)
    inp = keras.Input((T, F))
    model = keras.Model(inp, layer(inp))
    rng = np.random.default_rng(seed)
    # random kernels AND random biases (Keras initialises biases to zero)
    layer.set_weights([rng.normal(0, scale, w.shape).astype(np.float32) for w in layer.get_weights()])
    return model, layer


# ----------------------------------------------------------------------------- (a) float

@pytest.mark.parametrize("T,F,U", [(1, 1, 1), (5, 3, 4), (16, 18, 32), (40, 2, 9)])
@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_float_equals_keras_gru(keras, T, F, U, reset_after):
    model, layer = _random_gru(keras, T, F, U, reset_after, seed=T * 100 + F * 10 + U)
    kernel, rec, bias = layer.get_weights()
    assert bias.shape == ((2, 3 * U) if reset_after else (3 * U,))
    assert np.any(bias != 0)
    x = np.random.default_rng(1).normal(0, 1.5, (13, T, F)).astype(np.float32)
    ref = np.asarray(model(x, training=False))
    got = gru_float(x, kernel, rec, bias, reset_after=reset_after)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5)
    last = gru_float(x, kernel, rec, bias, reset_after=reset_after, return_sequences=False)
    np.testing.assert_array_equal(last, got[:, -1])


# ----------------------------------------------------------------------------- (b) integer vs float

def _classifier(keras, T, F, U, reset_after, seed):
    inp = keras.Input((T, F))
    gru = keras.layers.GRU(U, reset_after=reset_after, name="gru_0")
    out = keras.layers.Dense(4, name="logits")(gru(inp))
    model = keras.Model(inp, out)
    rng = np.random.default_rng(seed)
    gru.set_weights([rng.normal(0, 0.4, w.shape).astype(np.float32) for w in gru.get_weights()])
    return model, gru


@pytest.mark.parametrize("reset_after", [True, False])
def test_integer_gru_is_close_to_float(keras, reset_after):
    """Quantized by quantize_gru_spec (per-row int8 weights, Q0.15 state, h8 at 2^-k):

    - the final int8 h8 against Keras' float GRU: mean |diff| < 0.01 (weights quantized too);
    - the Q0.15 state h16 / 2^15 against gru_float on the int8 weights, biases and inputs
      themselves (dequantized): only the integer arithmetic differs, mean |diff| < 0.005."""
    T, F, U = 24, 6, 16
    model, gru = _classifier(keras, T, F, U, reset_after, seed=5)
    spec = keras_to_spec(model, "test")
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1.0, (300, T, F)).astype(np.float32)
    qm = load_ir_from_bytes(quantize_gru_spec(spec, x[:200]))
    m = Int8Model(qm)
    op = qm.recurrent_ops()[0]
    xq = m.quantize_input(x[200:])
    trace: dict = {}
    h8 = run_gru(op, xq, trace)
    h_int = h8[:, -1].astype(np.float64) * 2.0**-op.hidden_frac_bits
    h_keras = np.asarray(keras.Model(model.inputs, gru.output).predict(x[200:], verbose=0))
    mad = float(np.mean(np.abs(h_int - h_keras)))
    assert mad < 0.01, mad

    # The float GRU on exactly the int8 numbers the integer GRU runs on.
    kernel, rec, bias = [np.asarray(w, np.float64) for w in gru.get_weights()]
    s_x, zp_x = qm.input_tensor.scale, qm.input_tensor.zero_point
    kq, rq = np.empty_like(kernel), np.empty_like(rec)
    bq = np.empty_like(bias)
    for g in range(3):
        cols = slice(g * U, (g + 1) * U)
        q, s = _sym_rows(kernel[:, cols].T)
        kq[:, cols] = (q * s[:, None].astype(np.float64)).T
        bscale = np.float32(s_x) * s
        if reset_after:
            bq[0, cols] = _bias_q(bias[0, cols], bscale) * bscale.astype(np.float64)
        else:
            bq[cols] = _bias_q(bias[cols], bscale) * bscale.astype(np.float64)
        q, s = _sym_rows(rec[:, cols].T)
        rq[:, cols] = (q * s[:, None].astype(np.float64)).T
        if reset_after:
            hscale = np.float32(2.0**-op.hidden_frac_bits) * s
            bq[1, cols] = _bias_q(bias[1, cols], hscale) * hscale.astype(np.float64)
    xd = (xq.astype(np.float64) - zp_x) * s_x
    h_ref = gru_float(xd, kq, rq, bq, reset_after=reset_after)
    state = trace["state"].astype(np.float64) / 2.0**15
    err = np.abs(state - h_ref)
    print(f"reset_after={reset_after}: final h8 vs Keras mean |diff| {mad:.5f}; h16 vs float on the int8 "
          f"numbers mean {err.mean():.5f}, max {err.max():.5f}")
    assert float(err.mean()) < 0.005 and float(err.max()) < 0.1, (float(err.mean()), float(err.max()))


def test_simulator_is_deterministic():
    raw = synth_gru_tflite(GruSynthSpec(layers=2, units=[9, 7], features=5, window=20, reset_after=False, seed=3))
    assert raw == synth_gru_tflite(GruSynthSpec(layers=2, units=[9, 7], features=5, window=20, reset_after=False,
                                                seed=3))
    xq = random_int8_inputs(300, 20, 5, seed=4)
    a = Int8Model(load_ir_from_bytes(raw)).predict_int8(xq)
    b = Int8Model(load_ir_from_bytes(raw)).predict_int8(xq, chunk=7)
    c = np.concatenate([Int8Model(load_ir_from_bytes(raw)).predict_int8(xq[i : i + 1]) for i in range(0, 300, 37)])
    assert np.array_equal(a, b)
    assert np.array_equal(a[::37], c)
    assert len(np.unique(a)) > 5


# ----------------------------------------------------------------------------- (c), (d) CLI

def _train(ds_path: Path, out: Path, **cfg) -> Path:
    res = train_model(load_dataset(ds_path), TrainConfig(cell="gru", epochs=cfg.pop("epochs", 3), batch_size=32, **cfg))
    save_model(res, out)
    return out


@pytest.fixture(scope="module")
def tiny_gru(radar_tiny, tmp_path_factory) -> Path:
    return _train(radar_tiny, tmp_path_factory.mktemp("gru") / "gru.keras", units=8)


@pytest.fixture(scope="module")
def quantized_gru(tiny_gru, radar_tiny, tmp_path_factory, edgelstm_exe) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("gru_q") / "gru_int8.tflite"
    res = run_cli(edgelstm_exe, "quantize", tiny_gru, "--data", radar_tiny, "--out", out, "--json",
                  "--calib-samples", "100")
    assert res.returncode == 0, res.stderr
    return out, json.loads(res.stdout)


def test_quantize_gru_end_to_end(quantized_gru, radar_tiny, tmp_path, edgelstm_exe):
    out, rep = quantized_gru
    for k in ("float_accuracy", "int8_accuracy"):
        assert 0.0 <= rep[k] <= 1.0
    assert abs(rep["float_accuracy"] - rep["int8_accuracy"]) <= 0.1
    model = parse_flatbuffer(out.read_bytes())
    names = [op_name(model, op) for op in model.subgraphs[0].operators]
    assert names.count("EDGELSTM_GRU") == 1
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" not in names and "WHILE" not in names
    # written by edgelstm's GraphWriter, not by the TFLite converter
    desc = model.description.decode() if isinstance(model.description, bytes) else model.description
    assert desc == "edgelstm integer GRU"
    meta = read_metadata(model)
    assert meta["cell"] == "gru" and abs(meta["accuracy"]["int8"] - rep["int8_accuracy"]) < 1e-12
    assert rep.get("tflm") in (None, {})  # TFLite Micro cannot run the custom op: not claimed
    sim = run_cli(edgelstm_exe, "simulate", out, "--data", radar_tiny, "--json")
    assert sim.returncode == 0, sim.stderr
    assert abs(json.loads(sim.stdout)["accuracy"] - rep["int8_accuracy"]) < 1e-12


def test_quantize_stacked_bidirectional_reset_before_gru_without_converter(radar_tiny, tmp_path, monkeypatch):
    """Two stacked Bidirectional(GRU(reset_after=False)) layers and a Dense head: quantized by
    edgelstm's GRU quantizer alone (the converter is replaced by a tripwire); the simulator
    reproduces the reported int8 accuracy."""
    def no_converter(*_a, **_k):
        raise AssertionError("the TFLite converter must not run for a GRU model")

    monkeypatch.setattr(pipeline, "run_converter", no_converter)
    # Built by train.build_model with its random initial weights (no fit: quantization is what is tested).
    keras = import_keras()
    ds0 = edgelstm.load_dataset(radar_tiny)
    mean, var = normalization_stats(ds0.X_train)
    cfg = TrainConfig(cell="gru", units=5, layers=2, bidirectional=True, reset_after=False, dense_head=[8])
    km = build_model(keras, window=ds0.window, n_features=ds0.n_features, n_classes=ds0.n_classes, config=cfg,
                     mean=mean, variance=var)
    k = tmp_path / "g.keras"
    km.save(k)
    res = quantize_model(k, radar_tiny, tmp_path / "g.tflite", calib=CalibrationConfig(samples=60))
    ops = res.model.ir.recurrent_ops()
    assert [(op.kind, op.reset_after, op.units) for op in ops] == [("gru", False, 5)] * 4
    assert {op.kind for op in res.model.ir.ops} >= {"reverse_time", "concat", "slice_time", "fully_connected"}
    assert 0.0 <= res.int8_accuracy <= 1.0 and res.tflm is None
    ds = edgelstm.load_dataset(radar_tiny)
    m = edgelstm.load_int8_model(tmp_path / "g.tflite")
    y = m.predict_int8(m.quantize_input(ds.X_test))
    assert abs(float(np.mean(np.argmax(y, -1) == ds.y_test)) - res.int8_accuracy) < 1e-12


def test_export_and_verify_quantized_gru_through_the_cli(quantized_gru, radar_tiny, tmp_path, edgelstm_exe):
    need_tool("gcc")
    model, _rep = quantized_gru
    out = tmp_path / "gru_c"
    res = run_cli(edgelstm_exe, "export-c", model, "--out", out, "--name", "radar_gru", "--data", radar_tiny)
    assert res.returncode == 0, res.stderr
    m = json.loads((out / "edgelstm_export.json").read_text())
    assert m["streaming"] is True and "GRU(8)" in m["layers"]
    v = run_cli(edgelstm_exe, "verify", out, "--data", radar_tiny, "--json")
    assert v.returncode == 0, v.stdout + v.stderr
    rep = json.loads(v.stdout)
    assert rep["samples"] == 140 and rep["streaming"] is True
    assert rep["mismatches"] == 0 and rep["argmax_mismatches"] == 0 and rep["front_end_mismatches"] == 0
    assert rep["compared_bytes"] == 2 * 140 * 7
    proc = subprocess.run(["make", "-s", "-C", str(out), "test"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and "140 passed, 0 failed" in proc.stdout, proc.stdout + proc.stderr
