"""What the C library has to execute: support checks, the streaming decision, the memory plan.

All decisions are taken from the IR op list (``edgelstm.ir``), never from the file format:

- :func:`check_supported` rejects, with one line, anything the runtime cannot execute
  bit-exactly (an op kind without a C kernel, a shift out of the primitives' range, a layer
  so wide that the int32 dot product could overflow).
- :func:`stream_plan` decides whether the model can run frame by frame: every op before the
  one ``slice_time`` is a causal per-frame op (an LSTM or GRU, or an element-wise / per-frame op) on a
  single chain starting at the model input, the slice picks the last time step of that chain,
  and every op after it only reads the slice's output or later tensors. Then
  ``NAME_step`` advances the chain and ``NAME_logits`` runs the rest on the current state.
  Anything else (bidirectional layers: REVERSE_V2, CONCATENATION of sequences) runs on the
  whole window only.
- :func:`arena_plan` gives every intermediate int8 tensor of the whole-window execution an
  offset in one byte arena (first-fit over lifetimes), the C library's only activation memory.

What planning knows about each op kind is one :class:`PlanRule` entry of :data:`PLAN_RULES`
(its support check, whether it runs frame by frame, where it may stand in a streaming graph).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..errors import UnsupportedError
from ..ir import QuantModel

# The recurrent kernels multiply w + 128 (<= 255) by x (edgelstm_dot_s8.h): |(w + 128) x| < 2^15
# per product, so an int32 sum of n terms cannot overflow below this (nor the plain int8 dot
# product of the dense layers, |w x| <= 2^14).
MAX_DOT_LENGTH = 32768


def numel(qm: QuantModel, key: str) -> int:
    return int(np.prod(qm.tensors[key].shape, dtype=np.int64))


def _check_shift(value: int, lo: int, hi: int, what: str, where: str) -> None:
    if not lo <= int(value) <= hi:
        raise UnsupportedError(f"{where}: {what} {int(value)} is outside [{lo}, {hi}], which the C runtime does not handle")


def _check_multiplier(value: int, what: str, where: str) -> None:
    # The kernels' requantisation (edgelstm_fixedpoint.h edgelstm_rqu16 / edgelstm_mbqm) needs a
    # normalised Q31 multiplier: what QuantizeMultiplier gives, 0 for a zero scale, [2^30, 2^31)
    # for every other.
    v = int(value)
    if not (v == 0 or 2**30 <= v < 2**31):
        raise UnsupportedError(f"{where}: {what} {v} is neither 0 nor in [2^30, 2^31) (a normalised Q31 multiplier), "
                               "which the C runtime does not handle")


def _check_lstm_mul(mp, what: str, where: str, offsets: tuple[int, int], act: tuple[int, int]) -> None:
    """The LSTM's element-wise products as TFLM builds them (CreateInterGateMulParams)."""
    _check_shift(mp.shift, -31, 31, f"{what} multiplier shift", where)
    _check_multiplier(mp.multiplier, f"{what} multiplier", where)
    if not offsets[0] <= int(mp.output_offset) <= offsets[1]:
        raise UnsupportedError(f"{where}: {what} product output offset {int(mp.output_offset)} "
                               f"(C runtime: {offsets[0]}..{offsets[1]})")
    if (int(mp.act_min), int(mp.act_max)) != act:
        raise UnsupportedError(f"{where}: {what} product range [{int(mp.act_min)}, {int(mp.act_max)}] "
                               f"(C runtime: [{act[0]}, {act[1]}])")


def check_supported(qm: QuantModel) -> None:
    """Raise UnsupportedError if the C runtime cannot run ``qm`` exactly as the simulator does."""
    for key in [qm.input] + [op.output for op in qm.ops]:
        t = qm.tensors[key]
        if t.dtype != "int8":
            raise UnsupportedError(f"tensor '{t.name}' is {t.dtype}; the C export handles int8 activations")
    for op in qm.ops:
        rule = PLAN_RULES.get(op.kind)
        if rule is None:
            raise UnsupportedError(f"export-c has no C kernel for op kind '{op.kind}' ({op.name})")
        rule.check(qm, op, f"op {op.name}")


def _check_lstm(qm: QuantModel, op, where: str) -> None:
    """The LSTM kernel's preconditions (edgelstm_lstm_step_s8_s16.c)."""
    if op.cell_gate_activation != "tanh":
        raise UnsupportedError(f"{where}: cell gate activation {op.cell_gate_activation} (C runtime: tanh)")
    if max(op.input_size, op.units) >= MAX_DOT_LENGTH:
        raise UnsupportedError(f"{where}: layer too wide for an int32 dot product")
    if op.time_steps != qm.tensors[op.input].shape[0]:
        raise UnsupportedError(f"{where}: time steps {op.time_steps} differ from its input sequence")
    for g, gate in op.gates.items():
        for fc, what in ((gate.input_fc, "input"), (gate.recurrent_fc, "recurrent")):
            if len(set(np.asarray(fc.multiplier).tolist())) != 1 or len(set(np.asarray(fc.shift).tolist())) != 1:
                raise UnsupportedError(f"{where}: per-channel {what} multipliers of gate {g} (C runtime: per gate)")
            _check_shift(np.asarray(fc.shift)[0], -31, 31, f"gate {g} {what} shift", where)
            _check_multiplier(np.asarray(fc.multiplier)[0], f"gate {g} {what} multiplier", where)
        if gate.recurrent_fc.bias is not None and np.any(np.asarray(gate.recurrent_fc.bias) != 0):
            raise UnsupportedError(f"{where}: recurrent bias on gate {g} is not part of the TFLM LSTM")
    offs_x = {g.input_fc.input_offset for g in op.gates.values()}
    offs_h = {g.recurrent_fc.input_offset for g in op.gates.values()}
    if len(offs_x) != 1 or len(offs_h) != 1:
        raise UnsupportedError(f"{where}: gates disagree on the input or hidden zero point")
    _check_lstm_mul(op.forget_cell_mul, "forget", where, (0, 0), (-32768, 32767))
    _check_lstm_mul(op.input_mul, "input", where, (0, 0), (-32768, 32767))
    _check_lstm_mul(op.output_mul, "output", where, (-128, 127), (-128, 127))
    if op.tanh_cell_multiplier == 0:
        _check_shift(op.tanh_cell_left_shift, 0, 29, "cell tanh left shift", where)
    else:
        _check_shift(op.tanh_cell_left_shift, 0, 31, "cell tanh right shift", where)


def _check_gru(qm: QuantModel, op, where: str) -> None:
    """The GRU kernel's preconditions (edgelstm_gru_step_s8_s16.c)."""
    if max(op.input_size, op.units) >= MAX_DOT_LENGTH:
        raise UnsupportedError(f"{where}: layer too wide for an int32 dot product")
    if op.time_steps != qm.tensors[op.input].shape[0]:
        raise UnsupportedError(f"{where}: time steps {op.time_steps} differ from its input sequence")
    if not 0 <= int(op.hidden_frac_bits) <= 15:
        raise UnsupportedError(f"{where}: hidden scale 2^-{op.hidden_frac_bits} (C runtime: k in [0, 15])")
    if set(op.gates) != {"z", "r", "h"}:
        raise UnsupportedError(f"{where}: GRU gates {sorted(op.gates)} (expected z, r, h)")
    U, F = op.units, op.input_size
    for g, gate in op.gates.items():
        for fc, what, cols in ((gate.input_fc, "input", F), (gate.recurrent_fc, "recurrent", U)):
            if np.shape(fc.weights) != (U, cols):
                raise UnsupportedError(f"{where}: gate {g} {what} weights have shape {np.shape(fc.weights)}")
            if np.size(fc.multiplier) not in (1, U) or np.size(fc.shift) not in (1, U):
                raise UnsupportedError(f"{where}: gate {g} {what} multipliers are neither per row nor per tensor")
            for s in np.asarray(fc.shift).reshape(-1).tolist():
                _check_shift(s, -31, 31, f"gate {g} {what} shift", where)
            for m in np.asarray(fc.multiplier).reshape(-1).tolist():  # the per-row SMMLAR requantisation
                _check_multiplier(m, f"gate {g} {what} multiplier", where)
        if gate.recurrent_fc.input_offset != 0:
            raise UnsupportedError(f"{where}: GRU hidden zero point must be 0")
    if len({g.input_fc.input_offset for g in op.gates.values()}) != 1:
        raise UnsupportedError(f"{where}: gates disagree on the input zero point")
    if op.reset_after:
        _check_lstm_mul(op.reset_mul, "reset", where, (0, 0), (-32768, 32767))  # sat16(MBQM(r * ah_h))


def _check_fully_connected(qm: QuantModel, op, where: str) -> None:
    fc = op.fc
    if fc.in_features >= MAX_DOT_LENGTH:
        raise UnsupportedError(f"{where}: layer too wide for an int32 dot product")
    for s in np.asarray(fc.shift).tolist():
        _check_shift(s, -31, 31, "output shift", where)
    if numel(qm, op.input) % fc.in_features != 0:
        raise UnsupportedError(f"{where}: input of {numel(qm, op.input)} values is not a whole number of rows")


def _check_softmax(qm: QuantModel, op, where: str) -> None:
    _check_shift(op.input_left_shift, 0, 31, "input left shift", where)
    if op.output_zero_point != -128:
        raise UnsupportedError(f"{where}: softmax output zero point {op.output_zero_point} (C runtime: -128)")


def _check_requantize(qm: QuantModel, op, where: str) -> None:
    _check_shift(op.shift, -31, 31, "shift", where)


def _check_reverse_time(qm: QuantModel, op, where: str) -> None:
    if len(qm.tensors[op.input].shape) != 2:
        raise UnsupportedError(f"{where}: reverse of a tensor that is not a (T, F) sequence")


def _check_slice_time(qm: QuantModel, op, where: str) -> None:
    if len(qm.tensors[op.input].shape) != 2:
        raise UnsupportedError(f"{where}: time slice of a tensor that is not a (T, F) sequence")


def _check_concat(qm: QuantModel, op, where: str) -> None:
    depth = qm.tensors[op.output].shape[-1]
    if sum(qm.tensors[k].shape[-1] for k in op.inputs) != depth:
        raise UnsupportedError(f"{where}: concatenation depths do not add up")


def _check_nothing(qm: QuantModel, op, where: str) -> None:
    pass


# Per-frame classification: given an op with a (T, F) input and a (T, F') output (checked by
# _is_frame_op), does it map each frame to one output frame on its own?


def _always(qm: QuantModel, op, shape_in, shape_out) -> bool:
    return True


def _never(qm: QuantModel, op, shape_in, shape_out) -> bool:
    return False


def _reshape_per_frame(qm: QuantModel, op, shape_in, shape_out) -> bool:
    return shape_out == shape_in


def _fc_per_frame(qm: QuantModel, op, shape_in, shape_out) -> bool:
    return shape_in[-1] == op.fc.in_features


@dataclass(frozen=True)
class PlanRule:
    """What the C export's planning knows about one op kind."""

    check: Callable[[QuantModel, Any, str], None]  # raise UnsupportedError if the runtime cannot run it
    per_frame: Callable[[QuantModel, Any, tuple, tuple], bool]  # causal and frame by frame (NAME_step)
    after_slice: bool = True  # may follow the time slice (NAME_logits' head reads one frame)
    bidirectional: bool = False  # part of a bidirectional layer (before the slice: no streaming, and why)


PLAN_RULES: dict[str, PlanRule] = {
    "lstm": PlanRule(_check_lstm, _always, after_slice=False),
    "gru": PlanRule(_check_gru, _always, after_slice=False),
    "fully_connected": PlanRule(_check_fully_connected, _fc_per_frame),
    "softmax": PlanRule(_check_softmax, _always),
    "requantize": PlanRule(_check_requantize, _always),
    "reshape": PlanRule(_check_nothing, _reshape_per_frame),
    "reverse_time": PlanRule(_check_reverse_time, _never, after_slice=False, bidirectional=True),
    "slice_time": PlanRule(_check_slice_time, _never, after_slice=False),
    "concat": PlanRule(_check_concat, _never, bidirectional=True),
}
_NO_RULE = PlanRule(_check_nothing, _never)  # a kind export-c lacks (check_supported names it)


def _rule(op) -> PlanRule:
    return PLAN_RULES.get(op.kind, _NO_RULE)


# --------------------------------------------------------------------------------------------
# Streaming


@dataclass
class StreamPlan:
    """How a streamable model is split between NAME_step and NAME_logits."""

    step_ops: list  # per-frame ops run by NAME_step (up to and including the last recurrent layer)
    logits_frame_ops: list  # per-frame ops after the last recurrent layer (run by NAME_logits on its h)
    slice_op: object
    head_ops: list  # ops after the slice (run by NAME_logits)
    recurrent_ops: list = field(default_factory=list)  # LSTM and GRU layers of the chain, in order

    @property
    def last_recurrent(self):
        return self.recurrent_ops[-1]

    # The names from before GRU support (the recurrent layers, whatever their kind).
    @property
    def lstm_ops(self) -> list:
        return self.recurrent_ops

    @property
    def last_lstm(self):
        return self.last_recurrent


def _is_frame_op(qm: QuantModel, op) -> bool:
    """A causal op that maps each frame of a (T, F) sequence to one output frame on its own."""
    if op.recurrent:
        return True
    if len(op.inputs) != 1:
        return False
    shape_in = qm.tensors[op.input].shape
    shape_out = qm.tensors[op.output].shape
    if len(shape_in) != 2 or len(shape_out) != 2 or shape_out[0] != shape_in[0]:
        return False
    return _rule(op).per_frame(qm, op, shape_in, shape_out)


def stream_plan(qm: QuantModel) -> tuple[StreamPlan | None, str]:
    """(plan, "") for a streamable model, (None, reason) otherwise."""
    ops = list(qm.ops)
    slices = [i for i, op in enumerate(ops) if op.kind == "slice_time"]
    if len(slices) != 1:
        if any(op.kind == "reverse_time" for op in ops):
            return None, "bidirectional layers need the whole window"
        return None, f"the model takes {len(slices)} time slices (streaming needs exactly one, of the last step)"
    s = slices[0]
    chain = qm.input
    for op in ops[:s]:
        if _rule(op).bidirectional:
            return None, "bidirectional layers need the whole window"
        if op.inputs != [chain]:
            return None, f"op {op.name} does not continue a single chain of per-frame layers"
        if not _is_frame_op(qm, op):
            return None, f"op {op.name} ({op.kind}) is not a per-frame operation"
        chain = op.output
    sl = ops[s]
    if sl.input != chain:
        return None, "the time slice does not read the last recurrent layer's output"
    T = qm.tensors[chain].shape[0]
    if sl.index % T != T - 1:
        return None, f"the time slice picks step {sl.index} of {T}, not the last one"
    produced_after = {sl.output}
    for op in ops[s + 1 :]:
        if not _rule(op).after_slice:
            return None, f"op {op.name} ({op.kind}) follows the time slice"
        if any(k not in produced_after for k in op.inputs):
            return None, f"op {op.name} reads a sequence tensor after the time slice"
        produced_after.add(op.output)
    if qm.output not in produced_after:
        return None, "the model output is not computed after the time slice"
    rec_idx = [i for i, op in enumerate(ops[:s]) if op.recurrent]
    if not rec_idx:
        return None, "the model has no recurrent layer before its time slice"
    last = rec_idx[-1]
    plan = StreamPlan(
        step_ops=ops[: last + 1],
        logits_frame_ops=ops[last + 1 : s],
        slice_op=sl,
        head_ops=ops[s + 1 :],
        recurrent_ops=[ops[i] for i in rec_idx],
    )
    return plan, ""


# --------------------------------------------------------------------------------------------
# Whole-window memory plan


def arena_plan(qm: QuantModel) -> tuple[dict[str, int], int]:
    """Offsets of every op output tensor in one int8 arena, and the arena size.

    A tensor lives from the op that writes it to the last op that reads it (the model output
    to the end). Two tensors whose lifetimes touch never share bytes, so no kernel's output
    overlaps its input. First fit, largest tensors first.
    """
    ops = list(qm.ops)
    born: dict[str, int] = {}
    dies: dict[str, int] = {}
    for i, op in enumerate(ops):
        born[op.output] = i
        dies[op.output] = i
        for k in op.inputs:
            if k in dies:
                dies[k] = max(dies[k], i)
    if qm.output in dies:
        dies[qm.output] = len(ops)
    keys = sorted(born, key=lambda k: (-numel(qm, k), born[k]))
    placed: list[tuple[int, int, int, int]] = []  # (offset, size, born, dies)
    offsets: dict[str, int] = {}
    for k in keys:
        size = numel(qm, k)
        b, d = born[k], dies[k]
        busy = sorted((o, o + sz) for o, sz, bb, dd in placed if not (dd < b or d < bb))
        off = 0
        for lo, hi in busy:
            if off + size <= lo:
                break
            off = max(off, hi)
        offsets[k] = off
        placed.append((off, size, b, d))
    total = max((o + sz for o, sz, _, _ in placed), default=1)
    return offsets, max(total, 1)
