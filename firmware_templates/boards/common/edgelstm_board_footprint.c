/*
 * edgelstm_board_footprint.c - the smallest program that uses an exported model.
 *
 * `edgelstm export-c --target cortex-m...` and `edgelstm verify --target qemu-...` link it
 * with -Wl,--gc-sections to measure what the inference API costs in flash (the linker map:
 * every section kept from the library's objects and the libgcc / libc routines they call) and
 * in stack (-fstack-usage / -fcallgraph-info call graph). It calls the integer API only;
 * with -DEB_FOOTPRINT_FRONT_END=1 it also calls the float front end (NAME_quantize_frame), to
 * measure that separately. It is never run. Not part of an export.
 */
#include <stdint.h>

#include "edgelstm_board.h"
#include "edgelstm_board_model.h"

#ifndef EB_FOOTPRINT_FRONT_END
#define EB_FOOTPRINT_FRONT_END 0
#endif

static int8_t eb_frames[EB_MODEL_WINDOW * EB_MODEL_INPUT_SIZE];
static volatile int8_t eb_sink;
#if EB_MODEL_STREAMING
static eb_model_state_t eb_state;
#else
static eb_model_workspace_t eb_workspace;
#endif

int main(void)
{
    int8_t out[EB_MODEL_NUM_CLASSES];
    int k;
#if EB_FOOTPRINT_FRONT_END
    {
        static float raw[EB_MODEL_INPUT_SIZE];
        eb_model_quantize_frame(raw, eb_frames);
    }
#endif
#if EB_MODEL_STREAMING
    eb_model_reset(&eb_state);
    eb_model_step(&eb_state, eb_frames);
    eb_model_logits(&eb_state, out);
#else
    (void)eb_model_classify_ws(eb_frames, EB_MODEL_WINDOW, out, &eb_workspace);
#endif
    eb_sink = (int8_t)eb_model_classify(eb_frames, EB_MODEL_WINDOW, out);
    for (k = 0; k < EB_MODEL_NUM_CLASSES; ++k) {
        eb_sink = (int8_t)(eb_sink ^ out[k]);
    }
    return 0;
}
