/*
 * edgelstm_argmax_s8.c - index of the first largest int8 value (numpy.argmax).
 */
#include "edgelstm_runtime.h"

int32_t edgelstm_argmax_s8(const int8_t *x, int32_t n)
{
    int32_t best = 0;
    int32_t k;
    for (k = 1; k < n; ++k) {
        if (x[k] > x[best]) {
            best = k;
        }
    }
    return best;
}
