/*
 * edgelstm_gru_step_s8_s16_dsp.c - the GRU step on EDGELSTM_PATH_DSP (Cortex-M4 / M33 / M7; edgelstm_config.h).
 * Compiled whole on that path, empty on the others. The step's formulas and order of work:
 * edgelstm_gru_step_s8_s16.c.
 */
#include "edgelstm_gru_step_s8_s16.h"

#if defined(EDGELSTM_PATH_DSP)
/* Rows [0, rows) of a gate product, sat16(MBQM(dot + bias, m, s)) in Q3.12, into out: the
 * weights w are groups of 4 rows (zero rows pad the last group) in the LSTM's unit layout
 * (edgelstm_dot_s8.h edgelstm_lstm_dot; export-c gru_params), v widened, corr = -128 sum v
 * (the w + 128 rows). bias may be NULL (0). One out-of-line copy. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static void edgelstm_gru_rows(const uint8_t *w, const uint32_t *vw, int32_t n, int32_t corr, int32_t rows,
                              const int32_t *bias, const int32_t *mult, const int8_t *shift, int16_t *out)
{
    int32_t r;
    for (r = 0; r < rows; r += 4) {
        int32_t acc[4];
        int32_t k;
        for (k = 0; k < 4; ++k) {
            acc[k] = (bias != 0 && r + k < rows) ? bias[r + k] : 0;
#if EDGELSTM_LSTM_PAIRED
            if (k < 2)
#endif
            {
                acc[k] = edgelstm_add_wrap_s32(acc[k], corr);
            }
        }
        edgelstm_lstm_dot(w, vw, n, acc);
        w += 4 * n;
        for (k = 0; k < 4 && r + k < rows; ++k) {
            const int32_t m = mult[r + k];
            /* edgelstm_mbqm: one multiply-add and a shift, exact for 0 <= m < 2^31 (every
             * multiplier QuantizeMultiplier gives); the reference formula otherwise */
            out[r + k] = (int16_t)edgelstm_sat16((m >= 0) ? edgelstm_mbqm(acc[k], m, shift[r + k])
                                                          : edgelstm_multiply_by_quantized_multiplier(acc[k], m,
                                                                                                      shift[r + k]));
        }
    }
}

void edgelstm_gru_step_path_s8_s16(const edgelstm_gru_params_s8_s16_t *p, const edgelstm_gru_prepared_t *q,
                                   const int8_t *x, int8_t *h8, int16_t *h16)
{
    const int32_t n_units = p->units;
    const int32_t n_in = p->input_size;
    int16_t *ax = q->ax;
    int16_t *ah = q->ah;
    uint32_t *vw = q->vw;
    const uint8_t *wh = (const uint8_t *)p->weights_h;
    const uint8_t *wh_n = q->wh_n;
    const int32_t *bias_h = p->bias_h;      /* NULL: no recurrent biases */
    int32_t corr;
    int32_t u;

    /* 1. The input side of all 3U rows. */
    (void)edgelstm_widen_s8(x, n_in, vw, &corr);
    edgelstm_gru_rows((const uint8_t *)p->weights_x, vw, n_in, -128 * corr, 3 * n_units, p->bias_x, p->multiplier_x,
                      p->shift_x, ax);

    /* 2. Update and reset gates: the recurrent side of rows 0 .. 2U-1 on the old h8. */
    (void)edgelstm_widen_s8(h8, n_units, vw, &corr);
    corr *= -128;
    edgelstm_gru_rows(wh, vw, n_units, corr, 2 * n_units, bias_h, p->multiplier_h, p->shift_h, ah);
    for (u = 0; u < 2 * n_units; ++u) {
        ax[u] = (int16_t)edgelstm_sigmoid_q15(edgelstm_sat16(ax[u] + ah[u])); /* = edgelstm_sigmoid_int16 */
    }

    /* 3. The candidate's pre-activation in ax[2U .. 3U-1]. */
    if (p->reset_after) {
        const edgelstm_mul_params_t *rm = &p->reset_mul;
        /* U_h h8 + bh_h on the old h8 (still widened) */
        edgelstm_gru_rows(wh_n, vw, n_units, corr, n_units, bias_h ? bias_h + 2 * n_units : 0,
                          p->multiplier_h + 2 * n_units, p->shift_h + 2 * n_units, ah);
        for (u = 0; u < n_units; ++u) {
            /* r * (U_h h8 + bh_h): Q0.15 x Q3.12 -> Q3.12 */
            const int32_t rh = edgelstm_mul_requantize(ax[n_units + u], ah[u], rm->multiplier, rm->shift, rm->offset,
                                                       rm->act_min, rm->act_max);
            ax[2 * n_units + u] = (int16_t)edgelstm_sat16(ax[2 * n_units + u] + rh);
        }
    } else {
        /* r * h16 in the h8 scale. The old h8 is not read again (the update below uses h16),
         * so h8 holds r * h during the candidate's product and the new h8 afterwards. No
         * recurrent bias on the candidate without reset_after (the spec's U_h (r h)). */
        for (u = 0; u < n_units; ++u) {
            h8[u] = (int8_t)edgelstm_sat8(
                edgelstm_rounding_divide_by_pot((int32_t)ax[n_units + u] * (int32_t)h16[u], q->rh_shift));
        }
        (void)edgelstm_widen_s8(h8, n_units, vw, &corr);
        edgelstm_gru_rows(wh_n, vw, n_units, -128 * corr, n_units, 0, p->multiplier_h + 2 * n_units,
                          p->shift_h + 2 * n_units, ah);
        for (u = 0; u < n_units; ++u) {
            ax[2 * n_units + u] = (int16_t)edgelstm_sat16(ax[2 * n_units + u] + ah[u]);
        }
    }

    /* 4. Candidate, state update h16 = n + z (h16 - n), output h8. */
    for (u = 0; u < n_units; ++u) {
        edgelstm_gru_update_c(ax[u], ax[2 * n_units + u], q->out_shift, h16 + u, h8 + u);
    }
}
#endif /* EDGELSTM_PATH_DSP */
