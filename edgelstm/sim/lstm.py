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


_FLOAT_EXACT_ACC = 1 << 22  # |acc| below this: acc * multiplier (< 2^31) is exact in float64


class Requant:
    """MultiplyByQuantizedMultiplier + saturation to int16 of an FC accumulator, prepared once.

    When every accumulator is bounded by 2^22 (known from the weights), acc * multiplier is
    below 2^53 and the whole double-rounding MBQM is exact in float64:
    SaturatingRoundingDoublingHighMul = floor((acc*m + 2^30) / 2^31) (see fixedpoint.py) and
    RoundingDivideByPOT(v, r) = sign(v) * floor(|v| / 2^r + 1/2). Otherwise the int64 path of
    ``edgelstm.fixedpoint`` runs. Both give the same integers.
    """

    def __init__(self, multiplier, shift, acc_bound: float):
        m = np.asarray(multiplier, dtype=np.int64)
        sft = np.asarray(shift, dtype=np.int64)
        self.m, self.s = _compact(m), _compact(sft)
        left = np.maximum(sft, 0)
        right = np.maximum(-sft, 0)
        # x * 2^left is exact and cannot wrap while acc_bound * 2^left < 2^22 (< 2^31).
        self.float_ok = acc_bound * float(2.0 ** np.max(left)) < _FLOAT_EXACT_ACC
        if self.float_ok:
            self.mf = _compact_f(m.astype(np.float64) * 2.0 ** left.astype(np.float64))  # m * 2^left
            self.inv = _compact_f(2.0 ** -right.astype(np.float64))  # 2^-right

    def __call__(self, acc: np.ndarray) -> np.ndarray:
        """float64 (exact integers) in, float64 (exact int16 values) out."""
        if self.float_ok:
            v = np.floor((acc * self.mf + 1073741824.0) * 4.656612873077393e-10)  # / 2^31
            a = np.floor(np.abs(v) * self.inv + 0.5)
            v = np.copysign(a, v)
            return np.clip(v, -32768.0, 32767.0, out=v)
        q = fp.multiply_by_quantized_multiplier(fp.wrap_int32(acc.astype(np.int64)), self.m, self.s)
        return np.clip(q, fp.INT16_MIN, fp.INT16_MAX).astype(np.float64)


class LstmKernel:
    """The LSTM op's parameters stacked gate-wise ([i; f; g; o]) for fused products.

    Everything here is derived once from the op (like TFLM's Prepare): the stacked weights,
    the zero points folded into the biases (an exact integer identity,
    W(x - z) + b = Wx + (b - zW1)), and the sigmoid/tanh of every int16 input as 65,536-entry
    tables (computed with ``edgelstm.fixedpoint``, so exact by construction). Integer values
    travel in float64 arrays where they are exact (BLAS products, no conversions).
    """

    def __init__(self, op: LstmOp):
        self.op = op
        U = op.units
        self.U = U
        gs = [op.gates[k] for k in GATE_ORDER]
        wx = np.concatenate([g.input_fc.weights for g in gs]).astype(np.int64)  # (4U, F)
        wh = np.concatenate([g.recurrent_fc.weights for g in gs]).astype(np.int64)  # (4U, U)
        self.wx_t = np.ascontiguousarray(wx.T, dtype=np.float64)
        self.wh_t = np.ascontiguousarray(wh.T, dtype=np.float64)
        x_off = gs[0].input_fc.input_offset
        h_off = gs[0].recurrent_fc.input_offset
        bx = np.concatenate([g.input_fc.bias for g in gs]) + x_off * wx.sum(1)
        bh = h_off * wh.sum(1)
        self.bx = bx.astype(np.float64)
        self.bh = bh.astype(np.float64)
        # Bounds of the accumulators over all int8 inputs decide the exact float path.
        bound_x = float(np.max(np.abs(wx).sum(1) * 128 + np.abs(bx))) if wx.size else 0.0
        bound_h = float(np.max(np.abs(wh).sum(1) * 128 + np.abs(bh))) if wh.size else 0.0
        self.req_x = Requant(np.concatenate([g.input_fc.multiplier for g in gs]),
                             np.concatenate([g.input_fc.shift for g in gs]), bound_x)
        self.req_h = Requant(np.concatenate([g.recurrent_fc.multiplier for g in gs]),
                             np.concatenate([g.recurrent_fc.shift for g in gs]), bound_h)
        act = np.empty((4, 65536), dtype=np.int64)
        act[0] = act[1] = act[3] = fp.sigmoid_lut()
        act[2] = fp.tanh_lut(0, 0) if op.cell_gate_activation == "tanh" else fp.sigmoid_lut()
        self.gate_table = act.reshape(-1)
        self.gate_offset = (np.repeat(np.arange(4), U) * 65536 + 32768).astype(np.int64)
        self.tanh_cell = fp.tanh_lut(op.tanh_cell_multiplier, op.tanh_cell_left_shift)

    def input_preactivations(self, x: np.ndarray) -> np.ndarray:
        """sat16(MBQM(W (x - zp_x) + b)) for all time steps at once: (N, T, F) -> (N, T, 4U) float64."""
        acc = np.asarray(x, dtype=np.float64) @ self.wx_t
        acc += self.bx
        return self.req_x(acc)

    def recurrent_preactivations(self, h: np.ndarray) -> np.ndarray:
        acc = np.asarray(h, dtype=np.float64) @ self.wh_t
        acc += self.bh
        return self.req_h(acc)

    def activations(self, pre: np.ndarray) -> np.ndarray:
        """sigmoid (i, f, o) and tanh/sigmoid (g) of (N, 4U) int16 pre-activations, by table."""
        return np.take(self.gate_table, pre.astype(np.int64) + self.gate_offset)


def _compact_f(a: np.ndarray):
    a = np.asarray(a, dtype=np.float64)
    return float(a.reshape(-1)[0]) if a.size and np.all(a == a.reshape(-1)[0]) else a


def _compact(a: np.ndarray):
    """A per-row array that holds one value -> that scalar (cheaper broadcasting, same result)."""
    a = np.asarray(a)
    return int(a[0]) if a.size and np.all(a == a[0]) else a


def _cell_mul(p) -> tuple[bool, int]:
    """(True, r) when MBQM(x, p) is RoundingDivideByPOT((x + 1) >> 1, r): multiplier 2^30."""
    return (p.multiplier == (1 << 30) and p.shift <= 0), -p.shift


def run_lstm(op: LstmOp, x: np.ndarray, trace: dict | None = None, kernel: LstmKernel | None = None) -> np.ndarray:
    """Run ``op`` over int8 sequences ``x`` (N, T, F) from the reset state; returns h (N, T, U).

    ``trace`` (optional dict) receives the int16 cell states (N, T, U) under "cell" and the
    count of saturated gate pre-activations under "preact_saturated" (per gate).
    """
    k = kernel or LstmKernel(op)
    N, T, _ = x.shape
    U = op.units
    h = np.full((N, U), op.hidden_zero_point, dtype=np.int64)  # reset: h = zero point
    c = np.zeros((N, U), dtype=np.int64)  # reset: c = 0
    out = np.empty((N, T, U), dtype=np.int8)
    pre_x_all = k.input_preactivations(x)  # (N, T, 4U) float64
    cells = np.empty((N, T, U), dtype=np.int16) if trace is not None else None
    sat_counts = np.zeros(4, dtype=np.int64)
    clip = op.quantized_cell_clip
    fcm, im, om = op.forget_cell_mul, op.input_mul, op.output_mul
    fast_f, rf = _cell_mul(fcm)
    fast_i, ri = _cell_mul(im)
    for t in range(T):
        pre = pre_x_all[:, t, :] + k.recurrent_preactivations(h)
        np.clip(pre, -32768.0, 32767.0, out=pre)  # AddElementWise saturation
        if trace is not None:
            sat = (pre == fp.INT16_MAX) | (pre == fp.INT16_MIN)
            sat_counts += sat.reshape(N, 4, U).sum(axis=(0, 2))
        gates = k.activations(pre)  # sigmoid(i), sigmoid(f), tanh(g) (Tanh with scale power -12), sigmoid(o)
        i_g = gates[:, 0:U]
        f_g = gates[:, U : 2 * U]
        g_g = gates[:, 2 * U : 3 * U]
        o_g = gates[:, 3 * U :]
        # UpdateLstmCell: c = sat16(f*c) + sat16(i*g), saturating add, optional clip. With the
        # multiplier 2^30 (always: the scales are powers of two), SRDHM(x, 2^30) = (x + 1) >> 1.
        if fast_f:
            fc = fp.rounding_divide_by_pot((f_g * c + 1) >> 1, rf)
            np.clip(fc, fp.INT16_MIN, fp.INT16_MAX, out=fc)
        else:
            fc = mul_elementwise(f_g, c, fcm)
        if fast_i:
            ig = fp.rounding_divide_by_pot((i_g * g_g + 1) >> 1, ri)
            np.clip(ig, fp.INT16_MIN, fp.INT16_MAX, out=ig)
        else:
            ig = mul_elementwise(i_g, g_g, im)
        c = fc + ig
        np.clip(c, fp.INT16_MIN, fp.INT16_MAX, out=c)
        if clip > 0:
            np.clip(c, -clip, clip, out=c)
        # UpdateLstmHidden: h = tanh(c) * o, requantized to the hidden tensor (int8, zp_h).
        h = mul_elementwise(np.take(k.tanh_cell, c + 32768), o_g, om)
        out[:, t, :] = h
        if cells is not None:
            cells[:, t, :] = c
    if trace is not None:
        trace["cell"] = cells
        trace["preact_saturated"] = dict(zip(GATE_ORDER, sat_counts.tolist()))
    return out
