/*
 * edgelstm_lstm_step_s8_s16.c - one time step of TFLM's int8x8_16 LSTM.
 *
 * tflite-micro kernels/lstm_eval.h LstmStep (and CMSIS-NN arm_nn_lstm_step_s8), mirrored by
 * edgelstm/sim/lstm.py run_lstm:
 *
 *   pre_g = sat16( sat16(MBQM(W_g x + bx_g, Mx_g)) + sat16(MBQM(U_g h + bh_g, Mh_g)) )   Q3.12
 *   i, f, o = sigmoid(pre)   g = tanh(pre)                                               Q0.15
 *   c = sat16(MBQM(f * c));  c = sat16(c + sat16(MBQM(i * g)));  clip to +-cell_clip      int16
 *   h = clamp8(MBQM(tanh(c) * o) + zp_h)                                                 int8
 *
 * Two separate requantisations per gate (input and recurrent), as TFLM's CalculateLstmGate.
 * The zero points are already in bias_x / bias_h; accumulator + bias wraps to int32 exactly as
 * the simulator's wrap_int32(acc) does.
 *
 * Order of work (the values are TFLM's; only the schedule differs):
 *   1. x and the old h are widened once into the scratch buffer (edgelstm_dot_s8.h
 *      edgelstm_widen_s8, the form each path's dot product reads best), with their sums for
 *      the w + 128 correction;
 *   2. unit by unit: the four gate rows of the unit (stored together as column pairs,
 *      edgelstm_config.h) go through the widened x and h, so every input load serves four rows;
 *      the eight requantisations, the activations, the cell and the hidden update of the unit
 *      follow while everything is in registers. h_out is written unit by unit: the old h is
 *      read from its widened copy only, so h_out may alias h_in.
 */
#include "edgelstm_runtime.h"
#include "edgelstm_fixedpoint.h"
#include "edgelstm_dot_s8.h"

#include <stddef.h>

/* The weight encoding these kernels read (edgelstm_config.h); NAME_model.c refers to it. */
const int32_t EDGELSTM_LSTM_ENCODING = EDGELSTM_LSTM_PAIRED;

void edgelstm_lstm_reset_s8_s16(const edgelstm_lstm_params_s8_s16_t *p, int8_t *h, int16_t *c)
{
    int32_t u;
    for (u = 0; u < p->units; ++u) {
        h[u] = (int8_t)p->hidden_zero_point;
        c[u] = 0;
    }
}

#if defined(EDGELSTM_PATH_DSP) && defined(__OPTIMIZE__) && (defined(__GNUC__) || defined(__clang__))
#define EDGELSTM_LSTM_ASM_DSP 1
/* ---- the DSP path: the whole unit loop in one block of assembly ------------------------------
 *
 * For every parameter set export-c accepts (graph.py: LSTM multipliers 0 or >= 2^30, int16
 * cell products without offset, int8 hidden output). Per unit:
 *   - each side (x, then h): the 4 rows' sums, 16 multiply-accumulates in 16 instructions
 *     (edgelstm_dot_s8.h), bias and w + 128 correction folded in, the g and o sums decoded
 *     (rows of 512 columns or more, and rows of fewer than 4, take a loop of chunks at the end);
 *   - 8 requantisations of 7 instructions + an LDM of their 4 prepared words (edgelstm_rqu16),
 *     the sides packed in pairs and added with QADD16: TFLM's sat16(sat16(x side) + sat16(h side));
 *   - sigmoid / tanh by SMLAD table interpolation (edgelstm_sigmoid_q15_dsp,
 *     edgelstm_tanh_q15_dsp), the cell and hidden updates with 3 more requantisations.
 * Every operand lives in the context below (lr points at it): the dot products need the other
 * 13 registers. The C formulas of these steps are in edgelstm_fixedpoint.h (checked on every
 * input by tests/test_c_paths.py); tests/test_qemu.py and test_c_paths.py check this code end
 * to end on the Cortex-M4 and M33. */
typedef struct {
    const uint8_t *wx;      /* the unit's input rows (advanced unit by unit) */
    const uint8_t *wh;
    const int32_t *bx;
    const int32_t *bh;
    const uint32_t *xw;     /* widened x and h */
    const uint32_t *hw;
    int16_t *c;
    int8_t *h;
    int32_t units_left;
    int32_t nbx1;           /* 4-column blocks of x if 1..127 (one chunk), else 0: the chunk loop */
    int32_t nbx;            /* 4-column blocks of x, its last n % 4 columns */
    int32_t kx;
    int32_t nbh1;
    int32_t nbh;
    int32_t kh;
    int32_t corr_x;         /* -128 sum x, -128 sum h */
    int32_t corr_h;
    const uint16_t *table;
    int32_t clip_lo;
    int32_t clip_hi;
    int32_t tanh_k;         /* tanh(c)'s input: wrap(c * k + r) >> s (edgelstm_tanh_in) */
    int32_t tanh_r;
    int32_t tanh_s;
    int32_t h_offset;
    uint32_t spill[2];      /* the x side's requantised gates while the h side runs */
    int32_t go[2];          /* chunk loop: g and o sums so far, blocks left */
    int32_t rem;
    edgelstm_rqu_t q[11];   /* gate sides x i f g o, h i f g o; f*c, i*g, tanh(c)*o */
} edgelstm_lstm_dsp_t;

static void edgelstm_lstm_dsp_prepare(const edgelstm_lstm_params_s8_s16_t *p, edgelstm_lstm_dsp_t *d)
{
    int32_t g;
    edgelstm_tanh_in_t t;
    for (g = 0; g < 4; ++g) {
        (void)edgelstm_rqu_prepare(p->multiplier_x[g], p->shift_x[g], &d->q[g]);
        (void)edgelstm_rqu_prepare(p->multiplier_h[g], p->shift_h[g], &d->q[4 + g]);
    }
    (void)edgelstm_rqu_prepare(p->forget_mul.multiplier, p->forget_mul.shift, &d->q[8]);
    (void)edgelstm_rqu_prepare(p->input_mul.multiplier, p->input_mul.shift, &d->q[9]);
    (void)edgelstm_rqu_prepare(p->output_mul.multiplier, p->output_mul.shift, &d->q[10]);
    d->wx = (const uint8_t *)p->weights_x;
    d->wh = (const uint8_t *)p->weights_h;
    d->bx = p->bias_x;
    d->bh = p->bias_h;
    d->units_left = p->units;
    d->nbx = p->input_size >> 2;
    d->nbx1 = (d->nbx <= EDGELSTM_PAIRED_CHUNK_BLOCKS) ? d->nbx : 0;
    d->kx = p->input_size & 3;
    d->nbh = p->units >> 2;
    d->nbh1 = (d->nbh <= EDGELSTM_PAIRED_CHUNK_BLOCKS) ? d->nbh : 0;
    d->kh = p->units & 3;
    d->table = edgelstm_sigmoid_table_uint16;
    d->clip_lo = (p->cell_clip > 0) ? -p->cell_clip : EDGELSTM_INT16_MIN;
    d->clip_hi = (p->cell_clip > 0) ? p->cell_clip : EDGELSTM_INT16_MAX;
    t = edgelstm_tanh_in_prepare(p->tanh_multiplier, p->tanh_left_shift);
    d->tanh_k = t.k;
    d->tanh_r = t.r;
    d->tanh_s = t.s;
    d->h_offset = p->output_mul.offset;
}

/* One side's 4 row sums into r4..r7 (gates i f g o); W V B C NB1 NB K are context offsets,
 * LR / LB the labels of its chunk loop (after the unit loop) and of its return point. */
#define EL_DOT_SIDE(W, V, B, C, NB1, K, LR, LB)                                                     \
    "ldr     r0, [lr, #%c[" W "]]\n\t"                                                              \
    "ldr     r1, [lr, #%c[" V "]]\n\t"                                                              \
    "ldr     r8, [lr, #%c[" B "]]\n\t"                                                              \
    "ldr     r9, [lr, #%c[" C "]]\n\t"                                                              \
    "ldrd    r4, r5, [r8], #16\n\t"                 /* b_i, b_f; bias of the next unit */            \
    "str     r8, [lr, #%c[" B "]]\n\t"                                                              \
    "add     r4, r4, r9\n\t"                        /* + -128 sum v: the offset rows */              \
    "add     r5, r5, r9\n\t"                                                                        \
    "mov     r6, r4\n\t"                            /* raw sums start where i and f start */         \
    "mov     r7, r5\n\t"                                                                            \
    "ldr     r12, [lr, #%c[" NB1 "]]\n\t"                                                           \
    "cmp     r12, #0\n\t"                                                                           \
    "beq     " LR "f\n"                                                                             \
    "2:\n\t"                                                                                        \
    "ldmia   r1!, {r2, r3}\n\t"                     /* (v0, v1) (v2, v3) */                          \
    "ldmia   r0!, {r8, r9, r10, r11}\n\t"           /* [i g i g] [f o f o] x 2 column pairs */       \
    "smlad   r6, r8, r2, r6\n\t"                                                                    \
    "uxtb16  r8, r8\n\t"                                                                            \
    "smlad   r4, r8, r2, r4\n\t"                                                                    \
    "smlad   r7, r9, r2, r7\n\t"                                                                    \
    "uxtb16  r9, r9\n\t"                                                                            \
    "smlad   r5, r9, r2, r5\n\t"                                                                    \
    "smlad   r6, r10, r3, r6\n\t"                                                                   \
    "uxtb16  r10, r10\n\t"                                                                          \
    "smlad   r4, r10, r3, r4\n\t"                                                                   \
    "smlad   r7, r11, r3, r7\n\t"                                                                   \
    "uxtb16  r11, r11\n\t"                                                                          \
    "smlad   r5, r11, r3, r5\n\t"                                                                   \
    "subs    r12, r12, #1\n\t"                                                                      \
    "bne     2b\n\t"                                                                                \
    "ldr     r8, [lr, #%c[" B "]]\n\t"                                                              \
    "ldrd    r10, r11, [r8, #-8]\n\t"               /* b_g, b_o */                                   \
    "sub     r6, r6, r4\n\t"                        /* 256 sum g v, 256 sum o v */                   \
    "sub     r7, r7, r5\n\t"                                                                        \
    "add     r6, r10, r6, asr #8\n\t"                                                               \
    "add     r7, r11, r7, asr #8\n"                                                                 \
    LB ":\n\t"                                                                                      \
    "ldr     r12, [lr, #%c[" K "]]\n\t"                                                             \
    "tst     r12, #2\n\t"                                                                           \
    "beq     4f\n\t"                                /* a last column pair: g, o sign-extended */     \
    "ldmia   r0!, {r8, r9}\n\t"                                                                     \
    "ldr     r2, [r1], #4\n\t"                                                                      \
    "uxtb16  r10, r8\n\t"                                                                           \
    "smlad   r4, r10, r2, r4\n\t"                                                                   \
    "sxtb16  r10, r8, ror #8\n\t"                                                                   \
    "smlad   r6, r10, r2, r6\n\t"                                                                   \
    "uxtb16  r10, r9\n\t"                                                                           \
    "smlad   r5, r10, r2, r5\n\t"                                                                   \
    "sxtb16  r10, r9, ror #8\n\t"                                                                   \
    "smlad   r7, r10, r2, r7\n"                                                                     \
    "4:\n\t"                                                                                        \
    "tst     r12, #1\n\t"                                                                           \
    "beq     5f\n\t"                                /* a last column [i g f o], input (v, 0) */      \
    "ldr     r8, [r0], #4\n\t"                                                                      \
    "ldr     r2, [r1]\n\t"                                                                          \
    "uxtb16  r10, r8\n\t"                                                                           \
    "smlabb  r4, r10, r2, r4\n\t"                                                                   \
    "smlatb  r5, r10, r2, r5\n\t"                                                                   \
    "sxtb16  r10, r8, ror #8\n\t"                                                                   \
    "smlabb  r6, r10, r2, r6\n\t"                                                                   \
    "smlatb  r7, r10, r2, r7\n"                                                                     \
    "5:\n\t"                                                                                        \
    "str     r0, [lr, #%c[" W "]]\n\t"

/* The chunk loop of a side (rows of 0 or more than 508 columns in blocks): entered at LR with
 * r4, r5 = i, f sums, leaves to LB with r6, r7 = g, o sums. */
#define EL_DOT_CHUNKS(B, NB, LR, LB)                                                                \
    LR ":\n\t"                                                                                      \
    "ldr     r8, [lr, #%c[" B "]]\n\t"                                                              \
    "ldrd    r6, r7, [r8, #-8]\n\t"                 /* b_g, b_o */                                   \
    "ldr     r12, [lr, #%c[" NB "]]\n"                                                              \
    "6:\n\t"                                                                                        \
    "cmp     r12, #0\n\t"                                                                           \
    "beq     " LB "b\n\t"                                                                           \
    "strd    r6, r7, [lr, #%c[o_go]]\n\t"                                                           \
    "cmp     r12, #127\n\t"                                                                         \
    "ite     hi\n\t"                                                                                \
    "subhi   r2, r12, #127\n\t"                                                                     \
    "movls   r2, #0\n\t"                                                                            \
    "it      hi\n\t"                                                                                \
    "movhi   r12, #127\n\t"                                                                         \
    "str     r2, [lr, #%c[o_rem]]\n\t"                                                              \
    "mov     r6, r4\n\t"                                                                            \
    "mov     r7, r5\n"                                                                              \
    "7:\n\t"                                                                                        \
    "ldmia   r1!, {r2, r3}\n\t"                                                                     \
    "ldmia   r0!, {r8, r9, r10, r11}\n\t"                                                           \
    "smlad   r6, r8, r2, r6\n\t"                                                                    \
    "uxtb16  r8, r8\n\t"                                                                            \
    "smlad   r4, r8, r2, r4\n\t"                                                                    \
    "smlad   r7, r9, r2, r7\n\t"                                                                    \
    "uxtb16  r9, r9\n\t"                                                                            \
    "smlad   r5, r9, r2, r5\n\t"                                                                    \
    "smlad   r6, r10, r3, r6\n\t"                                                                   \
    "uxtb16  r10, r10\n\t"                                                                          \
    "smlad   r4, r10, r3, r4\n\t"                                                                   \
    "smlad   r7, r11, r3, r7\n\t"                                                                   \
    "uxtb16  r11, r11\n\t"                                                                          \
    "smlad   r5, r11, r3, r5\n\t"                                                                   \
    "subs    r12, r12, #1\n\t"                                                                      \
    "bne     7b\n\t"                                                                                \
    "ldrd    r2, r3, [lr, #%c[o_go]]\n\t"                                                           \
    "sub     r6, r6, r4\n\t"                                                                        \
    "sub     r7, r7, r5\n\t"                                                                        \
    "add     r6, r2, r6, asr #8\n\t"                                                                \
    "add     r7, r3, r7, asr #8\n\t"                                                                \
    "ldr     r12, [lr, #%c[o_rem]]\n\t"                                                             \
    "b       6b\n\t"

/* sat16(MBQM(X)) in place with the next prepared side at r12 (edgelstm_rqu16); T1, T2 temps. */
#define EL_RQ(X, T1, T2)                                                                            \
    "ldmia   r12!, {r8, r9, r10, r11}\n\t"          /* 2m - 2^32, left, fmask, e */                  \
    "lsl     " X ", " X ", r9\n\t"                                                                  \
    "smmlar  " T1 ", " X ", r8, " X "\n\t"          /* SRDHM */                                      \
    "and     " T2 ", r10, " X ", asr #31\n\t"                                                       \
    "adds    " T1 ", " T1 ", " T2 "\n\t"                                                            \
    "asrs    " T1 ", " T1 ", r11\n\t"               /* RDBP: the carry is bit e - 1 */               \
    "adc     " T1 ", " T1 ", #0\n\t"                                                                \
    "ssat    " X ", #16, " T1 "\n\t"

/* OUT = sigmoid(IN / 3) (IN = 3 x, x in Q3.12; OUT in Q0.15); r12 table, r10 = 2^25 + 2^9;
 * r1, r8, r9 temps (edgelstm_sigmoid_q15_dsp). */
#define EL_SIGMOID(IN, OUT)                                                                         \
    "eor     r1, " IN ", " IN ", asr #31\n\t"                                                       \
    "sub     r1, r1, " IN ", asr #31\n\t"           /* a = |in| */                                   \
    "lsr     r8, r1, #9\n\t"                                                                        \
    "ldr     r8, [r12, r8, lsl #1]\n\t"             /* (ua, ub) */                                   \
    "ubfx    r1, r1, #0, #9\n\t"                                                                    \
    "rsb     r9, r1, #512\n\t"                                                                      \
    "orr     r9, r9, r1, lsl #16\n\t"               /* (512 - t, t) */                               \
    "smlad   r8, r8, r9, r10\n\t"                                                                   \
    "asr     " OUT ", r8, #10\n\t"                                                                  \
    "cmp     " IN ", #0\n\t"                                                                        \
    "it      lt\n\t"                                                                                \
    "rsblt   " OUT ", " OUT ", #32768\n\t"

/* OUT = tanh of the input IN (edgelstm_tanh_q15_dsp); r12 table, r10 = 2^23 + 2^7; r1, r8, r9
 * temps. */
#define EL_TANH(IN, OUT)                                                                            \
    "eor     r1, " IN ", " IN ", asr #31\n\t"                                                       \
    "sub     r1, r1, " IN ", asr #31\n\t"                                                           \
    "cmp     r1, #0xFF00\n\t"                       /* |in| >= 255 * 256: TFLM's 32767 */            \
    "it      hs\n\t"                                                                                \
    "movwhs  r1, #65279\n\t"                                                                        \
    "lsr     r8, r1, #8\n\t"                                                                        \
    "ldr     r8, [r12, r8, lsl #1]\n\t"                                                             \
    "uxtb    r1, r1\n\t"                                                                            \
    "rsb     r9, r1, #256\n\t"                                                                      \
    "orr     r9, r9, r1, lsl #16\n\t"                                                               \
    "smlad   r8, r8, r9, r10\n\t"                                                                   \
    "asr     r8, r8, #8\n\t"                                                                        \
    "eor     r8, r8, " IN ", asr #31\n\t"                                                           \
    "sub     " OUT ", r8, " IN ", asr #31\n\t"

#define EL_OFF(field) "i"(offsetof(edgelstm_lstm_dsp_t, field))

#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static void edgelstm_lstm_units_dsp(edgelstm_lstm_dsp_t *ctx)
{
    __asm__ volatile(
        "ldr     lr, %[ctx]\n"
        "1:\n\t"
        /* ---- input side: sums, requantised, packed (i, f) (g, o) and kept in the context ---- */
        EL_DOT_SIDE("o_wx", "o_xw", "o_bx", "o_cx", "o_nbx1", "o_kx", "71", "72")
        "add     r12, lr, #%c[o_q]\n\t"
        EL_RQ("r4", "r0", "r1")
        EL_RQ("r5", "r0", "r1")
        EL_RQ("r6", "r0", "r1")
        EL_RQ("r7", "r0", "r1")
        "pkhbt   r2, r4, r5, lsl #16\n\t"
        "pkhbt   r3, r6, r7, lsl #16\n\t"
        "strd    r2, r3, [lr, #%c[o_spill]]\n\t"
        /* ---- recurrent side, then the gates sat16(x side + h side) ---- */
        EL_DOT_SIDE("o_wh", "o_hw", "o_bh", "o_ch", "o_nbh1", "o_kh", "81", "82")
        "add     r12, lr, #%c[o_q4]\n\t"
        EL_RQ("r4", "r0", "r1")
        EL_RQ("r5", "r0", "r1")
        EL_RQ("r6", "r0", "r1")
        EL_RQ("r7", "r0", "r1")
        "pkhbt   r4, r4, r5, lsl #16\n\t"
        "pkhbt   r6, r6, r7, lsl #16\n\t"
        "ldrd    r2, r3, [lr, #%c[o_spill]]\n\t"
        "qadd16  r2, r2, r4\n\t"                    /* (pre_i, pre_f) */
        "qadd16  r3, r3, r6\n\t"                    /* (pre_g, pre_o) */
        /* ---- activations: i r4, f r5, g r6, o r7 ---- */
        "ldr     r12, [lr, #%c[o_table]]\n\t"
        "mov     r11, #3\n\t"
        "mov     r10, #0x02000200\n\t"
        "smulbb  r0, r2, r11\n\t"
        EL_SIGMOID("r0", "r4")
        "smultb  r0, r2, r11\n\t"
        EL_SIGMOID("r0", "r5")
        "smultb  r0, r3, r11\n\t"
        EL_SIGMOID("r0", "r7")
        "mov     r10, #0x00800080\n\t"
        "smulbb  r0, r3, r11\n\t"
        EL_TANH("r0", "r6")
        /* ---- c = clip(sat16(f*c + i*g)), h = sat8(tanh(c) * o + zero point) ---- */
        "ldr     r3, [lr, #%c[o_c]]\n\t"
        "ldrsh   r2, [r3]\n\t"
        "mul     r2, r5, r2\n\t"
        "add     r12, lr, #%c[o_q8]\n\t"
        EL_RQ("r2", "r0", "r1")
        "mul     r4, r4, r6\n\t"
        EL_RQ("r4", "r0", "r1")
        "add     r2, r2, r4\n\t"
        "ssat    r2, #16, r2\n\t"
        "ldrd    r0, r1, [lr, #%c[o_clip]]\n\t"
        "cmp     r2, r0\n\t"
        "it      lt\n\t"
        "movlt   r2, r0\n\t"
        "cmp     r2, r1\n\t"
        "it      gt\n\t"
        "movgt   r2, r1\n\t"
        "strh    r2, [r3], #2\n\t"
        "str     r3, [lr, #%c[o_c]]\n\t"
        "ldrd    r0, r1, [lr, #%c[o_tanhk]]\n\t"
        "mla     r2, r2, r0, r1\n\t"
        "ldr     r0, [lr, #%c[o_tanhs]]\n\t"
        "asr     r2, r2, r0\n\t"
        "ldr     r12, [lr, #%c[o_table]]\n\t"
        "mov     r10, #0x00800080\n\t"
        EL_TANH("r2", "r2")
        "mul     r2, r2, r7\n\t"
        "add     r12, lr, #%c[o_q10]\n\t"
        EL_RQ("r2", "r0", "r1")
        "ldr     r0, [lr, #%c[o_hoff]]\n\t"
        "add     r2, r2, r0\n\t"
        "ssat    r2, #8, r2\n\t"
        "ldr     r3, [lr, #%c[o_h]]\n\t"
        "strb    r2, [r3], #1\n\t"
        "str     r3, [lr, #%c[o_h]]\n\t"
        "ldr     r0, [lr, #%c[o_left]]\n\t"
        "subs    r0, r0, #1\n\t"
        "str     r0, [lr, #%c[o_left]]\n\t"
        "bne     1b\n\t"
        "b       9f\n\t"
        EL_DOT_CHUNKS("o_bx", "o_nbx", "71", "72")
        EL_DOT_CHUNKS("o_bh", "o_nbh", "81", "82")
        "9:\n\t"
        :
        : [ctx] "m"(ctx), [o_wx] EL_OFF(wx), [o_wh] EL_OFF(wh), [o_bx] EL_OFF(bx), [o_bh] EL_OFF(bh),
          [o_xw] EL_OFF(xw), [o_hw] EL_OFF(hw), [o_c] EL_OFF(c), [o_h] EL_OFF(h), [o_left] EL_OFF(units_left),
          [o_nbx1] EL_OFF(nbx1), [o_nbx] EL_OFF(nbx), [o_kx] EL_OFF(kx), [o_nbh1] EL_OFF(nbh1), [o_nbh] EL_OFF(nbh),
          [o_kh] EL_OFF(kh), [o_cx] EL_OFF(corr_x), [o_ch] EL_OFF(corr_h), [o_table] EL_OFF(table),
          [o_clip] EL_OFF(clip_lo), [o_tanhk] EL_OFF(tanh_k), [o_tanhs] EL_OFF(tanh_s), [o_hoff] EL_OFF(h_offset),
          [o_spill] EL_OFF(spill), [o_go] EL_OFF(go), [o_rem] EL_OFF(rem), [o_q] EL_OFF(q[0]), [o_q4] EL_OFF(q[4]),
          [o_q8] EL_OFF(q[8]), [o_q10] EL_OFF(q[10])
        : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory");
}

#elif defined(EDGELSTM_PATH_ARMV6M) && defined(__ARM_ARCH_6M__) && defined(__OPTIMIZE__) && \
    (defined(__GNUC__) || defined(__clang__))
#define EDGELSTM_LSTM_ASM_ARMV6M 1
/* ---- the ARMv6-M path (Cortex-M0/M0+): the whole unit loop in one block of assembly -------------
 *
 * The same schedule as the DSP path with the core's 16-bit instructions: per unit and side,
 * 16 multiply-accumulates in 52 instructions (one LDM of 4 widened inputs, LDRB + MULS + ADD
 * per weight, the accumulators in r8..r11); the requantisation is edgelstm_rqm16_c (16 x 16
 * MULS partial products, edgelstm_fixedpoint.h), its short form when the multiplier is 2^30
 * (the f*c and i*g products of every TFLM LSTM); sigmoid and tanh interpolate the table as
 * edgelstm_sigmoid_q15 / edgelstm_tanh_q15_in. Those four are local subroutines (BL / BX LR)
 * to keep the flash small. The context pointer lives in r12. */
typedef struct {
    const uint8_t *wx;      /*   0 the unit's input rows (advanced unit by unit) */
    const uint8_t *wh;      /*   4 */
    const int32_t *bx;      /*   8 */
    const int32_t *bh;      /*  12 */
    const uint32_t *xw;     /*  16 widened x and h */
    const uint32_t *hw;     /*  20 */
    int16_t *c;             /*  24 */
    int8_t *h;              /*  28 */
    int32_t units_left;     /*  32 */
    int32_t nbx16;          /*  36 bytes of x's 4-column blocks (16 per block), its last n % 4 */
    int32_t kx;             /*  40 */
    int32_t nbh16;          /*  44 */
    int32_t kh;             /*  48 */
    int32_t corr_x;         /*  52 -128 sum x, -128 sum h */
    int32_t corr_h;         /*  56 */
    const uint16_t *table;  /*  60 */
    int32_t clip_lo;        /*  64 */
    int32_t clip_hi;        /*  68 */
    int32_t tanh_k;         /*  72 tanh(c)'s input: wrap(c * k + r) >> s (edgelstm_tanh_in) */
    int32_t tanh_r;         /*  76 */
    int32_t tanh_s;         /*  80 */
    int32_t h_offset;       /*  84 */
    int32_t cell_m30;       /*  88 1: f*c and i*g have the multiplier 2^30 */
    int32_t spill[4];       /*  92 the x side's requantised gates while the h side runs */
    const edgelstm_rqm_t *q; /* 108 gate sides x i f g o, h i f g o; f*c, i*g, tanh(c)*o */
} edgelstm_lstm_m0_t;

static void edgelstm_lstm_m0_prepare(const edgelstm_lstm_params_s8_s16_t *p, edgelstm_lstm_m0_t *d,
                                     edgelstm_rqm_t q[11])
{
    int32_t g;
    edgelstm_tanh_in_t t;
    for (g = 0; g < 4; ++g) {
        (void)edgelstm_rqm_prepare(p->multiplier_x[g], p->shift_x[g], &q[g]);
        (void)edgelstm_rqm_prepare(p->multiplier_h[g], p->shift_h[g], &q[4 + g]);
    }
    (void)edgelstm_rqm_prepare(p->forget_mul.multiplier, p->forget_mul.shift, &q[8]);
    (void)edgelstm_rqm_prepare(p->input_mul.multiplier, p->input_mul.shift, &q[9]);
    (void)edgelstm_rqm_prepare(p->output_mul.multiplier, p->output_mul.shift, &q[10]);
    d->q = q;
    d->wx = (const uint8_t *)p->weights_x;
    d->wh = (const uint8_t *)p->weights_h;
    d->bx = p->bias_x;
    d->bh = p->bias_h;
    d->units_left = p->units;
    d->nbx16 = (p->input_size >> 2) * 16;
    d->kx = p->input_size & 3;
    d->nbh16 = (p->units >> 2) * 16;
    d->kh = p->units & 3;
    d->table = edgelstm_sigmoid_table_uint16;
    d->clip_lo = (p->cell_clip > 0) ? -p->cell_clip : EDGELSTM_INT16_MIN;
    d->clip_hi = (p->cell_clip > 0) ? p->cell_clip : EDGELSTM_INT16_MAX;
    t = edgelstm_tanh_in_prepare(p->tanh_multiplier, p->tanh_left_shift);
    d->tanh_k = t.k;
    d->tanh_r = t.r;
    d->tanh_s = t.s;
    d->h_offset = p->output_mul.offset;
    d->cell_m30 = (p->forget_mul.multiplier == 0x40000000 && p->input_mul.multiplier == 0x40000000) ? 1 : 0;
}

/* One weight byte at offset OFF times input register X into accumulator ACC (r4 temp). */
#define EL_M0_MAC(OFF, X, ACC)                                                                      \
    "ldrb    r4, [r5, #" OFF "]\n\t"                                                                \
    "muls    r4, " X ", r4\n\t"                                                                     \
    "add     " ACC ", r4\n\t"

/* One side's 4 row sums into r8..r11 (gates i f g o); r12 = context; W V B C NB16 K offsets. */
#define EL_M0_DOT_SIDE(W, V, B, C, NB16, K)                                                         \
    "mov     r7, r12\n\t"                                                                           \
    "ldr     r5, [r7, #%c[" W "]]\n\t"                                                              \
    "ldr     r6, [r7, #%c[" V "]]\n\t"                                                              \
    "ldr     r4, [r7, #%c[" NB16 "]]\n\t"                                                           \
    "adds    r4, r4, r6\n\t"                                                                        \
    "mov     lr, r4\n\t"                            /* end of the widened blocks */                  \
    "ldr     r4, [r7, #%c[" B "]]\n\t"                                                              \
    "ldmia   r4!, {r0, r1, r2, r3}\n\t"             /* b_i b_f b_g b_o */                            \
    "str     r4, [r7, #%c[" B "]]\n\t"                                                              \
    "ldr     r4, [r7, #%c[" C "]]\n\t"                                                              \
    "adds    r0, r0, r4\n\t"                        /* + -128 sum v (all bytes are w + 128) */       \
    "adds    r1, r1, r4\n\t"                                                                        \
    "adds    r2, r2, r4\n\t"                                                                        \
    "adds    r3, r3, r4\n\t"                                                                        \
    "mov     r8, r0\n\t"                                                                            \
    "mov     r9, r1\n\t"                                                                            \
    "mov     r10, r2\n\t"                                                                           \
    "mov     r11, r3\n\t"                                                                           \
    "cmp     r6, lr\n\t"                                                                            \
    "beq     3f\n"                                                                                  \
    "2:\n\t"                                                                                        \
    "ldmia   r6!, {r0, r1, r2, r3}\n\t"             /* v0 .. v3 */                                   \
    EL_M0_MAC("0", "r0", "r8") EL_M0_MAC("2", "r1", "r8") EL_M0_MAC("8", "r2", "r8")                \
    EL_M0_MAC("10", "r3", "r8") EL_M0_MAC("1", "r0", "r10") EL_M0_MAC("3", "r1", "r10")             \
    EL_M0_MAC("9", "r2", "r10") EL_M0_MAC("11", "r3", "r10") EL_M0_MAC("4", "r0", "r9")             \
    EL_M0_MAC("6", "r1", "r9") EL_M0_MAC("12", "r2", "r9") EL_M0_MAC("14", "r3", "r9")              \
    EL_M0_MAC("5", "r0", "r11") EL_M0_MAC("7", "r1", "r11") EL_M0_MAC("13", "r2", "r11")            \
    EL_M0_MAC("15", "r3", "r11")                                                                    \
    "adds    r5, #16\n\t"                                                                           \
    "cmp     r6, lr\n\t"                                                                            \
    "bne     2b\n"                                                                                  \
    "3:\n\t"                                                                                        \
    "ldr     r4, [r7, #%c[" K "]]\n\t"                                                              \
    "lsrs    r0, r4, #2\n\t"                        /* carry = bit 1: a last column pair */          \
    "bcc     4f\n\t"                                                                                \
    "ldmia   r6!, {r0, r1}\n\t"                                                                     \
    "mov     r3, r4\n\t"                                                                            \
    EL_M0_MAC("0", "r0", "r8") EL_M0_MAC("2", "r1", "r8") EL_M0_MAC("1", "r0", "r10")               \
    EL_M0_MAC("3", "r1", "r10") EL_M0_MAC("4", "r0", "r9") EL_M0_MAC("6", "r1", "r9")               \
    EL_M0_MAC("5", "r0", "r11") EL_M0_MAC("7", "r1", "r11")                                         \
    "mov     r4, r3\n\t"                                                                            \
    "adds    r5, #8\n"                                                                              \
    "4:\n\t"                                                                                        \
    "lsrs    r0, r4, #1\n\t"                        /* carry = bit 0: a last column [i g f o] */     \
    "bcc     5f\n\t"                                                                                \
    "ldmia   r6!, {r0}\n\t"                                                                         \
    EL_M0_MAC("0", "r0", "r8") EL_M0_MAC("1", "r0", "r10") EL_M0_MAC("2", "r0", "r9")               \
    EL_M0_MAC("3", "r0", "r11")                                                                     \
    "adds    r5, #4\n"                                                                              \
    "5:\n\t"                                                                                        \
    "str     r5, [r7, #%c[" W "]]\n\t"

/* r8..r11 requantised in place with the next 4 prepared sides at r7. */
#define EL_M0_RQ4                                                                                   \
    "mov     r0, r8\n\t"                                                                            \
    "bl      90f\n\t"                                                                               \
    "mov     r8, r0\n\t"                                                                            \
    "mov     r0, r9\n\t"                                                                            \
    "bl      90f\n\t"                                                                               \
    "mov     r9, r0\n\t"                                                                            \
    "mov     r0, r10\n\t"                                                                           \
    "bl      90f\n\t"                                                                               \
    "mov     r10, r0\n\t"                                                                           \
    "mov     r0, r11\n\t"                                                                           \
    "bl      90f\n\t"                                                                               \
    "mov     r11, r0\n\t"

/* r0 = sat16(r0); r1 temp. */
#define EL_M0_SAT16                                                                                 \
    "sxth    r1, r0\n\t"                                                                            \
    "cmp     r1, r0\n\t"                                                                            \
    "beq     8f\n\t"                                                                                \
    "asrs    r0, r0, #31\n\t"                                                                       \
    "movs    r1, #1\n\t"                                                                            \
    "lsls    r1, r1, #15\n\t"                                                                       \
    "subs    r1, r1, #1\n\t"                                                                        \
    "eors    r0, r1\n"                                                                              \
    "8:\n\t"

/* The requantisation after Z (both forms): r0 = Z, r4 = sign of x', r2 = fmask, r3 = e. */
#define EL_M0_RDBP_SAT                                                                              \
    "ands    r4, r2\n\t"                            /* RDBP's sign term */                           \
    "adds    r0, r0, r4\n\t"                        /* T; the carry is 0 when the term is */         \
    "asrs    r0, r3\n\t"                            /* by e: the carry is bit e - 1 */               \
    "movs    r1, #0\n\t"                                                                            \
    "adcs    r0, r1\n\t"                                                                            \
    EL_M0_SAT16                                                                                     \
    "bx      lr\n"

#define EL_M0_OFF(field) "i"(offsetof(edgelstm_lstm_m0_t, field))

#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static void edgelstm_lstm_units_m0(edgelstm_lstm_m0_t *ctx)
{
    __asm__ volatile(
        ".syntax unified\n\t"
        "ldr     r0, %[ctx]\n\t"
        "mov     r12, r0\n"
        "1:\n\t"
        /* ---- input side: sums, requantised, kept in the context ---- */
        EL_M0_DOT_SIDE("o_wx", "o_xw", "o_bx", "o_cx", "o_nbx", "o_kx")
        "mov     r7, r12\n\t"
        "ldr     r7, [r7, #%c[o_q]]\n\t"
        EL_M0_RQ4
        "mov     r7, r12\n\t"
        "mov     r0, r8\n\t"
        "str     r0, [r7, #%c[o_sp0]]\n\t"
        "mov     r0, r9\n\t"
        "str     r0, [r7, #%c[o_sp1]]\n\t"
        "mov     r0, r10\n\t"
        "str     r0, [r7, #%c[o_sp2]]\n\t"
        "mov     r0, r11\n\t"
        "str     r0, [r7, #%c[o_sp3]]\n\t"
        /* ---- recurrent side ---- */
        EL_M0_DOT_SIDE("o_wh", "o_hw", "o_bh", "o_ch", "o_nbh", "o_kh")
        "mov     r7, r12\n\t"
        "ldr     r7, [r7, #%c[o_q]]\n\t"
        "adds    r7, #96\n\t"
        EL_M0_RQ4
        /* ---- gates sat16(x side + h side), activations: i r8, f r9, g r10, o r11 ---- */
        "mov     r7, r12\n\t"
        "ldr     r6, [r7, #%c[o_table]]\n\t"
        "movs    r5, #1\n\t"
        "lsls    r5, r5, #9\n\t"
        "ldr     r0, [r7, #%c[o_sp0]]\n\t"
        "add     r0, r8\n\t"
        EL_M0_SAT16
        "bl      92f\n\t"
        "mov     r8, r0\n\t"
        "ldr     r0, [r7, #%c[o_sp1]]\n\t"
        "add     r0, r9\n\t"
        EL_M0_SAT16
        "bl      92f\n\t"
        "mov     r9, r0\n\t"
        "ldr     r0, [r7, #%c[o_sp3]]\n\t"
        "add     r0, r11\n\t"
        EL_M0_SAT16
        "bl      92f\n\t"
        "mov     r11, r0\n\t"
        "ldr     r0, [r7, #%c[o_sp2]]\n\t"
        "add     r0, r10\n\t"
        EL_M0_SAT16
        "lsls    r1, r0, #1\n\t"
        "adds    r0, r0, r1\n\t"                    /* the cell gate's Tanh input: 3 x */
        "bl      93f\n\t"
        "mov     r10, r0\n\t"
        /* ---- c = clip(sat16(f*c + i*g)) ---- */
        "ldr     r1, [r7, #%c[o_c]]\n\t"
        "movs    r2, #0\n\t"
        "ldrsh   r0, [r1, r2]\n\t"
        "mov     r2, r9\n\t"
        "muls    r0, r2, r0\n\t"                    /* f * c */
        "ldr     r1, [r7, #%c[o_m30]]\n\t"
        "ldr     r7, [r7, #%c[o_q]]\n\t"
        "adds    r7, #192\n\t"
        "cmp     r1, #0\n\t"
        "bne     20f\n\t"
        "bl      90f\n\t"
        "mov     r9, r0\n\t"
        "mov     r0, r8\n\t"
        "mov     r1, r10\n\t"
        "muls    r0, r1, r0\n\t"                    /* i * g */
        "bl      90f\n\t"
        "b       21f\n"
        "20:\n\t"
        "bl      91f\n\t"
        "mov     r9, r0\n\t"
        "mov     r0, r8\n\t"
        "mov     r1, r10\n\t"
        "muls    r0, r1, r0\n\t"
        "bl      91f\n"
        "21:\n\t"
        "add     r0, r9\n\t"
        EL_M0_SAT16
        "mov     r6, r12\n\t"
        "ldr     r1, [r6, #%c[o_clo]]\n\t"
        "cmp     r0, r1\n\t"
        "bge     22f\n\t"
        "mov     r0, r1\n"
        "22:\n\t"
        "ldr     r1, [r6, #%c[o_chi]]\n\t"
        "cmp     r0, r1\n\t"
        "ble     23f\n\t"
        "mov     r0, r1\n"
        "23:\n\t"
        "ldr     r1, [r6, #%c[o_c]]\n\t"
        "strh    r0, [r1]\n\t"
        "adds    r1, #2\n\t"
        "str     r1, [r6, #%c[o_c]]\n\t"
        /* ---- h = sat8(tanh(c) * o + zero point) ---- */
        "ldr     r1, [r6, #%c[o_tk]]\n\t"
        "muls    r0, r1, r0\n\t"
        "ldr     r1, [r6, #%c[o_tr]]\n\t"
        "adds    r0, r0, r1\n\t"
        "ldr     r1, [r6, #%c[o_ts]]\n\t"
        "asrs    r0, r1\n\t"
        "ldr     r6, [r6, #%c[o_table]]\n\t"
        "bl      93f\n\t"
        "mov     r1, r11\n\t"
        "muls    r0, r1, r0\n\t"
        "bl      90f\n\t"
        "mov     r6, r12\n\t"
        "ldr     r1, [r6, #%c[o_hoff]]\n\t"
        "adds    r0, r0, r1\n\t"
        "sxtb    r1, r0\n\t"
        "cmp     r1, r0\n\t"
        "beq     24f\n\t"
        "asrs    r0, r0, #31\n\t"
        "movs    r1, #127\n\t"
        "eors    r0, r1\n"
        "24:\n\t"
        "ldr     r1, [r6, #%c[o_h]]\n\t"
        "strb    r0, [r1]\n\t"
        "adds    r1, #1\n\t"
        "str     r1, [r6, #%c[o_h]]\n\t"
        "ldr     r0, [r6, #%c[o_left]]\n\t"
        "subs    r0, #1\n\t"
        "str     r0, [r6, #%c[o_left]]\n\t"
        "beq     97f\n\t"
        "b       1b\n"
        "97:\n\t"
        "b       99f\n"
        /* ---- 90: r0 = sat16(MBQM(r0)) with the prepared side at r7 (r7 += 24; r1..r6) ---- */
        "90:\n\t"
        "ldmia   r7!, {r2, r3, r4}\n\t"             /* mh, ml, left */
        "lsls    r0, r4\n\t"                        /* x' (a shift by 32 gives 0) */
        "asrs    r4, r0, #31\n\t"                   /* sign of x' */
        "sxth    r1, r0\n\t"
        "cmp     r1, r0\n\t"
        "bne     95f\n\t"
        /* |x'| < 2^15: Z = (x' mh + (x' ml >> 16) + 2^14) >> 15 (both products fit int32) */
        "muls    r1, r3, r1\n\t"                    /* x' ml */
        "asrs    r1, r1, #16\n\t"
        "muls    r0, r2, r0\n\t"                    /* x' mh */
        "adds    r0, r0, r1\n\t"
        "ldmia   r7!, {r2, r3, r5}\n\t"             /* fmask, e, 2^14 */
        "adds    r0, r0, r5\n\t"
        "asrs    r0, r0, #15\n\t"                   /* Z */
        EL_M0_RDBP_SAT
        "95:\n\t"
        "uxth    r1, r0\n\t"                        /* xl */
        "asrs    r0, r0, #16\n\t"                   /* xh */
        "movs    r6, r1\n\t"
        "muls    r6, r3, r6\n\t"                    /* xl ml */
        "lsrs    r6, r6, #16\n\t"
        "muls    r3, r0, r3\n\t"                    /* xh ml */
        "adds    r3, r3, r6\n\t"                    /* t */
        "uxth    r6, r3\n\t"
        "asrs    r3, r3, #16\n\t"
        "muls    r1, r2, r1\n\t"                    /* xl mh */
        "adds    r1, r1, r6\n\t"                    /* w1 */
        "muls    r0, r2, r0\n\t"                    /* xh mh */
        "adds    r0, r0, r3\n\t"
        "lsls    r0, r0, #1\n\t"
        "ldmia   r7!, {r2, r3, r5}\n\t"             /* fmask, e, 2^14 */
        "adds    r1, r1, r5\n\t"
        "lsrs    r1, r1, #15\n\t"
        "adds    r0, r0, r1\n\t"                    /* Z */
        EL_M0_RDBP_SAT
        /* ---- 91: the same for the multiplier 2^30: Z = floor((x' + 1) / 2) ---- */
        "91:\n\t"
        "ldmia   r7!, {r2, r3, r4}\n\t"
        "lsls    r0, r4\n\t"
        "asrs    r4, r0, #31\n\t"
        "asrs    r1, r0, #1\n\t"
        "movs    r2, #1\n\t"
        "ands    r0, r2\n\t"
        "adds    r0, r0, r1\n\t"
        "ldmia   r7!, {r2, r3, r5}\n\t"
        EL_M0_RDBP_SAT
        /* ---- 92: r0 = sigmoid(r0) (Q3.12 -> Q0.15), table at r6, r5 = 2^9 (r1..r4) ---- */
        "92:\n\t"
        "lsls    r1, r0, #1\n\t"
        "adds    r0, r0, r1\n\t"                    /* in = 3 x */
        "asrs    r2, r0, #31\n\t"
        "eors    r0, r2\n\t"
        "subs    r0, r0, r2\n\t"                    /* a = |in| */
        "lsrs    r1, r0, #9\n\t"
        "lsls    r1, r1, #1\n\t"
        "ldrh    r3, [r6, r1]\n\t"                  /* ua */
        "adds    r1, #2\n\t"
        "ldrh    r4, [r6, r1]\n\t"                  /* ub */
        "subs    r4, r4, r3\n\t"
        "lsls    r0, r0, #23\n\t"
        "lsrs    r0, r0, #23\n\t"                   /* t = a & 511 */
        "muls    r4, r0, r4\n\t"
        "lsls    r3, r3, #9\n\t"
        "adds    r3, r3, r4\n\t"
        "adds    r3, r3, r5\n\t"                    /* + 2^9 (r5) */
        "lsrs    r3, r3, #10\n\t"                   /* p */
        "eors    r3, r2\n\t"                        /* in < 0: 32768 - p */
        "subs    r3, r3, r2\n\t"
        "lsls    r2, r2, #15\n\t"
        "subs    r0, r3, r2\n\t"
        "bx      lr\n"
        /* ---- 93: r0 = tanh of the Tanh input r0, table at r6 (r1..r5) ---- */
        "93:\n\t"
        "asrs    r2, r0, #31\n\t"
        "eors    r0, r2\n\t"
        "subs    r0, r0, r2\n\t"                    /* a */
        "lsrs    r1, r0, #8\n\t"
        "cmp     r1, #255\n\t"
        "bcc     94f\n\t"
        "movs    r0, #255\n\t"                      /* a >= 255 * 256: TFLM's 32767 from a = 65279 */
        "lsls    r0, r0, #8\n\t"
        "subs    r0, #1\n\t"
        "movs    r1, #254\n"
        "94:\n\t"
        "lsls    r1, r1, #1\n\t"
        "ldrh    r3, [r6, r1]\n\t"
        "adds    r1, #2\n\t"
        "ldrh    r4, [r6, r1]\n\t"
        "subs    r4, r4, r3\n\t"
        "uxtb    r0, r0\n\t"
        "muls    r4, r0, r4\n\t"
        "lsls    r3, r3, #8\n\t"
        "adds    r3, r3, r4\n\t"                    /* r */
        "adds    r3, #128\n\t"
        "lsrs    r3, r3, #8\n\t"
        "movs    r4, #1\n\t"
        "lsls    r4, r4, #15\n\t"
        "subs    r3, r3, r4\n\t"                    /* (r - 2^23 + 2^7) >> 8 */
        "eors    r3, r2\n\t"
        "subs    r0, r3, r2\n\t"
        "bx      lr\n"
        "99:\n\t"
        :
        : [ctx] "m"(ctx), [o_wx] EL_M0_OFF(wx), [o_wh] EL_M0_OFF(wh), [o_bx] EL_M0_OFF(bx), [o_bh] EL_M0_OFF(bh),
          [o_xw] EL_M0_OFF(xw), [o_hw] EL_M0_OFF(hw), [o_c] EL_M0_OFF(c), [o_h] EL_M0_OFF(h),
          [o_left] EL_M0_OFF(units_left), [o_nbx] EL_M0_OFF(nbx16), [o_kx] EL_M0_OFF(kx), [o_nbh] EL_M0_OFF(nbh16),
          [o_kh] EL_M0_OFF(kh), [o_cx] EL_M0_OFF(corr_x), [o_ch] EL_M0_OFF(corr_h), [o_table] EL_M0_OFF(table),
          [o_clo] EL_M0_OFF(clip_lo), [o_chi] EL_M0_OFF(clip_hi), [o_tk] EL_M0_OFF(tanh_k), [o_tr] EL_M0_OFF(tanh_r),
          [o_ts] EL_M0_OFF(tanh_s), [o_hoff] EL_M0_OFF(h_offset), [o_m30] EL_M0_OFF(cell_m30),
          [o_sp0] EL_M0_OFF(spill[0]), [o_sp1] EL_M0_OFF(spill[1]), [o_sp2] EL_M0_OFF(spill[2]),
          [o_sp3] EL_M0_OFF(spill[3]), [o_q] EL_M0_OFF(q)
        : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory");
}

#else /* C: portable, SSE2, -DEDGELSTM_FORCE_ARMV6M on a host, and the paths without optimisation */

/* The requantisation of every side (edgelstm_fixedpoint.h): the uniform SRDHM + RDBP form
 * (edgelstm_rqu16: a 64-bit product) or, on ARMv6-M, its 16-bit partial-product form in
 * assembly (edgelstm_rqm16). */
#if defined(EDGELSTM_PATH_ARMV6M)
typedef edgelstm_rqm_t edgelstm_lstm_rq_t;
#define edgelstm_lstm_rq_prepare edgelstm_rqm_prepare

#define edgelstm_lstm_rq16 edgelstm_rqm16_c
#define EDGELSTM_LSTM_UNIT_C __attribute__((noinline)) static
#else
typedef edgelstm_rqu_t edgelstm_lstm_rq_t;
#define edgelstm_lstm_rq_prepare edgelstm_rqu_prepare
#define edgelstm_lstm_rq16 edgelstm_rqu16
#define EDGELSTM_LSTM_UNIT_C static inline
#endif
#if !defined(__GNUC__) && !defined(__clang__)
#undef EDGELSTM_LSTM_UNIT_C
#define EDGELSTM_LSTM_UNIT_C static
#endif

/* The 4 + 4 accumulators of one unit (gates i, f, g, o of the x side, then of the h side),
 * bias and w + 128 correction included. One out-of-line copy. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static void edgelstm_lstm_unit_dot(const uint8_t *wx, const uint32_t *xw, int32_t n_in, const uint8_t *wh,
                                   const uint32_t *hw, int32_t n_units, int32_t acc[8])
{
    edgelstm_lstm_dot(wx, xw, n_in, acc);
    edgelstm_lstm_dot(wh, hw, n_units, acc + 4);
}

/* Everything of a step that does not depend on the unit, prepared once per step. */
typedef struct {
    edgelstm_lstm_rq_t q[11]; /* gate sides x i f g o, h i f g o; f*c, i*g, tanh(c)*o */
    int32_t clip_lo;
    int32_t clip_hi;
    edgelstm_tanh_in_t tanh_in;
    int32_t h_offset;
} edgelstm_lstm_c_t;

/* The update of one unit from its eight accumulators: gates, activations, c; returns h. For
 * the parameters export-c accepts (graph.py: multipliers 0 or >= 2^30, int16 cell products
 * without offset, int8 hidden output). */
EDGELSTM_LSTM_UNIT_C int32_t edgelstm_lstm_unit_c(const int32_t acc[8], const edgelstm_lstm_c_t *q, int16_t *c)
{
    int32_t pre[4];
    int32_t g;
    int32_t cell;
    int32_t h;
    for (g = 0; g < 4; ++g) {
        pre[g] = edgelstm_sat16(edgelstm_lstm_rq16(acc[g], &q->q[g]) + edgelstm_lstm_rq16(acc[4 + g], &q->q[4 + g]));
    }
    {
        const int32_t i_g = edgelstm_sigmoid_q15(pre[0]);
        const int32_t f_g = edgelstm_sigmoid_q15(pre[1]);
        const int32_t g_g = edgelstm_tanh_q15_in(pre[2] * 3); /* the cell gate: Tanh (0, 0) */
        const int32_t o_g = edgelstm_sigmoid_q15(pre[3]);
        /* UpdateLstmCell: c = sat16(f*c) + sat16(i*g), saturating; optional clip. */
        cell = edgelstm_sat16(edgelstm_lstm_rq16(f_g * *c, &q->q[8]) + edgelstm_lstm_rq16(i_g * g_g, &q->q[9]));
        cell = (cell < q->clip_lo) ? q->clip_lo : ((cell > q->clip_hi) ? q->clip_hi : cell);
        *c = (int16_t)cell;
        /* UpdateLstmHidden: h = tanh(c) * o requantised to the hidden tensor. */
        h = edgelstm_lstm_rq16(edgelstm_tanh_q15_in(edgelstm_tanh_in(cell, &q->tanh_in)) * o_g, &q->q[10]) +
            q->h_offset;
        return (h < EDGELSTM_INT8_MIN) ? EDGELSTM_INT8_MIN : ((h > EDGELSTM_INT8_MAX) ? EDGELSTM_INT8_MAX : h);
    }
}

#if defined(EDGELSTM_DOT_SSE2)
/* ---- SSE2: the update of 4 units at once ------------------------------------------------------
 *
 * The same gate side of 4 units has the same requantisation constants, so it runs in the 4 lanes
 * of one register: the 4 units' accumulator vectors (i, f, g, o) (edgelstm_lstm_dot4_sse2: every
 * input block loaded once for the 4 units) are transposed to one vector per gate side. MBQM from
 * PMULUDQ (edgelstm_rqv: the unsigned 32 x 32 -> 64 products of the even and the odd lanes,
 * corrected to signed, their low words gathered by SHUFPS + PSHUFD), sat16 by PACKSSDW, the gate sums by PADDSW,
 * the element-wise products by PMADDWD (one factor is a non-negative gate, so the high halves
 * add nothing), sigmoid / tanh by the SMLAD formula of the DSP path with PMADDWD (the table
 * pairs read one lane at a time), the int8 output by PACKSSWB. */
typedef struct {
    __m128i m;     /* m in every lane (PMULUDQ reads the even ones) */
    __m128i k;     /* 2^30 - 2^31 m, 64-bit lanes */
    __m128i fmask;
    __m128i left;  /* shift counts */
    __m128i e;
    __m128i e1;
    int32_t round; /* e >= 1 */
} edgelstm_rqv_t;

static inline void edgelstm_rqv_prepare(int32_t multiplier, int32_t shift, edgelstm_rqv_t *v)
{
    edgelstm_rqu_t u;
    const uint64_t k = ((uint64_t)1 << 30) - ((uint64_t)(uint32_t)multiplier << 31);
    (void)edgelstm_rqu_prepare(multiplier, shift, &u);
    v->m = _mm_set1_epi32(multiplier);
    v->k = _mm_set_epi32(edgelstm_u32_to_s32((uint32_t)(k >> 32)), edgelstm_u32_to_s32((uint32_t)k),
                         edgelstm_u32_to_s32((uint32_t)(k >> 32)), edgelstm_u32_to_s32((uint32_t)k));
    v->fmask = _mm_set1_epi32(u.fmask);
    v->left = _mm_cvtsi32_si128(u.left);
    v->e = _mm_cvtsi32_si128(u.e);
    v->e1 = _mm_cvtsi32_si128((u.e > 0) ? u.e - 1 : 0);
    v->round = (u.e > 0) ? 1 : 0;
}

/* MBQM of 4 int32 lanes (edgelstm_rqu16 without its saturation). With the operand offset to
 * unsigned, x' + 2^31, the product (x' + 2^31) m - 2^31 m + 2^30 = x' m + 2^30 mod 2^64, and
 * the low word of its logical shift by 31 is Z = floor((x' m + 2^30) / 2^31) mod 2^32 even when
 * the 64-bit value is negative (2^64 / 2^31 is a multiple of 2^32); |Z| < 2^31. */
static inline __m128i edgelstm_rqv(__m128i x, const edgelstm_rqv_t *q)
{
    const __m128i x1 = _mm_sll_epi32(x, q->left);
    const __m128i xu = _mm_xor_si128(x1, _mm_set1_epi32(EDGELSTM_INT32_MIN));
    const __m128i p02 = _mm_srli_epi64(_mm_add_epi64(_mm_mul_epu32(xu, q->m), q->k), 31);
    const __m128i p13 = _mm_srli_epi64(_mm_add_epi64(_mm_mul_epu32(_mm_srli_epi64(xu, 32), q->m), q->k), 31);
    /* Z0 Z2 Z1 Z3 (SHUFPS of the low words), back in lane order */
    __m128i z = _mm_castps_si128(_mm_shuffle_ps(_mm_castsi128_ps(p02), _mm_castsi128_ps(p13), _MM_SHUFFLE(2, 0, 2, 0)));
    z = _mm_shuffle_epi32(z, _MM_SHUFFLE(3, 1, 2, 0));
    if (q->round) {
        z = _mm_add_epi32(z, _mm_and_si128(_mm_srai_epi32(x1, 31), q->fmask)); /* T */
        z = _mm_add_epi32(_mm_sra_epi32(z, q->e), _mm_and_si128(_mm_sra_epi32(z, q->e1), _mm_set1_epi32(1)));
    }
    return z;
}

/* int16 lanes 0..3 of v sign-extended to int32. */
static inline __m128i edgelstm_s16x4_to_s32(__m128i v)
{
    return _mm_srai_epi32(_mm_unpacklo_epi16(v, v), 16);
}

/* Per lane the table pair (table[k], table[k + 1]) for the indices k of idx (0 <= k <= 254: the
 * low halves of the lanes, read by PEXTRW). */
static inline __m128i edgelstm_table_pairs(__m128i idx)
{
    uint32_t p0;
    uint32_t p1;
    uint32_t p2;
    uint32_t p3;
    memcpy(&p0, &edgelstm_sigmoid_table_uint16[_mm_extract_epi16(idx, 0)], 4);
    memcpy(&p1, &edgelstm_sigmoid_table_uint16[_mm_extract_epi16(idx, 2)], 4);
    memcpy(&p2, &edgelstm_sigmoid_table_uint16[_mm_extract_epi16(idx, 4)], 4);
    memcpy(&p3, &edgelstm_sigmoid_table_uint16[_mm_extract_epi16(idx, 6)], 4);
    return _mm_unpacklo_epi64(
        _mm_unpacklo_epi32(_mm_cvtsi32_si128(edgelstm_u32_to_s32(p0)), _mm_cvtsi32_si128(edgelstm_u32_to_s32(p1))),
        _mm_unpacklo_epi32(_mm_cvtsi32_si128(edgelstm_u32_to_s32(p2)), _mm_cvtsi32_si128(edgelstm_u32_to_s32(p3))));
}

/* edgelstm_sigmoid_q15_dsp on 4 int32 lanes of Q3.12 values. */
static inline __m128i edgelstm_sigmoid_v(__m128i x)
{
    const __m128i in = _mm_add_epi32(x, _mm_slli_epi32(x, 1));
    const __m128i s = _mm_srai_epi32(in, 31);
    const __m128i a = _mm_sub_epi32(_mm_xor_si128(in, s), s);
    const __m128i t = _mm_and_si128(a, _mm_set1_epi32(0x1FF));
    const __m128i w = _mm_or_si128(_mm_sub_epi32(_mm_set1_epi32(512), t), _mm_slli_epi32(t, 16));
    __m128i r = _mm_madd_epi16(edgelstm_table_pairs(_mm_srli_epi32(a, 9)), w);
    r = _mm_srai_epi32(_mm_add_epi32(r, _mm_set1_epi32((1 << 25) + (1 << 9))), 10);
    return _mm_sub_epi32(_mm_sub_epi32(_mm_xor_si128(r, s), s), _mm_slli_epi32(s, 15)); /* in < 0: 32768 - r */
}

/* edgelstm_tanh_q15_dsp on 4 int32 lanes of Tanh inputs. */
static inline __m128i edgelstm_tanh_v(__m128i in)
{
    const __m128i s = _mm_srai_epi32(in, 31);
    __m128i a = _mm_sub_epi32(_mm_xor_si128(in, s), s); /* |in| as uint32 */
    const __m128i big = _mm_cmpgt_epi32(_mm_srli_epi32(a, 8), _mm_set1_epi32(254));
    __m128i t;
    __m128i w;
    __m128i r;
    a = _mm_or_si128(_mm_andnot_si128(big, a), _mm_and_si128(big, _mm_set1_epi32(65279)));
    t = _mm_and_si128(a, _mm_set1_epi32(0xFF));
    w = _mm_or_si128(_mm_sub_epi32(_mm_set1_epi32(256), t), _mm_slli_epi32(t, 16));
    r = _mm_madd_epi16(edgelstm_table_pairs(_mm_srli_epi32(a, 8)), w);
    r = _mm_srai_epi32(_mm_add_epi32(r, _mm_set1_epi32((1 << 23) + (1 << 7))), 8);
    return _mm_sub_epi32(_mm_xor_si128(r, s), s);
}

/* wrap(x * k) of 4 int32 lanes (no PMULLD in SSE2). */
static inline __m128i edgelstm_mullo_v(__m128i x, __m128i k)
{
    const __m128i p02 = _mm_mul_epu32(x, k);
    const __m128i p13 = _mm_mul_epu32(_mm_srli_epi64(x, 32), k);
    const __m128 z = _mm_shuffle_ps(_mm_castsi128_ps(p02), _mm_castsi128_ps(p13), _MM_SHUFFLE(2, 0, 2, 0));
    return _mm_shuffle_epi32(_mm_castps_si128(z), _MM_SHUFFLE(3, 1, 2, 0));
}

typedef struct {
    edgelstm_rqv_t q[11];
    __m128i clip_lo;  /* int16 lanes */
    __m128i clip_hi;
    __m128i tanh_k;
    __m128i tanh_r;
    __m128i tanh_s;   /* shift count */
    __m128i h_offset;
} edgelstm_lstm_v_t;

/* The 4 units u .. u+3: X[g], H[g] the accumulators of gate g of the 4 units (lanes). */
static inline void edgelstm_lstm_update4(const __m128i X[4], const __m128i H[4], const edgelstm_lstm_v_t *v,
                                         int16_t *c, int8_t *h)
{
    __m128i act[4];
    __m128i cell;
    __m128i cv;
    int32_t g;
    int32_t hv;
    for (g = 0; g < 4; ++g) {
        const __m128i rx = edgelstm_rqv(X[g], &v->q[g]);
        const __m128i rh = edgelstm_rqv(H[g], &v->q[4 + g]);
        const __m128i pre = edgelstm_s16x4_to_s32(_mm_adds_epi16(_mm_packs_epi32(rx, rx), _mm_packs_epi32(rh, rh)));
        act[g] = (g == 2) ? edgelstm_tanh_v(_mm_add_epi32(pre, _mm_slli_epi32(pre, 1))) : edgelstm_sigmoid_v(pre);
    }
    cv = edgelstm_s16x4_to_s32(_mm_loadl_epi64((const __m128i *)(const void *)c));
    {
        const __m128i fc = edgelstm_rqv(_mm_madd_epi16(act[1], cv), &v->q[8]);
        const __m128i ig = edgelstm_rqv(_mm_madd_epi16(act[0], act[2]), &v->q[9]);
        cell = _mm_adds_epi16(_mm_packs_epi32(fc, fc), _mm_packs_epi32(ig, ig));
    }
    cell = _mm_min_epi16(_mm_max_epi16(cell, v->clip_lo), v->clip_hi);
    _mm_storel_epi64((__m128i *)(void *)c, cell);
    cv = edgelstm_s16x4_to_s32(cell);
    cv = _mm_sra_epi32(_mm_add_epi32(edgelstm_mullo_v(cv, v->tanh_k), v->tanh_r), v->tanh_s);
    cv = _mm_add_epi32(edgelstm_rqv(_mm_madd_epi16(act[3], edgelstm_tanh_v(cv)), &v->q[10]), v->h_offset);
    cv = _mm_packs_epi32(cv, cv);
    hv = _mm_cvtsi128_si32(_mm_packs_epi16(cv, cv));
    memcpy(h, &hv, 4);
}
#endif

static void edgelstm_lstm_units_c(const edgelstm_lstm_params_s8_s16_t *p, const uint32_t *xw, const uint32_t *hw,
                                  int32_t corr_x, int32_t corr_h, int8_t *h_out, int16_t *c)
{
    const int32_t n_units = p->units;
    const int32_t n_in = p->input_size;
    const uint8_t *wx = (const uint8_t *)p->weights_x;
    const uint8_t *wh = (const uint8_t *)p->weights_h;
    const int32_t *bx = p->bias_x;
    const int32_t *bh = p->bias_h;
    edgelstm_lstm_c_t q;
    int32_t u;
    for (u = 0; u < 4; ++u) {
        (void)edgelstm_lstm_rq_prepare(p->multiplier_x[u], p->shift_x[u], &q.q[u]);
        (void)edgelstm_lstm_rq_prepare(p->multiplier_h[u], p->shift_h[u], &q.q[4 + u]);
    }
    (void)edgelstm_lstm_rq_prepare(p->forget_mul.multiplier, p->forget_mul.shift, &q.q[8]);
    (void)edgelstm_lstm_rq_prepare(p->input_mul.multiplier, p->input_mul.shift, &q.q[9]);
    (void)edgelstm_lstm_rq_prepare(p->output_mul.multiplier, p->output_mul.shift, &q.q[10]);
    q.clip_lo = (p->cell_clip > 0) ? -p->cell_clip : EDGELSTM_INT16_MIN;
    q.clip_hi = (p->cell_clip > 0) ? p->cell_clip : EDGELSTM_INT16_MAX;
    q.tanh_in = edgelstm_tanh_in_prepare(p->tanh_multiplier, p->tanh_left_shift);
    q.h_offset = p->output_mul.offset;
    u = 0;
#if defined(EDGELSTM_DOT_SSE2)
    if (n_units >= 4) {
        edgelstm_lstm_v_t v;
        const __m128i cx = _mm_set_epi32(0, 0, corr_x, corr_x); /* i and f rows only (paired) */
        const __m128i ch = _mm_set_epi32(0, 0, corr_h, corr_h);
        int32_t g;
        for (g = 0; g < 4; ++g) {
            edgelstm_rqv_prepare(p->multiplier_x[g], p->shift_x[g], &v.q[g]);
            edgelstm_rqv_prepare(p->multiplier_h[g], p->shift_h[g], &v.q[4 + g]);
        }
        edgelstm_rqv_prepare(p->forget_mul.multiplier, p->forget_mul.shift, &v.q[8]);
        edgelstm_rqv_prepare(p->input_mul.multiplier, p->input_mul.shift, &v.q[9]);
        edgelstm_rqv_prepare(p->output_mul.multiplier, p->output_mul.shift, &v.q[10]);
        v.clip_lo = _mm_set1_epi16((int16_t)q.clip_lo);
        v.clip_hi = _mm_set1_epi16((int16_t)q.clip_hi);
        v.tanh_k = _mm_set1_epi32(q.tanh_in.k);
        v.tanh_r = _mm_set1_epi32(q.tanh_in.r);
        v.tanh_s = _mm_cvtsi32_si128(q.tanh_in.s);
        v.h_offset = _mm_set1_epi32(q.h_offset);
        for (; u + 4 <= n_units; u += 4) {
            __m128i ax[4];
            __m128i ah[4];
            __m128i X[4];
            __m128i H[4];
            int32_t k;
            edgelstm_lstm_dot4_sse2(wx, xw, n_in, ax);
            edgelstm_lstm_dot4_sse2(wh, hw, n_units, ah);
            for (k = 0; k < 4; ++k) {
                ax[k] = _mm_add_epi32(_mm_add_epi32(ax[k], _mm_loadu_si128((const __m128i *)(const void *)bx)), cx);
                ah[k] = _mm_add_epi32(_mm_add_epi32(ah[k], _mm_loadu_si128((const __m128i *)(const void *)bh)), ch);
                bx += 4;
                bh += 4;
            }
            wx += 16 * n_in;
            wh += 16 * n_units;
            {
                /* transpose: X[g] = gate g of the 4 units */
                const __m128i t0 = _mm_unpacklo_epi32(ax[0], ax[1]), t1 = _mm_unpackhi_epi32(ax[0], ax[1]);
                const __m128i t2 = _mm_unpacklo_epi32(ax[2], ax[3]), t3 = _mm_unpackhi_epi32(ax[2], ax[3]);
                const __m128i s0 = _mm_unpacklo_epi32(ah[0], ah[1]), s1 = _mm_unpackhi_epi32(ah[0], ah[1]);
                const __m128i s2 = _mm_unpacklo_epi32(ah[2], ah[3]), s3 = _mm_unpackhi_epi32(ah[2], ah[3]);
                X[0] = _mm_unpacklo_epi64(t0, t2);
                X[1] = _mm_unpackhi_epi64(t0, t2);
                X[2] = _mm_unpacklo_epi64(t1, t3);
                X[3] = _mm_unpackhi_epi64(t1, t3);
                H[0] = _mm_unpacklo_epi64(s0, s2);
                H[1] = _mm_unpackhi_epi64(s0, s2);
                H[2] = _mm_unpacklo_epi64(s1, s3);
                H[3] = _mm_unpackhi_epi64(s1, s3);
            }
            edgelstm_lstm_update4(X, H, &v, c + u, h_out + u);
        }
    }
#endif
    for (; u < n_units; ++u) {
        int32_t acc[8];
        acc[0] = edgelstm_add_wrap_s32(bx[0], corr_x);
        acc[1] = edgelstm_add_wrap_s32(bx[1], corr_x);
        acc[4] = edgelstm_add_wrap_s32(bh[0], corr_h);
        acc[5] = edgelstm_add_wrap_s32(bh[1], corr_h);
#if EDGELSTM_LSTM_PAIRED
        acc[2] = bx[2];
        acc[3] = bx[3];
        acc[6] = bh[2];
        acc[7] = bh[3];
#else
        acc[2] = edgelstm_add_wrap_s32(bx[2], corr_x);
        acc[3] = edgelstm_add_wrap_s32(bx[3], corr_x);
        acc[6] = edgelstm_add_wrap_s32(bh[2], corr_h);
        acc[7] = edgelstm_add_wrap_s32(bh[3], corr_h);
#endif
        edgelstm_lstm_unit_dot(wx, xw, n_in, wh, hw, n_units, acc);
        wx += 4 * n_in;
        wh += 4 * n_units;
        bx += 4;
        bh += 4;
        h_out[u] = (int8_t)edgelstm_lstm_unit_c(acc, &q, c + u);
    }
}
#endif

void edgelstm_lstm_step_s8_s16(const edgelstm_lstm_params_s8_s16_t *p, const int8_t *x, const int8_t *h_in,
                               int8_t *h_out, int16_t *c, int16_t *gate_scratch)
{
    /* The widened inputs, 4-byte aligned in the int16 scratch (export-c sizes it for both). */
    uint32_t *xw = (uint32_t *)(void *)((int8_t *)gate_scratch + (((uintptr_t)gate_scratch) & 2u));
    uint32_t *hw;
    int32_t corr_x;
    int32_t corr_h;
    hw = edgelstm_widen_s8(x, p->input_size, xw, &corr_x);
    (void)edgelstm_widen_s8(h_in, p->units, hw, &corr_h);
    /* Bytes stored as w + 128: sum (w + 128) v - 128 sum v = sum w v (the rows i and f, and g
     * and o unless the encoding is paired). */
    corr_x *= -128;
    corr_h *= -128;
#if defined(EDGELSTM_LSTM_ASM_ARMV6M)
    {
        edgelstm_lstm_m0_t d;
        edgelstm_rqm_t q[11];
        edgelstm_lstm_m0_prepare(p, &d, q);
        d.xw = xw;
        d.hw = hw;
        d.c = c;
        d.h = h_out;
        d.corr_x = corr_x;
        d.corr_h = corr_h;
        if (d.units_left > 0) {
            edgelstm_lstm_units_m0(&d);
        }
    }
#elif defined(EDGELSTM_LSTM_ASM_DSP)
    {
        edgelstm_lstm_dsp_t d;
        edgelstm_lstm_dsp_prepare(p, &d);
        d.xw = xw;
        d.hw = hw;
        d.c = c;
        d.h = h_out;
        d.corr_x = corr_x;
        d.corr_h = corr_h;
        if (d.units_left > 0) {
            edgelstm_lstm_units_dsp(&d);
        }
    }
#else
    edgelstm_lstm_units_c(p, xw, hw, corr_x, corr_h, h_out, c);
#endif
}
