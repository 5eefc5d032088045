"""`edgelstm report`: the files, the figures against their oracles (`edgelstm simulate` for the
int8 accuracy, Keras for the float accuracy and the float hidden states), the mapping of int8
ops to Keras layers (bidirectional, stacked), and one-line errors for pairs that do not belong
together."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from .conftest import assert_one_line_error as conftest_one_line_error
from .conftest import run_cli

PNGS = ("accuracy.png", "confusion.png", "divergence.png", "saturation.png", "state_range.png", "ranges.png",
        "logits.png")


def assert_one_line_error(res: subprocess.CompletedProcess, *needles: str) -> None:
    conftest_one_line_error(res, *needles)
    assert res.stdout == ""


def _keras_float_accuracy(keras_path: Path, X: np.ndarray, y: np.ndarray) -> float:
    from edgelstm.quantize.keras_spec import load_keras_model

    model = load_keras_model(keras_path)
    return float(np.mean(np.argmax(model.predict(X, batch_size=256, verbose=0), -1) == y))


@pytest.fixture(scope="module")
def tiny_pair(radar_tiny, tmp_path_factory) -> tuple[Path, Path]:
    """A 1-epoch LSTM(8) on radar_tiny and its int8 model (60 calibration sequences)."""
    from edgelstm.data import load_dataset
    from edgelstm.quantize.pipeline import CalibrationConfig, quantize_model
    from edgelstm.train import TrainConfig, save_model, train_model

    d = tmp_path_factory.mktemp("report_models")
    ds = load_dataset(radar_tiny)
    res = train_model(ds, TrainConfig(units=8, epochs=1, batch_size=32))
    keras_path, _ = save_model(res, d / "lstm.keras")
    q = quantize_model(keras_path, radar_tiny, d / "lstm_int8.tflite", calib=CalibrationConfig(samples=60),
                       tflm_samples=20)
    return keras_path, q.out


def test_report_cli_files_and_accuracies(tiny_pair, radar_tiny, tmp_path, edgelstm_exe):
    from edgelstm.codegen import export_c
    from edgelstm.data import load_dataset

    keras_path, tfl = tiny_pair
    c_dir = tmp_path / "c"
    export_c(tfl, c_dir, name="tiny", n_vectors=5)
    (c_dir / "footprint.json").write_text(json.dumps({"cortex-m4": {"flash_code_bytes": 1234}, "ram_bytes": 321}))
    out = tmp_path / "rep"
    out.mkdir()  # an earlier report there is replaced (its page, JSON and figures)
    (out / "report.json").write_text(json.dumps({"format": "edgelstm-report"}))
    (out / "stale.png").write_bytes(b"x")
    (out / "my_analysis.md").write_text("mine")  # the user's own file: kept
    res = run_cli(edgelstm_exe, "report", keras_path, tfl, "--data", radar_tiny, "--out", out, "--c-dir", c_dir,
                  "--json")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)  # one JSON object and nothing else on stdout
    for f in ("index.html", "report.json", *PNGS):
        assert (out / f).is_file() and (out / f).stat().st_size > 0, f
        assert f in summary["files"]
    assert sorted(p.name for p in out.iterdir()) == sorted([*summary["files"], "my_analysis.md"])  # stale.png is gone
    assert (out / "my_analysis.md").read_text() == "mine"
    for png in PNGS:
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "index.html").read_text()
    for png in PNGS:
        assert f"src='{png}'" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page  # self-contained

    rep = json.loads((out / "report.json").read_text())
    s = rep["summary"]
    assert summary["float_accuracy"] == s["float_accuracy"] == rep["figures"]["accuracy"]["float_accuracy"]
    assert summary["int8_accuracy"] == s["int8_accuracy"] == rep["figures"]["accuracy"]["int8_accuracy"]

    # int8 accuracy: exactly what `edgelstm simulate` prints
    sim = run_cli(edgelstm_exe, "simulate", tfl, "--data", radar_tiny, "--json")
    assert sim.returncode == 0, sim.stderr
    assert json.loads(sim.stdout)["accuracy"] == s["int8_accuracy"]
    # float accuracy: exactly what the Keras model gives (and what `train` recorded)
    ds = load_dataset(radar_tiny)
    assert _keras_float_accuracy(keras_path, ds.X_test, ds.y_test) == s["float_accuracy"]
    meta = json.loads(keras_path.with_suffix(".json").read_text())
    assert meta["metrics"]["float_test_accuracy"] == s["float_accuracy"]

    # the other figures are consistent with each other
    cm_f = np.array(rep["figures"]["confusion"]["float"])
    cm_q = np.array(rep["figures"]["confusion"]["int8"])
    n = len(ds.y_test)
    assert cm_f.sum() == cm_q.sum() == n == rep["data"]["samples"]
    assert np.trace(cm_f) / n == s["float_accuracy"] and np.trace(cm_q) / n == s["int8_accuracy"]
    assert np.array_equal(cm_f.sum(1), np.bincount(ds.y_test, minlength=7))
    ch = rep["figures"]["changed_predictions"]
    assert ch["count"] == s["changed_predictions"] == len(ch["items"])
    assert s["prediction_agreement"] == 1 - ch["count"] / n
    for it in ch["items"]:
        assert it["float_pred"] != it["int8_pred"]
        assert it["label"] == rep["data"]["class_names"][ds.y_test[it["index"]]]
    T = ds.window
    for L in rep["figures"]["divergence"]["layers"]:
        assert len(L["mean_abs"]) == T and np.all(np.isfinite(L["mean_abs"]))
        assert all(v > 0 for v in L["mean_abs"])
        # an LSTM whose state and output tensors agree: below 2 LSB after the first frame
        assert L["mean_abs_lsb"][0] < 2.0
    L = rep["layers"][0]
    assert L["kind"] == "lstm" and set(L["preact_saturated"]) == {"i", "f", "g", "o"}
    st = L["state"]
    assert -32768 <= st["int16_min"] <= st["int16_max"] <= 32767
    assert st["used_float"][1] == st["int16_max"] * 2.0 ** st["cell_scale_power"]
    assert rep["quantization"]["calibration"]["samples"] == 60
    assert rep["float_reference"]["ok"] and rep["float_reference"]["max_abs_logit_diff"] < 1e-4
    dep = rep["deployment"]
    assert dep["same_model"] and dep["weights_bytes"] == dep["header_weights_bytes"] > 0
    assert dep["footprint"] == {"ram_bytes": 321, "cortex-m4.flash_code_bytes": 1234}
    assert summary["deployment"]["footprint"]["ram_bytes"] == 321

    # anything but an earlier report is refused (before any work)
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    ref = run_cli(edgelstm_exe, "report", keras_path, tfl, "--data", radar_tiny, "--out", other)
    assert_one_line_error(ref, "not an edgelstm report")
    assert (other / "keep.txt").exists()


def test_divergence_against_the_float_model(tiny_pair, radar_tiny):
    """The float reference tracks the int8 model: zero for identical paths, far below a shuffled pairing."""
    import edgelstm
    from edgelstm.quantize.keras_spec import keras_to_spec, load_keras_model, normalize
    from edgelstm.report.pairing import match_recurrent_ops
    from edgelstm.report.shadow import float_shadow
    from edgelstm.report.stats import per_timestep_divergence

    keras_path, tfl = tiny_pair
    m = edgelstm.load_int8_model(tfl)
    spec = keras_to_spec(load_keras_model(keras_path))
    matches = match_recurrent_ops(m.ir, spec)
    X = edgelstm.load_dataset(radar_tiny).X_test
    xq = m.quantize_input(X)
    env = float_shadow(m.ir, matches, [l for l in spec.layers if l.kind == "dense"], normalize(X, spec))
    op = matches[0].op
    h_q = m.dequantize(op.output, m.hidden_states(xq)[op.name])
    h_f = env[op.output]
    d = per_timestep_divergence(h_f, h_q)
    assert d.shape == (X.shape[1],) and np.all(np.isfinite(d))
    assert np.all(per_timestep_divergence(h_q, h_q) == 0.0)  # identical paths: exactly zero
    shuffled = per_timestep_divergence(h_f[np.random.default_rng(0).permutation(len(h_f))], h_q)
    assert np.all(d < 0.2 * shuffled[1:].mean())  # the pairing is right, not just the magnitudes
    assert d.max() < 4 * m.ir.tensors[op.output].scale  # a few LSB at most
    # the shadow's logits are Keras' logits
    logits = load_keras_model(keras_path).predict(X, verbose=0)
    np.testing.assert_allclose(env[m.ir.output], logits, atol=1e-4)


def _random_model(tmp_path: Path, name: str, cell: str, bidirectional: bool, layers: int, units: int = 6,
                  window: int = 16, features: int = 18, norm: dict | None = None, dense_head=(8,)) -> Path:
    """An untrained Keras model of edgelstm's shape with non-trivial random weights."""
    from edgelstm._tf import import_keras
    from edgelstm.train import TrainConfig, build_model

    keras = import_keras()
    keras.utils.set_random_seed(3)
    cfg = TrainConfig(cell=cell, units=units, layers=layers, bidirectional=bidirectional, dense_head=list(dense_head))
    rng = np.random.default_rng(5)
    if norm is None:
        norm = {"mean": rng.normal(0, 1, features), "variance": rng.uniform(0.5, 4.0, features)}
    model = build_model(keras, window=window, n_features=features, n_classes=7, config=cfg,
                        mean=np.asarray(norm["mean"], np.float32), variance=np.asarray(norm["variance"], np.float32))
    for layer in model.layers:
        if layer.name.startswith(("lstm", "gru", "bi_")):
            layer.set_weights([w + rng.normal(0, 0.3, w.shape).astype(np.float32) for w in layer.get_weights()])
    p = tmp_path / f"{name}.keras"
    model.save(p)
    return p


def _dequantized_keras_twin(tflite: Path, keras_path: Path, ir_to_keras: dict[str, tuple[int, str]]):
    """A Keras 3 model whose float weights are the .tflite's dequantized int8 weights.

    ``ir_to_keras`` says which IR op is which (Bidirectional layer, direction): read off the
    graph by hand, independently of the report's own mapping.
    """
    import edgelstm
    from edgelstm._tf import import_keras

    keras = import_keras()
    qm = edgelstm.load_int8_model(tflite).ir

    def real(m, s):
        return float(m) * 2.0 ** (float(s) - 31)

    weights: dict[tuple[int, str], list[np.ndarray]] = {}
    for op in qm.recurrent_ops():
        s_x = qm.tensors[op.input].scale
        Wk, Uk, bk = [], [], []
        for g in "ifgo":
            fx, fh = op.gates[g].input_fc, op.gates[g].recurrent_fc
            swx = real(fx.multiplier[0], fx.shift[0]) * 2.0**-12 / s_x
            swh = real(fh.multiplier[0], fh.shift[0]) * 2.0**-12 / op.hidden_scale
            Wk.append(fx.weights * swx)
            Uk.append(fh.weights * swh)
            bk.append(fx.bias * s_x * swx)
        weights[ir_to_keras[op.name]] = [np.concatenate(Wk).T, np.concatenate(Uk).T, np.concatenate(bk)]
    dense = []
    for op in qm.ops:
        if op.kind == "fully_connected":
            s_in, s_out = qm.tensors[op.input].scale, qm.tensors[op.output].scale
            sw = np.array([real(m, s) for m, s in zip(op.fc.multiplier, op.fc.shift)]) * s_out / s_in
            dense.append((op.activation, [(op.fc.weights * sw[:, None]).T, op.fc.bias * s_in * sw]))
    T, F = qm.window, qm.n_features
    inp = keras.Input((T, F))
    L = keras.layers
    bi = [L.Bidirectional(L.LSTM(8, return_sequences=True), name="bi_0"), L.Bidirectional(L.LSTM(8), name="bi_1")]
    x = bi[1](bi[0](inp))
    ds = [L.Dense(w[0].shape[1], activation=act if act != "none" else None) for act, w in dense]
    for d in ds:
        x = d(x)
    model = keras.Model(inp, x)
    for i, layer in enumerate(bi):
        layer.set_weights([w.astype(np.float32) for w in weights[(i, "forward")] + weights[(i, "backward")]])
    for d, (_, w) in zip(ds, dense):
        d.set_weights([a.astype(np.float32) for a in w])
    model.save(keras_path)
    return model


def test_bidirectional_stacked_lstm_mapping(tmp_path):
    """The TFLite converter's stacked Bidirectional LSTM (it runs each backward LSTM first): every
    int8 op is matched to its Keras layer and direction, and the float shadow, run in the int8
    graph's op order, reproduces Keras' outputs."""
    from edgelstm.data import Dataset, save_dataset
    from edgelstm.report.compute import compute_report

    tfl = Path(__file__).parent / "data" / "conv_bistack2_lstm8.tflite"
    # by hand from the graph: concat_4 [t74 (lstm_3), reverse(t65 of lstm_1)] is [forward, backward]
    # of layer 0; concat_10 [last of lstm_8, last of lstm_6] is [forward, backward] of layer 1.
    hand = {"lstm_3": (0, "forward"), "lstm_1": (0, "backward"), "lstm_8": (1, "forward"), "lstm_6": (1, "backward")}
    k = tmp_path / "bistack.keras"
    _dequantized_keras_twin(tfl, k, hand)
    rng = np.random.default_rng(0)
    X = rng.normal(0, 1, (90, 20, 16)).astype(np.float32)
    y = np.arange(90) % 5
    data = tmp_path / "d.npz"
    save_dataset(Dataset(X_train=X[:30], y_train=y[:30], X_test=X[30:], y_test=y[30:],
                         class_names=[f"c{i}" for i in range(5)], feature_names=[f"f{i}" for i in range(16)]), data)
    rep = compute_report(k, tfl, data)
    got = {L["op"]: (L["layer_index"], L["direction"]) for L in rep["layers"]}
    assert got == hand
    assert [L["label"] for L in rep["layers"]] == ["bi_0 backward", "bi_0 forward", "bi_1 backward", "bi_1 forward"]
    assert all(L["weight_similarity"] > 0.999 for L in rep["layers"])
    # a mapping with a direction swapped would run forward weights on reversed frames: the shadow
    # would not reproduce Keras, and the first frame's error would be far above the rounding
    assert rep["float_reference"]["max_abs_logit_diff"] < 1e-4
    assert rep["models"]["architecture"] == "BiLSTM(8) -> BiLSTM(8) -> Dense(12, relu) -> Dense(5)"
    for L in rep["layers"]:
        d = L["divergence"]["mean_abs_lsb"]
        assert len(d) == 20 and np.all(np.isfinite(d))
    # after the first frame of the first layer: rounding, plus where the converter gave the state
    # and output tensors different parameters (it does here), that offset and scale error
    for L in rep["layers"][:2]:
        h = L["hidden"]
        bound = 2.0 + abs(h["state_output_offset_lsb"]) + 128 * abs(h["state_output_scale_ratio"] - 1)
        assert L["divergence"]["mean_abs_lsb"][0] < bound, L
    clean = [L for L in rep["layers"] if not L["hidden"]["state_output_params_differ"]]
    assert clean and clean[0]["layer_index"] == 0 and clean[0]["divergence"]["mean_abs_lsb"][0] < 1.0


def test_bidirectional_stacked_gru_mapping(radar_tiny, tmp_path):
    """BiGRU x2 (edgelstm's integer GRU): the same mapping checks on a model quantized here."""
    from edgelstm.quantize.pipeline import CalibrationConfig, quantize_model
    from edgelstm.report.compute import compute_report

    k = _random_model(tmp_path, "bi_gru", "gru", True, 2)
    q = quantize_model(k, radar_tiny, tmp_path / "bi_gru.tflite", calib=CalibrationConfig(samples=60))
    rep = compute_report(k, q.out, radar_tiny, samples=60)
    assert rep["models"]["architecture"] == "BiGRU(6) -> BiGRU(6) -> Dense(8, relu) -> Dense(7)"
    got = sorted((L["layer"], L["direction"]) for L in rep["layers"])
    assert got == [("bi_gru_0", "backward"), ("bi_gru_0", "forward"), ("bi_gru_1", "backward"),
                   ("bi_gru_1", "forward")]
    assert all(L["weight_similarity"] > 0.99 for L in rep["layers"])
    assert rep["float_reference"]["max_abs_logit_diff"] < 1e-4
    for L in rep["layers"]:
        d = L["divergence"]["mean_abs_lsb"]
        assert len(d) == 16 and np.all(np.isfinite(d)) and d[0] < 2.0, L
        assert set(L["preact_saturated"]) == {"z", "r", "h"}
        assert L["state"]["kind"] == "gru_state"


def test_bad_pairings_are_one_line_errors(tiny_pair, radar_tiny, tmp_path, edgelstm_exe):
    keras_path, tfl = tiny_pair
    # a .keras with a different input shape (caught from its config, before TensorFlow loads)
    other = _random_model(tmp_path, "wide", "lstm", False, 1, units=8, window=16, features=5)
    res = run_cli(edgelstm_exe, "report", other, tfl, "--data", radar_tiny, "--out", tmp_path / "r1")
    assert_one_line_error(res, "do not belong together", "5 features")
    # the same architecture with other weights (caught on the weights)
    from edgelstm.errors import ModelError
    from edgelstm.report.compute import compute_report

    norm = json.loads(keras_path.with_suffix(".json").read_text())["normalization"]
    same_shape = _random_model(tmp_path, "other", "lstm", False, 1, units=8, norm=norm, dense_head=())
    with pytest.raises(ModelError, match="do not belong together.*weights"):
        compute_report(same_shape, tfl, radar_tiny, samples=5)
    # the arguments swapped, data with the wrong feature count
    res = run_cli(edgelstm_exe, "report", tfl, keras_path, "--data", radar_tiny, "--out", tmp_path / "r2")
    assert_one_line_error(res, "MODEL.keras first")
    from edgelstm.data import load_dataset, save_dataset

    ds = load_dataset(radar_tiny)
    ds.X_train, ds.X_test = ds.X_train[:, :, :5], ds.X_test[:, :, :5]
    ds.feature_names = ds.feature_names[:5]
    bad = tmp_path / "five.npz"
    save_dataset(ds, bad)
    res = run_cli(edgelstm_exe, "report", keras_path, tfl, "--data", bad, "--out", tmp_path / "r3")
    assert_one_line_error(res, "5 features")
    assert not (tmp_path / "r1").exists() and not (tmp_path / "r3").exists()


def test_c_dir_of_another_model_is_noted_on_the_terminal(tiny_pair, radar_tiny, tmp_path, edgelstm_exe):
    from edgelstm.codegen import export_c
    from edgelstm.testing import SynthSpec, synth_lstm_tflite

    keras_path, tfl = tiny_pair
    other = tmp_path / "other.tflite"
    other.write_bytes(synth_lstm_tflite(SynthSpec(seed=3)))
    export_c(other, tmp_path / "c", name="other", n_vectors=2)
    res = run_cli(edgelstm_exe, "report", keras_path, tfl, "--data", radar_tiny, "--out", tmp_path / "rep",
                  "--c-dir", tmp_path / "c", "--samples", 40)
    assert res.returncode == 0, res.stderr
    assert "was made from another .tflite" in res.stderr
