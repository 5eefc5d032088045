"""The quantized model: a plain data structure that holds every number the int8 model runs on.

Built once (the equivalent of TFLite Micro's *Prepare*) from a ``.tflite`` file; the simulator
(``edgelstm.sim``) and the C code generator (``edgelstm.codegen``) only *execute* it (the
equivalent of *Eval*): nothing downstream re-derives a scale, a multiplier or a shift.

The model is a list of ops over named tensors, in execution order. Shapes exclude the batch
dimension: a sequence tensor is ``(T, F)``, a vector ``(F,)``. Op kinds:

- ``lstm``           one TFLM ``UNIDIRECTIONAL_SEQUENCE_LSTM`` (int8 x 8 -> int16 cell), full sequence out
- ``gru``            edgelstm's integer GRU (a custom op; see ``edgelstm/sim/gru.py`` for its spec)
- ``fully_connected`` int8 FC, per-tensor or per-channel multipliers, fused activation as a clamp
- ``softmax``        TFLM int8 softmax (output scale 1/256, zero point -128)
- ``reverse_time``   REVERSE_V2 over the time axis
- ``slice_time``     STRIDED_SLICE that picks one time step (the converter's "last output")
- ``concat``         CONCATENATION along the last axis (same scale and zero point)
- ``requantize``     int8 -> int8 rescale (QUANTIZE between two int8 tensors)
- ``reshape``        RESHAPE / identity copy
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class TensorInfo:
    """An activation tensor: shape without batch, element type and affine quantization."""

    name: str
    shape: tuple[int, ...]
    dtype: str  # "int8" or "int16"
    scale: float
    zero_point: int

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        return (np.asarray(q, dtype=np.float64) - self.zero_point) * self.scale


@dataclass
class FCParams:
    """One integer fully-connected product: acc = W (x + input_offset) + bias, then requantize.

    out = clamp(MultiplyByQuantizedMultiplier(acc, multiplier[r], shift[r]) + output_offset, lo, hi)
    (TFLM ``reference_integer_ops::FullyConnected`` / ``FullyConnectedPerChannel``).
    ``multiplier``/``shift`` have one entry per output row (a per-tensor FC repeats its pair).
    """

    weights: np.ndarray  # int8 (out, in)
    bias: np.ndarray | None  # int32 (out,) or None
    multiplier: np.ndarray  # int32 (out,)
    shift: np.ndarray  # int32 (out,)
    input_offset: int  # -input zero point
    output_offset: int  # output zero point
    act_min: int
    act_max: int
    per_channel: bool = False

    @property
    def out_features(self) -> int:
        return int(self.weights.shape[0])

    @property
    def in_features(self) -> int:
        return int(self.weights.shape[1])


@dataclass
class MulParams:
    """Element-wise product requantized: clamp(MBQM(a*b, multiplier, shift) + offset, lo, hi)
    (TFLM ``reference_integer_ops::MulElementwise`` with symmetric inputs)."""

    multiplier: int
    shift: int
    output_offset: int
    act_min: int
    act_max: int


@dataclass
class LstmGate:
    """Pre-activation of one gate: sat16(sat16(input_fc(x)) + sat16(recurrent_fc(h))) in Q3.12."""

    input_fc: FCParams  # W_g (units, input) with the gate bias
    recurrent_fc: FCParams  # U_g (units, units), no bias


@dataclass
class LstmOp:
    """TFLM int8x8_16 ``UNIDIRECTIONAL_SEQUENCE_LSTM`` (lstm_eval.h ``LstmStep``), fully prepared."""

    kind = "lstm"
    name: str
    input: str
    output: str
    units: int
    input_size: int
    gates: dict[str, LstmGate]  # keys "i", "f", "g" (cell), "o"
    cell_gate_activation: str  # "tanh" (the Keras default) or "sigmoid"
    cell_scale_power: int  # cell state scale = 2^cell_scale_power
    cell_scale: float
    quantized_cell_clip: int  # 0: no clipping
    forget_cell_mul: MulParams  # f * c -> c
    input_mul: MulParams  # i * g -> c
    output_mul: MulParams  # tanh(c) * o -> h (int8, hidden zero point)
    hidden_zero_point: int
    hidden_scale: float
    tanh_cell_multiplier: int  # reference_integer_ops::Tanh parameters for tanh(c)
    tanh_cell_left_shift: int
    time_steps: int
    source: dict[str, Any] = field(default_factory=dict)  # tensor names etc., for messages


@dataclass
class GruGate:
    """One GRU gate's two products (Q3.12 int16 outputs, per-row multipliers)."""

    input_fc: FCParams  # W_g (units, input), input bias
    recurrent_fc: FCParams  # U_g (units, units), recurrent bias (reset_after) or None


@dataclass
class GruOp:
    """edgelstm's integer GRU, fully prepared (spec: ``edgelstm/sim/gru.py`` docstring).

    The state is int16 Q0.15; the layer's output (and the recurrent product's input) is the
    state requantized to int8 with scale 2^-hidden_frac_bits, zero point 0.
    """

    kind = "gru"
    name: str
    input: str
    output: str
    units: int
    input_size: int
    reset_after: bool
    gates: dict[str, GruGate]  # keys "z", "r", "h"
    reset_mul: MulParams  # r * (U_h h + b_h) -> Q3.12 (reset_after=True)
    hidden_frac_bits: int  # k: int8 hidden = state / 2^(15 - k)
    time_steps: int
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def hidden_shift(self) -> int:
        return 15 - self.hidden_frac_bits


@dataclass
class FullyConnectedOp:
    kind = "fully_connected"
    name: str
    input: str
    output: str
    fc: FCParams
    activation: str = "none"


@dataclass
class SoftmaxOp:
    """TFLM int8 softmax (reference_ops::Softmax, gemmlowp fixed point)."""

    kind = "softmax"
    name: str
    input: str
    output: str
    input_multiplier: int
    input_left_shift: int
    diff_min: int
    output_zero_point: int = -128


@dataclass
class ReverseTimeOp:
    kind = "reverse_time"
    name: str
    input: str
    output: str


@dataclass
class SliceTimeOp:
    """Pick time step ``index`` (negative counts from the end) of a (T, F) tensor -> (F,)."""

    kind = "slice_time"
    name: str
    input: str
    output: str
    index: int
    keep_time_axis: bool = False


@dataclass
class ConcatOp:
    kind = "concat"
    name: str
    inputs: list[str]
    output: str

    @property
    def input(self) -> str:  # for uniform iteration
        return self.inputs[0]


@dataclass
class RequantizeOp:
    """int8 -> int8: clamp(MBQM(x - in_zp, multiplier, shift) + out_zp) (TFLM ``Requantize``)."""

    kind = "requantize"
    name: str
    input: str
    output: str
    input_zero_point: int
    output_zero_point: int
    multiplier: int
    shift: int


@dataclass
class ReshapeOp:
    kind = "reshape"
    name: str
    input: str
    output: str


Op = LstmOp | GruOp | FullyConnectedOp | SoftmaxOp | ReverseTimeOp | SliceTimeOp | ConcatOp | RequantizeOp | ReshapeOp


@dataclass
class ModelInfo:
    """What the model is about: carried in the .tflite metadata when edgelstm wrote it."""

    class_names: list[str] | None = None
    feature_names: list[str] | None = None
    norm_mean: np.ndarray | None = None  # float32 (F,), raw feature -> normalised
    norm_std: np.ndarray | None = None  # float32 (F,)
    float_accuracy: float | None = None
    int8_accuracy: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class QuantModel:
    """The whole int8 model: tensors, ops in execution order, model input and output."""

    tensors: dict[str, TensorInfo]
    ops: list[Op]
    input: str
    output: str
    info: ModelInfo = field(default_factory=ModelInfo)
    source_sha256: str = ""
    source_path: str = ""

    @property
    def input_tensor(self) -> TensorInfo:
        return self.tensors[self.input]

    @property
    def output_tensor(self) -> TensorInfo:
        return self.tensors[self.output]

    @property
    def window(self) -> int:
        return int(self.input_tensor.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.input_tensor.shape[-1])

    @property
    def n_outputs(self) -> int:
        return int(self.output_tensor.shape[-1])

    def recurrent_ops(self) -> list[LstmOp | GruOp]:
        return [op for op in self.ops if op.kind in ("lstm", "gru")]

    def describe(self) -> str:
        """e.g. "BiLSTM(8) -> BiLSTM(8) -> Dense(12, relu) -> Dense(5) -> Softmax"."""
        producer = {op.output: op for op in self.ops}

        def base(op) -> tuple[str, bool]:
            src = producer.get(op.input)
            if src is not None and src.kind == "reverse_time":
                return src.input, True
            return op.input, False

        rec = self.recurrent_ops()
        bases = {op.name: base(op) for op in rec}
        parts, done = [], set()
        for op in self.ops:
            if op.name in done:
                continue
            if op.kind in ("lstm", "gru"):
                b, backward = bases[op.name]
                twin = next((o for o in rec if o is not op and o.name not in done and bases[o.name][0] == b
                             and bases[o.name][1] != backward and o.units == op.units), None)
                cell = "LSTM" if op.kind == "lstm" else "GRU"
                extra = "" if op.kind == "lstm" or op.reset_after else ", reset_before"
                if twin is not None:
                    done.add(twin.name)
                    parts.append(f"Bi{cell}({op.units}{extra})")
                else:
                    parts.append(f"{cell}({op.units}{extra}{', backward' if backward else ''})")
            elif op.kind == "fully_connected":
                parts.append(f"Dense({op.fc.out_features}{', ' + op.activation if op.activation != 'none' else ''})")
            elif op.kind == "softmax":
                parts.append("Softmax")
        return " -> ".join(parts)

    def macs_per_frame(self) -> int:
        """Multiply-accumulates of the recurrent layers per frame (gates: input + recurrent)."""
        total = 0
        for op in self.recurrent_ops():
            n_gates = 4 if op.kind == "lstm" else 3
            total += n_gates * op.units * (op.input_size + op.units)
        return total

    def macs_head(self) -> int:
        return sum(op.fc.out_features * op.fc.in_features for op in self.ops if op.kind == "fully_connected")
