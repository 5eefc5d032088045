/*
 * edgelstm_copy_s8.c - byte copy for STRIDED_SLICE (one time step) and RESHAPE.
 */
#include "edgelstm_runtime.h"

void edgelstm_copy_s8(const int8_t *x, int32_t n, int8_t *y)
{
    int32_t k;
    for (k = 0; k < n; ++k) {
        y[k] = x[k];
    }
}
