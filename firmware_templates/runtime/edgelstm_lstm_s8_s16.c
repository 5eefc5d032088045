/*
 * edgelstm_lstm_s8_s16.c - a whole int8x8_16 LSTM sequence from the reset state.
 *
 * What TFLM's UNIDIRECTIONAL_SEQUENCE_LSTM Eval does after a reset (edgelstm/sim/lstm.py
 * run_lstm): h = zero point, c = 0, then one LstmStep per time step, the full output sequence.
 */
#include "edgelstm_runtime.h"

void edgelstm_lstm_s8_s16(const edgelstm_lstm_params_s8_s16_t *p, const int8_t *x, int32_t time_steps, int8_t *y,
                          int8_t *h, int16_t *c, int16_t *gate_scratch)
{
    const int32_t n_units = p->units;
    int32_t t;
    int32_t u;
    edgelstm_lstm_reset_s8_s16(p, h, c);
    for (t = 0; t < time_steps; ++t) {
        int8_t *y_t = y + t * n_units;
        edgelstm_lstm_step_s8_s16(p, x + t * p->input_size, h, h, c, gate_scratch);
        for (u = 0; u < n_units; ++u) {
            y_t[u] = h[u];
        }
    }
}
