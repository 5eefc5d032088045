/*
 * edgelstm_fft_q15.c - radix-2 decimation-in-time complex q15 FFT with 1/2 scaling per stage
 * (edgelstm/frontend/fixed.py fft_q15; the scaling of CMSIS-DSP arm_cfft_q15, so no stage can
 * overflow: inputs of magnitude <= 2^15 stay within it, the saturation only guards).
 */
#include "edgelstm_fixedpoint.h"
#include "edgelstm_frontend.h"

void edgelstm_fft_q15(int16_t *re, int16_t *im, int32_t n, const int16_t *cos_t, const int16_t *sin_t,
                      int32_t stride)
{
    int32_t i;
    int32_t j = 0;
    int32_t half;
    /* bit-reversed order */
    for (i = 0; i < n - 1; ++i) {
        int32_t m = n >> 1;
        if (i < j) {
            int16_t t = re[i];
            re[i] = re[j];
            re[j] = t;
            t = im[i];
            im[i] = im[j];
            im[j] = t;
        }
        while ((j & m) != 0) {
            j ^= m;
            m >>= 1;
        }
        j |= m;
    }
    for (half = 1; half < n; half <<= 1) {
        const int32_t step = (n / (2 * half)) * stride;
        int32_t k;
        for (k = 0; k < half; ++k) {
            const int32_t c = cos_t[k * step];
            const int32_t s = sin_t[k * step];
            int32_t a;
            for (a = k; a < n; a += 2 * half) {
                const int32_t b = a + half;
                const int32_t br = re[b];
                const int32_t bi = im[b];
                const int32_t ar = re[a];
                const int32_t ai = im[a];
                /* t = b * (c - j s), each part rounded to q15; |br c + bi s| < 2^31 (|c|, |s| <= 32767) */
                const int32_t tr = edgelstm_asr_s32(br * c + bi * s + (1 << 14), 15);
                const int32_t ti = edgelstm_asr_s32(bi * c - br * s + (1 << 14), 15);
                re[a] = (int16_t)edgelstm_sat16(edgelstm_asr_s32(ar + tr + 1, 1));
                im[a] = (int16_t)edgelstm_sat16(edgelstm_asr_s32(ai + ti + 1, 1));
                re[b] = (int16_t)edgelstm_sat16(edgelstm_asr_s32(ar - tr + 1, 1));
                im[b] = (int16_t)edgelstm_sat16(edgelstm_asr_s32(ai - ti + 1, 1));
            }
        }
    }
}
