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
    edgelstm_gru_step_rows_c(p, q, x, h8, h16, edgelstm_gru_rows_rv32);
}
#endif /* EDGELSTM_PATH_RV32 */
