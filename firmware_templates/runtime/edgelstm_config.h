/*
 * edgelstm_config.h - which code the runtime compiles to, and the weight encoding that goes with
 * it. Included by edgelstm_runtime.h (so the generated NAME_model.c sees the same choice) and by
 * edgelstm_fixedpoint.h. Every source of one build must see the same macros (the exported
 * Makefile, CMakeLists and board projects compile them with one set of flags).
 */
#ifndef EDGELSTM_CONFIG_H
#define EDGELSTM_CONFIG_H

/* The path, chosen at compile time (no run-time dispatch):
 *   EDGELSTM_PATH_DSP      Cortex-M4 / M33 / M7 (__ARM_FEATURE_DSP): SMLAD dot products on the
 *                          paired weight encoding, SMMLAR requantisation, SSAT.
 *   EDGELSTM_PATH_ARMV6M   Cortex-M0 / M0+ / M1 (__ARM_ARCH_6M__): no 64-bit multiply
 *                          instruction; the requantisation's 32x32->64 product is built from
 *                          16x16 MULS partial products (no __aeabi_lmul call).
 *   EDGELSTM_PATH_PORTABLE everything else (x86, RISC-V, ...): plain C99 the compiler schedules;
 *                          on x86 with SSE2 (every x86-64) the dot products use SSE2 PMADDWD
 *                          (EDGELSTM_DOT_SSE2, edgelstm_dot_s8.h), the rest is the same C.
 * -DEDGELSTM_FORCE_PORTABLE selects the plain C on any target (what the benchmarks compare
 * against); -DEDGELSTM_FORCE_ARMV6M the ARMv6-M arithmetic on any target (tests run it on the
 * host). Every path gives the same bytes (tests/test_c_paths.py, tests/test_qemu.py). */
#if defined(EDGELSTM_FORCE_PORTABLE)
#define EDGELSTM_PATH_PORTABLE 1
#define EDGELSTM_KERNEL_PATH "portable"
#elif defined(EDGELSTM_FORCE_ARMV6M)
#define EDGELSTM_PATH_ARMV6M 1
#define EDGELSTM_KERNEL_PATH "armv6m"
#elif defined(__ARM_FEATURE_DSP) && (defined(__GNUC__) || defined(__clang__))
#define EDGELSTM_PATH_DSP 1
#define EDGELSTM_KERNEL_PATH "dsp"
#elif defined(__ARM_ARCH_6M__)
#define EDGELSTM_PATH_ARMV6M 1
#define EDGELSTM_KERNEL_PATH "armv6m"
#else
#define EDGELSTM_PATH_PORTABLE 1
#define EDGELSTM_KERNEL_PATH "portable"
#endif

/* x86-64 (and x86 with SSE2): SSE2 is part of the base instruction set, so the exported
 * Makefile's plain -O2 has it. */
#if defined(EDGELSTM_PATH_PORTABLE) && !defined(EDGELSTM_FORCE_PORTABLE) && defined(__SSE2__)
#define EDGELSTM_DOT_SSE2 1
#endif

/* The LSTM weight encoding (export-c writes both into NAME_model.c; the preprocessor keeps the
 * one this build's kernels read, edgelstm_dot_s8.h). Per unit, the rows of the gates i and g
 * are paired, and those of f and o: each 32-bit word holds two columns of a row pair,
 * [i_j, g_j, i_k, g_k] or [f_j, o_j, f_k, o_k]. The bytes of i and f are w + 128. Those of g and
 * o are
 *   EDGELSTM_LSTM_PAIRED 1 (DSP, SSE2): w itself, so a word's 16-bit halves are i_j + 128 +
 *                        256 g_j: one SMLAD / PMADDWD on the raw word gives both rows' sums
 *                        together, one more on its low bytes the i row's alone;
 *   EDGELSTM_LSTM_PAIRED 0 (ARMv6-M, portable C): w + 128 as well (unsigned byte loads).
 * A model compiled for one encoding and a runtime for the other do not link:
 * NAME_model.c refers to the runtime's EDGELSTM_LSTM_ENCODING. */
#if defined(EDGELSTM_PATH_DSP) || defined(EDGELSTM_DOT_SSE2)
#define EDGELSTM_LSTM_PAIRED 1
#define EDGELSTM_LSTM_ENCODING edgelstm_lstm_weights_paired
#else
#define EDGELSTM_LSTM_PAIRED 0
#define EDGELSTM_LSTM_ENCODING edgelstm_lstm_weights_offset
#endif

/* The LSTM weight arrays are 4-byte aligned (the DSP path reads them with LDM). */
#if defined(__GNUC__) || defined(__clang__)
#define EDGELSTM_ALIGNED4 __attribute__((aligned(4)))
#else
#define EDGELSTM_ALIGNED4
#endif

#endif /* EDGELSTM_CONFIG_H */
