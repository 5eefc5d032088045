/*
 * edgelstm_fixedpoint.h - fixed-point primitives of TensorFlow Lite Micro, as static inline C.
 *
 * One function per function of edgelstm/fixedpoint.py (the Python simulator), same name with an
 * "edgelstm_" prefix, same results for every input. Each cites the TFLM / gemmlowp function it
 * reproduces (default TFLM build: double-rounding MultiplyByQuantizedMultiplier).
 *
 * C99, no floating point, no undefined behaviour for any argument the generated code passes
 * (it is checked under -fsanitize=undefined):
 *   - every product that may leave the int32 range is taken in int64 or in uint32 (wrapping);
 *   - left shifts are done on unsigned values;
 *   - right shifts of negative values go through edgelstm_asr_* which is arithmetic by
 *     construction (compilers turn it into one shift instruction);
 *   - the uint32 -> int32 conversions go through edgelstm_u32_to_s32 (no implementation-defined
 *     conversion either).
 */
#ifndef EDGELSTM_FIXEDPOINT_H
#define EDGELSTM_FIXEDPOINT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EDGELSTM_INT8_MIN (-128)
#define EDGELSTM_INT8_MAX 127
#define EDGELSTM_INT16_MIN (-32768)
#define EDGELSTM_INT16_MAX 32767
#define EDGELSTM_INT32_MIN (-2147483647 - 1)
#define EDGELSTM_INT32_MAX 2147483647

/* TFLM `sigmoid_table_uint16` (common.h; CMSIS-NN arm_nntables.c): sigmoid(i/24) in Q0.16.
 * Defined in edgelstm_tables.c. */
extern const uint16_t edgelstm_sigmoid_table_uint16[256];

/* ---- portable integer helpers ------------------------------------------------------------ */

/* Two's-complement reinterpretation of a uint32 as int32 (well defined for every value). */
static inline int32_t edgelstm_u32_to_s32(uint32_t u)
{
    return (u <= 0x7FFFFFFFu) ? (int32_t)u : (int32_t)(u - 0x80000000u) + EDGELSTM_INT32_MIN;
}

/* fixedpoint.wrap_int32: two's-complement wrap of an int64 to int32. */
static inline int32_t edgelstm_wrap_int32(int64_t x)
{
    return edgelstm_u32_to_s32((uint32_t)(uint64_t)x);
}

/* int32 a + b with two's-complement wrap (what the simulator's wrap_int32(a + b) gives). */
static inline int32_t edgelstm_add_wrap_s32(int32_t a, int32_t b)
{
    return edgelstm_u32_to_s32((uint32_t)a + (uint32_t)b);
}

/* x * 2^s, s in [0, 31], with two's-complement wrap (wrap_int32(x << s)). */
static inline int32_t edgelstm_shl_wrap_s32(int32_t x, int32_t s)
{
    return edgelstm_u32_to_s32((uint32_t)x << s);
}

/* Arithmetic right shift (floor(x / 2^s)), s in [0, 31] / [0, 63]: numpy's >> on signed ints. */
static inline int32_t edgelstm_asr_s32(int32_t x, int32_t s)
{
    return (x >= 0) ? (x >> s) : ~((~x) >> s);
}

static inline int64_t edgelstm_asr_s64(int64_t x, int32_t s)
{
    return (x >= 0) ? (x >> s) : ~((~x) >> s);
}

/* ---- saturation (fixedpoint.saturate / sat16 / sat8) ------------------------------------- */

static inline int32_t edgelstm_saturate(int32_t x, int32_t lo, int32_t hi)
{
    return (x < lo) ? lo : ((x > hi) ? hi : x);
}

static inline int32_t edgelstm_sat16(int32_t x)
{
    return edgelstm_saturate(x, EDGELSTM_INT16_MIN, EDGELSTM_INT16_MAX);
}

static inline int32_t edgelstm_sat8(int32_t x)
{
    return edgelstm_saturate(x, EDGELSTM_INT8_MIN, EDGELSTM_INT8_MAX);
}

/* ---- gemmlowp / TFLM rounding primitives ------------------------------------------------- */

/* gemmlowp SaturatingRoundingDoublingHighMul (fixedpoint.h):
 * (a*b + nudge) / 2^31 with C's truncating division, nudge = 2^30 for a*b >= 0 and 1 - 2^30
 * otherwise; INT32_MIN * INT32_MIN saturates to INT32_MAX. */
static inline int32_t edgelstm_saturating_rounding_doubling_high_mul(int32_t a, int32_t b)
{
    int64_t ab;
    int64_t nudge;
    if (a == b && a == EDGELSTM_INT32_MIN) {
        return EDGELSTM_INT32_MAX;
    }
    ab = (int64_t)a * (int64_t)b;
    nudge = (ab >= 0) ? ((int64_t)1 << 30) : ((int64_t)1 - ((int64_t)1 << 30));
    /* |ab + nudge| < 2^62: the quotient is within int32 except for the case handled above. */
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* gemmlowp RoundingDivideByPOT (fixedpoint.h): x / 2^exponent rounding half away from zero,
 * exponent in [0, 31]. remainder = x & mask; threshold = mask/2 + (x < 0). */
static inline int32_t edgelstm_rounding_divide_by_pot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = (int32_t)((uint32_t)x & (uint32_t)mask);
    const int32_t threshold = (mask >> 1) + ((x < 0) ? 1 : 0);
    return edgelstm_asr_s32(x, exponent) + ((remainder > threshold) ? 1 : 0);
}

/* The same on int64 values, exponent in [0, 62] (the simulator computes RoundingDivideByPOT in
 * int64; softmax can ask for exponents above 31 with very many classes). */
static inline int64_t edgelstm_rounding_divide_by_pot_s64(int64_t x, int32_t exponent)
{
    const int64_t mask = (int64_t)(((uint64_t)1 << exponent) - 1u);
    const int64_t remainder = (int64_t)((uint64_t)x & (uint64_t)mask);
    const int64_t threshold = (mask >> 1) + ((x < 0) ? 1 : 0);
    return edgelstm_asr_s64(x, exponent) + ((remainder > threshold) ? 1 : 0);
}

/* TFLM MultiplyByQuantizedMultiplier(int32_t x, int32_t m, int shift) (common.cc), the
 * double-rounding form: RDBP(SRDHM(x * 2^max(shift,0), m), max(-shift,0)).
 * shift in [-31, 31]; x * 2^left wraps like the simulator's wrap_int32(x << left). */
static inline int32_t edgelstm_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t left_shift = (shift > 0) ? shift : 0;
    const int32_t right_shift = (shift > 0) ? 0 : -shift;
    return edgelstm_rounding_divide_by_pot(
        edgelstm_saturating_rounding_doubling_high_mul(edgelstm_shl_wrap_s32(x, left_shift), multiplier),
        right_shift);
}

/* TFLM MultiplyByQuantizedMultiplierGreaterThanOne: SRDHM(x * 2^left_shift, m). */
static inline int32_t edgelstm_multiply_by_quantized_multiplier_greater_than_one(int32_t x, int32_t multiplier,
                                                                                int32_t left_shift)
{
    return edgelstm_saturating_rounding_doubling_high_mul(edgelstm_shl_wrap_s32(x, left_shift), multiplier);
}

/* ---- LUT activations on int16 ------------------------------------------------------------ */

/* TFLM reference_integer_ops::Logistic(input_multiplier = 0, input_left_shift = 0, int16)
 * (integer_ops/logistic.h): Q3.12 in, Q0.15 out. Input scaled by 3 (power-of-two case, no
 * rounding), 256-entry table interpolated with 9 fractional bits. */
static inline int16_t edgelstm_sigmoid_int16(int16_t x)
{
    const int32_t input_data = (int32_t)x * 3;
    const uint32_t abs_input = (uint32_t)((input_data >= 0) ? input_data : -input_data);
    const uint32_t uh = abs_input >> 9;
    uint32_t result;
    if (uh >= 255u) {
        result = 0x7FFFu << 10;
    } else {
        const uint32_t ua = edgelstm_sigmoid_table_uint16[uh];
        const uint32_t ub = edgelstm_sigmoid_table_uint16[uh + 1u];
        const uint32_t ut = abs_input & 0x1FFu;
        result = (ua << 9) + ut * (ub - ua);
    }
    result = (input_data >= 0) ? (result + (1u << 9)) : ((1u << (16 + 9)) - result + (1u << 9) - 1u);
    return (int16_t)(result >> 10); /* < 2^16 >> 1: fits */
}

/* TFLM reference_integer_ops::Tanh(int32 input_multiplier, int32 input_left_shift, int16)
 * (integer_ops/tanh.h): Q0.15 out. input_multiplier == 0 is the power-of-two case
 * (3 << input_left_shift, no rounding); otherwise x * multiplier is rounded and shifted right.
 * Uses tanh(x) = 2 sigmoid(2x) - 1 on the sigmoid table with 8 fractional bits. */
static inline int16_t edgelstm_tanh_int16(int16_t x, int32_t input_multiplier, int32_t input_left_shift)
{
    int32_t input_data;
    uint32_t abs_input;
    uint32_t uh;
    int32_t result;
    if (input_multiplier == 0) {
        input_multiplier = (int32_t)(3u << input_left_shift);
        input_left_shift = 0;
    }
    {
        const uint32_t rnd = (input_left_shift > 0) ? (1u << (input_left_shift - 1)) : 0u;
        const int32_t prod = edgelstm_u32_to_s32((uint32_t)(int32_t)x * (uint32_t)input_multiplier + rnd);
        input_data = edgelstm_asr_s32(prod, input_left_shift);
    }
    abs_input = (input_data >= 0) ? (uint32_t)input_data : (0u - (uint32_t)input_data);
    uh = abs_input >> 8;
    if (uh >= 255u) {
        result = (int32_t)(0xFFFFu << 8);
    } else {
        const int32_t ua = (int32_t)edgelstm_sigmoid_table_uint16[uh];
        const int32_t ub = (int32_t)edgelstm_sigmoid_table_uint16[uh + 1u];
        const int32_t ut = (int32_t)(abs_input & 0xFFu);
        result = ua * 256 + ut * (ub - ua);
    }
    if (input_data >= 0) {
        result = result - (1 << (14 + 9)) + (1 << (9 - 2));
    } else {
        result = -result + (1 << (14 + 9)) + (1 << (9 - 2)) - 1;
    }
    return (int16_t)edgelstm_asr_s32(result, 9 - 1);
}

/* TFLM reference_integer_ops::MulElementwise with symmetric inputs (offsets 0), one element:
 * clamp(MBQM(a*b, multiplier, shift) + offset, act_min, act_max). */
static inline int32_t edgelstm_mul_requantize(int32_t a, int32_t b, int32_t multiplier, int32_t shift,
                                              int32_t offset, int32_t act_min, int32_t act_max)
{
    /* int16 x int16 operands: |a*b| <= 2^30, no overflow; the offset is added in int64 as
     * the simulator does (no wrap), then clamped. */
    const int64_t out = (int64_t)edgelstm_multiply_by_quantized_multiplier(a * b, multiplier, shift) + offset;
    return (out < act_min) ? act_min : ((out > act_max) ? act_max : (int32_t)out);
}

#ifdef __cplusplus
}
#endif

#endif /* EDGELSTM_FIXEDPOINT_H */
