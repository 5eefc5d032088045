/*
 * edgelstm_board_selftest.c - the on-target self test of an exported model (`make test`).
 *
 * Runs every compiled-in test vector (NAME_test_vectors.h: inputs and the simulator's expected
 * outputs) through NAME_classify and, for a streaming model, through NAME_reset / NAME_step /
 * NAME_logits, compares every byte, and prints over semihosting:
 *
 *   N passed, M failed
 *   SysTick ticks per window / per frame (on hardware with the processor clock: core cycles;
 *   under qemu-system-arm -icount shift=0: ticks * 1e9 / EB_SYSTICK_HZ = instructions)
 *
 * Exit code: 0 when nothing failed, 1 otherwise (3 on a fault). The vectors are kept small
 * (export-c --test-vectors); `edgelstm verify --target qemu-...` streams any number of
 * windows from a file instead.
 */
#include <stdint.h>

#include "edgelstm_board.h"
#include "edgelstm_board_model.h"
#include EB_MODEL_TEST_VECTORS

static int eb_same(const int8_t *a, const int8_t *b, int n)
{
    int k;
    for (k = 0; k < n; ++k) {
        if (a[k] != b[k]) {
            return 0;
        }
    }
    return 1;
}

static int eb_argmax(const int8_t *a, int n)
{
    int best = 0;
    int k;
    for (k = 1; k < n; ++k) {
        if (a[k] > a[best]) {
            best = k;
        }
    }
    return best;
}

#if EB_MODEL_STREAMING
static eb_model_state_t eb_state;
#endif

static void eb_report(const char *what, uint64_t ticks, uint32_t count)
{
    uint64_t mean = count ? ticks / count : 0u;
    eb_puts(what);
    eb_puts(": ");
    eb_put_u64(mean);
    eb_puts(" SysTick ticks");
#ifdef EB_SYSTICK_HZ
    eb_puts(" = ");
    eb_put_u64(mean * 1000000000u / (uint64_t)(EB_SYSTICK_HZ));
    eb_puts(" instructions under qemu -icount shift=0");
#endif
    eb_puts("\n");
}

int main(void)
{
    int passed = 0;
    int failed = 0;
    int i;
    uint64_t ticks_window = 0;
    uint64_t ticks_steps = 0;
    uint32_t n_steps = 0;
    eb_puts("edgelstm self test: " EB_MODEL_NAME "\n");
    for (i = 0; i < EB_MODEL_TV_COUNT; ++i) {
        const int8_t *x = eb_model_tv_inputs + (long)i * EB_MODEL_TV_FRAMES * EB_MODEL_INPUT_SIZE;
        const int8_t *e = eb_model_tv_expected + (long)i * EB_MODEL_NUM_CLASSES;
        int8_t out[EB_MODEL_NUM_CLASSES];
        int ok = 1;
        uint64_t t0 = eb_ticks();
        int cls = eb_model_classify(x, EB_MODEL_TV_FRAMES, out);
        ticks_window += eb_ticks() - t0;
        if (cls != eb_argmax(e, EB_MODEL_NUM_CLASSES) || !eb_same(out, e, EB_MODEL_NUM_CLASSES)) {
            ok = 0;
        }
#if EB_MODEL_STREAMING
        {
            int8_t out2[EB_MODEL_NUM_CLASSES];
            int8_t out3[EB_MODEL_NUM_CLASSES];
            int t;
            eb_model_reset(&eb_state);
            t0 = eb_ticks();
            for (t = 0; t < EB_MODEL_TV_FRAMES; ++t) {
                eb_model_step(&eb_state, x + (long)t * EB_MODEL_INPUT_SIZE);
            }
            ticks_steps += eb_ticks() - t0;
            n_steps += (uint32_t)EB_MODEL_TV_FRAMES;
            eb_model_logits(&eb_state, out2);
            eb_model_logits(&eb_state, out3); /* logits must not modify the state */
            if (!eb_same(out2, e, EB_MODEL_NUM_CLASSES) || !eb_same(out3, e, EB_MODEL_NUM_CLASSES)) {
                ok = 0;
            }
        }
#endif
        if (ok) {
            ++passed;
        } else {
            ++failed;
            if (failed <= 5) {
                int k;
                eb_puts("vector ");
                eb_put_int(i);
                eb_puts(": expected");
                for (k = 0; k < EB_MODEL_NUM_CLASSES; ++k) {
                    eb_puts(" ");
                    eb_put_int(e[k]);
                }
                eb_puts(", got");
                for (k = 0; k < EB_MODEL_NUM_CLASSES; ++k) {
                    eb_puts(" ");
                    eb_put_int(out[k]);
                }
                eb_puts("\n");
            }
        }
    }
    if (eb_model_classify(0, EB_MODEL_WINDOW, 0) != -1) {
        eb_puts("NULL arguments were not refused\n");
        ++failed;
    }
    eb_put_int(passed);
    eb_puts(" passed, ");
    eb_put_int(failed);
    eb_puts(" failed\n");
    eb_report("per window (" EB_MODEL_NAME "_classify)", ticks_window, (uint32_t)EB_MODEL_TV_COUNT);
#if EB_MODEL_STREAMING
    eb_report("per frame (" EB_MODEL_NAME "_step)", ticks_steps, n_steps);
#endif
    return failed == 0 ? 0 : 1;
}
