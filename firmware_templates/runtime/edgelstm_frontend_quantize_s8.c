/*
 * edgelstm_frontend_quantize_s8.c - integer features -> the model's int8 input frame
 * (edgelstm/frontend/quant.py quantize_features: the normalisation and the input quantisation
 * folded at export into one affine map per feature, 16 fraction bits, round half away).
 */
#include "edgelstm_fixedpoint.h"
#include "edgelstm_frontend.h"

void edgelstm_frontend_quantize_s8(const int32_t *v, const int32_t *mul, const int64_t *add, int32_t zero_point,
                                   int32_t n, int8_t *q)
{
    int32_t f;
    for (f = 0; f < n; ++f) {
        const int64_t t = (int64_t)v[f] * mul[f] + add[f];
        const uint64_t mag = ((uint64_t)(t < 0 ? -t : t) + 32768u) >> 16;
        /* |t| < 2^62 (checked at export), so mag < 2^46 and the clamp below decides */
        int64_t r = (t < 0) ? -(int64_t)mag : (int64_t)mag;
        r += zero_point;
        q[f] = (int8_t)((r < -128) ? -128 : ((r > 127) ? 127 : r));
    }
}
