"""TFLite Micro's *Prepare* arithmetic: tensor scales -> the integers an int8 kernel runs on.

Every function here reproduces one TFLM Prepare-time computation (named in its docstring), in
the same float32/double order, so that the IR the reader builds holds exactly the multipliers,
shifts and ranges TFLM computes from the same file. The ``.tflite`` reader is the only caller;
executors (simulator, C, reports) read the results from the IR and never recompute them.

Functions take plain floats and numpy arrays and return plain integers (no IR types), so this
module depends on nothing but the fixed-point primitives.
"""

from __future__ import annotations

import math

import numpy as np

from . import fixedpoint as fp
from .errors import ModelError, UnsupportedError

# lstm_eval_common.cc PrepareGateParametersInteger: the gate FCs write Q3.12
# (nonlinear_input_scale) and the gate nonlinearities write Q0.15 (nonlinear_output_scale),
# both float32 constants.
GATE_IN_SCALE = np.float32(0.000244140625)  # 2^-12
GATE_OUT_SCALE = np.float32(0.000030517578125)  # 2^-15

MAX_LEFT_SHIFT = 15  # real multipliers up to 2^15: far beyond any sane scale ratio

# softmax_common.cc CalculateSoftmaxParams: kScaledDiffIntegerBits for int8 input.
SOFTMAX_INPUT_INTEGER_BITS = 5


def checked_multiplier(real: float, what: str = "scale ratio") -> tuple[int, int]:
    """TFLM ``QuantizeMultiplier`` with the result range checked (a corrupt scale gives one line).

    A shift above ``MAX_LEFT_SHIFT`` would overflow int32 in MultiplyByQuantizedMultiplier's
    ``x * (1 << shift)``; NaN/inf/negative ratios come only from corrupt or hand-made files.
    """
    if not (math.isfinite(real) and real >= 0):
        raise ModelError(f"quantization {what} {real} is not a finite positive number (corrupt model?)")
    m, s = fp.quantize_multiplier(real)
    if s > MAX_LEFT_SHIFT:
        raise ModelError(f"quantization {what} {real:.3g} is out of range (corrupt model?)")
    return m, s


def fc_multiplier_per_tensor(s_in: float, s_w: float, s_out: float) -> tuple[int, int]:
    """TFLM ``GetQuantizedConvolutionMultipler``: double(s_in) * double(s_w) / double(s_out).

    Then ``QuantizeMultiplier`` (fully_connected_common.cc ``CalculateOpDataFullyConnected``).
    The product is taken in double (the scales are float32 in the file): the float32 product
    of older TFLite versions gives a multiplier a few units larger, which flips rare ties.
    """
    product = float(np.float32(s_in)) * float(np.float32(s_w))
    return checked_multiplier(product / float(np.float32(s_out)))


def fc_multiplier_per_channel(
    s_in: float, s_w: np.ndarray, s_out: float, what: str = "scale ratio"
) -> tuple[np.ndarray, np.ndarray]:
    """TFLM fully_connected_common.cc per-channel: double(s_in) * double(s_w[c]) / double(s_out).

    One ``QuantizeMultiplier`` per output channel (as ``PopulateConvolutionQuantizationParams``);
    returns int64 arrays (multipliers, shifts).
    """
    ms, ss = [], []
    for sw in np.asarray(s_w, dtype=np.float32):
        m, s = checked_multiplier(float(np.float32(s_in)) * float(sw) / float(np.float32(s_out)), what)
        ms.append(m)
        ss.append(s)
    return np.array(ms, dtype=np.int64), np.array(ss, dtype=np.int64)


def lstm_gate_multiplier(s_in: float, s_w: float) -> tuple[int, int]:
    """lstm_eval_common.cc ``CreateGateParams``: an FC from (s_in, s_w) onto the Q3.12 gate input.

    TFLM builds a temporary FC output tensor of scale ``nonlinear_activation_input_scale``
    (2^-12, zero point 0) and calls ``CalculateOpDataFullyConnected`` on it.
    """
    return fc_multiplier_per_tensor(s_in, s_w, float(GATE_IN_SCALE))


def inter_gate_mul(s1: float, s2: float, s_out: float) -> tuple[int, int]:
    """lstm_eval_common.cc ``CreateInterGateMulParams``: double(s1)*double(s2)/double(s_out).

    Returns (output_multiplier, output_shift); the offsets and the activation range are the
    output type's (the caller's MulParams).
    """
    eff = float(np.float32(s1)) * float(np.float32(s2)) / float(np.float32(s_out))
    return checked_multiplier(eff)


def lstm_cell_state_info(cell_scale: float, cell_clip: float) -> tuple[int, int]:
    """lstm_eval_common.cc ``CreateLstmCellStateInfo``: (cell_state_scale_power, quantized_cell_clip).

    ``CheckedLog2`` of the cell scale, and the clip divided by the scale in double, clamped to
    int16 and truncated by the cast. A clip of 0 (no clipping) stays 0.
    """
    csp = fp.checked_log2(cell_scale)
    clip = float(cell_clip or 0.0)
    q_clip = int(min(max(float(np.float32(clip)) / float(np.float32(cell_scale)), -32768.0), 32767.0)) if clip > 0 else 0
    return csp, q_clip


def activation_range(activation: str, scale: float, zp: int, qmin: int, qmax: int) -> tuple[int, int]:
    """TFLM ``CalculateActivationRangeQuantized``: quantize(f) = zp + round(f / scale) (float32)."""

    def q(f: float) -> int:
        return zp + fp.round_half_away_scalar(float(np.float32(f) / np.float32(scale)))

    if activation == "RELU":
        return max(qmin, q(0.0)), qmax
    if activation == "RELU6":
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    if activation == "RELU_N1_TO_1":
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    if activation == "NONE":
        return qmin, qmax
    raise UnsupportedError(f"fused activation {activation} is not supported on a fully-connected layer")


def requantize_multiplier(s_in: float, s_out: float) -> tuple[int, int]:
    """TFLM quantize.cc ``PrepareQuantizeReference`` (int8 -> int8): double(s_in) / double(s_out)."""
    return checked_multiplier(float(np.float32(s_in)) / float(np.float32(s_out)))


def preprocess_softmax_scaling(beta: float, input_scale: float, input_integer_bits: int) -> tuple[int, int]:
    """TFLM ``PreprocessSoftmaxScaling`` (double-rounding build): min(beta*s*2^(31-bits), 2^31-1).

    Then ``QuantizeMultiplierGreaterThanOne``: returns (input_multiplier, input_left_shift).
    """
    max_real = float((1 << 31) - 1)
    real = min(beta * float(np.float32(input_scale)) * float(1 << (31 - input_integer_bits)), max_real)
    if not math.isfinite(real) or real <= 0:
        raise ModelError(f"softmax input scale {input_scale} is not a positive number (corrupt model?)")
    m, shift = fp.quantize_multiplier(real)
    if shift < 0:
        raise UnsupportedError("softmax input scale too small for TFLM's QuantizeMultiplierGreaterThanOne")
    return m, shift


def calculate_input_radius(input_integer_bits: int, input_left_shift: int, total_signed_bits: int = 31) -> int:
    """TFLM ``CalculateInputRadius``: floor((2^bits - 1) * 2^(total - bits) / 2^left_shift)."""
    max_input_rescaled = (
        1.0 * ((1 << input_integer_bits) - 1) * float(1 << (total_signed_bits - input_integer_bits)) / float(1 << input_left_shift)
    )
    return int(math.floor(max_input_rescaled))


def softmax_params(beta: float, input_scale: float) -> tuple[int, int, int]:
    """softmax_common.cc ``CalculateSoftmaxParams`` (int8 input): (multiplier, left shift, diff_min).

    ``PreprocessSoftmaxScaling`` with 5 integer bits, then diff_min = -``CalculateInputRadius``.
    """
    bits = SOFTMAX_INPUT_INTEGER_BITS
    mult, left_shift = preprocess_softmax_scaling(beta, input_scale, bits)
    return mult, left_shift, -calculate_input_radius(bits, left_shift, 31)


# -- edgelstm's GRU custom op (no TFLM counterpart; the same primitives as the LSTM) ----------


def gru_gate_multipliers(s_in: float, s_w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row QuantizeMultiplier(double(s_in) * double(s_w[row]) / 2^-12), as a per-channel FC.

    The GRU gate FCs write Q3.12 like the LSTM's (``lstm_gate_multiplier``), per weight row.
    """
    return fc_multiplier_per_channel(s_in, s_w, float(GATE_IN_SCALE), "GRU weight scale")


def gru_reset_multiplier() -> tuple[int, int]:
    """The reset gate product r (Q0.15) * Q3.12 -> Q3.12: a multiply by 2^-15."""
    return fp.quantize_multiplier(2.0**-15)


def power_of_two_exponent(scale: float) -> int | None:
    """k with scale == 2^-k (to 1e-6 in the exponent), or None (the GRU hidden state's scale)."""
    k = -math.log2(scale)
    if abs(k - round(k)) > 1e-6:
        return None
    return int(round(k))
