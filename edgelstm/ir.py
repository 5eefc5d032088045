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

Every op class answers the same questions (``inputs``, ``recurrent``, ``macs``,
``layer_label``), so the model-level queries below need no branch on the op kind; the executors
keep one table each from ``kind`` to their handler (``edgelstm.sim.ops.SIM_OPS``,
``edgelstm.codegen.c_ops.C_OPS``, ``edgelstm.codegen.graph.PLAN_RULES``).

Numbers derived from an op's own numbers that more than one executor reads (the zero points
folded into the biases, the gates stacked row-wise with their per-row requantisation) are
computed here once, when the op is constructed (``__post_init__``: TFLM's *Prepare*). A model
edited in place afterwards (tests do) is prepared again by ``QuantModel.prepare()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .fixedpoint import wrap_int32


def fold_zero_point(weights: np.ndarray, bias: np.ndarray | None, input_offset: int) -> np.ndarray:
    """The bias with the input zero point folded in, wrapped to int32 (values in an int64 array).

    W (x + input_offset) + b = W x + (b + input_offset rowsum(W)): an exact integer identity; the
    int32 accumulator of every executor wraps modulo 2^32, so the wrapped sum gives the same
    accumulator (TFLM ``FullyConnected`` adds the offset to each input instead).
    """
    w = np.asarray(weights, dtype=np.int64)
    b = np.zeros(w.shape[0], np.int64) if bias is None else np.asarray(bias, dtype=np.int64)
    return wrap_int32(b + int(input_offset) * w.sum(1))


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
    # prepared: bias + input_offset * rowsum(W), wrapped to int32 (fold_zero_point)
    folded_bias: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.prepare()

    def prepare(self) -> None:
        self.folded_bias = fold_zero_point(self.weights, self.bias, self.input_offset)

    @property
    def out_features(self) -> int:
        return int(self.weights.shape[0])

    @property
    def in_features(self) -> int:
        return int(self.weights.shape[1])


@dataclass
class StackedFC:
    """The same-input products of a recurrent layer's gates, stacked row-wise in gate order.

    One (rows, in) weight matrix, its folded biases and one multiplier and shift per row (a
    per-tensor gate repeats its pair): what the fused products of the simulator and the
    generated C read.
    """

    weights: np.ndarray  # int64 (G * units, in)
    folded_bias: np.ndarray  # int32 values (int64 array), (G * units,)
    multiplier: np.ndarray  # int64 (G * units,)
    shift: np.ndarray  # int64 (G * units,)

    @classmethod
    def of(cls, fcs: list[FCParams]) -> StackedFC:
        def per_row(fc: FCParams, attr: str) -> np.ndarray:
            return np.broadcast_to(np.asarray(getattr(fc, attr), dtype=np.int64).reshape(-1), (fc.out_features,))

        return cls(weights=np.concatenate([fc.weights for fc in fcs]).astype(np.int64),
                   folded_bias=np.concatenate([fc.folded_bias for fc in fcs]),
                   multiplier=np.concatenate([per_row(fc, "multiplier") for fc in fcs]),
                   shift=np.concatenate([per_row(fc, "shift") for fc in fcs]))


@dataclass
class MulParams:
    """Element-wise product requantized: clamp(MBQM(a*b, multiplier, shift) + offset, lo, hi)
    (TFLM ``reference_integer_ops::MulElementwise`` with symmetric inputs)."""

    multiplier: int
    shift: int
    output_offset: int
    act_min: int
    act_max: int


class OpBase:
    """What every op answers (class-level defaults; the op classes below override them)."""

    recurrent = False  # a recurrent layer (state carried from frame to frame)

    def prepare(self) -> None:
        """Recompute the prepared numbers from the op's own (after an edit in place)."""

    @property
    def macs(self) -> int:
        """Multiply-accumulates of one application (a recurrent layer: one frame)."""
        return 0

    def layer_label(self) -> str | None:
        """The op as a layer of ``QuantModel.describe()`` (None: glue, not shown)."""
        return None


class SingleInputOp(OpBase):
    @property
    def inputs(self) -> list[str]:
        """The tensors the op reads (ConcatOp: several)."""
        return [self.input]


class RecurrentOp(SingleInputOp):
    """An LSTM or GRU layer: gates of an input and a recurrent product."""

    recurrent = True
    GATES: tuple[str, ...] = ()  # gate order of the stacks (and of Keras' weight columns)
    cell = ""  # "LSTM" / "GRU" in describe()

    def prepare(self) -> None:
        """Stack the gates' products (``input_stack``, ``recurrent_stack``) from ``gates``."""
        gs = [self.gates[g] for g in self.GATES]
        for g in gs:
            g.input_fc.prepare()
            g.recurrent_fc.prepare()
        self.input_stack = StackedFC.of([g.input_fc for g in gs])
        self.recurrent_stack = StackedFC.of([g.recurrent_fc for g in gs])

    @property
    def macs(self) -> int:
        return len(self.GATES) * self.units * (self.input_size + self.units)

    def label_options(self) -> str:
        return ""

    def layer_label(self, bidirectional: bool = False, backward: bool = False) -> str:
        opts = self.label_options() + (", backward" if backward and not bidirectional else "")
        return f"{'Bi' if bidirectional else ''}{self.cell}({self.units}{opts})"


@dataclass
class LstmGate:
    """Pre-activation of one gate: sat16(sat16(input_fc(x)) + sat16(recurrent_fc(h))) in Q3.12."""

    input_fc: FCParams  # W_g (units, input) with the gate bias
    recurrent_fc: FCParams  # U_g (units, units), no bias


@dataclass
class LstmOp(RecurrentOp):
    """TFLM int8x8_16 ``UNIDIRECTIONAL_SEQUENCE_LSTM`` (lstm_eval.h ``LstmStep``), fully prepared."""

    kind = "lstm"
    GATES = ("i", "f", "g", "o")
    cell = "LSTM"
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
    # prepared (RecurrentOp.prepare): the gates i, f, g, o stacked
    input_stack: StackedFC = field(init=False, repr=False, compare=False)
    recurrent_stack: StackedFC = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.prepare()


@dataclass
class GruGate:
    """One GRU gate's two products (Q3.12 int16 outputs, per-row multipliers)."""

    input_fc: FCParams  # W_g (units, input), input bias
    recurrent_fc: FCParams  # U_g (units, units), recurrent bias (reset_after) or None


@dataclass
class GruOp(RecurrentOp):
    """edgelstm's integer GRU, fully prepared (spec: ``edgelstm/sim/gru.py`` docstring).

    The state is int16 Q0.15; the layer's output (and the recurrent product's input) is the
    state requantized to int8 with scale 2^-hidden_frac_bits, zero point 0.
    """

    kind = "gru"
    GATES = ("z", "r", "h")
    cell = "GRU"
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
    # prepared (RecurrentOp.prepare): the gates z, r, h stacked (the recurrent stack's biases
    # are the recurrent biases, 0 where a gate has none)
    input_stack: StackedFC = field(init=False, repr=False, compare=False)
    recurrent_stack: StackedFC = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.prepare()

    @property
    def hidden_shift(self) -> int:
        return 15 - self.hidden_frac_bits

    def label_options(self) -> str:
        return "" if self.reset_after else ", reset_before"


@dataclass
class FullyConnectedOp(SingleInputOp):
    kind = "fully_connected"
    name: str
    input: str
    output: str
    fc: FCParams
    activation: str = "none"

    def prepare(self) -> None:
        self.fc.prepare()

    @property
    def macs(self) -> int:
        return self.fc.out_features * self.fc.in_features

    def layer_label(self) -> str:
        return f"Dense({self.fc.out_features}{', ' + self.activation if self.activation != 'none' else ''})"


@dataclass
class SoftmaxOp(SingleInputOp):
    """TFLM int8 softmax (reference_ops::Softmax, gemmlowp fixed point)."""

    kind = "softmax"
    name: str
    input: str
    output: str
    input_multiplier: int
    input_left_shift: int
    diff_min: int
    output_zero_point: int = -128

    def layer_label(self) -> str:
        return "Softmax"


@dataclass
class ReverseTimeOp(SingleInputOp):
    kind = "reverse_time"
    name: str
    input: str
    output: str


@dataclass
class SliceTimeOp(SingleInputOp):
    """Pick time step ``index`` (negative counts from the end) of a (T, F) tensor -> (F,)."""

    kind = "slice_time"
    name: str
    input: str
    output: str
    index: int
    keep_time_axis: bool = False


@dataclass
class ConcatOp(OpBase):
    kind = "concat"
    name: str
    inputs: list[str]
    output: str

    @property
    def input(self) -> str:  # the first input (code that reads op.input of every op)
        return self.inputs[0]


@dataclass
class RequantizeOp(SingleInputOp):
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
class ReshapeOp(SingleInputOp):
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

    def prepare(self) -> None:
        """Recompute every op's prepared numbers (folded biases, gate stacks) after an edit in place."""
        for op in self.ops:
            op.prepare()

    def recurrent_ops(self) -> list[LstmOp | GruOp]:
        return [op for op in self.ops if op.recurrent]

    def describe(self) -> str:
        """e.g. "BiLSTM(8) -> BiLSTM(8) -> Dense(12, relu) -> Dense(5) -> Softmax"."""
        producer = {op.output: op for op in self.ops}

        def base(op) -> tuple[str, bool]:
            src = producer.get(op.input)
            if isinstance(src, ReverseTimeOp):
                return src.input, True
            return op.input, False

        rec = self.recurrent_ops()
        bases = {op.name: base(op) for op in rec}
        parts, done = [], set()
        for op in self.ops:
            if op.name in done:
                continue
            if op.recurrent:
                b, backward = bases[op.name]
                twin = next((o for o in rec if o is not op and o.name not in done and bases[o.name][0] == b
                             and bases[o.name][1] != backward and o.units == op.units), None)
                if twin is not None:
                    done.add(twin.name)
                parts.append(op.layer_label(bidirectional=twin is not None, backward=backward))
            elif (label := op.layer_label()) is not None:
                parts.append(label)
        return " -> ".join(parts)

    def macs_per_frame(self) -> int:
        """Multiply-accumulates of the recurrent layers per frame (gates: input + recurrent)."""
        return sum(op.macs for op in self.recurrent_ops())

    def macs_head(self) -> int:
        return sum(op.macs for op in self.ops if not op.recurrent)
