"""TFLite Micro's int8 softmax (``reference_ops::Softmax``, gemmlowp fixed point), vectorised.

Q5.26 scaled differences, ``exp_on_negative_values`` (gemmlowp), a Q12.19 sum, the reciprocal
by ``one_over_one_plus_x_for_x_in_0_1`` (Newton-Raphson, 3 iterations), output scale 1/256 and
zero point -128. The gemmlowp FixedPoint<int32, k> type is carried as its raw int32 value; a
product of two fixed-point values is ``SaturatingRoundingDoublingHighMul`` of the raws.
"""

from __future__ import annotations

import numpy as np

from .. import fixedpoint as fp
from ..ir import SoftmaxOp

_SRDHM = fp.saturating_rounding_doubling_high_mul
_RDBP = fp.rounding_divide_by_pot
_I32MAX = fp.INT32_MAX
_I32MIN = fp.INT32_MIN


def _sat_mul_pot(x: np.ndarray, exponent: int) -> np.ndarray:
    """gemmlowp ``SaturatingRoundingMultiplyByPOT<exponent>``."""
    if exponent == 0:
        return x
    if exponent < 0:
        return _RDBP(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    r = fp.wrap_int32(x << exponent)
    r = np.where(x > threshold, _I32MAX, r)
    return np.where(x < -threshold, _I32MIN, r)


def _exp_on_interval_between_negative_one_quarter_and_0_excl(a: np.ndarray) -> np.ndarray:
    """gemmlowp: Taylor expansion of exp around -1/8, input and output FixedPoint<int32, 0>."""
    constant_term = 1895147668  # exp(-1/8)
    constant_1_over_3 = 715827883
    x = a + (1 << 28)  # a + 1/8
    x2 = _SRDHM(x, x)
    x3 = _SRDHM(x2, x)
    x4 = _SRDHM(x2, x2)
    x4_over_4 = _sat_mul_pot(x4, -2)
    inner = _sat_mul_pot(_SRDHM(x4_over_4 + x3, constant_1_over_3) + x2, -1)
    return constant_term + _SRDHM(constant_term, x + inner)


def exp_on_negative_values(a: np.ndarray, integer_bits: int = 5) -> np.ndarray:
    """gemmlowp ``exp_on_negative_values`` for FixedPoint<int32, integer_bits> -> FixedPoint<int32, 0>."""
    frac_bits = 31 - integer_bits
    one_quarter = 1 << (frac_bits - 2)
    mask = one_quarter - 1
    a_mod_quarter_minus_one_quarter = (a & mask) - one_quarter
    result = _exp_on_interval_between_negative_one_quarter_and_0_excl(
        _sat_mul_pot(a_mod_quarter_minus_one_quarter, integer_bits)  # Rescale<0>
    )
    remainder = a_mod_quarter_minus_one_quarter - a
    for exponent, multiplier in ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
                                 (2, 39332535), (3, 720401), (4, 242)):
        if integer_bits > exponent:
            shift = frac_bits + exponent
            result = np.where((remainder & (1 << shift)) != 0, _SRDHM(result, multiplier), result)
    if integer_bits > 5:
        clamp = -(1 << (36 - integer_bits))
        result = np.where(a < clamp, 0, result)
    return np.where(a == 0, _I32MAX, result)


def _one_over_one_plus_x_for_x_in_0_1(a: np.ndarray) -> np.ndarray:
    """gemmlowp Newton-Raphson 1/(1+x), FixedPoint<int32, 0> in and out."""
    s = a + _I32MAX  # RoundingHalfSum(a, One()) in int64
    half_denominator = np.where(s >= 0, (s + 1) // 2, -((-s + 1) // 2))
    constant_48_over_17 = 1515870810  # F2
    constant_neg_32_over_17 = -1010580540  # F2
    x = constant_48_over_17 + _SRDHM(half_denominator, constant_neg_32_over_17)
    one_f2 = 1 << 29
    for _ in range(3):
        half_denominator_times_x = _SRDHM(half_denominator, x)
        one_minus = one_f2 - half_denominator_times_x
        x = x + _sat_mul_pot(_SRDHM(x, one_minus), 2)  # Rescale<2>(F4)
    return _sat_mul_pot(x, 1)  # Rescale<0>(ExactMulByPot<-1>(x))


def _count_leading_zeros_u32(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.int64) & 0xFFFFFFFF
    n = np.full(x.shape, 32, dtype=np.int64)
    nz = x > 0
    # bit_length via float log2 is unsafe near powers of two; use exact integer search.
    bl = np.zeros(x.shape, dtype=np.int64)
    v = x.copy()
    for b in (16, 8, 4, 2, 1):
        m = v >= (1 << b)
        bl = np.where(m, bl + b, bl)
        v = np.where(m, v >> b, v)
    bl = bl + (v > 0)
    return np.where(nz, 32 - bl, n)


def get_reciprocal(x: np.ndarray, x_integer_digits: int) -> tuple[np.ndarray, np.ndarray]:
    """TFLM ``GetReciprocal``: (FixedPoint<int32,0> 1/x scaled, num_bits_over_unit)."""
    headroom_plus_one = _count_leading_zeros_u32(x)
    num_bits_over_unit = x_integer_digits - headroom_plus_one
    shifted = ((np.asarray(x, dtype=np.int64) & 0xFFFFFFFF) << headroom_plus_one) & 0xFFFFFFFF
    shifted_sum_minus_one = fp.wrap_int32(shifted - (1 << 31))
    return _one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one), num_bits_over_unit


def run_softmax(op: SoftmaxOp, x: np.ndarray) -> np.ndarray:
    """int8 softmax over the last axis of ``x`` (any leading shape)."""
    x = np.asarray(x, dtype=np.int64)
    max_in_row = x.max(axis=-1, keepdims=True)
    diff = x - max_in_row
    valid = diff >= op.diff_min
    rescaled = fp.multiply_by_quantized_multiplier_greater_than_one(diff, op.input_multiplier, op.input_left_shift)
    exps = exp_on_negative_values(rescaled, 5)
    contrib = np.where(valid, _sat_mul_pot(exps, -12), 0)  # Rescale<12>
    sum_of_exps = fp.wrap_int32(contrib.sum(axis=-1, keepdims=True))
    shifted_scale, num_bits_over_unit = get_reciprocal(sum_of_exps, 12)
    exponent = num_bits_over_unit + 31 - 8
    unsat = _RDBP(_SRDHM(shifted_scale, exps), exponent)
    out = np.clip(unsat - 128, -128, 127)
    return np.where(valid, out, -128)
