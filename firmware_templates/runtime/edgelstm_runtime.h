/*
 * edgelstm_runtime.h - the static int8 runtime of edgelstm: parameter types and kernels.
 *
 * A flat C API in the style of CMSIS-NN: one kernel per source file, names that say the
 * element types (s8 = int8 activations, s16 = int16 cell state), every parameter prepared at
 * export time (edgelstm export-c) and stored const (flash). The kernels reproduce the Python
 * simulator (edgelstm/sim/) and so TensorFlow Lite Micro bit for bit.
 *
 * C99 (compiles as C++ too), no malloc, no recursion, no floating point, no global state: every
 * buffer is passed by the caller. The portable code is what runs everywhere; an optimised path
 * (e.g. SMLAD assembly on Cortex-M with __ARM_FEATURE_DSP) is a file of its own, compiled whole
 * or not at all as edgelstm_config.h chooses (edgelstm_lstm_step_s8_s16_<path>.c), behind this
 * same API.
 */
#ifndef EDGELSTM_RUNTIME_H
#define EDGELSTM_RUNTIME_H

#include <stdint.h>

#include "edgelstm_config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 2: blocked w + 128 recurrent weights; 3: LSTM weights as column pairs (edgelstm_config.h),
 * the step's scratch holds its widened inputs */
#define EDGELSTM_RUNTIME_VERSION 3

/* Defined by the LSTM kernel for the weight encoding it reads (edgelstm_config.h): the
 * generated parameters point at it, so a model and a runtime built for different paths do not
 * link. */
extern const int32_t EDGELSTM_LSTM_ENCODING;

/* clamp(MBQM(a * b, multiplier, shift) + offset, act_min, act_max)
 * (TFLM reference_integer_ops::MulElementwise, symmetric inputs). */
typedef struct {
    int32_t multiplier;
    int32_t shift;
    int32_t offset;
    int32_t act_min;
    int32_t act_max;
} edgelstm_mul_params_t;

/* One TFLM int8x8_16 UNIDIRECTIONAL_SEQUENCE_LSTM layer (lstm_eval.h LstmStep), prepared.
 * The four gates i, f, g (cell), o of each unit are stored together so one step makes one pass
 * over the weights and every input load serves four rows (edgelstm_dot_s8.h): weights_x holds,
 * unit after unit, the unit's rows as column pairs (4F bytes per unit; edgelstm_config.h: words
 * [i_j, g_j, i_k, g_k] [f_j, o_j, f_k, o_k], a last odd column as [i, g, f, o]; i and f bytes
 * w + 128, g and o bytes w or w + 128 as the path reads them); weights_h likewise with 4U bytes
 * per unit. The biases are unit-major: bias_x[4u + g], gates i, f, g, o. The zero points are
 * folded into the biases at export time (an exact integer identity, wrapped to int32 as the
 * simulator wraps the accumulator):
 *   bias_x = b - zp_x * rowsum(W)      bias_h = -zp_h * rowsum(U). */
typedef struct {
    int32_t units;                      /* U */
    int32_t input_size;                 /* F */
    const int8_t *weights_x;            /* (U, 4F) input weights, column pairs (above), 4-byte aligned */
    const int8_t *weights_h;            /* (U, 4U) recurrent weights, likewise */
    const int32_t *bias_x;              /* (U, 4) */
    const int32_t *bias_h;              /* (U, 4) */
    int32_t multiplier_x[4];            /* per gate: W x requantised to Q3.12 */
    int32_t shift_x[4];
    int32_t multiplier_h[4];            /* per gate: U h requantised to Q3.12 */
    int32_t shift_h[4];
    edgelstm_mul_params_t forget_mul;   /* f * c      -> c (int16) */
    edgelstm_mul_params_t input_mul;    /* i * g      -> c (int16) */
    edgelstm_mul_params_t output_mul;   /* tanh(c) * o -> h (int8, hidden zero point) */
    int32_t cell_clip;                  /* quantised cell clip, 0: none */
    int32_t tanh_multiplier;            /* reference_integer_ops::Tanh parameters for tanh(c) */
    int32_t tanh_left_shift;
    int32_t hidden_zero_point;          /* reset value of h */
    const int32_t *encoding;            /* &EDGELSTM_LSTM_ENCODING (link-time check) */
} edgelstm_lstm_params_s8_s16_t;

/* edgelstm's integer GRU layer (spec: edgelstm/sim/gru.py; docs/gru_spec.md), prepared.
 * Gates stacked in Keras' order z (update), r (reset), h (candidate): rows [0, U) are z,
 * [U, 2U) r, [2U, 3U) h, so one step makes one pass over each weight matrix. Multipliers and
 * shifts are per row (per-channel weights). The input zero point is folded into bias_x at
 * export time (bias_x = bx - zp_x * rowsum(W), wrapped to int32); the hidden input h8 has zero
 * point 0. State: h16 int16 Q0.15 and its int8 copy h8 (scale 2^-hidden_frac_bits, zero point
 * 0), the layer's output. */
typedef struct {
    int32_t units;                      /* U */
    int32_t input_size;                 /* F */
    int32_t reset_after;                /* 1: Keras reset_after=True, 0: reset_after=False */
    int32_t hidden_frac_bits;           /* k in [0, 15]: h8 = sat8(RDBP(h16, 15 - k)) */
    const int8_t *weights_x;            /* (3U, F) input weights: groups of 4 rows in the LSTM's
                                         *      unit layout and encoding (export-c gru_params) */
    const int8_t *weights_h;            /* (3U, U) recurrent weights: rows z, r, then h, each part
                                         *      as groups of 4 rows (zero rows pad each part) */
    const int32_t *bias_x;              /* (3U) */
    const int32_t *bias_h;              /* (3U) recurrent biases, or NULL: none (reset_after=0) */
    const int32_t *multiplier_x;        /* (3U) per row: W x -> Q3.12 */
    const int8_t *shift_x;              /* (3U) per row, in [-31, 31] */
    const int32_t *multiplier_h;        /* (3U) per row: U h8 (U (r h)8 for the candidate when
                                         *      reset_after=0) -> Q3.12 */
    const int8_t *shift_h;              /* (3U) per row, in [-31, 31] */
    edgelstm_mul_params_t reset_mul;    /* r * (U_h h8 + bh_h) -> Q3.12 (reset_after) */
    const int32_t *encoding;            /* &EDGELSTM_LSTM_ENCODING (link-time check, as the LSTM's) */
} edgelstm_gru_params_s8_s16_t;

/* int8 fully connected (TFLM reference_integer_ops::FullyConnected[PerChannel]):
 * y = clamp(MBQM(W x + bias, m, s) + output_offset, act_min, act_max), with the input zero
 * point folded into bias (bias + input_offset * rowsum(W), wrapped to int32). */
typedef struct {
    int32_t in_features;
    int32_t out_features;
    const int8_t *weights;              /* (out, in), row major */
    const int32_t *bias;                /* (out) */
    const int32_t *multipliers;         /* (out) per channel, or NULL: multiplier/shift below */
    const int32_t *shifts;              /* (out) per channel, or NULL */
    int32_t multiplier;
    int32_t shift;
    int32_t output_offset;
    int32_t act_min;
    int32_t act_max;
} edgelstm_fc_params_s8_t;

/* TFLM int8 softmax (reference_ops::Softmax; output scale 1/256, zero point -128). */
typedef struct {
    int32_t input_multiplier;
    int32_t input_left_shift;
    int32_t diff_min;
} edgelstm_softmax_params_s8_t;

/* int8 -> int8 rescale (TFLM QUANTIZE between int8 tensors, Requantize). */
typedef struct {
    int32_t input_zero_point;
    int32_t output_zero_point;
    int32_t multiplier;
    int32_t shift;
} edgelstm_requantize_params_s8_t;

/* ---- LSTM (edgelstm_lstm_step_s8_s16[_<path>].c, edgelstm_lstm_s8_s16.c) ---------------- */

/* h = hidden zero point, c = 0 (TFLM's state after MicroInterpreter::Reset()). */
void edgelstm_lstm_reset_s8_s16(const edgelstm_lstm_params_s8_s16_t *p, int8_t *h, int16_t *c);

/* One time step. x: (F), h_in: (U), h_out: (U) may be h_in (updated in place), c: (U) updated
 * in place, gate_scratch: int16 work buffer of max(4U, 2(F + U) + 1) elements (the step widens
 * x and h into it). */
void edgelstm_lstm_step_s8_s16(const edgelstm_lstm_params_s8_s16_t *p, const int8_t *x, const int8_t *h_in,
                               int8_t *h_out, int16_t *c, int16_t *gate_scratch);

/* A whole sequence from the reset state: x (T, F) -> y (T, U); h (U), c (U), gate_scratch
 * (as for the step) are work buffers. y must not overlap x. */
void edgelstm_lstm_s8_s16(const edgelstm_lstm_params_s8_s16_t *p, const int8_t *x, int32_t time_steps, int8_t *y,
                          int8_t *h, int16_t *c, int16_t *gate_scratch);

/* ---- GRU (edgelstm_gru_step_s8_s16.c, edgelstm_gru_s8_s16.c) ---------------------------- */

/* h8 = 0, h16 = 0 (the state before the first frame). */
void edgelstm_gru_reset_s8_s16(const edgelstm_gru_params_s8_s16_t *p, int8_t *h8, int16_t *h16);

/* One time step. x: (F); h8: (U) int8 output state, h16: (U) int16 Q0.15 state, both updated
 * in place (h8 must not overlap x); scratch: int16 work buffer of max(4U, 5U + 2 max(F, U) + 1)
 * elements (export-c scratch_int16). */
void edgelstm_gru_step_s8_s16(const edgelstm_gru_params_s8_s16_t *p, const int8_t *x, int8_t *h8, int16_t *h16,
                              int16_t *scratch);

/* A whole sequence from the reset state: x (T, F) -> y (T, U); h8 (U), h16 (U), scratch (as
 * for the step) are work buffers. y must not overlap x. */
void edgelstm_gru_s8_s16(const edgelstm_gru_params_s8_s16_t *p, const int8_t *x, int32_t time_steps, int8_t *y,
                         int8_t *h8, int16_t *h16, int16_t *scratch);

/* ---- head and glue ops -------------------------------------------------------------------- */

/* rows independent input vectors x (rows, in) -> y (rows, out) (edgelstm_fully_connected_s8.c). */
void edgelstm_fully_connected_s8(const edgelstm_fc_params_s8_t *p, const int8_t *x, int32_t rows, int8_t *y);

/* Softmax over the last axis: x, y (rows, depth); y may be x (edgelstm_softmax_s8.c). */
void edgelstm_softmax_s8(const edgelstm_softmax_params_s8_t *p, const int8_t *x, int32_t rows, int32_t depth,
                         int8_t *y);

/* Element-wise rescale of n values; y may be x (edgelstm_requantize_s8.c). */
void edgelstm_requantize_s8(const edgelstm_requantize_params_s8_t *p, const int8_t *x, int32_t n, int8_t *y);

/* Reverse the time axis of x (T, F) into y (T, F); y must not overlap x (edgelstm_reverse_time_s8.c). */
void edgelstm_reverse_time_s8(const int8_t *x, int32_t time_steps, int32_t features, int8_t *y);

/* Concatenation along the last axis, one input at a time: copy x (rows, depth) into columns
 * [offset, offset + depth) of y (rows, y_depth) (edgelstm_concat_s8.c). */
void edgelstm_concat_s8(const int8_t *x, int32_t rows, int32_t depth, int8_t *y, int32_t y_depth, int32_t offset);

/* Copy n bytes (time slice, reshape) (edgelstm_copy_s8.c). */
void edgelstm_copy_s8(const int8_t *x, int32_t n, int8_t *y);

/* Index of the first largest value of x (n >= 1) (edgelstm_argmax_s8.c). */
int32_t edgelstm_argmax_s8(const int8_t *x, int32_t n);

#ifdef __cplusplus
}
#endif

#endif /* EDGELSTM_RUNTIME_H */
