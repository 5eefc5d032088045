"""Synthetic int8 GRU classifiers with random weights, written straight to ``.tflite``.

The GRU counterpart of :mod:`edgelstm.testing.synth`: any shape in milliseconds, with the quantization
under control (per-row weight scales, biases, input scale and zero point, the hidden scale
2^-k, reset_after, extreme weights), laid out exactly as ``edgelstm quantize`` lays out a
Keras GRU model (``edgelstm/quantize/gru_quant.py``): each GRU layer is the ``EDGELSTM_GRU``
custom op (``edgelstm/quantize/gru_op.py``), a bidirectional layer is REVERSE_V2 -> GRU
(-> REVERSE_V2) joined by CONCATENATION, the last step is a STRIDED_SLICE, then a
FULLY_CONNECTED head and an optional SOFTMAX. ``load_ir_from_bytes`` reads the result.

    from edgelstm.testing import GruSynthSpec, synth_gru_tflite
    raw = synth_gru_tflite(GruSynthSpec(units=32, features=16, window=64, reset_after=False))
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..tflite.gru_op import add_gru_op
from ..tflite.writer import GraphWriter


@dataclass
class GruSynthSpec:
    """Shape and quantization of a synthetic GRU classifier."""

    window: int = 16
    features: int = 8
    units: int | list[int] = 8
    layers: int = 1
    bidirectional: bool = False
    reset_after: bool = True
    dense: list[int] = field(default_factory=list)  # hidden dense widths (ReLU)
    classes: int = 4
    softmax: bool = False
    hidden_frac_bits: int | list[int] = 7  # k: GRU output scale 2^-k (k in [0, 15])
    weight_scale: float = 0.02  # typical float value of one weight LSB (each row: x [0.5, 1.5))
    input_scale: float = 0.05
    input_zero_point: int = 3
    bias_range: float = 1.0  # biases uniform in +-bias_range (float), quantized per row
    extreme_weights: bool = False  # all weights +/-127
    seed: int = 0

    def units_of(self, layer: int) -> int:
        return self.units[layer] if isinstance(self.units, list) else self.units

    def k_of(self, layer: int) -> int:
        return self.hidden_frac_bits[layer] if isinstance(self.hidden_frac_bits, list) else self.hidden_frac_bits


class _SynthGru:
    def __init__(self, spec: GruSynthSpec):
        self.s = spec
        self.rng = np.random.default_rng(spec.seed)
        self.w = GraphWriter("edgelstm synthetic GRU")

    def weights(self, shape) -> np.ndarray:
        if self.s.extreme_weights:
            return np.where(self.rng.random(shape) < 0.5, -127, 127).astype(np.int8)
        return self.rng.integers(-127, 128, size=shape).astype(np.int8)

    def row_scales(self, n: int) -> np.ndarray:
        return (self.s.weight_scale * (0.5 + self.rng.random(n))).astype(np.float32)

    def bias(self, scales: np.ndarray) -> np.ndarray:
        f = self.rng.uniform(-self.s.bias_range, self.s.bias_range, size=len(scales))
        q = np.round(f / scales.astype(np.float64))
        return np.clip(q, -(2**31), 2**31 - 1).astype(np.int32)

    def gru(self, x: int, T: int, F: int, x_scale: float, U: int, k: int) -> int:
        """One GRU direction: the 12 weight/bias tensors in the custom op's order, then the op."""
        w, s = self.w, self.s
        zeros = np.zeros(U, np.int64)
        wx_t, wh_t, bx_t, bh_t = [], [], [], []
        for g in "zrh":
            sx = self.row_scales(U)
            sh = self.row_scales(U)
            wx_t.append(w.tensor(w.name(f"gru_wx_{g}"), [U, F], np.int8, scale=sx, zero_point=zeros,
                                 data=self.weights((U, F))))
            wh_t.append(w.tensor(w.name(f"gru_wh_{g}"), [U, U], np.int8, scale=sh, zero_point=zeros,
                                 data=self.weights((U, U))))
            bscale = np.float32(x_scale) * sx
            bx_t.append(w.tensor(w.name(f"gru_bx_{g}"), [U], np.int32, scale=bscale, zero_point=zeros,
                                 data=self.bias(bscale)))
            if s.reset_after:
                hscale = np.float32(2.0**-k) * sh
                bh_t.append(w.tensor(w.name(f"gru_bh_{g}"), [U], np.int32, scale=hscale, zero_point=zeros,
                                     data=self.bias(hscale)))
            else:
                bh_t.append(-1)
        return add_gru_op(w, x, T, U, wx_t + wh_t + bx_t + bh_t, 2.0**-k, s.reset_after)

    def dense(self, x: int, K: int, O: int, x_scale: float, relu: bool) -> tuple[int, float]:
        ws = self.row_scales(O)
        bias = self.rng.integers(-3000, 3001, size=O).astype(np.int32)
        o_scale = float(np.float32(0.02 + 0.05 * self.rng.random()))
        o_zp = -128 if relu else int(self.rng.integers(-10, 11))
        return self.w.dense(x, self.weights((O, K)), ws, bias, x_scale, o_scale, o_zp, relu), o_scale

    def build(self) -> bytes:
        s, w = self.s, self.w
        T, F = s.window, s.features
        x_in = w.act([T, F], s.input_scale, s.input_zero_point, "input")
        cur, cur_scale, cur_zp, width = x_in, s.input_scale, s.input_zero_point, F
        for layer in range(s.layers):
            U, k = s.units_of(layer), s.k_of(layer)
            h_scale = 2.0**-k
            last = layer == s.layers - 1
            fwd = self.gru(cur, T, width, cur_scale, U, k)
            if not s.bidirectional:
                cur = w.last_step(fwd, U, h_scale, 0) if last else fwd
                cur_scale, cur_zp, width = h_scale, 0, U
                continue
            rev = w.reverse_time(cur, [T, width], cur_scale, cur_zp)
            bwd = self.gru(rev, T, width, cur_scale, U, k)  # both directions share k
            if last:
                cur = w.concat([w.last_step(fwd, U, h_scale, 0), w.last_step(bwd, U, h_scale, 0)], [2 * U], h_scale, 0)
            else:
                cur = w.concat([fwd, w.reverse_time(bwd, [T, U], h_scale, 0)], [T, 2 * U], h_scale, 0)
            cur_scale, cur_zp, width = h_scale, 0, 2 * U
        del cur_zp
        for d in s.dense:
            cur, cur_scale = self.dense(cur, width, d, cur_scale, relu=True)
            width = d
        cur, cur_scale = self.dense(cur, width, s.classes, cur_scale, relu=False)
        if s.softmax:
            cur = w.softmax(cur, s.classes)
        return w.finish([x_in], [cur])


def synth_gru_tflite(spec: GruSynthSpec | None = None, **kw) -> bytes:
    """A random-weight int8 GRU classifier as ``.tflite`` bytes (see :class:`GruSynthSpec`)."""
    spec = spec or GruSynthSpec(**kw)
    return _SynthGru(spec).build()
