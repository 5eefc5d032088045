/*
 * edgelstm_startup.c - vector table and reset code of the bare-metal Cortex-M template.
 *
 * One file for every core (ARMv6-M, ARMv7-M, ARMv8-M mainline): the reset handler copies
 * .data from flash, zeroes .bss, switches the FPU on when the code is built for one
 * (__ARM_FP), starts the SysTick tick counter and calls main(); main's return value is the
 * semihosting exit code. Faults end the program with a message instead of hanging (QEMU then
 * exits with code 3). The symbols come from the board's linker script (linker.ld).
 */
#include <stdint.h>

#include "edgelstm_board.h"

extern uint32_t _sidata; /* .data in flash */
extern uint32_t _sdata;
extern uint32_t _edata;
extern uint32_t _sbss;
extern uint32_t _ebss;
extern uint32_t _estack; /* top of the stack (initial SP) */

int main(void);
void Reset_Handler(void) __attribute__((noreturn));
void NMI_Handler(void);
void HardFault_Handler(void);
void Default_Handler(void);
void SysTick_Handler(void);

void Reset_Handler(void)
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
#if defined(__ARM_FP)
    /* CPACR: full access to CP10 and CP11 (the FPU). */
    *(volatile uint32_t *)0xE000ED88u |= (0xFu << 20);
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    eb_ticks_start();
    eb_exit(main());
}

static void eb_fault(const char *what) __attribute__((noreturn));
static void eb_fault(const char *what)
{
    eb_puts("\nedgelstm board: ");
    eb_puts(what);
    eb_puts("\n");
    eb_exit(3);
}

void NMI_Handler(void)
{
    eb_fault("NMI");
}

void HardFault_Handler(void)
{
    eb_fault("hard fault (bad memory access, stack overflow or unaligned access)");
}

void Default_Handler(void)
{
    eb_fault("unexpected exception");
}

typedef void (*eb_handler_t)(void);
typedef union {
    eb_handler_t handler;
    uint32_t *stack_top;
} eb_vector_t;

/* Cortex-M exception vectors 0..15 (ARMv6-M leaves 4-6 and 7 reserved; they are never taken
 * there). Device interrupts are not used by the template. */
__attribute__((section(".isr_vector"), used)) const eb_vector_t eb_vectors[16] = {
    {.stack_top = &_estack},
    {.handler = Reset_Handler},
    {.handler = NMI_Handler},
    {.handler = HardFault_Handler},
    {.handler = Default_Handler}, /* MemManage */
    {.handler = Default_Handler}, /* BusFault */
    {.handler = Default_Handler}, /* UsageFault */
    {.handler = Default_Handler}, /* SecureFault (ARMv8-M) */
    {.handler = 0},
    {.handler = 0},
    {.handler = 0},
    {.handler = Default_Handler}, /* SVCall */
    {.handler = Default_Handler}, /* DebugMonitor */
    {.handler = 0},
    {.handler = Default_Handler}, /* PendSV */
    {.handler = SysTick_Handler},
};
