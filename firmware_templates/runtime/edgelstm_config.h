/*
 * edgelstm_config.h - which code the runtime compiles to, and the weight encoding that goes with
 * it: the ONLY place the path is chosen. Included by edgelstm_runtime.h (so the generated
 * NAME_model.c sees the same choice) and by edgelstm_fixedpoint.h. Every source of one build must
 * see the same macros (the exported Makefile, CMakeLists and board projects compile them with one
 * set of flags; a model and a runtime built for different encodings do not link, see below).
 */
#ifndef EDGELSTM_CONFIG_H
#define EDGELSTM_CONFIG_H

/* ---- the path: exactly one of six, at compile time (no run-time dispatch) ---------------------
 *
 *   EDGELSTM_PATH_DSP      Cortex-M4 / M33 / M7 (__ARM_FEATURE_DSP): the LSTM unit loop in
 *                          assembly (edgelstm_lstm_step_s8_s16_dsp.c), SMLAD dot products on the
 *                          paired weight encoding, SMMLAR requantisation, SSAT.
 *   EDGELSTM_PATH_ARMV6M   Cortex-M0 / M0+ / M1 (__ARM_ARCH_6M__): the LSTM unit loop in
 *                          assembly (edgelstm_lstm_step_s8_s16_armv6m.c), MULS only.
 *   EDGELSTM_PATH_MVE      Cortex-M55 / M85 with Helium (__ARM_FEATURE_MVE): VMLADAVA dot
 *                          products over 16 int8 on the rows encoding (below) in a
 *                          tail-predicated WLSTP/LETP loop (GCC assembly; intrinsics at -O0
 *                          and with clang, edgelstm_dot_s8_mve.h), the unit update 4 units per
 *                          vector in intrinsics (edgelstm_lstm_step_s8_s16_mve.c,
 *                          edgelstm_gru_step_s8_s16_mve.c, edgelstm_fixedpoint_mve.h).
 *   EDGELSTM_PATH_SSE2     x86 with SSE2 (every x86-64; the exported Makefile's plain -O2 has
 *                          it): 4 LSTM units at once in intrinsics
 *                          (edgelstm_lstm_step_s8_s16_sse2.c), PMADDWD dot products.
 *   EDGELSTM_PATH_RV32     32-bit RISC-V with multiply (__riscv_xlen 32, __riscv_mul: rv32imc,
 *                          rv32imac, ...): the LSTM unit loop in C for the core
 *                          (edgelstm_lstm_step_s8_s16_rv32.c), MULHSU requantisation, no
 *                          64-bit arithmetic and no helper calls.
 *   EDGELSTM_PATH_PORTABLE everything else (rv32i, rv64, other compilers, ...): plain C99
 *                          (edgelstm_lstm_step_s8_s16.c).
 *
 * Each edgelstm_lstm_step_s8_s16_<path>.c is compiled whole when its macro is set and is empty
 * otherwise; edgelstm_dot_s8.h and edgelstm_fixedpoint.h read the same macros and derive nothing.
 *
 * -O0 policy: the two assembly paths need the optimiser. Their unit loops use every core
 * register (r0-r12 and lr), and without optimisation GCC keeps r7 as the frame pointer ("r7
 * cannot be used in 'asm' here"). So a build without optimisation (no __OPTIMIZE__: -O0; -Og and
 * up define it) takes the portable path on every core, and says so in EDGELSTM_KERNEL_PATH
 * ("portable, -O0 (...)"): a debug build runs the portable C, never a half-optimised mix of the
 * two. The outputs are the same bytes on every path (tests/test_c_paths.py, tests/test_qemu.py);
 * debug the assembly paths at -Og or -O1. (Likewise -fno-omit-frame-pointer with optimisation
 * reserves r7 and does not compile the assembly paths: leave it off or define
 * EDGELSTM_FORCE_PORTABLE.) SSE2 intrinsics compile at every level: x86 keeps its path at -O0.
 *
 * -DEDGELSTM_FORCE_PORTABLE selects the portable C on any target (the benchmarks' in-run peer);
 * -DEDGELSTM_FORCE_ARMV6M the ARMv6-M arithmetic on any target: the assembly on an ARMv6-M core
 * with optimisation, elsewhere the portable C with the ARMv6-M requantisation
 * (EDGELSTM_NO_MUL64 below; tests run it on the host). */
#if defined(EDGELSTM_FORCE_PORTABLE) && defined(EDGELSTM_FORCE_ARMV6M)
#error "EDGELSTM_FORCE_PORTABLE and EDGELSTM_FORCE_ARMV6M exclude each other"
#endif

#if (defined(__GNUC__) || defined(__clang__)) && defined(__OPTIMIZE__)
#define EDGELSTM_ASM_BUILD 1 /* GNU inline assembly, with the optimiser: the assembly paths compile */
#endif

#if defined(EDGELSTM_FORCE_PORTABLE)
#define EDGELSTM_PATH_PORTABLE 1
#elif defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1) && !defined(EDGELSTM_FORCE_ARMV6M)
/* Cortex-M55 / M85 (Helium): at every optimisation level (without optimisation the dot
 * products take intrinsics instead of the assembly loop); before DSP, which these cores have too */
#define EDGELSTM_PATH_MVE 1
#define EDGELSTM_KERNEL_PATH "mve"
#elif defined(__ARM_FEATURE_DSP) && !defined(EDGELSTM_FORCE_ARMV6M) && defined(EDGELSTM_ASM_BUILD)
#define EDGELSTM_PATH_DSP 1
#define EDGELSTM_KERNEL_PATH "dsp"
#elif defined(__ARM_ARCH_6M__) && defined(EDGELSTM_ASM_BUILD)
#define EDGELSTM_PATH_ARMV6M 1
#define EDGELSTM_KERNEL_PATH "armv6m"
#elif defined(__SSE2__) && !defined(EDGELSTM_FORCE_ARMV6M)
#define EDGELSTM_PATH_SSE2 1
#define EDGELSTM_KERNEL_PATH "sse2"
#elif defined(__riscv) && defined(__riscv_xlen) && (__riscv_xlen == 32) && defined(__riscv_mul) && \
    !defined(EDGELSTM_FORCE_ARMV6M)
/* 32-bit RISC-V with the M extension (rv32imc, ESP32-C3 class): C with one MULHSU of inline
 * assembly (edgelstm_lstm_step_s8_s16_rv32.c), so at every optimisation level (as SSE2) */
#define EDGELSTM_PATH_RV32 1
#define EDGELSTM_KERNEL_PATH "rv32"
#else
#define EDGELSTM_PATH_PORTABLE 1
#endif

/* The arithmetic of the requantisations: EDGELSTM_NO_MUL64 where a 32 x 32 -> 64-bit product is
 * not one instruction (ARMv6-M: a C int64 product calls __aeabi_lmul); the 64-bit products are
 * then built from 16 x 16 MULS partial products (edgelstm_fixedpoint.h). The ARMv6-M path always
 * has it; so has the portable path on an ARMv6-M core (-O0) and under EDGELSTM_FORCE_ARMV6M. */
#if defined(EDGELSTM_FORCE_ARMV6M) || (defined(__ARM_ARCH_6M__) && !defined(EDGELSTM_FORCE_PORTABLE))
#define EDGELSTM_NO_MUL64 1
#endif

#if defined(EDGELSTM_PATH_PORTABLE)
#if defined(EDGELSTM_NO_MUL64)
#define EDGELSTM_PORTABLE_NAME "portable (ARMv6-M arithmetic)"
#else
#define EDGELSTM_PORTABLE_NAME "portable"
#endif
#if !defined(EDGELSTM_FORCE_PORTABLE) && !defined(__OPTIMIZE__) && \
    (defined(__ARM_FEATURE_DSP) || defined(__ARM_ARCH_6M__))
#define EDGELSTM_KERNEL_PATH EDGELSTM_PORTABLE_NAME ", -O0 (the assembly paths need optimisation)"
#else
#define EDGELSTM_KERNEL_PATH EDGELSTM_PORTABLE_NAME
#endif
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
#if defined(EDGELSTM_PATH_MVE)
/* EDGELSTM_LSTM_ROWS 1 (MVE): no column pairs; per unit the rows i, f, g, o one after the
 * other, n bytes each, w itself (16 columns of a row per vector load, edgelstm_dot_s8_mve.h). */
#define EDGELSTM_LSTM_ROWS 1
#define EDGELSTM_LSTM_PAIRED 0
#define EDGELSTM_LSTM_ENCODING edgelstm_lstm_weights_rows
#elif defined(EDGELSTM_PATH_DSP) || defined(EDGELSTM_PATH_SSE2)
#define EDGELSTM_LSTM_PAIRED 1
#define EDGELSTM_LSTM_ENCODING edgelstm_lstm_weights_paired
#else
#define EDGELSTM_LSTM_PAIRED 0
#define EDGELSTM_LSTM_ENCODING edgelstm_lstm_weights_offset
#endif
#if !defined(EDGELSTM_LSTM_ROWS)
#define EDGELSTM_LSTM_ROWS 0
#endif

/* The LSTM weight arrays are 4-byte aligned (the DSP path reads them with LDM). */
#if defined(__GNUC__) || defined(__clang__)
#define EDGELSTM_ALIGNED4 __attribute__((aligned(4)))
#else
#define EDGELSTM_ALIGNED4
#endif

/* Cortex-M0 parts have little flash: the longer helpers of edgelstm_fixedpoint.h get one
 * out-of-line copy per kernel file on the ARMv6-M path (a call costs a few instructions;
 * docs/performance.md), and are inlined elsewhere. */
#if defined(EDGELSTM_PATH_ARMV6M)
#define EDGELSTM_SMALL_ON_ARMV6M __attribute__((noinline, unused)) static
#else
#define EDGELSTM_SMALL_ON_ARMV6M static inline
#endif

/* Debug checks of what export-c guarantees (e.g. every LSTM multiplier is 0 or in [2^30, 2^31):
 * edgelstm/codegen/graph.py refuses other models): assert() in a build with -DEDGELSTM_DEBUG
 * (unless NDEBUG is defined; the host tests build with it). Opt-in, not tied to -O0: assert()
 * needs the C library's abort and output, which a bare-metal firmware often does not link.
 * Otherwise the condition is evaluated for nothing and compiles to no code. */
#if defined(EDGELSTM_DEBUG) && !defined(NDEBUG)
#include <assert.h>
#define EDGELSTM_DEBUG_ASSERT(cond) assert(cond)
#else
#define EDGELSTM_DEBUG_ASSERT(cond) ((void)(cond))
#endif

#endif /* EDGELSTM_CONFIG_H */
