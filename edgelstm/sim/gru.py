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
from .kernels import Requant, clamp, mul_elementwise, pot_mul, rdbp_inplace

GATES = GruOp.GATES


class GruKernel:
    """The op's parameters stacked gate-wise ([z; r; h]), prepared once (like TFLM's Prepare).

    The stacks and the zero points folded into the biases come prepared with the op
    (``GruOp.input_stack`` / ``recurrent_stack``: W(x - z) + b = Wx + (b - zW1), exact);
    requantisation by :class:`~edgelstm.sim.kernels.Requant` (exact float64 when the accumulator
    bound allows), sigmoid/tanh as 65,536-entry tables of ``edgelstm.fixedpoint`` (exact by
    construction).
    """

    def __init__(self, op: GruOp):
        self.op = op
        U = op.units
        self.U = U
        sx, sh = op.input_stack, op.recurrent_stack
        wx, bx = sx.weights, sx.folded_bias
        self.wx_t = np.ascontiguousarray(wx.T, dtype=np.float64)
        self.req_x = Requant(sx.multiplier, sx.shift, float(np.max(np.abs(wx).sum(1) * 128 + np.abs(bx))), bias=bx)
        rows = slice(0, 3 * U) if op.reset_after else slice(0, 2 * U)  # reset_after=False: the candidate reads r * h
        wh, bh = sh.weights[rows], sh.folded_bias[rows]
        self.wh_t = np.ascontiguousarray(wh.T, dtype=np.float64)
        self.req_h = Requant(sh.multiplier[rows], sh.shift[rows], float(np.max(np.abs(wh).sum(1) * 128 + np.abs(bh))),
                             bias=bh)
        if not op.reset_after:
            wn = sh.weights[2 * U :]
            self.wn_t = np.ascontiguousarray(wn.T, dtype=np.float64)
            self.req_n = Requant(sh.multiplier[2 * U :], sh.shift[2 * U :], float(np.max(np.abs(wn).sum(1) * 128)))
        self.sigmoid = fp.sigmoid_lut().astype(np.int32)
        self.tanh = fp.tanh_lut(0, 0).astype(np.int32)
        rm = op.reset_mul
        self.reset_pot = rm.multiplier == (1 << 30) and rm.shift <= 0  # r * Q3.12 -> Q3.12 by shifts

    def input_preactivations(self, x: np.ndarray, block: int = 16) -> np.ndarray:
        """(N, T, F) int8 -> (N, T, 3U) int16 values (float64), in cache-sized blocks of steps."""
        x = np.asarray(x, dtype=np.float64)
        N, T, _ = x.shape
        out = np.empty((N, T, 3 * self.U), dtype=np.float64)
        for t0 in range(0, T, block):
            out[:, t0 : t0 + block] = self.req_x(x[:, t0 : t0 + block] @ self.wx_t)
        return out

    def recurrent_preactivations(self, h8: np.ndarray) -> np.ndarray:
        return self.req_h(np.asarray(h8, dtype=np.float64) @ self.wh_t)

    def candidate_recurrent(self, rh8: np.ndarray) -> np.ndarray:
        return self.req_n(np.asarray(rh8, dtype=np.float64) @ self.wn_t)


def run_gru(op: GruOp, x: np.ndarray, trace: dict | None = None, kernel: GruKernel | None = None) -> np.ndarray:
    """Integer GRU over int8 sequences (N, T, F) from the reset state; returns h8 (N, T, U)."""
    k = kernel or GruKernel(op)
    N, T, _ = x.shape
    U = op.units
    kbits = op.hidden_frac_bits
    h16 = np.zeros((N, U), dtype=np.int32)
    h8 = np.zeros((N, U), dtype=np.int32)
    out = np.empty((N, T, U), dtype=np.int8)
    states = np.empty((N, T, U), dtype=np.int16) if trace is not None else None
    sat_counts = np.zeros(3, dtype=np.int64)
    ax_all = k.input_preactivations(x)
    for t in range(T):
        ax = ax_all[:, t, :]
        ah = k.recurrent_preactivations(h8)
        pre_zr = ax[:, : 2 * U] + ah[:, : 2 * U]
        clamp(pre_zr, -32768.0, 32767.0, out=pre_zr)
        zr = np.take(k.sigmoid, pre_zr.astype(np.intp) + 32768, mode="wrap")
        z = zr[:, :U]
        r = zr[:, U:]
        if op.reset_after:
            rec_h = ah[:, 2 * U :].astype(np.int32)
            if k.reset_pot:
                rn = pot_mul(r, rec_h, -op.reset_mul.shift)
            else:
                rn = mul_elementwise(r, rec_h, op.reset_mul)
            n_pre = ax[:, 2 * U :].astype(np.int32) + rn
        else:
            rh = r.astype(np.int64) * h16  # Q0.30, |.| < 2^30
            rh8 = clamp(rdbp_inplace(rh, 30 - kbits), -128, 127)
            n_pre = ax[:, 2 * U :] + k.candidate_recurrent(rh8)
        n_pre = clamp(n_pre, -32768, 32767).astype(np.intp)
        if trace is not None:
            sat_counts[:2] += ((pre_zr == fp.INT16_MAX) | (pre_zr == fp.INT16_MIN)).reshape(N, 2, U).sum(axis=(0, 2))
            sat_counts[2] += int(((n_pre == fp.INT16_MAX) | (n_pre == fp.INT16_MIN)).sum())
        n = np.take(k.tanh, n_pre + 32768, mode="wrap")
        # h16 = sat16(n + RDBP(z * (h16 - n), 15)); |z * (h16 - n)| <= 32767 * 65535 < 2^31
        d = h16 - n
        d *= z
        rdbp_inplace(d, 15)
        d += n
        h16 = clamp(d, -32768, 32767, out=d)
        h8 = clamp(rdbp_inplace(h16.copy(), 15 - kbits), -128, 127)
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
