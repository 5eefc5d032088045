"""Keras models users bring to `quantize` that are not what edgelstm reads: each is refused with a
one-line error naming the problem and the fix (never quantized into a different model, never an
"internal error"), and nothing is written.

Tiny models (8 frames x 3 features, 4 units) built here with Keras 3 (and tf_keras for the
Keras 2 files); the refusals happen before any conversion, so the file runs in seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.test_bad_inputs import run_main

T, F, U, C = 8, 3, 4, 3


@pytest.fixture(scope="module")
def keras():
    from edgelstm._tf import import_keras

    return import_keras()


def _npz(path: Path, T=T, F=F, classes=C) -> Path:
    r = np.random.default_rng(0)
    np.savez(path, X_train=r.normal(size=(30, T, F)).astype(np.float32), y_train=np.arange(30) % classes,
             X_test=r.normal(size=(12, T, F)).astype(np.float32), y_test=np.arange(12) % classes)
    return path


def _quantize(tmp_path: Path, model: Path, T=T, F=F):
    out = tmp_path / "m.tflite"
    r = run_main("quantize", model, "--data", _npz(tmp_path / "d.npz", T, F), "--out", out,
                 "--calib-samples", 10, "--tflm-samples", 0, "--json")
    return r, out


def _refused(tmp_path: Path, model: Path, *needles, T=T, F=F) -> str:
    r, out = _quantize(tmp_path, model, T, F)
    assert r.code not in (0, None) and not isinstance(r.code, str), (r.code, r.stderr)
    lines = [l for l in r.stderr.strip().splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    for n in needles:
        assert n.lower() in lines[0].lower(), (n, lines[0])
    assert r.stdout == "" and not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".m.tflite")]
    return lines[0]


def _save(model, path: Path) -> Path:
    model.save(path)
    return path


# 1. not a chain --------------------------------------------------------------------------------

def test_a_layer_applied_twice_is_refused(keras, tmp_path):
    # D(D(h)) was quantized as one application of D: int8 agreed with Keras on ~55 % of sequences.
    L = keras.layers
    x = keras.Input((T, F))
    h = L.GRU(U)(x)
    d = L.Dense(U, activation="relu", name="shared")
    m = _save(keras.Model(x, L.Dense(C)(d(d(h)))), tmp_path / "m.keras")
    _refused(tmp_path, m, "'shared'", "applied 2 times", "chain")


def test_an_operation_on_keras_tensors_is_not_dropped(keras, tmp_path):
    # `Dense(3)(h) * 2.0` is an operation, not a layer: model.layers does not list it, so reading
    # the layer list quantized the model without it.
    L = keras.layers
    x = keras.Input((T, F))
    m = _save(keras.Model(x, L.Dense(C)(L.GRU(U)(x)) * 2.0), tmp_path / "m.keras")
    _refused(tmp_path, m, "Multiply", "not supported")


def test_a_recurrent_layer_given_an_initial_state_is_refused(keras, tmp_path):
    L = keras.layers
    x = keras.Input((T, F))
    h0 = L.Dense(U)(L.Flatten()(x))
    m = _save(keras.Model(x, L.Dense(C)(L.GRU(U, name="g")(x, initial_state=h0))), tmp_path / "m.keras")
    _refused(tmp_path, m, "'g'", "2 inputs", "chain")


def test_a_legitimate_functional_chain_still_quantizes(keras, tmp_path):
    # The same layers as the refused model above, each applied once.
    L = keras.layers
    x = keras.Input((T, F))
    h = L.Dropout(0.1)(L.GRU(U)(x))
    m = _save(keras.Model(x, L.Dense(C)(L.Dense(U, activation="relu")(h))), tmp_path / "m.keras")
    r, out = _quantize(tmp_path, m)
    assert r.code == 0, r.stderr
    assert out.exists() and "Traceback" not in r.stderr
    # the figure quantize reports is the simulator's on the same test split
    sim = run_main("simulate", out, "--data", tmp_path / "d.npz", "--json")
    assert sim.code == 0, sim.stderr
    assert json.loads(r.stdout)["int8_accuracy"] == json.loads(sim.stdout)["accuracy"]


def test_the_gru_spec_is_checked_against_keras(keras, tmp_path):
    # The GRU path's counterpart of the LSTM twin check: a spec that does not compute what the
    # Keras model computes is refused before quantizing.
    from edgelstm.errors import ModelError
    from edgelstm.quantize.keras_spec import keras_to_spec
    from edgelstm.quantize.pipeline import check_gru_spec

    L = keras.layers
    m = keras.Sequential([keras.Input((T, F)), L.GRU(U), L.Dense(U, activation="relu"), L.Dense(C)])
    spec = keras_to_spec(m, "m")
    x = np.random.default_rng(1).normal(size=(4, T, F)).astype(np.float32)
    y = m.predict(x, verbose=0)
    check_gru_spec(spec, x, y)  # the true reading passes
    spec.layers.insert(2, spec.layers[1])  # what the shared-layer model was read as, the other way round
    with pytest.raises(ModelError, match="does not reproduce"):
        check_gru_spec(spec, x, y)


# 2. Normalization over another axis -------------------------------------------------------------

@pytest.mark.parametrize("cell", ["GRU", "LSTM"])
def test_normalization_over_time_steps_is_refused(keras, tmp_path, cell):
    # T == F: the per-time-step statistics have the shape of per-feature ones.
    L = keras.layers
    n = 4
    norm = L.Normalization(axis=1, mean=np.arange(n, dtype=np.float32), variance=np.arange(1, n + 1, dtype=np.float32))
    m = _save(keras.Sequential([keras.Input((n, n)), norm, getattr(L, cell)(U), L.Dense(C)]), tmp_path / "m.keras")
    _refused(tmp_path, m, "Normalization", "axis 1", "axis=-1", T=n, F=n)


def test_normalization_over_the_last_axis_still_reads(keras):
    from edgelstm.quantize.keras_spec import keras_to_spec

    L = keras.layers
    for axis in (-1, 2, (2,), None):
        mean, var = ([1.0, 2.0, 3.0], [4.0, 4.0, 4.0]) if axis is not None else (1.0, 4.0)
        m = keras.Sequential([keras.Input((T, F)), L.Normalization(axis=axis, mean=mean, variance=var), L.GRU(U),
                              L.Dense(C)])
        spec = keras_to_spec(m, "m")
        assert spec.norm_mean.shape == (F,) and np.allclose(spec.norm_std, 2.0), axis


# 3. several outputs ------------------------------------------------------------------------------

@pytest.mark.parametrize("cell", ["GRU", "LSTM"])
def test_two_outputs_are_refused(keras, tmp_path, cell):
    L = keras.layers
    x = keras.Input((T, F))
    h = getattr(L, cell)(U)(x)
    m = _save(keras.Model(x, [L.Dense(C)(h), L.Dense(2)(h)]), tmp_path / "m.keras")
    _refused(tmp_path, m, "2 outputs", "one output")


# 4. unbuilt Sequential ---------------------------------------------------------------------------

def test_an_unbuilt_sequential_is_refused_with_the_fix(keras, tmp_path):
    L = keras.layers
    m = _save(keras.Sequential([L.LSTM(U), L.Dense(C)]), tmp_path / "m.keras")
    _refused(tmp_path, m, "built", "keras.Input((T, F))", "model.build")


# 5. non-finite weights ---------------------------------------------------------------------------

@pytest.mark.parametrize("cell,bad", [("GRU", np.nan), ("LSTM", np.nan), ("GRU", np.inf)])
def test_non_finite_weights_are_refused_naming_the_layer(keras, tmp_path, cell, bad):
    L = keras.layers
    m = keras.Sequential([keras.Input((T, F)), getattr(L, cell)(U, name="rnn"), L.Dense(C, name="head")])
    w = m.get_weights()
    w[0][0, 0] = bad
    m.set_weights(w)
    _refused(tmp_path, _save(m, tmp_path / "m.keras"), "'rnn'", "NaN" if np.isnan(bad) else "infinite", "retrain")


def test_non_finite_dense_weights_are_refused(keras, tmp_path):
    L = keras.layers
    m = keras.Sequential([keras.Input((T, F)), L.GRU(U), L.Dense(C, name="head")])
    w = m.get_weights()
    w[-1][1] = -np.inf
    m.set_weights(w)
    _refused(tmp_path, _save(m, tmp_path / "m.keras"), "'head'", "infinite")


# 6. Bidirectional with a different backward layer ------------------------------------------------

def test_bidirectional_gru_with_another_backward_formulation_is_refused(keras, tmp_path):
    L = keras.layers
    bi = L.Bidirectional(L.GRU(U), backward_layer=L.GRU(U, reset_after=False, go_backwards=True), name="bi")
    m = _save(keras.Sequential([keras.Input((T, F)), bi, L.Dense(C)]), tmp_path / "m.keras")
    _refused(tmp_path, m, "'bi'", "reset_after", "backward_layer")


def test_bidirectional_with_a_gru_behind_an_lstm_is_refused(keras, tmp_path):
    L = keras.layers
    bi = L.Bidirectional(L.LSTM(U), backward_layer=L.GRU(U, go_backwards=True), name="bi")
    m = _save(keras.Sequential([keras.Input((T, F)), bi, L.Dense(C)]), tmp_path / "m.keras")
    _refused(tmp_path, m, "'bi'", "LSTM forward", "GRU backward")


def test_bidirectional_with_an_equal_backward_layer_still_reads(keras):
    from edgelstm.quantize.keras_spec import keras_to_spec

    L = keras.layers
    bi = L.Bidirectional(L.GRU(U), backward_layer=L.GRU(U, go_backwards=True, kernel_initializer="he_normal"))
    spec = keras_to_spec(keras.Sequential([keras.Input((T, F)), bi, L.Dense(C)]), "m")
    assert spec.layers[0].bidirectional and len(spec.layers[0].weights) == 6


# 7. files of other Keras versions ----------------------------------------------------------------

@pytest.fixture(scope="module")
def tf_keras_model():
    from edgelstm._tf import import_tf_keras

    tfk = import_tf_keras()
    L = tfk.layers
    return tfk.Sequential([tfk.Input((T, F)), L.LSTM(U), L.Dense(C)])


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_keras2_model_says_how_to_get_a_keras3_one(keras, tmp_path, tf_keras_model, suffix):
    m = _save(tf_keras_model, tmp_path / f"old{suffix}")
    msg = _refused(tmp_path, m, "Keras 2", "tf_keras", "set_weights", ".save('m.keras')")
    assert "Unrecognized keyword" not in msg and "not a zip archive" not in msg
    # the fix the message gives works
    L = keras.layers
    new = keras.Sequential([keras.Input((T, F)), L.LSTM(U), L.Dense(C)])
    new.set_weights(tf_keras_model.get_weights())
    new.save(tmp_path / "m.keras")


def test_a_keras3_h5_model_says_how_to_resave_it(keras, tmp_path):
    L = keras.layers
    m = _save(keras.Sequential([keras.Input((T, F)), L.GRU(U), L.Dense(C)]), tmp_path / "old.h5")
    _refused(tmp_path, m, "HDF5", "keras.models.load_model('old.h5'", "model.save('m.keras')")
    keras.models.load_model(m, compile=False).save(tmp_path / "m.keras")  # the fix the message gives works


def test_a_weights_only_file_says_how_to_make_a_model(keras, tmp_path):
    L = keras.layers
    m = keras.Sequential([keras.Input((T, F)), L.GRU(U), L.Dense(C)])
    m.save_weights(tmp_path / "w.weights.h5")
    _refused(tmp_path, tmp_path / "w.weights.h5", "only weights", "load_weights", "model.save('m.keras')")


@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
def test_weights_int8_cannot_hold_blame_the_model_not_the_file(keras, tmp_path, cell):
    # All-zero recurrent weights: the quantized scales are out of range. The error named the new
    # .tflite as a "corrupt model?"; it is the float model's range, said in one line.
    L = keras.layers
    m = keras.Sequential([keras.Input((T, F)), getattr(L, cell)(U, name="rnn"), L.Dense(C, name="head")])
    m.set_weights([np.zeros_like(w) for w in m.get_weights()])
    line = _refused(tmp_path, _save(m, tmp_path / "m.keras"), "cannot be quantized to int8", "range")
    assert "corrupt" not in line
