/*
 * edgelstm_frontend.h - the raw radar front end: one frame of int16 ADC samples (chirps x
 * samples) -> the model's int8 input frame, integer only.
 *
 * Each kernel is one file and reproduces one function of edgelstm/frontend/ (numpy) bit for bit:
 *   edgelstm_fft_q15.c                  fixed.fft_q15 (radix-2 complex FFT, 1/2 per stage)
 *   edgelstm_log2_q16.c                 fixed.log2_q16 / fixed.db_q8 (table log2, dB)
 *   edgelstm_frontend_doppler_s16.c     doppler.features_fixed (range gate, Doppler, dB)
 *   edgelstm_frontend_quantize_s8.c     quant.quantize_features (normalisation + int8 input)
 * The generated NAME_frontend.c holds the tables and the parameters (const, flash) and the
 * scratch (static, sized at export). C99, no malloc, no floating point, no recursion.
 */
#ifndef EDGELSTM_FRONTEND_H
#define EDGELSTM_FRONTEND_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* round(2^16 * 10 log10(2)): dB = log2 * 10 log10(2) (spec.DB_PER_LOG2_Q16) */
#define EDGELSTM_DB_PER_LOG2_Q16 197283

/* The doppler front end of one model, prepared at export (edgelstm/frontend/spec.py tables()). */
typedef struct {
    int32_t chirps;             /* M */
    int32_t samples;            /* S, a power of two */
    int32_t doppler_fft;        /* ND, a power of two >= M */
    int32_t doppler_bins;       /* B; ND / B FFT bins are summed per feature */
    int32_t log2_doppler_fft;
    int32_t log2_ratio;         /* log2(ND / B) */
    int32_t gate_chirps;        /* K chirps (i * M / K) whose summed range power locates the gate */
    int32_t min_gate;           /* range bins the gate may take */
    int32_t max_gate;
    int32_t chirps_log2_q16;    /* 2^16 log2(M) by edgelstm_log2_q16 */
    int32_t db_offset_q16;      /* 2^16 log2 of the Doppler reference power */
    int32_t amp_offset_q16;     /* 2^16 log2 of the amplitude reference power */
    const int16_t *range_window;   /* (S) q15 Hann */
    const int16_t *doppler_window; /* (M) q15 Hann */
    const int16_t *cos_s;          /* (S) q15 cos(2 pi k / S) */
    const int16_t *sin_s;          /* (S) q15 sin(2 pi k / S) */
    const int16_t *cos_d;          /* (ND / 2) q15 cos(2 pi k / ND) */
    const int16_t *sin_d;          /* (ND / 2) */
    const int32_t *log2_table;     /* (65) round(2^16 log2(1 + i / 64)) */
} edgelstm_frontend_doppler_t;

/* In-place radix-2 DIT complex FFT of n points (a power of two), output = DFT / n (each stage
 * halves, rounding); twiddles cos_t[k * stride], sin_t[k * stride] for k < n / 2. */
void edgelstm_fft_q15(int16_t *re, int16_t *im, int32_t n, const int16_t *cos_t, const int16_t *sin_t,
                      int32_t stride);

/* Bits needed for x (0 -> 0). */
int32_t edgelstm_bitlen_u64(uint64_t x);

/* 2^16 log2(p) (p = 0 counts as 1): exponent from the bit length, a 65-entry mantissa table
 * with linear interpolation. */
int32_t edgelstm_log2_q16(uint64_t p, const int32_t *table);

/* dB in 1/256 units of a Q16 log2: (L * EDGELSTM_DB_PER_LOG2_Q16 + 2^23) >> 24 (floor). */
int32_t edgelstm_db_q8(int64_t log2_q16);

/* One frame adc[chirps * samples] (chirp-major) -> features[doppler_bins + 2]: the Doppler
 * bins (1/256 dB), the range gate index, the amplitude (1/256 dB).
 * scratch16: 2 * max(samples, doppler_fft) values; scratch32: 2 * chirps; scratch64: samples / 2. */
void edgelstm_frontend_doppler_s16(const int16_t *adc, const edgelstm_frontend_doppler_t *p, int16_t *scratch16,
                                   int32_t *scratch32, uint64_t *scratch64, int32_t *features);

/* q[f] = clamp(zero_point + round_half_away((v[f] * mul[f] + add[f]) / 2^16), -128, 127). */
void edgelstm_frontend_quantize_s8(const int32_t *v, const int32_t *mul, const int64_t *add, int32_t zero_point,
                                   int32_t n, int8_t *q);

#ifdef __cplusplus
}
#endif

#endif /* EDGELSTM_FRONTEND_H */
