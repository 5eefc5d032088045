"""The float LSTM reference (edgelstm/sim/lstm_float.py) against Keras' own LSTM layer, and the
GRU reference (sim/gru.py gru_float) likewise: the oracle is keras.layers.LSTM / GRU."""

from __future__ import annotations

import numpy as np
import pytest

from edgelstm._tf import import_keras
from edgelstm.sim.gru import gru_float
from edgelstm.sim.lstm_float import lstm_float


@pytest.fixture(scope="module")
def keras():
    return import_keras()


def _keras_rnn(keras, cls, units, shape, seed, **kw):
    layer = getattr(keras.layers, cls)(units, **kw)
    inp = keras.Input(shape)
    model = keras.Model(inp, layer(inp))
    rng = np.random.default_rng(seed)
    # random weights at a scale that drives the gates into saturation now and then
    layer.set_weights([rng.normal(0, 0.6, w.shape).astype(np.float32) for w in layer.get_weights()])
    return model, layer


# (T, F, U): one frame, one feature, one unit, and ordinary sizes
SHAPES = [(1, 1, 1), (7, 3, 5), (16, 18, 32), (40, 2, 9)]


@pytest.mark.parametrize("T,F,U", SHAPES)
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_lstm_float_equals_keras(keras, T, F, U, return_sequences, go_backwards):
    model, layer = _keras_rnn(keras, "LSTM", U, (T, F), seed=T * 100 + F * 10 + U,
                              return_sequences=return_sequences, go_backwards=go_backwards)
    x = np.random.default_rng(1).normal(0, 1.5, (11, T, F)).astype(np.float32)
    ref = np.asarray(model(x, training=False))
    kernel, rec, bias = layer.get_weights()
    got = lstm_float(x, kernel, rec, bias, return_sequences=return_sequences, go_backwards=go_backwards)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5)


def test_lstm_float_cells_and_reset(keras):
    """The cell output is consistent with h = o tanh(c), and an all-zero model stays at zero."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 9, 3))
    k, r, b = rng.normal(size=(3, 20)), rng.normal(size=(5, 20)), rng.normal(size=20)
    h, c = lstm_float(x, k, r, b, return_cell=True)
    assert h.shape == c.shape == (4, 9, 5)
    assert np.all(np.abs(h) <= np.abs(np.tanh(c)) + 1e-12)
    h_last, c_last = lstm_float(x, k, r, b, return_sequences=False, return_cell=True)
    np.testing.assert_array_equal(h_last, h[:, -1])
    np.testing.assert_array_equal(c_last, c[:, -1])
    z = lstm_float(x, np.zeros((3, 20)), np.zeros((5, 20)), None)
    assert np.all(z == 0.0)
    with pytest.raises(ValueError):
        lstm_float(x, k, r[:4], b)


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_gru_float_equals_keras(keras, reset_after, go_backwards):
    """gru_float (used by the report for GRU models) is the same kind of reference."""
    model, layer = _keras_rnn(keras, "GRU", 6, (12, 4), seed=7, return_sequences=True, reset_after=reset_after,
                              go_backwards=go_backwards)
    x = np.random.default_rng(2).normal(0, 1.5, (9, 12, 4)).astype(np.float32)
    ref = np.asarray(model(x, training=False))
    kernel, rec, bias = layer.get_weights()
    got = gru_float(x, kernel, rec, bias, reset_after=reset_after, go_backwards=go_backwards)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5)
