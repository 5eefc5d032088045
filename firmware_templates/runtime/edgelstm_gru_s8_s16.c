/*
 * edgelstm_gru_s8_s16.c - a whole integer GRU sequence from the reset state.
 *
 * edgelstm/sim/gru.py run_gru: h16 = 0, h8 = 0, then one step per time step, the full output
 * sequence of h8.
 */
#include "edgelstm_runtime.h"

void edgelstm_gru_s8_s16(const edgelstm_gru_params_s8_s16_t *p, const int8_t *x, int32_t time_steps, int8_t *y,
                         int8_t *h8, int16_t *h16, int16_t *scratch)
{
    const int32_t n_units = p->units;
    int32_t t;
    int32_t u;
    edgelstm_gru_reset_s8_s16(p, h8, h16);
    for (t = 0; t < time_steps; ++t) {
        int8_t *y_t = y + t * n_units;
        edgelstm_gru_step_s8_s16(p, x + t * p->input_size, h8, h16, scratch);
        for (u = 0; u < n_units; ++u) {
            y_t[u] = h8[u];
        }
    }
}
