/*
 * edgelstm_board_verify.c - the on-target side of `edgelstm verify --target qemu-...`.
 *
 * Reads int8 windows (or float frames) from the host file "inputs.bin" through semihosting,
 * runs them through the exported library, writes the outputs to "outputs.bin" and the
 * measurements to "measure.txt" (in QEMU's working folder). No test data is compiled in, so
 * any number of the user's windows runs even on a 16 KB RAM part: one window at a time.
 *
 *   inputs.bin   "ELV1", u32 mode, u32 count, u32 n_frames, u32 features, u32 every, data
 *                (edgelstm/verify/harness.py pack_inputs; little-endian like the target)
 *   mode 0       count int8 windows -> per window: classify's output bytes, its return value
 *                (one byte), and for a streaming model the bytes of reset/step.../logits
 *   mode 2       count float32 frames -> NAME_quantize_frame's int8 bytes per frame
 *   measure.txt  "key value" lines: SysTick ticks around every call (ticks * 1e9 / SysTick Hz
 *                = instructions under qemu -icount shift=0), a calibration loop of known
 *                length, and the stack each API function used on the first window (painting).
 *
 * Exit code (semihosting): 0 done, 2 bad input or host file error, 3 fault.
 */
#include <stdint.h>

#include "edgelstm_board.h"
#include "edgelstm_board_model.h"

#define EB_CALIBRATION_LOOPS 100000u

static int8_t eb_window[EB_MODEL_WINDOW * EB_MODEL_INPUT_SIZE];
#if EB_MODEL_STREAMING
static eb_model_state_t eb_state;
#endif

typedef struct {
    uint64_t sum;
    uint64_t min;
    uint64_t max;
    uint32_t count;
} eb_stat_t;

static eb_stat_t eb_t_classify;
static eb_stat_t eb_t_reset;
static eb_stat_t eb_t_steps; /* all frames of one window */
static eb_stat_t eb_t_logits;

static int eb_fail(const char *msg)
{
    eb_puts("edgelstm verify harness: ");
    eb_puts(msg);
    eb_puts("\n");
    return 2;
}

static uint32_t eb_u32(const uint8_t *b)
{
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}

static int eb_read_all(int32_t fd, void *buf, uint32_t n)
{
    return eb_read(fd, buf, n) == (int32_t)n;
}

static int eb_write_all(int32_t fd, const void *buf, uint32_t n)
{
    return eb_write(fd, buf, n) == (int32_t)n;
}

static void eb_stat_add(eb_stat_t *s, uint64_t v)
{
    if (s->count == 0u || v < s->min) {
        s->min = v;
    }
    if (s->count == 0u || v > s->max) {
        s->max = v;
    }
    s->sum += v;
    s->count += 1u;
}

static void eb_put_stat(int32_t fd, const char *key, const eb_stat_t *s)
{
    char k[48];
    static const char *const suffix[4] = {"_sum", "_min", "_max", "_count"};
    const uint64_t v[4] = {s->sum, s->min, s->max, s->count};
    int j;
    for (j = 0; j < 4; ++j) {
        uint32_t n = 0;
        const char *a = key;
        const char *b = suffix[j];
        while (*a != '\0' && n < 30u) {
            k[n++] = *a++;
        }
        while (*b != '\0') {
            k[n++] = *b++;
        }
        k[n] = '\0';
        eb_fput_kv(fd, k, v[j]);
    }
}

/* Stack of every API function on one window (stack painting, SysTick interrupt off). */
static uint32_t eb_stack_classify;
static uint32_t eb_stack_reset;
static uint32_t eb_stack_step;
static uint32_t eb_stack_logits;
static uint32_t eb_stack_classify_ws;
#if !EB_MODEL_STREAMING
static eb_model_workspace_t eb_workspace;
#endif

static void eb_measure_stack(uint32_t n_frames)
{
    int8_t out[EB_MODEL_NUM_CLASSES];
    uintptr_t sp;
    eb_ticks_stop();
    sp = eb_stack_pointer();
    eb_stack_paint(sp);
    (void)eb_model_classify(eb_window, (int)n_frames, out);
    eb_stack_classify = eb_stack_used(sp);
#if EB_MODEL_STREAMING
    {
        uint32_t t;
        sp = eb_stack_pointer();
        eb_stack_paint(sp);
        eb_model_reset(&eb_state);
        eb_stack_reset = eb_stack_used(sp);
        sp = eb_stack_pointer();
        eb_stack_paint(sp);
        for (t = 0; t < n_frames; ++t) {
            eb_model_step(&eb_state, eb_window + t * EB_MODEL_INPUT_SIZE);
        }
        eb_stack_step = eb_stack_used(sp);
        sp = eb_stack_pointer();
        eb_stack_paint(sp);
        eb_model_logits(&eb_state, out);
        eb_stack_logits = eb_stack_used(sp);
    }
#else
    sp = eb_stack_pointer();
    eb_stack_paint(sp);
    (void)eb_model_classify_ws(eb_window, (int)n_frames, out, &eb_workspace);
    eb_stack_classify_ws = eb_stack_used(sp);
#endif
    eb_ticks_start();
}

static int eb_front_end(int32_t fi, int32_t fo, uint32_t count)
{
    float raw[EB_MODEL_INPUT_SIZE];
    int8_t q[EB_MODEL_INPUT_SIZE];
    uint32_t i;
    for (i = 0; i < count; ++i) {
        if (!eb_read_all(fi, raw, (uint32_t)sizeof raw)) {
            return eb_fail("short input file (front end)");
        }
        eb_model_quantize_frame(raw, q);
        if (!eb_write_all(fo, q, (uint32_t)sizeof q)) {
            return eb_fail("cannot write outputs.bin");
        }
    }
    return 0;
}

static int eb_windows(int32_t fi, int32_t fo, uint32_t count, uint32_t n_frames)
{
    uint32_t i;
    for (i = 0; i < count; ++i) {
        int8_t rec[2 * EB_MODEL_NUM_CLASSES + 1];
        uint32_t n_rec = EB_MODEL_NUM_CLASSES + 1u;
        uint64_t t0;
        uint64_t t1;
        if (!eb_read_all(fi, eb_window, (uint32_t)sizeof eb_window)) {
            return eb_fail("short input file");
        }
        if (i == 0u) {
            eb_measure_stack(n_frames);
        }
        t0 = eb_ticks();
        rec[EB_MODEL_NUM_CLASSES] = (int8_t)eb_model_classify(eb_window, (int)n_frames, rec);
        t1 = eb_ticks();
        eb_stat_add(&eb_t_classify, t1 - t0);
#if EB_MODEL_STREAMING
        {
            uint64_t t2;
            uint64_t t3;
            uint32_t t;
            t0 = eb_ticks();
            eb_model_reset(&eb_state);
            t1 = eb_ticks();
            for (t = 0; t < n_frames; ++t) {
                eb_model_step(&eb_state, eb_window + t * EB_MODEL_INPUT_SIZE);
            }
            t2 = eb_ticks();
            eb_model_logits(&eb_state, rec + EB_MODEL_NUM_CLASSES + 1);
            t3 = eb_ticks();
            eb_stat_add(&eb_t_reset, t1 - t0);
            eb_stat_add(&eb_t_steps, t2 - t1);
            eb_stat_add(&eb_t_logits, t3 - t2);
            n_rec += EB_MODEL_NUM_CLASSES;
        }
#endif
        if (!eb_write_all(fo, rec, n_rec)) {
            return eb_fail("cannot write outputs.bin");
        }
    }
    return 0;
}

static int eb_write_measurements(uint32_t n_frames)
{
    uint64_t t0;
    uint64_t t1;
    uint64_t t2;
    uint64_t t3;
    int32_t fm = eb_open("measure.txt", EB_OPEN_WB);
    if (fm < 0) {
        return eb_fail("cannot open measure.txt");
    }
    /* Calibration: eb_spin(N + 1) - eb_spin(1) is exactly 2 N instructions. */
    t0 = eb_ticks();
    eb_spin(1u);
    t1 = eb_ticks();
    eb_spin(EB_CALIBRATION_LOOPS + 1u);
    t2 = eb_ticks();
    t3 = eb_ticks();
    eb_fput_kv(fm, "calibration_instructions", 2u * (uint64_t)EB_CALIBRATION_LOOPS);
    eb_fput_kv(fm, "calibration_ticks", (t2 - t1) - (t1 - t0));
    eb_fput_kv(fm, "empty_ticks", t3 - t2);
    eb_fput_kv(fm, "frames", n_frames);
    eb_fput_kv(fm, "streaming", (uint64_t)EB_MODEL_STREAMING);
    eb_put_stat(fm, "classify_ticks", &eb_t_classify);
    eb_put_stat(fm, "reset_ticks", &eb_t_reset);
    eb_put_stat(fm, "steps_ticks", &eb_t_steps);
    eb_put_stat(fm, "logits_ticks", &eb_t_logits);
    eb_fput_kv(fm, "stack_classify", eb_stack_classify);
    eb_fput_kv(fm, "stack_reset", eb_stack_reset);
    eb_fput_kv(fm, "stack_step", eb_stack_step);
    eb_fput_kv(fm, "stack_logits", eb_stack_logits);
    eb_fput_kv(fm, "stack_classify_ws", eb_stack_classify_ws);
    eb_fput_kv(fm, "end", 1u);
    (void)eb_close(fm);
    return 0;
}

int main(void)
{
    uint8_t head[24];
    uint32_t mode;
    uint32_t count;
    uint32_t n_frames;
    uint32_t features;
    int32_t fi;
    int32_t fo;
    int rc;
    fi = eb_open("inputs.bin", EB_OPEN_RB);
    if (fi < 0) {
        return eb_fail("cannot open inputs.bin");
    }
    if (!eb_read_all(fi, head, (uint32_t)sizeof head) || head[0] != 'E' || head[1] != 'L' || head[2] != 'V' ||
        head[3] != '1') {
        return eb_fail("bad input header");
    }
    mode = eb_u32(head + 4);
    count = eb_u32(head + 8);
    n_frames = eb_u32(head + 12);
    features = eb_u32(head + 16);
    if (features != (uint32_t)EB_MODEL_INPUT_SIZE) {
        return eb_fail("input does not match the model");
    }
    fo = eb_open("outputs.bin", EB_OPEN_WB);
    if (fo < 0) {
        return eb_fail("cannot open outputs.bin");
    }
    if (mode == 2u) {
        rc = eb_front_end(fi, fo, count);
    } else if (mode == 0u) {
        if (n_frames != (uint32_t)EB_MODEL_WINDOW) {
            return eb_fail("windows must have NAME_WINDOW frames");
        }
        rc = eb_windows(fi, fo, count, n_frames);
        if (rc == 0) {
            rc = eb_write_measurements(n_frames);
        }
    } else {
        rc = eb_fail("this mode is not supported on the board");
    }
    (void)eb_close(fi);
    (void)eb_close(fo);
    return rc;
}
