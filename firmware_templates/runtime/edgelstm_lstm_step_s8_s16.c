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
 *
 * Order of work (the values are TFLM's; only the schedule differs): unit by unit, the four gate
 * rows of unit u (i, f, g, o: stored next to each other, edgelstm_dot_s8.h "blocked" layout) go
 * through x and the old h together, so every input load serves four rows; then the unit's
 * eight requantisations follow while the accumulators are in registers; the four pre-activations of each unit go to gate_scratch (4U int16). A second pass
 * does the activations, cell and hidden update unit by unit: by then every unit has read the
 * old h, so h_out may alias h_in.
 */
#include "edgelstm_runtime.h"
#include "edgelstm_fixedpoint.h"
#include "edgelstm_dot_s8.h"

/* One out-of-line copy of the dot product (called for the input and the recurrent side): the
 * step stays within the code budget (docs/performance.md) at the cost of a call per side. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static void edgelstm_lstm_dot4(const uint8_t *w, const int8_t *v, int32_t n, int32_t acc[4])
{
    edgelstm_dot4_u8s8(w, v, n, acc);
}

/* sat16(MBQM(acc)) of one gate side. */
static inline int32_t edgelstm_lstm_rq16(int32_t acc, const edgelstm_rq_t *q)
{
    return edgelstm_sat16(edgelstm_rq(acc, q));
}

/* sat16(sat16(MBQM(ax)) + sat16(MBQM(ah))) for the four gates of one unit: AddElementWise. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static void edgelstm_lstm_gates(const int32_t ax[4], const int32_t ah[4], const edgelstm_rq_t rq[8], int16_t pre[4])
{
    int32_t g;
    for (g = 0; g < 4; ++g) {
        pre[g] = (int16_t)edgelstm_sat16(edgelstm_lstm_rq16(ax[g], &rq[g]) + edgelstm_lstm_rq16(ah[g], &rq[4 + g]));
    }
}

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
    const uint8_t *wx = (const uint8_t *)p->weights_x; /* bytes of w + 128 */
    const uint8_t *wh = (const uint8_t *)p->weights_h;
    const int32_t *bx = p->bias_x;
    const int32_t *bh = p->bias_h;
    /* The weights are stored as w + 128: sum (w + 128) v - 128 sum v = sum w v. */
    const int32_t corr_x = -128 * edgelstm_sum_s8(x, n_in);
    const int32_t corr_h = -128 * edgelstm_sum_s8(h_in, n_units);
    const edgelstm_mul_fast_t fm = edgelstm_mul_fast_prepare(p->forget_mul.multiplier, p->forget_mul.shift,
                                                             p->forget_mul.offset, p->forget_mul.act_min,
                                                             p->forget_mul.act_max);
    const edgelstm_mul_fast_t im = edgelstm_mul_fast_prepare(p->input_mul.multiplier, p->input_mul.shift,
                                                             p->input_mul.offset, p->input_mul.act_min,
                                                             p->input_mul.act_max);
    const edgelstm_mul_fast_t om = edgelstm_mul_fast_prepare(p->output_mul.multiplier, p->output_mul.shift,
                                                             p->output_mul.offset, p->output_mul.act_min,
                                                             p->output_mul.act_max);
    const int32_t clip = p->cell_clip;
    const int32_t tanh_m = p->tanh_multiplier;
    const int32_t tanh_s = p->tanh_left_shift;
    edgelstm_rq_t rq[8]; /* gate g: input side rq[g], recurrent side rq[4 + g] */
    int32_t u;
    for (u = 0; u < 4; ++u) {
        rq[u] = edgelstm_rq_prepare(p->multiplier_x[u], p->shift_x[u]);
        rq[4 + u] = edgelstm_rq_prepare(p->multiplier_h[u], p->shift_h[u]);
    }

    /* 1. Gate pre-activations from x and the old h, unit by unit (gate_scratch[4u + g]). */
    for (u = 0; u < n_units; ++u) {
        int32_t ax[4];
        int32_t ah[4];
        int16_t *pre = gate_scratch + 4 * u;
        ax[0] = edgelstm_add_wrap_s32(bx[0], corr_x);
        ax[1] = edgelstm_add_wrap_s32(bx[1], corr_x);
        ax[2] = edgelstm_add_wrap_s32(bx[2], corr_x);
        ax[3] = edgelstm_add_wrap_s32(bx[3], corr_x);
        edgelstm_lstm_dot4(wx, x, n_in, ax);
        ah[0] = edgelstm_add_wrap_s32(bh[0], corr_h);
        ah[1] = edgelstm_add_wrap_s32(bh[1], corr_h);
        ah[2] = edgelstm_add_wrap_s32(bh[2], corr_h);
        ah[3] = edgelstm_add_wrap_s32(bh[3], corr_h);
        edgelstm_lstm_dot4(wh, h_in, n_units, ah);
        wx += 4 * n_in;
        wh += 4 * n_units;
        bx += 4;
        bh += 4;
        edgelstm_lstm_gates(ax, ah, rq, pre);
    }

    /* 2. Activations, cell and hidden update, unit by unit (h_in is no longer read). */
    for (u = 0; u < n_units; ++u) {
        const int16_t *pre = gate_scratch + 4 * u;
        const int32_t i_g = edgelstm_sigmoid_q15(pre[0]);
        const int32_t f_g = edgelstm_sigmoid_q15(pre[1]);
        /* Cell gate: Tanh with cell_state_scale_power -12 -> (multiplier 0, left shift 0). */
        const int32_t g_g = edgelstm_tanh_q15(pre[2], 0, 0);
        const int32_t o_g = edgelstm_sigmoid_q15(pre[3]);
        int32_t cell;
        /* UpdateLstmCell: c = f*c; c += i*g (saturating); optional clip. */
        cell = edgelstm_mul_fast(f_g, c[u], &fm);
        cell = edgelstm_sat16(cell + edgelstm_mul_fast(i_g, g_g, &im));
        if (clip > 0) {
            cell = edgelstm_saturate(cell, -clip, clip);
        }
        c[u] = (int16_t)cell;
        /* UpdateLstmHidden: h = tanh(c) * o requantised to the hidden tensor. */
        h_out[u] = (int8_t)edgelstm_mul_fast(edgelstm_tanh_q15(cell, tanh_m, tanh_s), o_g, &om);
    }
}
