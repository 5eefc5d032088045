"""Emit ``NAME_model.h`` and ``NAME_model.c`` from the IR.

The generated file holds only data and straight-line calls into the static runtime
(``firmware_templates/runtime``): the weights as const arrays (flash), every multiplier and
shift as a const parameter table, the state type, and NAME_reset / NAME_step / NAME_logits /
NAME_classify / NAME_quantize_feature. Nothing is computed at run time that the IR did not
fix at export time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import fixedpoint as fp
from ..ir import QuantModel
from .cwriter import c_array, c_comment_line, c_comment_text, c_float, c_i32, c_string, to_c_identifier
from .graph import StreamPlan, arena_plan, numel, op_inputs

GATES = ("i", "f", "g", "o")
GRU_GATES = ("z", "r", "h")
RECURRENT = ("lstm", "gru")


@dataclass
class ModelSource:
    header: str
    source: str
    weights_bytes: int
    state_fields: list = field(default_factory=list)  # (field, ctype, count) of NAME_state_t
    arena_bytes: int = 0
    workspace_bytes: int = 0


@dataclass
class HeaderInfo:
    """What the comment header of the generated files says about the model."""

    model_file: str
    model_sha256: str
    version: str
    float_accuracy: float | None
    int8_accuracy: float | None
    describe: str
    streaming_reason: str = ""


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


def gru_group_bytes(rows, paired: bool) -> np.ndarray:
    """R rows x n of a GRU weight matrix -> groups of 4 rows (zero rows pad the last) as lstm_unit_bytes."""
    r = np.asarray(rows, dtype=np.int64)
    pad = (-r.shape[0]) % 4
    r = np.concatenate([r, np.zeros((pad, r.shape[1]), np.int64)])
    return np.concatenate([lstm_unit_bytes(r[g:g + 4], paired) for g in range(0, r.shape[0], 4)])


def scratch_int16(ops) -> int:
    """int16 elements of the recurrent layers' shared work buffer (``gate_scratch``).

    A GRU step keeps its gate products there (5 x units) and after them its widened inputs
    (2 max(F, U) + 1 int16). An LSTM step keeps there the copies of its
    inputs x and h that it widens once per step (runtime edgelstm_dot_s8.h: at most 4 bytes per
    value, plus 2 bytes to align them to 4): 2 (F + U) + 1 int16. At least 4 x units either way
    (the size the buffer has always had).
    """
    n = 1
    for op in ops:
        n = max(n, 4 * op.units)
        if op.kind == "gru":
            n = max(n, 5 * op.units + 2 * max(op.input_size, op.units) + 1)
        if op.kind == "lstm":
            n = max(n, 2 * (op.input_size + op.units) + 1)
    return n


def _acc(v) -> str:
    return "unknown" if v is None else f"{float(v):.4f}"


class _Emitter:
    def __init__(self, qm: QuantModel, name: str, plan: StreamPlan | None, info: HeaderInfo):
        self.qm = qm
        self.name = name
        self.NAME = name.upper()
        self.plan = plan
        self.info = info
        self.data: list[str] = []  # const arrays and parameter tables
        self.weights_bytes = 0
        self.param: dict[str, str] = {}  # op name -> C name of its parameter struct

    # -- helpers ----------------------------------------------------------------------------
    def ident(self, op) -> str:
        return f"{self.name}_{to_c_identifier(op.name) or 'op'}"

    def array(self, ctype: str, cname: str, values, comment: str = "") -> str:
        vals = np.asarray(values).reshape(-1)
        size = {"int8_t": 1, "uint8_t": 1, "int16_t": 2, "int32_t": 4, "float": 4}[ctype]
        self.weights_bytes += size * vals.size
        per_line = 24 if size == 1 else 8
        self.data.append(c_array(ctype, cname, vals, per_line=per_line, comment=comment))
        return cname

    def dual_array(self, cname: str, offset_bytes, paired_bytes, comment: str) -> str:
        """An LSTM weight array in its two encodings (runtime edgelstm_config.h), one compiled in."""
        a = np.asarray(offset_bytes, dtype=np.uint8).reshape(-1)
        b = np.asarray(paired_bytes, dtype=np.uint8).reshape(-1)
        assert a.size == b.size
        self.weights_bytes += a.size

        def text(v: np.ndarray) -> str:
            return "EDGELSTM_ALIGNED4 " + c_array("int8_t", cname, v.view(np.int8), per_line=24)

        self.data.append(
            f"/* {c_comment_text(comment)}: bytes of i and f w + 128, of g and o w + 128 (below) or w "
            f"(EDGELSTM_LSTM_PAIRED: DSP and SSE2 kernels) */\n"
            f"#if !EDGELSTM_LSTM_PAIRED\n{text(a)}#else\n{text(b)}#endif\n")
        return cname

    # -- parameters ---------------------------------------------------------------------------
    def lstm_params(self, op) -> None:
        n = self.ident(op)
        gs = [op.gates[k] for k in GATES]
        x_off = int(gs[0].input_fc.input_offset)
        h_off = int(gs[0].recurrent_fc.input_offset)
        # Zero points folded into the biases: W (x - zx) + b = W x + (b - zx rowsum W); wrapped
        # to int32 (the accumulator wraps modulo 2^32 in the simulator, so the sum is the same).
        bx = np.stack([np.asarray(g.input_fc.bias, dtype=np.int64) + x_off * g.input_fc.weights.astype(np.int64).sum(1)
                       for g in gs])  # (4, U)
        bh = np.stack([h_off * g.recurrent_fc.weights.astype(np.int64).sum(1) for g in gs])
        U, F = op.units, op.input_size

        # Unit-major: the rows i_u, f_u, g_u, o_u of each unit together as column pairs (runtime
        # edgelstm_config.h), in both encodings; biases (U, 4).
        def unit_major(which: str, paired: bool) -> np.ndarray:
            return np.concatenate([lstm_unit_bytes(np.stack([getattr(g, which).weights[u] for g in gs]), paired)
                                   for u in range(U)])
        self.data.append(f"/* ---- {op.name}: LSTM({U}), input {F} (zero point {-x_off}), hidden zero point "
                         f"{op.hidden_zero_point} (scale {op.hidden_scale:.9g}), cell scale 2^{op.cell_scale_power}, "
                         f"{op.time_steps} time steps ---- */\n")
        # int8_t arrays of the stored bytes (the kernels read them as uint8): the offset encoding
        # first, the paired one in the #else (the preprocessor keeps the one the build's kernels
        # read; only one is in flash). 4-byte aligned: the DSP path loads the words with LDM.
        a_wx = self.dual_array(f"{n}_wx", unit_major("input_fc", False), unit_major("input_fc", True),
                               f"input weights: per unit the rows i, f, g, o as column pairs ({U} x {4 * F})")
        a_wh = self.dual_array(f"{n}_wh", unit_major("recurrent_fc", False), unit_major("recurrent_fc", True),
                               f"recurrent weights: per unit the rows i, f, g, o as column pairs ({U} x {4 * U})")
        a_bx = self.array("int32_t", f"{n}_bx", fp.wrap_int32(bx.T), "b - zx * rowsum(W) (U, 4)")
        a_bh = self.array("int32_t", f"{n}_bh", fp.wrap_int32(bh.T), "-zh * rowsum(U) (U, 4)")

        def q4(attr: str, which: str) -> str:
            return "{ " + ", ".join(c_i32(np.asarray(getattr(getattr(g, which), attr))[0]) for g in gs) + " }"

        def mul(mp) -> str:
            return (f"{{ {c_i32(mp.multiplier)}, {c_i32(mp.shift)}, {c_i32(mp.output_offset)}, "
                    f"{c_i32(mp.act_min)}, {c_i32(mp.act_max)} }}")

        self.data.append(
            f"static const edgelstm_lstm_params_s8_s16_t {n} = {{\n"
            f"    {U}, /* units */\n"
            f"    {F}, /* input_size */\n"
            f"    {a_wx},\n    {a_wh},\n    {a_bx},\n    {a_bh},\n"
            f"    {q4('multiplier', 'input_fc')}, /* multiplier_x (i, f, g, o): W x -> Q3.12 */\n"
            f"    {q4('shift', 'input_fc')}, /* shift_x */\n"
            f"    {q4('multiplier', 'recurrent_fc')}, /* multiplier_h (i, f, g, o): U h -> Q3.12 */\n"
            f"    {q4('shift', 'recurrent_fc')}, /* shift_h */\n"
            f"    {mul(op.forget_cell_mul)}, /* forget_mul: f * c -> c */\n"
            f"    {mul(op.input_mul)}, /* input_mul: i * g -> c */\n"
            f"    {mul(op.output_mul)}, /* output_mul: tanh(c) * o -> h */\n"
            f"    {c_i32(op.quantized_cell_clip)}, /* cell_clip */\n"
            f"    {c_i32(op.tanh_cell_multiplier)}, /* tanh_multiplier */\n"
            f"    {c_i32(op.tanh_cell_left_shift)}, /* tanh_left_shift */\n"
            f"    {c_i32(op.hidden_zero_point)}, /* hidden_zero_point */\n"
            f"    &EDGELSTM_LSTM_ENCODING /* the runtime reads the encoding of the weights above */\n}};\n"
        )
        self.param[op.name] = n

    def gru_params(self, op) -> None:
        n = self.ident(op)
        U, F = op.units, op.input_size
        gs = [op.gates[k] for k in GRU_GATES]
        wx = np.concatenate([g.input_fc.weights for g in gs]).astype(np.int64)
        wh = np.concatenate([g.recurrent_fc.weights for g in gs]).astype(np.int64)
        x_off = int(gs[0].input_fc.input_offset)
        # W (x - zx) + b = W x + (b - zx rowsum W), wrapped to int32 like the accumulator.
        bx = np.concatenate([np.asarray(g.input_fc.bias, dtype=np.int64) + x_off * g.input_fc.weights.astype(np.int64).sum(1)
                             for g in gs])
        bh = None  # the spec has no recurrent bias without reset_after
        if op.reset_after:
            bh = np.concatenate([np.zeros(U, np.int64) if g.recurrent_fc.bias is None
                                 else np.asarray(g.recurrent_fc.bias, dtype=np.int64) for g in gs])

        def rows(which: str, attr: str) -> np.ndarray:
            return np.concatenate([np.broadcast_to(np.asarray(getattr(getattr(g, which), attr), dtype=np.int64).reshape(-1),
                                                   (U,)) for g in gs])

        k = int(op.hidden_frac_bits)
        self.data.append(f"/* ---- {op.name}: GRU({U}{'' if op.reset_after else ', reset_after=False'}), input {F} "
                         f"(zero point {-x_off}), state int16 Q0.15, output int8 scale 2^-{k}, "
                         f"{op.time_steps} time steps ---- */\n")
        # Groups of 4 rows in the LSTM's unit layout and encodings (runtime edgelstm_gru_step_s8_s16.c):
        # W's 3U rows, U's rows z, r and its candidate rows, each part padded with zero rows.
        a_wx = self.dual_array(f"{n}_wx", gru_group_bytes(wx, False), gru_group_bytes(wx, True),
                               f"input weights ({3 * U}, {F}), gates z, r, h stacked, in groups of 4 rows")
        a_wh = self.dual_array(f"{n}_wh", np.concatenate([gru_group_bytes(wh[:2 * U], False), gru_group_bytes(wh[2 * U:], False)]),
                               np.concatenate([gru_group_bytes(wh[:2 * U], True), gru_group_bytes(wh[2 * U:], True)]),
                               f"recurrent weights ({3 * U}, {U}), gates z, r | h stacked, in groups of 4 rows")
        a_bx = self.array("int32_t", f"{n}_bx", fp.wrap_int32(bx), "bx - zx * rowsum(W) (3U)")
        a_bh = "0" if bh is None else self.array("int32_t", f"{n}_bh", fp.wrap_int32(bh), "recurrent biases (3U)")
        a_mx = self.array("int32_t", f"{n}_mx", rows("input_fc", "multiplier"), "per row: W x -> Q3.12")
        a_sx = self.array("int8_t", f"{n}_sx", rows("input_fc", "shift"), "per row shifts")
        a_mh = self.array("int32_t", f"{n}_mh", rows("recurrent_fc", "multiplier"), "per row: U h8 -> Q3.12")
        a_sh = self.array("int8_t", f"{n}_sh", rows("recurrent_fc", "shift"), "per row shifts")
        rm = op.reset_mul
        self.data.append(
            f"static const edgelstm_gru_params_s8_s16_t {n} = {{\n"
            f"    {U}, /* units */\n"
            f"    {F}, /* input_size */\n"
            f"    {1 if op.reset_after else 0}, /* reset_after */\n"
            f"    {k}, /* hidden_frac_bits: h8 = h16 / 2^{15 - k} */\n"
            f"    {a_wx},\n    {a_wh},\n    {a_bx},\n    {a_bh},{'' if bh is not None else ' /* no recurrent biases */'}\n"
            f"    {a_mx},\n    {a_sx},\n    {a_mh},\n    {a_sh},\n"
            f"    {{ {c_i32(rm.multiplier)}, {c_i32(rm.shift)}, {c_i32(rm.output_offset)}, {c_i32(rm.act_min)}, "
            f"{c_i32(rm.act_max)} }}, /* reset_mul: r * ah_h -> Q3.12 */\n"
            f"    &EDGELSTM_LSTM_ENCODING /* the runtime reads the encoding of the weights above */\n}};\n"
        )
        self.param[op.name] = n

    def fc_params(self, op) -> None:
        n = self.ident(op)
        fc = op.fc
        W = np.asarray(fc.weights, dtype=np.int64)
        bias = np.zeros(fc.out_features, np.int64) if fc.bias is None else np.asarray(fc.bias, dtype=np.int64)
        bias = bias + int(fc.input_offset) * W.sum(1)
        mult = np.asarray(fc.multiplier, dtype=np.int64).reshape(-1)
        shift = np.asarray(fc.shift, dtype=np.int64).reshape(-1)
        uniform = len(set(mult.tolist())) == 1 and len(set(shift.tolist())) == 1
        self.data.append(f"/* ---- {op.name}: fully connected {fc.in_features} -> {fc.out_features}"
                         f"{', ' + op.activation if op.activation != 'none' else ''}, input zero point "
                         f"{-fc.input_offset}, output zero point {fc.output_offset} ---- */\n")
        a_w = self.array("int8_t", f"{n}_w", W, f"weights ({fc.out_features}, {fc.in_features})")
        a_b = self.array("int32_t", f"{n}_b", fp.wrap_int32(bias), "bias + input_offset * rowsum(W)")
        if uniform:
            pm, ps, m0, s0 = "0", "0", c_i32(mult[0]), c_i32(shift[0])
        else:
            pm = self.array("int32_t", f"{n}_mult", mult, "per-channel multipliers")
            ps = self.array("int32_t", f"{n}_shift", shift, "per-channel shifts")
            m0, s0 = "0", "0"
        self.data.append(
            f"static const edgelstm_fc_params_s8_t {n} = {{\n"
            f"    {fc.in_features}, {fc.out_features}, {a_w}, {a_b},\n"
            f"    {pm}, {ps}, /* per-channel multipliers, shifts */\n"
            f"    {m0}, {s0}, /* multiplier, shift */\n"
            f"    {c_i32(fc.output_offset)}, {c_i32(fc.act_min)}, {c_i32(fc.act_max)} /* output offset, act min, max */\n}};\n"
        )
        self.param[op.name] = n

    def softmax_params(self, op) -> None:
        n = self.ident(op)
        self.data.append(
            f"/* ---- {op.name}: softmax ---- */\n"
            f"static const edgelstm_softmax_params_s8_t {n} = {{ {c_i32(op.input_multiplier)}, "
            f"{c_i32(op.input_left_shift)}, {c_i32(op.diff_min)} }}; /* input multiplier, left shift, diff_min */\n"
        )
        self.param[op.name] = n

    def requantize_params(self, op) -> None:
        n = self.ident(op)
        self.data.append(
            f"/* ---- {op.name}: requantize ---- */\n"
            f"static const edgelstm_requantize_params_s8_t {n} = {{ {c_i32(op.input_zero_point)}, "
            f"{c_i32(op.output_zero_point)}, {c_i32(op.multiplier)}, {c_i32(op.shift)} }};\n"
        )
        self.param[op.name] = n

    def all_params(self) -> None:
        for op in self.qm.ops:
            {"lstm": self.lstm_params, "gru": self.gru_params, "fully_connected": self.fc_params, "softmax": self.softmax_params,
             "requantize": self.requantize_params}.get(op.kind, lambda _op: None)(op)

    # -- op calls -------------------------------------------------------------------------------
    def call(self, op, expr: dict[str, str], out: str, *, frame: bool, lstm_state: tuple[str, str, str] | None = None) -> str:
        """One kernel call computing ``op`` from the tensors in ``expr`` into ``out``.

        ``frame``: per-frame execution (a (T, F) tensor is one frame of F values).
        ``lstm_state``: (int8 h, int16 c, int16 scratch) of a recurrent layer (for a GRU: h8,
        the Q0.15 state h16, scratch).
        """
        qm = self.qm
        k = op.kind
        src = expr[op_inputs(op)[0]]
        p = self.param.get(op.name, "")
        if k == "lstm":
            h, c, g = lstm_state
            if frame:
                return f"edgelstm_lstm_step_s8_s16(&{p}, {src}, {h}, {h}, {c}, {g});"
            return f"edgelstm_lstm_s8_s16(&{p}, {src}, {op.time_steps}, {out}, {h}, {c}, {g});"
        if k == "gru":
            h, c, g = lstm_state
            if frame:
                return f"edgelstm_gru_step_s8_s16(&{p}, {src}, {h}, {c}, {g});"
            return f"edgelstm_gru_s8_s16(&{p}, {src}, {op.time_steps}, {out}, {h}, {c}, {g});"
        if k == "fully_connected":
            rows = 1 if frame else numel(qm, op.input) // op.fc.in_features
            return f"edgelstm_fully_connected_s8(&{p}, {src}, {rows}, {out});"
        if k == "softmax":
            depth = qm.tensors[op.input].shape[-1]
            rows = 1 if frame else numel(qm, op.input) // depth
            return f"edgelstm_softmax_s8(&{p}, {src}, {rows}, {depth}, {out});"
        if k == "requantize":
            n = qm.tensors[op.input].shape[-1] if frame else numel(qm, op.input)
            return f"edgelstm_requantize_s8(&{p}, {src}, {n}, {out});"
        if k == "reverse_time":
            T, F = qm.tensors[op.input].shape
            return f"edgelstm_reverse_time_s8({src}, {T}, {F}, {out});"
        if k == "slice_time":
            T, F = qm.tensors[op.input].shape
            idx = op.index % T
            return f"edgelstm_copy_s8({src} + {idx * F}, {F}, {out});"
        if k == "reshape":
            return f"edgelstm_copy_s8({src}, {numel(qm, op.input)}, {out});"
        if k == "concat":
            depth = qm.tensors[op.output].shape[-1]
            rows = numel(qm, op.output) // depth
            lines, off = [], 0
            for key in op.inputs:
                d = qm.tensors[key].shape[-1]
                lines.append(f"edgelstm_concat_s8({expr[key]}, {rows}, {d}, {out}, {depth}, {off});")
                off += d
            return "\n    ".join(lines)
        raise AssertionError(k)

    # -- streaming functions --------------------------------------------------------------------
    def streaming_code(self) -> tuple[str, str, list]:
        """(declarations for the header, definitions for the source, state fields)."""
        plan, qm, name, NAME = self.plan, self.qm, self.name, self.NAME
        fields = []
        lstm_names = {}
        for li, op in enumerate(plan.recurrent_ops):
            lstm_names[op.name] = li
            if op.kind == "gru":
                fields.append((f"h{li}", "int8_t", op.units,
                               f"{op.name} output h8 (int8, scale 2^-{op.hidden_frac_bits}, zero point 0)"))
                fields.append((f"s{li}", "int16_t", op.units, f"{op.name} GRU state h16 (int16, Q0.15)"))
                continue
            fields.append((f"h{li}", "int8_t", op.units,
                           f"{op.name} hidden state h (int8, scale {op.hidden_scale:.6g}, zero point {op.hidden_zero_point})"))
            fields.append((f"c{li}", "int16_t", op.units, f"{op.name} cell state c (int16, scale 2^{op.cell_scale_power})"))
        n_scratch = scratch_int16(plan.recurrent_ops)
        fields.append(("gate_scratch", "int16_t", n_scratch, "work buffer of NAME_step (no meaning between calls)"))
        decl = "typedef struct {\n" + "".join(
            f"    {ct} {fn}[{cnt}]; /* {c_comment_text(cm.replace('NAME', name))} */\n" for fn, ct, cnt, cm in fields
        ) + f"}} {name}_state_t;\n"

        # NAME_reset
        reset = [f"void {name}_reset({name}_state_t *s)\n{{"]
        for li, op in enumerate(plan.recurrent_ops):
            if op.kind == "gru":
                reset.append(f"    edgelstm_gru_reset_s8_s16(&{self.param[op.name]}, s->h{li}, s->s{li});")
            else:
                reset.append(f"    edgelstm_lstm_reset_s8_s16(&{self.param[op.name]}, s->h{li}, s->c{li});")
        # gate_scratch is not cleared: every step writes what it reads there (and a loop of stores
        # compiles to a memset call, 166 bytes of flash on a Cortex-M0).
        reset.append("}\n")

        # NAME_step: the per-frame chain up to the last recurrent layer.
        expr = {qm.input: "x"}
        locals_, body = [], []
        for op in plan.step_ops:
            if op.kind in RECURRENT:
                li = lstm_names[op.name]
                out = f"s->h{li}"
                st = f"s->s{li}" if op.kind == "gru" else f"s->c{li}"
                body.append(self.call(op, expr, out, frame=True, lstm_state=(out, st, "s->gate_scratch")))
            elif op.kind == "reshape":
                expr[op.output] = expr[op.input]
                continue
            else:
                out = f"f_{to_c_identifier(op.output) or 'tmp'}"
                locals_.append(f"    int8_t {out}[{qm.tensors[op.output].shape[-1]}];")
                body.append(self.call(op, expr, out, frame=True))
            expr[op.output] = out
        step = [f"void {name}_step({name}_state_t *s, const int8_t x[{NAME}_INPUT_SIZE])\n{{"]
        step += locals_
        step += ["    " + b for b in body]
        step.append("}\n")

        # NAME_logits: per-frame ops after the last recurrent layer, the slice, the head; state untouched.
        last_li = len(plan.recurrent_ops) - 1
        expr = {plan.last_recurrent.output: f"s->h{last_li}"}
        locals_, body = [], []
        ops_after = list(plan.logits_frame_ops) + [plan.slice_op] + list(plan.head_ops)
        for op in ops_after:
            if op.kind in ("slice_time", "reshape"):
                expr[op.output] = expr[op.input]  # the frame / the same bytes
                continue
            out = f"t_{to_c_identifier(op.output) or 'tmp'}"
            frame = any(op is o for o in plan.logits_frame_ops)
            size = qm.tensors[op.output].shape[-1] if frame else numel(qm, op.output)
            locals_.append(f"    int8_t {out}[{size}];")
            body.append(self.call(op, expr, out, frame=frame))
            expr[op.output] = out
        logits = [f"void {name}_logits(const {name}_state_t *s, int8_t out[{NAME}_NUM_CLASSES])\n{{"]
        logits += locals_
        logits += ["    " + b for b in body]
        logits.append(f"    edgelstm_copy_s8({expr[qm.output]}, {NAME}_NUM_CLASSES, out);")
        logits.append("}\n")

        classify = [
            f"int {name}_classify(const int8_t *frames, int n_frames, int8_t out[{NAME}_NUM_CLASSES])\n{{",
            f"    {name}_state_t s;",
            "    const int8_t *frame = frames;",
            "    int t;",
            "    if (frames == 0 || out == 0 || n_frames < 1) {\n        return -1;\n    }",
            f"    {name}_reset(&s);",
            f"    for (t = 0; t < n_frames; ++t) {{\n        {name}_step(&s, frame);\n        frame += {NAME}_INPUT_SIZE;\n    }}",
            f"    {name}_logits(&s, out);",
            f"    return (int)edgelstm_argmax_s8(out, {NAME}_NUM_CLASSES);",
            "}\n",
        ]
        src = "\n".join(reset) + "\n" + "\n".join(step) + "\n" + "\n".join(logits) + "\n" + "\n".join(classify)
        return decl, src, [(f, c, n) for f, c, n, _ in fields]

    # -- whole-window function ------------------------------------------------------------------
    def window_code(self) -> tuple[str, str, int, int]:
        qm, name, NAME = self.qm, self.name, self.NAME
        offsets, arena = arena_plan(qm)
        lstms = [op for op in qm.ops if op.kind in RECURRENT]
        max_u = max(op.units for op in lstms)
        n_scratch = scratch_int16(lstms)
        decl = (
            "typedef struct {\n"
            f"    int8_t arena[{arena}]; /* activations of the whole window (offsets fixed at export) */\n"
            f"    int8_t h[{max_u}]; /* recurrent state of the layer being run */\n"
            f"    int16_t c[{max_u}]; /* LSTM cell state / GRU Q0.15 state */\n"
            f"    int16_t gate_scratch[{n_scratch}];\n"
            f"}} {name}_workspace_t;\n"
        )
        expr = {qm.input: "frames"}
        body = []
        for op in qm.ops:
            out = f"a + {offsets[op.output]}"
            body.append(f"/* {op.name} ({op.kind}) -> {qm.tensors[op.output].shape} */")
            body.append(self.call(op, expr, out, frame=False, lstm_state=("ws->h", "ws->c", "ws->gate_scratch")))
            expr[op.output] = out
        fn = [
            f"int {name}_classify_ws(const int8_t *frames, int n_frames, int8_t out[{NAME}_NUM_CLASSES], "
            f"{name}_workspace_t *ws)\n{{",
            "    int8_t *a;",
            f"    if (frames == 0 || out == 0 || ws == 0 || n_frames != {NAME}_WINDOW) {{\n        return -1;\n    }}",
            "    a = ws->arena;",
        ]
        fn += ["    " + b for b in body]
        fn.append(f"    edgelstm_copy_s8({expr[qm.output]}, {NAME}_NUM_CLASSES, out);")
        fn.append(f"    return (int)edgelstm_argmax_s8(out, {NAME}_NUM_CLASSES);\n}}\n")
        fn += [
            f"int {name}_classify(const int8_t *frames, int n_frames, int8_t out[{NAME}_NUM_CLASSES])\n{{",
            f"    {name}_workspace_t ws;",
            f"    return {name}_classify_ws(frames, n_frames, out, &ws);",
            "}\n",
        ]
        ws_bytes = arena + max_u + 2 * max_u + 2 * n_scratch
        return decl, "\n".join(fn), arena, ws_bytes

    # -- float front end ------------------------------------------------------------------------
    def front_end(self) -> str:
        qm, name, NAME = self.qm, self.name, self.NAME
        info = qm.info
        F = qm.n_features
        lines = []
        has_norm = info.norm_mean is not None
        if has_norm:
            lines.append(self.array_float(f"{name}_norm_mean", info.norm_mean, "per-feature mean (float32)"))
            lines.append(self.array_float(f"{name}_norm_std", info.norm_std, "per-feature standard deviation (float32)"))
        norm_line = (
            f"    v = (v - {name}_norm_mean[feature]) / {name}_norm_std[feature]; /* normalise, float32 */\n"
            if has_norm else ""
        )
        lines.append(
            f"""/* The model's own float front end, bit for bit Int8Model.quantize_input (float32 only):
 * q = clamp(round_half_away((x - mean) / std / scale) + zero_point, -128, 127).
 * NaN (and an out-of-range feature index) gives the zero point; huge values clamp. Needs IEEE
 * float32 arithmetic (no -ffast-math). */
int8_t {name}_quantize_feature(float value, int feature)
{{
    float v = value;
    float frac;
    int32_t q;
    if (feature < 0 || feature >= {NAME}_INPUT_SIZE || value != value) {{
        return (int8_t){NAME}_INPUT_ZERO_POINT;
    }}
{norm_line}    v = v / {NAME}_INPUT_SCALE; /* float32 division, as TFLM AffineQuantize */
    if (v != v) {{
        return (int8_t){NAME}_INPUT_ZERO_POINT;
    }}
    /* |round(v)| >= 1024 clamps to -128 / 127 whatever the zero point: clamp first, then the
     * conversion below is exact and defined. */
    if (v > 1024.0f) {{
        v = 1024.0f;
    }} else if (v < -1024.0f) {{
        v = -1024.0f;
    }}
    q = (int32_t)v;          /* truncation toward zero, exact */
    frac = v - (float)q;     /* exact for |v| <= 1024 */
    if (frac >= 0.5f) {{
        q += 1;              /* round half away from zero */
    }} else if (frac <= -0.5f) {{
        q -= 1;
    }}
    q += {NAME}_INPUT_ZERO_POINT;
    return (int8_t)((q < -128) ? -128 : ((q > 127) ? 127 : q));
}}

void {name}_quantize_frame(const float raw[{NAME}_INPUT_SIZE], int8_t x[{NAME}_INPUT_SIZE])
{{
    int f;
    for (f = 0; f < {NAME}_INPUT_SIZE; ++f) {{
        x[f] = {name}_quantize_feature(raw[f], f);
    }}
}}
"""
        )
        del F
        return "\n".join(lines)

    def array_float(self, cname: str, values, comment: str) -> str:
        vals = np.asarray(values, dtype=np.float32).reshape(-1)
        self.weights_bytes += 4 * vals.size
        return c_array("float", cname, vals, per_line=6, comment=comment)

    def class_names(self) -> str:
        qm, name, NAME = self.qm, self.name, self.NAME
        names = qm.info.class_names or [f"class_{i}" for i in range(qm.n_outputs)]
        if len(names) != qm.n_outputs:
            names = [f"class_{i}" for i in range(qm.n_outputs)]
        items = ",\n".join(f"    {c_string(n)}" for n in names)
        return (
            f"static const char *const {name}_class_names[{NAME}_NUM_CLASSES] = {{\n{items}\n}};\n\n"
            f"const char *{name}_class_name(int index)\n{{\n"
            f"    return (index >= 0 && index < {NAME}_NUM_CLASSES) ? {name}_class_names[index] : 0;\n}}\n"
        )

    # -- files ------------------------------------------------------------------------------------
    def comment_header(self, what: str) -> str:
        qm, info = self.qm, self.info
        inp, outp = qm.input_tensor, qm.output_tensor
        names = qm.info.class_names or []
        lines = [
            f"{self.name}_{what} - generated by edgelstm {info.version} (edgelstm export-c). Do not edit.",
            "",
            f"Model file:   {info.model_file}",
            f"sha256:       {info.model_sha256}",
            f"Layers:       {info.describe}",
            f"Input:        {qm.window} frames x {qm.n_features} features, int8 (scale {inp.scale:.9g}, "
            f"zero point {inp.zero_point})",
            f"Output:       {qm.n_outputs} values, int8 (scale {outp.scale:.9g}, zero point {outp.zero_point})",
            f"Accuracy:     float {_acc(qm.info.float_accuracy)}, int8 {_acc(qm.info.int8_accuracy)}",
            "Streaming:    " + ("yes (NAME_reset / NAME_step / NAME_logits)".replace("NAME", self.name) if self.plan
                                else f"no, whole window only ({info.streaming_reason})"),
        ]
        if names:
            lines.append("Classes:      " + ", ".join(f"{i} {n}" for i, n in enumerate(names)))
        return "/*\n" + "".join(f" * {c_comment_line(s)}\n" if s else " *\n" for s in lines) + " */\n"


def generate_model_source(qm: QuantModel, name: str, plan: StreamPlan | None, info: HeaderInfo) -> ModelSource:
    e = _Emitter(qm, name, plan, info)
    NAME = e.NAME
    e.all_params()
    if plan is not None:
        decl, code, fields = e.streaming_code()
        arena = ws = 0
    else:
        decl, code, arena, ws = e.window_code()
        fields = []
    front = e.front_end()
    classes = e.class_names()
    inp, outp = qm.input_tensor, qm.output_tensor
    guard = f"{NAME}_MODEL_H"
    streaming = plan is not None

    h = [e.comment_header("model.h"), f"#ifndef {guard}\n#define {guard}\n\n#include <stdint.h>\n",
         "#ifdef __cplusplus\nextern \"C\" {\n#endif\n",
         f"#define {NAME}_INPUT_SIZE {qm.n_features} /* features per frame */",
         f"#define {NAME}_NUM_CLASSES {qm.n_outputs} /* outputs */",
         f"#define {NAME}_WINDOW {qm.window} /* frames per window the model was trained on */",
         f"#define {NAME}_INPUT_SCALE {c_float(inp.scale)} /* int8 input: x = (q - zero point) * scale */",
         f"#define {NAME}_INPUT_ZERO_POINT {int(inp.zero_point)}",
         f"#define {NAME}_OUTPUT_SCALE {c_float(outp.scale)}",
         f"#define {NAME}_OUTPUT_ZERO_POINT {int(outp.zero_point)}",
         f"#define {NAME}_HAS_NORMALIZATION {1 if qm.info.norm_mean is not None else 0} /* {name}_quantize_feature normalises */",
         f"#define {NAME}_WEIGHTS_BYTES {e.weights_bytes} /* const data in {name}_model.c (flash) */",
         f"#define {NAME}_STREAMING {1 if streaming else 0} /* 1: {name}_step / {name}_logits available */",
         ""]
    if streaming:
        h += [
            "/* All recurrent state, owned by the caller (one per independent stream). */",
            decl,
            f"/* Every layer to the state before the first frame (LSTM: h = zero point, c = 0; GRU: 0). */\n"
            f"void {name}_reset({name}_state_t *s);\n",
            f"/* Advance every layer by one frame x (int8, see {name}_quantize_feature). */\n"
            f"void {name}_step({name}_state_t *s, const int8_t x[{NAME}_INPUT_SIZE]);\n",
            f"/* Run the head on the current state (the classification of the frames seen so far);\n"
            f" * does not modify the state. */\nvoid {name}_logits(const {name}_state_t *s, int8_t out[{NAME}_NUM_CLASSES]);\n",
            f"/* Whole window: reset, step over n_frames (any n_frames >= 1) frames (n_frames x\n"
            f" * {NAME}_INPUT_SIZE int8, frame-major), logits. Returns the argmax, -1 on bad arguments. */\n"
            f"int {name}_classify(const int8_t *frames, int n_frames, int8_t out[{NAME}_NUM_CLASSES]);\n",
        ]
    else:
        h += [
            f"/* This model cannot stream ({c_comment_text(info.streaming_reason)}): only the whole-window\n"
            f" * API exists ({name}_step, {name}_logits and {name}_state_t are not declared). */\n",
            "/* Work memory of one whole-window inference (activations at offsets fixed at export). */",
            decl,
            f"/* Whole window: n_frames must be {NAME}_WINDOW (frames: {NAME}_WINDOW x {NAME}_INPUT_SIZE int8,\n"
            f" * frame-major). Returns the argmax of out, -1 on bad arguments. The workspace lives on the\n"
            f" * stack ({ws} bytes); {name}_classify_ws takes one from the caller instead. */\n"
            f"int {name}_classify(const int8_t *frames, int n_frames, int8_t out[{NAME}_NUM_CLASSES]);\n"
            f"int {name}_classify_ws(const int8_t *frames, int n_frames, int8_t out[{NAME}_NUM_CLASSES], "
            f"{name}_workspace_t *ws);\n",
        ]
    h += [
        f"/* Optional float front end: raw feature value -> int8 input, exactly as the model's\n"
        f" * quantize_input (normalisation, scale, round half away from zero, zero point, clamp). */\n"
        f"int8_t {name}_quantize_feature(float value, int feature);\n"
        f"void {name}_quantize_frame(const float raw[{NAME}_INPUT_SIZE], int8_t x[{NAME}_INPUT_SIZE]);\n",
        f"/* Name of output index (0 if out of range). */\nconst char *{name}_class_name(int index);\n",
        "#ifdef __cplusplus\n}\n#endif\n",
        f"#endif /* {guard} */\n",
    ]
    header = "\n".join(h)

    c = [e.comment_header("model.c"), f'#include "{name}_model.h"\n#include "edgelstm_runtime.h"\n',
         "/* ======== parameters (const: flash) ======== */\n"]
    c += e.data
    c += ["/* ======== inference (integer only) ======== */\n", code, "",
          "/* ======== float front end (the only floating-point code) ======== */\n", front, classes]
    source = "\n".join(c)
    return ModelSource(header=header, source=source, weights_bytes=e.weights_bytes, state_fields=fields,
                       arena_bytes=arena, workspace_bytes=ws)
