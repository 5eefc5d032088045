/*
 * edgelstm_gru_step_s8_s16_armv6m.c - the GRU step on EDGELSTM_PATH_ARMV6M (Cortex-M0 / M0+ / M1:
 * __ARM_ARCH_6M__, GCC or clang with optimisation; edgelstm_config.h). Compiled whole on that
 * path, empty on the others. The step's formulas and order of work: edgelstm_gru_step_s8_s16.c.
 *
 * Per group of 4 rows: the LSTM's MULS kernel (edgelstm_lstm_step_s8_s16_armv6m.c: 16
 * multiply-accumulates in 52 instructions, one LDM of 4 widened inputs, LDRB + MULS + ADD per
 * weight), then each row requantised from its own multiplier and shift by 16 x 16 MULS partial
 * products (edgelstm_rq16_muls, edgelstm_fixedpoint.h, with the prepared words made on the way),
 * and for z and r the sigmoid of sat16(input side + row) in the same pass (the table
 * interpolation of edgelstm_sigmoid_q15). The candidate's r product, tanh and the state update
 * follow in C with the ARMv6-M arithmetic (EDGELSTM_NO_MUL64).
 */
#include "edgelstm_gru_step_s8_s16.h"

#if defined(EDGELSTM_PATH_ARMV6M)
#include <stddef.h>

/* Thumb-1 reaches the context with LDR / STR rT, [rB, #imm] (imm a multiple of 4 up to 124). */
typedef struct {
    const uint8_t *w;       /* the group's rows (advanced group by group) */
    const uint32_t *vw;     /* the widened input (one int32 per value) */
    int32_t nb16;           /* bytes of the 4-column blocks (16 per block), and the last n % 4 */
    int32_t k;
    const int32_t *bias;    /* 4 per group (advanced by bstep: 16, or 0 for the zeros) */
    int32_t bstep;
    int32_t corr;           /* -128 sum v (all bytes are w + 128) */
    const int32_t *mult;    /* per row (advanced) */
    const int8_t *shift;
    int16_t *out;
    const int16_t *out_end; /* out after the last group */
    int32_t gates;          /* 1: out = sigmoid(sat16(out + row)) (z, r), 0: out = row */
    const uint16_t *table;
} edgelstm_gru_m0_t;

/* One weight byte at offset OFF times input register X into accumulator ACC (r4 temp). */
#define EG_M0_MAC(OFF, X, ACC)                                                                      \
    "ldrb    r4, [r5, #" OFF "]\n\t"                                                                \
    "muls    r4, " X ", r4\n\t"                                                                     \
    "add     " ACC ", r4\n\t"

/* r0 = sat16(r0); r1 temp; L a label number. */
#define EG_M0_SAT16(L)                                                                              \
    "sxth    r1, r0\n\t"                                                                            \
    "cmp     r1, r0\n\t"                                                                            \
    "beq     " L "f\n\t"                                                                            \
    "asrs    r0, r0, #31\n\t"                                                                       \
    "movs    r1, #1\n\t"                                                                            \
    "lsls    r1, r1, #15\n\t"                                                                       \
    "subs    r1, r1, #1\n\t"                                                                        \
    "eors    r0, r1\n"                                                                              \
    L ":\n\t"

/* Row R (r8..r11) of the gates pass: out[OFF / 2] = sigmoid(sat16(out[OFF / 2] + R)), out at r7. */
#define EG_M0_GATE(R, OFF)                                                                          \
    "movs    r3, #" OFF "\n\t"                                                                      \
    "ldrsh   r1, [r7, r3]\n\t"                                                                      \
    "mov     r0, " R "\n\t"                                                                         \
    "adds    r0, r0, r1\n\t"                                                                        \
    EG_M0_SAT16("8")                                                                                \
    "bl      92f\n\t"                                                                               \
    "strh    r0, [r7, #" OFF "]\n\t"

#define EG_M0_OFF(field) "i"(offsetof(edgelstm_gru_m0_t, field))

__attribute__((noinline)) /* the assembly's own frame: every register, r12 at the context */
static void edgelstm_gru_rows_asm_m0(edgelstm_gru_m0_t *ctx)
{
    __asm__ volatile(
        ".syntax unified\n\t"
        "ldr     r0, %[ctx]\n\t"
        "mov     r12, r0\n"
        "1:\n\t"
        /* ---- the group's 4 row sums into r8..r11 ---- */
        "mov     r7, r12\n\t"
        "ldr     r4, [r7, #%c[o_bias]]\n\t"
        "ldr     r5, [r7, #%c[o_bstep]]\n\t"
        "adds    r5, r4, r5\n\t"
        "str     r5, [r7, #%c[o_bias]]\n\t"
        "ldmia   r4!, {r0, r1, r2, r3}\n\t"         /* the 4 biases */
        "ldr     r4, [r7, #%c[o_corr]]\n\t"
        "adds    r0, r0, r4\n\t"                    /* + -128 sum v */
        "adds    r1, r1, r4\n\t"
        "adds    r2, r2, r4\n\t"
        "adds    r3, r3, r4\n\t"
        "mov     r8, r0\n\t"
        "mov     r9, r1\n\t"
        "mov     r10, r2\n\t"
        "mov     r11, r3\n\t"
        "ldr     r5, [r7, #%c[o_w]]\n\t"
        "ldr     r6, [r7, #%c[o_vw]]\n\t"
        "ldr     r4, [r7, #%c[o_nb16]]\n\t"
        "adds    r4, r4, r6\n\t"
        "mov     lr, r4\n\t"                        /* end of the widened blocks */
        "cmp     r6, lr\n\t"
        "beq     3f\n"
        "2:\n\t"
        "ldmia   r6!, {r0, r1, r2, r3}\n\t"         /* v0 .. v3 */
        EG_M0_MAC("0", "r0", "r8") EG_M0_MAC("2", "r1", "r8") EG_M0_MAC("8", "r2", "r8")
        EG_M0_MAC("10", "r3", "r8") EG_M0_MAC("1", "r0", "r10") EG_M0_MAC("3", "r1", "r10")
        EG_M0_MAC("9", "r2", "r10") EG_M0_MAC("11", "r3", "r10") EG_M0_MAC("4", "r0", "r9")
        EG_M0_MAC("6", "r1", "r9") EG_M0_MAC("12", "r2", "r9") EG_M0_MAC("14", "r3", "r9")
        EG_M0_MAC("5", "r0", "r11") EG_M0_MAC("7", "r1", "r11") EG_M0_MAC("13", "r2", "r11")
        EG_M0_MAC("15", "r3", "r11")
        "adds    r5, #16\n\t"
        "cmp     r6, lr\n\t"
        "bne     2b\n"
        "3:\n\t"
        "ldr     r4, [r7, #%c[o_k]]\n\t"
        "lsrs    r0, r4, #2\n\t"                    /* carry = bit 1: a last column pair */
        "bcc     4f\n\t"
        "ldmia   r6!, {r0, r1}\n\t"
        "mov     r3, r4\n\t"
        EG_M0_MAC("0", "r0", "r8") EG_M0_MAC("2", "r1", "r8") EG_M0_MAC("1", "r0", "r10")
        EG_M0_MAC("3", "r1", "r10") EG_M0_MAC("4", "r0", "r9") EG_M0_MAC("6", "r1", "r9")
        EG_M0_MAC("5", "r0", "r11") EG_M0_MAC("7", "r1", "r11")
        "mov     r4, r3\n\t"
        "adds    r5, #8\n"
        "4:\n\t"
        "lsrs    r0, r4, #1\n\t"                    /* carry = bit 0: a last column [i g f o] */
        "bcc     5f\n\t"
        "ldmia   r6!, {r0}\n\t"
        EG_M0_MAC("0", "r0", "r8") EG_M0_MAC("1", "r0", "r10") EG_M0_MAC("2", "r0", "r9")
        EG_M0_MAC("3", "r0", "r11")
        "adds    r5, #4\n"
        "5:\n\t"
        "str     r5, [r7, #%c[o_w]]\n\t"
        /* ---- the 4 rows requantised in place (subroutine 90), m and s at r6, r7 ---- */
        "ldr     r6, [r7, #%c[o_mult]]\n\t"
        "ldr     r7, [r7, #%c[o_shift]]\n\t"
        "mov     r0, r8\n\t"
        "bl      90f\n\t"
        "mov     r8, r0\n\t"
        "mov     r0, r9\n\t"
        "bl      90f\n\t"
        "mov     r9, r0\n\t"
        "mov     r0, r10\n\t"
        "bl      90f\n\t"
        "mov     r10, r0\n\t"
        "mov     r0, r11\n\t"
        "bl      90f\n\t"
        "mov     r11, r0\n\t"
        "mov     r5, r12\n\t"
        "str     r6, [r5, #%c[o_mult]]\n\t"
        "str     r7, [r5, #%c[o_shift]]\n\t"
        "ldr     r7, [r5, #%c[o_out]]\n\t"
        "ldr     r0, [r5, #%c[o_gates]]\n\t"
        "cmp     r0, #0\n\t"
        "bne     30f\n\t"
        "mov     r0, r8\n\t"
        "strh    r0, [r7, #0]\n\t"
        "mov     r0, r9\n\t"
        "strh    r0, [r7, #2]\n\t"
        "mov     r0, r10\n\t"
        "strh    r0, [r7, #4]\n\t"
        "mov     r0, r11\n\t"
        "strh    r0, [r7, #6]\n"
        "31:\n\t"
        "adds    r7, #8\n\t"
        "mov     r5, r12\n\t"
        "str     r7, [r5, #%c[o_out]]\n\t"
        "ldr     r0, [r5, #%c[o_end]]\n\t"
        "cmp     r7, r0\n\t"
        "bne     32f\n\t"
        "b       99f\n"
        "32:\n\t"
        "b       1b\n"
        /* ---- z and r: out = sigmoid(sat16(out + row)) ---- */
        "30:\n\t"
        "ldr     r6, [r5, #%c[o_table]]\n\t"
        "movs    r5, #1\n\t"
        "lsls    r5, r5, #9\n\t"
        EG_M0_GATE("r8", "0")
        EG_M0_GATE("r9", "2")
        EG_M0_GATE("r10", "4")
        EG_M0_GATE("r11", "6")
        "b       31b\n"
        /* ---- 90: r0 = sat16(MBQM(r0, m, s)), m at r6 and s at r7 (both advanced); r1..r5.
         * x' = x 2^max(s, 0); Z = SRDHM(x', m) from m = mh 2^16 + ml (edgelstm_rq16_muls: for
         * m = 0 every partial product is 0, so Z = 0); then RDBP by e = max(-s, 0) ---- */
        "90:\n\t"
        "ldmia   r6!, {r2}\n\t"                     /* m */
        "movs    r3, #0\n\t"
        "ldrsb   r3, [r7, r3]\n\t"                  /* s */
        "adds    r7, #1\n\t"
        "cmp     r3, #0\n\t"
        "ble     91f\n\t"
        "lsls    r0, r3\n\t"                        /* x' = x 2^s (wrapping), e = 0 */
        "movs    r3, #0\n"
        "91:\n\t"
        "rsbs    r3, r3, #0\n\t"                    /* e */
        "asrs    r4, r0, #31\n\t"                   /* sign of x' */
        "asrs    r5, r2, #16\n\t"                   /* mh */
        "uxth    r2, r2\n\t"                        /* ml */
        "sxth    r1, r0\n\t"
        "cmp     r1, r0\n\t"
        "bne     95f\n\t"
        /* |x'| < 2^15: Z = (x' mh + (x' ml >> 16) + 2^14) >> 15 (both products fit int32) */
        "muls    r1, r2, r1\n\t"                    /* x' ml */
        "asrs    r1, r1, #16\n\t"
        "muls    r0, r5, r0\n\t"                    /* x' mh */
        "adds    r0, r0, r1\n\t"
        "movs    r1, #1\n\t"
        "lsls    r1, r1, #14\n\t"
        "adds    r0, r0, r1\n\t"
        "asrs    r0, r0, #15\n\t"                   /* Z */
        "b       97f\n"
        "95:\n\t"
        "push    {r3, r4}\n\t"
        "uxth    r1, r0\n\t"                        /* xl */
        "asrs    r0, r0, #16\n\t"                   /* xh */
        "movs    r3, r1\n\t"
        "muls    r3, r2, r3\n\t"                    /* xl ml */
        "lsrs    r3, r3, #16\n\t"
        "muls    r2, r0, r2\n\t"                    /* xh ml */
        "adds    r2, r2, r3\n\t"                    /* t */
        "uxth    r3, r2\n\t"
        "asrs    r2, r2, #16\n\t"
        "muls    r1, r5, r1\n\t"                    /* xl mh */
        "adds    r1, r1, r3\n\t"                    /* w1 */
        "muls    r0, r5, r0\n\t"                    /* xh mh */
        "adds    r0, r0, r2\n\t"
        "lsls    r0, r0, #1\n\t"
        "movs    r3, #1\n\t"
        "lsls    r3, r3, #14\n\t"
        "adds    r1, r1, r3\n\t"
        "lsrs    r1, r1, #15\n\t"
        "adds    r0, r0, r1\n\t"                    /* Z */
        "pop     {r3, r4}\n"
        "97:\n\t"
        "cmp     r3, #0\n\t"
        "beq     98f\n\t"
        "adds    r0, r0, r4\n\t"                    /* T = Z - [x' < 0] */
        "asrs    r0, r3\n\t"                        /* by e: the carry is bit e - 1 */
        "movs    r1, #0\n\t"
        "adcs    r0, r1\n"
        "98:\n\t"
        EG_M0_SAT16("8")
        "bx      lr\n"
        /* ---- 92: r0 = sigmoid(r0) (Q3.12 -> Q0.15), table at r6, r5 = 2^9 (r1..r4): the
         * LSTM's subroutine 92 (edgelstm_sigmoid_q15) ---- */
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
        "99:\n\t"
        :
        : [ctx] "m"(ctx), [o_w] EG_M0_OFF(w), [o_vw] EG_M0_OFF(vw), [o_nb16] EG_M0_OFF(nb16), [o_k] EG_M0_OFF(k),
          [o_bias] EG_M0_OFF(bias), [o_bstep] EG_M0_OFF(bstep), [o_corr] EG_M0_OFF(corr), [o_mult] EG_M0_OFF(mult),
          [o_shift] EG_M0_OFF(shift), [o_out] EG_M0_OFF(out), [o_end] EG_M0_OFF(out_end),
          [o_gates] EG_M0_OFF(gates), [o_table] EG_M0_OFF(table)
        : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory");
}

/* Rows [0, rows) of a gate product against the widened v (n columns, correction corr):
 * out[i] = sat16(MBQM(W_i v + bias_i, mult_i, shift_i)) (gates = 0) or sigmoid(sat16(out[i] +
 * that)) (gates = 1); bias NULL: none. The groups of 4 in the assembly; a last group of fewer
 * rows through copies padded with zero rows (multiplier 0), so nothing is read or written past
 * the arrays. Returns the end of the rows' weights. */
static const uint8_t *edgelstm_gru_rows_m0(const uint8_t *w, const uint32_t *vw, int32_t n, int32_t corr, int32_t rows,
                                           const int32_t *bias, const int32_t *mult, const int8_t *shift, int16_t *out,
                                           int32_t gates)
{
    static const int32_t zeros[4] = {0, 0, 0, 0};
    edgelstm_gru_m0_t d;
    d.w = w;
    d.vw = vw;
    d.nb16 = (n >> 2) * 16;
    d.k = n & 3;
    d.bias = (bias != 0) ? bias : zeros;
    d.bstep = (bias != 0) ? 16 : 0;
    d.corr = corr;
    d.mult = mult;
    d.shift = shift;
    d.out = out;
    d.out_end = out + (rows & ~3);
    d.gates = gates;
    d.table = edgelstm_sigmoid_table_uint16;
    if (rows >= 4) {
        edgelstm_gru_rows_asm_m0(&d);
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
        edgelstm_gru_rows_asm_m0(&d);
        for (k = 0; k < 3; ++k) {
            if (k < rem) {
                out[r0 + k] = o[k];
            }
        }
    }
    return d.w;
}

/* One out-of-line copy (Cortex-M0 parts have little flash). */
__attribute__((noinline)) static int32_t edgelstm_gru_widen_m0(const int8_t *v, int32_t n, uint32_t *vw)
{
    int32_t sum;
    (void)edgelstm_widen_s8(v, n, vw, &sum);
    return -128 * sum;
}

/* RDBP(x, e) for e in [1, 31] and x > INT32_MIN: floor((x - [x < 0]) / 2^(e-1) + 1) / 2 (the
 * rounding of edgelstm_rounding_divide_by_pot, nested floors merged; no branch). */
static inline int32_t edgelstm_gru_rdbp_m0(int32_t x, int32_t e)
{
    return edgelstm_asr_s32(edgelstm_asr_s32(x + edgelstm_asr_s32(x, 31), e - 1) + 1, 1);
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
    corr = edgelstm_gru_widen_m0(x, p->input_size, vw);
    (void)edgelstm_gru_rows_m0((const uint8_t *)p->weights_x, vw, p->input_size, corr, 3 * n_units, p->bias_x,
                               p->multiplier_x, p->shift_x, ax, 0);

    /* 2. z and r: the recurrent rows 0 .. 2U-1 on the old h8; ax = sigmoid(sat16(ax + ah)). */
    corr = edgelstm_gru_widen_m0(h8, n_units, vw);
    wh_n = edgelstm_gru_rows_m0((const uint8_t *)p->weights_h, vw, n_units, corr, 2 * n_units, bh, p->multiplier_h,
                                p->shift_h, ax, 1);

    /* 3. The candidate's rows into ah[0 .. U-1], then its pre-activation n_pre there. */
    if (p->reset_after) {
        /* r * (U_h h8 + bh_h) on the old h8 (still widened): sat16(MBQM) with reset_mul
         * (graph.py checks the form); its multiplier is 2^30 for every model edgelstm makes
         * (2^-15, edgelstm_mbqm_m30: no multiply) */
        const edgelstm_mul_params_t *rm = &p->reset_mul;
        (void)edgelstm_gru_rows_m0(wh_n, vw, n_units, corr, n_units, bh ? bh + 2 * n_units : 0,
                                   p->multiplier_h + 2 * n_units, p->shift_h + 2 * n_units, ah, 0);
        for (u = 0; u < n_units; ++u) {
            const int32_t prod = (int32_t)ax[n_units + u] * (int32_t)ah[u];
            /* m = 2^30, shift < 0: RDBP(floor((x + 1) / 2), -shift) (edgelstm_mbqm_m30) */
            const int32_t rh = (rm->multiplier == 0x40000000 && rm->shift < 0)
                                   ? edgelstm_gru_rdbp_m0(edgelstm_asr_s32(prod, 1) + (prod & 1), -rm->shift)
                                   : edgelstm_mbqm(prod, rm->multiplier, rm->shift);
            ah[u] = (int16_t)edgelstm_sat16(an[u] + edgelstm_sat16(rh));
        }
    } else {
        /* (r h16)8 into h8 (the old h8 is not read again), widened; no recurrent bias */
        for (u = 0; u < n_units; ++u) {
            h8[u] = (int8_t)edgelstm_sat8(edgelstm_gru_rdbp_m0((int32_t)ax[n_units + u] * (int32_t)h16[u], q->rh_shift));
        }
        corr = edgelstm_gru_widen_m0(h8, n_units, vw);
        (void)edgelstm_gru_rows_m0(wh_n, vw, n_units, corr, n_units, 0, p->multiplier_h + 2 * n_units,
                                   p->shift_h + 2 * n_units, ah, 0);
        for (u = 0; u < n_units; ++u) {
            ah[u] = (int16_t)edgelstm_sat16(an[u] + ah[u]);
        }
    }
    /* 4. n = tanh(n_pre), the state and the output (one copy of the update) */
    for (u = 0; u < n_units; ++u) { /* edgelstm_gru_update_c with the rounding above */
        const int32_t n = edgelstm_tanh_q15_in(ah[u] * 3);
        const int32_t st = edgelstm_sat16(n + edgelstm_gru_rdbp_m0(ax[u] * ((int32_t)h16[u] - n), 15));
        h16[u] = (int16_t)st;
        h8[u] = (int8_t)edgelstm_sat8(edgelstm_gru_rdbp_m0(2 * st, out_shift + 1)); /* RDBP(st, out_shift) */
    }
}
#endif /* EDGELSTM_PATH_ARMV6M */
