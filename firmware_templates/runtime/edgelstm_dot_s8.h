/*
 * edgelstm_dot_s8.h - the int8 dot product every kernel is built on (internal header).
 *
 * sum_j w[j] * x[j] accumulated in int32. |w[j] * x[j]| <= 128 * 128, so the sum cannot
 * overflow for n < 131072 (export-c checks every layer width against that bound).
 *
 * This is the portable version; an optimised one (two int8 pairs per SMLAD on Cortex-M with
 * __ARM_FEATURE_DSP, or a compiler-vectorised loop) is selected here with #if defined(...)
 * without changing any kernel or the public API.
 */
#ifndef EDGELSTM_DOT_S8_H
#define EDGELSTM_DOT_S8_H

#include <stdint.h>

static inline int32_t edgelstm_dot_s8(const int8_t *w, const int8_t *x, int32_t n)
{
    int32_t acc = 0;
    int32_t j;
    for (j = 0; j < n; ++j) {
        acc += (int32_t)w[j] * (int32_t)x[j];
    }
    return acc;
}

#endif /* EDGELSTM_DOT_S8_H */
