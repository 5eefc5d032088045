"""The simulator's two LSTM paths give the same integers; the IR's prepared numbers they read.

``run_lstm`` takes a transposed fast path (requantisation folded into the float64 products,
single-shift cell products; edgelstm/sim/lstm.py) whenever the op's bounds allow it, and the
generic path otherwise. test_sim_tflm.py checks the path the models take against TFLite Micro;
this test forces the generic path on the same ops and compares every output and trace, so the
fallback (taken by models whose accumulators or products exceed the fast path's bounds) stays
exact too. The zero points folded into the biases are prepared once in the IR
(``FCParams.folded_bias``, the gate stacks) and checked here against TFLM's own accumulator.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgelstm import fixedpoint as fp
from edgelstm.ir import FCParams
from edgelstm.sim.kernels import FoldedRequant
from edgelstm.sim.lstm import LstmKernel, run_lstm
from edgelstm.tflite.reader import load_ir_from_bytes
from edgelstm.testing import random_int8_inputs, synth_lstm_tflite

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
        assert fast.bx is op.input_stack.folded_bias and fast.bh is op.recurrent_stack.folded_bias  # read, not redone
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


def _folded_case(rng, rows, k, shifts):
    w = rng.integers(-128, 128, (rows, k))
    w[0] = 127  # an extreme row: the accumulator bound itself is reached
    bias = rng.integers(-(1 << 14), 1 << 14, rows)
    mult = rng.integers(1 << 30, 1 << 31, rows)
    shift = rng.choice(shifts, rows)
    return w, bias, mult, shift


@pytest.mark.parametrize("shifts", [(0,), (-1,), (-3, -7, -12), (1, 2), (-20, -31, 0, 3)])
def test_folded_requant_image_and_index_match_fixedpoint(shifts):
    """FoldedRequant's float64 image/index (r = 0 and r > 0 rows, any base) against the integer
    definition sat16(MBQM(W a + b)) of edgelstm.fixedpoint, on random and extreme int8 inputs."""
    rng = np.random.default_rng(abs(hash(shifts)) % (1 << 32))
    rows, k, n = 24, 40, 4000
    wx, bx, mx, sx = _folded_case(rng, rows, k, shifts)
    wh, bh, mh, sh = _folded_case(rng, rows, k, shifts)
    base = np.repeat([65536, 196608, 65536], rows // 3)
    fx = FoldedRequant(wx, bx, mx, sx, base=base)
    fh = FoldedRequant(wh, bh, mh, sh)
    assert fx.ok and fh.ok
    a = rng.integers(-128, 128, (k, n))
    a[:, 0], a[:, 1] = 127, -128  # extreme inputs
    b = rng.integers(-128, 128, (k, n))
    b[:, 2], b[:, 3] = 127, -128

    def ref(w, bias, m, s, inp):
        acc = w @ inp + bias[:, None]
        return fp.sat16(fp.multiply_by_quantized_multiplier(acc, m[:, None], s[:, None]))

    sx_ref, sh_ref = ref(wx, bx, mx, sx, a), ref(wh, bh, mh, sh, b)
    img = fx.image(fx.wa @ np.vstack([a, np.ones((1, n))]))
    np.testing.assert_array_equal(img.view(np.int64) - np.int64(0x4338000000000000), base[:, None] + sx_ref)
    idx = fh.index(fh.wa @ np.vstack([b, np.ones((1, n))]), img)
    np.testing.assert_array_equal(idx, base[:, None] + sx_ref + sh_ref)
    # saturation is exercised, not only the linear range
    assert (np.abs(sx_ref) == 32767).any() or min(shifts) < -7


@pytest.mark.parametrize("offset", [-128, -1, 0, 37, 127, 128])
@pytest.mark.parametrize("with_bias", [True, False])
def test_folded_bias_gives_the_tflm_accumulator(offset, with_bias):
    """``FCParams.folded_bias`` (prepared once in the IR; the simulator and the C read it) gives
    TFLM's int32 accumulator sum_i w_i (x_i + input_offset) + b (``FullyConnected``), wrapped as
    int32 wraps, also where the fold leaves the int32 range (biases at the limits, extreme rows)."""
    rng = np.random.default_rng(1000 + offset + 7 * with_bias)
    rows, k, n = 64, 300, 50
    w = rng.integers(-127, 128, (rows, k))
    w[0], w[1] = 127, -127
    bias = rng.integers(fp.INT32_MIN, fp.INT32_MAX, rows, endpoint=True)
    bias[0], bias[1], bias[2] = fp.INT32_MAX, fp.INT32_MIN, 0
    fc = FCParams(weights=w.astype(np.int8), bias=bias if with_bias else None, multiplier=np.full(rows, 1 << 30),
                  shift=np.zeros(rows, np.int64), input_offset=offset, output_offset=0, act_min=-128, act_max=127)
    x = rng.integers(-128, 128, (k, n))
    x[:, 0], x[:, 1] = 127, -128
    tflm = fp.wrap_int32(w @ (x + offset) + (bias[:, None] if with_bias else 0))  # int64: exact, then wrapped
    got = fp.wrap_int32(w @ x + fc.folded_bias[:, None])
    np.testing.assert_array_equal(got, tflm)
    assert fc.folded_bias.min() >= fp.INT32_MIN and fc.folded_bias.max() <= fp.INT32_MAX


def test_prepare_after_an_edit_in_place():
    """The prepared numbers follow an IR edited in place once ``QuantModel.prepare()`` runs."""
    qm, (op,) = _lstm_ops("u8_f2_zp")
    for g in op.gates.values():
        g.input_fc.input_offset += 3
    qm.prepare()
    want = np.concatenate([g.input_fc.bias + g.input_fc.input_offset * g.input_fc.weights.astype(np.int64).sum(1)
                           for g in (op.gates[k] for k in op.GATES)])
    np.testing.assert_array_equal(op.input_stack.folded_bias, fp.wrap_int32(want))
