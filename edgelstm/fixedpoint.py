"""Fixed-point primitives of TensorFlow Lite Micro, vectorised with numpy.

Each function reproduces one TFLM / gemmlowp function bit for bit, on arrays. Integer values
are carried in int64 arrays (so that no intermediate overflows silently) and every function
returns the C result type's value range; the C runtime in ``firmware_templates/`` mirrors this
module function by function (``edgelstm_fixedpoint.h``).

References (tflite-micro):
- ``tensorflow/lite/kernels/internal/common.{h,cc}``: MultiplyByQuantizedMultiplier
  (double-rounding form, the default build without TFLITE_SINGLE_ROUNDING);
- ``third_party/gemmlowp/fixedpoint/fixedpoint.h``: SaturatingRoundingDoublingHighMul,
  RoundingDivideByPOT;
- ``tensorflow/lite/kernels/internal/quantization_util.cc``: QuantizeMultiplier, CheckedLog2;
- ``tensorflow/lite/kernels/internal/reference/integer_ops/logistic.h`` and ``tanh.h``: the int16
  LUT sigmoid and tanh (``sigmoid_table_uint16``, shared with CMSIS-NN ``arm_nntables.c``).
"""

from __future__ import annotations

import math

import numpy as np

INT8_MIN, INT8_MAX = -128, 127
INT16_MIN, INT16_MAX = -32768, 32767
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

# sigmoid(i/24) in unsigned Q0.16, 256 entries: TFLM `sigmoid_table_uint16` (common.h) /
# CMSIS-NN `arm_nntables.c`. Not exactly round(65536*sigmoid(i/24)): 44 entries differ by one,
# so the values are copied, not recomputed.
SIGMOID_TABLE_UINT16 = np.array(
    [
        32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498,
        40149, 40794, 41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255,
        46817, 47369, 47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409, 51865,
        52311, 52745, 53169, 53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174,
        56503, 56823, 57133, 57433, 57724, 58007, 58280, 58544, 58800, 59048, 59288,
        59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110, 61279, 61441,
        61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886,
        62990, 63090, 63186, 63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835,
        63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308, 64357, 64405, 64450,
        64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786, 64816, 64845,
        64873, 64900, 64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079, 65097,
        65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234, 65246, 65258,
        65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360,
        65367, 65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425,
        65429, 65433, 65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465,
        65468, 65471, 65474, 65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491,
        65493, 65495, 65497, 65498, 65500, 65501, 65503, 65504, 65505, 65507, 65508,
        65509, 65510, 65511, 65512, 65513, 65514, 65515, 65516, 65517, 65517, 65518,
        65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524, 65525,
        65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529,
        65529, 65529, 65530, 65530, 65530, 65530, 65531, 65531, 65531, 65531, 65531,
        65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533, 65533, 65533,
        65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534,
        65534, 65534, 65535,
    ],
    dtype=np.int64,
)
assert SIGMOID_TABLE_UINT16.shape == (256,)


# --------------------------------------------------------------------------------------------
# Prepare-time helpers (scalars, run once when the IR is built)
# --------------------------------------------------------------------------------------------


def quantize_multiplier(real_multiplier: float) -> tuple[int, int]:
    """TFLM ``QuantizeMultiplier``: real -> (Q31 multiplier, shift), real = m * 2^(shift-31).

    ``frexp`` then round half away from zero (``TfLiteRound``) of q * 2^31; q == 1 becomes
    2^30 with shift + 1; shifts below -31 flush to (0, 0).
    """
    real_multiplier = float(real_multiplier)
    if real_multiplier == 0.0:
        return 0, 0
    if not math.isfinite(real_multiplier):
        raise ValueError(f"cannot quantize multiplier {real_multiplier}")
    q, shift = math.frexp(real_multiplier)
    q_fixed = round_half_away_scalar(q * (1 << 31))
    if q_fixed > (1 << 31):
        raise ValueError("QuantizeMultiplier: q_fixed out of range")
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if q_fixed > INT32_MAX:
        raise ValueError("QuantizeMultiplier: q_fixed out of range")
    if shift < -31:
        shift, q_fixed = 0, 0
    return int(q_fixed), int(shift)


def round_half_away_scalar(x: float) -> int:
    """C ``round()`` / ``TfLiteRound``: halves away from zero (Python's round() is half-even)."""
    r = math.floor(abs(x) + 0.5)
    # floor(|x| + 0.5) can be one too high when |x| + 0.5 rounds up in double (|x| just below
    # a half); correct it so the result is exactly C's round().
    if r - abs(x) > 0.5:
        r -= 1
    return int(math.copysign(r, x)) if r != 0 else 0


def checked_log2(x: float) -> int:
    """TFLM ``CheckedLog2`` (the rounded exponent, computed in float32 as TFLM does)."""
    x32 = np.float32(x)
    x_log2 = np.float32(np.log(x32)) * np.float32(np.float32(1.0) / np.float32(np.log(np.float32(2.0))))
    return int(round_half_away_scalar(float(x_log2)))


def float32_mul(a: float, b: float) -> float:
    """``static_cast<double>(a * b)`` with float operands: the product rounded to float32."""
    return float(np.float32(np.float32(a) * np.float32(b)))


# --------------------------------------------------------------------------------------------
# Eval-time primitives (vectorised; int64 arrays in, int64 arrays out)
# --------------------------------------------------------------------------------------------


def _i64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.int64)


def wrap_int32(x) -> np.ndarray:
    """Two's-complement wrap to int32 (what a C ``int32_t`` product does on every target)."""
    x = _i64(x)
    return ((x + 2**31) & 0xFFFFFFFF) - 2**31


def saturating_rounding_doubling_high_mul(a, b) -> np.ndarray:
    """gemmlowp ``SaturatingRoundingDoublingHighMul`` (int32 x int32 -> int32).

    gemmlowp: (a*b + nudge) / 2^31 with C's truncating division, nudge = 2^30 for a*b >= 0 and
    1 - 2^30 otherwise; INT32_MIN * INT32_MIN saturates to INT32_MAX. For integer a*b both
    branches equal floor((a*b + 2^30) / 2^31) (for a*b < 0 the truncation of
    (a*b + 1 - 2^30) / 2^31 is a ceiling, which equals that floor), so one arithmetic shift does
    it; the only overflow, 2^62 -> 2^31, is clamped.
    """
    ab = _i64(a) * _i64(b)
    return np.minimum((ab + (1 << 30)) >> 31, INT32_MAX)


def rounding_divide_by_pot(x, exponent) -> np.ndarray:
    """gemmlowp ``RoundingDivideByPOT``: x / 2^exponent, rounding half away from zero.

    gemmlowp: remainder = x & mask; threshold = mask/2 + (x < 0); (x >> e) + (remainder > threshold),
    which is floor((x + 2^(e-1) - (x < 0)) / 2^e) for e >= 1 and x for e = 0.
    """
    x = _i64(x)
    if np.ndim(exponent) == 0:
        e = int(exponent)
        if e == 0:
            return x
        return (x + ((1 << (e - 1)) - (x < 0))) >> e
    e = _i64(exponent)
    half = (np.int64(1) << e) >> 1
    return (x + half - ((x < 0) & (e > 0))) >> e


def multiply_by_quantized_multiplier(x, multiplier, shift) -> np.ndarray:
    """TFLM ``MultiplyByQuantizedMultiplier(int32_t x, int32_t m, int shift)``, double rounding.

    RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x * 2^max(shift,0), m), max(-shift,0)).
    ``multiplier`` and ``shift`` may be scalars or arrays broadcasting against ``x`` (per-channel).
    """
    shift_a = _i64(shift)
    if np.all(shift_a <= 0):  # the usual case: no left shift (x * 2^0 cannot overflow)
        return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x, multiplier), -shift if np.ndim(shift) == 0 else -shift_a)
    left = np.maximum(shift_a, 0)
    right = np.maximum(-shift_a, 0)
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(wrap_int32(_i64(x) << left), multiplier), right)


def multiply_by_quantized_multiplier_greater_than_one(x, multiplier, left_shift) -> np.ndarray:
    """TFLM ``MultiplyByQuantizedMultiplierGreaterThanOne``: SRDHM(x * 2^left_shift, m)."""
    return saturating_rounding_doubling_high_mul(wrap_int32(_i64(x) << _i64(left_shift)), multiplier)


def saturate(x, lo: int, hi: int) -> np.ndarray:
    return np.clip(_i64(x), lo, hi)


def sat16(x) -> np.ndarray:
    return np.clip(_i64(x), INT16_MIN, INT16_MAX)


def sat8(x) -> np.ndarray:
    return np.clip(_i64(x), INT8_MIN, INT8_MAX)


def _c_arith_shift_right(x: np.ndarray, s: int) -> np.ndarray:
    return x >> s  # numpy >> on signed ints is arithmetic, like every C compiler we target


def sigmoid_int16(x) -> np.ndarray:
    """TFLM ``reference_integer_ops::Logistic(int32 input_multiplier=0, input_left_shift=0, int16*)``.

    Input Q3.12, output Q0.15. With multiplier 0 ("power of two case") the input is scaled by 3
    (3 << 0, no rounding shift), then the 256-entry table is interpolated with 9 fractional bits.
    """
    x = _i64(x)
    input_data = x * 3  # input_multiplier = 3 << input_left_shift, input_left_shift = 0, round = 0
    abs_input = np.abs(input_data)
    uh = abs_input >> 9
    sat = uh >= 255
    uh_c = np.minimum(uh, 254)
    ua = SIGMOID_TABLE_UINT16[uh_c]
    ub = SIGMOID_TABLE_UINT16[uh_c + 1]
    ut = abs_input & 0x1FF
    result = np.where(sat, 0x7FFF << 10, (ua << 9) + ut * (ub - ua))
    result = np.where(input_data >= 0, result + (1 << 9), (1 << (16 + 9)) - result + (1 << 9) - 1)
    # `result` is uint32 in C; every value here is within [0, 2^26), so no wrap is needed.
    return result >> 10


def tanh_int16(x, input_multiplier: int, input_left_shift: int) -> np.ndarray:
    """TFLM ``reference_integer_ops::Tanh(int32 input_multiplier, int32 input_left_shift, int16*)``.

    Output Q0.15. ``input_multiplier == 0`` is the power-of-two case (3 << left_shift, no
    rounding). Uses the sigmoid table through tanh(x) = 2*sigmoid(2x) - 1, 8 fractional bits.
    """
    x = _i64(x)
    if input_multiplier == 0:
        input_multiplier = 3 << input_left_shift
        input_left_shift = 0
    rnd = (1 << (input_left_shift - 1)) if input_left_shift > 0 else 0
    input_data = _c_arith_shift_right(wrap_int32(x * input_multiplier + rnd), input_left_shift)
    abs_input = np.abs(input_data)
    uh = abs_input >> 8
    sat = uh >= 255
    uh_c = np.minimum(uh, 254)
    ua = SIGMOID_TABLE_UINT16[uh_c]
    ub = SIGMOID_TABLE_UINT16[uh_c + 1]
    ut = abs_input & 0xFF
    result = np.where(sat, 0xFFFF << 8, (ua << 8) + ut * (ub - ua))
    result = np.where(
        input_data >= 0,
        result - (1 << (14 + 9)) + (1 << (9 - 2)),
        -result + (1 << (14 + 9)) + (1 << (9 - 2)) - 1,
    )
    return _c_arith_shift_right(result, 9 - 1)


_ALL_INT16 = np.arange(INT16_MIN, INT16_MAX + 1, dtype=np.int64)


def sigmoid_lut() -> np.ndarray:
    """``sigmoid_int16`` of every int16 input (index x + 32768): exact by construction."""
    return sigmoid_int16(_ALL_INT16)


def tanh_lut(input_multiplier: int, input_left_shift: int) -> np.ndarray:
    """``tanh_int16`` of every int16 input (index x + 32768): exact by construction."""
    return tanh_int16(_ALL_INT16, input_multiplier, input_left_shift)


def tanh_params_for_scale_power(cell_state_scale_power: int) -> tuple[int, int]:
    """TFLM ``lstm_internal::Tanh``: (input_multiplier, input_left_shift) for a Q(-p) input.

    tanh_input_left_shift = (15 + p) - 3; a negative shift becomes multiplier 3 with the shift
    negated (a rounding right shift of x*3); otherwise multiplier 0 (the power-of-two case).
    """
    left = (15 + cell_state_scale_power) - 3
    if left < 0:
        return 3, -left
    return 0, left


def tflite_round_f32(x) -> np.ndarray:
    """C ``roundf`` on float32 values (half away from zero), returned as float32.

    Computed without adding 0.5 in float (which would round 0.49999997f up): the fractional
    part of |x| is exact in float32.
    """
    x = np.asarray(x, dtype=np.float32)
    a = np.abs(x)
    fl = np.floor(a)
    r = fl + (a - fl >= np.float32(0.5)).astype(np.float32)
    return np.copysign(r, x).astype(np.float32)


def quantize_f32(x, scale: float, zero_point: int, lo: int = INT8_MIN, hi: int = INT8_MAX) -> np.ndarray:
    """TFLM ``AffineQuantize``: clamp(round(x / scale) + zero_point), the division in float32."""
    x = np.asarray(x, dtype=np.float32)
    q = tflite_round_f32(x / np.float32(scale))
    # Clamp in float first: a huge |x| must not overflow the integer conversion.
    q = np.clip(q, np.float32(-(2.0**31)), np.float32(2.0**31 - 256))
    return np.clip(q.astype(np.int64) + int(zero_point), lo, hi)
