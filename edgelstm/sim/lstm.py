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
from .kernels import FoldedRequant, Requant, clamp, mul_elementwise, pot_mul, pot_mul_1shift, rdbp_inplace

GATE_ORDER = LstmOp.GATES


class LstmKernel:
    """The LSTM op's parameters stacked gate-wise ([i; f; g; o]) for fused products.

    The stacks and the zero points folded into the biases come prepared with the op
    (``LstmOp.input_stack`` / ``recurrent_stack``: W(x - z) + b = Wx + (b - zW1), exact); built
    here once (like TFLM's Prepare) are the float64 forms of the products and the sigmoid/tanh of
    every int16 input as 65,536-entry tables (computed with ``edgelstm.fixedpoint``, so exact by
    construction). Integer values travel in float64 arrays where they are exact (BLAS products,
    no conversions).
    """

    def __init__(self, op: LstmOp):
        self.op = op
        U = op.units
        self.U = U
        sx, sh = op.input_stack, op.recurrent_stack
        # the stacked int8 weights (4U, F), (4U, U) and folded biases, as the C export stores them
        self.wx, self.wh, self.bx, self.bh = sx.weights, sh.weights, sx.folded_bias, sh.folded_bias
        self.wx_t = np.ascontiguousarray(self.wx.T, dtype=np.float64)
        self.wh_t = np.ascontiguousarray(self.wh.T, dtype=np.float64)
        # Bounds of the accumulators over all int8 inputs decide the exact float path.
        bound_x = float(np.max(np.abs(self.wx).sum(1) * 128 + np.abs(self.bx))) if self.wx.size else 0.0
        bound_h = float(np.max(np.abs(self.wh).sum(1) * 128 + np.abs(self.bh))) if self.wh.size else 0.0
        self.req_x = Requant(sx.multiplier, sx.shift, bound_x, bias=self.bx)
        self.req_h = Requant(sh.multiplier, sh.shift, bound_h, bias=self.bh)
        act = np.empty((2, 65536), dtype=np.int32)
        act[0] = fp.sigmoid_lut()
        act[1] = fp.tanh_lut(0, 0) if op.cell_gate_activation == "tanh" else fp.sigmoid_lut()
        self.gate_table = act.reshape(-1)
        # gate g reads table row 0 (sigmoid) except the cell gate (row 1)
        rows = np.array([0, 0, 1, 0])
        self.gate_offset = (np.repeat(rows, U) * 65536 + 32768).astype(np.float64)
        self.tanh_cell32 = fp.tanh_lut(op.tanh_cell_multiplier, op.tanh_cell_left_shift).astype(np.int32)
        self._prepare_fast(op, act)

    def _prepare_fast(self, op: LstmOp, act: np.ndarray) -> None:
        """The transposed fast path of :func:`run_lstm` (``self.fast``): state (units, N), both FC
        requantisations folded into their products (:class:`~edgelstm.sim.kernels.FoldedRequant`),
        the cell products as single shifts. Taken only where every bound below holds."""
        U = self.U
        # One int16 table for the gates' sat16(sum) (no clamp before the lookup): the sum of two
        # int16 values lies in [-65536, 65534]; each activation is padded with its saturated ends to
        # 131,072 entries, sigmoid at 0, the cell gate's at 131,072:
        #   gate_table[base_g + s] = act_g(sat16(s)),  base_g = 65536 (+ 131,072 for the cell gate).
        # int16 halves the table (it is read at random: it must stay in cache).
        pad = np.empty((2, 131072), dtype=np.int16)
        pad[:, :32768] = act[:, :1]
        pad[:, 32768:98304] = act
        pad[:, 98304:] = act[:, -1:]
        self.gate_table_pad = pad.reshape(-1)
        table_base = np.repeat(np.array([0, 0, 131072, 0]), U) + 65536
        self.table_base = table_base[:, None]
        # the input FC's image carries the table base; the recurrent FC's product is added to it
        sx, sh = op.input_stack, op.recurrent_stack
        self.fx = FoldedRequant(self.wx, self.bx, sx.multiplier, sx.shift, base=table_base)
        self.fh = FoldedRequant(self.wh, self.bh, sh.multiplier, sh.shift)
        # tanh(c) indexed by c + 32768 (non-negative: numpy's take branches on negative indices)
        self.tanh_cell16 = self.tanh_cell32.astype(np.int16)
        fcm, im, om = op.forget_cell_mul, op.input_mul, op.output_mul
        self.r_fc, self.r_ig, self.r_out = -fcm.shift, -im.shift, -om.shift
        clip = int(op.quantized_cell_clip)
        self.c_lo, self.c_hi = (-min(clip, 32767), min(clip, 32767)) if clip > 0 else (-32768, 32767)
        act_lo, act_hi = int(act.min()), int(act.max())

        def pot_range(lo_a, hi_a, lo_b, hi_b, r):  # MBQM(a b, 2^30, -r) over the product's extremes
            ends = [a * b for a in (lo_a, hi_a) for b in (lo_b, hi_b)]
            return [int(fp.multiply_by_quantized_multiplier(np.int64(e), 1 << 30, -r)) for e in (min(ends), max(ends))]

        cell_ok = (fcm.multiplier == (1 << 30) and im.multiplier == (1 << 30) and 1 <= self.r_fc <= 29
                   and 1 <= self.r_ig <= 29)
        if cell_ok:  # the products need no sat16 of their own: sat16 + clip of the sum is one clamp
            p1 = pot_range(act_lo, act_hi, -32768, 32767, self.r_fc)
            p2 = pot_range(act_lo, act_hi, act_lo, act_hi, self.r_ig)
            cell_ok = p1[0] >= -32768 and p1[1] <= 32767 and p2[0] >= -32768 and p2[1] <= 32767
        # hidden product, one shift in int64: RDBP(SRDHM(x, m), r) + zp
        #   = (x m + 2^30 + 2^(30+r) + zp 2^(31+r) - 2^31 [x m + 2^30 < 0]) >> (31 + r); with
        # m >= 2^30 and r >= 1, [x < 0] serves for the bracket (x = -1, m = 2^30: both give 0).
        zp, r = om.output_offset, self.r_out
        self.out_k = (1 << 30) + (1 << (30 + r)) + zp * (1 << (31 + r)) if r >= 1 else 0
        out_ok = ((1 << 30) <= om.multiplier < (1 << 31) and 1 <= r <= 30
                  and (1 << 30) * om.multiplier + abs(self.out_k) + (1 << 31) < (1 << 62))
        self.fast = self.fx.ok and self.fh.ok and cell_ok and out_ok

    def input_preactivations(self, x: np.ndarray, block: int = 2) -> np.ndarray:
        """sat16(MBQM(W (x - zp_x) + b)) for all time steps: (N, T, F) -> (N, T, 4U) float64.

        Computed in blocks of time steps so the temporaries stay in cache.
        """
        x = np.asarray(x, dtype=np.float64)
        N, T, _ = x.shape
        out = np.empty((N, T, 4 * self.U), dtype=np.float64)
        for t0 in range(0, T, block):
            acc = x[:, t0 : t0 + block] @ self.wx_t
            out[:, t0 : t0 + block] = self.req_x(acc)
        return out

    def recurrent_preactivations(self, h: np.ndarray) -> np.ndarray:
        return self.req_h(np.asarray(h, dtype=np.float64) @ self.wh_t)

    def activations(self, pre: np.ndarray) -> np.ndarray:
        """sigmoid (i, f, o) and tanh/sigmoid (g) of (N, 4U) int16 pre-activations, by table."""
        return np.take(self.gate_table, (pre + self.gate_offset).astype(np.intp), mode="wrap")


def _out_mul(a: np.ndarray, b: np.ndarray, m: int, right: int, zp: int) -> np.ndarray:
    """clamp8(MBQM(a*b, m, -right) + zp) for int32 a, b (|a*b| < 2^31): the hidden-state product."""
    v = (a * b).astype(np.int64)
    v *= m
    v += 1 << 30
    v >>= 31  # SaturatingRoundingDoublingHighMul (no overflow: m < 2^31, |a*b| < 2^31)
    rdbp_inplace(v, right)
    v += zp
    return clamp(v, -128, 127, out=v)


def run_lstm(op: LstmOp, x: np.ndarray, trace: dict | None = None, kernel: LstmKernel | None = None) -> np.ndarray:
    """Run ``op`` over int8 sequences ``x`` (N, T, F) from the reset state; returns h (N, T, U).

    ``trace`` (optional dict) receives the int16 cell states (N, T, U) under "cell" and the
    count of saturated gate pre-activations under "preact_saturated" (per gate).
    """
    k = kernel or LstmKernel(op)
    if k.fast:
        return _run_lstm_fast(k, op, x, trace)
    N, T, _ = x.shape
    U = op.units
    h = np.full((N, U), float(op.hidden_zero_point))  # reset: h = zero point
    c = np.zeros((N, U), dtype=np.int32)  # reset: c = 0
    out = np.empty((N, T, U), dtype=np.int8)
    pre_x_all = k.input_preactivations(x)  # (N, T, 4U) float64
    cells = np.empty((N, T, U), dtype=np.int16) if trace is not None else None
    sat_counts = np.zeros(4, dtype=np.int64)
    clip = int(op.quantized_cell_clip)
    fcm, im, om = op.forget_cell_mul, op.input_mul, op.output_mul
    fast = (fcm.multiplier == (1 << 30) and fcm.shift <= 0 and im.multiplier == (1 << 30) and im.shift <= 0
            and om.shift <= 0 and om.multiplier > 0)
    for t in range(T):
        pre = k.recurrent_preactivations(h)
        pre += pre_x_all[:, t, :]
        clamp(pre, -32768.0, 32767.0, out=pre)  # AddElementWise saturation
        if trace is not None:
            sat = (pre == fp.INT16_MAX) | (pre == fp.INT16_MIN)
            sat_counts += sat.reshape(N, 4, U).sum(axis=(0, 2))
        gates = k.activations(pre)  # sigmoid(i), sigmoid(f), tanh(g) (Tanh with scale power -12), sigmoid(o)
        i_g = gates[:, 0:U]
        f_g = gates[:, U : 2 * U]
        g_g = gates[:, 2 * U : 3 * U]
        o_g = gates[:, 3 * U :]
        if fast:
            # UpdateLstmCell: c = sat16(f*c) + sat16(i*g), saturating add, optional clip.
            c = pot_mul(f_g, c, -fcm.shift)
            c += pot_mul(i_g, g_g, -im.shift)
            clamp(c, -32768, 32767, out=c)
            if clip > 0:
                clamp(c, -clip, clip, out=c)
            # UpdateLstmHidden: h = tanh(c) * o, requantized to the hidden tensor (int8, zp_h).
            hq = _out_mul(np.take(k.tanh_cell32, c + 32768, mode="wrap"), o_g, om.multiplier, -om.shift, om.output_offset)
        else:
            c64 = fp.sat16(mul_elementwise(f_g, c, fcm) + mul_elementwise(i_g, g_g, im))
            if clip > 0:
                c64 = clamp(c64, -clip, clip)
            c = c64.astype(np.int32)
            hq = mul_elementwise(np.take(k.tanh_cell32, c + 32768, mode="wrap"), o_g, om)
        out[:, t, :] = hq
        h = hq.astype(np.float64)
        if cells is not None:
            cells[:, t, :] = c
    if trace is not None:
        trace["cell"] = cells
        trace["preact_saturated"] = dict(zip(GATE_ORDER, sat_counts.tolist()))
    return out


def _run_lstm_fast(k: LstmKernel, op: LstmOp, x: np.ndarray, trace: dict | None, block: int = 2) -> np.ndarray:
    """``run_lstm`` on the transposed layout: every array is (units, N), so each gate is one
    contiguous block and the per-unit constants live in the products. Same integers as the
    generic path (the exactness arguments: ``FoldedRequant``, ``pot_mul_1shift``, ``_prepare_fast``)."""
    N, T, F = x.shape
    U = k.U
    G = 4 * U
    xa = np.empty((block, F + 1, N))  # [x_t; 1] for a block of steps, sequences along the columns
    xa[:, F, :] = 1.0
    ha = np.empty((U + 1, N))  # [h; 1]
    ha[:U] = float(op.hidden_zero_point)  # reset: h = zero point
    ha[U] = 1.0
    c = np.zeros((U, N), dtype=np.int32)  # reset: c = 0
    out = np.empty((T, U, N), dtype=np.int8)
    cells = np.empty((T, U, N), dtype=np.int16) if trace is not None else None
    sat_counts = np.zeros(4, dtype=np.int64)
    p = np.empty((G, N))
    gates = np.empty((G, N), dtype=np.int16)
    ig = np.empty((U, N), dtype=np.int32)
    tmp = np.empty((U, N), dtype=np.int32)
    cidx = np.empty((U, N), dtype=np.intp)
    th = np.empty((U, N), dtype=np.int16)
    hq = np.empty((U, N), dtype=np.int64)
    sgn = np.empty((U, N), dtype=np.int64)
    i_g, f_g, g_g, o_g = (gates[j * U : (j + 1) * U] for j in range(4))
    m_out, sh_out = op.output_mul.multiplier, 31 + k.r_out
    for t0 in range(0, T, block):
        nb = min(block, T - t0)
        xa[:nb, :F, :] = x[:, t0 : t0 + nb].transpose(1, 2, 0)
        px = k.fx.image(np.matmul(k.fx.wa, xa[:nb]))  # (steps, G, N): 1.5 2^52 + base + S_x
        for t in range(t0, t0 + nb):
            np.matmul(k.fh.wa, ha, out=p)
            v = k.fh.index(p, px[t - t0])  # base + sat16(FC_x) + sat16(FC_h)
            if trace is not None:
                s = (v - k.table_base).reshape(4, U, N)  # the unsaturated sum
                sat_counts += ((s <= fp.INT16_MIN) | (s >= fp.INT16_MAX)).sum(axis=(1, 2))
            np.take(k.gate_table_pad, v, mode="wrap", out=gates)  # in range: "wrap" never wraps
            # UpdateLstmCell: c = clip(sat16(MBQM(f c) + MBQM(i g)))
            np.multiply(f_g, c, out=c)
            pot_mul_1shift(c, k.r_fc, tmp)
            np.multiply(i_g, g_g, out=ig, dtype=np.int32)
            pot_mul_1shift(ig, k.r_ig, tmp)
            c += ig
            clamp(c, k.c_lo, k.c_hi, out=c)
            # UpdateLstmHidden: h = clamp8(MBQM(tanh(c) o) + zp_h)
            np.add(c, 32768, out=cidx)
            np.take(k.tanh_cell16, cidx, mode="wrap", out=th)
            np.multiply(th, o_g, out=tmp, dtype=np.int32)
            hq[...] = tmp
            hq *= m_out
            np.right_shift(hq, 63, out=sgn)
            sgn <<= 31
            hq += sgn
            hq += k.out_k
            hq >>= sh_out
            clamp(hq, -128, 127, out=hq)
            out[t] = hq
            ha[:U] = hq
            if cells is not None:
                cells[t] = c
    if trace is not None:
        trace["cell"] = np.ascontiguousarray(cells.transpose(2, 0, 1))
        trace["preact_saturated"] = dict(zip(GATE_ORDER, sat_counts.tolist()))
    return np.ascontiguousarray(out.transpose(2, 0, 1))
