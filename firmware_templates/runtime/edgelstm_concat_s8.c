/*
 * edgelstm_concat_s8.c - CONCATENATION along the last axis (TFLM EvalUnquantized: the int8
 * inputs share the output's quantisation, bytes are copied). Called once per input.
 */
#include "edgelstm_runtime.h"

void edgelstm_concat_s8(const int8_t *x, int32_t rows, int32_t depth, int8_t *y, int32_t y_depth, int32_t offset)
{
    int32_t r;
    int32_t k;
    for (r = 0; r < rows; ++r) {
        const int8_t *src = x + r * depth;
        int8_t *dst = y + r * y_depth + offset;
        for (k = 0; k < depth; ++k) {
            dst[k] = src[k];
        }
    }
}
