"""export-c's table from op kind to its C emission: one :class:`COp` entry per kind of ``edgelstm.ir``.

An entry says how the generated ``NAME_model.c`` runs one op: the const parameter struct it
needs (``params``, written into a :class:`~edgelstm.codegen.cwriter.CData`), the runtime call
that computes it (``call``), and for a recurrent layer its streaming state (``cell``). Adding an
op kind to the C export is one entry in :data:`C_OPS` (plus its runtime kernel and its rule in
``graph.PLAN_RULES``); the recurrent entries live in ``c_recurrent.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .c_recurrent import (
    Site,
    gru_call,
    gru_params,
    gru_scratch_int16,
    gru_state_fields,
    lstm_call,
    lstm_params,
    lstm_scratch_int16,
    lstm_state_fields,
)
from .cwriter import CData, c_i32
from .graph import numel


@dataclass(frozen=True)
class CCell:
    """The streaming side of a recurrent layer."""

    state_fields: Callable[[Any, int], list[tuple[str, str, int, str]]]  # (op, layer index) -> fields of NAME_state_t
    reset: str  # runtime function resetting (params, first field, second field)
    scratch_int16: Callable[[Any], int]  # int16 elements of the shared gate_scratch the step needs


@dataclass(frozen=True)
class COp:
    call: Callable[[Any, Site], str]  # (op, site) -> the C statement(s)
    params: Callable[[CData, Any, str], None] | None = None  # (data, op, C name) -> const parameter struct
    same_bytes: bool = False  # the output is the input's bytes: the streaming code aliases instead of copying
    cell: CCell | None = None


# --------------------------------------------------------------------------------------------
# Parameter structs


def fc_params(data: CData, op, n: str) -> None:
    fc = op.fc
    mult = np.asarray(fc.multiplier, dtype=np.int64).reshape(-1)
    shift = np.asarray(fc.shift, dtype=np.int64).reshape(-1)
    uniform = len(set(mult.tolist())) == 1 and len(set(shift.tolist())) == 1
    data.add(f"/* ---- {op.name}: fully connected {fc.in_features} -> {fc.out_features}"
             f"{', ' + op.activation if op.activation != 'none' else ''}, input zero point "
             f"{-fc.input_offset}, output zero point {fc.output_offset} ---- */\n")
    a_w = data.array("int8_t", f"{n}_w", np.asarray(fc.weights, dtype=np.int64),
                     f"weights ({fc.out_features}, {fc.in_features})")
    a_b = data.array("int32_t", f"{n}_b", fc.folded_bias, "bias + input_offset * rowsum(W)")
    if uniform:
        pm, ps, m0, s0 = "0", "0", c_i32(mult[0]), c_i32(shift[0])
    else:
        pm = data.array("int32_t", f"{n}_mult", mult, "per-channel multipliers")
        ps = data.array("int32_t", f"{n}_shift", shift, "per-channel shifts")
        m0, s0 = "0", "0"
    data.add(
        f"static const edgelstm_fc_params_s8_t {n} = {{\n"
        f"    {fc.in_features}, {fc.out_features}, {a_w}, {a_b},\n"
        f"    {pm}, {ps}, /* per-channel multipliers, shifts */\n"
        f"    {m0}, {s0}, /* multiplier, shift */\n"
        f"    {c_i32(fc.output_offset)}, {c_i32(fc.act_min)}, {c_i32(fc.act_max)} /* output offset, act min, max */\n}};\n"
    )


def softmax_params(data: CData, op, n: str) -> None:
    data.add(
        f"/* ---- {op.name}: softmax ---- */\n"
        f"static const edgelstm_softmax_params_s8_t {n} = {{ {c_i32(op.input_multiplier)}, "
        f"{c_i32(op.input_left_shift)}, {c_i32(op.diff_min)} }}; /* input multiplier, left shift, diff_min */\n"
    )


def requantize_params(data: CData, op, n: str) -> None:
    data.add(
        f"/* ---- {op.name}: requantize ---- */\n"
        f"static const edgelstm_requantize_params_s8_t {n} = {{ {c_i32(op.input_zero_point)}, "
        f"{c_i32(op.output_zero_point)}, {c_i32(op.multiplier)}, {c_i32(op.shift)} }};\n"
    )


# --------------------------------------------------------------------------------------------
# Calls (a (T, F) tensor is one frame of F values when s.frame)


def fc_call(op, s: Site) -> str:
    rows = 1 if s.frame else numel(s.qm, op.input) // op.fc.in_features
    return f"edgelstm_fully_connected_s8(&{s.param}, {s.srcs[0]}, {rows}, {s.out});"


def softmax_call(op, s: Site) -> str:
    depth = s.qm.tensors[op.input].shape[-1]
    rows = 1 if s.frame else numel(s.qm, op.input) // depth
    return f"edgelstm_softmax_s8(&{s.param}, {s.srcs[0]}, {rows}, {depth}, {s.out});"


def requantize_call(op, s: Site) -> str:
    n = s.qm.tensors[op.input].shape[-1] if s.frame else numel(s.qm, op.input)
    return f"edgelstm_requantize_s8(&{s.param}, {s.srcs[0]}, {n}, {s.out});"


def reverse_time_call(op, s: Site) -> str:
    T, F = s.qm.tensors[op.input].shape
    return f"edgelstm_reverse_time_s8({s.srcs[0]}, {T}, {F}, {s.out});"


def slice_time_call(op, s: Site) -> str:
    T, F = s.qm.tensors[op.input].shape
    return f"edgelstm_copy_s8({s.srcs[0]} + {(op.index % T) * F}, {F}, {s.out});"


def reshape_call(op, s: Site) -> str:
    return f"edgelstm_copy_s8({s.srcs[0]}, {numel(s.qm, op.input)}, {s.out});"


def concat_call(op, s: Site) -> str:
    depth = s.qm.tensors[op.output].shape[-1]
    rows = numel(s.qm, op.output) // depth
    lines, off = [], 0
    for key, src in zip(op.inputs, s.srcs):
        d = s.qm.tensors[key].shape[-1]
        lines.append(f"edgelstm_concat_s8({src}, {rows}, {d}, {s.out}, {depth}, {off});")
        off += d
    return "\n    ".join(lines)


C_OPS: dict[str, COp] = {
    "lstm": COp(lstm_call, lstm_params,
                cell=CCell(lstm_state_fields, "edgelstm_lstm_reset_s8_s16", lstm_scratch_int16)),
    "gru": COp(gru_call, gru_params,
               cell=CCell(gru_state_fields, "edgelstm_gru_reset_s8_s16", gru_scratch_int16)),
    "fully_connected": COp(fc_call, fc_params),
    "softmax": COp(softmax_call, softmax_params),
    "requantize": COp(requantize_call, requantize_params),
    "reverse_time": COp(reverse_time_call),
    "slice_time": COp(slice_time_call),
    "reshape": COp(reshape_call, same_bytes=True),
    "concat": COp(concat_call),
}


def scratch_int16(ops) -> int:
    """int16 elements of the recurrent layers' shared work buffer (``gate_scratch``): the most
    any of ``ops`` needs (each cell's ``scratch_int16``), at least 1."""
    return max([1] + [C_OPS[op.kind].cell.scratch_int16(op) for op in ops])
