/*
 * edgelstm_dot_s8_rv32.h - the dot product of EDGELSTM_PATH_RV32 (32-bit RISC-V with M; internal
 * header of edgelstm_lstm_step_s8_s16_rv32.c and edgelstm_gru_step_s8_s16_rv32.c, included only
 * on that path): two groups of 4 rows at once over the offset encoding, LBU + MUL + ADD per
 * multiply-accumulate in GNU assembly (the core has no multiply-accumulate and no SIMD; an
 * exact packing of two 21-bit sums into one 32-bit accumulator does not exist), C otherwise.
 */
#ifndef EDGELSTM_DOT_S8_RV32_H
#define EDGELSTM_DOT_S8_RV32_H

#include <stdint.h>

#include "edgelstm_fixedpoint.h"

/* One weight byte at OFF(W) times input register X into accumulator ACC (T a temporary). */
#define EL_RV_MAC(OFF, W, X, ACC, T)                                                                \
    "lbu  %[" T "], " OFF "(%[" W "])\n\t"                                                         \
    "mul  %[" T "], %[" T "], %[" X "]\n\t"                                                         \
    "add  %[" ACC "], %[" ACC "], %[" T "]\n\t"
/* One column pair (record at byte B: i 0 2, g 1 3, f 4 6, o 5 7) of both units. */
#define EL_RV_PAIR(B, XJ, XK)                                                                       \
    EL_RV_MAC(B "+0", "w", XJ, "ai", "t0") EL_RV_MAC(B "+2", "w", XK, "ai", "t1")                  \
    EL_RV_MAC(B "+1", "w", XJ, "ag", "t0") EL_RV_MAC(B "+3", "w", XK, "ag", "t1")                  \
    EL_RV_MAC(B "+4", "w", XJ, "af", "t0") EL_RV_MAC(B "+6", "w", XK, "af", "t1")                  \
    EL_RV_MAC(B "+5", "w", XJ, "ao", "t0") EL_RV_MAC(B "+7", "w", XK, "ao", "t1")                  \
    EL_RV_MAC(B "+0", "w2", XJ, "bi", "t0") EL_RV_MAC(B "+2", "w2", XK, "bi", "t1")                \
    EL_RV_MAC(B "+1", "w2", XJ, "bg", "t0") EL_RV_MAC(B "+3", "w2", XK, "bg", "t1")                \
    EL_RV_MAC(B "+4", "w2", XJ, "bf", "t0") EL_RV_MAC(B "+6", "w2", XK, "bf", "t1")                \
    EL_RV_MAC(B "+5", "w2", XJ, "bo", "t0") EL_RV_MAC(B "+7", "w2", XK, "bo", "t1")
#define EL_RV_ACC_OPERANDS                                                                          \
    [ai] "+r"(a_i), [af] "+r"(a_f), [ag] "+r"(a_g), [ao] "+r"(a_o), [bi] "+r"(b_i), [bf] "+r"(b_f),  \
        [bg] "+r"(b_g), [bo] "+r"(b_o), [w] "+r"(w), [w2] "+r"(w2), [v] "+r"(v)

/* acc[r] = bias[r] + corr + sum_j b_r[j] v[j] for the 4 gate rows r (i, f, g, o) of the unit at
 * w, and acc[4 + r] the same for the unit at w + stride (biases at bias + 4): two units per
 * pass share every input load; stride 0 computes one unit twice (a last odd unit). Bytes
 * w + 128 (the offset encoding) in the column-pair records of edgelstm_dot_s8.h ([i_j g_j i_k
 * g_k] [f_j o_j f_k o_k], a last odd column [i g f o]); v the widened int32 inputs. Per two
 * column pairs: 4 LW + 32 x (LBU, MUL, ADD) + 3 ADDI + BNE = 104 instructions for 32
 * multiply-accumulates (3.25 each); a last pair 50 for 16. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((always_inline))
#endif
static inline void edgelstm_rv32_dot2(const uint8_t *w, int32_t stride, const int32_t *v, int32_t n,
                                      const int32_t *bias, int32_t corr, int32_t acc[8])
{
    const uint8_t *w2 = w + stride;
    const int32_t *bias2 = bias + (stride ? 4 : 0);
    int32_t a_i = edgelstm_add_wrap_s32(bias[0], corr), a_f = edgelstm_add_wrap_s32(bias[1], corr);
    int32_t a_g = edgelstm_add_wrap_s32(bias[2], corr), a_o = edgelstm_add_wrap_s32(bias[3], corr);
    int32_t b_i = edgelstm_add_wrap_s32(bias2[0], corr), b_f = edgelstm_add_wrap_s32(bias2[1], corr);
    int32_t b_g = edgelstm_add_wrap_s32(bias2[2], corr), b_o = edgelstm_add_wrap_s32(bias2[3], corr);
    int32_t k = n >> 2;
#if defined(__GNUC__) || defined(__clang__)
    {
        int32_t x0, x1, x2, x3, t0, t1;
        if (k > 0) {
            const int32_t *v_end = v + 4 * k;
            __asm__("1:\n\t"
                    "lw   %[x0], 0(%[v])\n\t"
                    "lw   %[x1], 4(%[v])\n\t"
                    "lw   %[x2], 8(%[v])\n\t"
                    "lw   %[x3], 12(%[v])\n\t"
                    EL_RV_PAIR("0", "x0", "x1")
                    EL_RV_PAIR("8", "x2", "x3")
                    "addi %[v], %[v], 16\n\t"
                    "addi %[w], %[w], 16\n\t"
                    "addi %[w2], %[w2], 16\n\t"
                    "bne  %[v], %[ve], 1b\n\t"
                    : EL_RV_ACC_OPERANDS, [x0] "=&r"(x0), [x1] "=&r"(x1), [x2] "=&r"(x2), [x3] "=&r"(x3),
                      [t0] "=&r"(t0), [t1] "=&r"(t1)
                    : [ve] "r"(v_end)
                    : "memory"); /* reads the weights and inputs (at most 30 operands: no "m" ones) */
            k = 0;
        }
        if (n & 2) { /* a last pair of columns */
            __asm__("lw   %[x0], 0(%[v])\n\t"
                    "lw   %[x1], 4(%[v])\n\t"
                    EL_RV_PAIR("0", "x0", "x1")
                    "addi %[v], %[v], 8\n\t"
                    "addi %[w], %[w], 8\n\t"
                    "addi %[w2], %[w2], 8\n\t"
                    : EL_RV_ACC_OPERANDS, [x0] "=&r"(x0), [x1] "=&r"(x1), [t0] "=&r"(t0), [t1] "=&r"(t1)
                    :
                    : "memory");
            n &= ~2;
        }
    }
#endif
    for (; k > 0; --k) { /* the same in C (compilers without GNU assembly) */
        const int32_t x0 = v[0], x1 = v[1], x2 = v[2], x3 = v[3];
        a_i += w[0] * x0 + w[2] * x1 + w[8] * x2 + w[10] * x3;
        a_g += w[1] * x0 + w[3] * x1 + w[9] * x2 + w[11] * x3;
        a_f += w[4] * x0 + w[6] * x1 + w[12] * x2 + w[14] * x3;
        a_o += w[5] * x0 + w[7] * x1 + w[13] * x2 + w[15] * x3;
        b_i += w2[0] * x0 + w2[2] * x1 + w2[8] * x2 + w2[10] * x3;
        b_g += w2[1] * x0 + w2[3] * x1 + w2[9] * x2 + w2[11] * x3;
        b_f += w2[4] * x0 + w2[6] * x1 + w2[12] * x2 + w2[14] * x3;
        b_o += w2[5] * x0 + w2[7] * x1 + w2[13] * x2 + w2[15] * x3;
        v += 4;
        w += 16;
        w2 += 16;
    }
    if (n & 2) {
        const int32_t xj = v[0], xk = v[1];
        a_i += w[0] * xj + w[2] * xk;
        a_g += w[1] * xj + w[3] * xk;
        a_f += w[4] * xj + w[6] * xk;
        a_o += w[5] * xj + w[7] * xk;
        b_i += w2[0] * xj + w2[2] * xk;
        b_g += w2[1] * xj + w2[3] * xk;
        b_f += w2[4] * xj + w2[6] * xk;
        b_o += w2[5] * xj + w2[7] * xk;
        v += 2;
        w += 8;
        w2 += 8;
    }
    if (n & 1) { /* a last column: [i, g, f, o] */
        const int32_t x = v[0];
        a_i += w[0] * x;
        a_g += w[1] * x;
        a_f += w[2] * x;
        a_o += w[3] * x;
        b_i += w2[0] * x;
        b_g += w2[1] * x;
        b_f += w2[2] * x;
        b_o += w2[3] * x;
    }
    acc[0] = a_i;
    acc[1] = a_f;
    acc[2] = a_g;
    acc[3] = a_o;
    acc[4] = b_i;
    acc[5] = b_f;
    acc[6] = b_g;
    acc[7] = b_o;
}
#undef EL_RV_ACC_OPERANDS
#undef EL_RV_PAIR
#undef EL_RV_MAC

#endif /* EDGELSTM_DOT_S8_RV32_H */
