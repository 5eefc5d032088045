/*
 * edgelstm_gru_step_s8_s16_rv32.c - the GRU step on EDGELSTM_PATH_RV32 (32-bit RISC-V with M:
 * rv32imc, ESP32-C3 class; edgelstm_config.h). Compiled whole on that path, empty on the others.
 * The specification and the order of work: edgelstm_gru_step_s8_s16.c (edgelstm/sim/gru.py);
 * the values are the same bytes on every path (tests/test_target_riscv.py).
 *
 * The portable step's schedule, with the gate products of the RV32 LSTM: two groups of 4 rows
 * per pass over the widened inputs (edgelstm_dot_s8_rv32.h: LBU + MUL + ADD in assembly, every
 * input load shared by 8 rows), the bias and the w + 128 correction folded into the
 * accumulators, the per-row requantisation right after with the LSTM's RV32 requantiser
 * (edgelstm_fixedpoint_rv32.h: MULHSU, a branch on the row's shift; no helper call).
 */
#include "edgelstm_gru_step_s8_s16.h"

#if defined(EDGELSTM_PATH_RV32)
#include "edgelstm_dot_s8_rv32.h"
#include "edgelstm_fixedpoint_rv32.h"

/* The reference MBQM for a multiplier outside {0} and [2^30, 2^31) (QuantizeMultiplier never gives
 * one; kept for exactness on any parameters), out of line: the flash budget is 4 KB. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static int32_t edgelstm_gru_mbqm_ref_rv32(int32_t x, int32_t m, int32_t shift)
{
    return edgelstm_multiply_by_quantized_multiplier(x, m, shift);
}

/* Rows [0, rows) of a gate product, sat16(MBQM(dot + bias, m, s)) in Q3.12, into out (the
 * portable edgelstm_gru_rows, 8 rows per pass). bias may be NULL (0); the rows past `rows` in
 * the last group are export-c's zero padding and are not stored. One out-of-line copy. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static void edgelstm_gru_rows_rv32(const uint8_t *w, const uint32_t *vw, int32_t n, int32_t corr, int32_t rows,
                                   const int32_t *bias, const int32_t *mult, const int8_t *shift, int16_t *out)
{
    const int32_t *v = (const int32_t *)(const void *)vw;
    int32_t r;
    for (r = 0; r < rows; r += 8) {
        const int32_t two = (r + 4 < rows) ? 1 : 0; /* a second group of 4 rows */
        const int32_t n_out = (rows - r < 8) ? rows - r : 8;
        int32_t b[8];
        const int32_t *bp = b;
        int32_t acc[8];
        int32_t k;
        if (bias != 0 && n_out == 8) {
            bp = bias + r;
        } else { /* no biases, or the padding rows of a last group: 0 */
            for (k = 0; k < 8; ++k) {
                b[k] = (bias != 0 && k < n_out) ? bias[r + k] : 0;
            }
        }
        edgelstm_rv32_dot2(w, two ? 4 * n : 0, v, n, bp, corr, acc);
        w += 8 * n;
        for (k = 0; k < n_out; ++k) {
            const int32_t m = mult[r + k];
            int32_t y;
            if (m == 0 || m >= 0x40000000) { /* every multiplier QuantizeMultiplier gives */
                edgelstm_rv32_rq_t q;
                (void)edgelstm_rv32_rq_prepare(m, shift[r + k], &q);
                y = edgelstm_rv32_rq_raw(acc[k], &q);
            } else {
                y = edgelstm_gru_mbqm_ref_rv32(acc[k], m, shift[r + k]);
            }
            out[r + k] = (int16_t)edgelstm_sat16(y);
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
    const int32_t *bias_h = p->bias_h; /* NULL: no recurrent biases */
    int32_t corr;
    int32_t u;

    /* 1. The input side of all 3U rows. */
    (void)edgelstm_widen_s8(x, n_in, vw, &corr);
    edgelstm_gru_rows_rv32((const uint8_t *)p->weights_x, vw, n_in, -128 * corr, 3 * n_units, p->bias_x,
                           p->multiplier_x, p->shift_x, ax);

    /* 2. Update and reset gates: the recurrent side of rows 0 .. 2U-1 on the old h8. */
    (void)edgelstm_widen_s8(h8, n_units, vw, &corr);
    corr *= -128;
    edgelstm_gru_rows_rv32(wh, vw, n_units, corr, 2 * n_units, bias_h, p->multiplier_h, p->shift_h, ah);
    for (u = 0; u < 2 * n_units; ++u) {
        ax[u] = (int16_t)edgelstm_sigmoid_q15(edgelstm_sat16(ax[u] + ah[u])); /* = edgelstm_sigmoid_int16 */
    }

    /* 3. The candidate's pre-activation in ax[2U .. 3U-1]. */
    if (p->reset_after) {
        const edgelstm_mul_params_t *rm = &p->reset_mul;
        edgelstm_gru_rows_rv32(wh_n, vw, n_units, corr, n_units, bias_h ? bias_h + 2 * n_units : 0,
                               p->multiplier_h + 2 * n_units, p->shift_h + 2 * n_units, ah);
        for (u = 0; u < n_units; ++u) {
            /* r * (U_h h8 + bh_h): Q0.15 x Q3.12 -> Q3.12 */
            const int32_t rh = edgelstm_mul_requantize(ax[n_units + u], ah[u], rm->multiplier, rm->shift, rm->offset,
                                                       rm->act_min, rm->act_max);
            ax[2 * n_units + u] = (int16_t)edgelstm_sat16(ax[2 * n_units + u] + rh);
        }
    } else {
        /* r * h16 in the h8 scale into h8 (the old h8 is not read again), then U_h (r h)8 */
        for (u = 0; u < n_units; ++u) {
            h8[u] = (int8_t)edgelstm_sat8(
                edgelstm_rounding_divide_by_pot((int32_t)ax[n_units + u] * (int32_t)h16[u], q->rh_shift));
        }
        (void)edgelstm_widen_s8(h8, n_units, vw, &corr);
        edgelstm_gru_rows_rv32(wh_n, vw, n_units, -128 * corr, n_units, 0, p->multiplier_h + 2 * n_units,
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
#endif /* EDGELSTM_PATH_RV32 */
