"""The simulator's two LSTM paths give the same integers.

``run_lstm`` takes a transposed fast path (requantisation folded into the float64 products,
single-shift cell products; edgelstm/sim/lstm.py) whenever the op's bounds allow it, and the
generic path otherwise. test_sim_tflm.py checks the path the models take against TFLite Micro;
this test forces the generic path on the same ops and compares every output and trace, so the
fallback (taken by models whose accumulators or products exceed the fast path's bounds) stays
exact too.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgelstm.quantize.tflite_reader import load_ir_from_bytes
from edgelstm.sim.lstm import LstmKernel, run_lstm
from edgelstm.synth import random_int8_inputs, synth_lstm_tflite

from .test_sim_tflm import SHAPES as MODELS


def _lstm_ops(key):
    qm = load_ir_from_bytes(synth_lstm_tflite(MODELS[key]))
    return qm, [op for op in qm.ops if op.kind == "lstm"]


@pytest.mark.parametrize("key", sorted(MODELS))
def test_fast_and_generic_lstm_paths_agree(key):
    qm, ops = _lstm_ops(key)
    rng = np.random.default_rng(7)
    for op in ops:
        fast = LstmKernel(op)
        assert fast.fast, f"{key}/{op.name}: expected the fast path for a TFLM-style op"
        generic = LstmKernel(op)
        generic.fast = False
        x = random_int8_inputs(300, op.time_steps, op.input_size, seed=int(rng.integers(1 << 31)))
        tr_f, tr_g = {}, {}
        y_f = run_lstm(op, x, tr_f, kernel=fast)
        y_g = run_lstm(op, x, tr_g, kernel=generic)
        assert y_f.dtype == y_g.dtype == np.int8
        n_diff = int((y_f != y_g).sum())
        assert n_diff == 0, f"{key}/{op.name}: {n_diff} hidden-state bytes differ between the paths"
        np.testing.assert_array_equal(tr_f["cell"], tr_g["cell"])
        assert tr_f["preact_saturated"] == tr_g["preact_saturated"]
