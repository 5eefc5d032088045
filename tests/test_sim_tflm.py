"""The simulator against the TFLite Micro interpreter: zero mismatching output bytes.

Shapes cover units 1, 8, 32, 100; features 1, 2, 16, 40; 1 and 3 stacked layers; bidirectional
(1 and 2 layers); windows 1 and 100+; cell-state scales 2^-9 .. 2^-15 (large and small
activations); non-zero hidden zero points; extreme weights; softmax heads; and int8 models made
by the plain TFLite converter. 1,000 sequences each (uniform and extreme input patterns).
"""

from __future__ import annotations

import numpy as np
import pytest

from edgelstm.model import Int8Model, load_int8_model
from edgelstm.oracles import compare, litert_predict, tflm_predict
from edgelstm.tflite.reader import load_ir_from_bytes
from edgelstm.testing import SynthSpec, random_int8_inputs, synth_lstm_tflite

from .conftest import need_tflm

N_SEQ = 1000

SHAPES = {
    "u1_f1": SynthSpec(units=1, features=1, window=16, seed=11),
    "u8_f2_zp": SynthSpec(units=8, features=2, window=24, hidden_zero_point=-37, seed=12),
    "u32_f16_t64": SynthSpec(units=32, features=16, window=64, classes=7, seed=13, cell_scale_power=-11),
    "u100_f40": SynthSpec(units=100, features=40, window=12, seed=14, cell_scale_power=-9, weight_scale=0.005),
    "stack3_csp": SynthSpec(layers=3, units=[8, 12, 6], features=16, window=20, cell_scale_power=[-15, -12, -9],
                            hidden_zero_point=25, seed=15),
    "bi1_dense": SynthSpec(bidirectional=True, units=8, features=16, window=20, dense=[10], seed=16),
    "bi2_softmax": SynthSpec(bidirectional=True, layers=2, units=6, features=5, window=18, softmax=True, seed=17),
    "t1": SynthSpec(units=8, features=16, window=1, seed=18),
    "t120": SynthSpec(units=4, features=2, window=120, seed=19, cell_scale_power=-13),
    "extreme_w": SynthSpec(units=8, features=4, window=20, extreme_weights=True, hidden_zero_point=-100, seed=20,
                           cell_scale_power=-10),
    "small_act": SynthSpec(units=16, features=8, window=30, weight_scale=0.002, cell_scale_power=-15, seed=21,
                           softmax=True, classes=7),
}


def _check(raw: bytes, name: str, n: int = N_SEQ) -> dict:
    m = Int8Model(load_ir_from_bytes(raw, name))
    xq = random_int8_inputs(n, m.window, m.n_features, seed=7, kind="extremes")
    got = m.predict_int8(xq)
    ref = tflm_predict(raw, xq)
    stats = compare(got, ref)
    print(f"{name}: {m.ir.describe()}: {stats['mismatched_bytes']} mismatching bytes / {got.size}")
    return stats


@pytest.mark.parametrize("name", list(SHAPES))
def test_simulator_equals_tflm_synthetic(name):
    need_tflm()
    stats = _check(synth_lstm_tflite(SHAPES[name]), name)
    assert stats["sequences"] == N_SEQ
    assert stats["mismatched_bytes"] == 0


def test_simulator_equals_tflm_converter_models(converter_models):
    need_tflm()
    for path in converter_models:
        stats = _check(path.read_bytes(), path.name)
        assert stats["mismatched_bytes"] == 0, path.name


def test_outputs_are_not_degenerate():
    """The comparison means something: outputs vary with the input."""
    raw = synth_lstm_tflite(SHAPES["u32_f16_t64"])
    m = Int8Model(load_ir_from_bytes(raw))
    y = m.predict_int8(random_int8_inputs(300, m.window, m.n_features, seed=3))
    assert len(np.unique(y)) > 50
    assert len(np.unique(np.argmax(y, -1))) > 1


def test_hidden_states_api_matches_run(converter_models):
    m = load_int8_model(converter_models[0])
    xq = random_int8_inputs(20, m.window, m.n_features, seed=1)
    hs = m.hidden_states(xq)
    assert len(hs) == len(m.ir.recurrent_ops())
    for op in m.ir.recurrent_ops():
        assert hs[op.name].shape == (20, m.window, op.units)
        assert hs[op.name].dtype == np.int8


def test_litert_agreement_is_reported(converter_models):
    """LiteRT's desktop kernels differ from TFLM by design: report, do not assert equality."""
    need_tflm()
    for path in converter_models:
        raw = path.read_bytes()
        m = Int8Model(load_ir_from_bytes(raw))
        xq = random_int8_inputs(300, m.window, m.n_features, seed=9)
        stats = compare(m.predict_int8(xq), litert_predict(raw, xq))
        print(f"LiteRT vs simulator on {path.name}: {stats['mismatched_bytes']} differing bytes, "
              f"largest difference {stats['max_abs_diff']}, prediction agreement {stats['prediction_agreement']:.3f}")
        assert stats["sequences"] == 300
