/*
 * edgelstm_lstm_step_s8_s16_mve.c - the LSTM step on EDGELSTM_PATH_MVE (Cortex-M55 / M85 with
 * Helium, __ARM_FEATURE_MVE; edgelstm_config.h). Compiled whole on that path, empty on the
 * others. The formulas and the order of work: edgelstm_lstm_step_s8_s16.c (TFLM LstmStep,
 * CMSIS-NN arm_nn_lstm_step_s8); the values are the same bytes on every path.
 *
 * Units are taken 4 at a time:
 *   1. the 8 gate rows of each unit (x side and h side) against the int8 inputs, 16 columns per
 *      VLDRB.8 + VMLADAVA.S8 with the four rows of a side sharing each input vector
 *      (edgelstm_dot_s8_mve.h edgelstm_rows4_dot_mve; weights in the rows encoding), the
 *      accumulators starting at the folded biases; stored gate-major (acc[side][gate][unit]);
 *   2. one VLDRW.32 per gate and side reads a vector with the 4 units in its lanes, and the rest
 *      of the step runs on those vectors (edgelstm_fixedpoint_mve.h): the 8 gate
 *      requantisations (VQRDMULH = gemmlowp's SaturatingRoundingDoublingHighMul, VRSHL after
 *      the -[x < 0] fix-up = RoundingDivideByPOT), sat16 of the sums by VQMOVNB + VQADD.S16,
 *      the sigmoid / tanh table interpolation with gather loads of the table pair, the cell
 *      and the hidden update, and the c / h stores (narrowing VSTRH / VSTRB, predicated by
 *      VCTP.32 for a last group of fewer than 4 units).
 * The old h is copied to the scratch buffer first, so h_out may alias h_in.
 */
#include "edgelstm_lstm_step_s8_s16.h"

#if defined(EDGELSTM_PATH_MVE)
#include "edgelstm_dot_s8_mve.h"
#include "edgelstm_fixedpoint_mve.h"

/* The gate g's pre-activation of the 4 units, in Q3.12 (CalculateLstmGate: the input and the
 * recurrent side requantised apart, then added): acc is gate-major, acc[side][gate][unit]. */
static inline int32x4_t edgelstm_lstm_pre_mve(const int32_t *acc, const edgelstm_lstm_prepared_t *q, int32_t g)
{
    return edgelstm_sat16_add_mve(edgelstm_rq_mve(vldrwq_s32(acc + 4 * g), &q->gate_x[g]),
                                  edgelstm_rq_mve(vldrwq_s32(acc + 16 + 4 * g), &q->gate_h[g]));
}

/* Step 2 of the header for units u .. u + nb - 1 (nb in 1..4): acc[side][gate][unit], side 0
 * the input, 1 the recurrent accumulators (biases included); c and h point at unit u. Each
 * gate is computed where it is used, so few vectors are live at a time (8 Q registers). */
EDGELSTM_MVE_NOINLINE EDGELSTM_MVE_NO_SCHED static void edgelstm_lstm_units4_mve(
    const int32_t *acc, const edgelstm_lstm_prepared_t *q, int16_t *c, int8_t *h, int32_t nb)
{
    const mve_pred16_t pu = vctp32q((uint32_t)nb);
    int32x4_t fc;
    int32x4_t cell;
    int32x4_t hv;
    {
        /* UpdateLstmCell: c = sat16(sat16(f*c) + sat16(i*g)); optional clip */
        const int32x4_t f_g = edgelstm_sigmoid_mve(edgelstm_lstm_pre_mve(acc, q, 1));
        fc = edgelstm_rq_mve(vmulq_s32(f_g, vldrhq_z_s32(c, pu)), &q->cell_forget);
    }
    {
        const int32x4_t i_g = edgelstm_sigmoid_mve(edgelstm_lstm_pre_mve(acc, q, 0));
        const int32x4_t g_g = edgelstm_tanh_mve(vmulq_n_s32(edgelstm_lstm_pre_mve(acc, q, 2), 3)); /* Tanh (0, 0) */
        cell = edgelstm_sat16_add_mve(fc, edgelstm_rq_mve(vmulq_s32(i_g, g_g), &q->cell_input));
    }
    cell = vmaxq_s32(vminq_s32(cell, vdupq_n_s32(q->clip_hi)), vdupq_n_s32(q->clip_lo));
    vstrhq_p_s32(c, cell, pu);
    /* UpdateLstmHidden: h = clamp8(sat16(MBQM(tanh(c) * o)) + zp_h); tanh's input
     * wrap(c k + r) >> s (edgelstm_tanh_in) */
    hv = vshlq_r_s32(vaddq_n_s32(vmulq_n_s32(cell, q->tanh_in.k), q->tanh_in.r), -q->tanh_in.s);
    hv = vmulq_s32(edgelstm_tanh_mve(hv), edgelstm_sigmoid_mve(edgelstm_lstm_pre_mve(acc, q, 3)));
    hv = edgelstm_rq_mve(hv, &q->hidden);
    {
        /* sat16, + zp_h saturating in int16 (beyond int16 it clamps to the same int8), sat8:
         * unit k's byte lands in the low byte of 32-bit lane k (VSTRB.32 stores it) */
        const int16x8_t h16 = vqaddq_n_s16(vqmovnbq_s32(vuninitializedq_s16(), hv), (int16_t)q->h_offset);
        const int8x16_t h8 = vqmovnbq_s16(vuninitializedq_s8(), h16);
        vstrbq_p_s32(h, vreinterpretq_s32_s8(h8), pu);
    }
}

/* Step 1 for the nb units of a group, one side: acc[g][k] = bias[4k + g] + the dot product of
 * unit k's row g (rows encoding: 4 rows of n bytes per unit, from w) with v (n int8). */
EDGELSTM_MVE_NOINLINE static void edgelstm_lstm_rows_mve(const int8_t *w, const int8_t *v, int32_t n,
                                                        const int32_t *bias, int32_t nb, int32_t *acc)
{
    int32_t k;
    for (k = 0; k < nb; ++k) {
        int32_t a[4];
        a[0] = bias[0];
        a[1] = bias[1];
        a[2] = bias[2];
        a[3] = bias[3];
        edgelstm_rows4_dot_mve(w, v, n, a);
        acc[k] = a[0];
        acc[4 + k] = a[1];
        acc[8 + k] = a[2];
        acc[12 + k] = a[3];
        w += 4 * n;
        bias += 4;
    }
}

/* edgelstm_lstm_prepare, once per step, out of line and not vectorised: its 11 requantisers
 * are a few scalar instructions each (GCC's vectoriser makes them longer and spills). */
EDGELSTM_MVE_NOINLINE EDGELSTM_MVE_NO_VECTORIZE static int32_t edgelstm_lstm_prepare_mve(
    const edgelstm_lstm_params_s8_s16_t *p, edgelstm_lstm_prepared_t *q)
{
    return edgelstm_lstm_prepare(p, q);
}

void edgelstm_lstm_step_s8_s16(const edgelstm_lstm_params_s8_s16_t *p, const int8_t *x, const int8_t *h_in,
                               int8_t *h_out, int16_t *c, int16_t *gate_scratch)
{
    const int32_t n_units = p->units;
    const int32_t n_in = p->input_size;
    int8_t *h_old = (int8_t *)(void *)gate_scratch; /* export-c sizes the scratch for >= 8U bytes */
    edgelstm_lstm_prepared_t q;
    const int32_t ok = edgelstm_lstm_prepare_mve(p, &q);
    int32_t u;
    EDGELSTM_DEBUG_ASSERT(ok);
    edgelstm_copy_s8_mve(h_old, h_in, n_units);
    for (u = 0; u < n_units; u += 4) {
        int32_t acc[2 * 4 * 4]; /* [side][gate][unit] */
        const int32_t nb = (n_units - u < 4) ? n_units - u : 4;
        if (nb < 4) { /* lanes past the last unit: defined values (zeros), never stored */
            int32_t k;
            for (k = 0; k < 8; ++k) {
                vstrwq_s32(acc + 4 * k, vdupq_n_s32(0));
            }
        }
        edgelstm_lstm_rows_mve(p->weights_x + 4 * u * n_in, x, n_in, p->bias_x + 4 * u, nb, acc);
        edgelstm_lstm_rows_mve(p->weights_h + 4 * u * n_units, h_old, n_units, p->bias_h + 4 * u, nb, acc + 16);
        edgelstm_lstm_units4_mve(acc, &q, c + u, h_out + u, nb);
    }
}
#endif /* EDGELSTM_PATH_MVE */
