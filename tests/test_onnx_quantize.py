"""ONNX classifiers through the whole pipeline (issue 18): quantize -> simulate == TFLite Micro (LSTM)
-> export-c -> host C == simulator (LSTM and GRU), 0 mismatching bytes; the float accuracy is
onnxruntime's; the .tflite records the ONNX source; the same shape from Keras gives the same C.

Graphs from tests/onnx_graphs.py on data labelled by the float model itself, and the PyTorch exports in tests/data/torch_*.onnx
(tools/make_onnx_models.py) on the radar data they were trained on.
"""

from __future__ import annotations

import importlib.util
import json
import re

import numpy as np
import pytest

from .conftest import DATA, IN_CI, need_tflm, need_tool, run_cli
from .onnx_graphs import G, build

if importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxruntime") is None:
    if IN_CI:
        raise RuntimeError("the onnx and onnxruntime packages are required in CI (pip install 'edgelstm[onnx]')")
    pytest.skip("onnx/onnxruntime not installed (pip install 'edgelstm[onnx]')", allow_module_level=True)

import onnx  # noqa: E402

from edgelstm.codegen import export_c  # noqa: E402
from edgelstm.data import Dataset, load_dataset, save_dataset  # noqa: E402
from edgelstm.quantize.float_model import load_float_model  # noqa: E402
from edgelstm.quantize.pipeline import CalibrationConfig, quantize_model  # noqa: E402
from edgelstm.tflite.reader import parse_flatbuffer, read_metadata  # noqa: E402
from edgelstm.verify import verify_export  # noqa: E402

TORCH_FILES = sorted(DATA.glob("torch_*.onnx"))


def onnx_and_data(g: G, tmp_path, n_train: int = 150, n_test: int = 60):
    """The graph as a file, and a dataset of raw windows labelled by its own centred float scores
    (random weights favour one class; centring gives every class windows). Returns the paths and
    onnxruntime's float accuracy on the test split."""
    path = tmp_path / "model.onnx"
    onnx.save(build(g), str(path))
    model, spec = load_float_model(path)
    rng = np.random.default_rng(g.seed + 1)
    mean = spec.norm_mean if spec.norm_mean is not None else 0.0
    std = spec.norm_std if spec.norm_std is not None else 1.0
    X = (rng.standard_normal((n_train + n_test, g.window, g.features)) * std + mean).astype(np.float32)
    logits = model.predict(X)
    y = np.argmax(logits - logits.mean(axis=0), -1)
    assert len(np.unique(y[:n_train])) >= 2
    ds = Dataset(X[:n_train], y[:n_train], X[n_train:], y[n_train:],
                 class_names=[f"c{i}" for i in range(g.classes)], feature_names=[f"f{i}" for i in range(g.features)])
    data = tmp_path / "data.npz"
    save_dataset(ds, data)
    return path, data, float(np.mean(np.argmax(logits[n_train:], -1) == y[n_train:]))


def c_equals_simulator(tflite, out_dir, data=None) -> dict:
    """export-c, then the host build (gcc) against the simulator: random + extreme windows, and the data."""
    need_tool("gcc")
    export_c(tflite, out_dir, name="m", n_vectors=8)
    rep = verify_export(out_dir, samples=400)
    assert rep["samples"] >= 400 and rep["mismatches"] == 0 and rep["argmax_mismatches"] == 0, rep["first_mismatches"]
    if data is not None:  # the data's windows, and the float front end (the normalisation read from ONNX)
        rep_d = verify_export(out_dir, data=data, samples=400)
        assert rep_d["mismatches"] == 0 and rep_d.get("front_end_mismatches") in (0, None)
    return rep


def check_metadata(tflite, onnx_path) -> dict:
    meta = read_metadata(parse_flatbuffer(tflite.read_bytes()))
    src = meta["source_model"]
    assert src["format"] == "onnx" and src["file"] == onnx_path.name and src["name"]
    return meta


GRU_SHAPES = {
    "gru_y_h": G(cell="gru"),
    "gru_bi_stack_hn_cat_matmul": G(cell="gru", direction="bidirectional", units=(4, 3), last="hn_cat",
                                    head="matmul_add", hidden=(5,)),
    "gru_lbr0_time_major_softmax": G(cell="gru", linear_before_reset=0, time_major=True, softmax=True, norm="muladd"),
}


@pytest.mark.parametrize("key", list(GRU_SHAPES))
def test_gru_graph_quantizes_and_the_c_is_bit_exact(key, tmp_path):
    g = GRU_SHAPES[key]
    path, data, acc = onnx_and_data(g, tmp_path)
    out = tmp_path / "m_int8.tflite"
    res = quantize_model(path, data, out, calib=CalibrationConfig(samples=150))
    assert res.float_accuracy == acc  # onnxruntime's accuracy, not another float model's
    assert res.float_accuracy - res.int8_accuracy <= 0.15
    check_metadata(out, path)
    c_equals_simulator(out, tmp_path / "c", data)


LSTM_SHAPES = {
    "lstm_stack_pytorch_out_last_matmul_softmax": G(units=(5, 4), last="y_transpose", head="matmul_add",
                                                    hidden=(6,), softmax=True),
    "lstm_bi_hn_cat_muladd": G(direction="bidirectional", last="hn_cat", norm="muladd"),
}


@pytest.mark.slow
@pytest.mark.parametrize("key", list(LSTM_SHAPES))
def test_lstm_graph_quantizes_tflm_and_c_bit_exact(key, tmp_path):
    need_tflm()
    g = LSTM_SHAPES[key]
    path, data, acc = onnx_and_data(g, tmp_path)
    out = tmp_path / "m_int8.tflite"
    res = quantize_model(path, data, out, calib=CalibrationConfig(samples=150))
    assert res.tflm is not None and res.tflm["mismatched_bytes"] == 0 and res.tflm["sequences"] == 60
    assert res.float_accuracy == acc and res.float_accuracy - res.int8_accuracy <= 0.15
    check_metadata(out, path)
    c_equals_simulator(out, tmp_path / "c", data)


# ------------------------------------------------------------------------------------------
# Real PyTorch exports (tools/make_onnx_models.py)


def test_torch_exports_are_committed():
    names = {p.stem for p in TORCH_FILES}
    assert {"torch_lstm8", "torch_bilstm6x2", "torch_gru8", "torch_bigru6x2_tm"} <= names
    assert (DATA / "torch_reference.npz").exists()


@pytest.mark.parametrize("path", TORCH_FILES, ids=lambda p: p.stem)
def test_torch_export_reads_as_pytorch_computes(path):
    """onnxruntime and edgelstm's reading both give PyTorch's own logits (tools/make_onnx_models.py)."""
    ref = np.load(DATA / "torch_reference.npz")
    model, spec = load_float_model(path)
    torch_logits = ref[f"logits_{path.stem}"].astype(np.float64)
    tol = 1e-5 * max(1.0, float(np.max(np.abs(torch_logits))))
    assert np.max(np.abs(model.predict(ref["x"]) - torch_logits)) <= tol
    assert model.check(ref["x"]) <= tol
    assert spec.norm_mean is not None and spec.window == 16 and spec.features == 18 and spec.n_outputs == 7


def _float_accuracy(path, data) -> float:
    model, _ = load_float_model(path)
    ds = load_dataset(data)
    return float(np.mean(np.argmax(model.predict(ds.X_test), -1) == ds.y_test))


def test_torch_gru_cli_quantize_report_export_verify(tmp_path, edgelstm_exe, radar_tiny):
    src = DATA / "torch_gru8.onnx"
    out = tmp_path / "gru_int8.tflite"
    res = run_cli(edgelstm_exe, "quantize", src, "--data", radar_tiny, "--out", out, "--json")
    assert res.returncode == 0, res.stderr
    q = json.loads(res.stdout)
    assert q["float_accuracy"] == _float_accuracy(src, radar_tiny)  # onnxruntime's accuracy
    assert abs(q["float_accuracy"] - q["int8_accuracy"]) <= 0.05
    meta = check_metadata(out, src)
    assert meta["class_names"][0] == "empty" and len(meta["normalization"]["mean"]) == 18
    rep = run_cli(edgelstm_exe, "report", src, out, "--data", radar_tiny, "--out", tmp_path / "rep", "--json")
    assert rep.returncode == 0, rep.stderr
    r = json.loads(rep.stdout)
    assert r["float_accuracy"] == q["float_accuracy"] and r["int8_accuracy"] == q["int8_accuracy"]
    full = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert full["float_reference"]["ok"] and full["models"]["keras_is_quantized_source"] is True
    c_equals_simulator(out, tmp_path / "c", radar_tiny)


@pytest.mark.slow
def test_torch_bilstm_cli_quantize_tflm_report_export_verify(tmp_path, edgelstm_exe, radar_tiny):
    need_tflm()
    src = DATA / "torch_bilstm6x2.onnx"  # dynamo exporter, fixed batch of 1, stacked bidirectional, h_n idiom
    out = tmp_path / "bilstm_int8.tflite"
    res = run_cli(edgelstm_exe, "quantize", src, "--data", radar_tiny, "--out", out, "--json")
    assert res.returncode == 0, res.stderr
    q = json.loads(res.stdout)
    assert q["tflm"]["mismatched_bytes"] == 0 and q["tflm"]["sequences"] == 140
    assert q["float_accuracy"] == _float_accuracy(src, radar_tiny)
    assert abs(q["float_accuracy"] - q["int8_accuracy"]) <= 0.05
    check_metadata(out, src)
    rep = run_cli(edgelstm_exe, "report", src, out, "--data", radar_tiny, "--out", tmp_path / "rep", "--json")
    assert rep.returncode == 0, rep.stderr
    assert json.loads(rep.stdout)["float_accuracy"] == q["float_accuracy"]
    c_equals_simulator(out, tmp_path / "c", radar_tiny)


# ------------------------------------------------------------------------------------------
# The same shape from Keras: the same C


def _keras_twin(spec, path):
    """A Keras 3 model with the spec's architecture and weights (unidirectional, no normalisation)."""
    from edgelstm._tf import import_keras

    keras = import_keras()
    L = keras.layers
    inp = keras.Input((spec.window, spec.features))
    x, layers = inp, []
    for l in spec.layers:
        if l.kind == "lstm":
            layer = L.LSTM(l.units, return_sequences=l.return_sequences)
        elif l.kind == "gru":
            layer = L.GRU(l.units, return_sequences=l.return_sequences, reset_after=l.reset_after)
        else:
            layer = L.Dense(l.units, activation=l.activation)
        x = layer(x)
        layers.append((layer, l.weights))
    model = keras.Model(inp, x)
    for layer, w in layers:
        layer.set_weights(w)
    model.save(path)
    return path


def _c_shape(out_dir) -> tuple[dict, str]:
    """What the export costs (manifest figures) and its generated C with every number blanked."""
    man = json.loads((out_dir / "edgelstm_export.json").read_text())
    figures = {k: man[k] for k in ("layers", "window", "features", "classes", "streaming", "weights_bytes",
                                   "workspace_bytes", "state_fields")}
    code = "".join((out_dir / f).read_text() for f in ("m_model.c", "m_model.h"))
    code = re.sub(r"-?\b\d+(\.\d+)?([eE][-+]?\d+)?[fFuU]?\b", "#", code)
    code = re.sub(r"(sha256|source|accuracy|scale)[^\n]*", "", code)
    return figures, code


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_same_shape_from_keras_gives_the_same_c(cell, tmp_path):
    g = G(cell=cell, units=(6,), norm=None, hidden=(5,), window=8, features=4)
    path, data, _ = onnx_and_data(g, tmp_path)
    _, spec = load_float_model(path)
    keras_path = _keras_twin(spec, tmp_path / "same.keras")
    shapes = []
    for src, tag in ((path, "onnx"), (keras_path, "keras")):
        (tmp_path / tag).mkdir()
        out = tmp_path / tag / "m_int8.tflite"
        quantize_model(src, data, out, calib=CalibrationConfig(samples=150), tflm_samples=0)
        export_c(out, tmp_path / f"c_{tag}", name="m", n_vectors=4)
        shapes.append(_c_shape(tmp_path / f"c_{tag}"))
    assert shapes[0][0] == shapes[1][0]
    assert shapes[0][1] == shapes[1][1]
