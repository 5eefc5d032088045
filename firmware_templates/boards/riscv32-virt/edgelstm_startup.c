/*
 * edgelstm_startup.c - reset code of the bare-metal 32-bit RISC-V template (riscv32-virt).
 *
 * QEMU `-M virt -bios none` jumps to the start of DRAM in machine mode: _start (first in
 * .text, linker.ld) sets the global pointer and the stack, points mtvec at a trap handler,
 * copies .data from "flash", zeroes .bss, starts the tick counter and calls main(); main's
 * return value is the semihosting exit code. A trap (illegal instruction, bad access, ...)
 * ends the program with a message and mcause instead of hanging (QEMU then exits with code 3).
 * The symbols come from the board's linker script (linker.ld).
 */
#include <stdint.h>

#include "edgelstm_board.h"

extern uint32_t _sidata; /* .data in flash */
extern uint32_t _sdata;
extern uint32_t _edata;
extern uint32_t _sbss;
extern uint32_t _ebss;

int main(void);
void eb_reset(void) __attribute__((noreturn));
void eb_trap(void) __attribute__((noreturn));

/* The entry: gp and sp first (C needs them), then C. Only hart 0 runs; others park. */
__asm__(
    "    .section .text.start, \"ax\", @progbits\n"
    "    .global _start\n"
    "    .type _start, @function\n"
    "_start:\n"
    "    .option push\n"
    "    .option norelax\n"
    "    la   gp, __global_pointer$\n"
    "    .option pop\n"
    "    la   sp, _estack\n"
    "    .option push\n"
    "    .option arch, +zicsr\n"
    "    csrr t0, mhartid\n"
    "    bnez t0, 2f\n"
    "    la   t0, eb_trap_entry\n"
    "    csrw mtvec, t0\n"
    "    .option pop\n"
    "    j    eb_reset\n"
    "2:  wfi\n"
    "    j    2b\n"
    "    .balign 4\n"
    "eb_trap_entry:\n"
    "    la   sp, _estack\n"
    "    j    eb_trap\n"
    "    .size _start, . - _start\n"
    "    .text\n");

void eb_reset(void)
{
    volatile uint32_t *src = &_sidata;
    volatile uint32_t *dst = &_sdata;
    while (dst < &_edata) {
        *dst++ = *src++;
    }
    dst = &_sbss;
    while (dst < &_ebss) {
        *dst++ = 0u;
    }
    eb_ticks_start();
    eb_exit(main());
}

void eb_trap(void)
{
    uint32_t cause;
    __asm__ volatile(".option push\n\t.option arch, +zicsr\n\tcsrr %0, mcause\n\t.option pop" : "=r"(cause));
    eb_puts("\nedgelstm board: trap (bad memory access, illegal instruction or stack overflow), mcause ");
    eb_put_u64(cause);
    eb_puts("\n");
    eb_exit(3);
}
