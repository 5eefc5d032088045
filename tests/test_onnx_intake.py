"""ONNX classifiers in (issue 18): every supported spelling is read into the layer spec and its
float forward matches onnxruntime; every unsupported feature is a one-line error through the CLI.

The graphs are built with onnx.helper (tests/onnx_graphs.py) in the spellings exporters write:
Y_h, or Y followed by Gather / Slice / Squeeze / Transpose; Gemm or MatMul + Add; Sub/Div or
Mul/Add normalisation; forward and bidirectional, stacked; batch-first and time-major inputs;
zero initial states as constants or built from Shape + ConstantOfShape.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from .conftest import IN_CI, assert_one_line_error, run_cli
from .onnx_graphs import G, build, norm_of

if importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxruntime") is None:
    if IN_CI:
        raise RuntimeError("the onnx and onnxruntime packages are required in CI (pip install 'edgelstm[onnx]')")
    pytest.skip("onnx/onnxruntime not installed (pip install 'edgelstm[onnx]')", allow_module_level=True)

import onnx  # noqa: E402
from onnx import helper, numpy_helper  # noqa: E402

from edgelstm.errors import EdgelstmError, UnsupportedError  # noqa: E402
from edgelstm.quantize.float_model import load_float_model  # noqa: E402
from edgelstm.quantize.onnx_model import FLOAT_TOLERANCE, spec_float, synthetic_windows  # noqa: E402
from edgelstm.quantize.keras_spec import normalize  # noqa: E402

SPELLINGS = {
    "lstm_y_h": G(),
    "lstm_stack_y_gather": G(units=(5, 3), last="y_gather"),
    "lstm_y_slice": G(last="y_slice"),
    "lstm_stack_pytorch_out_last": G(units=(4, 4), last="y_transpose"),
    "lstm_bi_y_h": G(direction="bidirectional"),
    "lstm_bi_stack_hn_cat": G(direction="bidirectional", units=(4, 3), last="hn_cat"),
    "lstm_bi_hn_cat_backward_first": G(direction="bidirectional", last="hn_cat_backward_first"),
    "lstm_bi_y_each_final": G(direction="bidirectional", last="y_bi_concat"),
    "lstm_mul_add_norm": G(norm="muladd"),
    "lstm_negative_scale": G(norm="const_minus_x"),
    "lstm_no_norm": G(norm=None),
    "lstm_matmul_add_relu_softmax": G(head="matmul_add", hidden=(6,), softmax=True),
    "lstm_time_major_stack": G(time_major=True, units=(3, 3)),
    "lstm_static_batch_zero_state": G(batch=1, init_state="const"),
    "lstm_zero_state_from_shape": G(init_state="shape", units=(4, 4)),
    "lstm_opset11": G(opset=11, last="y_slice"),
    "gru_y_h": G(cell="gru"),
    "gru_stack_pytorch_out_last": G(cell="gru", units=(4, 5), last="y_transpose"),
    "gru_bi_hn_cat_matmul": G(cell="gru", direction="bidirectional", last="hn_cat", head="matmul_add"),
    "gru_linear_before_reset_0": G(cell="gru", linear_before_reset=0),
    "gru_bi_stack_time_major_softmax": G(cell="gru", direction="bidirectional", units=(3, 3), time_major=True,
                                         softmax=True, init_state="shape"),
}


def save(model, path):
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("key", list(SPELLINGS))
def test_spelling_reads_and_matches_onnxruntime(key, tmp_path):
    g = SPELLINGS[key]
    model, spec = load_float_model(save(build(g), tmp_path / f"{key}.onnx"))
    rnn = [l for l in spec.layers if l.kind in ("lstm", "gru")]
    dense = [l for l in spec.layers if l.kind == "dense"]
    assert [l.kind for l in rnn] == [g.cell] * len(g.units) and [l.units for l in rnn] == list(g.units)
    assert all(l.bidirectional == (g.direction == "bidirectional") for l in rnn)
    assert [l.return_sequences for l in rnn] == [True] * (len(rnn) - 1) + [False]
    assert [l.units for l in dense] == list(g.hidden) + [g.classes]
    assert [l.activation for l in dense] == ["relu"] * len(g.hidden) + ["softmax" if g.softmax else "linear"]
    if g.cell == "gru":
        assert all(l.reset_after == bool(g.linear_before_reset) for l in rnn)
    assert (spec.window, spec.features, spec.n_outputs) == (g.window, g.features, g.classes)
    # float agreement on typical and on saturating inputs (gates at 0/1, tanh at +-1)
    X = synthetic_windows(spec, 16, seed=5)
    for scale in (1.0, 6.0):
        Xs = X if spec.norm_mean is None or scale == 1.0 else (X - spec.norm_mean) * scale + spec.norm_mean
        ref = model.logits(Xs).astype(np.float64)
        got = spec_float(spec, normalize(Xs, spec))
        assert np.max(np.abs(got - ref)) <= FLOAT_TOLERANCE * max(1.0, np.max(np.abs(ref)))
    assert model.predict(X).shape == (16, g.classes)


@pytest.mark.parametrize("norm", ["subdiv", "muladd", "const_minus_x"])
def test_normalisation_becomes_the_models_own(norm, tmp_path):
    g = G(norm=norm)
    mean, std = norm_of(g)
    _, spec = load_float_model(save(build(g), tmp_path / "m.onnx"))
    if norm == "subdiv":  # the exporter's own numbers, bit for bit
        assert np.array_equal(spec.norm_mean, mean) and np.array_equal(spec.norm_std, std)
    else:
        np.testing.assert_allclose(spec.norm_mean, mean, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(spec.norm_std, std, rtol=1e-6)
    assert spec.norm_mean.dtype == np.float32 and np.all(spec.norm_std > 0)


def test_weights_land_in_keras_gate_order(tmp_path):
    """ONNX LSTM blocks [i, o, f, c] -> Keras columns [i, f, c, o]; B = Wb + Rb; GRU keeps [z, r, h]."""
    m = build(G(norm=None))
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    lstm = next(n for n in m.graph.node if n.op_type == "LSTM")
    W, R, B = (inits[n] for n in lstm.input[1:4])
    _, spec = load_float_model(save(m, tmp_path / "m.onnx"))
    kernel, rec, bias = spec.layers[0].weights
    H = 4
    for k, onnx_block in enumerate((0, 2, 3, 1)):
        np.testing.assert_array_equal(kernel[:, k * H:(k + 1) * H], W[0, onnx_block * H:(onnx_block + 1) * H].T)
        np.testing.assert_array_equal(rec[:, k * H:(k + 1) * H], R[0, onnx_block * H:(onnx_block + 1) * H].T)
        b = B[0, onnx_block * H:(onnx_block + 1) * H] + B[0, 4 * H + onnx_block * H:4 * H + (onnx_block + 1) * H]
        np.testing.assert_allclose(bias[k * H:(k + 1) * H], b, rtol=1e-7)
    g = build(G(cell="gru", norm=None))
    inits = {t.name: numpy_helper.to_array(t) for t in g.graph.initializer}
    gru = next(n for n in g.graph.node if n.op_type == "GRU")
    _, spec = load_float_model(save(g, tmp_path / "g.onnx"))
    kernel, rec, bias = spec.layers[0].weights
    np.testing.assert_array_equal(kernel, inits[gru.input[1]][0].T)
    np.testing.assert_array_equal(bias, inits[gru.input[3]][0].reshape(2, 12))


# ------------------------------------------------------------------------------------------
# What edgelstm refuses, one line each, through the real CLI


def _node(m, op, k=0):
    return [n for n in m.graph.node if n.op_type == op][k]


def _set_attr(op, **attrs):
    def tamper(m):
        node = _node(m, op)
        for name, value in attrs.items():
            for i, a in enumerate(node.attribute):
                if a.name == name:
                    del node.attribute[i]
                    break
            node.attribute.append(helper.make_attribute(name, value))
    return tamper


def _set_input(op, index, array):
    def tamper(m):
        node = _node(m, op)
        name = f"tampered_{index}"
        m.graph.initializer.append(numpy_helper.from_array(np.asarray(array), name))
        while len(node.input) <= index:
            node.input.append("")
        node.input[index] = name
    return tamper


def _dynamic_weights(m):
    node = _node(m, "LSTM")
    shape = helper.make_node("Shape", [node.input[1]], ["w_shape"])
    const = helper.make_node("ConstantOfShape", ["w_shape"], ["w_dyn"], value=helper.make_tensor("v", 1, [1], [0.1]))
    m.graph.node.insert(0, const)
    m.graph.node.insert(0, shape)
    node.input[1] = "w_dyn"


def _second_output(m):
    m.graph.output.append(helper.make_tensor_value_info(_node(m, "LSTM").output[1], 1, None))


def _use_cell_state(m):
    node = _node(m, "LSTM")
    for n in m.graph.node:
        for i, name in enumerate(n.input):
            if name == node.output[1]:
                n.input[i] = node.output[2]


def _insert_after(op, new_op, **attrs):
    def tamper(m):
        node = _node(m, op)
        out = node.output[0]
        node.output[0] = out + "_pre"
        k = list(m.graph.node).index(node)
        m.graph.node.insert(k + 1, helper.make_node(new_op, [out + "_pre"], [out], name=f"my_{new_op}", **attrs))
    return tamper


def _relu_on_rnn_output(m):
    gemm = _node(m, "Gemm")
    k = list(m.graph.node).index(gemm)
    m.graph.node.insert(k, helper.make_node("Relu", [gemm.input[0]], ["relu_h"], name="relu_on_h"))
    gemm.input[0] = "relu_h"


def _skip_connection(m):
    gemm = _node(m, "Gemm")
    out = gemm.output[0]
    gemm.output[0] = out + "_pre"
    m.graph.node.append(helper.make_node("Add", [out + "_pre", out + "_pre"], [out], name="twice"))


def _second_cell_is_gru(m):
    node = _node(m, "LSTM", 1)
    node.op_type = "GRU"


def _variable_window(m):
    dim = m.graph.input[0].type.tensor_type.shape.dim[1]
    dim.Clear()
    dim.dim_param = "time"


def _time_varying_norm(m):
    sub = _node(m, "Sub")
    m.graph.initializer.append(numpy_helper.from_array(np.ones((1, 6, 3), np.float32), "per_step"))
    sub.input[1] = "per_step"


REFUSED = {
    "peepholes": (G(), _set_input("LSTM", 7, np.full((1, 12), 0.1, np.float32)), ["peephole"]),
    "cell_clip": (G(attrs={"clip": 3.0}), None, ["clip"]),
    "activations": (G(attrs={"activations": ["Sigmoid", "Tanh", "Relu"]}), None, ["activations", "Relu"]),
    "sequence_lens": (G(), _set_input("LSTM", 4, np.array([5], np.int32)), ["sequence_lens"]),
    "input_forget": (G(attrs={"input_forget": 1}), None, ["input_forget"]),
    "layout_1": (G(attrs={"layout": 1}), None, ["layout 1"]),
    "reverse": (G(direction="reverse"), None, ["reverse"]),
    "nonzero_initial_state": (G(), _set_input("LSTM", 5, np.ones((1, 1, 4), np.float32)), ["initial state"]),
    "dynamic_weights": (G(), _dynamic_weights, ["dynamic weights"]),
    "second_output": (G(), _second_output, ["2 outputs"]),
    "cell_state_used": (G(), _use_cell_state, ["cell state Y_c"]),
    "relu_on_recurrent_output": (G(), _relu_on_rnn_output, ["relu_on_h", "recurrent layer"]),
    "bidirectional_out_last": (G(direction="bidirectional", last="y_bi_last"), None, ["backward direction", "h_n"]),
    "tanh_head": (G(), _insert_after("Gemm", "Tanh"), ["my_Tanh", "not supported"]),
    "log_softmax": (G(), _insert_after("Gemm", "LogSoftmax"), ["LogSoftmax"]),
    "skip_connection": (G(), _skip_connection, ["combines computed values"]),
    "lstm_then_gru": (G(units=(4, 4)), _second_cell_is_gru, ["mixes LSTM and GRU"]),
    "variable_window": (G(), _variable_window, ["variable window"]),
    "time_varying_normalisation": (G(), _time_varying_norm, ["time axis"]),
}


@pytest.mark.parametrize("key", list(REFUSED))
def test_unsupported_feature_is_one_line_error(key, tmp_path, edgelstm_exe, radar_tiny):
    g, tamper, needles = REFUSED[key]
    m = build(g)
    if tamper is not None:
        tamper(m)
    path = save(m, tmp_path / f"{key}.onnx")
    with pytest.raises(UnsupportedError):
        load_float_model(path)
    res = run_cli(edgelstm_exe, "quantize", path, "--data", radar_tiny, "--out", tmp_path / "m.tflite")
    assert_one_line_error(res, *needles)
    assert not (tmp_path / "m.tflite").exists()


def test_damaged_files_are_one_line_errors(tmp_path, edgelstm_exe, radar_tiny):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07not a protobuf at all \xff\xff\xff")
    res = run_cli(edgelstm_exe, "quantize", bad, "--data", radar_tiny, "--out", tmp_path / "m.tflite")
    assert_one_line_error(res, "bad.onnx", "ONNX")
    half = tmp_path / "half.onnx"
    half.write_bytes(build(G()).SerializeToString()[:300])
    with pytest.raises(EdgelstmError):
        load_float_model(half)


def test_missing_onnx_package_says_how_to_install(tmp_path, radar_tiny):
    import subprocess
    import sys

    path = save(build(G()), tmp_path / "m.onnx")
    code = ("import sys; sys.modules['onnxruntime'] = None; from edgelstm.cli import main; "
            f"sys.argv = ['edgelstm', 'quantize', {str(path)!r}, '--data', {str(radar_tiny)!r}, '--out', "
            f"{str(tmp_path / 'm.tflite')!r}]; main()")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert_one_line_error(res, "onnxruntime", "pip install 'edgelstm[onnx]'")
