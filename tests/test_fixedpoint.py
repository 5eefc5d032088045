"""Fixed-point primitives: property tests against plain-integer references, and the LUT
activations / single ops against TFLite Micro's own kernels (single-op models)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from edgelstm import fixedpoint as fp
from edgelstm.ir import FCParams, SoftmaxOp
from edgelstm.tflite.reader import load_ir_from_bytes
from edgelstm.tflite.schema import fb
from edgelstm.tflite.writer import ModelBuilder
from edgelstm.sim.kernels import fully_connected
from edgelstm.sim.softmax import run_softmax

from .conftest import need_tflm

I32 = st.integers(min_value=fp.INT32_MIN, max_value=fp.INT32_MAX)
INT32_EDGES = [fp.INT32_MIN, fp.INT32_MIN + 1, -1, 0, 1, fp.INT32_MAX - 1, fp.INT32_MAX]


def ref_srdhm(a: int, b: int) -> int:
    """gemmlowp SaturatingRoundingDoublingHighMul on Python integers."""
    if a == b == fp.INT32_MIN:
        return fp.INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    s = ab + nudge
    q = abs(s) // (1 << 31)
    return q if s >= 0 else -q


def ref_round_half_away(v: Fraction) -> int:
    fl = v.numerator // v.denominator
    frac = v - fl
    if frac > Fraction(1, 2) or (frac == Fraction(1, 2) and v > 0):
        return fl + 1
    return fl


def ref_rdbp(x: int, e: int) -> int:
    return ref_round_half_away(Fraction(x, 1 << e))


def wrap32(v: int) -> int:
    return (v + 2**31) % 2**32 - 2**31


def ref_mbqm(x: int, m: int, s: int) -> int:
    left, right = max(s, 0), max(-s, 0)
    return ref_rdbp(ref_srdhm(wrap32(x * (1 << left)), m), right)


@settings(max_examples=400, deadline=None)
@given(a=I32, b=I32)
@example(a=fp.INT32_MIN, b=fp.INT32_MIN)
@example(a=fp.INT32_MIN, b=fp.INT32_MAX)
@example(a=-3, b=1 << 30)
@example(a=3, b=1 << 30)
def test_saturating_rounding_doubling_high_mul(a, b):
    assert int(fp.saturating_rounding_doubling_high_mul(a, b)) == ref_srdhm(a, b)


@settings(max_examples=400, deadline=None)
@given(x=I32, e=st.integers(min_value=0, max_value=31))
@example(x=-5, e=1)  # negative half: away from zero
@example(x=5, e=1)
@example(x=fp.INT32_MIN, e=31)
@example(x=fp.INT32_MAX, e=31)
@example(x=-(1 << 30), e=31)
@example(x=12345, e=0)
def test_rounding_divide_by_pot(x, e):
    assert int(fp.rounding_divide_by_pot(x, e)) == ref_rdbp(x, e)


@settings(max_examples=400, deadline=None)
@given(x=I32, m=st.integers(min_value=1 << 30, max_value=fp.INT32_MAX), s=st.integers(min_value=-31, max_value=7))
@example(x=fp.INT32_MIN, m=1 << 30, s=0)
@example(x=fp.INT32_MAX, m=fp.INT32_MAX, s=-31)
@example(x=-490817250, m=1404002207, s=-22)
@example(x=-3504, m=1374352768, s=-1)
def test_multiply_by_quantized_multiplier(x, m, s):
    assert int(fp.multiply_by_quantized_multiplier(x, m, s)) == ref_mbqm(x, m, s)


def test_primitives_vectorised_equal_scalar():
    r = np.random.default_rng(0)
    x = np.concatenate([r.integers(fp.INT32_MIN, fp.INT32_MAX, 2000, dtype=np.int64), INT32_EDGES])
    m = r.integers(1 << 30, 1 << 31, len(x))
    s = r.integers(-31, 8, len(x))
    got = fp.multiply_by_quantized_multiplier(x, m, s)
    assert [int(v) for v in got] == [ref_mbqm(int(a), int(b), int(c)) for a, b, c in zip(x, m, s)]


@settings(max_examples=300, deadline=None)
@given(real=st.floats(min_value=1e-12, max_value=1e6, allow_nan=False))
@example(real=1.0)
@example(real=0.5)
@example(real=2.0**-16)
@example(real=0.9999999999)
def test_quantize_multiplier(real):
    m, s = fp.quantize_multiplier(real)
    if m == 0:
        assert real < 2.0**-31
        return
    assert (1 << 30) <= m < (1 << 31)
    approx = Fraction(m) * Fraction(2) ** (s - 31)
    assert abs(approx - Fraction(real)) <= Fraction(2) ** (s - 32)


def test_quantize_multiplier_edges():
    assert fp.quantize_multiplier(0.0) == (0, 0)
    assert fp.quantize_multiplier(1.0) == (1 << 30, 1)
    assert fp.quantize_multiplier(2.0**-15) == (1 << 30, -14)
    assert fp.quantize_multiplier(2.0**-40) == (0, 0)  # flushed like TFLM
    with pytest.raises(ValueError):
        fp.quantize_multiplier(float("nan"))


@pytest.mark.parametrize("v,expected", [(0.5, 1), (-0.5, -1), (1.5, 2), (-2.5, -3), (0.49999997, 0), (2.4999, 2)])
def test_round_half_away(v, expected):
    assert fp.round_half_away_scalar(v) == expected
    assert int(fp.tflite_round_f32(np.float32(v))) == expected


def test_quantize_f32_clamps_and_handles_huge():
    q = fp.quantize_f32(np.array([0.0, 1e30, -1e30, 0.05, -0.05, 0.025], np.float32), 0.05, 3)
    assert q.tolist() == [3, 127, -128, 4, 2, 4]


# ---------------------------------------------------------------------------- TFLM oracles


def _single_op_model(code, x_shape, x_dtype, x_scale, x_zp, y_shape, y_dtype, y_scale, y_zp, extra_inputs=(),
                     options_type=0, options=None):
    b = ModelBuilder()
    x = b.tensor("x", x_shape, x_dtype, scale=x_scale, zero_point=x_zp)
    ins = [x] + [b.tensor(*a[:3], **a[3]) if a is not None else -1 for a in extra_inputs]
    y = b.tensor("y", y_shape, y_dtype, scale=y_scale, zero_point=y_zp)
    b.op([i for i in ins], [y], builtin=code, options_type=options_type, options=options)
    return b.finish([x], [y])


def _tflm_run(raw, x):
    from tflite_micro.python.tflite_micro import runtime

    it = runtime.Interpreter.from_bytes(raw, arena_size=1 << 22)
    it.set_input(x, 0)
    it.invoke()
    return np.array(it.get_output(0))


ALL_INT16 = np.arange(-32768, 32768, dtype=np.int16).reshape(1, -1)


def test_sigmoid_lut_equals_tflm_on_every_int16():
    need_tflm()
    raw = _single_op_model(fb.BuiltinOperator.LOGISTIC, [1, 65536], np.int16, 2.0**-12, 0, [1, 65536], np.int16,
                           2.0**-15, 0)
    ref = _tflm_run(raw, ALL_INT16).reshape(-1).astype(np.int64)
    got = fp.sigmoid_int16(ALL_INT16.reshape(-1))
    assert int(np.count_nonzero(ref != got)) == 0


@pytest.mark.parametrize("csp", [-9, -10, -11, -12, -13, -14, -15])
def test_tanh_lut_equals_tflm_on_every_int16(csp):
    """tanh of a Q(-csp) input (the LSTM's tanh of the cell state; -12 is the gate's Q3.12)."""
    need_tflm()
    raw = _single_op_model(fb.BuiltinOperator.TANH, [1, 65536], np.int16, 2.0**csp, 0, [1, 65536], np.int16,
                           2.0**-15, 0)
    ref = _tflm_run(raw, ALL_INT16).reshape(-1).astype(np.int64)
    m, s = fp.tanh_params_for_scale_power(csp)
    got = fp.tanh_int16(ALL_INT16.reshape(-1), m, s)
    assert int(np.count_nonzero(ref != got)) == 0


@pytest.mark.parametrize("in_scale", [0.01, 0.0625, 0.3, 2.5])
def test_softmax_equals_tflm(in_scale):
    need_tflm()
    C, N = 7, 2000
    opts = fb.SoftmaxOptionsT()
    opts.beta = 1.0
    raw = _single_op_model(fb.BuiltinOperator.SOFTMAX, [N, C], np.int8, in_scale, 5, [N, C], np.int8, 1 / 256, -128,
                           options_type=fb.BuiltinOptions.SoftmaxOptions, options=opts)
    r = np.random.default_rng(1)
    x = r.integers(-128, 128, size=(N, C)).astype(np.int8)
    x[:50] = 127
    x[50:100] = -128
    x[100:150, 0] = 127
    ref = _tflm_run(raw, x).astype(np.int64)
    from edgelstm.prepare import calculate_input_radius as _calculate_input_radius, preprocess_softmax_scaling as _preprocess_softmax_scaling

    m, s = _preprocess_softmax_scaling(1.0, in_scale, 5)
    op = SoftmaxOp(name="s", input="x", output="y", input_multiplier=m, input_left_shift=s,
                   diff_min=-_calculate_input_radius(5, s, 31))
    assert int(np.count_nonzero(run_softmax(op, x) != ref)) == 0


@pytest.mark.parametrize("per_channel,relu", [(False, False), (True, False), (True, True), (False, True)])
def test_fully_connected_equals_tflm(per_channel, relu):
    """A FULLY_CONNECTED op read through edgelstm's reader equals TFLM's kernel."""
    need_tflm()
    r = np.random.default_rng(2)
    N, K, O = 500, 24, 9
    W = r.integers(-127, 128, size=(O, K)).astype(np.int8)
    ws = (0.01 * (0.5 + r.random(O))).astype(np.float32) if per_channel else np.float32(0.013)
    xs, xz, ys, yz = 0.05, -7, 0.11, 4
    bias = r.integers(-5000, 5000, size=O).astype(np.int32)
    b = ModelBuilder()
    x = b.tensor("x", [N, K], np.int8, scale=xs, zero_point=xz)
    wt = b.tensor("w", [O, K], np.int8, scale=ws, zero_point=np.zeros(np.size(ws), np.int64), data=W)
    bt = b.tensor("b", [O], np.int32, scale=np.float32(xs) * np.asarray(ws, np.float32),
                  zero_point=np.zeros(np.size(ws), np.int64), data=bias)
    y = b.tensor("y", [N, O], np.int8, scale=ys, zero_point=yz)
    opts = fb.FullyConnectedOptionsT()
    opts.fusedActivationFunction = fb.ActivationFunctionType.RELU if relu else fb.ActivationFunctionType.NONE
    b.op([x, wt, bt], [y], builtin=fb.BuiltinOperator.FULLY_CONNECTED,
         options_type=fb.BuiltinOptions.FullyConnectedOptions, options=opts, version=4)
    raw = b.finish([x], [y])
    xin = r.integers(-128, 128, size=(N, K)).astype(np.int8)
    ref = _tflm_run(raw, xin).astype(np.int64)
    # the reader's Prepare of the same op (multipliers from the tensors' scales)
    from edgelstm.prepare import activation_range as _activation_range, fc_multiplier_per_channel as _fc_multiplier_per_channel, fc_multiplier_per_tensor as _fc_multiplier_per_tensor

    if per_channel:
        m, s = _fc_multiplier_per_channel(xs, ws, ys)
    else:
        m1, s1 = _fc_multiplier_per_tensor(xs, float(ws), ys)
        m, s = np.full(O, m1), np.full(O, s1)
    lo, hi = _activation_range("RELU" if relu else "NONE", ys, yz, -128, 127)
    p = FCParams(weights=W, bias=bias.astype(np.int64), multiplier=m, shift=s, input_offset=-xz, output_offset=yz,
                 act_min=lo, act_max=hi)
    assert int(np.count_nonzero(fully_connected(xin, p) != ref)) == 0


def test_reader_rejects_unsupported_op_by_name():
    raw = _single_op_model(fb.BuiltinOperator.TANH, [1, 4], np.int16, 2.0**-12, 0, [1, 4], np.int16, 2.0**-15, 0)
    from edgelstm.errors import UnsupportedError

    with pytest.raises(UnsupportedError, match="TANH"):
        load_ir_from_bytes(raw)


def _gemmlowp_srdhm_vec(a, b):
    """gemmlowp's own formulation (nudge + truncating division), vectorised, as the reference."""
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    ab = a * b
    s = ab + np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    q = np.where(s >= 0, s >> 31, -((-s) >> 31))
    return np.where((a == b) & (a == fp.INT32_MIN), fp.INT32_MAX, q)


def _gemmlowp_rdbp_vec(x, e):
    x = np.asarray(x, np.int64)
    e = np.asarray(e, np.int64)
    mask = (np.int64(1) << e) - 1
    return (x >> e) + ((x & mask) > ((mask >> 1) + (x < 0)))


def test_fast_formulas_equal_gemmlowp_on_a_million_values():
    r = np.random.default_rng(5)
    n = 1_000_000
    a = r.integers(fp.INT32_MIN, fp.INT32_MAX, n, endpoint=True)
    b = np.concatenate([r.integers(fp.INT32_MIN, fp.INT32_MAX, n // 2, endpoint=True),
                        r.integers(0, 1 << 31, n - n // 2)])
    a[:7] = INT32_EDGES
    b[:7] = INT32_EDGES[::-1]
    assert np.array_equal(fp.saturating_rounding_doubling_high_mul(a, b), _gemmlowp_srdhm_vec(a, b))
    e = r.integers(0, 32, n)
    assert np.array_equal(fp.rounding_divide_by_pot(a, e), _gemmlowp_rdbp_vec(a, e))
    for k in (0, 1, 14, 31):
        assert np.array_equal(fp.rounding_divide_by_pot(a, k), _gemmlowp_rdbp_vec(a, k))
