/*
 * edgelstm_lstm_step_s8_s16.c - one time step of TFLM's int8x8_16 LSTM.
 *
 * tflite-micro kernels/lstm_eval.h LstmStep (and CMSIS-NN arm_nn_lstm_step_s8), mirrored by
 * edgelstm/sim/lstm.py run_lstm:
 *
 *   pre_g = sat16( sat16(MBQM(W_g x + bx_g, Mx_g)) + sat16(MBQM(U_g h + bh_g, Mh_g)) )   Q3.12
 *   i, f, o = sigmoid(pre)   g = tanh(pre)                                               Q0.15
 *   c = sat16(MBQM(f * c));  c = sat16(c + sat16(MBQM(i * g)));  clip to +-cell_clip      int16
 *   h = clamp8(MBQM(tanh(c) * o) + zp_h)                                                 int8
 *
 * Two separate requantisations per gate (input and recurrent), as TFLM's CalculateLstmGate.
 * The zero points are already in bias_x / bias_h; accumulator + bias wraps to int32 exactly as
 * the simulator's wrap_int32(acc) does.
 */
#include "edgelstm_runtime.h"
#include "edgelstm_fixedpoint.h"
#include "edgelstm_dot_s8.h"

void edgelstm_lstm_reset_s8_s16(const edgelstm_lstm_params_s8_s16_t *p, int8_t *h, int16_t *c)
{
    int32_t u;
    for (u = 0; u < p->units; ++u) {
        h[u] = (int8_t)p->hidden_zero_point;
        c[u] = 0;
    }
}

void edgelstm_lstm_step_s8_s16(const edgelstm_lstm_params_s8_s16_t *p, const int8_t *x, const int8_t *h_in,
                               int8_t *h_out, int16_t *c, int16_t *gate_scratch)
{
    const int32_t n_units = p->units;
    const int32_t n_in = p->input_size;
    int32_t gate;
    int32_t u;

    /* 1. Gate pre-activations of all four gates from the old h (h_out may alias h_in: nothing
     *    is written to it before this pass is complete). One pass over the stacked weights. */
    for (gate = 0; gate < 4; ++gate) {
        const int32_t mx = p->multiplier_x[gate];
        const int32_t sx = p->shift_x[gate];
        const int32_t mh = p->multiplier_h[gate];
        const int32_t sh = p->shift_h[gate];
        for (u = 0; u < n_units; ++u) {
            const int32_t row = gate * n_units + u;
            const int32_t acc_x = edgelstm_add_wrap_s32(edgelstm_dot_s8(p->weights_x + row * n_in, x, n_in),
                                                        p->bias_x[row]);
            const int32_t acc_h = edgelstm_add_wrap_s32(edgelstm_dot_s8(p->weights_h + row * n_units, h_in, n_units),
                                                        p->bias_h[row]);
            const int32_t pre_x = edgelstm_sat16(edgelstm_multiply_by_quantized_multiplier(acc_x, mx, sx));
            const int32_t pre_h = edgelstm_sat16(edgelstm_multiply_by_quantized_multiplier(acc_h, mh, sh));
            gate_scratch[row] = (int16_t)edgelstm_sat16(pre_x + pre_h); /* AddElementWise */
        }
    }

    /* 2. Activations, cell and hidden update, element by element. */
    for (u = 0; u < n_units; ++u) {
        const int16_t i_g = edgelstm_sigmoid_int16(gate_scratch[u]);
        const int16_t f_g = edgelstm_sigmoid_int16(gate_scratch[n_units + u]);
        /* Cell gate: Tanh with cell_state_scale_power -12 -> (multiplier 0, left shift 0). */
        const int16_t g_g = edgelstm_tanh_int16(gate_scratch[2 * n_units + u], 0, 0);
        const int16_t o_g = edgelstm_sigmoid_int16(gate_scratch[3 * n_units + u]);
        const edgelstm_mul_params_t *fm = &p->forget_mul;
        const edgelstm_mul_params_t *im = &p->input_mul;
        const edgelstm_mul_params_t *om = &p->output_mul;
        int32_t cell;
        /* UpdateLstmCell: c = f*c; c += i*g (saturating); optional clip. */
        cell = edgelstm_mul_requantize(f_g, c[u], fm->multiplier, fm->shift, fm->offset, fm->act_min, fm->act_max);
        cell = edgelstm_sat16(cell + edgelstm_mul_requantize(i_g, g_g, im->multiplier, im->shift, im->offset,
                                                              im->act_min, im->act_max));
        if (p->cell_clip > 0) {
            cell = edgelstm_saturate(cell, -p->cell_clip, p->cell_clip);
        }
        c[u] = (int16_t)cell;
        /* UpdateLstmHidden: h = tanh(c) * o requantised to the hidden tensor. */
        h_out[u] = (int8_t)edgelstm_mul_requantize(
            edgelstm_tanh_int16((int16_t)cell, p->tanh_multiplier, p->tanh_left_shift), o_g, om->multiplier,
            om->shift, om->offset, om->act_min, om->act_max);
    }
}
