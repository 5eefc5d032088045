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
#include <string.h>

#include "edgelstm_config.h"

#if defined(EDGELSTM_PATH_DSP)
#include <arm_acle.h>
#endif

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
#if defined(EDGELSTM_PATH_DSP)
    return __ssat(x, 16); /* one SSAT (compilers do not always find it) */
#else
    return edgelstm_saturate(x, EDGELSTM_INT16_MIN, EDGELSTM_INT16_MAX);
#endif
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

/* ---- fast requantisation (the kernels' hot path) ------------------------------------------ */

/* floor((x * m + k) / 2^32) with k = k_hi * 2^32 + k_lo, for int32 x and 0 <= m < 2^31, and
 * the low word of x * m + k in *lo. Exact; the result fits int32 whenever the true value does
 * (|x m| < 2^62; callers keep |k| < 2^62). */
/* EDGELSTM_SMALL_ON_ARMV6M: out of line on the ARMv6-M path (edgelstm_config.h). */

EDGELSTM_SMALL_ON_ARMV6M int32_t edgelstm_mul_add_hi(int32_t x, int32_t m, int32_t k_hi, uint32_t k_lo, uint32_t *lo)
{
#if defined(EDGELSTM_NO_MUL64)
    /* Hacker's Delight mulhs with 16-bit halves (x = x1 2^16 + x0, m = m1 2^16 + m0, x0, m0
     * unsigned): every partial product fits 32 bits (|x1 m0| < 2^31, x0 m1 + 2^16 < 2^31 as
     * m1 < 2^15), so ARMv6-M does it with MULS only. The low word is one MULS. */
    const uint32_t x0 = (uint32_t)x & 0xFFFFu;
    const int32_t x1 = edgelstm_asr_s32(x, 16);
    const uint32_t m0 = (uint32_t)m & 0xFFFFu;
    const int32_t m1 = m >> 16;
    const uint32_t w0 = x0 * m0;
    const int32_t t = x1 * (int32_t)m0 + (int32_t)(w0 >> 16);
    const int32_t w1 = (int32_t)x0 * m1 + (int32_t)((uint32_t)t & 0xFFFFu);
    const int32_t hi = x1 * m1 + edgelstm_asr_s32(t, 16) + edgelstm_asr_s32(w1, 16);
    const uint32_t p_lo = (uint32_t)x * (uint32_t)m;
    const uint32_t s_lo = p_lo + k_lo;
    *lo = s_lo;
    return hi + k_hi + ((s_lo < p_lo) ? 1 : 0);
#else
    const int64_t k = (int64_t)(((uint64_t)(uint32_t)k_hi << 32) | k_lo);
    const int64_t q = (int64_t)x * (int64_t)m + k;
    *lo = (uint32_t)(uint64_t)q;
    return (int32_t)edgelstm_asr_s64(q, 32);
#endif
}

/* edgelstm_multiply_by_quantized_multiplier (TFLM MultiplyByQuantizedMultiplier, double
 * rounding) for 0 <= multiplier < 2^31, which is every multiplier QuantizeMultiplier gives
 * (export-c checks the recurrent layers' ones), in one multiply-add and one shift.
 *
 * With x' = x * 2^max(shift, 0) (wrapped) and e = max(-shift, 0), P = x' m:
 *   SRDHM(x', m) = S = floor((P + 2^30) / 2^31)           (both gemmlowp nudges; m >= 0 rules
 *                                                          out the INT32_MIN^2 saturation)
 *   RDBP(S, e)  = floor((S + 2^(e-1) - [S < 0]) / 2^e)      (e >= 1; S for e = 0)
 * and nested floors merge:   MBQM = floor((P + 2^30 + 2^(30+e) - [S < 0] 2^31) / 2^(31+e)).
 * [S < 0] may be replaced by [x' < 0] (= [P < 0] for m > 0): they differ only when
 * -2^30 <= P < 0, where S = 0 and both forms give 0; for m = 0 both give 0 as well.
 * For e >= 1 the result is the high word shifted right by e - 1; for e = 0 it is
 * floor((P + 2^30) / 2^31) = 2 hi + (lo >> 31).
 *
 * edgelstm_rq_prepare does the per-multiplier part once (a kernel prepares its gates at the
 * start of a step); edgelstm_rq is the per-value part. */
typedef struct {
    int32_t multiplier;
    int32_t left;     /* max(shift, 0) */
    int32_t right;    /* e = max(-shift, 0) */
    uint32_t k_lo;    /* e >= 1: K = 2^30 + 2^(30+e) for x >= 0 as (k_hi, k_lo); */
    int32_t k_hi;     /*         K - 2^31 for x < 0 is (k_hi_neg, k_lo ^ 2^31) */
    int32_t k_hi_neg;
} edgelstm_rq_t;

static inline edgelstm_rq_t edgelstm_rq_prepare(int32_t multiplier, int32_t shift)
{
    edgelstm_rq_t q;
    q.multiplier = multiplier;
    q.left = (shift > 0) ? shift : 0;
    q.right = (shift < 0) ? -shift : 0;
    if (q.right == 1) {
        q.k_lo = 0xC0000000u; /* 2^30 + 2^31 */
        q.k_hi = 0;
        q.k_hi_neg = 0;       /* 2^30 */
    } else if (q.right >= 2) {
        q.k_lo = 0x40000000u;
        q.k_hi = (int32_t)(1u << (q.right - 2));
        q.k_hi_neg = q.k_hi - 1; /* 2^30 - 2^31 borrows from the high word */
    } else {
        q.k_lo = 0x40000000u; /* e = 0: K = 2^30 */
        q.k_hi = 0;
        q.k_hi_neg = 0;
    }
    return q;
}

static inline int32_t edgelstm_rq(int32_t x, const edgelstm_rq_t *q)
{
    uint32_t lo;
    if (q->right == 0) {
        const int32_t hi = edgelstm_mul_add_hi(edgelstm_shl_wrap_s32(x, q->left), q->multiplier, 0, 0x40000000u, &lo);
        return edgelstm_u32_to_s32(((uint32_t)hi << 1) | (lo >> 31));
    }
    if (x < 0) {
        return edgelstm_asr_s32(edgelstm_mul_add_hi(x, q->multiplier, q->k_hi_neg, q->k_lo ^ 0x80000000u, &lo),
                                q->right - 1);
    }
    return edgelstm_asr_s32(edgelstm_mul_add_hi(x, q->multiplier, q->k_hi, q->k_lo, &lo), q->right - 1);
}

/* The same in one call (for code that requantises with a multiplier once). */
static inline int32_t edgelstm_mbqm(int32_t x, int32_t multiplier, int32_t shift)
{
    const edgelstm_rq_t q = edgelstm_rq_prepare(multiplier, shift);
    return edgelstm_rq(x, &q);
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

/* edgelstm_multiply_by_quantized_multiplier(x, 2^30, shift), the multiplier of the LSTM's
 * f * c and i * g products: SRDHM(x', 2^30) = floor((x' 2^30 + 2^30) / 2^31) = floor((x' + 1) / 2),
 * so no multiply at all (cheap on ARMv6-M, where a general multiplier costs 16-bit partial
 * products). */
static inline int32_t edgelstm_mbqm_m30(int32_t x, int32_t shift)
{
    int32_t s;
    if (shift > 0) {
        x = edgelstm_shl_wrap_s32(x, shift);
        shift = 0;
    }
    s = edgelstm_asr_s32(x, 1) + (x & 1); /* floor((x + 1) / 2) without overflow */
    return (shift == 0) ? s : edgelstm_rounding_divide_by_pot(s, -shift);
}

/* edgelstm_sigmoid_int16 (TFLM Logistic on int16 Q3.12), shorter, the same value for every
 * int16 x (tests/test_c_paths.py checks all 65,536): |3x| < 3 2^15, so the table index
 * |3x| >> 9 is at most 192 and the saturation branch never runs; and for x < 0 TFLM's
 * floor((2^25 - r + 2^9 - 1) / 2^10) equals 2^15 - floor((r + 2^9) / 2^10), the x >= 0 formula
 * of the same |3x| subtracted from one. */
EDGELSTM_SMALL_ON_ARMV6M int32_t edgelstm_sigmoid_q15(int32_t x)
{
    const int32_t in = x * 3;
    const uint32_t a = (uint32_t)((in < 0) ? -in : in);
    const uint32_t uh = a >> 9;
    const uint32_t ua = edgelstm_sigmoid_table_uint16[uh];
    const uint32_t ub = edgelstm_sigmoid_table_uint16[uh + 1u];
    const int32_t pos = (int32_t)(((ua << 9) + (a & 0x1FFu) * (ub - ua) + (1u << 9)) >> 10);
    return (in < 0) ? 32768 - pos : pos;
}

/* edgelstm_tanh_int16 (TFLM Tanh on int16) on its input_data (edgelstm_tanh_in below), shorter,
 * the same value for every input (checked on all int16 x for each parameter pair the tests use):
 * for input_data < 0 TFLM's (-r + 2^23 + 2^7 - 1) >> 8 equals -((r - 2^23 + 2^7) >> 8), the
 * other sign's result negated. */
EDGELSTM_SMALL_ON_ARMV6M int32_t edgelstm_tanh_q15_in(int32_t input_data)
{
    const uint32_t a = (input_data >= 0) ? (uint32_t)input_data : (0u - (uint32_t)input_data);
    const uint32_t uh = a >> 8;
    uint32_t r;
    int32_t t;
    if (uh >= 255u) {
        r = 0xFFFFu << 8;
    } else {
        const uint32_t ua = edgelstm_sigmoid_table_uint16[uh];
        const uint32_t ub = edgelstm_sigmoid_table_uint16[uh + 1u];
        r = (ua << 8) + (a & 0xFFu) * (ub - ua);
    }
    t = (int32_t)((r - (1u << 23) + (1u << 7)) >> 8); /* r >= 2^23: the table starts at 2^15 */
    return (input_data < 0) ? -t : t;
}

/* TFLM Tanh's input_data: x * (3 << left) for input_multiplier 0, (x * m + 2^(left-1)) >> left
 * otherwise, in int32 with two's-complement wrap, as (k, r, s): wrap(x * k + r) >> s. */
typedef struct {
    int32_t k;
    int32_t r;
    int32_t s;
} edgelstm_tanh_in_t;

static inline edgelstm_tanh_in_t edgelstm_tanh_in_prepare(int32_t input_multiplier, int32_t input_left_shift)
{
    edgelstm_tanh_in_t t;
    if (input_multiplier == 0) {
        t.k = edgelstm_u32_to_s32(3u << input_left_shift);
        t.r = 0;
        t.s = 0;
    } else {
        t.k = input_multiplier;
        t.r = (input_left_shift > 0) ? (int32_t)(1u << (input_left_shift - 1)) : 0;
        t.s = input_left_shift;
    }
    return t;
}

static inline int32_t edgelstm_tanh_in(int32_t x, const edgelstm_tanh_in_t *t)
{
    return edgelstm_asr_s32(edgelstm_u32_to_s32((uint32_t)x * (uint32_t)t->k + (uint32_t)t->r), t->s);
}

/* edgelstm_tanh_int16 (TFLM Tanh on int16) in one call. */
static inline int32_t edgelstm_tanh_q15(int32_t x, int32_t input_multiplier, int32_t input_left_shift)
{
    const edgelstm_tanh_in_t t = edgelstm_tanh_in_prepare(input_multiplier, input_left_shift);
    return edgelstm_tanh_q15_in(edgelstm_tanh_in(x, &t));
}

/* ---- the LSTM's requantisation to int16, and the table interpolation of DSP / SSE2 ---------- */

/* 2 x 16-bit multiply-add (SMLAD): a.lo * b.lo + a.hi * b.hi + acc, halves signed, wrapping.
 * One instruction on the DSP path; C elsewhere, so the formulas below are checked on any host
 * (tests/test_c_paths.py). */
static inline int32_t edgelstm_smlad(uint32_t a, uint32_t b, int32_t acc)
{
#if defined(EDGELSTM_PATH_DSP)
    return __smlad(a, b, acc);
#else
    const int32_t alo = (int32_t)(a & 0xFFFFu) - (int32_t)((a & 0x8000u) << 1);
    const int32_t ahi = (int32_t)(a >> 16) - (int32_t)((a >> 15) & 0x10000u);
    const int32_t blo = (int32_t)(b & 0xFFFFu) - (int32_t)((b & 0x8000u) << 1);
    const int32_t bhi = (int32_t)(b >> 16) - (int32_t)((b >> 15) & 0x10000u);
    return edgelstm_u32_to_s32((uint32_t)acc + (uint32_t)(alo * blo) + (uint32_t)(ahi * bhi));
#endif
}

/* The LSTM's requantiser (every one of its 11 per step: gate sides, cell products, hidden
 * output; edgelstm_lstm_step_s8_s16.h): sat16(MBQM(x, m, shift)) for m = 0 or m >= 2^30 (what
 * QuantizeMultiplier gives; export-c checks the LSTM's), any shift in [-31, 31] and any int32 x,
 * in 7 instructions on the DSP path from 4 prepared words:
 *
 *   x' = wrap(x * 2^left)                              left = max(shift, 0)
 *   Z  = SRDHM(x', m) = floor((x' (2m - 2^32) + x' 2^32 + 2^31) / 2^32)
 *                                                       = SMMLAR(x', 2m - 2^32, x'): 2m - 2^32 is
 *                                                         an int32 for m >= 2^30, and |Z| < 2^31
 *   T  = Z - [x' < 0]  (e >= 1 only)                   e = max(-shift, 0)
 *   RDBP(Z, e) = floor((T + 2^(e-1)) / 2^e) = floor(T / 2^e) + bit e-1 of T
 *                                                       = ASRS by e (the carry is bit e-1), ADC #0
 *
 * (RDBP's threshold 2^(e-1) - 1 + [Z < 0] is round half up of Z - [Z < 0]; [Z < 0] may be
 * replaced by [x' < 0]: with m > 0 they differ only when Z = 0, where both give 0.) For e = 0
 * the sign term is masked off (fmask = 0) and ADDS of 0 clears the carry, so ASRS by 0 and ADC
 * leave Z unchanged. m = 0 is left = 32: a register shift by 32 gives x' = 0, hence 0. */
typedef struct {
    int32_t m2s;   /* 2 m - 2^32 (as int32) */
    int32_t left;  /* max(shift, 0); + 32 for m = 0 (a shift by 32 or more gives 0) */
    int32_t fmask; /* -1 when shift < 0, else 0 */
    int32_t e;     /* max(-shift, 0) */
} edgelstm_rq16_t;

/* Returns 1, or 0 (q unusable) for a multiplier outside {0} and [2^30, 2^31). */
static inline int32_t edgelstm_rq16_prepare(int32_t multiplier, int32_t shift, edgelstm_rq16_t *q)
{
    const int32_t neg = edgelstm_asr_s32(shift, 31); /* -1 when shift < 0, else 0 (branch-free) */
    q->m2s = edgelstm_u32_to_s32((uint32_t)multiplier << 1);
    q->left = (shift & ~neg) + ((multiplier == 0) ? 32 : 0);
    q->fmask = neg;
    q->e = -shift & neg;
    return (multiplier == 0 || multiplier >= 0x40000000) ? 1 : 0;
}

/* The requantisation in C: the portable and SSE2 paths run it, the assembly of the DSP path
 * (edgelstm_lstm_step_s8_s16_dsp.c, EL_RQ) is the same 7 steps (tests/test_c_paths.py checks it
 * against sat16(edgelstm_multiply_by_quantized_multiplier)). */
static inline int32_t edgelstm_rq16(int32_t x, const edgelstm_rq16_t *q)
{
    const int32_t x1 = (q->left >= 32) ? 0 : edgelstm_shl_wrap_s32(x, q->left);
    const int64_t m = (int64_t)((uint32_t)q->m2s >> 1); /* 2m - 2^32 + 2^32 = 2m as uint32 */
    const int32_t z = (int32_t)edgelstm_asr_s64((int64_t)x1 * m + ((int64_t)1 << 30), 31);
    const int32_t t = z + (q->fmask & edgelstm_asr_s32(x1, 31));
    const int32_t r = (q->e == 0) ? t : edgelstm_asr_s32(t, q->e) + (edgelstm_asr_s32(t, q->e - 1) & 1);
    return edgelstm_sat16(r);
}

/* edgelstm_rq16 on ARMv6-M (no 64-bit product): the same x', Z, RDBP with Z = SRDHM(x', m)
 * from 16 x 16 MULS partial products (x' = xh 2^16 + xl, m = mh 2^16 + ml, xl and ml
 * unsigned, mh in [2^14, 2^15) for m >= 2^30):
 *   t  = xh ml + (xl ml >> 16)                  (|t| < 2^31)
 *   w1 = xl mh + (t & 0xFFFF)                   (0 <= w1 < 2^31 - 2^15)
 *   x' m = (xh mh + (t >> 16) + (w1 >> 16)) 2^32 + (w1 & 0xFFFF) 2^16 + (xl ml & 0xFFFF)
 *   Z  = floor((x' m + 2^30) / 2^31) = 2 (xh mh + (t >> 16)) + ((w1 + 2^14) >> 15)
 * 30 instructions of assembly on the core (edgelstm_lstm_step_s8_s16_armv6m.c, subroutine 90);
 * this C is the same computation (the portable path runs it under EDGELSTM_NO_MUL64), checked
 * against the reference by tests/test_c_paths.py. */
typedef struct {
    int32_t mh;    /* m >> 16 */
    int32_t ml;    /* m & 0xFFFF */
    int32_t left;  /* as edgelstm_rq16_t */
    int32_t fmask;
    int32_t e;
    int32_t c14;   /* 2^14 (the assembly loads it with the rest) */
} edgelstm_rq16_muls_t;

static inline int32_t edgelstm_rq16_muls_prepare(int32_t multiplier, int32_t shift, edgelstm_rq16_muls_t *q)
{
    edgelstm_rq16_t u;
    const int32_t ok = edgelstm_rq16_prepare(multiplier, shift, &u);
    q->mh = multiplier >> 16;
    q->ml = multiplier & 0xFFFF;
    q->left = u.left;
    q->fmask = u.fmask;
    q->e = u.e;
    q->c14 = 1 << 14;
    return ok;
}

static inline int32_t edgelstm_rq16_muls(int32_t x, const edgelstm_rq16_muls_t *q)
{
    const int32_t x1 = (q->left >= 32) ? 0 : edgelstm_shl_wrap_s32(x, q->left);
    int32_t z;
    int32_t tt;
    int32_t r;
    if (x1 >= -32768 && x1 <= 32767) {
        /* |x'| < 2^15: x' m = x' mh 2^16 + x' ml with both products in int32, so
         * Z = floor((x' mh 2^16 + x' ml + 2^30) / 2^31) = (x' mh + (x' ml >> 16) + 2^14) >> 15. */
        z = edgelstm_asr_s32(x1 * q->mh + edgelstm_asr_s32(x1 * q->ml, 16) + (1 << 14), 15);
    } else {
        const uint32_t xl = (uint32_t)x1 & 0xFFFFu;
        const int32_t xh = edgelstm_asr_s32(x1, 16);
        const int32_t t = xh * q->ml + (int32_t)((xl * (uint32_t)q->ml) >> 16);
        const int32_t w1 = (int32_t)xl * q->mh + (int32_t)((uint32_t)t & 0xFFFFu);
        z = 2 * (xh * q->mh + edgelstm_asr_s32(t, 16)) + ((w1 + (1 << 14)) >> 15);
    }
    tt = z + (q->fmask & edgelstm_asr_s32(x1, 31));
    r = (q->e == 0) ? tt : edgelstm_asr_s32(tt, q->e) + (edgelstm_asr_s32(tt, q->e - 1) & 1);
    return edgelstm_sat16(r);
}

/* edgelstm_sigmoid_q15 as the DSP and SSE2 paths compute it (the same value for every int16 x,
 * tests/test_c_paths.py checks all 65,536): ua (512 - t) + ub t + 2^9 is one SMLAD of the table pair (ua, ub) (one
 * unaligned 32-bit load; as int16 both are u - 2^16) with (512 - t, t), accumulator 2^25 + 2^9. */
static inline int32_t edgelstm_sigmoid_q15_dsp(int32_t x)
{
    const int32_t in = x * 3;
    const uint32_t s = (uint32_t)edgelstm_asr_s32(in, 31);
    const uint32_t a = ((uint32_t)in ^ s) - s;
    const uint32_t t = a & 0x1FFu;
    uint32_t pair;
    int32_t r;
    memcpy(&pair, &edgelstm_sigmoid_table_uint16[a >> 9], 4); /* ua | ub << 16 (little endian) */
    r = edgelstm_smlad(pair, (512u - t) | (t << 16), (1 << 25) + (1 << 9)) >> 10;
    return (in < 0) ? 32768 - r : r;
}

/* edgelstm_tanh_q15(x, input_multiplier, input_left_shift) as the DSP and SSE2 paths compute it, on
 * in = wrap(x * k + r) >> s (edgelstm_tanh_in: k = 3 << left, r = s = 0 for the power-of-two
 * case; k = multiplier, r = 2^(s-1), s = shift otherwise): |in| is clamped to 255 * 256 - 1,
 * which gives TFLM's saturated 32767 (table[254] = 65534, table[255] = 65535), so the table pair
 * never leaves the table; then the SMLAD interpolation with 8 fractional bits. */
static inline int32_t edgelstm_tanh_q15_dsp(int32_t in)
{
    const uint32_t s = (uint32_t)edgelstm_asr_s32(in, 31);
    uint32_t a = ((uint32_t)in ^ s) - s;
    uint32_t pair;
    uint32_t t;
    int32_t r;
    if (a > 65279u) {
        a = 65279u;
    }
    t = a & 0xFFu;
    memcpy(&pair, &edgelstm_sigmoid_table_uint16[a >> 8], 4);
    r = edgelstm_smlad(pair, (256u - t) | (t << 16), (1 << 23) + (1 << 7)) >> 8; /* (r - 2^23 + 2^7) >> 8 */
    return edgelstm_u32_to_s32(((uint32_t)r ^ s) - s);                          /* -r when in < 0 */
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
