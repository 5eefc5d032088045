"""Data that is merely unusual works end to end, through the real entry point.

data inspect --plot -> train (tiny, 1 epoch) -> quantize (--calib-samples 50) -> simulate, for
one frame per sequence (T = 1), one feature (F = 1), 50 classes with string labels, 2,000-frame
sequences, constant features (zero variance) and huge values (1e6); export-c + verify for T = 1
and F = 1.

LSTM cases go through the TFLite converter (a child process each, the slow part); the GRU cases
use edgelstm's own integer GRU. Every stage must succeed, simulate must report exactly the int8
accuracy quantize reported, and TFLite Micro must agree byte for byte (LSTM).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from .conftest import need_tflm, need_tool
from .test_bad_inputs import run_main

# name: (T, F, classes, train sequences per class, kind, string labels, cell, export + verify)
CASES = {
    "one_frame_T1": (1, 3, 3, 8, "normal", False, "lstm", True),
    "one_feature_F1": (12, 1, 3, 8, "normal", False, "lstm", True),
    "long_2000_frames": (2000, 2, 2, 4, "normal", False, "lstm", False),
    "fifty_classes_string_labels": (4, 3, 50, 2, "normal", True, "gru", False),
    "constant_features": (6, 3, 3, 8, "constant", False, "gru", False),
    "huge_values_1e6": (6, 2, 3, 8, "huge", False, "gru", False),
}


def _names(C: int) -> np.ndarray:
    return np.array([f"cls{i:02d}" for i in range(C)])


def make_data(path: Path, T: int, F: int, C: int, n_per: int, kind: str, string_labels: bool, seed: int = 0):
    r = np.random.default_rng(seed)
    n, nt = C * n_per, C * max(1, n_per // 2)
    y, yt = np.arange(n) % C, np.arange(nt) % C

    def X(m, yy):
        x = r.normal(size=(m, T, F)) + (yy[:, None, None] % 3) * 0.8
        if kind == "constant":
            x[:, :, 0] = 5.0  # constant, non-zero
            if F > 1:
                x[:, :, 1] = 0.0  # constant zero
        elif kind == "huge":
            x = 1e6 + 1e5 * x
        return x.astype(np.float32)

    lab = (lambda v: _names(C)[v]) if string_labels else (lambda v: v)
    np.savez(path, X_train=X(n, y), y_train=lab(y), X_test=X(nt, yt), y_test=lab(yt))
    return path


def ok(r, what: str) -> None:
    assert r.code == 0, f"{what} failed: {r.stderr.strip()[-600:]}"
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("case", list(CASES))
def test_unusual_data_end_to_end(case, tmp_path):
    T, F, C, n_per, kind, string_labels, cell, export = CASES[case]
    if cell == "lstm":
        need_tflm()
    data = make_data(tmp_path / f"{case}.npz", T, F, C, n_per, kind, string_labels)
    keras_model, model = tmp_path / "m.keras", tmp_path / "m_int8.tflite"

    png = tmp_path / "examples.png"
    ok(run_main("data", "inspect", data, "--plot", png, "-q"), "data inspect --plot")
    assert png.stat().st_size > 1000

    ok(run_main("train", "--data", data, "--cell", cell, "--units", "3", "--epochs", "1", "--out", keras_model,
                "-q"), "train")
    meta = json.loads(keras_model.with_suffix(".json").read_text())
    assert meta["window"] == T and meta["n_features"] == F and len(meta["class_names"]) == C
    if string_labels:
        assert meta["class_names"] == _names(C).tolist()

    r = run_main("quantize", keras_model, "--data", data, "--out", model, "--calib-samples", "50", "--json")
    ok(r, "quantize")
    q = json.loads(r.stdout)
    assert 0.0 <= q["int8_accuracy"] <= 1.0 and 0.0 <= q["float_accuracy"] <= 1.0
    if cell == "lstm":
        assert q["tflm"] is not None and q["tflm"]["mismatched_bytes"] == 0, q["tflm"]

    preds = tmp_path / "preds.npz"
    r = run_main("simulate", model, "--data", data, "--out", preds, "--json")
    ok(r, "simulate")
    s = json.loads(r.stdout)
    assert s["accuracy"] == q["int8_accuracy"]  # the same bit-exact simulator on the same split
    z = np.load(preds)
    assert z["logits"].shape == (s["samples"], C) and z["logits"].dtype == np.int8

    import edgelstm

    m = edgelstm.load_int8_model(model)
    assert (m.window, m.n_features, m.n_outputs) == (T, F, C)
    if kind == "constant":
        # a zero-variance feature normalises to exactly 0 (variance 1), not to +-inf or NaN
        xq = m.quantize_input(np.load(data)["X_test"])
        assert np.all(xq[:, :, 0] == xq[0, 0, 0]) and np.all(xq[:, :, 0] == m.input_zero_point)

    if string_labels:
        # A test file with only two of the classes numbers its string labels 0 and 1; simulate
        # matches them to the model's classes by name (cls07 -> 7, cls42 -> 42).
        sub = np.load(data)
        keep = np.isin(sub["y_test"], ["cls07", "cls42"])
        keep_tr = np.isin(sub["y_train"], ["cls07", "cls42"])
        part = tmp_path / "two_classes.npz"
        np.savez(part, X_train=sub["X_train"][keep_tr], y_train=sub["y_train"][keep_tr], X_test=sub["X_test"][keep],
                 y_test=sub["y_test"][keep])
        p2 = tmp_path / "preds2.npz"
        ok(run_main("simulate", model, "--data", part, "--out", p2, "-q"), "simulate on a two-class file")
        z2 = np.load(p2)
        assert sorted(set(z2["y"].tolist())) == [7, 42]
        assert np.array_equal(z2["logits"], z["logits"][keep])

    if export:
        need_tool("gcc")
        out = tmp_path / "c"
        ok(run_main("export-c", model, "--out", out, "--data", data, "--test-vectors", "20", "-q"), "export-c")
        r = run_main("verify", out, "--data", data, "--json")
        ok(r, "verify")
        v = json.loads(r.stdout)
        assert v["mismatches"] == 0 and v["argmax_mismatches"] == 0 and v["compared_bytes"] > 0
        assert v.get("front_end_mismatches") == 0
        assert v["streaming"] is True
