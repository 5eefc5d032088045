"""Reading an int8 ``.tflite`` into the IR: TFLite Micro's *Prepare*, done once in Python.

Accepts what the standard TFLite converter makes of a tf-keras classifier (input ``[1, T, F]``,
stacked / bidirectional LSTM layers as ``UNIDIRECTIONAL_SEQUENCE_LSTM``, ``REVERSE_V2``,
``STRIDED_SLICE``, ``CONCATENATION``, a fully-connected head, optional ``SOFTMAX``), plus
edgelstm's own GRU custom op. Every scale, multiplier and shift is computed exactly as the
TFLM kernel's Prepare computes it (:mod:`edgelstm.prepare`, which names the function each
line reproduces). Supporting one more op is one entry in :data:`OP_READERS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import EdgelstmError, ModelError, UnsupportedError
from ..fsutil import require_file, sha256_file
from ..ir import QuantModel
from .copy_ops import read_concat, read_reshape, read_reverse, read_strided_slice
from .dense_ops import read_dequantize, read_fully_connected, read_quantize, read_softmax
from .graph import TfliteGraph
from .gru_op import GRU_CUSTOM_CODE, GRU_N_INPUTS, GRU_OPTIONAL_INPUTS, check_gru_tensor_types, read_gru_op
from .ir_builder import IrBuilder
from .lstm_op import LSTM_N_INPUTS, LSTM_OPTIONAL_INPUTS, read_lstm
from .metadata import check_info_matches, model_info_from_metadata, read_metadata
from .schema import fb

SUPPORTED_OPS = (
    "UNIDIRECTIONAL_SEQUENCE_LSTM, FULLY_CONNECTED, SOFTMAX, STRIDED_SLICE, REVERSE_V2, "
    "CONCATENATION, RESHAPE, QUANTIZE, DEQUANTIZE and edgelstm's GRU"
)
RECURRENT_OPS = ("UNIDIRECTIONAL_SEQUENCE_LSTM", GRU_CUSTOM_CODE)


@dataclass(frozen=True)
class OpReader:
    """How one op kind of the file is read: ``read(builder, op, n, name)`` appends its IR op.

    ``min_inputs``/``max_inputs`` bound the op's input count, ``optional`` lists input positions
    that may be -1 (absent), and ``check`` (if any) runs on every op of the kind before any op
    is read (element types the reader casts).
    """

    read: Callable
    min_inputs: int
    max_inputs: int
    optional: frozenset = frozenset()
    check: Callable | None = None


OP_READERS: dict[str, OpReader] = {
    "UNIDIRECTIONAL_SEQUENCE_LSTM": OpReader(read_lstm, LSTM_N_INPUTS, LSTM_N_INPUTS, LSTM_OPTIONAL_INPUTS),
    "FULLY_CONNECTED": OpReader(read_fully_connected, 2, 3, frozenset({2})),
    "SOFTMAX": OpReader(read_softmax, 1, 1),
    "STRIDED_SLICE": OpReader(read_strided_slice, 3, 4, frozenset({3})),
    "REVERSE_V2": OpReader(read_reverse, 2, 2),
    "CONCATENATION": OpReader(read_concat, 1, 64),
    "RESHAPE": OpReader(read_reshape, 1, 2, frozenset({1})),
    "SQUEEZE": OpReader(read_reshape, 1, 1),
    "QUANTIZE": OpReader(read_quantize, 1, 1),
    "DEQUANTIZE": OpReader(read_dequantize, 1, 1),
    GRU_CUSTOM_CODE: OpReader(read_gru_op, GRU_N_INPUTS, GRU_N_INPUTS, GRU_OPTIONAL_INPUTS, check_gru_tensor_types),
}


def parse_flatbuffer(raw: bytes, path: str = "<bytes>"):
    """Unpack a ``.tflite`` into the schema's object API, with a one-line error on bad input."""
    if len(raw) < 16:
        raise ModelError(f"'{path}' is too small to be a .tflite model ({len(raw)} bytes)")
    if raw[4:8] != b"TFL3":
        kind = "a PNG image" if raw[:8] == b"\x89PNG\r\n\x1a\n" else ("a zip archive (.keras/.npz?)" if raw[:2] == b"PK" else "not a TFLite flatbuffer")
        raise ModelError(f"'{path}' is not a .tflite model ({kind})")
    try:
        model = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(bytearray(raw), 0))
    except Exception as e:  # noqa: BLE001 - the flatbuffers library raises many kinds
        why = "an offset points outside the file" if type(e).__name__ in ("error", "IndexError") else type(e).__name__
        raise ModelError(
            f"'{path}' is a corrupt or truncated .tflite file ({why})", "export or download the model again"
        ) from None
    return model


def load_ir_from_bytes(raw: bytes, path: str = "<bytes>", *, classifier: bool = True) -> QuantModel:
    """Parse and prepare; ``classifier=False`` also accepts a sequence output (tests, analysis).

    Every problem is an :class:`EdgelstmError` whose message names the file.
    """
    try:
        return _load_ir_from_bytes(raw, path, classifier=classifier)
    except EdgelstmError as e:
        if f"'{path}'" in str(e):
            raise
        raise type(e)(f"'{path}': {e}") from None


def load_ir(path: str | Path) -> QuantModel:
    """Read ``path`` (.tflite) into a :class:`QuantModel` (raises ModelError on any problem)."""
    p = require_file(path, "model file")
    raw = p.read_bytes()
    qm = load_ir_from_bytes(raw, str(p))
    qm.source_path = str(p)
    qm.source_sha256 = sha256_file(p)
    return qm


def _load_ir_from_bytes(raw: bytes, path: str, *, classifier: bool) -> QuantModel:
    model = parse_flatbuffer(raw, path)
    g = TfliteGraph(model, path, raw)
    names = check_structure(g)
    model_input, model_output = _int8_ends(g, names)
    r = IrBuilder(g)
    in_key = r.act(model_input, "model input")
    if len(r.tensors[in_key].shape) != 2:
        raise UnsupportedError(f"'{path}' input has shape {[1, *r.tensors[in_key].shape]}; edgelstm needs [1, T, F]")
    g.check_int8(model_input, "model input")
    for n, (op, name) in enumerate(zip(g.sg.operators, names)):
        OP_READERS[name].read(r, op, n, name)
    out_key = r.act(model_output, "model output")
    g.check_int8(model_output, "model output")
    check_graph(r, in_key, out_key, path, classifier)
    qm = QuantModel(tensors=r.tensors, ops=r.ops, input=in_key, output=out_key,
                    info=model_info_from_metadata(read_metadata(model)))
    qm.info.extra.setdefault("reader_notes", r.notes)
    check_info_matches(qm.info, qm.n_features, qm.n_outputs, path, classifier, window=qm.window)
    return qm


def check_structure(g: TfliteGraph) -> list[str]:
    """One subgraph input and output, valid indices, supported ops with their inputs present.

    Returns the op names in file order. Runs before any op is read, so a malformed file is
    refused as a whole rather than half-read.
    """
    path, sg = g.path, g.sg
    if sg.inputs is None or len(sg.inputs) != 1:
        raise UnsupportedError(f"'{path}' has {0 if sg.inputs is None else len(sg.inputs)} inputs; edgelstm needs one input [1, T, F]")
    if sg.outputs is None or len(sg.outputs) != 1:
        raise UnsupportedError(f"'{path}' has {0 if sg.outputs is None else len(sg.outputs)} outputs; edgelstm needs one")
    ops = list(sg.operators or [])
    if not ops:
        raise ModelError(f"'{path}' has no operators")
    n_codes = len(g.model.operatorCodes or [])
    for n, op in enumerate(ops):
        if op.opcodeIndex is None or not 0 <= op.opcodeIndex < n_codes:
            raise ModelError(f"'{path}' is malformed: op {n} has an invalid operator code index")
        if op.inputs is None or op.outputs is None or len(op.outputs) == 0:
            raise ModelError(f"'{path}' is malformed: op {n} has no inputs or outputs")
        for i in list(op.inputs) + list(op.outputs):
            if int(i) >= len(g.tensors) or int(i) < -1:
                raise ModelError(f"'{path}' is malformed: op {n} refers to tensor {int(i)} of {len(g.tensors)}")
    names = [g.op_name(op) for op in ops]
    bad = sorted({n for n in names if n not in OP_READERS})
    if bad:
        hint = f"edgelstm supports {SUPPORTED_OPS}"
        if {"MUL", "SUB"} & set(bad) and len(set(bad) - {"MUL", "SUB", "ADD", "DIV", "RSQRT", "SQRT", "MAXIMUM"}) == 0:
            # What a Keras/tf-keras Normalization layer converts to: x * (1/std) - mean/std.
            hint = ("these ops usually come from a Normalization layer inside the model: convert the model "
                    "without it and normalise the data before it (edgelstm train/quantize keep the "
                    f"normalisation as metadata); edgelstm supports {SUPPORTED_OPS}")
        raise UnsupportedError(f"'{path}' uses unsupported op(s): {', '.join(bad)}", hint)
    for n, (op, name) in enumerate(zip(ops, names)):
        spec = OP_READERS[name]
        if not spec.min_inputs <= len(op.inputs) <= spec.max_inputs:
            raise ModelError(f"'{path}' is malformed: {name} op {n} has {len(op.inputs)} inputs")
        required = [op.inputs[i] for i in range(len(op.inputs)) if i not in spec.optional]
        if any(int(i) < 0 for i in required) or any(int(i) < 0 for i in op.outputs):
            raise ModelError(f"'{path}' is malformed: {name} op {n} lacks a required input or output tensor")
        if spec.check is not None:
            spec.check(g, op, n)
    if not any(n in RECURRENT_OPS for n in names):
        raise UnsupportedError(f"'{path}' has no LSTM/GRU layer", "edgelstm handles recurrent classifiers")
    return names


def _int8_ends(g: TfliteGraph, names: list[str]) -> tuple[int, int]:
    """The int8 tensors the IR starts and ends at: past a float input's QUANTIZE and before a
    float output's DEQUANTIZE (a float model or a weights-only quantized one is refused)."""
    path, ops = g.path, g.sg.operators
    in_idx, out_idx = int(g.sg.inputs[0]), int(g.sg.outputs[0])
    model_input = in_idx
    if g.type_name(in_idx) == "FLOAT32":
        first = ops[0]
        if names[0] == "QUANTIZE" and int(first.inputs[0]) == in_idx:
            model_input = int(first.outputs[0])
        else:
            if any(g.type_name(t) == "INT8" for t in range(len(g.tensors))):
                raise ModelError(f"'{path}' has a float32 input (no QUANTIZE) and int8 weights: a dynamic-range "
                                 "(weights-only) quantized model",
                                 "edgelstm needs full int8 quantization (int8 activations from a representative "
                                 "dataset): run `edgelstm quantize MODEL.keras --data DATA`")
            raise ModelError(f"'{path}' is a float model (float32 input without QUANTIZE)", "quantize it to int8 first")
    model_output = out_idx
    if g.type_name(out_idx) == "FLOAT32":
        last = ops[-1]
        if names[-1] == "DEQUANTIZE" and int(last.outputs[0]) == out_idx:
            model_output = int(last.inputs[0])
        else:
            raise ModelError(f"'{path}' is a float model (float32 output without DEQUANTIZE)", "quantize it to int8 first")
    return model_input, model_output


def check_graph(r: IrBuilder, in_key: str, out_key: str, path: str, classifier: bool = True) -> None:
    """Every op reads tensors produced earlier; the output is produced; output is a vector."""
    produced = {in_key}
    for op in r.ops:
        srcs = op.inputs if op.kind == "concat" else [op.input]
        for s in srcs:
            if s not in produced:
                raise ModelError(f"'{path}': op {op.name} reads tensor '{r.tensors[s].name}' before it is computed")
        produced.add(op.output)
    if out_key not in produced:
        raise ModelError(f"'{path}': the model output is not computed by any supported op")
    shp = r.tensors[out_key].shape
    if classifier and len(shp) != 1:
        raise UnsupportedError(
            f"'{path}': the model output has shape {[1, *shp]}; edgelstm needs a classifier output [1, C]",
            "end the model with return_sequences=False and a Dense head",
        )
