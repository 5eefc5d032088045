/*
 * edgelstm_board.c - semihosting, minstret ticks and stack painting of the 32-bit RISC-V
 * template (see edgelstm_board.h). The file operations and the number printing are the same C
 * as the Cortex-M board's (boards/common/edgelstm_board.c); only the trap into the debugger,
 * the counter and the two assembly leaves are RISC-V's.
 */
#include "edgelstm_board.h"

/* ---- semihosting ------------------------------------------------------------------------ */

/* RISC-V semihosting (riscv-semihosting-spec): a0 = operation, a1 = argument block, result in
 * a0 - the calling convention's own registers, so the call is a leaf in assembly. The trap is
 * the three uncompressed instructions below, at the start of their own 16-byte aligned section
 * so they never straddle a page (QEMU / the debugger reads the instructions around ebreak). */
__asm__(
    "    .section .text.eb_semihost, \"ax\", @progbits\n"
    "    .global eb_semihost\n"
    "    .type eb_semihost, @function\n"
    "    .balign 16\n"
    "    .option push\n"
    "    .option norvc\n"
    "eb_semihost:\n"
    "    slli x0, x0, 0x1f\n"
    "    ebreak\n"
    "    srai x0, x0, 7\n"
    "    ret\n"
    "    .option pop\n"
    "    .size eb_semihost, . - eb_semihost\n"
    "    .text\n");

static uint32_t eb_strlen(const char *s)
{
    uint32_t n = 0;
    while (s[n] != '\0') {
        ++n;
    }
    return n;
}

int32_t eb_open(const char *path, int32_t mode)
{
    uint32_t block[3];
    block[0] = (uint32_t)(uintptr_t)path;
    block[1] = (uint32_t)mode;
    block[2] = eb_strlen(path);
    return eb_semihost(EB_SYS_OPEN, block);
}

int32_t eb_read(int32_t fd, void *buf, uint32_t n)
{
    uint32_t block[3];
    block[0] = (uint32_t)fd;
    block[1] = (uint32_t)(uintptr_t)buf;
    block[2] = n;
    /* SYS_READ returns the number of bytes NOT read. */
    return (int32_t)(n - (uint32_t)eb_semihost(EB_SYS_READ, block));
}

int32_t eb_write(int32_t fd, const void *buf, uint32_t n)
{
    uint32_t block[3];
    block[0] = (uint32_t)fd;
    block[1] = (uint32_t)(uintptr_t)buf;
    block[2] = n;
    /* SYS_WRITE returns the number of bytes NOT written. */
    return (int32_t)(n - (uint32_t)eb_semihost(EB_SYS_WRITE, block));
}

int32_t eb_close(int32_t fd)
{
    uint32_t block[1];
    block[0] = (uint32_t)fd;
    return eb_semihost(EB_SYS_CLOSE, block);
}

void eb_exit(int code)
{
    /* SYS_EXIT_EXTENDED: {ADP_Stopped_ApplicationExit, exit code}. */
    uint32_t block[2];
    block[0] = 0x20026u;
    block[1] = (uint32_t)code;
    (void)eb_semihost(EB_SYS_EXIT_EXTENDED, block);
    /* A debugger that does not know SYS_EXIT_EXTENDED: plain SYS_EXIT (0 or 1). */
    (void)eb_semihost(EB_SYS_EXIT, (void *)(uintptr_t)(code == 0 ? 0x20026u : 0x20023u));
    for (;;) {
    }
}

void eb_puts(const char *s)
{
    (void)eb_semihost(EB_SYS_WRITE0, (void *)(uintptr_t)s);
}

/* Decimal digits of v, '\0'-terminated, at the end of buf[24]; returns the first digit. */
static char *eb_u64_text(uint64_t v, char buf[24])
{
    int i = 23;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v != 0u && i > 0);
    return buf + i;
}

void eb_put_u64(uint64_t v)
{
    char buf[24];
    eb_puts(eb_u64_text(v, buf));
}

void eb_put_int(int32_t v)
{
    if (v < 0) {
        eb_puts("-");
        eb_put_u64((uint64_t)(-(int64_t)v));
    } else {
        eb_put_u64((uint64_t)v);
    }
}

void eb_put_kv(const char *key, uint64_t value)
{
    eb_fput_kv(-1, key, value);
}

void eb_fput_kv(int32_t fd, const char *key, uint64_t value)
{
    char line[96];
    char digits[24];
    const char *d = eb_u64_text(value, digits);
    uint32_t n = 0;
    while (*key != '\0' && n < 64u) {
        line[n++] = *key++;
    }
    line[n++] = ' ';
    while (*d != '\0') {
        line[n++] = *d++;
    }
    line[n++] = '\n';
    line[n] = '\0';
    if (fd < 0) {
        eb_puts(line);
    } else {
        (void)eb_write(fd, line, n);
    }
}

/* ---- ticks: minstret ------------------------------------------------------------------ */

/* csrr of minstret / minstreth (machine mode; `.option arch, +zicsr` because newer assemblers
 * want the Zicsr extension named, while the library itself is built for plain rv32imc). */
static uint32_t eb_minstret(void)
{
    uint32_t v;
    __asm__ volatile(".option push\n\t.option arch, +zicsr\n\tcsrr %0, minstret\n\t.option pop" : "=r"(v));
    return v;
}

static uint32_t eb_minstreth(void)
{
    uint32_t v;
    __asm__ volatile(".option push\n\t.option arch, +zicsr\n\tcsrr %0, minstreth\n\t.option pop" : "=r"(v));
    return v;
}

static uint64_t eb_tick_origin;

static uint64_t eb_counter(void)
{
    uint32_t hi;
    uint32_t lo;
    uint32_t hi2;
    do { /* the high word must not change between the two reads */
        hi = eb_minstreth();
        lo = eb_minstret();
        hi2 = eb_minstreth();
    } while (hi != hi2);
    return ((uint64_t)hi << 32) | lo;
}

void eb_ticks_start(void)
{
    eb_tick_origin = eb_counter();
}

void eb_ticks_stop(void)
{
}

uint64_t eb_ticks(void)
{
    return eb_counter() - eb_tick_origin;
}

/* ---- stack painting ---------------------------------------------------------------------- */

#define EB_STACK_PATTERN 0xA5A5A5A5u

extern uint32_t _stack_limit; /* lowest address of the stack region (linker script) */

/* A leaf in assembly: it must not touch the stack it paints. */
__asm__(
    "    .text\n"
    "    .global eb_stack_paint\n"
    "    .type eb_stack_paint, @function\n"
    "    .balign 4\n"
    "eb_stack_paint:\n"
    "    la   t0, _stack_limit\n"
    "    li   t1, 0xA5A5A5A5\n"
    "1:  bgeu t0, a0, 2f\n"
    "    sw   t1, 0(t0)\n"
    "    addi t0, t0, 4\n"
    "    j    1b\n"
    "2:  ret\n"
    "    .size eb_stack_paint, . - eb_stack_paint\n");

uint32_t eb_stack_used(uintptr_t below)
{
    const volatile uint32_t *p = &_stack_limit;
    while ((uintptr_t)p < below && *p == EB_STACK_PATTERN) {
        ++p;
    }
    return (uint32_t)(below - (uintptr_t)p);
}

/* ---- calibration loop ------------------------------------------------------------------- */

__asm__(
    "    .text\n"
    "    .global eb_spin\n"
    "    .type eb_spin, @function\n"
    "    .balign 4\n"
    "eb_spin:\n"
    "1:  addi a0, a0, -1\n"
    "    bnez a0, 1b\n"
    "    ret\n"
    "    .size eb_spin, . - eb_spin\n");
