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

/* The path's step (defined once per build: the portable C or a path file): x (F), h8 and h16
 * (U) updated in place, q from edgelstm_gru_prepare. */
void edgelstm_gru_step_path_s8_s16(const edgelstm_gru_params_s8_s16_t *p, const edgelstm_gru_prepared_t *q,
                                   const int8_t *x, int8_t *h8, int16_t *h16);

#ifdef __cplusplus
}
#endif

#endif /* EDGELSTM_GRU_STEP_S8_S16_H */
