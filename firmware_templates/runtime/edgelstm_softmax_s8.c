/*
 * edgelstm_softmax_s8.c - TFLM int8 softmax (reference_ops::Softmax with gemmlowp fixed point,
 * tensorflow/lite/kernels/internal/reference/softmax.h), mirrored by edgelstm/sim/softmax.py.
 *
 * Differences to the row maximum, scaled to Q5.26 by MultiplyByQuantizedMultiplierGreaterThanOne;
 * gemmlowp exp_on_negative_values; a Q12.19 sum; the reciprocal by GetReciprocal
 * (one_over_one_plus_x_for_x_in_0_1, Newton-Raphson); output scale 1/256, zero point -128.
 * Entries with diff < diff_min contribute nothing and output -128.
 *
 * gemmlowp's FixedPoint<int32, k> is carried as its raw int32 value; a product of two
 * fixed-point values is SaturatingRoundingDoublingHighMul of the raws.
 */
#include "edgelstm_runtime.h"
#include "edgelstm_fixedpoint.h"

/* gemmlowp SaturatingRoundingMultiplyByPOT<exponent>. */
static int32_t sat_rounding_mul_by_pot(int32_t x, int32_t exponent)
{
    int32_t threshold;
    if (exponent == 0) {
        return x;
    }
    if (exponent < 0) {
        return edgelstm_rounding_divide_by_pot(x, -exponent);
    }
    threshold = (int32_t)((1u << (31 - exponent)) - 1u);
    if (x > threshold) {
        return EDGELSTM_INT32_MAX;
    }
    if (x < -threshold) {
        return EDGELSTM_INT32_MIN;
    }
    return edgelstm_shl_wrap_s32(x, exponent);
}

#define SRDHM edgelstm_saturating_rounding_doubling_high_mul
#define ADD edgelstm_add_wrap_s32

static int32_t sub_wrap_s32(int32_t a, int32_t b)
{
    return edgelstm_u32_to_s32((uint32_t)a - (uint32_t)b);
}

/* gemmlowp exp_on_interval_between_negative_one_quarter_and_0_excl: Taylor expansion around
 * -1/8, FixedPoint<int32, 0> in and out. */
static int32_t exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a)
{
    const int32_t constant_term = 1895147668;     /* exp(-1/8) */
    const int32_t constant_1_over_3 = 715827883;
    const int32_t x = ADD(a, 1 << 28);            /* a + 1/8 */
    const int32_t x2 = SRDHM(x, x);
    const int32_t x3 = SRDHM(x2, x);
    const int32_t x4 = SRDHM(x2, x2);
    const int32_t x4_over_4 = sat_rounding_mul_by_pot(x4, -2);
    const int32_t x4_over_24_plus_x3_over_6_plus_x2_over_2 =
        sat_rounding_mul_by_pot(ADD(SRDHM(ADD(x4_over_4, x3), constant_1_over_3), x2), -1);
    return ADD(constant_term, SRDHM(constant_term, ADD(x, x4_over_24_plus_x3_over_6_plus_x2_over_2)));
}

/* gemmlowp exp_on_negative_values for FixedPoint<int32, 5> -> FixedPoint<int32, 0>. */
static int32_t exp_on_negative_values_q5(int32_t a)
{
    const int32_t kIntegerBits = 5;
    const int32_t frac_bits = 31 - kIntegerBits;
    const int32_t one_quarter = (int32_t)1 << (frac_bits - 2);
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod_quarter_minus_one_quarter = (int32_t)((uint32_t)a & (uint32_t)mask) - one_quarter;
    int32_t result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        sat_rounding_mul_by_pot(a_mod_quarter_minus_one_quarter, kIntegerBits)); /* Rescale<0> */
    /* Only the low 31 bits of the remainder are tested: the uint32 difference has them exact. */
    const uint32_t remainder = (uint32_t)a_mod_quarter_minus_one_quarter - (uint32_t)a;
    if (remainder & (1u << (frac_bits - 2))) result = SRDHM(result, 1672461947); /* exp(-1/4) */
    if (remainder & (1u << (frac_bits - 1))) result = SRDHM(result, 1302514674); /* exp(-1/2) */
    if (remainder & (1u << (frac_bits + 0))) result = SRDHM(result, 790015084);  /* exp(-1) */
    if (remainder & (1u << (frac_bits + 1))) result = SRDHM(result, 290630308);  /* exp(-2) */
    if (remainder & (1u << (frac_bits + 2))) result = SRDHM(result, 39332535);   /* exp(-4) */
    if (remainder & (1u << (frac_bits + 3))) result = SRDHM(result, 720401);     /* exp(-8) */
    if (remainder & (1u << (frac_bits + 4))) result = SRDHM(result, 242);        /* exp(-16) */
    return (a == 0) ? EDGELSTM_INT32_MAX : result;
}

/* gemmlowp one_over_one_plus_x_for_x_in_0_1 (Newton-Raphson, 3 iterations). */
static int32_t one_over_one_plus_x_for_x_in_0_1(int32_t a)
{
    /* RoundingHalfSum(a, One()) in int64. */
    const int64_t sum = (int64_t)a + EDGELSTM_INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum >= 0) ? (sum + 1) / 2 : -((-sum + 1) / 2));
    const int32_t constant_48_over_17 = 1515870810;
    const int32_t constant_neg_32_over_17 = -1010580540;
    const int32_t one_f2 = (int32_t)1 << 29;
    int32_t x = ADD(constant_48_over_17, SRDHM(half_denominator, constant_neg_32_over_17));
    int32_t k;
    for (k = 0; k < 3; ++k) {
        const int32_t half_denominator_times_x = SRDHM(half_denominator, x);
        const int32_t one_minus_half_denominator_times_x = sub_wrap_s32(one_f2, half_denominator_times_x);
        x = ADD(x, sat_rounding_mul_by_pot(SRDHM(x, one_minus_half_denominator_times_x), 2));
    }
    return sat_rounding_mul_by_pot(x, 1);
}

static int32_t count_leading_zeros_u32(uint32_t x)
{
    int32_t n = 0;
    if (x == 0u) {
        return 32;
    }
    while ((x & 0x80000000u) == 0u) {
        x <<= 1;
        ++n;
    }
    return n;
}

void edgelstm_softmax_s8(const edgelstm_softmax_params_s8_t *p, const int8_t *x, int32_t rows, int32_t depth,
                         int8_t *y)
{
    int32_t r;
    int32_t k;
    for (r = 0; r < rows; ++r) {
        const int8_t *x_r = x + r * depth;
        int8_t *y_r = y + r * depth;
        int32_t max_in_row = x_r[0];
        uint32_t sum_of_exps = 0u;
        int32_t headroom_plus_one;
        int32_t num_bits_over_unit;
        int32_t shifted_scale;
        int32_t exponent;
        for (k = 1; k < depth; ++k) {
            if (x_r[k] > max_in_row) {
                max_in_row = x_r[k];
            }
        }
        for (k = 0; k < depth; ++k) {
            const int32_t diff = (int32_t)x_r[k] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t scaled = edgelstm_multiply_by_quantized_multiplier_greater_than_one(
                    diff, p->input_multiplier, p->input_left_shift);
                /* Rescale<12>: Q0.31 -> Q12.19, summed with wrap-around like wrap_int32(sum). */
                sum_of_exps += (uint32_t)sat_rounding_mul_by_pot(exp_on_negative_values_q5(scaled), -12);
            }
        }
        /* GetReciprocal(sum, 12). */
        headroom_plus_one = count_leading_zeros_u32(sum_of_exps);
        num_bits_over_unit = 12 - headroom_plus_one;
        {
            const uint32_t shifted = (headroom_plus_one < 32) ? (sum_of_exps << headroom_plus_one) : 0u;
            shifted_scale = one_over_one_plus_x_for_x_in_0_1(edgelstm_u32_to_s32(shifted - 0x80000000u));
        }
        exponent = num_bits_over_unit + 31 - 8;
        for (k = 0; k < depth; ++k) {
            const int32_t diff = (int32_t)x_r[k] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t scaled = edgelstm_multiply_by_quantized_multiplier_greater_than_one(
                    diff, p->input_multiplier, p->input_left_shift);
                const int32_t exp_in_0 = exp_on_negative_values_q5(scaled);
                const int64_t unsat = edgelstm_rounding_divide_by_pot_s64(
                    (int64_t)SRDHM(shifted_scale, exp_in_0), exponent);
                const int64_t out = unsat - 128;
                y_r[k] = (int8_t)((out < -128) ? -128 : ((out > 127) ? 127 : out));
            } else {
                y_r[k] = (int8_t)-128;
            }
        }
    }
}

#undef SRDHM
#undef ADD
