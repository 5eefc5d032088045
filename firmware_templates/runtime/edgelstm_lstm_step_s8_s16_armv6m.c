/*
 * edgelstm_lstm_step_s8_s16_armv6m.c - the LSTM step on EDGELSTM_PATH_ARMV6M (Cortex-M0 / M0+ /
 * M1: __ARM_ARCH_6M__, GCC or clang with optimisation; edgelstm_config.h). Compiled whole on that
 * path, empty on the others. The step's formulas and order of work: edgelstm_lstm_step_s8_s16.c.
 */
#include "edgelstm_lstm_step_s8_s16.h"

#if defined(EDGELSTM_PATH_ARMV6M)
#include <stddef.h>

/* ---- the whole unit loop in one block of assembly ---------------------------------------------
 *
 * The same schedule as the DSP path with the core's 16-bit instructions: per unit and side,
 * 16 multiply-accumulates in 52 instructions (one LDM of 4 widened inputs, LDRB + MULS + ADD
 * per weight, the accumulators in r8..r11); the requantisation is edgelstm_rq16_muls (16 x 16
 * MULS partial products, edgelstm_fixedpoint.h), its short form when the multiplier is 2^30
 * (the f*c and i*g products of every TFLM LSTM; edgelstm_mbqm_m30); sigmoid and tanh
 * interpolate the table as edgelstm_sigmoid_q15 / edgelstm_tanh_q15_in. Those four are local
 * subroutines (BL / BX LR) to keep the flash small. The context pointer lives in r12.
 *
 * Thumb-1 reaches the context with LDR / STR rT, [rB, #imm] (imm a multiple of 4 up to 124)
 * and ADDS rB, #imm (imm up to 255): every scalar below lies under 124 bytes (the scalars of
 * q first, edgelstm_lstm_prepared_t), the first requantiser of each group under 255 (the
 * assembler refuses the code otherwise). */
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
    int32_t nbx16;          /* bytes of x's 4-column blocks (16 per block), its last n % 4 */
    int32_t kx;
    int32_t nbh16;
    int32_t kh;
    int32_t corr_x;         /* -128 sum x, -128 sum h */
    int32_t corr_h;
    const uint16_t *table;
    int32_t spill[4];       /* the x side's requantised gates while the h side runs */
    int32_t cell_m30;       /* 1: f*c and i*g have the multiplier 2^30 */
    edgelstm_lstm_prepared_t q; /* clip, tanh(c) input, h offset; the requantisers (edgelstm_rq16_muls) */
} edgelstm_lstm_m0_t;

/* The context's fields other than q (edgelstm_lstm_prepare), c and h. */
static inline void edgelstm_lstm_m0_context(const edgelstm_lstm_params_s8_s16_t *p, const edgelstm_lstm_inputs_t *in,
                                            edgelstm_lstm_m0_t *d)
{
    d->wx = (const uint8_t *)p->weights_x;
    d->wh = (const uint8_t *)p->weights_h;
    d->bx = p->bias_x;
    d->bh = p->bias_h;
    d->xw = in->xw;
    d->hw = in->hw;
    d->units_left = p->units;
    d->nbx16 = (p->input_size >> 2) * 16;
    d->kx = p->input_size & 3;
    d->nbh16 = (p->units >> 2) * 16;
    d->kh = p->units & 3;
    d->corr_x = in->corr_x;
    d->corr_h = in->corr_h;
    d->table = edgelstm_sigmoid_table_uint16;
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

/* r8..r11 requantised in place with the next 4 requantisers at r7. */
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

__attribute__((noinline)) /* the assembly's own frame: every register, r12 at the context */
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
        "adds    r7, #%c[o_gx]\n\t"
        EL_M0_RQ4
        "mov     r7, r12\n\t"
        "mov     r0, r8\n\t"
        "str     r0, [r7, #%c[o_sp]]\n\t"
        "mov     r0, r9\n\t"
        "str     r0, [r7, #%c[o_sp]+4]\n\t"
        "mov     r0, r10\n\t"
        "str     r0, [r7, #%c[o_sp]+8]\n\t"
        "mov     r0, r11\n\t"
        "str     r0, [r7, #%c[o_sp]+12]\n\t"
        /* ---- recurrent side ---- */
        EL_M0_DOT_SIDE("o_wh", "o_hw", "o_bh", "o_ch", "o_nbh", "o_kh")
        "mov     r7, r12\n\t"
        "adds    r7, #%c[o_gh]\n\t"
        EL_M0_RQ4
        /* ---- gates sat16(x side + h side), activations: i r8, f r9, g r10, o r11 ---- */
        "mov     r7, r12\n\t"
        "ldr     r6, [r7, #%c[o_table]]\n\t"
        "movs    r5, #1\n\t"
        "lsls    r5, r5, #9\n\t"
        "ldr     r0, [r7, #%c[o_sp]]\n\t"
        "add     r0, r8\n\t"
        EL_M0_SAT16
        "bl      92f\n\t"
        "mov     r8, r0\n\t"
        "ldr     r0, [r7, #%c[o_sp]+4]\n\t"
        "add     r0, r9\n\t"
        EL_M0_SAT16
        "bl      92f\n\t"
        "mov     r9, r0\n\t"
        "ldr     r0, [r7, #%c[o_sp]+12]\n\t"
        "add     r0, r11\n\t"
        EL_M0_SAT16
        "bl      92f\n\t"
        "mov     r11, r0\n\t"
        "ldr     r0, [r7, #%c[o_sp]+8]\n\t"
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
        "adds    r7, #%c[o_gh]\n\t"
        "adds    r7, #%c[o_gh_cf]\n\t"              /* cell_forget = gate_h + 4 requantisers */
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
        /* ---- 90: r0 = sat16(MBQM(r0)) with the requantiser at r7 (r7 += 24; r1..r6) ---- */
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
          [o_m30] EL_M0_OFF(cell_m30), [o_sp] EL_M0_OFF(spill) /* +4k: spill[k] */, [o_clo] EL_M0_OFF(q.clip_lo),
          [o_chi] EL_M0_OFF(q.clip_hi), [o_tk] EL_M0_OFF(q.tanh_in.k), [o_tr] EL_M0_OFF(q.tanh_in.r),
          [o_ts] EL_M0_OFF(q.tanh_in.s), [o_hoff] EL_M0_OFF(q.h_offset), [o_gx] EL_M0_OFF(q.gate_x),
          [o_gh] EL_M0_OFF(q.gate_h),
          [o_gh_cf] "i"(offsetof(edgelstm_lstm_prepared_t, cell_forget) - offsetof(edgelstm_lstm_prepared_t, gate_h))
        : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory");
}

void edgelstm_lstm_step_s8_s16(const edgelstm_lstm_params_s8_s16_t *p, const int8_t *x, const int8_t *h_in,
                               int8_t *h_out, int16_t *c, int16_t *gate_scratch)
{
    edgelstm_lstm_m0_t d;
    const int32_t ok = edgelstm_lstm_prepare(p, &d.q);
    const edgelstm_lstm_inputs_t in = edgelstm_lstm_widen_inputs(p, x, h_in, gate_scratch);
    EDGELSTM_DEBUG_ASSERT(ok);
    edgelstm_lstm_m0_context(p, &in, &d);
    d.c = c;
    d.h = h_out;
    if (d.units_left > 0) {
        edgelstm_lstm_units_m0(&d);
    }
}
#endif /* EDGELSTM_PATH_ARMV6M */
