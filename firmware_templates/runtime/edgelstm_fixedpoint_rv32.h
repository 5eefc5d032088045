/*
 * edgelstm_fixedpoint_rv32.h - the requantiser of EDGELSTM_PATH_RV32 (32-bit RISC-V with M;
 * internal header of edgelstm_lstm_step_s8_s16_rv32.c and edgelstm_gru_step_s8_s16_rv32.c,
 * included only on that path): sat16(MultiplyByQuantizedMultiplier) with one MULHSU and no
 * 64-bit arithmetic, the same value as edgelstm_rq16 (edgelstm_fixedpoint.h) and TFLM.
 */
#ifndef EDGELSTM_FIXEDPOINT_RV32_H
#define EDGELSTM_FIXEDPOINT_RV32_H

#include <stdint.h>

#include "edgelstm_fixedpoint.h"

/* The requantiser on RV32 (the same value as edgelstm_rq16: sat16(MBQM(x, m, shift)) for
 * m = 0 or m >= 2^30, every shift in [-31, 31], every int32 x):
 *
 *   x' = x << left                                  (wrapping, as wrap_int32(x << left))
 *   Z  = SRDHM(x', m) = floor((x' 2m + 2^31) / 2^32)
 *      = MULHSU(x', 2m) + (MUL(x', 2m) >> 31)        (2m < 2^32 unsigned: the high word of the
 *                                                      signed x unsigned product, plus the
 *                                                      carry of the + 2^31 into it)
 *   e = 0:  the result is Z (a branch on a per-step constant: no work for the common
 *           shift >= 0 of the input side)
 *   e >= 1: T = Z - [x' < 0] (see edgelstm_rq16) and
 *           RDBP(Z, e) = floor((T + 2^(e-1)) / 2^e) = ((T >> (e - 1)) + 1) >> 1
 *           (T + 2^(e-1) could overflow 32 bits, (T >> (e-1)) + 1 cannot).
 *
 * m = 0 is m2 = 0: Z = 0 whatever left is (a shift by 32 would be a shift by 0 on RISC-V). */
typedef struct {
    uint32_t m2;  /* 2 m */
    int32_t left; /* max(shift, 0) */
    int32_t e;    /* max(-shift, 0) */
    int32_t em1;  /* e - 1 (when e >= 1) */
} edgelstm_rv32_rq_t;

static inline int32_t edgelstm_rv32_rq_prepare(int32_t multiplier, int32_t shift, edgelstm_rv32_rq_t *q)
{
    const int32_t e = (shift < 0) ? -shift : 0;
    q->m2 = (uint32_t)multiplier << 1;
    q->left = (shift > 0) ? shift : 0;
    q->e = e;
    q->em1 = (e >= 1) ? e - 1 : 0;
    return (multiplier == 0 || multiplier >= 0x40000000) ? 1 : 0;
}

/* The high word of the signed x unsigned product (MULHSU), in C the compiler turns into that one
 * instruction on RV32M (int64 product of a sign-extended and a zero-extended 32-bit value). */
static inline int32_t edgelstm_rv32_mulhsu(int32_t a, uint32_t b)
{
#if defined(__GNUC__) || defined(__clang__)
    int32_t r;
    __asm__("mulhsu %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
#else
    return (int32_t)(((int64_t)a * (int64_t)b) >> 32);
#endif
}

/* The requantisation before its sat16. */
static inline int32_t edgelstm_rv32_rq_raw(int32_t x, const edgelstm_rv32_rq_t *q)
{
    const int32_t x1 = edgelstm_shl_wrap_s32(x, q->left);
    const int32_t z = edgelstm_rv32_mulhsu(x1, q->m2) + (int32_t)(((uint32_t)x1 * q->m2) >> 31);
    if (q->e == 0) {
        return z;
    }
    return edgelstm_asr_s32(edgelstm_asr_s32(z + edgelstm_asr_s32(x1, 31), q->em1) + 1, 1);
}

/* sat16 with one compare on the common path (values inside the int16 range). */
static inline int32_t edgelstm_rv32_sat16(int32_t v)
{
#if defined(__GNUC__) || defined(__clang__)
    if (__builtin_expect((uint32_t)v + 32768u > 65535u, 0)) { /* the rare case out of line */
#else
    if ((uint32_t)v + 32768u > 65535u) {
#endif
        v = (v < 0) ? EDGELSTM_INT16_MIN : EDGELSTM_INT16_MAX;
    }
    return v;
}

static inline int32_t edgelstm_rv32_rq(int32_t x, const edgelstm_rv32_rq_t *q)
{
    return edgelstm_rv32_sat16(edgelstm_rv32_rq_raw(x, q));
}

#endif /* EDGELSTM_FIXEDPOINT_RV32_H */
