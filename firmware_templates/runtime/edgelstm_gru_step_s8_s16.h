/*
 * edgelstm_gru_step_s8_s16.h - what the files of the GRU step share (internal header).
 *
 * The step exists once per path (edgelstm_config.h chooses the path, and only there), as the
 * LSTM's (edgelstm_lstm_step_s8_s16.h):
 *
 *   edgelstm_gru_step_s8_s16.c          reset, the entry point, the portable C path
 *   edgelstm_gru_step_s8_s16_dsp.c      the path on EDGELSTM_PATH_DSP    (Cortex-M4 / M33 / M7)
 *   edgelstm_gru_step_s8_s16_armv6m.c   the path on EDGELSTM_PATH_ARMV6M (Cortex-M0 / M0+)
 *   edgelstm_gru_step_s8_s16_<p>.c      the path of another core (one file per path)
 *
 * The entry point edgelstm_gru_step_s8_s16() (edgelstm_gru_step_s8_s16.c) prepares the numbers
 * of the step that do not depend on the row (edgelstm_gru_prepare, below) and calls the one
 * edgelstm_gru_step_path_s8_s16() of this build: each path file is compiled whole when its path
 * is chosen and is empty otherwise, and a path without a file of its own runs the portable C
 * (EDGELSTM_GRU_OWN_PATH below). The formulas and the order of work: edgelstm_gru_step_s8_s16.c.
 *
 * Adding a path: a file edgelstm_gru_step_s8_s16_<p>.c wrapped in #if defined(EDGELSTM_PATH_<P>)
 * that defines edgelstm_gru_step_path_s8_s16, and its macro on the EDGELSTM_GRU_OWN_PATH line.
 */
#ifndef EDGELSTM_GRU_STEP_S8_S16_H
#define EDGELSTM_GRU_STEP_S8_S16_H

#include <stdint.h>

#include "edgelstm_runtime.h"
#include "edgelstm_fixedpoint.h"
#include "edgelstm_dot_s8.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The paths with a GRU step file of their own; every other path compiles the portable C of
 * edgelstm_gru_step_s8_s16.c. */
#if defined(EDGELSTM_PATH_DSP) || defined(EDGELSTM_PATH_ARMV6M) || defined(EDGELSTM_PATH_MVE) || \
    defined(EDGELSTM_PATH_RV32)
#define EDGELSTM_GRU_OWN_PATH 1
#endif

/* The numbers of a step that do not depend on the row, and where the step keeps its work in
 * the scratch buffer (export-c scratch_int16: 5U + 2 max(F, U) + 1 int16). The per-row
 * multipliers and shifts are read from the const parameters where each row is requantised. */
typedef struct {
    int16_t *ax;            /* (3U) W x + bx in Q3.12; z, r become the gates (Q0.15) */
    int16_t *ah;            /* (2U) U h8 + bh in Q3.12 */
    uint32_t *vw;           /* the widened x, later h8 / (r h)8: 4-byte aligned, after ah */
    const uint8_t *wh_n;    /* the candidate's recurrent rows (after the z and r groups) */
    int32_t out_shift;      /* h8 = sat8(RDBP(h16, 15 - k)) */
    int32_t rh_shift;       /* reset_after = 0: (r h)8 = sat8(RDBP(r * h16, 30 - k)) */
} edgelstm_gru_prepared_t;

/* Bytes of one side's weights for `rows` rows of n columns (groups of 4 rows). */
static inline int32_t edgelstm_gru_group_bytes(int32_t rows, int32_t n)
{
    return ((rows + 3) >> 2) * 4 * n;
}

/* Fills *q from p and the scratch buffer; returns 1 (0 is reserved for parameters a path
 * cannot run, checked with EDGELSTM_DEBUG_ASSERT as the LSTM's). */
static inline int32_t edgelstm_gru_prepare(const edgelstm_gru_params_s8_s16_t *p, int16_t *scratch,
                                           edgelstm_gru_prepared_t *q)
{
    const int32_t n_units = p->units;
    int16_t *after = scratch + 5 * n_units;
    q->ax = scratch;
    q->ah = scratch + 3 * n_units;
    q->vw = (uint32_t *)(void *)((int8_t *)after + (((uintptr_t)after) & 2u));
    q->wh_n = (const uint8_t *)p->weights_h + edgelstm_gru_group_bytes(2 * n_units, n_units);
    q->out_shift = 15 - p->hidden_frac_bits;
    q->rh_shift = 30 - p->hidden_frac_bits;
    return 1;
}

/* The last part of a step, per unit u, in C (paths may do it in their own way): the candidate
 * n = tanh(n_pre), the state h16 = sat16(n + RDBP(z (h16 - n), 15)) and h8 = sat8(RDBP(h16,
 * 15 - k)), from z (Q0.15) and n_pre (Q3.12). */
static inline void edgelstm_gru_update_c(int32_t z, int32_t n_pre, int32_t out_shift, int16_t *h16, int8_t *h8)
{
    const int32_t n = edgelstm_tanh_q15_in(n_pre * 3); /* = edgelstm_tanh_int16(., 0, 0) */
    const int32_t s = edgelstm_sat16(n + edgelstm_rounding_divide_by_pot(z * ((int32_t)*h16 - n), 15));
    *h16 = (int16_t)s;
    *h8 = (int8_t)edgelstm_sat8(edgelstm_rounding_divide_by_pot(s, out_shift));
}

/* A path's row product: rows [0, rows) of a gate product, sat16(MBQM(dot + bias, m, s)) in Q3.12
 * into out (w: groups of 4 rows in the LSTM's unit layout, vw: the widened input, corr = -128
 * sum v for the w + 128 rows; bias may be NULL). */
typedef void (*edgelstm_gru_rows_fn)(const uint8_t *w, const uint32_t *vw, int32_t n, int32_t corr, int32_t rows,
                                     const int32_t *bias, const int32_t *mult, const int8_t *shift, int16_t *out);

/* The GRU step in C around a path's row product (the portable path and the RV32 path share it;
 * rows_fn is a constant at each call, so the compiler calls it directly). */
static inline void edgelstm_gru_step_rows_c(const edgelstm_gru_params_s8_s16_t *p, const edgelstm_gru_prepared_t *q,
                                            const int8_t *x, int8_t *h8, int16_t *h16,
                                            edgelstm_gru_rows_fn rows_fn)
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
    rows_fn((const uint8_t *)p->weights_x, vw, n_in, -128 * corr, 3 * n_units, p->bias_x, p->multiplier_x,
                      p->shift_x, ax);

    /* 2. Update and reset gates: the recurrent side of rows 0 .. 2U-1 on the old h8. */
    (void)edgelstm_widen_s8(h8, n_units, vw, &corr);
    corr *= -128;
    rows_fn(wh, vw, n_units, corr, 2 * n_units, bias_h, p->multiplier_h, p->shift_h, ah);
    for (u = 0; u < 2 * n_units; ++u) {
        ax[u] = (int16_t)edgelstm_sigmoid_q15(edgelstm_sat16(ax[u] + ah[u])); /* = edgelstm_sigmoid_int16 */
    }

    /* 3. The candidate's pre-activation in ax[2U .. 3U-1]. */
    if (p->reset_after) {
        const edgelstm_mul_params_t *rm = &p->reset_mul;
        /* U_h h8 + bh_h on the old h8 (still widened) */
        rows_fn(wh_n, vw, n_units, corr, n_units, bias_h ? bias_h + 2 * n_units : 0,
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
        rows_fn(wh_n, vw, n_units, -128 * corr, n_units, 0, p->multiplier_h + 2 * n_units,
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

/* The path's step (defined once per build: the portable C or a path file): x (F), h8 and h16
 * (U) updated in place, q from edgelstm_gru_prepare. */
void edgelstm_gru_step_path_s8_s16(const edgelstm_gru_params_s8_s16_t *p, const edgelstm_gru_prepared_t *q,
                                   const int8_t *x, int8_t *h8, int16_t *h16);

#ifdef __cplusplus
}
#endif

#endif /* EDGELSTM_GRU_STEP_S8_S16_H */
