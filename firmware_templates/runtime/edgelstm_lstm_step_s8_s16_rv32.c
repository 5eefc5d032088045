/*
 * edgelstm_lstm_step_s8_s16_rv32.c - the LSTM step on EDGELSTM_PATH_RV32 (32-bit RISC-V with the
 * M extension: __riscv, __riscv_xlen == 32, __riscv_mul; rv32imc as in the ESP32-C3 class of
 * cores; edgelstm_config.h). Compiled whole on that path, empty on the others. The formulas and
 * the order of work: edgelstm_lstm_step_s8_s16.c (TFLM LstmStep, CMSIS-NN arm_nn_lstm_step_s8);
 * the values are the same bytes on every path (tests/test_target_riscv.py, tests/test_c_paths.py).
 *
 * What the core offers and how it is used:
 *   - 31 registers: the 8 gate accumulators of two units, 4 inputs, the weight and input
 *     pointers stay in registers through the dot product (edgelstm_dot_s8_rv32.h), so every
 *     input load serves 8 rows;
 *   - no multiply-accumulate and no SIMD: a multiply-accumulate is LBU + MUL + ADD (3.25
 *     instructions per MAC with the loads and the loop). The weights are the offset encoding
 *     (EDGELSTM_LSTM_PAIRED 0: every byte w + 128, read unsigned, the -128 sum x correction
 *     once per step), the inputs widened once per step to int32 words. Packing two MACs into
 *     one register is not exact here (docs/performance.md: an int8 x int8 product fills a
 *     16-bit lane, the sums need 21 bits);
 *   - a 32 x 32 -> high 32 multiply (MULHSU): SaturatingRoundingDoublingHighMul without any
 *     64-bit arithmetic (edgelstm_fixedpoint_rv32.h; no __muldi3 or other helper call anywhere), and
 *     a branch on the per-step shift instead of the always-executed rounding of the DSP path;
 *   - misaligned word loads trap on ESP32-C3-class cores: the sigmoid / tanh table pair is two
 *     halfword loads.
 */
#include "edgelstm_lstm_step_s8_s16.h"

#if defined(EDGELSTM_PATH_RV32)
#include "edgelstm_dot_s8_rv32.h"
#include "edgelstm_fixedpoint_rv32.h"

/* edgelstm_sigmoid_q15 (TFLM Logistic on int16, the value for every int16 x): a = |3x|, the
 * table pair (ua, ub) at a >> 9 as two halfword loads (a word load would be misaligned half
 * the time, which cores such as the ESP32-C3 trap), ua 2^9 + t (ub - ua) + 2^9 >> 10. */
static inline int32_t edgelstm_rv32_sigmoid(int32_t x)
{
    const int32_t in = x * 3;
    const uint32_t s = (uint32_t)edgelstm_asr_s32(in, 31);
    const uint32_t a = ((uint32_t)in ^ s) - s;
    const uint16_t *tp = &edgelstm_sigmoid_table_uint16[a >> 9];
    const uint32_t ua = tp[0];
    const uint32_t ub = tp[1];
    const int32_t pos = (int32_t)(((ua << 9) + (a & 0x1FFu) * (ub - ua) + (1u << 9)) >> 10);
    return (in < 0) ? 32768 - pos : pos;
}

/* edgelstm_tanh_q15_in (TFLM Tanh on int16, on its input_data): |in| clamped to 255 * 256 - 1
 * gives TFLM's saturated 32767 (edgelstm_tanh_q15_dsp), so the pair never leaves the table. */
static inline int32_t edgelstm_rv32_tanh(int32_t in)
{
    const uint32_t s = (uint32_t)edgelstm_asr_s32(in, 31);
    uint32_t a = ((uint32_t)in ^ s) - s;
    const uint16_t *tp;
    uint32_t ua;
    uint32_t ub;
    uint32_t r;
    if (a > 65279u) {
        a = 65279u;
    }
    tp = &edgelstm_sigmoid_table_uint16[a >> 8];
    ua = tp[0];
    ub = tp[1];
    r = ((ua << 8) + (a & 0xFFu) * (ub - ua) - (1u << 23) + (1u << 7)) >> 8;
    return edgelstm_u32_to_s32((r ^ s) - s); /* -r when in < 0 */
}

/* The numbers of a step that do not depend on the unit (edgelstm_lstm_prepare's, in this
 * path's requantiser form). */
typedef struct {
    edgelstm_rv32_rq_t gate_x[4];
    edgelstm_rv32_rq_t gate_h[4];
    edgelstm_rv32_rq_t cell_forget;
    edgelstm_rv32_rq_t cell_input;
    edgelstm_rv32_rq_t hidden;
    int32_t clip_lo;
    int32_t clip_hi;
    edgelstm_tanh_in_t tanh_in;
    int32_t h_offset;
} edgelstm_rv32_prepared_t;

static int32_t edgelstm_rv32_prepare(const edgelstm_lstm_params_s8_s16_t *p, edgelstm_rv32_prepared_t *q)
{
    int32_t ok = 1;
    int32_t g;
    for (g = 0; g < 4; ++g) {
        ok &= edgelstm_rv32_rq_prepare(p->multiplier_x[g], p->shift_x[g], &q->gate_x[g]);
        ok &= edgelstm_rv32_rq_prepare(p->multiplier_h[g], p->shift_h[g], &q->gate_h[g]);
    }
    ok &= edgelstm_rv32_rq_prepare(p->forget_mul.multiplier, p->forget_mul.shift, &q->cell_forget);
    ok &= edgelstm_rv32_rq_prepare(p->input_mul.multiplier, p->input_mul.shift, &q->cell_input);
    ok &= edgelstm_rv32_rq_prepare(p->output_mul.multiplier, p->output_mul.shift, &q->hidden);
    q->clip_lo = (p->cell_clip > 0) ? -p->cell_clip : EDGELSTM_INT16_MIN;
    q->clip_hi = (p->cell_clip > 0) ? p->cell_clip : EDGELSTM_INT16_MAX;
    q->tanh_in = edgelstm_tanh_in_prepare(p->tanh_multiplier, p->tanh_left_shift);
    q->h_offset = p->output_mul.offset;
    return ok;
}

/* Both sides of two units (or one unit twice, two == 0): acc[0..7] the x side, acc[8..15] the
 * h side. One out-of-line copy, the sides in a loop: its registers are saved once per two
 * units and the dot product is in the flash once. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static void edgelstm_rv32_dot2u(const edgelstm_lstm_params_s8_s16_t *p, const edgelstm_lstm_inputs_t *in,
                                int32_t u, int32_t two, int32_t acc[16])
{
    int32_t s;
    for (s = 0; s < 2; ++s) {
        const int32_t n = s ? p->units : p->input_size;
        const uint8_t *w = (const uint8_t *)(s ? p->weights_h : p->weights_x) + 4 * n * u;
        const uint32_t *v = s ? in->hw : in->xw;
        edgelstm_rv32_dot2(w, two ? 4 * n : 0, (const int32_t *)(const void *)v, n, (s ? p->bias_h : p->bias_x) + 4 * u,
                           s ? in->corr_h : in->corr_x, acc + 8 * s);
    }
}

/* The update of one unit from its gate sums (ax: x side, ah: h side, biases included): the
 * gates, the activations, the cell; returns h. One out-of-line copy, the 4 gates in a loop:
 * the flash budget of the step is 4 KB (the sigmoid and tanh are inlined). */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static int32_t edgelstm_rv32_unit(const int32_t *ax, const int32_t *ah, const edgelstm_rv32_prepared_t *q,
                                  int16_t *c)
{
    int32_t pre[4];
    int32_t g;
    int32_t cell;
    int32_t h;
    for (g = 0; g < 4; ++g) {
        /* CalculateLstmGate: the input and the recurrent side requantised apart, then added */
        pre[g] = edgelstm_rv32_sat16(edgelstm_rv32_rq(ax[g], &q->gate_x[g]) + edgelstm_rv32_rq(ah[g], &q->gate_h[g]));
    }
    {
        const int32_t i_g = edgelstm_rv32_sigmoid(pre[0]);
        const int32_t f_g = edgelstm_rv32_sigmoid(pre[1]);
        const int32_t g_g = edgelstm_rv32_tanh(pre[2] * 3); /* the cell gate: Tanh (0, 0) */
        const int32_t o_g = edgelstm_rv32_sigmoid(pre[3]);
        /* UpdateLstmCell: c = sat16(f*c) + sat16(i*g), saturating; optional clip. */
        cell = edgelstm_rv32_sat16(edgelstm_rv32_rq(f_g * *c, &q->cell_forget) +
                                   edgelstm_rv32_rq(i_g * g_g, &q->cell_input));
        cell = (cell < q->clip_lo) ? q->clip_lo : ((cell > q->clip_hi) ? q->clip_hi : cell);
        *c = (int16_t)cell;
        /* UpdateLstmHidden: h = tanh(c) * o requantised to the hidden tensor. */
        h = edgelstm_rv32_rq(edgelstm_rv32_tanh(edgelstm_tanh_in(cell, &q->tanh_in)) * o_g, &q->hidden) +
            q->h_offset;
    }
    return (h < EDGELSTM_INT8_MIN) ? EDGELSTM_INT8_MIN : ((h > EDGELSTM_INT8_MAX) ? EDGELSTM_INT8_MAX : h);
}

void edgelstm_lstm_step_s8_s16(const edgelstm_lstm_params_s8_s16_t *p, const int8_t *x, const int8_t *h_in,
                               int8_t *h_out, int16_t *c, int16_t *gate_scratch)
{
    const int32_t n_units = p->units;
    edgelstm_rv32_prepared_t q;
    const int32_t ok = edgelstm_rv32_prepare(p, &q);
    const edgelstm_lstm_inputs_t in = edgelstm_lstm_widen_inputs(p, x, h_in, gate_scratch);
    int32_t u;
    EDGELSTM_DEBUG_ASSERT(ok);
    for (u = 0; u < n_units; u += 2) {
        /* units u and u + 1 (a last odd unit: u twice, the copy discarded) */
        const int32_t two = (u + 1 < n_units) ? 1 : 0;
        int32_t acc[16];
        edgelstm_rv32_dot2u(p, &in, u, two, acc);
        h_out[u] = (int8_t)edgelstm_rv32_unit(acc, acc + 8, &q, c + u);
        if (two) {
            h_out[u + 1] = (int8_t)edgelstm_rv32_unit(acc + 4, acc + 12, &q, c + u + 1);
        }
    }
}
#endif /* EDGELSTM_PATH_RV32 */
