/*
 * edgelstm_frontend_doppler_s16.c - the doppler front end of one raw radar frame, bit for bit
 * edgelstm/frontend/doppler.py features_fixed (its docstring and docs/raw_radar.md give the
 * steps and why):
 *   1. frame exponent s1 = max(15 - bitlen(max |x|), 0)   (one shift for the whole frame)
 *   2. q15 Hann window over fast time on (x << s1)
 *   3. range gate: the range power of gate_chirps chirps (i * M / K) summed, two real chirps a, b
 *      per q15 FFT of a + j b (|A_k|^2 + |B_k|^2 = (|Z_k|^2 + |Z_(S-k)|^2) / 2); the strongest of
 *      bins min_gate..max_gate, on a tie the lowest bin wins
 *   4. the gate bin of every chirp by a direct DFT bin (int64 accumulation, >> 15)
 *   5. block exponent s2 of the gate column, the column at 15 bits
 *   6. amplitude: mean power of the column; Hann over the chirps, q15 FFT of doppler_fft
 *      points, power, fftshift, ND / B bins summed per feature
 *   7. 10 log10 by edgelstm_log2_q16 with the exponents added back, in 1/256 dB
 */
#include "edgelstm_fixedpoint.h"
#include "edgelstm_frontend.h"

static int32_t edgelstm_fe_window(int32_t x, int32_t s1, int32_t w)
{
    /* ((x << s1) * w + 2^14) >> 15; |x << s1| <= 2^15 by the choice of s1 */
    return edgelstm_asr_s32(x * (1 << s1) * w + (1 << 14), 15);
}

void edgelstm_frontend_doppler_s16(const int16_t *adc, const edgelstm_frontend_doppler_t *p, int16_t *scratch16,
                                   int32_t *scratch32, uint64_t *scratch64, int32_t *features)
{
    const int32_t M = p->chirps;
    const int32_t S = p->samples;
    const int32_t ND = p->doppler_fft;
    const int32_t B = p->doppler_bins;
    const int32_t L = (S > ND) ? S : ND;
    int16_t *re = scratch16;
    int16_t *im = scratch16 + L;
    int32_t *gr = scratch32;
    int32_t *gi = scratch32 + M;
    int32_t mx = 0;
    int32_t s1;
    int32_t s2;
    int32_t e2;
    int32_t gate;
    int32_t i;
    int32_t m;
    int32_t n;
    int32_t b;
    int32_t mg = 0;
    uint64_t best = 0u;
    uint64_t *pw = scratch64;
    int32_t j;
    uint64_t pa = 0u;
    int64_t la;

    /* 1. frame exponent */
    for (i = 0; i < M * S; ++i) {
        const int32_t a = (adc[i] < 0) ? -(int32_t)adc[i] : (int32_t)adc[i];
        if (a > mx) {
            mx = a;
        }
    }
    s1 = 15 - edgelstm_bitlen_u64((uint64_t)mx);
    if (s1 < 0) {
        s1 = 0;
    }

    /* 2.-3. windowed gate chirps two per FFT, their summed range power, the strongest allowed
     * bin (first maximum) */
    for (b = 0; b < S / 2; ++b) {
        pw[b] = 0u;
    }
    for (j = 0; j < p->gate_chirps; j += 2) {
        const int16_t *xa = adc + (j * M / p->gate_chirps) * S;
        const int16_t *xb = adc + (((j + 1) * M) / p->gate_chirps) * S;
        const int has_b = (j + 1 < p->gate_chirps);
        for (n = 0; n < S; ++n) {
            re[n] = (int16_t)edgelstm_fe_window(xa[n], s1, p->range_window[n]);
            im[n] = has_b ? (int16_t)edgelstm_fe_window(xb[n], s1, p->range_window[n]) : (int16_t)0;
        }
        edgelstm_fft_q15(re, im, S, p->cos_s, p->sin_s, 1);
        for (b = p->min_gate; b <= p->max_gate; ++b) {
            const int32_t c = (S - b) & (S - 1);
            pw[b] += (uint64_t)(uint32_t)((int32_t)re[b] * re[b]) + (uint64_t)(uint32_t)((int32_t)im[b] * im[b]) +
                     (uint64_t)(uint32_t)((int32_t)re[c] * re[c]) + (uint64_t)(uint32_t)((int32_t)im[c] * im[c]);
        }
    }
    gate = p->min_gate;
    for (b = p->min_gate; b <= p->max_gate; ++b) {
        if (b == p->min_gate || pw[b] > best) {
            best = pw[b];
            gate = b;
        }
    }

    /* 4. the gate's bin on every chirp: sum_n x_w[n] (cos - j sin)(2 pi gate n / S) */
    for (m = 0; m < M; ++m) {
        const int16_t *x = adc + m * S;
        int64_t ar = 0;
        int64_t ai = 0;
        int32_t k = 0;
        for (n = 0; n < S; ++n) {
            const int32_t xw = edgelstm_fe_window(x[n], s1, p->range_window[n]);
            ar += (int64_t)(xw * p->cos_s[k]);
            ai -= (int64_t)(xw * p->sin_s[k]);
            k = (k + gate) & (S - 1);
        }
        gr[m] = (int32_t)edgelstm_asr_s64(ar + (1 << 14), 15);
        gi[m] = (int32_t)edgelstm_asr_s64(ai + (1 << 14), 15);
        if (gr[m] > mg || -gr[m] > mg) {
            mg = (gr[m] < 0) ? -gr[m] : gr[m];
        }
        if (gi[m] > mg || -gi[m] > mg) {
            mg = (gi[m] < 0) ? -gi[m] : gi[m];
        }
    }

    /* 5.-6. block exponent, amplitude, window, zero padding */
    s2 = edgelstm_bitlen_u64((uint64_t)mg) - 15;
    for (m = 0; m < M; ++m) {
        int32_t vr;
        int32_t vi;
        if (s2 > 0) {
            vr = edgelstm_sat16(edgelstm_asr_s32(gr[m] + (1 << (s2 - 1)), s2));
            vi = edgelstm_sat16(edgelstm_asr_s32(gi[m] + (1 << (s2 - 1)), s2));
        } else {
            vr = gr[m] * (1 << -s2);
            vi = gi[m] * (1 << -s2);
        }
        pa += (uint64_t)(uint32_t)(vr * vr) + (uint64_t)(uint32_t)(vi * vi);
        re[m] = (int16_t)edgelstm_asr_s32(vr * p->doppler_window[m] + (1 << 14), 15);
        im[m] = (int16_t)edgelstm_asr_s32(vi * p->doppler_window[m] + (1 << 14), 15);
    }
    for (m = M; m < ND; ++m) {
        re[m] = 0;
        im[m] = 0;
    }
    e2 = 2 * (s2 - s1); /* |G|^2 = |v|^2 2^e2 in ADC units */
    la = (int64_t)edgelstm_log2_q16(pa, p->log2_table) - p->chirps_log2_q16 + (int64_t)e2 * 65536 - p->amp_offset_q16;
    features[B + 1] = edgelstm_db_q8(la);
    features[B] = gate;

    /* 6.-7. Doppler FFT, power, fftshift, bins summed, dB */
    edgelstm_fft_q15(re, im, ND, p->cos_d, p->sin_d, 1);
    {
        const int32_t r = ND / B;
        const int64_t extra = (int64_t)(e2 + 2 * p->log2_doppler_fft - p->log2_ratio) * 65536 - p->db_offset_q16;
        for (b = 0; b < B; ++b) {
            uint64_t ps = 0u;
            int32_t t;
            for (t = 0; t < r; ++t) {
                const int32_t k = (b * r + t + ND / 2) & (ND - 1);
                ps += (uint64_t)(uint32_t)((int32_t)re[k] * re[k]) + (uint64_t)(uint32_t)((int32_t)im[k] * im[k]);
            }
            features[b] = edgelstm_db_q8((int64_t)edgelstm_log2_q16(ps, p->log2_table) + extra);
        }
    }
}
