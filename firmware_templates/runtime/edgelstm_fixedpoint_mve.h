/*
 * edgelstm_fixedpoint_mve.h - the primitives of edgelstm_fixedpoint.h on 4 int32 lanes, for
 * EDGELSTM_PATH_MVE (Cortex-M55 / M85 with Helium; edgelstm_config.h), internal header. Empty
 * on every other path. Each gives, lane by lane, the bytes of the scalar function it names
 * (tests/test_target_m55.py runs every shape under QEMU against the simulator).
 *
 * Requantisation (TFLM MultiplyByQuantizedMultiplier, double rounding): x' = wrap(x << left);
 * S = SRDHM(x', m) is VQRDMULH exactly (gemmlowp's two nudges both give floor((x' m + 2^30) /
 * 2^31), and VQRDMULH saturates only INT32_MIN * INT32_MIN, as gemmlowp); RDBP(S, e) =
 * (S - [S < 0] + 2^(e-1)) >> e is VRSHL by -e after the -[S < 0] fix-up, as gemmlowp's NEON
 * RoundingDivideByPOT. Exact for every multiplier (any sign) and shift in [-31, 31].
 *
 * Sigmoid / tanh (TFLM's LUT functions, the shortened forms of edgelstm_fixedpoint.h): the
 * table pair by two VLDRH.U32 gathers, the interpolation by VMLAS + VMLA.
 */
#ifndef EDGELSTM_FIXEDPOINT_MVE_H
#define EDGELSTM_FIXEDPOINT_MVE_H

#include <stdint.h>

#include "edgelstm_fixedpoint.h"

#if defined(EDGELSTM_PATH_MVE)
#include <arm_mve.h>

#ifdef __cplusplus
extern "C" {
#endif

/* GCC: out-of-line helpers keep the 8 Q registers for one job at a time; pre-register-allocation
 * scheduling and the vectoriser only add spills in these functions (clang has neither
 * attribute; both are hints, the values do not depend on them). */
#if defined(__GNUC__) || defined(__clang__)
#define EDGELSTM_MVE_NOINLINE __attribute__((noinline))
#else
#define EDGELSTM_MVE_NOINLINE
#endif
#if defined(__GNUC__) && !defined(__clang__)
#define EDGELSTM_MVE_NO_SCHED __attribute__((optimize("no-schedule-insns")))
#define EDGELSTM_MVE_NO_VECTORIZE __attribute__((optimize("no-tree-vectorize")))
#else
#define EDGELSTM_MVE_NO_SCHED
#define EDGELSTM_MVE_NO_VECTORIZE
#endif

/* RDBP(x, e) lane by lane for one e in [0, 31] (fmask = -1 when e > 0, else 0), x > INT32_MIN
 * (x - 1 must not wrap; SRDHM's results and the GRU's products never reach INT32_MIN). */
static inline int32x4_t edgelstm_rdbp_mve(int32x4_t x, int32_t e, int32_t fmask)
{
    const int32x4_t t = vaddq_s32(x, vandq_s32(vshrq_n_s32(x, 31), vdupq_n_s32(fmask)));
    return vrshlq_n_s32(t, -e);
}

/* The same (x > INT32_MIN) with the fix-up's shift prepared by the caller, fix = -31 when
 * e > 0, else -32: [x < 0] is x's sign bit shifted right by 31 as unsigned, or by 32 (VSHL by
 * -32 gives 0). */
static inline int32x4_t edgelstm_rdbp_fix_mve(int32x4_t x, int32_t e, int32_t fix)
{
    const uint32x4_t neg = vshlq_r_u32(vreinterpretq_u32_s32(x), fix);
    return vrshlq_n_s32(vsubq_s32(x, vreinterpretq_s32_u32(neg)), -e);
}

/* edgelstm_rq16 before its sat16: MBQM(x, m, shift) with the prepared words of edgelstm_rq16_t
 * (m = 0: left = 32 + ..., VSHL by 32 or more gives 0, and VQRDMULH by 0 gives 0 anyway). */
static inline int32x4_t edgelstm_rq_mve(int32x4_t x, const edgelstm_rq16_t *q)
{
    const int32_t m = (int32_t)((uint32_t)q->m2s >> 1);
    return edgelstm_rdbp_mve(vqrdmulhq_n_s32(vshlq_r_s32(x, q->left), m), q->e, q->fmask);
}

/* MBQM(x, m, shift) with a multiplier and a shift per lane (per-row requantisation). */
static inline int32x4_t edgelstm_mbqm_rows_mve(int32x4_t x, int32x4_t m, int32x4_t shift)
{
    const int32x4_t zero = vdupq_n_s32(0);
    const int32x4_t s = vqrdmulhq_s32(vshlq_s32(x, vmaxq_s32(shift, zero)), m);
    const int32x4_t t = vaddq_s32(s, vandq_s32(vshrq_n_s32(s, 31), vshrq_n_s32(shift, 31)));
    return vrshlq_s32(t, vminq_s32(shift, zero));
}

/* sat16 lane by lane, as the low halves of the 32-bit lanes (what VSTRH.32 stores). */
static inline int16x8_t edgelstm_sat16_lo_mve(int32x4_t a)
{
    return vqmovnbq_s32(vuninitializedq_s16(), a); /* the top halves are never read */
}

/* sat16(sat16(a) + sat16(b)): VQMOVNB to int16 lanes, VQADD.S16, back to int32 (VMOVLB). */
static inline int32x4_t edgelstm_sat16_add_mve(int32x4_t a, int32x4_t b)
{
    return vmovlbq_s16(vqaddq_s16(edgelstm_sat16_lo_mve(a), edgelstm_sat16_lo_mve(b)));
}

/* sat16(a + b) for a and b already in int16 (no overflow in int32): VADD, VMIN, VMAX. */
static inline int32x4_t edgelstm_sat16_add16_mve(int32x4_t a, int32x4_t b)
{
    return vmaxq_s32(vminq_s32(vaddq_s32(a, b), vdupq_n_s32(32767)), vdupq_n_s32(-32768));
}

/* -v where m is -1, v where m is 0 ((v ^ m) - m): the sign selections below without a
 * predicate (VCMP / VPSEL would keep the predicate register busy around the table loads). */
static inline int32x4_t edgelstm_negate_where_mve(int32x4_t v, int32x4_t m)
{
    return vsubq_s32(veorq_s32(v, m), m);
}

/* edgelstm_sigmoid_q15 (x in int16): |3x| >> 9 indexes the table pair (at most 192, 193),
 * r = ua 2^9 + t (ub - ua) + 2^9, pos = r >> 10, and 32768 - pos for x < 0; computed as
 * 2^14 + (+-v) with v = pos - 2^14 = (r - 2^24) >> 10 (r >= 2^24: the table starts at 2^15). */
static inline int32x4_t edgelstm_sigmoid_mve(int32x4_t x)
{
    const int32x4_t in = vmulq_n_s32(x, 3);
    const uint32x4_t a = vreinterpretq_u32_s32(vabsq_s32(in));
    const uint32x4_t uh = vshrq_n_u32(a, 9);
    const uint32x4_t ua = vldrhq_gather_shifted_offset_u32(edgelstm_sigmoid_table_uint16, uh);
    const uint32x4_t ub = vldrhq_gather_shifted_offset_u32(edgelstm_sigmoid_table_uint16 + 1, uh);
    const uint32x4_t t = vandq_u32(a, vdupq_n_u32(0x1FFu));
    const uint32x4_t r = vmlaq_n_u32(vmlasq_n_u32(t, vsubq_u32(ub, ua), (1u << 9) - (1u << 24)), ua, 1u << 9);
    const int32x4_t v = vreinterpretq_s32_u32(vshrq_n_u32(r, 10));
    return vaddq_n_s32(edgelstm_negate_where_mve(v, vshrq_n_s32(in, 31)), 1 << 14);
}

/* edgelstm_tanh_q15_dsp (TFLM Tanh on its input_data): |in| clamped to 255 * 256 - 1 (TFLM's
 * saturated 32767), t2 = (ua 2^8 + t (ub - ua) + 2^7 - 2^23) >> 8, -t2 for in < 0. */
static inline int32x4_t edgelstm_tanh_mve(int32x4_t in)
{
    const uint32x4_t a = vminq_u32(vreinterpretq_u32_s32(vabsq_s32(in)), vdupq_n_u32(65279u));
    const uint32x4_t uh = vshrq_n_u32(a, 8);
    const uint32x4_t ua = vldrhq_gather_shifted_offset_u32(edgelstm_sigmoid_table_uint16, uh);
    const uint32x4_t ub = vldrhq_gather_shifted_offset_u32(edgelstm_sigmoid_table_uint16 + 1, uh);
    const uint32x4_t t = vandq_u32(a, vdupq_n_u32(0xFFu));
    const uint32x4_t r = vmlaq_n_u32(vmlasq_n_u32(t, vsubq_u32(ub, ua), (1u << 7) - (1u << 23)), ua, 1u << 8);
    const int32x4_t t2 = vreinterpretq_s32_u32(vshrq_n_u32(r, 8)); /* r >= 0: the table starts at 2^15 */
    return edgelstm_negate_where_mve(t2, vshrq_n_s32(in, 31));
}

/* 4 lanes of int16 / int8 / int32 arrays, loaded (widened) and stored (narrowed): predicated by
 * m when `tail` (the last group of a range, fewer than 4 left) or not at all. Callers pass a
 * constant tail after inlining (a loop over the full groups, then the tail once), so the full
 * groups carry no VPST and no predicate moves. */
static inline int32x4_t edgelstm_ld16_mve(const int16_t *p, mve_pred16_t m, int32_t tail)
{
    return tail ? vldrhq_z_s32(p, m) : vldrhq_s32(p);
}

static inline int32x4_t edgelstm_ld8_mve(const int8_t *p, mve_pred16_t m, int32_t tail)
{
    return tail ? vldrbq_z_s32(p, m) : vldrbq_s32(p);
}

static inline int32x4_t edgelstm_ld32_mve(const int32_t *p, mve_pred16_t m, int32_t tail)
{
    return tail ? vldrwq_z_s32(p, m) : vldrwq_s32(p);
}

static inline void edgelstm_st16_mve(int16_t *p, int32x4_t v, mve_pred16_t m, int32_t tail)
{
    if (tail) {
        vstrhq_p_s32(p, v, m);
    } else {
        vstrhq_s32(p, v);
    }
}

static inline void edgelstm_st8_mve(int8_t *p, int32x4_t v, mve_pred16_t m, int32_t tail)
{
    if (tail) {
        vstrbq_p_s32(p, v, m);
    } else {
        vstrbq_s32(p, v);
    }
}

/* dst[0 .. n) = src[0 .. n), 16 bytes per predicated vector (no C library call). */
static inline void edgelstm_copy_s8_mve(int8_t *dst, const int8_t *src, int32_t n)
{
    int32_t k;
    for (k = 0; k < n; k += 16) {
        const mve_pred16_t p = vctp8q((uint32_t)(n - k));
        vstrbq_p_s8(dst + k, vldrbq_z_s8(src + k, p), p);
    }
}

#ifdef __cplusplus
}
#endif

#endif /* EDGELSTM_PATH_MVE */
#endif /* EDGELSTM_FIXEDPOINT_MVE_H */
