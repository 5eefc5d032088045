"""C emission of the recurrent layers (LSTM, GRU): weight layouts, parameter structs, kernel
calls, state fields and scratch sizes; the entries of ``c_ops.C_OPS`` for ``lstm`` and ``gru``.

Every number comes prepared from the IR (``input_stack`` / ``recurrent_stack``: the gates
stacked, the zero points folded into the biases); here they are only laid out as the runtime
(firmware_templates/runtime) reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir import GruOp, LstmOp, QuantModel
from .cwriter import CData, c_i32


@dataclass(frozen=True)
class Site:
    """Where a kernel call is emitted: the model, the op's parameter struct, the C expressions
    of its inputs (``op.inputs`` order) and output, per frame (NAME_step / NAME_logits) or over
    the whole window, and for a recurrent layer its state (int8 h, int16 c or Q0.15 state,
    int16 scratch)."""

    qm: QuantModel
    param: str
    srcs: list[str]
    out: str
    frame: bool
    state: tuple[str, str, str] | None = None


def lstm_unit_rows(rows) -> np.ndarray:
    """The four gate rows (i, f, g, o) x n of one LSTM unit (or 4 GRU rows) in the rows encoding
    of the MVE path (runtime edgelstm_config.h EDGELSTM_LSTM_ROWS, edgelstm_dot_s8_mve.h): the
    rows one after the other, w itself as bytes (16 columns of a row per vector load)."""
    r = np.asarray(rows, dtype=np.int64)
    if r.ndim != 2 or r.shape[0] != 4:
        raise ValueError(f"expected the 4 gate rows of a unit, got shape {r.shape}")
    return (r & 0xFF).astype(np.uint8).reshape(-1)


def lstm_unit_major_rows(weights: np.ndarray, units: int) -> np.ndarray:
    """Stacked gate rows [i; f; g; o] (4U, n) -> per unit the rows i_u, f_u, g_u, o_u (rows encoding)."""
    w4 = np.asarray(weights).reshape(4, units, -1)
    return np.concatenate([lstm_unit_rows(w4[:, u]) for u in range(units)])


def gru_group_rows(rows) -> np.ndarray:
    """R rows x n of a GRU weight matrix -> groups of 4 rows (zero rows pad the last), rows encoding."""
    r = np.asarray(rows, dtype=np.int64)
    r = np.concatenate([r, np.zeros(((-r.shape[0]) % 4, r.shape[1]), np.int64)])
    return (r & 0xFF).astype(np.uint8).reshape(-1)


def lstm_unit_bytes(rows, paired: bool = False) -> np.ndarray:
    """The four gate rows (i, f, g, o) x n of one LSTM unit -> the runtime's weight bytes (uint8).

    Column pairs (runtime edgelstm_config.h / edgelstm_dot_s8.h): for columns (j, k) = (2p, 2p+1)
    the words [i_j, g_j, i_k, g_k] [f_j, o_j, f_k, o_k]; a last odd column as [i_j, g_j, f_j, o_j].
    Bytes of i and f are w + 128; those of g and o are w + 128 too, or w itself (``paired``: the
    encoding the DSP and SSE2 kernels read, whose 16-bit halves i_j + 128 + 256 g_j feed one
    SMLAD / PMADDWD per two rows).
    """
    r = np.asarray(rows, dtype=np.int64)
    if r.ndim != 2 or r.shape[0] != 4:
        raise ValueError(f"expected the 4 gate rows of a unit, got shape {r.shape}")
    i, f, g, o = r + 128
    if paired:
        g, o = r[2] & 0xFF, r[3] & 0xFF
    m = r.shape[1] // 2
    j, k = slice(0, 2 * m, 2), slice(1, 2 * m, 2)
    pairs = np.stack([i[j], g[j], i[k], g[k], f[j], o[j], f[k], o[k]], axis=1).reshape(-1)
    last = np.array([i[-1], g[-1], f[-1], o[-1]], np.int64) if r.shape[1] % 2 else np.zeros(0, np.int64)
    return np.concatenate([pairs, last]).astype(np.uint8)


def blocked_rows(rows) -> np.ndarray:
    """The bytes of one unit's rows as NAME_model.c lists them first (the offset encoding)."""
    return lstm_unit_bytes(rows, paired=False)


def lstm_unit_major(weights: np.ndarray, units: int, paired: bool) -> np.ndarray:
    """Stacked gate rows [i; f; g; o] (4U, n) -> per unit the rows i_u, f_u, g_u, o_u as column
    pairs (runtime edgelstm_config.h), in the offset or the paired encoding."""
    w4 = np.asarray(weights).reshape(4, units, -1)
    return np.concatenate([lstm_unit_bytes(w4[:, u], paired) for u in range(units)])


def gru_group_bytes(rows, paired: bool) -> np.ndarray:
    """R rows x n of a GRU weight matrix -> groups of 4 rows (zero rows pad the last) as lstm_unit_bytes."""
    r = np.asarray(rows, dtype=np.int64)
    pad = (-r.shape[0]) % 4
    r = np.concatenate([r, np.zeros((pad, r.shape[1]), np.int64)])
    return np.concatenate([lstm_unit_bytes(r[g:g + 4], paired) for g in range(0, r.shape[0], 4)])


def mul_struct(mp) -> str:
    """An edgelstm_mul_params_t initialiser (multiplier, shift, offset, act min, act max)."""
    return (f"{{ {c_i32(mp.multiplier)}, {c_i32(mp.shift)}, {c_i32(mp.output_offset)}, "
            f"{c_i32(mp.act_min)}, {c_i32(mp.act_max)} }}")


# --------------------------------------------------------------------------------------------
# LSTM


def lstm_params(data: CData, op: LstmOp, n: str) -> None:
    sx, sh = op.input_stack, op.recurrent_stack
    x_off = int(op.gates["i"].input_fc.input_offset)
    U, F = op.units, op.input_size
    data.add(f"/* ---- {op.name}: LSTM({U}), input {F} (zero point {-x_off}), hidden zero point "
             f"{op.hidden_zero_point} (scale {op.hidden_scale:.9g}), cell scale 2^{op.cell_scale_power}, "
             f"{op.time_steps} time steps ---- */\n")
    # int8_t arrays of the stored bytes (the kernels read them as uint8): the offset encoding
    # first, the paired one in the #else (the preprocessor keeps the one the build's kernels
    # read; only one is in flash). 4-byte aligned: the DSP path loads the words with LDM.
    a_wx = data.dual_array(f"{n}_wx", lstm_unit_major(sx.weights, U, False), lstm_unit_major(sx.weights, U, True),
                           f"input weights: per unit the rows i, f, g, o as column pairs ({U} x {4 * F})",
                           rows_bytes=lstm_unit_major_rows(sx.weights, U))
    a_wh = data.dual_array(f"{n}_wh", lstm_unit_major(sh.weights, U, False), lstm_unit_major(sh.weights, U, True),
                           f"recurrent weights: per unit the rows i, f, g, o as column pairs ({U} x {4 * U})",
                           rows_bytes=lstm_unit_major_rows(sh.weights, U))
    # the folded biases unit-major: (U, 4)
    a_bx = data.array("int32_t", f"{n}_bx", sx.folded_bias.reshape(4, U).T, "b - zx * rowsum(W) (U, 4)")
    a_bh = data.array("int32_t", f"{n}_bh", sh.folded_bias.reshape(4, U).T, "-zh * rowsum(U) (U, 4)")

    def per_gate(rows: np.ndarray) -> str:  # one multiplier / shift per gate (check_supported)
        return "{ " + ", ".join(c_i32(v) for v in rows.reshape(4, U)[:, 0]) + " }"

    data.add(
        f"static const edgelstm_lstm_params_s8_s16_t {n} = {{\n"
        f"    {U}, /* units */\n"
        f"    {F}, /* input_size */\n"
        f"    {a_wx},\n    {a_wh},\n    {a_bx},\n    {a_bh},\n"
        f"    {per_gate(sx.multiplier)}, /* multiplier_x (i, f, g, o): W x -> Q3.12 */\n"
        f"    {per_gate(sx.shift)}, /* shift_x */\n"
        f"    {per_gate(sh.multiplier)}, /* multiplier_h (i, f, g, o): U h -> Q3.12 */\n"
        f"    {per_gate(sh.shift)}, /* shift_h */\n"
        f"    {mul_struct(op.forget_cell_mul)}, /* forget_mul: f * c -> c */\n"
        f"    {mul_struct(op.input_mul)}, /* input_mul: i * g -> c */\n"
        f"    {mul_struct(op.output_mul)}, /* output_mul: tanh(c) * o -> h */\n"
        f"    {c_i32(op.quantized_cell_clip)}, /* cell_clip */\n"
        f"    {c_i32(op.tanh_cell_multiplier)}, /* tanh_multiplier */\n"
        f"    {c_i32(op.tanh_cell_left_shift)}, /* tanh_left_shift */\n"
        f"    {c_i32(op.hidden_zero_point)}, /* hidden_zero_point */\n"
        f"    &EDGELSTM_LSTM_ENCODING /* the runtime reads the encoding of the weights above */\n}};\n"
    )


def lstm_call(op: LstmOp, s: Site) -> str:
    h, c, g = s.state
    if s.frame:
        return f"edgelstm_lstm_step_s8_s16(&{s.param}, {s.srcs[0]}, {h}, {h}, {c}, {g});"
    return f"edgelstm_lstm_s8_s16(&{s.param}, {s.srcs[0]}, {op.time_steps}, {s.out}, {h}, {c}, {g});"


def lstm_state_fields(op: LstmOp, li: int) -> list[tuple[str, str, int, str]]:
    return [(f"h{li}", "int8_t", op.units,
             f"{op.name} hidden state h (int8, scale {op.hidden_scale:.6g}, zero point {op.hidden_zero_point})"),
            (f"c{li}", "int16_t", op.units, f"{op.name} cell state c (int16, scale 2^{op.cell_scale_power})")]


def lstm_scratch_int16(op: LstmOp) -> int:
    """The copies of x and h the step widens once (runtime edgelstm_dot_s8.h: at most 4 bytes
    per value, plus 2 bytes to align them to 4): 2 (F + U) + 1 int16; at least 4 x units."""
    return max(4 * op.units, 2 * (op.input_size + op.units) + 1)


# --------------------------------------------------------------------------------------------
# GRU


def gru_params(data: CData, op: GruOp, n: str) -> None:
    U, F = op.units, op.input_size
    sx, sh = op.input_stack, op.recurrent_stack
    wx, wh = sx.weights, sh.weights
    x_off = int(op.gates["z"].input_fc.input_offset)
    k = int(op.hidden_frac_bits)
    data.add(f"/* ---- {op.name}: GRU({U}{'' if op.reset_after else ', reset_after=False'}), input {F} "
             f"(zero point {-x_off}), state int16 Q0.15, output int8 scale 2^-{k}, "
             f"{op.time_steps} time steps ---- */\n")
    # Groups of 4 rows in the LSTM's unit layout and encodings (runtime edgelstm_gru_step_s8_s16.c):
    # W's 3U rows, U's rows z, r and its candidate rows, each part padded with zero rows.
    a_wx = data.dual_array(f"{n}_wx", gru_group_bytes(wx, False), gru_group_bytes(wx, True),
                           f"input weights ({3 * U}, {F}), gates z, r, h stacked, in groups of 4 rows",
                           rows_bytes=gru_group_rows(wx))
    a_wh = data.dual_array(f"{n}_wh", np.concatenate([gru_group_bytes(wh[:2 * U], False), gru_group_bytes(wh[2 * U:], False)]),
                           np.concatenate([gru_group_bytes(wh[:2 * U], True), gru_group_bytes(wh[2 * U:], True)]),
                           f"recurrent weights ({3 * U}, {U}), gates z, r | h stacked, in groups of 4 rows",
                           rows_bytes=np.concatenate([gru_group_rows(wh[:2 * U]), gru_group_rows(wh[2 * U:])]))
    a_bx = data.array("int32_t", f"{n}_bx", sx.folded_bias, "bx - zx * rowsum(W) (3U)")
    # the spec has no recurrent bias without reset_after
    a_bh = data.array("int32_t", f"{n}_bh", sh.folded_bias, "recurrent biases (3U)") if op.reset_after else "0"
    a_mx = data.array("int32_t", f"{n}_mx", sx.multiplier, "per row: W x -> Q3.12")
    a_sx = data.array("int8_t", f"{n}_sx", sx.shift, "per row shifts")
    a_mh = data.array("int32_t", f"{n}_mh", sh.multiplier, "per row: U h8 -> Q3.12")
    a_sh = data.array("int8_t", f"{n}_sh", sh.shift, "per row shifts")
    data.add(
        f"static const edgelstm_gru_params_s8_s16_t {n} = {{\n"
        f"    {U}, /* units */\n"
        f"    {F}, /* input_size */\n"
        f"    {1 if op.reset_after else 0}, /* reset_after */\n"
        f"    {k}, /* hidden_frac_bits: h8 = h16 / 2^{15 - k} */\n"
        f"    {a_wx},\n    {a_wh},\n    {a_bx},\n    {a_bh},{'' if op.reset_after else ' /* no recurrent biases */'}\n"
        f"    {a_mx},\n    {a_sx},\n    {a_mh},\n    {a_sh},\n"
        f"    {mul_struct(op.reset_mul)}, /* reset_mul: r * ah_h -> Q3.12 */\n"
        f"    &EDGELSTM_LSTM_ENCODING /* the runtime reads the encoding of the weights above */\n}};\n"
    )


def gru_call(op: GruOp, s: Site) -> str:
    h, c, g = s.state
    if s.frame:
        return f"edgelstm_gru_step_s8_s16(&{s.param}, {s.srcs[0]}, {h}, {c}, {g});"
    return f"edgelstm_gru_s8_s16(&{s.param}, {s.srcs[0]}, {op.time_steps}, {s.out}, {h}, {c}, {g});"


def gru_state_fields(op: GruOp, li: int) -> list[tuple[str, str, int, str]]:
    return [(f"h{li}", "int8_t", op.units, f"{op.name} output h8 (int8, scale 2^-{op.hidden_frac_bits}, zero point 0)"),
            (f"s{li}", "int16_t", op.units, f"{op.name} GRU state h16 (int16, Q0.15)")]


def gru_scratch_int16(op: GruOp) -> int:
    """The gate products (5 x units) and after them the widened inputs (2 max(F, U) + 1 int16);
    at least 4 x units."""
    return max(4 * op.units, 5 * op.units + 2 * max(op.input_size, op.units) + 1)
