/*
 * edgelstm_log2_q16.c - integer log2 and dB (edgelstm/frontend/fixed.py bit_length, log2_q16,
 * db_q8).
 */
#include "edgelstm_fixedpoint.h"
#include "edgelstm_frontend.h"

int32_t edgelstm_bitlen_u64(uint64_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    /* count leading zeros: one CLZ per word on cores that have it (not the shift loop below) */
    if ((x >> 32) != 0u) {
        return 64 - __builtin_clz((unsigned int)(uint32_t)(x >> 32));
    }
    return (x != 0u) ? 32 - __builtin_clz((unsigned int)(uint32_t)x) : 0;
#else
    int32_t n = 0;
    while (x != 0u) {
        ++n;
        x >>= 1;
    }
    return n;
#endif
}

int32_t edgelstm_log2_q16(uint64_t p, const int32_t *table)
{
    int32_t n;
    int32_t f;
    int32_t idx;
    int32_t rem;
    uint32_t y;
    if (p == 0u) {
        p = 1u;
    }
    n = edgelstm_bitlen_u64(p) - 1;
    y = (n >= 16) ? (uint32_t)(p >> (n - 16)) : (uint32_t)(p << (16 - n)); /* mantissa in [2^16, 2^17) */
    f = (int32_t)y - 65536;
    idx = f >> 10;
    rem = f & 1023;
    return n * 65536 + table[idx] + edgelstm_asr_s32((table[idx + 1] - table[idx]) * rem + 512, 10);
}

int32_t edgelstm_db_q8(int64_t log2_q16)
{
    return (int32_t)edgelstm_asr_s64(log2_q16 * EDGELSTM_DB_PER_LOG2_Q16 + ((int64_t)1 << 23), 24);
}
