/*
 * edgelstm_requantize_s8.c - int8 -> int8 rescale (TFLM QUANTIZE between int8 tensors,
 * reference_ops::Requantize), mirrored by edgelstm/sim/runner.py:
 *   y = clamp8(MBQM(x - input_zero_point, m, s) + output_zero_point)
 */
#include "edgelstm_runtime.h"
#include "edgelstm_fixedpoint.h"

void edgelstm_requantize_s8(const edgelstm_requantize_params_s8_t *p, const int8_t *x, int32_t n, int8_t *y)
{
    int32_t k;
    for (k = 0; k < n; ++k) {
        const int32_t v = (int32_t)x[k] - p->input_zero_point;
        const int64_t out = (int64_t)edgelstm_multiply_by_quantized_multiplier(v, p->multiplier, p->shift) +
                            p->output_zero_point;
        y[k] = (int8_t)((out < EDGELSTM_INT8_MIN) ? EDGELSTM_INT8_MIN
                                                  : ((out > EDGELSTM_INT8_MAX) ? EDGELSTM_INT8_MAX : (int32_t)out));
    }
}
