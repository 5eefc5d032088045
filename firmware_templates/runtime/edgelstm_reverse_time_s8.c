/*
 * edgelstm_reverse_time_s8.c - REVERSE_V2 over the time axis of a (T, F) int8 sequence
 * (TFLM copies bytes; no rescaling even when the converter gave the copy another scale).
 */
#include "edgelstm_runtime.h"

void edgelstm_reverse_time_s8(const int8_t *x, int32_t time_steps, int32_t features, int8_t *y)
{
    int32_t t;
    int32_t f;
    for (t = 0; t < time_steps; ++t) {
        const int8_t *src = x + (time_steps - 1 - t) * features;
        int8_t *dst = y + t * features;
        for (f = 0; f < features; ++f) {
            dst[f] = src[f];
        }
    }
}
