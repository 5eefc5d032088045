/*
 * edgelstm_fully_connected_s8.c - int8 fully connected layer.
 *
 * TFLM reference_integer_ops::FullyConnected / FullyConnectedPerChannel, mirrored by
 * edgelstm/sim/kernels.py fully_connected:
 *   acc = W (x + input_offset) + bias         (the offset folded into bias at export time)
 *   y   = clamp(MBQM(acc, m, s) + output_offset, act_min, act_max)
 */
#include "edgelstm_runtime.h"
#include "edgelstm_fixedpoint.h"
#include "edgelstm_dot_s8.h"

void edgelstm_fully_connected_s8(const edgelstm_fc_params_s8_t *p, const int8_t *x, int32_t rows, int8_t *y)
{
    const int32_t n_in = p->in_features;
    const int32_t n_out = p->out_features;
    int32_t r;
    int32_t o;
    for (r = 0; r < rows; ++r) {
        const int8_t *x_r = x + r * n_in;
        int8_t *y_r = y + r * n_out;
        for (o = 0; o < n_out; ++o) {
            const int32_t m = (p->multipliers != 0) ? p->multipliers[o] : p->multiplier;
            const int32_t s = (p->shifts != 0) ? p->shifts[o] : p->shift;
            const int32_t acc = edgelstm_add_wrap_s32(edgelstm_dot_s8(p->weights + o * n_in, x_r, n_in), p->bias[o]);
            const int64_t out = (int64_t)edgelstm_multiply_by_quantized_multiplier(acc, m, s) + p->output_offset;
            y_r[o] = (int8_t)((out < p->act_min) ? p->act_min : ((out > p->act_max) ? p->act_max : (int32_t)out));
        }
    }
}
