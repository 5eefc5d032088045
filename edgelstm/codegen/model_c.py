"""Emit ``NAME_model.h`` and ``NAME_model.c`` from the IR.

The generated file holds only data and straight-line calls into the static runtime
(``firmware_templates/runtime``): the weights as const arrays (flash), every multiplier and
shift as a const parameter table, the state type, and NAME_reset / NAME_step / NAME_logits /
NAME_classify / NAME_quantize_feature. Nothing is computed at run time that the IR did not
fix at export time.

What each op kind emits (its parameter struct, its runtime call, a recurrent layer's state) is
its entry of ``c_ops.C_OPS``; this module lays out the files and the functions around them:
the streaming functions (``graph.stream_plan``), the whole-window function over the arena
(``graph.arena_plan``), the float front end and the header.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import UnsupportedError
from ..ir import QuantModel
from ..tflite.metadata import frame_layout
from .c_ops import C_OPS, scratch_int16
from .c_recurrent import Site
from .cwriter import CData, c_comment_line, c_comment_text, c_float, c_string, to_c_identifier
from .graph import StreamPlan, arena_plan, numel


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


def _acc(v) -> str:
    return "unknown" if v is None else f"{float(v):.4f}"


class _Emitter:
    def __init__(self, qm: QuantModel, name: str, plan: StreamPlan | None, info: HeaderInfo):
        self.qm = qm
        self.name = name
        self.NAME = name.upper()
        self.plan = plan
        self.info = info
        self.data = CData()  # const arrays and parameter tables
        self.param: dict[str, str] = {}  # op name -> C name of its parameter struct
        # --stack K: the graph's step takes K frames of F features (edgelstm.data.stack)
        self.stack, self.frames, self.frame_features = frame_layout(qm)
        if self.stack > 32767:  # NAME_state_t counts the buffered frames in an int16_t
            raise UnsupportedError(f"--stack {self.stack} is too large for the C library", "use --stack <= 32767")

    def ident(self, op) -> str:
        return f"{self.name}_{to_c_identifier(op.name) or 'op'}"

    # -- parameters ---------------------------------------------------------------------------
    def all_params(self) -> None:
        for op in self.qm.ops:
            emit = C_OPS[op.kind].params
            if emit is not None:
                n = self.ident(op)
                emit(self.data, op, n)
                self.param[op.name] = n

    # -- op calls -------------------------------------------------------------------------------
    def call(self, op, expr: dict[str, str], out: str, *, frame: bool, state: tuple[str, str, str] | None = None) -> str:
        """One kernel call computing ``op`` from the tensors in ``expr`` into ``out``.

        ``frame``: per-frame execution (a (T, F) tensor is one frame of F values).
        ``state``: (int8 h, int16 c, int16 scratch) of a recurrent layer (for a GRU: h8,
        the Q0.15 state h16, scratch).
        """
        site = Site(self.qm, self.param.get(op.name, ""), [expr[k] for k in op.inputs], out, frame, state)
        return C_OPS[op.kind].call(op, site)

    # -- streaming functions --------------------------------------------------------------------
    def streaming_code(self) -> tuple[str, str, list]:
        """(declarations for the header, definitions for the source, state fields)."""
        plan, qm, name, NAME = self.plan, self.qm, self.name, self.NAME
        fields = []
        state_of = {}  # recurrent op name -> its two state fields (h, c / h, s)
        for li, op in enumerate(plan.recurrent_ops):
            own = C_OPS[op.kind].cell.state_fields(op, li)
            state_of[op.name] = tuple(f"s->{fn}" for fn, _, _, _ in own)
            fields += own
        n_scratch = scratch_int16(plan.recurrent_ops)
        fields.append(("gate_scratch", "int16_t", n_scratch, "work buffer of NAME_step (no meaning between calls)"))
        stacked = self.stack > 1
        if stacked:  # NAME_step buffers frames and runs the cell on every Kth (docs/c_api.md "frame stacking")
            fields.append(("stack_frames", "int8_t", self.stack * self.frame_features,
                           "the frames of the step being collected, oldest first"))
            fields.append(("stack_count", "int16_t", 1, f"frames in stack_frames (0 to {self.stack - 1})"))
        decl = "typedef struct {\n" + "".join(
            f"    {ct} {fn}[{cnt}]; /* {c_comment_text(cm.replace('NAME', name))} */\n" for fn, ct, cnt, cm in fields
        ) + f"}} {name}_state_t;\n"

        # NAME_reset
        reset = [f"void {name}_reset({name}_state_t *s)\n{{"]
        for op in plan.recurrent_ops:
            h, c = state_of[op.name]
            reset.append(f"    {C_OPS[op.kind].cell.reset}(&{self.param[op.name]}, {h}, {c});")
        # gate_scratch is not cleared: every step writes what it reads there (and a loop of stores
        # compiles to a memset call, 166 bytes of flash on a Cortex-M0).
        if stacked:
            reset.append("    s->stack_count[0] = 0; /* stack_frames holds nothing until written */")
        reset.append("}\n")

        # NAME_step: the per-frame chain up to the last recurrent layer.
        expr = {qm.input: "x"}
        locals_, body = [], []
        for op in plan.step_ops:
            if op.recurrent:
                out, c = state_of[op.name]
                body.append(self.call(op, expr, out, frame=True, state=(out, c, "s->gate_scratch")))
            elif C_OPS[op.kind].same_bytes:
                expr[op.output] = expr[op.input]
                continue
            else:
                out = f"f_{to_c_identifier(op.output) or 'tmp'}"
                locals_.append(f"    int8_t {out}[{qm.tensors[op.output].shape[-1]}];")
                body.append(self.call(op, expr, out, frame=True))
            expr[op.output] = out
        if stacked:
            step = [f"/* One cell step on {NAME}_STACK frames x ({NAME}_STACK x {NAME}_INPUT_SIZE int8, oldest first). */\n"
                    f"static void {name}_step_group({name}_state_t *s, const int8_t x[{NAME}_STACK * {NAME}_INPUT_SIZE])\n{{"]
        else:
            step = [f"void {name}_step({name}_state_t *s, const int8_t x[{NAME}_INPUT_SIZE])\n{{"]
        step += locals_
        step += ["    " + b for b in body]
        step.append("}\n")
        if stacked:
            step += [
                f"void {name}_step({name}_state_t *s, const int8_t x[{NAME}_INPUT_SIZE])\n{{",
                "    int n = s->stack_count[0];",
                f"    edgelstm_copy_s8(x, {NAME}_INPUT_SIZE, s->stack_frames + n * {NAME}_INPUT_SIZE);",
                f"    if (++n == {NAME}_STACK) {{",
                f"        {name}_step_group(s, s->stack_frames);",
                "        n = 0;",
                "    }",
                "    s->stack_count[0] = (int16_t)n;",
                "}\n",
            ]

        # NAME_logits: per-frame ops after the last recurrent layer, the slice, the head; state untouched.
        expr = {plan.last_recurrent.output: state_of[plan.last_recurrent.name][0]}
        locals_, body = [], []
        ops_after = list(plan.logits_frame_ops) + [plan.slice_op] + list(plan.head_ops)
        for op in ops_after:
            if op is plan.slice_op or C_OPS[op.kind].same_bytes:
                expr[op.output] = expr[op.input]  # the frame (the state holds the last one) / the same bytes
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

        classify = [] if not stacked else [
            f"int {name}_classify(const int8_t *frames, int n_frames, int8_t out[{NAME}_NUM_CLASSES])\n{{",
            f"    {name}_state_t s;",
            "    const int8_t *group = frames;",
            "    int g;",
            "    if (frames == 0 || out == 0 || n_frames < 1) {\n        return -1;\n    }",
            f"    {name}_reset(&s);",
            f"    /* n_frames / {NAME}_STACK whole groups (the trailing n_frames % {NAME}_STACK frames are not used, as\n"
            f"     * {name}_step leaves them in its buffer): K consecutive frames are one step's K x F values. */",
            f"    for (g = 0; g < n_frames / {NAME}_STACK; ++g) {{\n        {name}_step_group(&s, group);\n"
            f"        group += {NAME}_STACK * {NAME}_INPUT_SIZE;\n    }}",
            f"    {name}_logits(&s, out);",
            f"    return (int)edgelstm_argmax_s8(out, {NAME}_NUM_CLASSES);",
            "}\n",
        ]
        classify = classify or [
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
        lstms = qm.recurrent_ops()
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
            body.append(self.call(op, expr, out, frame=False, state=("ws->h", "ws->c", "ws->gate_scratch")))
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
        lines = []
        has_norm = info.norm_mean is not None
        if has_norm:
            lines.append(self.data.float_array_text(f"{name}_norm_mean", info.norm_mean, "per-feature mean (float32)"))
            lines.append(self.data.float_array_text(f"{name}_norm_std", info.norm_std,
                                                    "per-feature standard deviation (float32)"))
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
        return "\n".join(lines)

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
            f"Input:        {self.frames} frames x {self.frame_features} features, int8 (scale {inp.scale:.9g}, "
            f"zero point {inp.zero_point})" + (f", {self.stack} frames per cell step" if self.stack > 1 else ""),
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
         f"#define {NAME}_INPUT_SIZE {e.frame_features} /* features per frame */",
         f"#define {NAME}_NUM_CLASSES {qm.n_outputs} /* outputs */",
         f"#define {NAME}_WINDOW {e.frames} /* frames per window the model was trained on */",
         *([f"#define {NAME}_STACK {e.stack} /* frames per cell step (--stack): the cell runs on every "
            f"{NAME}_STACK-th frame */"] if e.stack > 1 else []),
         f"#define {NAME}_INPUT_SCALE {c_float(inp.scale)} /* int8 input: x = (q - zero point) * scale */",
         f"#define {NAME}_INPUT_ZERO_POINT {int(inp.zero_point)}",
         f"#define {NAME}_OUTPUT_SCALE {c_float(outp.scale)}",
         f"#define {NAME}_OUTPUT_ZERO_POINT {int(outp.zero_point)}",
         f"#define {NAME}_HAS_NORMALIZATION {1 if qm.info.norm_mean is not None else 0} /* {name}_quantize_feature normalises */",
         f"#define {NAME}_WEIGHTS_BYTES {e.data.weights_bytes} /* const data in {name}_model.c (flash) */",
         f"#define {NAME}_STREAMING {1 if streaming else 0} /* 1: {name}_step / {name}_logits available */",
         ""]
    if streaming:
        h += [
            "/* All recurrent state, owned by the caller (one per independent stream). */",
            decl,
            f"/* Every layer to the state before the first frame (LSTM: h = zero point, c = 0; GRU: 0). */\n"
            f"void {name}_reset({name}_state_t *s);\n",
            f"/* Advance every layer by one frame x (int8, see {name}_quantize_feature). */\n"
            f"void {name}_step({name}_state_t *s, const int8_t x[{NAME}_INPUT_SIZE]);\n" if e.stack == 1 else
            f"/* Take one frame x (int8, see {name}_quantize_feature): it is buffered in the state, and every\n"
            f" * {NAME}_STACK-th call advances every layer by one step on the last {NAME}_STACK frames. */\n"
            f"void {name}_step({name}_state_t *s, const int8_t x[{NAME}_INPUT_SIZE]);\n",
            f"/* Run the head on the current state (the classification of the frames seen so far);\n"
            f" * does not modify the state. */\nvoid {name}_logits(const {name}_state_t *s, int8_t out[{NAME}_NUM_CLASSES]);\n",
            f"/* Whole window: reset, step over n_frames (any n_frames >= 1) frames (n_frames x\n"
            f" * {NAME}_INPUT_SIZE int8, frame-major), logits. Returns the argmax, -1 on bad arguments. */\n"
            f"int {name}_classify(const int8_t *frames, int n_frames, int8_t out[{NAME}_NUM_CLASSES]);\n" if e.stack == 1
            else f"/* Whole window: reset, n_frames / {NAME}_STACK cell steps over n_frames (any n_frames >= 1) frames\n"
            f" * (n_frames x {NAME}_INPUT_SIZE int8, frame-major; the trailing n_frames % {NAME}_STACK frames are\n"
            f" * not used, as {name}_step leaves them buffered), logits. Returns the argmax, -1 on bad arguments. */\n"
            f"int {name}_classify(const int8_t *frames, int n_frames, int8_t out[{NAME}_NUM_CLASSES]);\n",
        ]
    else:
        h += [
            f"/* This model cannot stream ({c_comment_text(info.streaming_reason)}): only the whole-window\n"
            f" * API exists ({name}_step, {name}_logits and {name}_state_t are not declared). */\n",
            "/* Work memory of one whole-window inference (activations at offsets fixed at export). */",
            decl,
            f"/* Whole window: n_frames must be {NAME}_WINDOW (frames: {NAME}_WINDOW x {NAME}_INPUT_SIZE int8,\n"
            + (f" * frame-major; every {NAME}_STACK frames are one cell step, the last {NAME}_WINDOW % {NAME}_STACK\n"
               f" * frames are not used" if e.stack > 1 else " * frame-major")
            + f"). Returns the argmax of out, -1 on bad arguments. The workspace lives on the\n"
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
    c += e.data.parts
    c += ["/* ======== inference (integer only) ======== */\n", code, "",
          "/* ======== float front end (the only floating-point code) ======== */\n", front, classes]
    source = "\n".join(c)
    return ModelSource(header=header, source=source, weights_bytes=e.data.weights_bytes, state_fields=fields,
                       arena_bytes=arena, workspace_bytes=ws)
