/*
 * edgelstm_dot_s8_mve.h - the int8 dot products of EDGELSTM_PATH_MVE (Cortex-M55 / M85 with
 * Helium, __ARM_FEATURE_MVE; edgelstm_config.h), internal header. Empty on every other path.
 *
 * The MVE path reads the recurrent weights in the rows encoding (EDGELSTM_LSTM_ROWS,
 * edgelstm_config.h; export-c lstm_unit_bytes(plain=True)): per LSTM unit (or per group of 4
 * GRU rows) the four rows one after the other, n signed bytes each, w itself. One VLDRB.8 loads
 * 16 weights of a row, one VMLADAVA.S8 multiplies them by 16 inputs and adds the 16 products to
 * a 32-bit accumulator (CMSIS-NN arm_nn_vec_mat_mult_t_s8's MVE loop does the same): the four
 * rows share each input vector, so 16 columns of 4 rows cost 1 + 4 + 4 instructions and the
 * loop's end. The inputs stay int8 (no widening, no w + 128 correction).
 *
 * Bounds: as edgelstm_dot_s8.h (|w x| <= 2^14, n <= 32768): VMLADAVA adds with a
 * two's-complement wrap, which is the simulator's wrap_int32(acc + bias).
 */
#ifndef EDGELSTM_DOT_S8_MVE_H
#define EDGELSTM_DOT_S8_MVE_H

#include <stdint.h>

#include "edgelstm_config.h"

#if defined(EDGELSTM_PATH_MVE)
#include <arm_mve.h>

#ifdef __cplusplus
extern "C" {
#endif

/* acc[r] += sum_j w[r n + j] v[j] for the 4 rows r of n signed bytes at w (rows encoding), n >= 0.
 *
 * With GCC and the optimiser (EDGELSTM_ASM_BUILD): a tail-predicated low-overhead loop (WLSTP.8 /
 * LETP, Armv8.1-M): the core predicates the last iteration to the n mod 16 remaining lanes, so
 * every size costs 10 instructions per 16 columns of the 4 rows (5 loads, 4 VMLADAVA, LETP) and
 * nothing for the tail; the predicated-off lanes are neither loaded nor added. Assembly because
 * GCC 12 does not form these loops from intrinsics; VMLADAVA needs even accumulator registers
 * (GCC's "Te" constraint), and the 10 operands need r7, which -O0 keeps as the frame pointer:
 * without optimisation the same sums in intrinsics, the last 16 columns under a VCTP.8
 * predicate (zeroing loads that touch no memory past the row). */
static inline void edgelstm_rows4_dot_mve(const int8_t *w, const int8_t *v, int32_t n, int32_t acc[4])
{
#if defined(EDGELSTM_ASM_BUILD) && !defined(__clang__) /* GCC's "Te" constraint */
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const int8_t *w0 = w;
    const int8_t *w1 = w + n;
    const int8_t *w2 = w1 + n;
    const int8_t *w3 = w2 + n;
    const int8_t *pv = v;
    __asm__ volatile(
        "wlstp.8    lr, %[n], 2f\n"
        "1:\n\t"
        "vldrb.8    q0, [%[pv]], #16\n\t"
        "vldrb.8    q1, [%[w0]], #16\n\t"
        "vmladava.s8 %[a0], q1, q0\n\t"
        "vldrb.8    q2, [%[w1]], #16\n\t"
        "vmladava.s8 %[a1], q2, q0\n\t"
        "vldrb.8    q3, [%[w2]], #16\n\t"
        "vmladava.s8 %[a2], q3, q0\n\t"
        "vldrb.8    q1, [%[w3]], #16\n\t"
        "vmladava.s8 %[a3], q1, q0\n\t"
        "letp       lr, 1b\n"
        "2:\n"
        : [a0] "+Te"(a0), [a1] "+Te"(a1), [a2] "+Te"(a2), [a3] "+Te"(a3), [pv] "+r"(pv), [w0] "+r"(w0), [w1] "+r"(w1),
          [w2] "+r"(w2), [w3] "+r"(w3)
        : [n] "r"(n)
        : "lr", "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "s12", "s13", "s14", "s15",
          "memory");
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
#else
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const int8_t *w1 = w + n;
    const int8_t *w2 = w1 + n;
    const int8_t *w3 = w2 + n;
    int32_t k;
    for (k = 0; k < n; k += 16) {
        const mve_pred16_t p = vctp8q((uint32_t)(n - k));
        const int8x16_t x = vldrbq_z_s8(v + k, p); /* lanes past n are 0 */
        a0 = vmladavaq_s8(a0, vldrbq_z_s8(w + k, p), x);
        a1 = vmladavaq_s8(a1, vldrbq_z_s8(w1 + k, p), x);
        a2 = vmladavaq_s8(a2, vldrbq_z_s8(w2 + k, p), x);
        a3 = vmladavaq_s8(a3, vldrbq_z_s8(w3 + k, p), x);
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
#endif
}

#ifdef __cplusplus
}
#endif

#endif /* EDGELSTM_PATH_MVE */
#endif /* EDGELSTM_DOT_S8_MVE_H */
