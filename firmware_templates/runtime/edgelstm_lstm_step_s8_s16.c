/*
 * edgelstm_lstm_step_s8_s16.c - one time step of TFLM's int8x8_16 LSTM: reset, the weight
 * encoding, and the step of the portable path.
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
 * Order of work (the values are TFLM's; only the schedule differs), the same on every path:
 *   1. the numbers that do not depend on the unit are prepared (edgelstm_lstm_prepare); x and
 *      the old h are widened once into the scratch buffer (edgelstm_lstm_widen_inputs: the form
 *      each path's dot product reads best), with their sums for the w + 128 correction;
 *   2. unit by unit: the four gate rows of the unit (stored together as column pairs,
 *      edgelstm_config.h) go through the widened x and h, so every input load serves four rows;
 *      the eight requantisations, the activations, the cell and the hidden update of the unit
 *      follow while everything is in registers. h_out is written unit by unit: the old h is
 *      read from its widened copy only, so h_out may alias h_in.
 *
 * This file always holds reset and the encoding; the step below is the portable path's. The
 * other paths define edgelstm_lstm_step_s8_s16() in their own files (edgelstm_lstm_step_s8_s16.h
 * lists them; edgelstm_config.h chooses).
 */
#include "edgelstm_lstm_step_s8_s16.h"

/* The weight encoding these kernels read (edgelstm_config.h); NAME_model.c refers to it. */
const int32_t EDGELSTM_LSTM_ENCODING = EDGELSTM_LSTM_PAIRED;

void edgelstm_lstm_reset_s8_s16(const edgelstm_lstm_params_s8_s16_t *p, int8_t *h, int16_t *c)
{
    int32_t u;
    for (u = 0; u < p->units; ++u) {
        h[u] = (int8_t)p->hidden_zero_point;
        c[u] = 0;
    }
}

#if defined(EDGELSTM_PATH_PORTABLE)
/* ---- the portable path: C99 the compiler schedules ------------------------------------------
 *
 * Also what an ARMv6-M core runs at -O0 and what -DEDGELSTM_FORCE_ARMV6M runs on a host: then
 * the requantisations are built from 16 x 16 partial products (EDGELSTM_NO_MUL64,
 * edgelstm_lstm_rq), the C twin of the ARMv6-M assembly's. */

/* The 4 + 4 accumulators of one unit (gates i, f, g, o of the x side, then of the h side),
 * bias and w + 128 correction included. One out-of-line copy. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static void edgelstm_lstm_unit_dot(const uint8_t *wx, const uint32_t *xw, int32_t n_in, const uint8_t *wh,
                                   const uint32_t *hw, int32_t n_units, int32_t acc[8])
{
    edgelstm_lstm_dot(wx, xw, n_in, acc);
    edgelstm_lstm_dot(wh, hw, n_units, acc + 4);
}

/* The update of one unit from its eight accumulators: gates, activations, c; returns h. For
 * the parameters export-c accepts (graph.py: multipliers 0 or >= 2^30, int16 cell products
 * without offset, int8 hidden output). */
static inline int32_t edgelstm_lstm_unit_c(const int32_t acc[8], const edgelstm_lstm_prepared_t *q, int16_t *c)
{
    int32_t pre[4];
    int32_t g;
    int32_t cell;
    int32_t h;
    for (g = 0; g < 4; ++g) {
        /* CalculateLstmGate: the input and the recurrent side requantised apart, then added */
        pre[g] = edgelstm_sat16(edgelstm_lstm_rq(acc[g], &q->gate_x[g]) + edgelstm_lstm_rq(acc[4 + g], &q->gate_h[g]));
    }
    {
        const int32_t i_g = edgelstm_sigmoid_q15(pre[0]);
        const int32_t f_g = edgelstm_sigmoid_q15(pre[1]);
        const int32_t g_g = edgelstm_tanh_q15_in(pre[2] * 3); /* the cell gate: Tanh (0, 0) */
        const int32_t o_g = edgelstm_sigmoid_q15(pre[3]);
        /* UpdateLstmCell: c = sat16(f*c) + sat16(i*g), saturating; optional clip. */
        cell = edgelstm_sat16(edgelstm_lstm_rq(f_g * *c, &q->cell_forget) +
                              edgelstm_lstm_rq(i_g * g_g, &q->cell_input));
        cell = (cell < q->clip_lo) ? q->clip_lo : ((cell > q->clip_hi) ? q->clip_hi : cell);
        *c = (int16_t)cell;
        /* UpdateLstmHidden: h = tanh(c) * o requantised to the hidden tensor. */
        h = edgelstm_lstm_rq(edgelstm_tanh_q15_in(edgelstm_tanh_in(cell, &q->tanh_in)) * o_g, &q->hidden) +
            q->h_offset;
        return (h < EDGELSTM_INT8_MIN) ? EDGELSTM_INT8_MIN : ((h > EDGELSTM_INT8_MAX) ? EDGELSTM_INT8_MAX : h);
    }
}

void edgelstm_lstm_step_s8_s16(const edgelstm_lstm_params_s8_s16_t *p, const int8_t *x, const int8_t *h_in,
                               int8_t *h_out, int16_t *c, int16_t *gate_scratch)
{
    const int32_t n_units = p->units;
    const int32_t n_in = p->input_size;
    const uint8_t *wx = (const uint8_t *)p->weights_x;
    const uint8_t *wh = (const uint8_t *)p->weights_h;
    const int32_t *bx = p->bias_x;
    const int32_t *bh = p->bias_h;
    edgelstm_lstm_prepared_t q;
    const int32_t ok = edgelstm_lstm_prepare(p, &q);
    const edgelstm_lstm_inputs_t in = edgelstm_lstm_widen_inputs(p, x, h_in, gate_scratch);
    int32_t u;
    EDGELSTM_DEBUG_ASSERT(ok);
    for (u = 0; u < n_units; ++u) {
        int32_t acc[8];
        acc[0] = edgelstm_add_wrap_s32(bx[0], in.corr_x); /* every byte is w + 128 (EDGELSTM_LSTM_PAIRED 0) */
        acc[1] = edgelstm_add_wrap_s32(bx[1], in.corr_x);
        acc[4] = edgelstm_add_wrap_s32(bh[0], in.corr_h);
        acc[5] = edgelstm_add_wrap_s32(bh[1], in.corr_h);
        acc[2] = edgelstm_add_wrap_s32(bx[2], in.corr_x);
        acc[3] = edgelstm_add_wrap_s32(bx[3], in.corr_x);
        acc[6] = edgelstm_add_wrap_s32(bh[2], in.corr_h);
        acc[7] = edgelstm_add_wrap_s32(bh[3], in.corr_h);
        edgelstm_lstm_unit_dot(wx, in.xw, n_in, wh, in.hw, n_units, acc);
        wx += 4 * n_in;
        wh += 4 * n_units;
        bx += 4;
        bh += 4;
        h_out[u] = (int8_t)edgelstm_lstm_unit_c(acc, &q, c + u);
    }
}
#endif /* EDGELSTM_PATH_PORTABLE */
