/*
 * edgelstm_board.h - the board layer of edgelstm's bare-metal 32-bit RISC-V template
 * (riscv32-virt: qemu-system-riscv32 -M virt -bios none). The same API as the Cortex-M one
 * (boards/common/edgelstm_board.h), so the self test, verify and footprint programs of
 * boards/common/ are the same files on both architectures.
 *
 * Three services, nothing else (no libc stdio, no malloc, no heap):
 *   - semihosting (the RISC-V semihosting spec: the ARM semihosting operations, trapped by the
 *     sequence `slli x0, x0, 0x1f; ebreak; srai x0, x0, 7`): console output, host files and the
 *     exit code. QEMU implements it (-semihosting-config enable=on,target=native); on a real
 *     board a debugger does (OpenOCD "arm semihosting enable"). Without a debugger the ebreak
 *     traps: replace eb_puts()/eb_exit() by your UART then.
 *   - a 64-bit tick counter: the minstret CSR (instructions retired, machine mode). Under
 *     `qemu-system-riscv32 -icount shift=0` QEMU's minstret and mcycle both count executed
 *     instructions, so EB_SYSTICK_HZ is 1e9 (one tick per instruction, the same formula as the
 *     Cortex-M boards' SysTick). On hardware minstret counts instructions too (mcycle cycles).
 *   - stack painting, to measure the stack a call really uses.
 *
 * C99, compiles with -Wall -Wextra -Wpedantic -Werror for rv32imc / ilp32 (and rv32imac, rv32i).
 */
#ifndef EDGELSTM_BOARD_H
#define EDGELSTM_BOARD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- semihosting ------------------------------------------------------------------------ */
#define EB_SYS_OPEN 0x01
#define EB_SYS_CLOSE 0x02
#define EB_SYS_WRITEC 0x03
#define EB_SYS_WRITE0 0x04
#define EB_SYS_WRITE 0x05
#define EB_SYS_READ 0x06
#define EB_SYS_FLEN 0x0C
#define EB_SYS_EXIT 0x18
#define EB_SYS_EXIT_EXTENDED 0x20

#define EB_OPEN_RB 1 /* fopen mode "rb" */
#define EB_OPEN_WB 5 /* fopen mode "wb" */

int32_t eb_semihost(int32_t op, void *arg);
int32_t eb_open(const char *path, int32_t mode);          /* handle, or -1 */
int32_t eb_read(int32_t fd, void *buf, uint32_t n);       /* bytes read */
int32_t eb_write(int32_t fd, const void *buf, uint32_t n); /* bytes written */
int32_t eb_close(int32_t fd);
void eb_exit(int code) __attribute__((noreturn));         /* semihosting exit code (0: success) */

/* Console output (semihosting SYS_WRITE0; no buffering, no printf). */
void eb_puts(const char *s);
void eb_put_int(int32_t v);
void eb_put_u64(uint64_t v);
void eb_put_kv(const char *key, uint64_t value); /* "key value\n" */
/* "key value\n" into a semihosting file handle (-1: the console). */
void eb_fput_kv(int32_t fd, const char *key, uint64_t value);

/* ---- ticks (minstret) ---------------------------------------------------------------------- */
void eb_ticks_start(void); /* (re)start at 0 */
void eb_ticks_stop(void);  /* nothing to stop: minstret needs no interrupt */
uint64_t eb_ticks(void);

/* ---- stack high-water mark ---------------------------------------------------------------- */
/* uintptr_t sp = eb_stack_pointer(); eb_stack_paint(sp); f(); used = eb_stack_used(sp);
 * gives the bytes of stack f() touched below the caller's stack pointer.
 * eb_stack_paint fills [_stack_limit, below) with a pattern and uses no stack itself. */
static inline uintptr_t eb_stack_pointer(void)
{
    uintptr_t sp;
    __asm__ volatile("mv %0, sp" : "=r"(sp));
    return sp;
}
void eb_stack_paint(uintptr_t below);
uint32_t eb_stack_used(uintptr_t below);

/* Known-length loop for the tick calibration: 2 * n + 1 instructions (n >= 1), so
 * eb_spin(n + 1) executes exactly 2 * n instructions more than eb_spin(1). */
void eb_spin(uint32_t n);

#ifdef __cplusplus
}
#endif

#endif /* EDGELSTM_BOARD_H */
