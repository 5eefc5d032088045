/*
 * edgelstm_dot_s8.h - the int8 dot products every kernel is built on (internal header).
 *
 * edgelstm_dot_s8: one row of signed int8 weights (fully connected layers), portable C.
 *
 * edgelstm_dot4_u8s8 / edgelstm_dot3_u8s8: R = 4 or 3 rows at once against one int8 vector,
 * on the recurrent layers' weights in the "blocked" layout export-c writes (edgelstm/codegen/
 * model_c.py blocked_rows): for a group of R rows and n columns,
 *
 *   floor(n / 4) blocks of 4R bytes: row r's columns 4b .. 4b+3 at bytes 4r .. 4r+3,
 *   then the n % 4 remaining columns, R bytes each (row r at byte r),
 *
 * every byte stored as w + 128 (uint8, "offset binary"), so the kernels compute
 * sum_j (w + 128) x_j and the caller subtracts 128 * sum_j x_j (edgelstm_sum_s8, once per step
 * for all rows) - an exact integer identity. The layout lets every row of a group share each
 * input load, reads the weights strictly sequentially, and gives each path its cheapest load:
 * a 32-bit word of 4 columns (UXTB16 + SMLAD on the DSP path), an unsigned byte with an
 * immediate offset (LDRB on ARMv6-M, which has no sign-extending immediate load).
 *
 * Bounds: |(w + 128) x| <= 255 * 128 < 2^15 and export-c keeps n <= 32768 (graph.py
 * MAX_DOT_LENGTH), so no partial sum leaves int32; the kernels add into acc[r] with a
 * two's-complement wrap (acc may start at a bias: SMLAD wraps, the C paths use
 * edgelstm_add_wrap_s32), which is what the simulator's wrap_int32(acc + bias) does.
 *
 * Paths (edgelstm_fixedpoint.h): EDGELSTM_PATH_DSP (SMLAD inline assembly, Cortex-M4/M33),
 * EDGELSTM_PATH_ARMV6M (MULS inline assembly, Cortex-M0), portable C otherwise. The assembly
 * is used only by GCC/clang with optimisation on (-O1 and up); the C versions compute the same
 * values and are what -DEDGELSTM_FORCE_PORTABLE selects.
 */
#ifndef EDGELSTM_DOT_S8_H
#define EDGELSTM_DOT_S8_H

#include <stdint.h>
#include <string.h>

#include "edgelstm_fixedpoint.h"

#if defined(EDGELSTM_PATH_DSP)
#include <arm_acle.h>
#endif
/* x86-64 (and x86 with SSE2): SSE2 is part of the base instruction set, so the exported
 * Makefile's plain -O2 has it; the portable C loop below is what the compilers do not vectorise
 * well (they build the repeated input pattern element by element). */
#if defined(EDGELSTM_PATH_PORTABLE) && !defined(EDGELSTM_FORCE_PORTABLE) && defined(__SSE2__)
#include <emmintrin.h>
#define EDGELSTM_DOT_SSE2 1
#endif

static inline int32_t edgelstm_dot_s8(const int8_t *w, const int8_t *x, int32_t n)
{
    int32_t acc = 0;
    int32_t j;
    for (j = 0; j < n; ++j) {
        acc += (int32_t)w[j] * (int32_t)x[j];
    }
    return acc;
}

/* sum_j v[j] (|sum| <= 128 n). */
static inline int32_t edgelstm_sum_s8(const int8_t *v, int32_t n)
{
    int32_t s = 0;
    int32_t j;
    for (j = 0; j < n; ++j) {
        s += v[j];
    }
    return s;
}

/* What the assembly may read through w and v (for the compiler's alias analysis): 4 rows of
 * at most 32768 columns (graph.py MAX_DOT_LENGTH). */
#define EDGELSTM_MAX_DOT_BYTES (4 * 32768)

#if defined(EDGELSTM_PATH_DSP) && defined(__OPTIMIZE__) && (defined(__GNUC__) || defined(__clang__))
#define EDGELSTM_DOT_ASM_DSP 1
#elif defined(EDGELSTM_PATH_ARMV6M) && defined(__ARM_ARCH_6M__) && defined(__OPTIMIZE__) && \
    (defined(__GNUC__) || defined(__clang__))
#define EDGELSTM_DOT_ASM_ARMV6M 1
#endif

#if defined(EDGELSTM_PATH_DSP)
static inline uint32_t edgelstm_rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4); /* one LDR (unaligned access is allowed on ARMv7-M / ARMv8-M Mainline) */
    return v;
}

static inline int32_t edgelstm_sxtb16_ror8(uint32_t v)
{
    return __sxtb16((v >> 8) | (v << 24));
}

static inline uint32_t edgelstm_uxtb16_ror8(uint32_t v)
{
    return __uxtb16((v >> 8) | (v << 24));
}
#endif

/* acc[r] += sum_j (w_r[j] + 128) v[j], r = 0..3, on one blocked group of 4 rows (above). */
static inline void edgelstm_dot4_u8s8(const uint8_t *w, const int8_t *v, int32_t n, int32_t acc[4])
{
    int32_t k;
#if defined(EDGELSTM_PATH_DSP)
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    k = n >> 2;
#if defined(EDGELSTM_DOT_ASM_DSP)
    if (k > 0) {
        /* 16 MACs in 22 instructions: one LDR of 4 inputs, one LDM of 4 weight words, 2 SXTB16,
         * 8 UXTB16, 8 SMLAD, SUBS + BNE. */
        /* LDM fills its registers in ascending order: pin w0 < w1 < w2 < w3. */
        register uint32_t w0 __asm__("r8");
        register uint32_t w1 __asm__("r9");
        register uint32_t w2 __asm__("r10");
        register uint32_t w3 __asm__("r11");
        uint32_t vv, vo, t;
        __asm__(
            "1:\n\t"
            "ldr     %[vv], [%[v]], #4\n\t"
            "ldmia   %[w]!, {%[w0], %[w1], %[w2], %[w3]}\n\t"
            "sxtb16  %[vo], %[vv], ror #8\n\t"
            "sxtb16  %[vv], %[vv]\n\t"
            "uxtb16  %[t], %[w0]\n\t"
            "smlad   %[a0], %[t], %[vv], %[a0]\n\t"
            "uxtb16  %[w0], %[w0], ror #8\n\t"
            "smlad   %[a0], %[w0], %[vo], %[a0]\n\t"
            "uxtb16  %[t], %[w1]\n\t"
            "smlad   %[a1], %[t], %[vv], %[a1]\n\t"
            "uxtb16  %[w1], %[w1], ror #8\n\t"
            "smlad   %[a1], %[w1], %[vo], %[a1]\n\t"
            "uxtb16  %[t], %[w2]\n\t"
            "smlad   %[a2], %[t], %[vv], %[a2]\n\t"
            "uxtb16  %[w2], %[w2], ror #8\n\t"
            "smlad   %[a2], %[w2], %[vo], %[a2]\n\t"
            "uxtb16  %[t], %[w3]\n\t"
            "smlad   %[a3], %[t], %[vv], %[a3]\n\t"
            "uxtb16  %[w3], %[w3], ror #8\n\t"
            "smlad   %[a3], %[w3], %[vo], %[a3]\n\t"
            "subs    %[k], %[k], #1\n\t"
            "bne     1b\n\t"
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [w] "+r"(w), [v] "+r"(v), [k] "+r"(k),
              [vv] "=&r"(vv), [vo] "=&r"(vo), [t] "=&r"(t), [w0] "=&r"(w0), [w1] "=&r"(w1), [w2] "=&r"(w2),
              [w3] "=&r"(w3)
            : "m"(*(const uint8_t(*)[EDGELSTM_MAX_DOT_BYTES])w), "m"(*(const int8_t(*)[EDGELSTM_MAX_DOT_BYTES])v)
            : "cc");
    }
#else
    for (; k > 0; --k) {
        const uint32_t vv = edgelstm_rd32((const uint8_t *)v);
        const int32_t ve = __sxtb16(vv);
        const int32_t vo = edgelstm_sxtb16_ror8(vv);
        const uint32_t w0 = edgelstm_rd32(w), w1 = edgelstm_rd32(w + 4), w2 = edgelstm_rd32(w + 8),
                       w3 = edgelstm_rd32(w + 12);
        a0 = __smlad(__uxtb16(w0), ve, a0);
        a0 = __smlad(edgelstm_uxtb16_ror8(w0), vo, a0);
        a1 = __smlad(__uxtb16(w1), ve, a1);
        a1 = __smlad(edgelstm_uxtb16_ror8(w1), vo, a1);
        a2 = __smlad(__uxtb16(w2), ve, a2);
        a2 = __smlad(edgelstm_uxtb16_ror8(w2), vo, a2);
        a3 = __smlad(__uxtb16(w3), ve, a3);
        a3 = __smlad(edgelstm_uxtb16_ror8(w3), vo, a3);
        v += 4;
        w += 16;
    }
#endif
    k = n & 3; /* the last columns: R bytes each */
    if (k > 0) {
        int32_t x = v[0];
        a0 = __smlabb(w[0], x, a0);
        a1 = __smlabb(w[1], x, a1);
        a2 = __smlabb(w[2], x, a2);
        a3 = __smlabb(w[3], x, a3);
        if (k > 1) {
            x = v[1];
            a0 = __smlabb(w[4], x, a0);
            a1 = __smlabb(w[5], x, a1);
            a2 = __smlabb(w[6], x, a2);
            a3 = __smlabb(w[7], x, a3);
            if (k > 2) {
                x = v[2];
                a0 = __smlabb(w[8], x, a0);
                a1 = __smlabb(w[9], x, a1);
                a2 = __smlabb(w[10], x, a2);
                a3 = __smlabb(w[11], x, a3);
            }
        }
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
#else
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
#if defined(EDGELSTM_DOT_ASM_ARMV6M)
    k = n >> 2;
    if (k > 0) {
        /* 16 MACs in 55 instructions: 4 LDRSB of the inputs (4 base registers, one index),
         * 16 x (LDRB weight, MULS, ADD to a high-register accumulator), ADDS + ADDS + BNE. */
        register int32_t h0 __asm__("r8") = 0;
        register int32_t h1 __asm__("r9") = 0;
        register int32_t h2 __asm__("r10") = 0;
        register int32_t h3 __asm__("r11") = 0;
        const int8_t *v0 = v + 4 * k, *v1 = v0 + 1, *v2 = v0 + 2, *v3 = v0 + 3;
        int32_t idx = -4 * k;
        int32_t x, t;
        __asm__(
            ".syntax unified\n"
            "1:\n\t"
            "ldrsb   %[x], [%[v0], %[i]]\n\t"
            "ldrb    %[t], [%[w], #0]\n\t"
            "muls    %[t], %[x], %[t]\n\t"
            "add     %[h0], %[t]\n\t"
            "ldrb    %[t], [%[w], #4]\n\t"
            "muls    %[t], %[x], %[t]\n\t"
            "add     %[h1], %[t]\n\t"
            "ldrb    %[t], [%[w], #8]\n\t"
            "muls    %[t], %[x], %[t]\n\t"
            "add     %[h2], %[t]\n\t"
            "ldrb    %[t], [%[w], #12]\n\t"
            "muls    %[t], %[x], %[t]\n\t"
            "add     %[h3], %[t]\n\t"
            "ldrsb   %[x], [%[v1], %[i]]\n\t"
            "ldrb    %[t], [%[w], #1]\n\t"
            "muls    %[t], %[x], %[t]\n\t"
            "add     %[h0], %[t]\n\t"
            "ldrb    %[t], [%[w], #5]\n\t"
            "muls    %[t], %[x], %[t]\n\t"
            "add     %[h1], %[t]\n\t"
            "ldrb    %[t], [%[w], #9]\n\t"
            "muls    %[t], %[x], %[t]\n\t"
            "add     %[h2], %[t]\n\t"
            "ldrb    %[t], [%[w], #13]\n\t"
            "muls    %[t], %[x], %[t]\n\t"
            "add     %[h3], %[t]\n\t"
            "ldrsb   %[x], [%[v2], %[i]]\n\t"
            "ldrb    %[t], [%[w], #2]\n\t"
            "muls    %[t], %[x], %[t]\n\t"
            "add     %[h0], %[t]\n\t"
            "ldrb    %[t], [%[w], #6]\n\t"
            "muls    %[t], %[x], %[t]\n\t"
            "add     %[h1], %[t]\n\t"
            "ldrb    %[t], [%[w], #10]\n\t"
            "muls    %[t], %[x], %[t]\n\t"
            "add     %[h2], %[t]\n\t"
            "ldrb    %[t], [%[w], #14]\n\t"
            "muls    %[t], %[x], %[t]\n\t"
            "add     %[h3], %[t]\n\t"
            "ldrsb   %[x], [%[v3], %[i]]\n\t"
            "ldrb    %[t], [%[w], #3]\n\t"
            "muls    %[t], %[x], %[t]\n\t"
            "add     %[h0], %[t]\n\t"
            "ldrb    %[t], [%[w], #7]\n\t"
            "muls    %[t], %[x], %[t]\n\t"
            "add     %[h1], %[t]\n\t"
            "ldrb    %[t], [%[w], #11]\n\t"
            "muls    %[t], %[x], %[t]\n\t"
            "add     %[h2], %[t]\n\t"
            "ldrb    %[t], [%[w], #15]\n\t"
            "muls    %[t], %[x], %[t]\n\t"
            "add     %[h3], %[t]\n\t"
            "adds    %[w], #16\n\t"
            "adds    %[i], #4\n\t"
            "bne     1b\n\t"
            : [h0] "+r"(h0), [h1] "+r"(h1), [h2] "+r"(h2), [h3] "+r"(h3), [w] "+l"(w), [i] "+l"(idx), [x] "=&l"(x),
              [t] "=&l"(t)
            : [v0] "l"(v0), [v1] "l"(v1), [v2] "l"(v2), [v3] "l"(v3)
            : "cc", "memory"); /* all 8 low registers are operands: no room for memory operands */
        a0 = h0;
        a1 = h1;
        a2 = h2;
        a3 = h3;
        v = v0;
    }
#elif defined(EDGELSTM_DOT_SSE2)
    k = n >> 2;
    if (k > 0) {
        /* 16 MACs per block: the 4 inputs sign-extended to int16 and repeated for two rows,
         * the 16 weights zero-extended to int16 (w + 128 <= 255 and |x| <= 128: PMADDWD's
         * pair sums fit int32), two PMADDWD + PADDD. */
        const __m128i zero = _mm_setzero_si128();
        __m128i s01 = zero; /* int32 lanes: row 0, row 0, row 1, row 1 */
        __m128i s23 = zero;
        for (; k > 0; --k) {
            int32_t xw;
            __m128i xv;
            __m128i wv;
            memcpy(&xw, v, 4);
            xv = _mm_cvtsi32_si128(xw);
            xv = _mm_srai_epi16(_mm_unpacklo_epi8(xv, xv), 8);
            xv = _mm_unpacklo_epi64(xv, xv);
            wv = _mm_loadu_si128((const __m128i *)(const void *)w);
            s01 = _mm_add_epi32(s01, _mm_madd_epi16(_mm_unpacklo_epi8(wv, zero), xv));
            s23 = _mm_add_epi32(s23, _mm_madd_epi16(_mm_unpackhi_epi8(wv, zero), xv));
            v += 4;
            w += 16;
        }
        {
            /* horizontal pair sums: [r0 + r0', r1 + r1'] of each register */
            const __m128i t01 = _mm_add_epi32(s01, _mm_srli_epi64(s01, 32));
            const __m128i t23 = _mm_add_epi32(s23, _mm_srli_epi64(s23, 32));
            a0 = _mm_cvtsi128_si32(t01);
            a1 = _mm_cvtsi128_si32(_mm_srli_si128(t01, 8));
            a2 = _mm_cvtsi128_si32(t23);
            a3 = _mm_cvtsi128_si32(_mm_srli_si128(t23, 8));
        }
    }
#else
    for (k = n >> 2; k > 0; --k) {
        const int32_t x0 = v[0], x1 = v[1], x2 = v[2], x3 = v[3];
        a0 += w[0] * x0 + w[1] * x1 + w[2] * x2 + w[3] * x3;
        a1 += w[4] * x0 + w[5] * x1 + w[6] * x2 + w[7] * x3;
        a2 += w[8] * x0 + w[9] * x1 + w[10] * x2 + w[11] * x3;
        a3 += w[12] * x0 + w[13] * x1 + w[14] * x2 + w[15] * x3;
        v += 4;
        w += 16;
    }
#endif
    for (k = n & 3; k > 0; --k) {
        const int32_t x = *v++;
        a0 += w[0] * x;
        a1 += w[1] * x;
        a2 += w[2] * x;
        a3 += w[3] * x;
        w += 4;
    }
    acc[0] = edgelstm_add_wrap_s32(acc[0], a0);
    acc[1] = edgelstm_add_wrap_s32(acc[1], a1);
    acc[2] = edgelstm_add_wrap_s32(acc[2], a2);
    acc[3] = edgelstm_add_wrap_s32(acc[3], a3);
#endif
}

#endif /* EDGELSTM_DOT_S8_H */
