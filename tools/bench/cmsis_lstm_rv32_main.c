/*
 * cmsis_lstm_rv32_main.c - CMSIS-NN's int8 LSTM (arm_lstm_unidirectional_s8, its portable C: no
 * ARM_MATH_DSP / MVE on RISC-V) on the riscv32-virt board of edgelstm, for tools/bench/bench_riscv.py.
 *
 * The model is the one of the Cortex-M peer harness (../shared/peers/cmsis-nn/bench/main.c):
 * F=16 input features, H=32 units, T=64 steps, batch 1, the same LCG weights, multipliers and
 * shifts, 6,144 MACs per step. Before measuring, CMSIS-NN's own lstm_1 unit test is run against
 * its TFLite Micro reference output (a correctness check of this build).
 *
 * Instructions come from the board layer's minstret ticks (edgelstm_board.h: under
 * qemu-system-riscv32 -icount shift=0, one tick per instruction), checked against a loop of
 * known length. Output lines (semihosting), parsed by bench_riscv.py:
 *   validate lstm_1 <differing bytes> <bytes>
 *   calibration <ticks> <instructions>
 *   lstm_steps <instructions for T steps> <T>
 */
#include <stdint.h>
#include <string.h>

#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"
#include "edgelstm_board.h"

#include "TestData/lstm_1/test_data.h"

#define F 16
#define H 32
#define T 64
#define GATE_SHIFT (-2)
#define INPUT_OFFSET 5 /* = -input zero point */
#define OUTPUT_ZP (-3) /* output (= hidden) zero point */

static uint32_t rng = 0x12345678u;
static int8_t rnd8(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (int8_t)(rng >> 24);
}

static int8_t w_in[4][H * F];
static int8_t w_hid[4][H * H];
static int32_t bias[4][H];
static int32_t eff_in[4][H];
static int32_t eff_hid[4][H];
static int8_t input[T * F];
static int8_t output[T * H];
static int16_t temp1[H], temp2[H], cell[H];
static int8_t hidden[H];
static cmsis_nn_lstm_params params;

static void make_model(void)
{
    static const int32_t mul_in[4] = {1084475904, 1080990464, 1082850560, 1080487424};
    static const int32_t mul_hid[4] = {1591598720, 1584295680, 1599350272, 1611693952};
    static const arm_nn_activation_type act[4] = {ARM_SIGMOID, ARM_SIGMOID, ARM_TANH, ARM_SIGMOID};
    cmsis_nn_lstm_gate gates[4];
    int g;
    int i;
    for (g = 0; g < 4; g++) {
        for (i = 0; i < H * F; i++) {
            w_in[g][i] = rnd8();
        }
        for (i = 0; i < H * H; i++) {
            w_hid[g][i] = rnd8();
        }
        for (i = 0; i < H; i++) {
            bias[g][i] = (int32_t)(rnd8()) * 64;
        }
        arm_vector_sum_s8(eff_in[g], F, H, w_in[g], INPUT_OFFSET, 0, bias[g]);
        arm_vector_sum_s8(eff_hid[g], H, H, w_hid[g], -OUTPUT_ZP, 0, NULL);
    }
    for (i = 0; i < T * F; i++) {
        input[i] = rnd8();
    }
    for (g = 0; g < 4; g++) {
        cmsis_nn_lstm_gate x = {mul_in[g], GATE_SHIFT, w_in[g], eff_in[g], mul_hid[g], GATE_SHIFT, w_hid[g],
                                eff_hid[g], bias[g], act[g]};
        gates[g] = x;
    }
    params.time_major = 1;
    params.batch_size = 1;
    params.time_steps = T;
    params.input_size = F;
    params.hidden_size = H;
    params.input_offset = INPUT_OFFSET;
    params.forget_to_cell_multiplier = 1073741824;
    params.forget_to_cell_shift = -14;
    params.input_to_cell_multiplier = 1073741824;
    params.input_to_cell_shift = -18;
    params.cell_clip = 32767;
    params.cell_scale_power = -11;
    params.output_multiplier = 1441324494;
    params.output_shift = -22;
    params.output_offset = OUTPUT_ZP;
    params.forget_gate = gates[0];
    params.input_gate = gates[1];
    params.cell_gate = gates[2];
    params.output_gate = gates[3];
}

static int validate_lstm_1(void)
{
    static int8_t out[LSTM_1_BATCH_SIZE * LSTM_1_TIME_STEPS * LSTM_1_HIDDEN_SIZE];
    static int16_t b1[LSTM_1_HIDDEN_SIZE], b2[LSTM_1_HIDDEN_SIZE], b3[LSTM_1_HIDDEN_SIZE];
    static int32_t ks[8][LSTM_1_HIDDEN_SIZE];
    const int8_t *wi[4] = {lstm_1_forget_gate_input_weights, lstm_1_input_gate_input_weights,
                           lstm_1_cell_gate_input_weights, lstm_1_output_gate_input_weights};
    const int8_t *wh[4] = {lstm_1_forget_gate_hidden_weights, lstm_1_input_gate_hidden_weights,
                           lstm_1_cell_gate_hidden_weights, lstm_1_output_gate_hidden_weights};
    const int32_t *bs[4] = {lstm_1_forget_gate_bias, lstm_1_input_gate_bias, lstm_1_cell_gate_bias,
                            lstm_1_output_gate_bias};
    int g;
    int i;
    int bad = 0;
    for (g = 0; g < 4; g++) {
        arm_vector_sum_s8(ks[g], LSTM_1_INPUT_SIZE, LSTM_1_HIDDEN_SIZE, wi[g], LSTM_1_INPUT_ZERO_POINT, 0, bs[g]);
        arm_vector_sum_s8(ks[4 + g], LSTM_1_HIDDEN_SIZE, LSTM_1_HIDDEN_SIZE, wh[g], -LSTM_1_OUTPUT_ZERO_POINT, 0,
                          NULL);
    }
    {
        const cmsis_nn_lstm_gate gf = {LSTM_1_FORGET_GATE_INPUT_MULTIPLIER, LSTM_1_FORGET_GATE_INPUT_SHIFT, wi[0],
                                       ks[0], LSTM_1_FORGET_GATE_HIDDEN_MULTIPLIER, LSTM_1_FORGET_GATE_HIDDEN_SHIFT,
                                       wh[0], ks[4], bs[0], ARM_SIGMOID};
        const cmsis_nn_lstm_gate gi = {LSTM_1_INPUT_GATE_INPUT_MULTIPLIER, LSTM_1_INPUT_GATE_INPUT_SHIFT, wi[1], ks[1],
                                       LSTM_1_INPUT_GATE_HIDDEN_MULTIPLIER, LSTM_1_INPUT_GATE_HIDDEN_SHIFT, wh[1],
                                       ks[5], bs[1], ARM_SIGMOID};
        const cmsis_nn_lstm_gate gc = {LSTM_1_CELL_GATE_INPUT_MULTIPLIER, LSTM_1_CELL_GATE_INPUT_SHIFT, wi[2], ks[2],
                                       LSTM_1_CELL_GATE_HIDDEN_MULTIPLIER, LSTM_1_CELL_GATE_HIDDEN_SHIFT, wh[2], ks[6],
                                       bs[2], ARM_TANH};
        const cmsis_nn_lstm_gate go = {LSTM_1_OUTPUT_GATE_INPUT_MULTIPLIER, LSTM_1_OUTPUT_GATE_INPUT_SHIFT, wi[3],
                                       ks[3], LSTM_1_OUTPUT_GATE_HIDDEN_MULTIPLIER, LSTM_1_OUTPUT_GATE_HIDDEN_SHIFT,
                                       wh[3], ks[7], bs[3], ARM_SIGMOID};
        const cmsis_nn_lstm_params p = {LSTM_1_TIME_MAJOR, LSTM_1_BATCH_SIZE, LSTM_1_TIME_STEPS, LSTM_1_INPUT_SIZE,
                                        LSTM_1_HIDDEN_SIZE, LSTM_1_INPUT_ZERO_POINT,
                                        LSTM_1_FORGET_TO_CELL_MULTIPLIER, LSTM_1_FORGET_TO_CELL_SHIFT,
                                        LSTM_1_INPUT_TO_CELL_MULTIPLIER, LSTM_1_INPUT_TO_CELL_SHIFT, LSTM_1_CELL_CLIP,
                                        LSTM_1_CELL_SCALE_POWER, LSTM_1_OUTPUT_MULTIPLIER, LSTM_1_OUTPUT_SHIFT,
                                        LSTM_1_OUTPUT_ZERO_POINT, gf, gi, gc, go};
        cmsis_nn_lstm_context ctx = {b1, b2, b3, NULL};
        const arm_cmsis_nn_status st = arm_lstm_unidirectional_s8(lstm_1_input_tensor, out, &p, &ctx);
        for (i = 0; i < (int)sizeof(out); i++) {
            bad += out[i] != lstm_1_output[i];
        }
        if (st != ARM_CMSIS_NN_SUCCESS) {
            bad = (int)sizeof(out);
        }
    }
    eb_puts("validate lstm_1 ");
    eb_put_int(bad);
    eb_puts(" ");
    eb_put_int((int32_t)sizeof(out));
    eb_puts("\n");
    return bad != 0;
}

int main(void)
{
    const int fail = validate_lstm_1();
    uint64_t t0;
    uint64_t t1;
    uint64_t t2;
    make_model();
    t0 = eb_ticks();
    eb_spin(1u);
    t1 = eb_ticks();
    eb_spin(100001u);
    t2 = eb_ticks();
    eb_puts("calibration ");
    eb_put_u64((t2 - t1) - (t1 - t0));
    eb_puts(" 200000\n");
    {
        /* stateful: every step does both matrix products (as edgelstm's NAME_step) */
        cmsis_nn_lstm_context ctx = {temp1, temp2, cell, hidden};
        memset(cell, 0, sizeof(cell));
        memset(hidden, OUTPUT_ZP, sizeof(hidden));
        t0 = eb_ticks();
        (void)arm_lstm_unidirectional_s8(input, output, &params, &ctx);
        t1 = eb_ticks();
    }
    eb_puts("lstm_steps ");
    eb_put_u64(t1 - t0);
    eb_puts(" 64\n");
    return fail;
}
