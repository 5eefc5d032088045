/*
 * edgelstm_lstm_step_s8_s16_sse2.c - the LSTM step on EDGELSTM_PATH_SSE2 (x86 with SSE2: every
 * x86-64; edgelstm_config.h). Compiled whole on that path, empty on the others. The step's
 * formulas and order of work: edgelstm_lstm_step_s8_s16.c.
 *
 * 4 units at once. The same gate side of 4 units has the same requantisation constants, so it
 * runs in the 4 lanes of one register: the 4 units' accumulator vectors (i, f, g, o)
 * (edgelstm_lstm_dot4_sse2: every input block loaded once for the 4 units) are transposed to one
 * vector per gate side. MBQM from PMULUDQ (edgelstm_rqv: the unsigned 32 x 32 -> 64 products of
 * the even and the odd lanes, corrected to signed, their low words gathered by SHUFPS + PSHUFD),
 * sat16 by PACKSSDW, the gate sums by PADDSW, the element-wise products by PMADDWD (one factor is
 * a non-negative gate, so the high halves add nothing), sigmoid / tanh by the SMLAD formula of
 * the DSP path with PMADDWD (the table pairs read one lane at a time), the int8 output by
 * PACKSSWB. The last units % 4 units run as a group of 4 with empty lanes.
 */
#include "edgelstm_lstm_step_s8_s16.h"

#if defined(EDGELSTM_PATH_SSE2)
#include <string.h>

/* edgelstm_rq16 (the LSTM's requantiser, from edgelstm_lstm_prepare) in the form of 4 lanes. */
typedef struct {
    __m128i m;     /* m in every lane (PMULUDQ reads the even ones) */
    __m128i k;     /* 2^30 - 2^31 m, 64-bit lanes */
    __m128i fmask;
    __m128i left;  /* shift counts */
    __m128i e;
    __m128i e1;
    int32_t round; /* e >= 1 */
} edgelstm_rqv_t;

static inline void edgelstm_rqv_prepare(const edgelstm_rq16_t *u, edgelstm_rqv_t *v)
{
    const uint32_t multiplier = (uint32_t)u->m2s >> 1; /* 2m - 2^32 as uint32, halved: m (< 2^31) */
    const uint64_t k = ((uint64_t)1 << 30) - ((uint64_t)multiplier << 31);
    v->m = _mm_set1_epi32((int32_t)multiplier);
    v->k = _mm_set_epi32(edgelstm_u32_to_s32((uint32_t)(k >> 32)), edgelstm_u32_to_s32((uint32_t)k),
                         edgelstm_u32_to_s32((uint32_t)(k >> 32)), edgelstm_u32_to_s32((uint32_t)k));
    v->fmask = _mm_set1_epi32(u->fmask);
    v->left = _mm_cvtsi32_si128(u->left);
    v->e = _mm_cvtsi32_si128(u->e);
    v->e1 = _mm_cvtsi32_si128((u->e > 0) ? u->e - 1 : 0);
    v->round = (u->e > 0) ? 1 : 0;
}

/* MBQM of 4 int32 lanes (edgelstm_rq16 without its saturation). With the operand offset to
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
    edgelstm_rqv_t gate_x[4];    /* edgelstm_lstm_prepared_t's requantisers, as lanes */
    edgelstm_rqv_t gate_h[4];
    edgelstm_rqv_t cell_forget;
    edgelstm_rqv_t cell_input;
    edgelstm_rqv_t hidden;
    __m128i clip_lo;  /* int16 lanes */
    __m128i clip_hi;
    __m128i tanh_k;
    __m128i tanh_r;
    __m128i tanh_s;   /* shift count */
    __m128i h_offset;
} edgelstm_lstm_v_t;

/* edgelstm_lstm_prepare, then its numbers in lanes. */
static int32_t edgelstm_lstm_prepare_sse2(const edgelstm_lstm_params_s8_s16_t *p, edgelstm_lstm_v_t *v)
{
    edgelstm_lstm_prepared_t q;
    const int32_t ok = edgelstm_lstm_prepare(p, &q);
    int32_t g;
    for (g = 0; g < 4; ++g) {
        edgelstm_rqv_prepare(&q.gate_x[g], &v->gate_x[g]);
        edgelstm_rqv_prepare(&q.gate_h[g], &v->gate_h[g]);
    }
    edgelstm_rqv_prepare(&q.cell_forget, &v->cell_forget);
    edgelstm_rqv_prepare(&q.cell_input, &v->cell_input);
    edgelstm_rqv_prepare(&q.hidden, &v->hidden);
    v->clip_lo = _mm_set1_epi16((int16_t)q.clip_lo);
    v->clip_hi = _mm_set1_epi16((int16_t)q.clip_hi);
    v->tanh_k = _mm_set1_epi32(q.tanh_in.k);
    v->tanh_r = _mm_set1_epi32(q.tanh_in.r);
    v->tanh_s = _mm_cvtsi32_si128(q.tanh_in.s);
    v->h_offset = _mm_set1_epi32(q.h_offset);
    return ok;
}

/* The 4 units u .. u+3: X[g], H[g] the accumulators of gate g of the 4 units (lanes). Inlined
 * at both calls (the full groups and the last one): its constants stay in registers. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((always_inline))
#endif
static inline void edgelstm_lstm_update4(const __m128i X[4], const __m128i H[4], const edgelstm_lstm_v_t *v,
                                         int16_t *c, int8_t *h)
{
    __m128i act[4];
    __m128i cell;
    __m128i cv;
    int32_t g;
    int32_t hv;
    for (g = 0; g < 4; ++g) {
        const __m128i rx = edgelstm_rqv(X[g], &v->gate_x[g]);
        const __m128i rh = edgelstm_rqv(H[g], &v->gate_h[g]);
        const __m128i pre = edgelstm_s16x4_to_s32(_mm_adds_epi16(_mm_packs_epi32(rx, rx), _mm_packs_epi32(rh, rh)));
        act[g] = (g == 2) ? edgelstm_tanh_v(_mm_add_epi32(pre, _mm_slli_epi32(pre, 1))) : edgelstm_sigmoid_v(pre);
    }
    cv = edgelstm_s16x4_to_s32(_mm_loadl_epi64((const __m128i *)(const void *)c));
    {
        const __m128i fc = edgelstm_rqv(_mm_madd_epi16(act[1], cv), &v->cell_forget);
        const __m128i ig = edgelstm_rqv(_mm_madd_epi16(act[0], act[2]), &v->cell_input);
        cell = _mm_adds_epi16(_mm_packs_epi32(fc, fc), _mm_packs_epi32(ig, ig));
    }
    cell = _mm_min_epi16(_mm_max_epi16(cell, v->clip_lo), v->clip_hi);
    _mm_storel_epi64((__m128i *)(void *)c, cell);
    cv = edgelstm_s16x4_to_s32(cell);
    cv = _mm_sra_epi32(_mm_add_epi32(edgelstm_mullo_v(cv, v->tanh_k), v->tanh_r), v->tanh_s);
    cv = _mm_add_epi32(edgelstm_rqv(_mm_madd_epi16(act[3], edgelstm_tanh_v(cv)), &v->hidden), v->h_offset);
    cv = _mm_packs_epi32(cv, cv);
    hv = _mm_cvtsi128_si32(_mm_packs_epi16(cv, cv));
    memcpy(h, &hv, 4);
}

/* edgelstm_lstm_dot_sse2 of 4 consecutive units (their rows 4 n bytes apart) into out[0..3]:
 * every input block is loaded once for the 4 units. Rows of 512 columns or more go unit by unit
 * (the chunked single-unit kernel). */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static void edgelstm_lstm_dot4_sse2(const uint8_t *w, const uint32_t *vw, int32_t n, __m128i out[4])
{
    const __m128i lo8 = _mm_set1_epi16(0xFF);
    const int32_t k = n >> 2;
    const size_t stride = 4u * (size_t)n;
    const __m128i *pv = (const __m128i *)(const void *)vw;
    const uint8_t *w1 = w + stride;
    const uint8_t *w2 = w1 + stride;
    const uint8_t *w3 = w2 + stride;
    __m128i r0 = _mm_setzero_si128(), r1 = _mm_setzero_si128(), r2 = _mm_setzero_si128(), r3 = _mm_setzero_si128();
    __m128i a0 = _mm_setzero_si128(), a1 = _mm_setzero_si128(), a2 = _mm_setzero_si128(), a3 = _mm_setzero_si128();
    int32_t j;
    if (k > EDGELSTM_PAIRED_CHUNK_BLOCKS) {
        out[0] = edgelstm_lstm_dot_sse2(w, vw, n);
        out[1] = edgelstm_lstm_dot_sse2(w1, vw, n);
        out[2] = edgelstm_lstm_dot_sse2(w2, vw, n);
        out[3] = edgelstm_lstm_dot_sse2(w3, vw, n);
        return;
    }
    for (j = 0; j < k; ++j) {
        const __m128i xv = _mm_loadu_si128(pv + j);
        const __m128i v0 = _mm_loadu_si128((const __m128i *)(const void *)(w + 16 * j));
        const __m128i v1 = _mm_loadu_si128((const __m128i *)(const void *)(w1 + 16 * j));
        const __m128i v2 = _mm_loadu_si128((const __m128i *)(const void *)(w2 + 16 * j));
        const __m128i v3 = _mm_loadu_si128((const __m128i *)(const void *)(w3 + 16 * j));
        r0 = _mm_add_epi32(r0, _mm_madd_epi16(v0, xv));
        a0 = _mm_add_epi32(a0, _mm_madd_epi16(_mm_and_si128(v0, lo8), xv));
        r1 = _mm_add_epi32(r1, _mm_madd_epi16(v1, xv));
        a1 = _mm_add_epi32(a1, _mm_madd_epi16(_mm_and_si128(v1, lo8), xv));
        r2 = _mm_add_epi32(r2, _mm_madd_epi16(v2, xv));
        a2 = _mm_add_epi32(a2, _mm_madd_epi16(_mm_and_si128(v2, lo8), xv));
        r3 = _mm_add_epi32(r3, _mm_madd_epi16(v3, xv));
        a3 = _mm_add_epi32(a3, _mm_madd_epi16(_mm_and_si128(v3, lo8), xv));
    }
#if defined(__GNUC__) || defined(__clang__)
    /* As in edgelstm_paired_blocks_sse2: GCC then accumulates in place. */
    __asm__("" : "+x"(r0), "+x"(r1), "+x"(r2), "+x"(r3), "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3));
#endif
    if (n & 3) {
        const uint32_t *vt = vw + 4 * k;
        const size_t off = 16u * (size_t)k;
        edgelstm_paired_tail_sse2(w + off, vt, n, &r0, &a0);
        edgelstm_paired_tail_sse2(w1 + off, vt, n, &r1, &a1);
        edgelstm_paired_tail_sse2(w2 + off, vt, n, &r2, &a2);
        edgelstm_paired_tail_sse2(w3 + off, vt, n, &r3, &a3);
    }
    out[0] = edgelstm_paired_decode_sse2(r0, a0);
    out[1] = edgelstm_paired_decode_sse2(r1, a1);
    out[2] = edgelstm_paired_decode_sse2(r2, a2);
    out[3] = edgelstm_paired_decode_sse2(r3, a3);
}

/* The accumulators a[k] (gates i, f, g, o of unit k: lanes) of 4 units, transposed: t[g] = gate g
 * of the 4 units. */
static inline void edgelstm_transpose4(const __m128i a[4], __m128i t[4])
{
    const __m128i t0 = _mm_unpacklo_epi32(a[0], a[1]), t1 = _mm_unpackhi_epi32(a[0], a[1]);
    const __m128i t2 = _mm_unpacklo_epi32(a[2], a[3]), t3 = _mm_unpackhi_epi32(a[2], a[3]);
    t[0] = _mm_unpacklo_epi64(t0, t2);
    t[1] = _mm_unpackhi_epi64(t0, t2);
    t[2] = _mm_unpacklo_epi64(t1, t3);
    t[3] = _mm_unpackhi_epi64(t1, t3);
}

void edgelstm_lstm_step_s8_s16(const edgelstm_lstm_params_s8_s16_t *p, const int8_t *x, const int8_t *h_in,
                               int8_t *h_out, int16_t *c, int16_t *gate_scratch)
{
    const int32_t n_units = p->units;
    const int32_t n_in = p->input_size;
    const uint8_t *wx = (const uint8_t *)p->weights_x;
    const uint8_t *wh = (const uint8_t *)p->weights_h;
    const int32_t *bx = p->bias_x;
    const int32_t *bh = p->bias_h;
    edgelstm_lstm_v_t v;
    const int32_t ok = edgelstm_lstm_prepare_sse2(p, &v);
    const edgelstm_lstm_inputs_t in = edgelstm_lstm_widen_inputs(p, x, h_in, gate_scratch);
    const __m128i cx = _mm_set_epi32(0, 0, in.corr_x, in.corr_x); /* i and f rows only (paired) */
    const __m128i ch = _mm_set_epi32(0, 0, in.corr_h, in.corr_h);
    int32_t u;
    EDGELSTM_DEBUG_ASSERT(ok);
    for (u = 0; u + 4 <= n_units; u += 4) {
        __m128i ax[4];
        __m128i ah[4];
        __m128i X[4];
        __m128i H[4];
        int32_t k;
        edgelstm_lstm_dot4_sse2(wx, in.xw, n_in, ax);
        edgelstm_lstm_dot4_sse2(wh, in.hw, n_units, ah);
        for (k = 0; k < 4; ++k) { /* bias and w + 128 correction */
            ax[k] = _mm_add_epi32(_mm_add_epi32(ax[k], _mm_loadu_si128((const __m128i *)(const void *)bx)), cx);
            ah[k] = _mm_add_epi32(_mm_add_epi32(ah[k], _mm_loadu_si128((const __m128i *)(const void *)bh)), ch);
            bx += 4;
            bh += 4;
        }
        wx += 16 * n_in;
        wh += 16 * n_units;
        edgelstm_transpose4(ax, X);
        edgelstm_transpose4(ah, H);
        edgelstm_lstm_update4(X, H, &v, c + u, h_out + u);
    }
    if (u < n_units) { /* the last units % 4 units, one at a time, in 4 lanes (the others empty) */
        const int32_t n = n_units - u;
        int16_t c4[4] = {0, 0, 0, 0};
        int8_t h4[4];
        __m128i ax[4];
        __m128i ah[4];
        __m128i X[4];
        __m128i H[4];
        int32_t k;
        for (k = 0; k < 4; ++k) {
            ax[k] = _mm_setzero_si128();
            ah[k] = _mm_setzero_si128();
        }
        for (k = 0; k < n; ++k) {
            ax[k] = _mm_add_epi32(_mm_add_epi32(edgelstm_lstm_dot_sse2(wx + 4 * k * n_in, in.xw, n_in),
                                                _mm_loadu_si128((const __m128i *)(const void *)(bx + 4 * k))), cx);
            ah[k] = _mm_add_epi32(_mm_add_epi32(edgelstm_lstm_dot_sse2(wh + 4 * k * n_units, in.hw, n_units),
                                                _mm_loadu_si128((const __m128i *)(const void *)(bh + 4 * k))), ch);
            c4[k] = c[u + k];
        }
        edgelstm_transpose4(ax, X);
        edgelstm_transpose4(ah, H);
        edgelstm_lstm_update4(X, H, &v, c4, h4);
        memcpy(c + u, c4, 2 * (size_t)n);
        memcpy(h_out + u, h4, (size_t)n);
    }
}
#endif /* EDGELSTM_PATH_SSE2 */
