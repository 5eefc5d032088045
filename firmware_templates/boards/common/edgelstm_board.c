/*
 * edgelstm_board.c - semihosting, SysTick ticks and stack painting (see edgelstm_board.h).
 */
#include "edgelstm_board.h"

/* ---- semihosting ------------------------------------------------------------------------ */

int32_t eb_semihost(int32_t op, void *arg)
{
    register int32_t r0 __asm__("r0") = op;
    register void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

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

/* ---- SysTick ---------------------------------------------------------------------------- */

#define EB_SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define EB_SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define EB_SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define EB_SYST_MAX 0x00FFFFFFu

static volatile uint32_t eb_systick_wraps;

void SysTick_Handler(void);
void SysTick_Handler(void)
{
    eb_systick_wraps = eb_systick_wraps + 1u;
}

void eb_ticks_start(void)
{
    EB_SYST_CSR = 0u;
    EB_SYST_RVR = EB_SYST_MAX;
    EB_SYST_CVR = 0u;       /* any write clears the counter: it reloads on the next tick */
    eb_systick_wraps = 0u;
    EB_SYST_CSR = 7u;       /* ENABLE | TICKINT | CLKSOURCE (processor clock) */
    while (EB_SYST_CVR == 0u) {
        /* the counter reloads from 0 to EB_SYST_MAX on the first tick (no wrap counted) */
    }
}

void eb_ticks_stop(void)
{
    EB_SYST_CSR = 0u;
}

uint64_t eb_ticks(void)
{
    uint32_t w1;
    uint32_t w2;
    uint32_t v;
    do {
        w1 = eb_systick_wraps;
        v = EB_SYST_CVR;
        w2 = eb_systick_wraps;
    } while (w1 != w2);
    return ((uint64_t)w1 << 24) + (uint64_t)(EB_SYST_MAX - (v & EB_SYST_MAX));
}

/* ---- stack painting ---------------------------------------------------------------------- */

#define EB_STACK_PATTERN 0xA5A5A5A5u

extern uint32_t _stack_limit; /* lowest address of the stack region (linker script) */

/* A leaf in assembly: it must not touch the stack it paints. */
__asm__(
    "    .text\n"
    "    .syntax unified\n"
    "    .thumb\n"
    "    .global eb_stack_paint\n"
    "    .type eb_stack_paint, %function\n"
    "    .thumb_func\n"
    "    .align 2\n"
    "eb_stack_paint:\n"
    "    ldr r1, =_stack_limit\n"
    "    ldr r2, =0xA5A5A5A5\n"
    "1:  cmp r1, r0\n"
    "    bhs 2f\n"
    "    str r2, [r1]\n"
    "    adds r1, r1, #4\n"
    "    b 1b\n"
    "2:  bx lr\n"
    "    .ltorg\n"
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
    "    .syntax unified\n"
    "    .thumb\n"
    "    .global eb_spin\n"
    "    .type eb_spin, %function\n"
    "    .thumb_func\n"
    "    .align 2\n"
    "eb_spin:\n"
    "1:  subs r0, r0, #1\n"
    "    bne 1b\n"
    "    bx lr\n"
    "    .size eb_spin, . - eb_spin\n");
