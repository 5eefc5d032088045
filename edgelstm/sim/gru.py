"""edgelstm's integer GRU: the specification, the bit-exact simulator and its float reference.

TFLite has no fused GRU and no microcontroller toolkit ships an int8 GRU, so edgelstm defines
one from the primitives of TFLite Micro's int8 LSTM (``edgelstm.fixedpoint``): int8 weights,
int32 biases, Q3.12 pre-activations, the LUT sigmoid/tanh with Q0.15 outputs, the same
``MultiplyByQuantizedMultiplier`` rounding. It follows Keras' ``GRU`` (gate order z, r, h) in
float terms, for both ``reset_after=True`` (Keras' default: separate input and recurrent biases)
and ``reset_after=False``.

Specification (one time step, every unit j; MBQM = MultiplyByQuantizedMultiplier, RDBP =
RoundingDivideByPOT, sat16/sat8 = saturate to int16/int8; multipliers M are per row)::

    state   h16 int16, Q0.15 (scale 2^-15, zero point 0); reset: h16 = 0
    output  h8  int8, scale 2^-k, zero point 0:     h8 = sat8(RDBP(h16, 15 - k))
    input   x   int8, scale s_x, zero point z_x

    for g in z, r, h:
      ax_g = sat16(MBQM(sum_f W_g[j,f] (x_f - z_x) + bx_g[j], Mx_g[j]))      Mx_g = s_x s_Wg[j] / 2^-12
      ah_g = sat16(MBQM(sum_i U_g[j,i] h8_i + bh_g[j], Mh_g[j]))             Mh_g = 2^-k s_Ug[j] / 2^-12
                                       (reset_after=False: no bh_g, and for g = h see below)
    z = sigmoid(sat16(ax_z + ah_z))                                          Q0.15
    r = sigmoid(sat16(ax_r + ah_r))                                          Q0.15
    reset_after=True:   n_pre = sat16(ax_h + sat16(MBQM(r * ah_h, 2^30, -14)))   (r * Q3.12 -> Q3.12)
    reset_after=False:  rh8_i = sat8(RDBP(r_i * h16_i, 30 - k))                  (r h in the h8 scale)
                        n_pre = sat16(ax_h + sat16(MBQM(sum_i U_h[j,i] rh8_i, Mh_h[j])))
    n   = tanh(n_pre)                                                        Q0.15 (TFLM Tanh, Q3.12 in)
    h16 = sat16(n + RDBP(z * (h16 - n), 15))                                 = z h + (1 - z) n
    h8  = sat8(RDBP(h16, 15 - k))

Keras' float GRU is exactly the same with every quantization removed (``gru_float``):
z = sigma(x W_z + bx_z + h U_z + bh_z), r likewise, n = tanh(x W_h + bx_h + r (h U_h + bh_h))
(reset_after) or tanh(x W_h + bx_h + (r h) U_h), h' = n + z (h - n).

Choice of the state format (measured on the default radar data, ``edgelstm data radar``: 8000/2000
sequences x 64 frames x 18 features, GRU(32) trained 30 epochs, k = 7 from calibration;
docs/gru_spec.md): the int16 Q0.15 state keeps the slow, long-memory part of the GRU update (z
close to 1, where (1 - z)(n - h) is below one int8 step) from being rounded away. The
alternative, an int8-only state (h16 rebuilt from h8 every step), was run on the same model:

    state format      test accuracy   final-h MAD (64 frames)   final-h MAD (1280-frame streams)
    int16 Q0.15       0.9050          0.0053                    0.0071
    int8 (h8 only)    0.9065          0.0087                    0.0199
    (float Keras      0.9055)

Accuracy does not separate them on 64-frame windows (3 of 2000 sequences); the hidden state
does: int8-only is 1.6x further from the float state on a window and 2.8x on long streams
without reset, the way the streaming API runs. The int16 state costs 2 bytes per unit of RAM
and no extra product: only the recurrent product reads the int8 copy h8, so every product is
s8 x s8 like the LSTM's and runs on the same dot-product kernel. k is chosen by calibration (the
smallest power-of-two range that holds the calibrated max |h|), so h8 needs no multiplier, only
a shift.
"""

from __future__ import annotations

import numpy as np

from .. import fixedpoint as fp
from ..ir import GruOp
from .kernels import int_matmul, mul_elementwise

GATES = ("z", "r", "h")


class GruKernel:
    """The op's parameters stacked gate-wise ([z; r; h]) with zero points folded into biases."""

    def __init__(self, op: GruOp):
        self.op = op
        gs = [op.gates[g] for g in GATES]
        self.wx = np.concatenate([g.input_fc.weights for g in gs]).astype(np.float64)
        x_off = gs[0].input_fc.input_offset
        self.bx = np.concatenate([g.input_fc.bias + x_off * g.input_fc.weights.astype(np.int64).sum(1) for g in gs])
        self.mx = np.concatenate([g.input_fc.multiplier for g in gs])
        self.sx = np.concatenate([g.input_fc.shift for g in gs])
        U = op.units
        self.U = U
        if op.reset_after:
            self.wh = np.concatenate([g.recurrent_fc.weights for g in gs]).astype(np.float64)
            self.bh = np.concatenate([g.recurrent_fc.bias if g.recurrent_fc.bias is not None else np.zeros(U, np.int64)
                                      for g in gs])
            self.mh = np.concatenate([g.recurrent_fc.multiplier for g in gs])
            self.sh = np.concatenate([g.recurrent_fc.shift for g in gs])
        else:
            # z and r from h8; the candidate's product reads r * h (computed per step).
            self.wh = np.concatenate([g.recurrent_fc.weights for g in gs[:2]]).astype(np.float64)
            self.bh = np.zeros(2 * U, np.int64)
            self.mh = np.concatenate([g.recurrent_fc.multiplier for g in gs[:2]])
            self.sh = np.concatenate([g.recurrent_fc.shift for g in gs[:2]])
            gh = op.gates["h"].recurrent_fc
            self.wn = gh.weights.astype(np.float64)
            self.mn, self.sn = gh.multiplier, gh.shift

    def input_preactivations(self, x: np.ndarray) -> np.ndarray:
        acc = int_matmul(x, self.wx) + self.bx
        return fp.sat16(fp.multiply_by_quantized_multiplier(fp.wrap_int32(acc), self.mx, self.sx))

    def recurrent_preactivations(self, h8: np.ndarray) -> np.ndarray:
        acc = int_matmul(h8, self.wh) + self.bh
        return fp.sat16(fp.multiply_by_quantized_multiplier(fp.wrap_int32(acc), self.mh, self.sh))

    def candidate_recurrent(self, rh8: np.ndarray) -> np.ndarray:
        acc = int_matmul(rh8, self.wn)
        return fp.sat16(fp.multiply_by_quantized_multiplier(fp.wrap_int32(acc), self.mn, self.sn))


def run_gru(op: GruOp, x: np.ndarray, trace: dict | None = None, kernel: GruKernel | None = None) -> np.ndarray:
    """Integer GRU over int8 sequences (N, T, F) from the reset state; returns h8 (N, T, U)."""
    k = kernel or GruKernel(op)
    N, T, _ = x.shape
    U = op.units
    kbits = op.hidden_frac_bits
    h16 = np.zeros((N, U), dtype=np.int64)
    h8 = np.zeros((N, U), dtype=np.int64)
    out = np.empty((N, T, U), dtype=np.int8)
    states = np.empty((N, T, U), dtype=np.int16) if trace is not None else None
    sat_counts = np.zeros(3, dtype=np.int64)
    ax_all = k.input_preactivations(np.asarray(x, dtype=np.int64))
    for t in range(T):
        ax = ax_all[:, t, :]
        ah = k.recurrent_preactivations(h8)
        pre_zr = fp.sat16(ax[:, : 2 * U] + ah[:, : 2 * U])
        z = fp.sigmoid_int16(pre_zr[:, :U])
        r = fp.sigmoid_int16(pre_zr[:, U:])
        if op.reset_after:
            n_pre = fp.sat16(ax[:, 2 * U :] + mul_elementwise(r, ah[:, 2 * U :], op.reset_mul))
        else:
            rh8 = fp.sat8(fp.rounding_divide_by_pot(r * h16, 30 - kbits))
            n_pre = fp.sat16(ax[:, 2 * U :] + k.candidate_recurrent(rh8))
        if trace is not None:
            sat_counts[:2] += ((pre_zr == fp.INT16_MAX) | (pre_zr == fp.INT16_MIN)).reshape(N, 2, U).sum(axis=(0, 2))
            sat_counts[2] += int(((n_pre == fp.INT16_MAX) | (n_pre == fp.INT16_MIN)).sum())
        n = fp.tanh_int16(n_pre, 0, 0)
        h16 = fp.sat16(n + fp.rounding_divide_by_pot(z * (h16 - n), 15))
        h8 = fp.sat8(fp.rounding_divide_by_pot(h16, 15 - kbits))
        out[:, t, :] = h8
        if states is not None:
            states[:, t, :] = h16
    if trace is not None:
        trace["state"] = states
        trace["preact_saturated"] = dict(zip(GATES, sat_counts.tolist()))
    return out


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def gru_float(x: np.ndarray, kernel: np.ndarray, recurrent_kernel: np.ndarray, bias: np.ndarray | None,
              reset_after: bool = True, go_backwards: bool = False, return_sequences: bool = True) -> np.ndarray:
    """The float reference of the integer GRU, on Keras' own weight layout (float64).

    kernel (F, 3U), recurrent_kernel (U, 3U) with gate columns [z, r, h]; bias (2, 3U) for
    reset_after=True (input row, recurrent row) or (3U,). ``x`` (N, T, F). This is the integer
    GRU's formula with the quantization removed, and equals ``keras.layers.GRU``.
    """
    x = np.asarray(x, dtype=np.float64)
    W = np.asarray(kernel, dtype=np.float64)
    Uw = np.asarray(recurrent_kernel, dtype=np.float64)
    U = Uw.shape[0]
    if bias is None:
        bx = np.zeros(3 * U)
        bh = np.zeros(3 * U)
    elif reset_after:
        b = np.asarray(bias, dtype=np.float64).reshape(2, 3 * U)
        bx, bh = b[0], b[1]
    else:
        bx, bh = np.asarray(bias, dtype=np.float64).reshape(3 * U), np.zeros(3 * U)
    if go_backwards:
        x = x[:, ::-1]
    N, T, _ = x.shape
    h = np.zeros((N, U))
    outs = np.empty((N, T, U))
    ax_all = x @ W + bx
    for t in range(T):
        ax = ax_all[:, t]
        if reset_after:
            ah = h @ Uw + bh
            z = _sigmoid(ax[:, :U] + ah[:, :U])
            r = _sigmoid(ax[:, U : 2 * U] + ah[:, U : 2 * U])
            n = np.tanh(ax[:, 2 * U :] + r * ah[:, 2 * U :])
        else:
            ah = h @ Uw[:, : 2 * U]
            z = _sigmoid(ax[:, :U] + ah[:, :U])
            r = _sigmoid(ax[:, U : 2 * U] + ah[:, U:])
            n = np.tanh(ax[:, 2 * U :] + (r * h) @ Uw[:, 2 * U :])
        h = n + z * (h - n)
        outs[:, t] = h
    return outs if return_sequences else outs[:, -1]
