/*
 * edgelstm_gru_step_s8_s16_dsp.c - the GRU step on EDGELSTM_PATH_DSP (Cortex-M4 / M33 / M7:
 * __ARM_FEATURE_DSP, GCC or clang with optimisation; edgelstm_config.h). Compiled whole on that
 * path, empty on the others. The step's formulas and order of work: edgelstm_gru_step_s8_s16.c.
 *
 * Per group of 4 rows: the LSTM's SMLAD kernel (edgelstm_lstm_dot, 16 multiply-accumulates in
 * 16 instructions on the paired encoding), then each row requantised by edgelstm_gru_rq_dsp
 * (SMMLAR, the LSTM's EL_RQ formula, from the row's own multiplier and shift), and what follows
 * the row done while the values are in registers: the gates' sigmoid (SMLAD table
 * interpolation, edgelstm_sigmoid_q15_dsp), the candidate's r product, tanh and the state update
 * (the candidate's rows, unit by unit: the old h8 is only read from its widened copy).
 */
#include "edgelstm_gru_step_s8_s16.h"

#if defined(EDGELSTM_PATH_DSP)
#include <stddef.h>

/* ---- the rows of one gate product in one block of assembly ------------------------------------
 *
 * For `groups` groups of 4 rows (export-c's layout, edgelstm_dot_s8.h): the 4 row sums (bias
 * and w + 128 correction folded in, the LSTM's SMLAD loop: 16 multiply-accumulates in 16
 * instructions, rows of 512 columns or more in chunks), then per row sat16(MBQM(sum, m, s))
 * from the row's own multiplier and shift, written to out as int16. The requantisation is
 * edgelstm_rq16 (edgelstm_fixedpoint.h; the LSTM's EL_RQ) with its prepared words made on the
 * way, for m = 0 or m in [2^30, 2^31) (QuantizeMultiplier's; export-c checks the GRU's,
 * edgelstm/codegen/graph.py) and s in [-31, 31]:
 *   x' = x 2^max(s, 0) (wrapping), Z = SMMLAR(x', 2m - 2^32, x') = SRDHM(x', m);
 *   s < 0: RDBP(Z, -s) = floor((Z - [x' < 0]) / 2^e) + bit e - 1 of that (ADDS, ASRS, ADC);
 *   m = 0: x' = 0, so every step gives 0.
 * Every operand lives in the context below (lr points at it). */
typedef struct {
    const uint8_t *w;       /* the group's rows (advanced group by group) */
    const uint32_t *vw;     /* the widened input */
    const int32_t *bias;    /* 4 per group (advanced by bstep: 16, or 0 for the zeros) */
    int32_t bstep;
    const int32_t *mult;    /* per row (advanced) */
    const int8_t *shift;
    int16_t *out;
    const int16_t *out_end; /* out after the last group */
    int32_t nb1;            /* 4-column blocks if 1..127 (one chunk), else 0: the chunk loop */
    int32_t nb;             /* 4-column blocks, and the last n % 4 columns */
    int32_t k;
    int32_t corr;           /* -128 sum v */
    int32_t go[2];          /* chunk loop: g and o sums so far */
    int32_t rem;            /* chunk loop: blocks left */
    int32_t gates;          /* 1: out = sigmoid(sat16(out + row)) (z, r), 0: out = row */
    const uint16_t *table;
} edgelstm_gru_dsp_t;

/* Row X (r4..r7) = sat16(MBQM(X, m, s)) with m, s at r2, r3 (advanced); L a label number,
 * Z the label of its m = 0 stub; r8..r10 temps. */
#define EG_RQ(X, L, Z)                                                                              \
    "ldr     r8, [r2], #4\n\t"                                                                      \
    "ldrsb   r9, [r3], #1\n\t"                                                                      \
    "lsls    r8, r8, #1\n\t"                        /* 2m - 2^32; zero only for m = 0 */             \
    "beq     " Z "f\n"                                                                              \
    L "0:\n\t"                                                                                      \
    "cmp     r9, #0\n\t"                                                                            \
    "it      gt\n\t"                                                                                \
    "lslgt   " X ", " X ", r9\n\t"                  /* x' = x 2^s */                                 \
    "smmlar  r10, " X ", r8, " X "\n\t"             /* SRDHM */                                      \
    "bge     " L "1f\n\t"                                                                           \
    "rsb     r9, r9, #0\n\t"                                                                        \
    "adds    r10, r10, " X ", asr #31\n\t"                                                          \
    "asrs    r10, r10, r9\n\t"                      /* RDBP: the carry is bit e - 1 */               \
    "adc     r10, r10, #0\n"                                                                        \
    L "1:\n\t"                                                                                      \
    "ssat    " X ", #16, r10\n\t"

/* The m = 0 stub of a row: x' = 0, back into the row's code. */
#define EG_RQ_ZERO(X, L, Z)                                                                         \
    Z ":\n\t"                                                                                       \
    "mov     " X ", #0\n\t"                                                                         \
    "b       " L "0b\n\t"

/* OUT = sigmoid(IN / 3) (IN = 3 x, x in Q3.12; OUT in Q0.15); r12 table, r10 = 2^25 + 2^9;
 * r1, r8, r9 temps (the LSTM's EL_SIGMOID, edgelstm_sigmoid_q15_dsp). */
#define EG_SIGMOID(IN, OUT)                                                                         \
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

#define EG_OFF(field) "i"(offsetof(edgelstm_gru_dsp_t, field))

__attribute__((noinline)) /* the assembly's own frame: every register, lr at the context */
static void edgelstm_gru_rows_asm_dsp(edgelstm_gru_dsp_t *ctx)
{
    __asm__ volatile(
        "ldr     lr, %[ctx]\n"
        "1:\n\t"
        "ldr     r0, [lr, #%c[o_w]]\n\t"
        "ldr     r1, [lr, #%c[o_vw]]\n\t"
        "ldr     r8, [lr, #%c[o_bias]]\n\t"
        "ldr     r9, [lr, #%c[o_corr]]\n\t"
        "ldrd    r4, r5, [r8]\n\t"                  /* b_i, b_f (rows 0, 1 of the group) */
        "add     r4, r4, r9\n\t"                    /* + -128 sum v: the offset rows */
        "add     r5, r5, r9\n\t"
        "mov     r6, r4\n\t"                        /* raw sums start where i and f start */
        "mov     r7, r5\n\t"
        "ldr     r3, [lr, #%c[o_nb1]]\n\t"
        "cbnz    r3, 2f\n\t"
        "b       71f\n"
        "2:\n\t"
        "ldmia   r1!, {r2, r12}\n\t"                /* (v0, v1) (v2, v3) */
        "ldmia   r0!, {r8, r9, r10, r11}\n\t"       /* [i g i g] [f o f o] x 2 column pairs */
        "smlad   r6, r8, r2, r6\n\t"
        "uxtb16  r8, r8\n\t"
        "smlad   r4, r8, r2, r4\n\t"
        "smlad   r7, r9, r2, r7\n\t"
        "uxtb16  r9, r9\n\t"
        "smlad   r5, r9, r2, r5\n\t"
        "smlad   r6, r10, r12, r6\n\t"
        "uxtb16  r10, r10\n\t"
        "smlad   r4, r10, r12, r4\n\t"
        "smlad   r7, r11, r12, r7\n\t"
        "uxtb16  r11, r11\n\t"
        "smlad   r5, r11, r12, r5\n\t"
        "subs    r3, r3, #1\n\t"
        "bne     2b\n\t"
        "ldr     r8, [lr, #%c[o_bias]]\n\t"
        "ldrd    r10, r11, [r8, #8]\n\t"            /* b_g, b_o */
        "ldr     r9, [lr, #%c[o_bstep]]\n\t"        /* the next group's biases */
        "add     r8, r8, r9\n\t"
        "str     r8, [lr, #%c[o_bias]]\n\t"
        "sub     r6, r6, r4\n\t"                    /* 256 sum g v, 256 sum o v */
        "sub     r7, r7, r5\n\t"
        "add     r6, r10, r6, asr #8\n\t"
        "add     r7, r11, r7, asr #8\n"
        "72:\n\t"
        "ldr     r3, [lr, #%c[o_k]]\n\t"
        "cbz     r3, 5f\n\t"                        /* no last columns */
        "tst     r3, #2\n\t"
        "beq     4f\n\t"                            /* a last column pair: g, o sign-extended */
        "ldmia   r0!, {r8, r9}\n\t"
        "ldr     r2, [r1], #4\n\t"
        "uxtb16  r10, r8\n\t"
        "smlad   r4, r10, r2, r4\n\t"
        "sxtb16  r10, r8, ror #8\n\t"
        "smlad   r6, r10, r2, r6\n\t"
        "uxtb16  r10, r9\n\t"
        "smlad   r5, r10, r2, r5\n\t"
        "sxtb16  r10, r9, ror #8\n\t"
        "smlad   r7, r10, r2, r7\n"
        "4:\n\t"
        "tst     r3, #1\n\t"
        "beq     5f\n\t"                            /* a last column [i g f o], input (v, 0) */
        "ldr     r8, [r0], #4\n\t"
        "ldr     r2, [r1]\n\t"
        "uxtb16  r10, r8\n\t"
        "smlabb  r4, r10, r2, r4\n\t"
        "smlatb  r5, r10, r2, r5\n\t"
        "sxtb16  r10, r8, ror #8\n\t"
        "smlabb  r6, r10, r2, r6\n\t"
        "smlatb  r7, r10, r2, r7\n"
        "5:\n\t"
        "str     r0, [lr, #%c[o_w]]\n\t"
        /* ---- the 4 rows requantised, stored as int16 ---- */
        "ldr     r2, [lr, #%c[o_mult]]\n\t"
        "ldr     r3, [lr, #%c[o_shift]]\n\t"
        EG_RQ("r4", "11", "15")
        EG_RQ("r5", "12", "16")
        EG_RQ("r6", "13", "17")
        EG_RQ("r7", "14", "18")
        "str     r2, [lr, #%c[o_mult]]\n\t"
        "str     r3, [lr, #%c[o_shift]]\n\t"
        "ldr     r0, [lr, #%c[o_out]]\n\t"
        "pkhbt   r4, r4, r5, lsl #16\n\t"
        "pkhbt   r6, r6, r7, lsl #16\n\t"
        "ldr     r1, [lr, #%c[o_gates]]\n\t"
        "cbnz    r1, 30f\n\t"
        "str     r4, [r0], #4\n\t"                  /* int16 pairs (unaligned STR is allowed) */
        "str     r6, [r0], #4\n"
        "31:\n\t"
        "str     r0, [lr, #%c[o_out]]\n\t"
        "ldr     r1, [lr, #%c[o_end]]\n\t"
        "cmp     r0, r1\n\t"
        "bne     1b\n\t"
        "b       9f\n\t"
        /* ---- z and r: out = sigmoid(sat16(out + row)), 4 at a time (the LSTM's EL_SIGMOID:
         * sigmoid(3 x / 3) by SMLAD table interpolation, edgelstm_sigmoid_q15_dsp) ---- */
        "30:\n\t"
        "ldr     r2, [r0]\n\t"
        "ldr     r3, [r0, #4]\n\t"
        "qadd16  r2, r2, r4\n\t"                  /* sat16(ax + ah), rows 0, 1 */
        "qadd16  r3, r3, r6\n\t"                  /* rows 2, 3 */
        "ldr     r12, [lr, #%c[o_table]]\n\t"
        "mov     r11, #3\n\t"
        "mov     r10, #0x02000200\n\t"
        "smulbb  r4, r2, r11\n\t"
        EG_SIGMOID("r4", "r5")
        "smultb  r4, r2, r11\n\t"
        EG_SIGMOID("r4", "r6")
        "pkhbt   r5, r5, r6, lsl #16\n\t"
        "str     r5, [r0], #4\n\t"
        "smulbb  r4, r3, r11\n\t"
        EG_SIGMOID("r4", "r6")
        "smultb  r4, r3, r11\n\t"
        EG_SIGMOID("r4", "r7")
        "pkhbt   r6, r6, r7, lsl #16\n\t"
        "str     r6, [r0], #4\n\t"
        "b       31b\n\t"
        EG_RQ_ZERO("r4", "11", "15")
        EG_RQ_ZERO("r5", "12", "16")
        EG_RQ_ZERO("r6", "13", "17")
        EG_RQ_ZERO("r7", "14", "18")
        /* ---- the chunk loop (rows of 0 or more than 508 columns): r4, r5 = i, f sums in,
         * r6, r7 = g, o sums out, back to 72 ---- */
        "71:\n\t"
        "ldr     r8, [lr, #%c[o_bias]]\n\t"
        "ldrd    r6, r7, [r8, #8]\n\t"              /* b_g, b_o */
        "ldr     r9, [lr, #%c[o_bstep]]\n\t"
        "add     r8, r8, r9\n\t"
        "str     r8, [lr, #%c[o_bias]]\n\t"
        "ldr     r12, [lr, #%c[o_nb]]\n"
        "6:\n\t"
        "cmp     r12, #0\n\t"
        "beq     72b\n\t"
        "strd    r6, r7, [lr, #%c[o_go]]\n\t"
        "cmp     r12, #127\n\t"
        "ite     hi\n\t"
        "subhi   r2, r12, #127\n\t"
        "movls   r2, #0\n\t"
        "it      hi\n\t"
        "movhi   r12, #127\n\t"
        "str     r2, [lr, #%c[o_rem]]\n\t"
        "mov     r6, r4\n\t"
        "mov     r7, r5\n"
        "7:\n\t"
        "ldmia   r1!, {r2, r3}\n\t"
        "ldmia   r0!, {r8, r9, r10, r11}\n\t"
        "smlad   r6, r8, r2, r6\n\t"
        "uxtb16  r8, r8\n\t"
        "smlad   r4, r8, r2, r4\n\t"
        "smlad   r7, r9, r2, r7\n\t"
        "uxtb16  r9, r9\n\t"
        "smlad   r5, r9, r2, r5\n\t"
        "smlad   r6, r10, r3, r6\n\t"
        "uxtb16  r10, r10\n\t"
        "smlad   r4, r10, r3, r4\n\t"
        "smlad   r7, r11, r3, r7\n\t"
        "uxtb16  r11, r11\n\t"
        "smlad   r5, r11, r3, r5\n\t"
        "subs    r12, r12, #1\n\t"
        "bne     7b\n\t"
        "ldrd    r2, r3, [lr, #%c[o_go]]\n\t"
        "sub     r6, r6, r4\n\t"
        "sub     r7, r7, r5\n\t"
        "add     r6, r2, r6, asr #8\n\t"
        "add     r7, r3, r7, asr #8\n\t"
        "ldr     r12, [lr, #%c[o_rem]]\n\t"
        "b       6b\n"
        "9:\n\t"
        :
        : [ctx] "m"(ctx), [o_w] EG_OFF(w), [o_vw] EG_OFF(vw), [o_bias] EG_OFF(bias), [o_bstep] EG_OFF(bstep),
          [o_mult] EG_OFF(mult), [o_shift] EG_OFF(shift), [o_out] EG_OFF(out), [o_end] EG_OFF(out_end),
          [o_nb1] EG_OFF(nb1), [o_nb] EG_OFF(nb), [o_k] EG_OFF(k), [o_corr] EG_OFF(corr), [o_go] EG_OFF(go),
          [o_rem] EG_OFF(rem), [o_gates] EG_OFF(gates), [o_table] EG_OFF(table)
        : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory");
}

/* Rows [0, rows) of a gate product against the widened v (n columns, correction corr):
 * out[i] = sat16(MBQM(W_i v + bias_i, mult_i, shift_i)), bias NULL: none. The groups of 4 in
 * the assembly; a last group of fewer rows through copies padded with zero rows (multiplier 0),
 * so nothing is read or written past the arrays. Returns the end of the group's weights. */
static const uint8_t *edgelstm_gru_rows_dsp(const uint8_t *w, const uint32_t *vw, int32_t n, int32_t corr, int32_t rows,
                                            const int32_t *bias, const int32_t *mult, const int8_t *shift, int16_t *out,
                                            int32_t gates)
{
    static const int32_t zeros[4] = {0, 0, 0, 0};
    edgelstm_gru_dsp_t d;
    d.w = w;
    d.vw = vw;
    d.bias = (bias != 0) ? bias : zeros;
    d.bstep = (bias != 0) ? 16 : 0;
    d.mult = mult;
    d.shift = shift;
    d.out = out;
    d.out_end = out + (rows & ~3);
    d.nb = n >> 2;
    d.nb1 = d.nb & -(int32_t)(d.nb <= EDGELSTM_PAIRED_CHUNK_BLOCKS);
    d.k = n & 3;
    d.corr = corr;
    d.gates = gates;
    d.table = edgelstm_sigmoid_table_uint16;
    if (rows >= 4) {
        edgelstm_gru_rows_asm_dsp(&d);
    }
    if ((rows & 3) != 0) {
        /* 1 to 3 rows; element by element, unrolled (a loop would become a memcpy call) */
        const int32_t r0 = rows & ~3;
        const int32_t rem = rows & 3;
        int32_t b[4];
        int32_t m[4];
        int8_t s[4];
        int16_t o[4];
        int32_t k;
        for (k = 0; k < 4; ++k) { /* zero rows past the end (a plain zero fill would call memset) */
            const int32_t in = (k < rem) ? 1 : 0;
            b[k] = (in && bias != 0) ? bias[r0 + k] : 0;
            m[k] = in ? mult[r0 + k] : 0;
            s[k] = (int8_t)(in ? shift[r0 + k] : 0);
            o[k] = (int16_t)(in ? out[r0 + k] : 0); /* gates: the input side's values */
        }
        d.bias = b;
        d.bstep = 16;
        d.mult = m;
        d.shift = s;
        d.out = o;
        d.out_end = o + 4;
        edgelstm_gru_rows_asm_dsp(&d);
        for (k = 0; k < 3; ++k) {
            if (k < rem) {
                out[r0 + k] = o[k];
            }
        }
    }
    return d.w;
}

/* RDBP(x, e) for e in [1, 31] and x > INT32_MIN: floor((x - [x < 0]) / 2^(e-1) + 1) / 2
 * (the rounding of edgelstm_rounding_divide_by_pot, nested floors merged). */
static inline int32_t edgelstm_gru_rdbp_dsp(int32_t x, int32_t e)
{
    return edgelstm_asr_s32(edgelstm_asr_s32(x + edgelstm_asr_s32(x, 31), e - 1) + 1, 1);
}

/* edgelstm_rq16 (sat16(MBQM(x)) from prepared words) as the LSTM's EL_RQ: 7 instructions. */
static inline int32_t edgelstm_gru_rq16_dsp(int32_t x, const edgelstm_rq16_t *q)
{
    int32_t t1;
    int32_t t2;
    __asm__("lsl     %[x], %[x], %[left]\n\t"
            "smmlar  %[t1], %[x], %[m2s], %[x]\n\t"
            "and     %[t2], %[fmask], %[x], asr #31\n\t"
            "adds    %[t1], %[t1], %[t2]\n\t"
            "asrs    %[t1], %[t1], %[e]\n\t"
            "adc     %[t1], %[t1], #0\n\t"
            "ssat    %[x], #16, %[t1]"
            : [x] "+r"(x), [t1] "=&r"(t1), [t2] "=&r"(t2)
            : [left] "r"(q->left), [m2s] "r"(q->m2s), [fmask] "r"(q->fmask), [e] "r"(q->e)
            : "cc");
    return x;
}

/* The update of unit u from z (Q0.15) and n_pre (Q3.12): edgelstm_gru_update_c with the DSP
 * tanh (edgelstm_tanh_q15_dsp) and the rounding above. */
static inline void edgelstm_gru_update_dsp(int32_t z, int32_t n_pre, int32_t out_shift, int16_t *h16, int8_t *h8)
{
    const int32_t n = edgelstm_tanh_q15_dsp(n_pre * 3);
    const int32_t s = __ssat(n + edgelstm_gru_rdbp_dsp(z * ((int32_t)*h16 - n), 15), 16);
    *h16 = (int16_t)s;
    /* RDBP(s, out_shift) for out_shift in [0, 15]: s = 2 s / 2 keeps out_shift = 0 in the form */
    *h8 = (int8_t)__ssat(edgelstm_gru_rdbp_dsp(2 * s, out_shift + 1), 8);
}

void edgelstm_gru_step_path_s8_s16(const edgelstm_gru_params_s8_s16_t *p, const edgelstm_gru_prepared_t *q,
                                   const int8_t *x, int8_t *h8, int16_t *h16)
{
    const int32_t n_units = p->units;
    const int32_t out_shift = q->out_shift;
    int16_t *ax = q->ax;
    int16_t *ah = q->ah;
    int16_t *an = ax + 2 * n_units;
    uint32_t *vw = q->vw;
    const uint8_t *wh_n;
    const int32_t *bh = p->bias_h;
    int32_t corr;
    int32_t u;

    /* 1. The input side of all 3U rows: ax = sat16(MBQM(W x + bx)). */
    (void)edgelstm_widen_s8(x, p->input_size, vw, &corr);
    (void)edgelstm_gru_rows_dsp((const uint8_t *)p->weights_x, vw, p->input_size, -128 * corr, 3 * n_units, p->bias_x,
                                p->multiplier_x, p->shift_x, ax, 0);

    /* 2. z and r: the recurrent rows 0 .. 2U-1 on the old h8; sigmoid(sat16(ax + ah)). */
    (void)edgelstm_widen_s8(h8, n_units, vw, &corr);
    corr *= -128;
    wh_n = edgelstm_gru_rows_dsp((const uint8_t *)p->weights_h, vw, n_units, corr, 2 * n_units, bh, p->multiplier_h,
                                 p->shift_h, ax, 1);

    /* 3. The candidate's rows into ah[0 .. U-1], then unit by unit n and the state. */
    if (p->reset_after) {
        /* r * (U_h h8 + bh_h) on the old h8 (still widened): Q0.15 x Q3.12 -> Q3.12 with
         * reset_mul, which export-c checks to be a plain sat16(MBQM) (graph.py) */
        edgelstm_rq16_t rq;
        const int32_t ok = edgelstm_rq16_prepare(p->reset_mul.multiplier, p->reset_mul.shift, &rq);
        EDGELSTM_DEBUG_ASSERT(ok);
        (void)edgelstm_gru_rows_dsp(wh_n, vw, n_units, corr, n_units, bh ? bh + 2 * n_units : 0,
                                    p->multiplier_h + 2 * n_units, p->shift_h + 2 * n_units, ah, 0);
        for (u = 0; u < n_units; ++u) {
            const int32_t rh = edgelstm_gru_rq16_dsp((int32_t)ax[n_units + u] * (int32_t)ah[u], &rq);
            edgelstm_gru_update_dsp(ax[u], __ssat(an[u] + rh, 16), out_shift, h16 + u, h8 + u);
        }
    } else {
        /* (r h16)8 into h8 (the old h8 is not read again), widened; no recurrent bias */
        for (u = 0; u < n_units; ++u) {
            h8[u] = (int8_t)__ssat(edgelstm_gru_rdbp_dsp((int32_t)ax[n_units + u] * (int32_t)h16[u], q->rh_shift), 8);
        }
        (void)edgelstm_widen_s8(h8, n_units, vw, &corr);
        (void)edgelstm_gru_rows_dsp(wh_n, vw, n_units, -128 * corr, n_units, 0, p->multiplier_h + 2 * n_units,
                                    p->shift_h + 2 * n_units, ah, 0);
        for (u = 0; u < n_units; ++u) {
            edgelstm_gru_update_dsp(ax[u], __ssat(an[u] + ah[u], 16), out_shift, h16 + u, h8 + u);
        }
    }
}
#endif /* EDGELSTM_PATH_DSP */
