/*
 * edgelstm_gru_step_s8_s16.c - one time step of edgelstm's integer GRU: reset, the entry point,
 * and the step of the portable path.
 *
 * The specification is the docstring of edgelstm/sim/gru.py (run_gru is the bit-exact
 * reference); docs/gru_spec.md explains it. Per unit j (MBQM = MultiplyByQuantizedMultiplier,
 * RDBP = RoundingDivideByPOT, multipliers per row):
 *
 *   ax_g = sat16(MBQM(W_g x + bx_g, Mx_g))            g in z, r, h          Q3.12
 *   ah_g = sat16(MBQM(U_g h8 + bh_g, Mh_g))           (reset_after=0: g in z, r; bh_g = 0)
 *   z = sigmoid(sat16(ax_z + ah_z))   r = sigmoid(sat16(ax_r + ah_r))       Q0.15
 *   reset_after=1: n_pre = sat16(ax_h + sat16(MBQM(r * ah_h, 2^30, -14)))
 *   reset_after=0: rh8   = sat8(RDBP(r * h16, 30 - k))
 *                  n_pre = sat16(ax_h + sat16(MBQM(U_h rh8, Mh_h)))
 *   n   = tanh(n_pre)                                                        Q0.15
 *   h16 = sat16(n + RDBP(z * (h16 - n), 15))                                 Q0.15 state
 *   h8  = sat8(RDBP(h16, 15 - k))                                            output, 2^-k
 *
 * Every product is int8 x int8, 4 rows at a time by the LSTM's kernel edgelstm_lstm_dot on
 * inputs widened once (edgelstm_dot_s8.h); export-c writes each weight matrix as groups of 4
 * rows in the LSTM's unit layout and encoding (W: the 3U rows z, r, h; U: rows z, r, then the
 * candidate's rows, each part padded to a multiple of 4 rows with zero rows). The input
 * zero point is already in bias_x; accumulator + bias wraps to int32 exactly as the
 * simulator's wrap_int32(acc) does. Bounds of the element-wise products (all int32, no
 * overflow): r * ah_h and r * h16 are below 2^15 * 2^15 = 2^30; z * (h16 - n) is at most
 * 32767 * 65535 < 2^31.
 *
 * Order of work (every path computes the same values; edgelstm_gru_step_s8_s16.h lists the path
 * files, edgelstm_config.h chooses): the entry point prepares what does not depend on the row
 * (edgelstm_gru_prepare) and calls the path's edgelstm_gru_step_path_s8_s16, which
 *   1. widens x once and runs the input side of all 3U rows (ax, requantised per row);
 *   2. widens the old h8 and runs the recurrent rows of z and r; z, r = sigmoid(ax + ah);
 *   3. the candidate's pre-activation: reset_after = 1 the candidate's recurrent rows on the old
 *      h8, times r; reset_after = 0 the candidate's rows on (r h)8;
 *   4. per unit n = tanh, h16 and h8 (edgelstm_gru_update_c).
 */
#include "edgelstm_gru_step_s8_s16.h"

void edgelstm_gru_reset_s8_s16(const edgelstm_gru_params_s8_s16_t *p, int8_t *h8, int16_t *h16)
{
    int32_t u;
    for (u = 0; u < p->units; ++u) {
        h8[u] = 0;
        h16[u] = 0;
    }
}

/* The entry point of every path: the step's prepared numbers, then the path's step. */
void edgelstm_gru_step_s8_s16(const edgelstm_gru_params_s8_s16_t *p, const int8_t *x, int8_t *h8, int16_t *h16,
                              int16_t *scratch)
{
    edgelstm_gru_prepared_t q;
    const int32_t ok = edgelstm_gru_prepare(p, scratch, &q);
    EDGELSTM_DEBUG_ASSERT(ok);
    edgelstm_gru_step_path_s8_s16(p, &q, x, h8, h16);
}

#if !defined(EDGELSTM_GRU_OWN_PATH)
/* ---- the portable path: C99 the compiler schedules (also SSE2's: its 4-row products are the
 * LSTM's kernel edgelstm_lstm_dot, in intrinsics) ---------------------------------------------- */

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
    edgelstm_gru_step_rows_c(p, q, x, h8, h16, edgelstm_gru_rows);
}
#endif /* !EDGELSTM_GRU_OWN_PATH */
