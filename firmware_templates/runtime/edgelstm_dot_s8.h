/*
 * edgelstm_dot_s8.h - the int8 dot products every kernel is built on (internal header).
 *
 * edgelstm_dot_s8: one row of signed int8 weights (fully connected layers, GRU), portable C.
 *
 * edgelstm_lstm_dot: the four gate rows of one LSTM unit at once, against the step's inputs
 * widened once per step (edgelstm_widen_s8), on the column-pair layout export-c writes
 * (edgelstm/codegen/model_c.py lstm_unit_bytes; edgelstm_config.h):
 *
 *   per pair of columns (j, k) = (2p, 2p + 1) the words [i_j, g_j, i_k, g_k] [f_j, o_j, f_k, o_k],
 *   a last odd column j as the word [i_j, g_j, f_j, o_j];
 *
 * bytes of the rows i and f are w + 128 ("offset binary", read unsigned), those of g and o are
 * w + 128 too (EDGELSTM_LSTM_PAIRED 0) or w itself (EDGELSTM_LSTM_PAIRED 1). The kernels sum the
 * stored bytes times the inputs; the caller subtracts 128 * sum_j x_j from the offset rows (once
 * per step for all units) - an exact integer identity. Every input load serves four rows, the
 * weights stream sequentially, and each path has its cheapest load: on ARMv6-M an unsigned byte
 * with an immediate offset (LDRB; the core has no sign-extending immediate load); on the DSP
 * path and with SSE2 a word whose 16-bit halves are i_j + 128 + 256 g_j (a signed halfword: low
 * byte unsigned, high byte signed), so one SMLAD / PMADDWD on the raw word accumulates
 * S = sum (i + 128) x + 256 sum g x, one on its low bytes (UXTB16 / PAND) sum (i + 128) x, and
 * the g row's sum is (S - that) / 256: 3 instructions per 4 multiply-accumulates instead of 4.
 * The quotient is exact while |sum g x| < 2^23, i.e. for up to 511 columns: longer rows are
 * summed in chunks of 508.
 *
 * Bounds: |stored byte x| <= 255 * 128 < 2^15 and export-c keeps n <= 32768 (graph.py
 * MAX_DOT_LENGTH), so the true sums fit int32; the kernels add into acc[r] with a
 * two's-complement wrap (acc starts at a bias: SMLAD wraps, the C paths use
 * edgelstm_add_wrap_s32), which is what the simulator's wrap_int32(acc + bias) does.
 *
 * Paths (edgelstm_config.h chooses one; nothing here re-derives it): EDGELSTM_PATH_DSP (SMLAD
 * inline assembly, Cortex-M4/M33), EDGELSTM_PATH_ARMV6M (MULS inline assembly, Cortex-M0),
 * EDGELSTM_PATH_SSE2 (intrinsics, x86), EDGELSTM_PATH_PORTABLE (C). All compute the same sums.
 */
#ifndef EDGELSTM_DOT_S8_H
#define EDGELSTM_DOT_S8_H

#include <stdint.h>
#include <string.h>

#include "edgelstm_fixedpoint.h"

#if defined(EDGELSTM_PATH_DSP)
#include <arm_acle.h>
#endif
#if defined(EDGELSTM_PATH_SSE2)
#include <emmintrin.h>
#endif
#include "edgelstm_dot_s8_mve.h" /* EDGELSTM_PATH_MVE: the rows encoding, int8 inputs */

static inline int32_t edgelstm_dot_s8(const int8_t *w, const int8_t *x, int32_t n)
{
    int32_t acc = 0;
    int32_t j;
    for (j = 0; j < n; ++j) {
        acc += (int32_t)w[j] * (int32_t)x[j];
    }
    return acc;
}

/* ---- the LSTM's products on widened inputs ----------------------------------------------- */

/* Once per step the LSTM widens its int8 inputs (x and the old h) into its scratch buffer, in
 * the form its path's dot product reads with the fewest instructions (edgelstm_widen_s8):
 *
 *   DSP             per column pair the word (v_j, v_k) of int16 halves, a last odd value as
 *                   (v, 0): one LDM loads the inputs of four columns;
 *   SSE2            per 4 values v0 v1 v0 v1 v2 v3 v2 v3 as int16 (the PMADDWD operand of 16
 *                   weight bytes), a last pair as v0 v1 v0 v1, a last value as v 0;
 *   ARMv6-M, C      one int32 per value (ARMv6-M loads four with one LDM).
 *
 * At most EDGELSTM_WIDE_BYTES(n) bytes, 4-byte aligned (the caller aligns the buffer). */
#define EDGELSTM_WIDE_BYTES(n) (4 * (n))

/* What the assembly may read through w and vw (for the compiler's alias analysis): 4 rows of
 * at most 32768 columns (graph.py MAX_DOT_LENGTH). As a struct, so the "m" operand's cast keeps
 * the const (-Wcast-qual). */
#define EDGELSTM_MAX_DOT_BYTES (4 * 32768)
typedef struct {
    uint8_t b[EDGELSTM_MAX_DOT_BYTES];
} edgelstm_dot_bytes_t;
#define EDGELSTM_DOT_MEM(p) (*(const edgelstm_dot_bytes_t *)(const void *)(p))

/* Columns per chunk of the paired sums (127 blocks of 4: |sum g x| <= 2^14 * 508 < 2^23). */
#define EDGELSTM_PAIRED_CHUNK_BLOCKS 127

#if defined(EDGELSTM_PATH_DSP)
static inline uint32_t edgelstm_rd32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4); /* one LDR (unaligned access is allowed on ARMv7-M / ARMv8-M Mainline) */
    return v;
}

static inline uint32_t edgelstm_ror8(uint32_t v)
{
    return (v >> 8) | (v << 24);
}
#endif

/* Widen v (n values) into out; returns the end of what was written, *sum = sum_j v[j]. */
static inline uint32_t *edgelstm_widen_s8(const int8_t *v, int32_t n, uint32_t *out, int32_t *sum)
{
    int32_t s = 0;
    int32_t k;
#if defined(EDGELSTM_PATH_MVE)
    /* the rows encoding holds w itself: the inputs stay int8 bytes, nothing to correct */
    memcpy(out, v, (size_t)n);
    out += (n + 3) >> 2;
    (void)k;
#elif defined(EDGELSTM_PATH_DSP)
    for (k = n >> 2; k > 0; --k) {
        const uint32_t vv = edgelstm_rd32(v);
        const uint32_t e = (uint32_t)__sxtb16(vv);                /* (v0, v2) */
        const uint32_t o = (uint32_t)__sxtb16(edgelstm_ror8(vv)); /* (v1, v3) */
        s = __smlad(e, 0x00010001u, s);
        s = __smlad(o, 0x00010001u, s);
        out[0] = (e & 0xFFFFu) | (o << 16);         /* (v0, v1) */
        out[1] = (e >> 16) | (o & 0xFFFF0000u);     /* (v2, v3) */
        out += 2;
        v += 4;
    }
    for (k = n & 3; k > 0; k -= 2) {
        const int32_t v0 = v[0];
        const int32_t v1 = (k > 1) ? v[1] : 0;
        s += v0 + v1;
        *out++ = ((uint32_t)v0 & 0xFFFFu) | ((uint32_t)v1 << 16);
        v += 2;
    }
#elif defined(EDGELSTM_PATH_SSE2)
    for (k = n >> 2; k > 0; --k) {
        int32_t vv;
        __m128i xv;
        memcpy(&vv, v, 4);
        xv = _mm_cvtsi32_si128(vv);
        xv = _mm_srai_epi16(_mm_unpacklo_epi8(xv, xv), 8);                                   /* v0 v1 v2 v3 */
        _mm_storeu_si128((__m128i *)(void *)out, _mm_shuffle_epi32(xv, _MM_SHUFFLE(1, 1, 0, 0))); /* v0 v1 v0 v1 v2 v3 v2 v3 */
        s += v[0] + v[1] + v[2] + v[3];
        out += 4;
        v += 4;
    }
    if (n & 2) { /* a last pair: v0 v1 v0 v1 as int16 */
        const uint32_t pair = ((uint32_t)v[0] & 0xFFFFu) | ((uint32_t)v[1] << 16);
        s += v[0] + v[1];
        out[0] = pair;
        out[1] = pair;
        out += 2;
        v += 2;
    }
    if (n & 1) { /* a last value: v 0 as int16 */
        s += v[0];
        *out++ = (uint32_t)v[0] & 0xFFFFu;
    }
#else
    for (k = 0; k < n; ++k) {
        s += v[k];
        out[k] = (uint32_t)(int32_t)v[k];
    }
    out += n;
#endif
    *sum = s;
    return out;
}

#if defined(EDGELSTM_PATH_SSE2)
/* k blocks of 16 weight bytes (8 halves i_j + 128 + 256 g_j, ...) against the widened inputs:
 * *sr += PMADDWD of the raw blocks, the return value the same for their low bytes. Lanes: i+g
 * columns 0,1; f+o columns 0,1; i+g columns 2,3; f+o columns 2,3. */
static inline __m128i edgelstm_paired_blocks_sse2(const __m128i *pw, const __m128i *pv, int32_t k, __m128i *sr)
{
    const __m128i lo8 = _mm_set1_epi16(0xFF);
    __m128i r = _mm_setzero_si128();
    __m128i a = _mm_setzero_si128();
    int32_t j;
    for (j = 0; j < k; ++j) {
        const __m128i xv = _mm_loadu_si128(pv + j);
        const __m128i wv = _mm_loadu_si128(pw + j);
        r = _mm_add_epi32(r, _mm_madd_epi16(wv, xv));
        a = _mm_add_epi32(a, _mm_madd_epi16(_mm_and_si128(wv, lo8), xv));
    }
#if defined(__GNUC__) || defined(__clang__)
    /* An empty statement that lets GCC accumulate in place (11 instructions a block, not 13:
     * otherwise it copies both sums to the registers the code after the loop wants). */
    __asm__("" : "+x"(r), "+x"(a));
#endif
    *sr = r;
    return a;
}

/* (i, f, g, o) from the lane sums above: g, o = (raw - low) / 256 (exact for <= 127 blocks). */
static inline __m128i edgelstm_paired_decode_sse2(__m128i sr, __m128i sa)
{
    const __m128i hr = _mm_add_epi32(sr, _mm_shuffle_epi32(sr, _MM_SHUFFLE(1, 0, 3, 2))); /* ig fo ig fo */
    const __m128i ha = _mm_add_epi32(sa, _mm_shuffle_epi32(sa, _MM_SHUFFLE(1, 0, 3, 2))); /* i  f  i  f */
    return _mm_unpacklo_epi64(ha, _mm_srai_epi32(_mm_sub_epi32(hr, ha), 8));
}

/* The last n % 4 columns of one unit (w, vw just past its 4-column blocks) into *sr, *sa. */
static inline void edgelstm_paired_tail_sse2(const uint8_t *w, const uint32_t *vw, int32_t n, __m128i *sr, __m128i *sa)
{
    const __m128i lo8 = _mm_set1_epi16(0xFF);
    if (n & 2) { /* a last pair: 8 bytes, inputs v0 v1 v0 v1 */
        const __m128i wv = _mm_loadl_epi64((const __m128i *)(const void *)w);
        const __m128i xv = _mm_loadl_epi64((const __m128i *)(const void *)vw);
        *sr = _mm_add_epi32(*sr, _mm_madd_epi16(wv, xv));
        *sa = _mm_add_epi32(*sa, _mm_madd_epi16(_mm_and_si128(wv, lo8), xv));
        vw += 2;
        w += 8;
    }
    if (n & 1) { /* a last column [i g f o]: halves (i + 256 g, f + 256 o) apart, input (v, 0) */
        int32_t wc;
        int32_t xc;
        __m128i wv;
        __m128i xv;
        memcpy(&wc, w, 4);
        memcpy(&xc, vw, 4);
        wv = _mm_unpacklo_epi16(_mm_cvtsi32_si128(wc), _mm_setzero_si128()); /* ig 0 fo 0 */
        xv = _mm_shuffle_epi32(_mm_cvtsi32_si128(xc), 0);                    /* v 0 v 0 */
        *sr = _mm_add_epi32(*sr, _mm_madd_epi16(wv, xv));
        *sa = _mm_add_epi32(*sa, _mm_madd_epi16(_mm_and_si128(wv, lo8), xv));
    }
}

/* The sums of one unit's 4 rows as a vector (gates i, f, g, o), without bias. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline, unused)) /* its own registers: GCC keeps the block loop short */
#endif
static __m128i edgelstm_lstm_dot_sse2(const uint8_t *w, const uint32_t *vw, int32_t n)
{
    const __m128i *pw = (const __m128i *)(const void *)w;
    const __m128i *pv = (const __m128i *)(const void *)vw;
    __m128i acc = _mm_setzero_si128();
    __m128i sr;
    __m128i sa;
    int32_t k = n >> 2;
    while (k > EDGELSTM_PAIRED_CHUNK_BLOCKS) { /* rows of 512 columns or more: chunk by chunk */
        sa = edgelstm_paired_blocks_sse2(pw, pv, EDGELSTM_PAIRED_CHUNK_BLOCKS, &sr);
        acc = _mm_add_epi32(acc, edgelstm_paired_decode_sse2(sr, sa));
        pw += EDGELSTM_PAIRED_CHUNK_BLOCKS;
        pv += EDGELSTM_PAIRED_CHUNK_BLOCKS;
        k -= EDGELSTM_PAIRED_CHUNK_BLOCKS;
    }
    sa = edgelstm_paired_blocks_sse2(pw, pv, k, &sr);
    w = (const uint8_t *)(pw + k);
    vw = (const uint32_t *)(pv + k);
    edgelstm_paired_tail_sse2(w, vw, n, &sr, &sa);
    return _mm_add_epi32(acc, edgelstm_paired_decode_sse2(sr, sa));
}

#endif

/* acc[r] += sum_j b_r[j] v[j] for the gates r = i, f, g, o of one unit: b the stored bytes of the
 * unit's n columns at w (the layout above), v the widened vector vw of n values. */
static inline void edgelstm_lstm_dot(const uint8_t *w, const uint32_t *vw, int32_t n, int32_t acc[4])
{
    int32_t k;
#if defined(EDGELSTM_PATH_MVE)
    /* the rows encoding: the 4 rows one after the other, the inputs int8 (edgelstm_widen_s8) */
    edgelstm_rows4_dot_mve((const int8_t *)(const void *)w, (const int8_t *)(const void *)vw, n, acc);
    (void)k;
#elif defined(EDGELSTM_PATH_DSP)
    int32_t a_i = acc[0], a_f = acc[1], a_g = acc[2], a_o = acc[3];
    for (k = n >> 2; k > 0;) {
        int32_t kk = (k > EDGELSTM_PAIRED_CHUNK_BLOCKS) ? EDGELSTM_PAIRED_CHUNK_BLOCKS : k;
        int32_t s_ig = a_i; /* raw sums: + sum (i + 128) x + 256 sum g x */
        int32_t s_fo = a_f;
        k -= kk;
        {
            /* 16 MACs in 16 instructions: LDM of the 4 input pairs' 2 words, LDM of the 4 weight
             * words, 8 SMLAD + 4 UXTB16, SUBS + BNE. LDM fills its registers in ascending
             * order: the operands are pinned. */
            register uint32_t x01 __asm__("r4");
            register uint32_t x23 __asm__("r5");
            register uint32_t w0 __asm__("r8");
            register uint32_t w1 __asm__("r9");
            register uint32_t w2 __asm__("r10");
            register uint32_t w3 __asm__("r11");
            __asm__(
                "1:\n\t"
                "ldmia   %[v]!, {%[x01], %[x23]}\n\t"
                "ldmia   %[w]!, {%[w0], %[w1], %[w2], %[w3]}\n\t"
                "smlad   %[sig], %[w0], %[x01], %[sig]\n\t"
                "uxtb16  %[w0], %[w0]\n\t"
                "smlad   %[ai], %[w0], %[x01], %[ai]\n\t"
                "smlad   %[sfo], %[w1], %[x01], %[sfo]\n\t"
                "uxtb16  %[w1], %[w1]\n\t"
                "smlad   %[af], %[w1], %[x01], %[af]\n\t"
                "smlad   %[sig], %[w2], %[x23], %[sig]\n\t"
                "uxtb16  %[w2], %[w2]\n\t"
                "smlad   %[ai], %[w2], %[x23], %[ai]\n\t"
                "smlad   %[sfo], %[w3], %[x23], %[sfo]\n\t"
                "uxtb16  %[w3], %[w3]\n\t"
                "smlad   %[af], %[w3], %[x23], %[af]\n\t"
                "subs    %[k], %[k], #1\n\t"
                "bne     1b\n\t"
                : [ai] "+r"(a_i), [af] "+r"(a_f), [sig] "+r"(s_ig), [sfo] "+r"(s_fo), [w] "+r"(w), [v] "+r"(vw),
                  [k] "+r"(kk), [x01] "=&r"(x01), [x23] "=&r"(x23), [w0] "=&r"(w0), [w1] "=&r"(w1), [w2] "=&r"(w2),
                  [w3] "=&r"(w3)
                : "m"(EDGELSTM_DOT_MEM(w)),
                  "m"(EDGELSTM_DOT_MEM(vw))
                : "cc");
        }
        /* s - a = 256 sum g x exactly (|.| < 2^31): the g and o sums of the chunk. */
        a_g = edgelstm_add_wrap_s32(a_g, edgelstm_asr_s32(edgelstm_u32_to_s32((uint32_t)s_ig - (uint32_t)a_i), 8));
        a_o = edgelstm_add_wrap_s32(a_o, edgelstm_asr_s32(edgelstm_u32_to_s32((uint32_t)s_fo - (uint32_t)a_f), 8));
    }
    if (n & 2) { /* a last pair of columns: the g and o bytes sign-extended directly */
        const uint32_t x = vw[0];
        const uint32_t w0 = edgelstm_rd32(w), w1 = edgelstm_rd32(w + 4);
        a_i = __smlad(__uxtb16(w0), x, a_i);
        a_g = __smlad(__sxtb16(edgelstm_ror8(w0)), x, a_g);
        a_f = __smlad(__uxtb16(w1), x, a_f);
        a_o = __smlad(__sxtb16(edgelstm_ror8(w1)), x, a_o);
        vw += 1;
        w += 8;
    }
    if (n & 1) { /* a last column: [i, g, f, o], input (v, 0) */
        const uint32_t x = vw[0];
        const uint32_t wc = edgelstm_rd32(w);
        const uint32_t u = __uxtb16(wc);                 /* (i, f) */
        const uint32_t sg = __sxtb16(edgelstm_ror8(wc)); /* (g, o) */
        a_i = __smlabb(u, x, a_i);
        a_f = __smlatb(u, x, a_f);
        a_g = __smlabb(sg, x, a_g);
        a_o = __smlatb(sg, x, a_o);
    }
    acc[0] = a_i;
    acc[1] = a_f;
    acc[2] = a_g;
    acc[3] = a_o;
#else
    int32_t a_i = 0, a_f = 0, a_g = 0, a_o = 0;
#if defined(EDGELSTM_PATH_ARMV6M)
    k = n >> 2;
    if (k > 0) {
        /* 16 MACs in 52 instructions: one LDM of 4 input words, 16 x (LDRB weight, MULS, ADD to
         * a high-register accumulator), ADDS, CMP, BNE. Columns 0..3 of the rows at the bytes
         * i 0 2 8 10, g 1 3 9 11, f 4 6 12 14, o 5 7 13 15. */
        register uint32_t x0 __asm__("r0");
        register uint32_t x1 __asm__("r1");
        register uint32_t x2 __asm__("r2");
        register uint32_t x3 __asm__("r3");
        register int32_t h_i __asm__("r8") = 0;
        register int32_t h_f __asm__("r9") = 0;
        register int32_t h_g __asm__("r10") = 0;
        register int32_t h_o __asm__("r11") = 0;
        register const uint32_t *ve __asm__("r12") = vw + 4 * k;
        uint32_t t;
        __asm__(
            ".syntax unified\n"
            "1:\n\t"
            "ldmia   %[v]!, {%[x0], %[x1], %[x2], %[x3]}\n\t"
            "ldrb    %[t], [%[w], #0]\n\t"
            "muls    %[t], %[x0], %[t]\n\t"
            "add     %[hi], %[t]\n\t"
            "ldrb    %[t], [%[w], #2]\n\t"
            "muls    %[t], %[x1], %[t]\n\t"
            "add     %[hi], %[t]\n\t"
            "ldrb    %[t], [%[w], #8]\n\t"
            "muls    %[t], %[x2], %[t]\n\t"
            "add     %[hi], %[t]\n\t"
            "ldrb    %[t], [%[w], #10]\n\t"
            "muls    %[t], %[x3], %[t]\n\t"
            "add     %[hi], %[t]\n\t"
            "ldrb    %[t], [%[w], #1]\n\t"
            "muls    %[t], %[x0], %[t]\n\t"
            "add     %[hg], %[t]\n\t"
            "ldrb    %[t], [%[w], #3]\n\t"
            "muls    %[t], %[x1], %[t]\n\t"
            "add     %[hg], %[t]\n\t"
            "ldrb    %[t], [%[w], #9]\n\t"
            "muls    %[t], %[x2], %[t]\n\t"
            "add     %[hg], %[t]\n\t"
            "ldrb    %[t], [%[w], #11]\n\t"
            "muls    %[t], %[x3], %[t]\n\t"
            "add     %[hg], %[t]\n\t"
            "ldrb    %[t], [%[w], #4]\n\t"
            "muls    %[t], %[x0], %[t]\n\t"
            "add     %[hf], %[t]\n\t"
            "ldrb    %[t], [%[w], #6]\n\t"
            "muls    %[t], %[x1], %[t]\n\t"
            "add     %[hf], %[t]\n\t"
            "ldrb    %[t], [%[w], #12]\n\t"
            "muls    %[t], %[x2], %[t]\n\t"
            "add     %[hf], %[t]\n\t"
            "ldrb    %[t], [%[w], #14]\n\t"
            "muls    %[t], %[x3], %[t]\n\t"
            "add     %[hf], %[t]\n\t"
            "ldrb    %[t], [%[w], #5]\n\t"
            "muls    %[t], %[x0], %[t]\n\t"
            "add     %[ho], %[t]\n\t"
            "ldrb    %[t], [%[w], #7]\n\t"
            "muls    %[t], %[x1], %[t]\n\t"
            "add     %[ho], %[t]\n\t"
            "ldrb    %[t], [%[w], #13]\n\t"
            "muls    %[t], %[x2], %[t]\n\t"
            "add     %[ho], %[t]\n\t"
            "ldrb    %[t], [%[w], #15]\n\t"
            "muls    %[t], %[x3], %[t]\n\t"
            "add     %[ho], %[t]\n\t"
            "adds    %[w], #16\n\t"
            "cmp     %[v], %[ve]\n\t"
            "bne     1b\n\t"
            : [hi] "+r"(h_i), [hf] "+r"(h_f), [hg] "+r"(h_g), [ho] "+r"(h_o), [w] "+l"(w), [v] "+l"(vw),
              [x0] "=&l"(x0), [x1] "=&l"(x1), [x2] "=&l"(x2), [x3] "=&l"(x3), [t] "=&l"(t)
            : [ve] "r"(ve), "m"(EDGELSTM_DOT_MEM(w)),
              "m"(EDGELSTM_DOT_MEM(vw))
            : "cc");
        a_i = h_i;
        a_f = h_f;
        a_g = h_g;
        a_o = h_o;
    }
#elif defined(EDGELSTM_PATH_SSE2)
    {
        const __m128i sums = edgelstm_lstm_dot_sse2(w, vw, n);
        a_i = _mm_cvtsi128_si32(sums);
        a_f = _mm_cvtsi128_si32(_mm_shuffle_epi32(sums, _MM_SHUFFLE(1, 1, 1, 1)));
        a_g = _mm_cvtsi128_si32(_mm_shuffle_epi32(sums, _MM_SHUFFLE(2, 2, 2, 2)));
        a_o = _mm_cvtsi128_si32(_mm_shuffle_epi32(sums, _MM_SHUFFLE(3, 3, 3, 3)));
    }
    k = 0;
#else
    for (k = n >> 2; k > 0; --k) {
        const int32_t x0 = (int32_t)vw[0], x1 = (int32_t)vw[1], x2 = (int32_t)vw[2], x3 = (int32_t)vw[3];
        a_i += w[0] * x0 + w[2] * x1 + w[8] * x2 + w[10] * x3;
        a_g += w[1] * x0 + w[3] * x1 + w[9] * x2 + w[11] * x3;
        a_f += w[4] * x0 + w[6] * x1 + w[12] * x2 + w[14] * x3;
        a_o += w[5] * x0 + w[7] * x1 + w[13] * x2 + w[15] * x3;
        vw += 4;
        w += 16;
    }
#endif
#if !defined(EDGELSTM_PATH_SSE2)
    if (n & 2) { /* a last pair of columns (all bytes w + 128) */
        const int32_t xj = (int32_t)vw[0], xk = (int32_t)vw[1];
        a_i += w[0] * xj + w[2] * xk;
        a_g += w[1] * xj + w[3] * xk;
        a_f += w[4] * xj + w[6] * xk;
        a_o += w[5] * xj + w[7] * xk;
        vw += 2;
        w += 8;
    }
    if (n & 1) { /* a last column: [i, g, f, o] */
        const int32_t x = (int32_t)vw[0];
        a_i += w[0] * x;
        a_g += w[1] * x;
        a_f += w[2] * x;
        a_o += w[3] * x;
    }
#endif
    (void)k;
    acc[0] = edgelstm_add_wrap_s32(acc[0], a_i);
    acc[1] = edgelstm_add_wrap_s32(acc[1], a_f);
    acc[2] = edgelstm_add_wrap_s32(acc[2], a_g);
    acc[3] = edgelstm_add_wrap_s32(acc[3], a_o);
#endif
}

#endif /* EDGELSTM_DOT_S8_H */
