/*
 * edgelstm_lstm_step_s8_s16_dsp.c - the LSTM step on EDGELSTM_PATH_DSP (Cortex-M4 / M33 / M7:
 * __ARM_FEATURE_DSP, GCC or clang with optimisation; edgelstm_config.h). Compiled whole on that
 * path, empty on the others. The step's formulas and order of work: edgelstm_lstm_step_s8_s16.c.
 */
#include "edgelstm_lstm_step_s8_s16.h"

#if defined(EDGELSTM_PATH_DSP)
#include <stddef.h>

/* ---- the whole unit loop in one block of assembly --------------------------------------------
 *
 * For every parameter set export-c accepts (graph.py: LSTM multipliers 0 or >= 2^30, int16
 * cell products without offset, int8 hidden output). Per unit:
 *   - each side (x, then h): the 4 rows' sums, 16 multiply-accumulates in 16 instructions
 *     (edgelstm_dot_s8.h), bias and w + 128 correction folded in, the g and o sums decoded
 *     (rows of 512 columns or more, and rows of fewer than 4, take a loop of chunks at the end);
 *   - 8 requantisations of 7 instructions + an LDM of their 4 prepared words (edgelstm_rq16),
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
    uint32_t spill[2];      /* the x side's requantised gates while the h side runs */
    int32_t go[2];          /* chunk loop: g and o sums so far, blocks left */
    int32_t rem;
    edgelstm_lstm_prepared_t q; /* the requantisers (edgelstm_rq16), clip, tanh(c) input, h offset */
} edgelstm_lstm_dsp_t;

/* The context's fields other than q (edgelstm_lstm_prepare), c and h. */
static inline void edgelstm_lstm_dsp_context(const edgelstm_lstm_params_s8_s16_t *p, const edgelstm_lstm_inputs_t *in,
                                             edgelstm_lstm_dsp_t *d)
{
    d->wx = (const uint8_t *)p->weights_x;
    d->wh = (const uint8_t *)p->weights_h;
    d->bx = p->bias_x;
    d->bh = p->bias_h;
    d->xw = in->xw;
    d->hw = in->hw;
    d->units_left = p->units;
    d->nbx = p->input_size >> 2;
    d->nbx1 = d->nbx & -(int32_t)(d->nbx <= EDGELSTM_PAIRED_CHUNK_BLOCKS); /* branch-free: shorter */
    d->kx = p->input_size & 3;
    d->nbh = p->units >> 2;
    d->nbh1 = d->nbh & -(int32_t)(d->nbh <= EDGELSTM_PAIRED_CHUNK_BLOCKS);
    d->kh = p->units & 3;
    d->corr_x = in->corr_x;
    d->corr_h = in->corr_h;
    d->table = edgelstm_sigmoid_table_uint16;
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

/* sat16(MBQM(X)) in place with the next prepared requantiser at r12 (edgelstm_rq16); T1, T2 temps. */
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

__attribute__((noinline)) /* the assembly's own frame: every register, lr at the context */
static void edgelstm_lstm_units_dsp(edgelstm_lstm_dsp_t *ctx)
{
    __asm__ volatile(
        "ldr     lr, %[ctx]\n"
        "1:\n\t"
        /* ---- input side: sums, requantised, packed (i, f) (g, o) and kept in the context ---- */
        EL_DOT_SIDE("o_wx", "o_xw", "o_bx", "o_cx", "o_nbx1", "o_kx", "71", "72")
        "add     r12, lr, #%c[o_gx]\n\t"
        EL_RQ("r4", "r0", "r1")
        EL_RQ("r5", "r0", "r1")
        EL_RQ("r6", "r0", "r1")
        EL_RQ("r7", "r0", "r1")
        "pkhbt   r2, r4, r5, lsl #16\n\t"
        "pkhbt   r3, r6, r7, lsl #16\n\t"
        "strd    r2, r3, [lr, #%c[o_spill]]\n\t"
        /* ---- recurrent side, then the gates sat16(x side + h side) ---- */
        EL_DOT_SIDE("o_wh", "o_hw", "o_bh", "o_ch", "o_nbh1", "o_kh", "81", "82")
        "add     r12, lr, #%c[o_gh]\n\t"
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
        "add     r12, lr, #%c[o_cf]\n\t"
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
        "add     r12, lr, #%c[o_hid]\n\t"
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
          [o_spill] EL_OFF(spill), [o_go] EL_OFF(go), [o_rem] EL_OFF(rem), [o_clip] EL_OFF(q.clip_lo),
          [o_tanhk] EL_OFF(q.tanh_in.k), [o_tanhs] EL_OFF(q.tanh_in.s), [o_hoff] EL_OFF(q.h_offset),
          [o_gx] EL_OFF(q.gate_x), [o_gh] EL_OFF(q.gate_h), [o_cf] EL_OFF(q.cell_forget), [o_hid] EL_OFF(q.hidden)
        : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory");
}

void edgelstm_lstm_step_s8_s16(const edgelstm_lstm_params_s8_s16_t *p, const int8_t *x, const int8_t *h_in,
                               int8_t *h_out, int16_t *c, int16_t *gate_scratch)
{
    edgelstm_lstm_dsp_t d;
    const int32_t ok = edgelstm_lstm_prepare(p, &d.q);
    const edgelstm_lstm_inputs_t in = edgelstm_lstm_widen_inputs(p, x, h_in, gate_scratch);
    EDGELSTM_DEBUG_ASSERT(ok);
    edgelstm_lstm_dsp_context(p, &in, &d);
    d.c = c;
    d.h = h_out;
    if (d.units_left > 0) {
        edgelstm_lstm_units_dsp(&d);
    }
}
#endif /* EDGELSTM_PATH_DSP */
