"""Synthetic int8 LSTM models with random weights, written straight to ``.tflite`` (no converter).

For tests and benchmarks: any shape in milliseconds, with the quantization parameters under
control (cell-state scale, hidden zero point, extreme weights), in exactly the layout the TFLite
converter produces (``UNIDIRECTIONAL_SEQUENCE_LSTM`` with 24 inputs, variable state tensors,
REVERSE_V2 / STRIDED_SLICE / CONCATENATION for bidirectional layers, FULLY_CONNECTED head,
optional SOFTMAX), so that TFLite Micro runs them as the oracle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..tflite.schema import fb
from ..tflite.writer import GraphWriter


@dataclass
class SynthSpec:
    """Shape and quantization of a synthetic LSTM classifier."""

    window: int = 16
    features: int = 8
    units: int | list[int] = 8
    layers: int = 1
    bidirectional: bool = False
    dense: list[int] = field(default_factory=list)  # hidden dense widths (ReLU)
    classes: int = 4
    softmax: bool = False
    cell_scale_power: int | list[int] = -11  # cell state scale 2^p
    hidden_zero_point: int | None = None  # None: random in [-20, 20]
    weight_scale: float = 0.02  # float value of one weight LSB (per tensor)
    input_scale: float = 0.05
    input_zero_point: int = 3
    extreme_weights: bool = False  # all weights +/-127
    cell_clip: float = 10.0
    seed: int = 0

    def units_of(self, layer: int) -> int:
        return self.units[layer] if isinstance(self.units, list) else self.units

    def csp_of(self, layer: int) -> int:
        return self.cell_scale_power[layer] if isinstance(self.cell_scale_power, list) else self.cell_scale_power


class _Synth:
    def __init__(self, spec: SynthSpec):
        self.s = spec
        self.rng = np.random.default_rng(spec.seed)
        self.b = GraphWriter("edgelstm synthetic")

    def weights(self, shape) -> np.ndarray:
        if self.s.extreme_weights:
            return np.where(self.rng.random(shape) < 0.5, -127, 127).astype(np.int8)
        return self.rng.integers(-127, 128, size=shape).astype(np.int8)

    def lstm(self, x: int, T: int, F: int, x_scale: float, x_zp: int, U: int, csp: int,
             hidden: tuple[float, int] | None = None) -> tuple[int, float, int]:
        s, b = self.s, self.b
        h_zp = int(self.rng.integers(-20, 21)) if s.hidden_zero_point is None else s.hidden_zero_point
        h_scale = float(np.float32(1.0 / 128 * (0.7 + 0.6 * self.rng.random())))
        if hidden is not None:  # both directions of a bidirectional layer share one quantization
            h_scale, h_zp = hidden
        ins = [-1] * 24
        ins[0] = x
        for k, idx in zip("ifgo", (1, 2, 3, 4)):
            ws = s.weight_scale * (0.5 + self.rng.random())
            ins[idx] = b.tensor(b.name(f"wx_{k}"), [U, F], np.int8, scale=ws, zero_point=0, data=self.weights((U, F)))
        for k, idx in zip("ifgo", (5, 6, 7, 8)):
            ws = s.weight_scale * (0.5 + self.rng.random())
            ins[idx] = b.tensor(b.name(f"wh_{k}"), [U, U], np.int8, scale=ws, zero_point=0, data=self.weights((U, U)))
        for k, idx in zip("ifgo", (12, 13, 14, 15)):
            bias = self.rng.integers(-20000, 20001, size=U).astype(np.int32)
            if k == "f":
                bias += 8000  # a forget bias, as Keras' unit_forget_bias
            ins[idx] = b.tensor(b.name(f"b_{k}"), [U], np.int32, scale=x_scale * s.weight_scale, zero_point=0, data=bias)
        ins[18] = b.tensor(b.name("h"), [1, U], np.int8, scale=h_scale, zero_point=h_zp, is_variable=True)
        ins[19] = b.tensor(b.name("c"), [1, U], np.int16, scale=2.0**csp, zero_point=0, is_variable=True)
        out = b.act([T, U], h_scale, h_zp, "lstm_out")
        opts = fb.UnidirectionalSequenceLSTMOptionsT()
        opts.fusedActivationFunction = fb.ActivationFunctionType.TANH
        opts.cellClip = s.cell_clip
        opts.projClip = 0.0
        opts.timeMajor = False
        # The converter's five intermediates (LiteRT's 8x8_16 kernel requires them; TFLM ignores them):
        # four empty float32 placeholders and the effective hidden scale.
        inter = [b.tensor(b.name(n), [0], np.float32) for n in ("i_inter", "f_inter", "c_inter", "o_inter")]
        inter.append(b.tensor(b.name("hidden_inter"), [0], np.int8, scale=h_scale, zero_point=h_zp))
        b.op(ins, [out], builtin=fb.BuiltinOperator.UNIDIRECTIONAL_SEQUENCE_LSTM,
             options_type=fb.BuiltinOptions.UnidirectionalSequenceLSTMOptions, options=opts, version=3,
             intermediates=inter)
        return out, h_scale, h_zp

    def dense(self, x: int, K: int, O: int, x_scale: float, relu: bool) -> tuple[int, float, int]:
        ws = np.float32(self.s.weight_scale * (0.5 + self.rng.random(O))).astype(np.float32)
        bias = self.rng.integers(-3000, 3001, size=O).astype(np.int32)
        o_scale = float(np.float32(0.02 + 0.05 * self.rng.random()))
        o_zp = -128 if relu else int(self.rng.integers(-10, 11))
        out = self.b.dense(x, self.weights((O, K)), ws, bias, x_scale, o_scale, o_zp, relu)
        return out, o_scale, o_zp

    def build(self) -> bytes:
        s, b = self.s, self.b
        T, F = s.window, s.features
        x_in = b.act([T, F], s.input_scale, s.input_zero_point, "input")
        cur, cur_scale, cur_zp, width = x_in, s.input_scale, s.input_zero_point, F
        for layer in range(s.layers):
            U = s.units_of(layer)
            csp = s.csp_of(layer)
            last_layer = layer == s.layers - 1
            fwd, fs, fz = self.lstm(cur, T, width, cur_scale, cur_zp, U, csp)
            if not s.bidirectional:
                cur, cur_scale, cur_zp, width = fwd, fs, fz, U
                if last_layer:
                    cur = b.last_step(fwd, U, fs, fz)
                continue
            rev_in = b.reverse_time(cur, [T, width], cur_scale, cur_zp)
            bwd, bs, bz = self.lstm(rev_in, T, width, cur_scale, cur_zp, U, csp, hidden=(fs, fz))
            if last_layer:
                cur = b.concat([b.last_step(fwd, U, fs, fz), b.last_step(bwd, U, bs, bz)], [2 * U], fs, fz)
            else:
                cur = b.concat([fwd, b.reverse_time(bwd, [T, U], bs, bz)], [T, 2 * U], fs, fz)
            cur_scale, cur_zp, width = fs, fz, 2 * U
        for d in s.dense:
            cur, cur_scale, cur_zp = self.dense(cur, width, d, cur_scale, relu=True)
            width = d
        cur, cur_scale, cur_zp = self.dense(cur, width, s.classes, cur_scale, relu=False)
        if s.softmax:
            cur = b.softmax(cur, s.classes)
        return b.finish([x_in], [cur])


def synth_lstm_tflite(spec: SynthSpec | None = None, **kw) -> bytes:
    """A random-weight int8 LSTM classifier as ``.tflite`` bytes (see :class:`SynthSpec`)."""
    spec = spec or SynthSpec(**kw)
    return _Synth(spec).build()
