/*
 * libFuzzer harness for an exported edgelstm C library (`edgelstm export-c`).
 *
 * Built by tools/fuzz/build_fuzzer.py with
 *     clang -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
 * together with the export's library sources and a generated `fuzz_shim.h`, which includes
 * NAME_model.h and maps the model's prefixed names to the generic M_* names used here.
 *
 * The fuzzer's bytes are, in order:
 *   1. the caller-owned state: NAME_state_t (streaming models) or NAME_workspace_t
 *      (whole-window models), copied byte for byte: ANY hidden and cell state, including
 *      values no real run produces (int16 cell at -32768, h at the extremes, garbage scratch);
 *   2. one control byte;
 *   3. int8 frames (NAME_INPUT_SIZE bytes each, at most MAX_FRAMES of them), also read as
 *      float32 values for the float front end.
 *
 * Besides "no crash, no sanitizer report" (out-of-bounds access, signed overflow, shifts out of
 * range, float-to-int overflow, ...), the harness checks properties of the API and abort()s
 * when one fails (libFuzzer reports that as a crash):
 *   - NAME_logits does not modify the state and is deterministic;
 *   - stepping from an arbitrary state is deterministic (same state + frames -> same outputs);
 *   - NAME_classify == NAME_reset + NAME_step x n + NAME_logits, and returns the first argmax;
 *   - NAME_classify refuses NULL pointers and n_frames < 1 with -1;
 *   - whole-window models: NAME_classify_ws does not depend on the workspace's previous contents,
 *     and refuses n_frames != NAME_WINDOW with -1;
 *   - the float front end maps NaN and out-of-range feature indices to the zero point;
 *   - NAME_class_name returns NULL or a string for any index.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_shim.h"

#define MAX_FRAMES (2 * M_WINDOW + 2)

static void require(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "edgelstm fuzz: property violated: %s\n", what);
        abort();
    }
}

static int first_argmax(const int8_t *v, int n)
{
    int best = 0;
    int i;
    for (i = 1; i < n; i++) {
        if (v[i] > v[best]) {
            best = i;
        }
    }
    return best;
}

/* Exact-size heap copies, so that AddressSanitizer sees any access one byte past the end. */
static int8_t *dup_bytes(const uint8_t *src, size_t n)
{
    int8_t *p = (int8_t *)malloc(n ? n : 1);
    if (p == NULL) {
        abort();
    }
    if (n) {
        memcpy(p, src, n);
    }
    return p;
}

static void fuzz_front_end(const uint8_t *data, size_t size)
{
    size_t j;
    float raw[M_INPUT_SIZE];
    int8_t x[M_INPUT_SIZE];
    int f;
    for (j = 0; j + 5 <= size; j += 5) {
        float v;
        int feature = (int)(int8_t)data[j + 4];
        int8_t q;
        memcpy(&v, data + j, sizeof v);
        q = M_quantize_feature(v, feature);
        if (v != v || feature < 0 || feature >= M_INPUT_SIZE) {
            require(q == (int8_t)M_INPUT_ZERO_POINT, "quantize_feature: NaN / bad index -> zero point");
        }
    }
    for (f = 0; f < M_INPUT_SIZE; f++) { /* any float32 bit pattern: NaN, inf, denormals, huge */
        size_t off = (size_t)f * sizeof(float);
        raw[f] = 0.0f;
        if (off + sizeof(float) <= size) {
            memcpy(&raw[f], data + off, sizeof(float));
        }
    }
    M_quantize_frame(raw, x);
    for (f = 0; f < M_INPUT_SIZE; f++) {
        require(x[f] == M_quantize_feature(raw[f], f), "quantize_frame == quantize_feature per feature");
    }
}

static void fuzz_class_names(const uint8_t *data, size_t size)
{
    int idx[4];
    int k;
    idx[0] = -1;
    idx[1] = M_NUM_CLASSES;
    idx[2] = 0;
    idx[3] = 0;
    if (size >= 4) {
        memcpy(&idx[3], data, sizeof idx[3]);
    }
    for (k = 0; k < 4; k++) {
        const char *name = M_class_name(idx[k]);
        if (idx[k] >= 0 && idx[k] < M_NUM_CLASSES) {
            require(name != NULL, "class_name of a valid index");
        } else {
            require(name == NULL, "class_name of an invalid index is NULL");
        }
        if (name != NULL) {
            require(strlen(name) < 4096, "class_name is a string");
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int8_t *frames;
    int8_t *out1;
    int8_t *out2;
    int n_frames;
    int ret;
    int t;
    uint8_t ctl;
#if M_STREAMING
    M_state_t *s = (M_state_t *)malloc(sizeof(M_state_t));
    M_state_t *s0 = (M_state_t *)malloc(sizeof(M_state_t));
    M_state_t *s_before = (M_state_t *)malloc(sizeof(M_state_t));
    size_t k = size < sizeof(M_state_t) ? size : sizeof(M_state_t);
    if (s == NULL || s0 == NULL || s_before == NULL) {
        abort();
    }
    memset(s, 0, sizeof *s);
    memcpy(s, data, k);
    memcpy(s0, s, sizeof *s);
#else
    M_workspace_t *ws = (M_workspace_t *)malloc(sizeof(M_workspace_t));
    size_t k = size < sizeof(M_workspace_t) ? size : sizeof(M_workspace_t);
    if (ws == NULL) {
        abort();
    }
    memset(ws, 0xA5, sizeof *ws);
    memcpy(ws, data, k);
#endif
    data += k;
    size -= k;
    ctl = size ? data[0] : 0;
    if (size) {
        data++;
        size--;
    }
    n_frames = (int)(size / M_INPUT_SIZE);
    if (n_frames > MAX_FRAMES) {
        n_frames = MAX_FRAMES;
    }
    frames = dup_bytes(data, (size_t)n_frames * M_INPUT_SIZE);
    out1 = (int8_t *)malloc(M_NUM_CLASSES);
    out2 = (int8_t *)malloc(M_NUM_CLASSES);
    if (out1 == NULL || out2 == NULL) {
        abort();
    }

#if M_STREAMING
    /* 1. arbitrary state: step over every frame, logits after each (const, deterministic) */
    for (t = 0; t < n_frames; t++) {
        M_step(s, frames + (size_t)t * M_INPUT_SIZE);
        memcpy(s_before, s, sizeof *s);
        M_logits(s, out1);
        require(memcmp(s_before, s, sizeof *s) == 0, "logits does not modify the state");
        M_logits(s, out2);
        require(memcmp(out1, out2, M_NUM_CLASSES) == 0, "logits is deterministic");
    }
    if (ctl & 1) {
        /* the same arbitrary start state and frames again: the same final outputs */
        M_logits(s, out1);
        for (t = 0; t < n_frames; t++) {
            M_step(s0, frames + (size_t)t * M_INPUT_SIZE);
        }
        M_logits(s0, out2);
        require(memcmp(out1, out2, M_NUM_CLASSES) == 0, "stepping from a given state is deterministic");
    }
    /* 2. classify == reset + steps + logits */
    ret = M_classify(frames, n_frames, out1);
    if (n_frames < 1) {
        require(ret == -1, "classify refuses n_frames < 1");
    } else {
        require(ret == first_argmax(out1, M_NUM_CLASSES), "classify returns the first argmax");
        M_reset(s);
        for (t = 0; t < n_frames; t++) {
            M_step(s, frames + (size_t)t * M_INPUT_SIZE);
        }
        M_logits(s, out2);
        require(memcmp(out1, out2, M_NUM_CLASSES) == 0, "classify == reset + step x n + logits");
    }
#else
    /* whole-window model: the workspace's previous contents must not matter */
    ret = M_classify_ws(frames, n_frames, out1, ws);
    if (n_frames != M_WINDOW) {
        require(ret == -1, "classify_ws refuses n_frames != WINDOW");
        /* a window from the fuzzer's bytes (repeated), so every input runs the model once */
        if (n_frames >= 1) {
            int8_t *win = (int8_t *)malloc((size_t)M_WINDOW * M_INPUT_SIZE);
            size_t i;
            if (win == NULL) {
                abort();
            }
            for (i = 0; i < (size_t)M_WINDOW * M_INPUT_SIZE; i++) {
                win[i] = frames[i % ((size_t)n_frames * M_INPUT_SIZE)];
            }
            ret = M_classify_ws(win, M_WINDOW, out1, ws);
            require(ret == first_argmax(out1, M_NUM_CLASSES), "classify_ws returns the first argmax");
            require(M_classify(win, M_WINDOW, out2) == ret, "classify == classify_ws");
            require(memcmp(out1, out2, M_NUM_CLASSES) == 0, "classify_ws does not depend on the workspace");
            free(win);
        }
    } else {
        require(ret == first_argmax(out1, M_NUM_CLASSES), "classify_ws returns the first argmax");
        require(M_classify(frames, n_frames, out2) == ret, "classify == classify_ws");
        require(memcmp(out1, out2, M_NUM_CLASSES) == 0, "classify_ws does not depend on the workspace");
    }
    (void)t;
    (void)ctl;
#endif
    /* 3. refusals */
    require(M_classify(NULL, n_frames > 0 ? n_frames : 1, out1) == -1, "classify(NULL frames) == -1");
    if (n_frames >= 1) {
        require(M_classify(frames, n_frames, NULL) == -1, "classify(NULL out) == -1");
    }
    require(M_classify(frames, 0, out1) == -1, "classify(n_frames 0) == -1");
    require(M_classify(frames, -1 - (int)ctl, out1) == -1, "classify(n_frames < 0) == -1");

    /* 4. float front end and class names */
    fuzz_front_end(data, size);
    fuzz_class_names(data, size);

    free(frames);
    free(out1);
    free(out2);
#if M_STREAMING
    free(s);
    free(s0);
    free(s_before);
#else
    free(ws);
#endif
    return 0;
}
