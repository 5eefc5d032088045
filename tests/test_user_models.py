"""What users bring that edgelstm's own fixtures do not: hand-made data files and models.

Each case runs through the real entry point (``edgelstm.cli.main``) and checks a working result
or a one-line ``error: ...`` with nothing written.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.conftest import DATA
from tests.test_bad_inputs import run_main

CONV = DATA / "conv_lstm32_softmax.tflite"  # 20 frames x 16 features, 7 classes (plain converter)


def _npz(path: Path, y_train, y_test, T=20, F=16, **extra) -> Path:
    r = np.random.default_rng(0)
    np.savez(path, X_train=r.normal(size=(len(y_train), T, F)).astype(np.float32), y_train=np.asarray(y_train),
             X_test=r.normal(size=(len(y_test), T, F)).astype(np.float32), y_test=np.asarray(y_test), **extra)
    return path


def _refused(r, *needles) -> str:
    assert r.code not in (0, None) and not isinstance(r.code, str), (r.code, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def test_simulate_refuses_labels_the_model_cannot_output(tmp_path):
    # Integer labels 3..9 (not starting at 0) against a 7-class model: labels 7..9 can never be
    # predicted, so the accuracy was silently wrong; now a one-line error with the fix.
    data = _npz(tmp_path / "d.npz", np.arange(28) % 7 + 3, np.arange(14) % 7 + 3)
    out = tmp_path / "p.npz"
    r = run_main("simulate", CONV, "--data", data, "--out", out, "--json")
    _refused(r, "label 9", "7 outputs", "renumber")
    assert r.stdout == "" and not out.exists()


def test_simulate_labels_within_the_model_still_score(tmp_path):
    data = _npz(tmp_path / "d.npz", np.arange(28) % 7, np.arange(14) % 7)
    r = run_main("simulate", CONV, "--data", data, "--json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["samples"] == 14


def _keras_model(path: Path, head, T=20, F=16, cell="gru", **cell_kw) -> Path:
    from edgelstm._tf import import_keras

    keras = import_keras()
    L = keras.layers
    rnn = L.GRU(4, **cell_kw) if cell == "gru" else L.LSTM(4, **cell_kw)
    m = keras.Sequential([keras.Input((T, F)), rnn, L.Dropout(0.2), head(L)])
    m.save(path)
    return path


def test_quantize_refuses_a_binary_sigmoid_head_with_the_fix(tmp_path):
    model = _keras_model(tmp_path / "m.keras", lambda L: L.Dense(1, activation="sigmoid"))
    data = _npz(tmp_path / "d.npz", np.arange(20) % 2, np.arange(10) % 2)
    out = tmp_path / "m.tflite"
    r = run_main("quantize", model, "--data", data, "--out", out, "--json")
    _refused(r, "sigmoid", "Dense(2)")
    assert r.stdout == "" and not out.exists()


def test_hand_made_gru_reset_after_false_with_dropout_quantizes(tmp_path):
    # A Keras GRU built by hand (not by `edgelstm train`): reset_after=False, Dropout, softmax head,
    # no Normalization layer, no sidecar metadata.
    model = _keras_model(tmp_path / "m.keras", lambda L: L.Dense(3, activation="softmax"), reset_after=False)
    data = _npz(tmp_path / "d.npz", np.arange(30) % 3, np.arange(12) % 3)
    out = tmp_path / "m.tflite"
    r = run_main("quantize", model, "--data", data, "--out", out, "--json")
    assert r.code == 0, r.stderr
    rep = json.loads(r.stdout)
    assert out.exists()
    # The report's figures are real: an accuracy in [0, 1] on the 12 test sequences, the int8 model
    # agreeing with the float one (a hand-made GRU quantizes like a trained one: drop <= 1 of 12).
    assert 0.0 <= rep["int8_accuracy"] <= 1.0 and 0.0 <= rep["float_accuracy"] <= 1.0, rep
    assert abs(rep["float_accuracy"] - rep["int8_accuracy"]) <= 1 / 12 + 1e-9, rep


def test_train_notes_ignored_test_fraction_and_empty_classes(tmp_path):
    # Labels 2..4 without class_names: classes 0 and 1 are empty; the file has its own test split.
    data = _npz(tmp_path / "d.npz", np.arange(30) % 3 + 2, np.arange(9) % 3 + 2, T=4, F=2)
    out = tmp_path / "m.keras"
    r = run_main("train", "--data", data, "--units", 2, "--epochs", 1, "--test-fraction", 0.3, "--out", out)
    assert r.code == 0, r.stderr
    assert out.exists() and "Traceback" not in r.stderr
    assert "--test-fraction is ignored" in r.stderr
    assert "class_0, class_1 have no training sequences" in r.stderr


def test_later_stages_reuse_the_test_split_train_made(tmp_path):
    # The file has no test split: train makes one with its --test-fraction/--seed. quantize,
    # simulate and verify --data must score the very same test sequences (the defaults, 0.2 and
    # seed 0, would count training sequences as test ones and inflate the accuracies).
    from edgelstm import load_dataset, load_int8_model
    from edgelstm.data import split_settings

    rng = np.random.default_rng(1)
    data = tmp_path / "d.npz"
    np.savez(data, X_train=rng.normal(size=(40, 4, 2)).astype(np.float32), y_train=np.arange(40) % 2)
    model, tfl, preds = tmp_path / "m.keras", tmp_path / "m.tflite", tmp_path / "p.npz"
    r = run_main("train", "--data", data, "--units", 2, "--epochs", 1, "--test-fraction", 0.35, "--seed", 3,
                 "--out", model)
    assert r.code == 0, r.stderr
    split = {"test_fraction": 0.35, "seed": 3}
    assert split_settings(json.loads((tmp_path / "m.json").read_text())) == split
    r = run_main("quantize", model, "--data", data, "--out", tfl, "--json")
    assert r.code == 0, r.stderr
    m = load_int8_model(tfl)
    assert split_settings(m.ir.info.extra) == split
    expected = load_dataset(data, **split)
    default = load_dataset(data)
    assert len(expected.y_test) != len(default.y_test)  # the test would not tell them apart otherwise
    assert m.ir.info.extra["accuracy"]["n_test"] == len(expected.y_test)
    r = run_main("simulate", tfl, "--data", data, "--out", preds, "--json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["samples"] == len(expected.y_test)
    want = m.predict_int8(m.quantize_input(expected.X_test))
    np.testing.assert_array_equal(np.load(preds)["logits"], want)
    # a hand-edited split is ignored (defaults), never an error
    assert split_settings({"data": {"split": {"test_fraction": 2, "seed": 3}}}) == {}
    assert split_settings({"data": {"split": {"test_fraction": 0.3, "seed": "x"}}}) == {}
    assert split_settings({"data": "x"}) == {} and split_settings(None) == {}
