"""Frame stacking (``--stack K``) through quantize, simulate, report, export-c and verify, bit-exact.

A stacked model's int8 graph takes (T // K, K * F) steps; every API around it takes windows of
frames (N, T, F), and the window length T here is never a multiple of K (its trailing T % K
frames are unused, as the C streaming buffer leaves them). Oracles: the TFLite Micro
interpreter on the stacked input, the generated C compiled by gcc (NAME_classify and
NAME_reset/NAME_step/NAME_logits fed one frame per call), and the same C on a Cortex-M4 in QEMU.
Models: synthetic int8 LSTM/GRU graphs (unidirectional and bidirectional) with stacking
metadata, and tiny Keras models through `quantize` (the TFLite converter for the LSTM,
edgelstm's GRU quantizer for the GRU) and `report`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgelstm._tf import import_keras
from edgelstm.codegen import export_c, read_manifest
from edgelstm.data.stack import stack_frames
from edgelstm.errors import EdgelstmError
from edgelstm.model import load_int8_model
from edgelstm.oracles import compare, tflm_predict
from edgelstm.quantize.pipeline import CalibrationConfig, quantize_model
from edgelstm.report.compute import compute_report
from edgelstm.testing import GruSynthSpec, SynthSpec, random_int8_inputs, synth_gru_tflite, synth_lstm_tflite
from edgelstm.tflite.writer import embed_edgelstm_metadata
from edgelstm.verify import build_host, compare_outputs, stream_checkpoints, verify_export
from edgelstm.verify.reference import simulate_stream

from .conftest import DATA, assert_one_line_error, need_tflm, need_tool, run_cli

F = 2  # features per frame
STRICT_CXX = ("-std=c++11", "-O2", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-Wshadow")
# (cell, bidirectional, K, T): T % K != 0 whenever K > 1
CASES = [("lstm", False, 1, 13), ("lstm", False, 3, 14), ("lstm", False, 4, 15), ("gru", False, 3, 16),
         ("lstm", True, 3, 14), ("gru", True, 4, 15)]


def stacked_model(tmp: Path, cell: str, bi: bool, k: int, t: int, seed: int = 0) -> Path:
    """A synthetic int8 model whose graph takes (t // k, k * F), with edgelstm's stacking metadata."""
    if cell == "lstm":
        raw = synth_lstm_tflite(SynthSpec(window=t // k, features=k * F, units=6, bidirectional=bi, seed=seed + k))
    else:
        raw = synth_gru_tflite(GruSynthSpec(window=t // k, features=k * F, units=6, bidirectional=bi, seed=seed + k))
    raw = embed_edgelstm_metadata(raw, {"window": t, **({"stack": k} if k > 1 else {})})
    p = tmp / f"{cell}{'_bi' if bi else ''}_k{k}.tflite"
    p.write_bytes(raw)
    return p


def windows(t: int, n: int = 160, seed: int = 3) -> np.ndarray:
    half = n // 2
    return np.concatenate([random_int8_inputs(n - half, t, F, seed=seed),
                           random_int8_inputs(half, t, F, seed=seed + 1, kind="extremes")])


@pytest.mark.parametrize("cell,bi,k,t", CASES, ids=[f"{c}{'_bi' if b else ''}_k{k}_t{t}" for c, b, k, t in CASES])
def test_stacked_model_bit_exact(tmp_path, cell, bi, k, t):
    """Simulator == TFLite Micro (LSTM) == host C (NAME_classify, and NAME_reset/NAME_step/NAME_logits
    one frame per call), 0 mismatching bytes; a long stream without reset == the simulator."""
    need_tool("gcc")
    path = stacked_model(tmp_path, cell, bi, k, t)
    m = load_int8_model(path)
    assert (m.window, m.n_features, m.stack, m.steps) == (t, F, k, t // k)
    xq = windows(t)
    y = m.predict_int8(xq)
    assert np.array_equal(m.stack_input(xq), stack_frames(xq, k))
    if k > 1:
        # the trailing t % k frames are unused; a frame inside a group is not
        x2 = xq.copy()
        x2[:, (t // k) * k :] = -x2[:, (t // k) * k :] - 1
        assert np.array_equal(m.predict_int8(x2), y)
        x3 = xq.copy()
        x3[:, 0] = -x3[:, 0] - 1
        assert not np.array_equal(m.predict_int8(x3), y)
    if cell == "lstm":
        need_tflm()
        tf = compare(y, tflm_predict(path.read_bytes(), m.stack_input(xq)))
        print(f"{path.stem}: TFLite Micro {tf['mismatched_bytes']} mismatching bytes / {y.size}")
        assert tf["mismatched_bytes"] == 0 and tf["sequences"] == len(xq)

    out = tmp_path / "c"
    export_c(path, out, name="stk", n_vectors=6)
    header = (out / "stk_model.h").read_text()
    assert f"#define STK_WINDOW {t} " in header and f"#define STK_INPUT_SIZE {F} " in header
    assert (f"#define STK_STACK {k} " in header) == (k > 1)
    man = read_manifest(out)
    assert (man.window, man.features, man.stack) == (t, F, k)
    assert ("stack" in json.loads((out / "edgelstm_export.json").read_text())) == (k > 1)
    assert man.streaming == (not bi)
    build = build_host(out, man)
    try:
        got, classes, stream = build.run_windows(xq)
        res = compare_outputs(y, {"classify": got, "classes": classes, "stream": stream})
        print(f"{path.stem}: host C {res['mismatches_by_path']} over {res['compared_bytes']} bytes")
        assert res["mismatches"] == 0 and res["argmax_mismatches"] == 0
        assert res["compared_bytes"] == y.size * (1 if bi else 2)
        if not bi:
            check_stream(build, m, k, seed=k)
    finally:
        build.cleanup()
    if k == 3:  # the stacked streaming code also compiles cleanly as C++ and computes the same bytes
        need_tool("g++")
        build = build_host(out, man, cc="g++", lang="c++", cflags=STRICT_CXX)
        try:
            got, classes, stream = build.run_windows(xq[:40])
        finally:
            build.cleanup()
        assert compare_outputs(y[:40], {"classify": got, "classes": classes, "stream": stream})["mismatches"] == 0


def check_stream(build, m, k: int, seed: int, n: int = 203) -> None:
    """NAME_step one frame per call, logits after every frame, no reset: after frame t the cell
    has run (t + 1) // K steps; the final state holds the n % K frames still buffered."""
    frames = random_int8_inputs(1, n, F, seed=seed)[0]
    logits, state = build.run_stream(frames, every=1)
    steps = n // k
    ref, ref_state, _ = simulate_stream(m.ir, stack_frames(frames[None], k)[0], list(range(steps)))
    done = np.array([(c + 1) // k for c in stream_checkpoints(n, 1)])  # cell steps after frame c
    assert np.array_equal(logits[done >= 1], ref[done[done >= 1] - 1])
    assert len({bytes(v) for v in logits[done == 0]}) == (k > 1)  # before the first step: the reset state's
    for key, v in ref_state.items():
        assert np.array_equal(state[key], v), key
    if k > 1:
        assert int(state["stack_count"][0]) == n % k
        assert np.array_equal(state["stack_frames"][: (n % k) * F], frames[steps * k :].reshape(-1))


def test_metadata_errors(tmp_path):
    """A .tflite whose stacking metadata does not fit its graph: one-line load errors."""
    raw = synth_lstm_tflite(SynthSpec(window=4, features=6, units=4, seed=1))
    for meta, needle in (({"stack": 0}, "stack"), ({"stack": 4, "window": 16}, "divide"),
                         ({"stack": 3, "window": 20}, "steps"), ({"stack": "3"}, "stack")):
        p = tmp_path / "bad.tflite"
        p.write_bytes(embed_edgelstm_metadata(raw, meta))
        with pytest.raises(EdgelstmError) as e:
            load_int8_model(p)
        assert needle in str(e.value) and "\n" not in str(e.value)


# ------------------------------------------------------------------ Keras models through quantize

T_KERAS, K_KERAS = 14, 3


def keras_model(tmp: Path, cell: str, k: int, t: int, seed: int, meta_stack: bool = True) -> Path:
    """An untrained Keras classifier on stacked steps as `train --stack k` builds it (normalisation
    per frame feature tiled k times), with its metadata JSON."""
    keras = import_keras()
    keras.utils.set_random_seed(seed)
    L = keras.layers
    inp = keras.Input((t // k, k * F))
    x = L.Normalization(mean=np.tile([0.5, -1.0], k), variance=np.tile([4.0, 0.25], k))(inp)
    x = (L.LSTM(6) if cell == "lstm" else L.GRU(6))(x)
    model = keras.Model(inp, L.Dense(3)(x))
    p = tmp / f"{cell}_k{k}.keras"
    model.save(p)
    meta = {"class_names": ["a", "b", "c"], "feature_names": ["u", "v"], "window": t,
            **({"stack": k} if meta_stack else {})}
    p.with_suffix(".json").write_text(json.dumps(meta))
    return p


def dataset(tmp: Path, t: int) -> Path:
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(120, t, F)) * [2.0, 0.5] + [0.5, -1.0]).astype(np.float32)
    y = rng.integers(0, 3, size=120)
    p = tmp / "d.npz"
    np.savez(p, X_train=X[:80], y_train=y[:80], X_test=X[80:], y_test=y[80:], class_names=np.array(["a", "b", "c"]))
    return p


@pytest.fixture(scope="module")
def keras_lstm(tmp_path_factory):
    d = tmp_path_factory.mktemp("stack_keras")
    data = dataset(d, T_KERAS)
    model = keras_model(d, "lstm", K_KERAS, T_KERAS, seed=1)
    res = quantize_model(model, data, d / "lstm_int8.tflite", calib=CalibrationConfig(samples=40))
    return d, data, model, res


def test_quantize_keras_lstm(keras_lstm):
    """quantize reads "stack" from the training metadata; TFLite Micro on the stacked input ==
    simulator; the .tflite metadata holds the stack, the window in frames and F statistics."""
    need_tflm()
    _d, _data, _model, res = keras_lstm
    assert res.metadata["stack"] == K_KERAS and res.metadata["window"] == T_KERAS
    assert res.metadata["normalization"]["mean"] == [0.5, -1.0]
    assert res.tflm is not None and res.tflm["sequences"] == 40
    assert res.tflm["mismatched_bytes"] == 0
    m = res.model
    assert (m.window, m.n_features, m.stack, m.ir.n_features) == (T_KERAS, F, K_KERAS, K_KERAS * F)


def test_simulate_report_export_keras_lstm(keras_lstm, edgelstm_exe):
    """simulate and report feed frames; export-c + host C on the data == simulator (front end too)."""
    need_tool("gcc")
    d, data, model, res = keras_lstm
    tfl = res.out
    r = run_cli(edgelstm_exe, "simulate", tfl, "--data", data, "--json", "-q")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["accuracy"] == pytest.approx(res.int8_accuracy)
    rep = compute_report(model, tfl, data)
    assert (rep["models"]["window"], rep["models"]["features"], rep["models"]["stack"]) == (T_KERAS, F, K_KERAS)
    assert rep["float_reference"]["ok"], rep["float_reference"]  # the float shadow reproduces Keras
    assert rep["summary"]["int8_accuracy"] == pytest.approx(res.int8_accuracy)
    assert rep["summary"]["float_accuracy"] == pytest.approx(res.float_accuracy)
    out = d / "c_lstm"
    export_c(tfl, out, name="kst", n_vectors=8, data_path=data)
    v = verify_export(out, data=data, samples=40)
    print(f"keras LSTM stack {K_KERAS}: host C {v['mismatches_by_path']}, front end {v['front_end_mismatches']}")
    assert v["mismatches"] == 0 and v["front_end_mismatches"] == 0 and v["compared_bytes"] == 40 * 3 * 2


def test_quantize_keras_gru_and_errors(tmp_path, keras_lstm, edgelstm_exe):
    """GRU through edgelstm's quantizer with --stack for a model whose metadata lacks it; bad
    stacks are one-line errors."""
    need_tool("gcc")
    _d, data, lstm_model, _res = keras_lstm
    cal = CalibrationConfig(samples=30)
    gru = keras_model(tmp_path, "gru", 2, T_KERAS - 1, seed=2, meta_stack=False)
    data13 = dataset(tmp_path, T_KERAS - 1)
    res = quantize_model(gru, data13, tmp_path / "gru_int8.tflite", calib=cal, stack=2)
    assert res.model.stack == 2 and res.model.window == T_KERAS - 1
    out = tmp_path / "c_gru"
    export_c(res.out, out, name="gst", n_vectors=4)
    v = verify_export(out, data=data13, samples=40)
    assert v["mismatches"] == 0 and v["compared_bytes"] == 40 * 3 * 2

    bad = [
        (dict(stack=0), "integer >= 1"),  # --stack 0
        (dict(stack=2), "conflicts"),  # the training metadata says 3
    ]
    for kw, needle in bad:
        with pytest.raises(EdgelstmError) as e:
            quantize_model(lstm_model, data, tmp_path / "x.tflite", calib=cal, **kw)
        assert needle in str(e.value) and "\n" not in str(e.value), str(e.value)
    for kw, needle in ((dict(stack=3), "use --stack 2"), (dict(stack=14), "longer than the window"),
                       ({}, "quantize with --stack 2")):  # no --stack, no "stack" in its metadata
        with pytest.raises(EdgelstmError) as e:  # the GRU takes 2 frames of 2 features per step
            quantize_model(gru, data13, tmp_path / "x.tflite", calib=cal, **kw)
        assert needle in str(e.value) and "\n" not in str(e.value), str(e.value)
    # an ONNX model whose 18 input features per step are normalised each its own way: not 3 frames of 6
    onnx_data = tmp_path / "onnx.npz"
    rng = np.random.default_rng(1)
    np.savez(onnx_data, X_train=rng.normal(size=(20, 48, 6)).astype(np.float32), y_train=np.arange(20) % 7,
             X_test=rng.normal(size=(7, 48, 6)).astype(np.float32), y_test=np.arange(7))
    with pytest.raises(EdgelstmError) as e:
        quantize_model(DATA / "torch_gru8.onnx", onnx_data, tmp_path / "x.tflite", calib=cal, stack=3)
    assert "normalises the frames of a stacked step differently" in str(e.value)
    assert not (tmp_path / "x.tflite").exists()
    r = run_cli(edgelstm_exe, "quantize", gru, "--data", data13, "--out", tmp_path / "x.tflite", "--stack", "0")
    assert_one_line_error(r, "--stack", ">= 1")


def test_qemu_cortex_m4_stacked(tmp_path, edgelstm_exe):
    """verify --target qemu-cortex-m4 --json on a stacked LSTM: 0 mismatches; instructions per
    frame are NAME_step averaged over every frame (the cell runs on one call in K)."""
    need_tool("arm-none-eabi-gcc")
    need_tool("qemu-system-arm")
    path = stacked_model(tmp_path, "lstm", False, 4, 15, seed=5)
    out = tmp_path / "c"
    export_c(path, out, name="stk", n_vectors=4)
    r = run_cli(edgelstm_exe, "verify", out, "--target", "qemu-cortex-m4", "--samples", "12", "--json", "-q")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    print(f"QEMU M4 stack 4: {rep['mismatches']} mismatches over {rep['compared_bytes']} bytes, "
          f"{rep['instructions_per_frame']} instructions per frame, {rep['macs_per_frame']} MACs per frame")
    assert rep["mismatches"] == 0 and rep["compared_bytes"] == 12 * 4 * 2 and rep["stack"] == 4
    assert rep["macs_per_frame"] == pytest.approx(load_int8_model(path).ir.macs_per_frame() * 3 / 15, abs=0.1)
    assert 0 < rep["instructions_per_frame"] < rep["instructions_per_window"] / 4
