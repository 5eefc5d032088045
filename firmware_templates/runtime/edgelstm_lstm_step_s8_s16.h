/*
 * edgelstm_lstm_step_s8_s16.h - what the files of the LSTM step share (internal header).
 *
 * The step exists once per path (edgelstm_config.h chooses the path, and only there):
 *
 *   edgelstm_lstm_step_s8_s16.c          reset, the weight encoding, the portable C step
 *   edgelstm_lstm_step_s8_s16_dsp.c      the step on EDGELSTM_PATH_DSP    (Cortex-M4 / M33 / M7)
 *   edgelstm_lstm_step_s8_s16_armv6m.c   the step on EDGELSTM_PATH_ARMV6M (Cortex-M0 / M0+)
 *   edgelstm_lstm_step_s8_s16_sse2.c     the step on EDGELSTM_PATH_SSE2   (x86)
 *
 * Each file is compiled whole when its path is chosen and is empty otherwise, and defines
 * edgelstm_lstm_step_s8_s16() for its path (as TFLM's optimised kernels replace the reference
 * kernel's Eval): one call, no dispatch. Every path does the same three things per step:
 *
 *   1. edgelstm_lstm_prepare: the numbers that do not depend on the unit (below);
 *   2. edgelstm_lstm_widen_inputs: x and the old h widened once into the scratch buffer;
 *   3. its unit loop: per unit the four gate rows, the eight gate requantisations, the
 *      activations, the cell and the hidden update (edgelstm_lstm_step_s8_s16.c explains it).
 */
#ifndef EDGELSTM_LSTM_STEP_S8_S16_H
#define EDGELSTM_LSTM_STEP_S8_S16_H

#include <stdint.h>

#include "edgelstm_runtime.h"
#include "edgelstm_fixedpoint.h"
#include "edgelstm_dot_s8.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The requantiser of this build's arithmetic: sat16(MBQM(x, m, shift)) with a 64-bit product
 * (edgelstm_rq16; the DSP assembly reads its 4 words) or, under EDGELSTM_NO_MUL64 (ARMv6-M), from
 * 16 x 16 partial products (edgelstm_rq16_muls; the ARMv6-M assembly reads its 6 words). */
#if defined(EDGELSTM_NO_MUL64)
typedef edgelstm_rq16_muls_t edgelstm_lstm_rq_t;

static inline int32_t edgelstm_lstm_rq_prepare(int32_t multiplier, int32_t shift, edgelstm_lstm_rq_t *q)
{
    return edgelstm_rq16_muls_prepare(multiplier, shift, q);
}

static inline int32_t edgelstm_lstm_rq(int32_t x, const edgelstm_lstm_rq_t *q)
{
    return edgelstm_rq16_muls(x, q);
}
#else
typedef edgelstm_rq16_t edgelstm_lstm_rq_t;

static inline int32_t edgelstm_lstm_rq_prepare(int32_t multiplier, int32_t shift, edgelstm_lstm_rq_t *q)
{
    return edgelstm_rq16_prepare(multiplier, shift, q);
}

static inline int32_t edgelstm_lstm_rq(int32_t x, const edgelstm_lstm_rq_t *q)
{
    return edgelstm_rq16(x, q);
}
#endif

/* The numbers of a step that do not depend on the unit, named by what they requantise (TFLM
 * builds their like once, in the OpData of its Prepare). Here the layer's parameters are const
 * data (flash) and the runtime keeps no state between calls, so every path rebuilds them at the
 * start of each step, in this one function, from the const parameters: 11 requantisers of a
 * few instructions each (about 1% of the radar LSTM's step on the Cortex-M4). The scalars come
 * first: the ARMv6-M assembly reads them with LDR's 5-bit word offset (edgelstm_lstm_m0_t). */
typedef struct {
    int32_t clip_lo;                 /* the quantised cell clip (TFLM: when cell_clip > 0), */
    int32_t clip_hi;                 /*      otherwise the int16 range */
    edgelstm_tanh_in_t tanh_in;      /* tanh(c)'s input: wrap(c * k + r) >> s */
    int32_t h_offset;                /* the hidden zero point */
    edgelstm_lstm_rq_t gate_x[4];    /* gates i f g o, input side:     W x + bx -> Q3.12 */
    edgelstm_lstm_rq_t gate_h[4];    /* gates i f g o, recurrent side: U h + bh -> Q3.12 */
    edgelstm_lstm_rq_t cell_forget;  /* f * c       -> the int16 cell */
    edgelstm_lstm_rq_t cell_input;   /* i * g       -> the int16 cell */
    edgelstm_lstm_rq_t hidden;       /* tanh(c) * o -> the int8 hidden state (before h_offset) */
} edgelstm_lstm_prepared_t;

/* Fills *q from p; returns 1, or 0 when a multiplier is outside {0} and [2^30, 2^31), which
 * the requantisers do not handle (export-c refuses such models: edgelstm/codegen/graph.py; the
 * steps check the result with EDGELSTM_DEBUG_ASSERT, edgelstm_config.h). */
static inline int32_t edgelstm_lstm_prepare(const edgelstm_lstm_params_s8_s16_t *p, edgelstm_lstm_prepared_t *q)
{
    int32_t ok = 1;
    int32_t g;
    for (g = 0; g < 4; ++g) {
        ok &= edgelstm_lstm_rq_prepare(p->multiplier_x[g], p->shift_x[g], &q->gate_x[g]);
        ok &= edgelstm_lstm_rq_prepare(p->multiplier_h[g], p->shift_h[g], &q->gate_h[g]);
    }
    ok &= edgelstm_lstm_rq_prepare(p->forget_mul.multiplier, p->forget_mul.shift, &q->cell_forget);
    ok &= edgelstm_lstm_rq_prepare(p->input_mul.multiplier, p->input_mul.shift, &q->cell_input);
    ok &= edgelstm_lstm_rq_prepare(p->output_mul.multiplier, p->output_mul.shift, &q->hidden);
    q->clip_lo = (p->cell_clip > 0) ? -p->cell_clip : EDGELSTM_INT16_MIN;
    q->clip_hi = (p->cell_clip > 0) ? p->cell_clip : EDGELSTM_INT16_MAX;
    q->tanh_in = edgelstm_tanh_in_prepare(p->tanh_multiplier, p->tanh_left_shift);
    q->h_offset = p->output_mul.offset;
    return ok;
}

/* The step's inputs, widened once into the scratch buffer in the form the path's dot products
 * read (edgelstm_dot_s8.h edgelstm_widen_s8), and -128 times their sums: the correction of the
 * rows stored as w + 128, sum (w + 128) v - 128 sum v = sum w v (the rows i and f, and g and o
 * unless the encoding is paired; edgelstm_config.h). */
typedef struct {
    const uint32_t *xw;
    const uint32_t *hw;
    int32_t corr_x;
    int32_t corr_h;
} edgelstm_lstm_inputs_t;

static inline edgelstm_lstm_inputs_t edgelstm_lstm_widen_inputs(const edgelstm_lstm_params_s8_s16_t *p,
                                                                const int8_t *x, const int8_t *h_in,
                                                                int16_t *gate_scratch)
{
    /* 4-byte aligned in the int16 scratch (export-c sizes it for both vectors and the shift) */
    uint32_t *xw = (uint32_t *)(void *)((int8_t *)gate_scratch + (((uintptr_t)gate_scratch) & 2u));
    edgelstm_lstm_inputs_t in;
    uint32_t *hw = edgelstm_widen_s8(x, p->input_size, xw, &in.corr_x);
    (void)edgelstm_widen_s8(h_in, p->units, hw, &in.corr_h);
    in.xw = xw;
    in.hw = hw;
    in.corr_x *= -128;
    in.corr_h *= -128;
    return in;
}

#ifdef __cplusplus
}
#endif

#endif /* EDGELSTM_LSTM_STEP_S8_S16_H */
