"""TFLite Micro's int8x8_16 LSTM step, vectorised over a batch of sequences.

Reproduces ``lstm_internal::LstmStep`` (tflite-micro ``kernels/lstm_eval.h``) for one time step
of every sequence at once:

    gate_g  = act_g( sat16( sat16(FC_x,g(x_t)) + sat16(FC_h,g(h_{t-1})) ) )     act: sigmoid, tanh for g
    c_t     = sat16( sat16(MBQM(f * c_{t-1})) + sat16(MBQM(i * g)) ), clipped to the cell clip
    h_t     = clamp8( MBQM(tanh(c_t) * o) + zp_h )

where FC_x,g(x) = sat16(MBQM(W_g (x - zp_x) + b_g, M_x,g)) and FC_h,g(h) = sat16(MBQM(U_g (h - zp_h), M_h,g))
(two separate requantisations, as TFLM does: ``CalculateLstmGate``), sigmoid/tanh are the int16
LUT functions of ``edgelstm.fixedpoint`` (Q3.12 in, Q0.15 out), and tanh(c_t) uses the cell
scale power. The four gates are computed in one fused matrix product per input.
"""

from __future__ import annotations

import numpy as np

from .. import fixedpoint as fp
from ..ir import LstmOp
from .kernels import int_matmul, mul_elementwise

GATE_ORDER = ("i", "f", "g", "o")


class LstmKernel:
    """The LSTM op's parameters stacked gate-wise ([i; f; g; o]) for fused products."""

    def __init__(self, op: LstmOp):
        self.op = op
        U = op.units
        self.U = U
        gs = [op.gates[k] for k in GATE_ORDER]
        self.wx = np.concatenate([g.input_fc.weights for g in gs]).astype(np.float64)  # (4U, F)
        self.wh = np.concatenate([g.recurrent_fc.weights for g in gs]).astype(np.float64)  # (4U, U)
        # Zero points folded into the biases (exact integer identity: W(x - z) + b = Wx + (b - zW1)).
        x_off = gs[0].input_fc.input_offset
        h_off = gs[0].recurrent_fc.input_offset
        self.bx = np.concatenate([g.input_fc.bias + x_off * g.input_fc.weights.astype(np.int64).sum(1) for g in gs])
        self.bh = np.concatenate([h_off * g.recurrent_fc.weights.astype(np.int64).sum(1) for g in gs])
        self.mx = np.concatenate([g.input_fc.multiplier for g in gs])
        self.sx = np.concatenate([g.input_fc.shift for g in gs])
        self.mh = np.concatenate([g.recurrent_fc.multiplier for g in gs])
        self.sh = np.concatenate([g.recurrent_fc.shift for g in gs])

    def input_preactivations(self, x: np.ndarray) -> np.ndarray:
        """sat16(MBQM(W (x - zp_x) + b)) for all time steps at once: (N, T, F) -> (N, T, 4U)."""
        acc = int_matmul(x, self.wx) + self.bx
        return fp.sat16(fp.multiply_by_quantized_multiplier(fp.wrap_int32(acc), self.mx, self.sx))

    def recurrent_preactivations(self, h: np.ndarray) -> np.ndarray:
        acc = int_matmul(h, self.wh) + self.bh
        return fp.sat16(fp.multiply_by_quantized_multiplier(fp.wrap_int32(acc), self.mh, self.sh))


def run_lstm(op: LstmOp, x: np.ndarray, trace: dict | None = None) -> np.ndarray:
    """Run ``op`` over int8 sequences ``x`` (N, T, F) from the reset state; returns h (N, T, U).

    ``trace`` (optional dict) receives the int16 cell states (N, T, U) under "cell" and the
    count of saturated gate pre-activations under "preact_saturated" (per gate).
    """
    k = LstmKernel(op)
    N, T, _ = x.shape
    U = op.units
    h = np.full((N, U), op.hidden_zero_point, dtype=np.int64)  # reset: h = zero point
    c = np.zeros((N, U), dtype=np.int64)  # reset: c = 0
    out = np.empty((N, T, U), dtype=np.int8)
    pre_x_all = k.input_preactivations(np.asarray(x, dtype=np.int64))  # (N, T, 4U)
    cells = np.empty((N, T, U), dtype=np.int16) if trace is not None else None
    sat_counts = np.zeros(4, dtype=np.int64)
    tm, tl = op.tanh_cell_multiplier, op.tanh_cell_left_shift
    clip = op.quantized_cell_clip
    for t in range(T):
        pre = fp.sat16(pre_x_all[:, t, :] + k.recurrent_preactivations(h))  # AddElementWise
        if trace is not None:
            sat = (pre == fp.INT16_MAX) | (pre == fp.INT16_MIN)
            sat_counts += sat.reshape(N, 4, U).sum(axis=(0, 2))
        i_g = fp.sigmoid_int16(pre[:, 0:U])
        f_g = fp.sigmoid_int16(pre[:, U : 2 * U])
        # Cell gate: Tanh(cell_state_scale_power=-12) -> (multiplier 0, left shift 0).
        g_g = fp.tanh_int16(pre[:, 2 * U : 3 * U], 0, 0)
        o_g = fp.sigmoid_int16(pre[:, 3 * U :])
        # UpdateLstmCell: c = f*c; c += i*g (saturating add); optional clip.
        c = mul_elementwise(f_g, c, op.forget_cell_mul)
        c = fp.sat16(c + mul_elementwise(i_g, g_g, op.input_mul))
        if clip > 0:
            c = np.clip(c, -clip, clip)
        # UpdateLstmHidden: h = tanh(c) * o, requantized to the hidden tensor (int8, zp_h).
        h = mul_elementwise(fp.tanh_int16(c, tm, tl), o_g, op.output_mul)
        out[:, t, :] = h
        if cells is not None:
            cells[:, t, :] = c
    if trace is not None:
        trace["cell"] = cells
        trace["preact_saturated"] = dict(zip(GATE_ORDER, sat_counts.tolist()))
    return out
