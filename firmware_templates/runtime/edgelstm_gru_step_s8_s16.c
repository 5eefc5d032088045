/*
 * edgelstm_gru_step_s8_s16.c - one time step of edgelstm's integer GRU.
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
 * Every product is int8 x int8 (edgelstm_dot_s8, the same kernel as the LSTM's). The input
 * zero point is already in bias_x; accumulator + bias wraps to int32 exactly as the
 * simulator's wrap_int32(acc) does. Bounds of the element-wise products (all int32, no
 * overflow): r * ah_h and r * h16 are below 2^15 * 2^15 = 2^30; z * (h16 - n) is at most
 * 32767 * 65535 < 2^31.
 */
#include "edgelstm_runtime.h"
#include "edgelstm_fixedpoint.h"
#include "edgelstm_dot_s8.h"

void edgelstm_gru_reset_s8_s16(const edgelstm_gru_params_s8_s16_t *p, int8_t *h8, int16_t *h16)
{
    int32_t u;
    for (u = 0; u < p->units; ++u) {
        h8[u] = 0;
        h16[u] = 0;
    }
}

/* sat16(MBQM(dot(w_row, v) + bias, m, s)): one row of a gate product in Q3.12. */
static int32_t edgelstm_gru_row_q12(const int8_t *w_row, const int8_t *v, int32_t n, int32_t bias, int32_t m,
                                    int32_t s)
{
    const int32_t acc = edgelstm_add_wrap_s32(edgelstm_dot_s8(w_row, v, n), bias);
    return edgelstm_sat16(edgelstm_multiply_by_quantized_multiplier(acc, m, s));
}

void edgelstm_gru_step_s8_s16(const edgelstm_gru_params_s8_s16_t *p, const int8_t *x, int8_t *h8, int16_t *h16,
                              int16_t *scratch)
{
    const int32_t n_units = p->units;
    const int32_t n_in = p->input_size;
    const int32_t out_shift = 15 - p->hidden_frac_bits;
    int16_t *zr = scratch;                /* (2U) z then r, Q0.15 */
    int16_t *n_pre = scratch + 2 * n_units; /* (U) ax_h, then the candidate's pre-activation */
    int16_t *ah_h = scratch + 3 * n_units;  /* (U) U_h h8 + bh_h in Q3.12 (reset_after) */
    const int32_t *bias_h = p->bias_h;     /* NULL: no recurrent biases */
    int32_t row;
    int32_t u;

    /* 1. Update and reset gates from x and the old h8 (rows 0 .. 2U-1 of both matrices). */
    for (row = 0; row < 2 * n_units; ++row) {
        const int32_t ax = edgelstm_gru_row_q12(p->weights_x + row * n_in, x, n_in, p->bias_x[row],
                                                p->multiplier_x[row], p->shift_x[row]);
        const int32_t ah = edgelstm_gru_row_q12(p->weights_h + row * n_units, h8, n_units, bias_h ? bias_h[row] : 0,
                                                p->multiplier_h[row], p->shift_h[row]);
        zr[row] = edgelstm_sigmoid_int16((int16_t)edgelstm_sat16(ax + ah));
    }

    /* 2. Candidate rows (2U .. 3U-1): the input side, and for reset_after the recurrent side
     *    on the old h8. Nothing is written to h8 before this pass is complete. */
    for (u = 0; u < n_units; ++u) {
        row = 2 * n_units + u;
        n_pre[u] = (int16_t)edgelstm_gru_row_q12(p->weights_x + row * n_in, x, n_in, p->bias_x[row],
                                                 p->multiplier_x[row], p->shift_x[row]);
        if (p->reset_after) {
            ah_h[u] = (int16_t)edgelstm_gru_row_q12(p->weights_h + row * n_units, h8, n_units, bias_h ? bias_h[row] : 0,
                                                    p->multiplier_h[row], p->shift_h[row]);
        }
    }
    if (p->reset_after) {
        const edgelstm_mul_params_t *rm = &p->reset_mul;
        for (u = 0; u < n_units; ++u) {
            /* r * (U_h h8 + bh_h): Q0.15 x Q3.12 -> Q3.12 */
            const int32_t rh = edgelstm_mul_requantize(zr[n_units + u], ah_h[u], rm->multiplier, rm->shift, rm->offset,
                                                       rm->act_min, rm->act_max);
            n_pre[u] = (int16_t)edgelstm_sat16(n_pre[u] + rh);
        }
    } else {
        /* r * h16 in the h8 scale. The old h8 is not read again (the update below uses h16),
         * so h8 holds r * h during the candidate's product and the new h8 afterwards. */
        for (u = 0; u < n_units; ++u) {
            h8[u] = (int8_t)edgelstm_sat8(
                edgelstm_rounding_divide_by_pot((int32_t)zr[n_units + u] * (int32_t)h16[u], 30 - p->hidden_frac_bits));
        }
        for (u = 0; u < n_units; ++u) {
            row = 2 * n_units + u;
            /* No recurrent bias on the candidate without reset_after (the spec's U_h (r h)). */
            n_pre[u] = (int16_t)edgelstm_sat16(n_pre[u] + edgelstm_gru_row_q12(p->weights_h + row * n_units, h8,
                                                                                 n_units, 0, p->multiplier_h[row],
                                                                                 p->shift_h[row]));
        }
    }

    /* 3. Candidate, state update h16 = n + z (h16 - n), output h8. */
    for (u = 0; u < n_units; ++u) {
        const int32_t n = edgelstm_tanh_int16(n_pre[u], 0, 0);
        const int32_t z = zr[u];
        const int32_t s = edgelstm_sat16(n + edgelstm_rounding_divide_by_pot(z * ((int32_t)h16[u] - n), 15));
        h16[u] = (int16_t)s;
        h8[u] = (int8_t)edgelstm_sat8(edgelstm_rounding_divide_by_pot(s, out_shift));
    }
}
