"""The .tflite reader on damaged files: only EdgelstmError comes out, and what loads simulates.

~2,000 mutations (fixed seed) of valid models: bit flips, random bytes, truncation, int32
overwrites with boundary values (offsets, lengths, shapes, indices), byte +-1, copied chunks.
For each, ``load_ir_from_bytes`` must either raise an :class:`EdgelstmError` subclass (a one-line
message for the CLI) or return a model the simulator runs without any other exception, with
warnings treated as errors (a RuntimeWarning would be an extra line on a user's terminal).

Then hand-made malformed files, each a regression of a reader bug found by mutation: a
flatbuffer whose offsets point outside the file, tensor shapes that do not match the op,
data sizes that do not match the shape, missing op inputs, non-UTF-8 custom op names, float
index tensors, GRU weights of the wrong type.
"""

from __future__ import annotations

import warnings
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from edgelstm.errors import EdgelstmError, ModelError
from edgelstm.model import Int8Model
from edgelstm.quantize.gru_quant import quantize_gru_spec
from edgelstm.quantize.keras_spec import LayerSpec, ModelSpec
from edgelstm.testing import SynthSpec, synth_lstm_tflite
from edgelstm.tflite.reader import load_ir_from_bytes, parse_flatbuffer
from edgelstm.tflite.schema import fb, op_name
from edgelstm.tflite.writer import embed_edgelstm_metadata, pack_model

from .conftest import DATA

N_MUTATIONS = 2000
SEED = 20240611


def _gru_model(seed: int, bidirectional: bool = False, reset_after: bool = True) -> bytes:
    r = np.random.default_rng(seed)
    T, F, U, C = 5, 3, 3, 3
    bias = r.normal(size=(2, 3 * U) if reset_after else (3 * U,)).astype(np.float32) * 0.2
    w = [r.normal(size=(F, 3 * U)).astype(np.float32) * 0.5, r.normal(size=(U, 3 * U)).astype(np.float32) * 0.5, bias]
    layers = [LayerSpec("gru", "gru", U, w + ([a.copy() for a in w] if bidirectional else []),
                        bidirectional=bidirectional, reset_after=reset_after)]
    width = 2 * U if bidirectional else U
    layers.append(LayerSpec("dense", "d", C, [r.normal(size=(width, C)).astype(np.float32),
                                              r.normal(size=C).astype(np.float32)], activation="softmax"))
    return quantize_gru_spec(ModelSpec(T, F, layers), r.normal(size=(20, T, F)).astype(np.float32))


def seed_models() -> list[bytes]:
    return [
        synth_lstm_tflite(SynthSpec(window=5, features=3, units=3, classes=3, seed=1)),
        synth_lstm_tflite(SynthSpec(window=4, features=2, units=[3, 2], layers=2, dense=[4], softmax=True, classes=3,
                                    seed=2)),
        synth_lstm_tflite(SynthSpec(window=4, features=2, units=2, bidirectional=True, classes=3, seed=3)),
        _gru_model(0),
        _gru_model(1, bidirectional=True, reset_after=False),
        (DATA / "conv_bilstm8.tflite").read_bytes(),  # the TFLite converter's own layout
    ]


_INTERESTING = (0, 1, 2, 3, 4, 8, 16, 100, 255, 256, 0xFFFF, 0x10000, 1 << 20, 1 << 28, 0x7FFFFFFF, -1, -2, -128,
                -(1 << 31))


def mutate(raw: bytes, rng: np.random.Generator) -> bytes:
    b = bytearray(raw)
    kind = int(rng.integers(0, 6))
    if kind == 0:  # bit flips
        for _ in range(int(rng.integers(1, 4))):
            i = int(rng.integers(0, len(b)))
            b[i] ^= 1 << int(rng.integers(0, 8))
    elif kind == 1:  # random bytes
        for _ in range(int(rng.integers(1, 4))):
            b[int(rng.integers(0, len(b)))] = int(rng.integers(0, 256))
    elif kind == 2:  # truncation
        b = b[: int(rng.integers(0, len(b)))]
    elif kind == 3:  # an aligned int32 (offset, length, shape, index) set to a boundary value
        i = int(rng.integers(0, len(b) // 4)) * 4
        v = int(rng.choice(_INTERESTING + (len(b), len(b) + 4, len(b) - 4)))
        b[i : i + 4] = (v & 0xFFFFFFFF).to_bytes(4, "little")
    elif kind == 4:  # one byte +-1
        i = int(rng.integers(0, len(b)))
        b[i] = (b[i] + int(rng.choice([1, 255]))) & 0xFF
    else:  # a chunk copied elsewhere
        n = int(rng.integers(1, 17))
        i, j = (int(rng.integers(0, max(1, len(b) - n))) for _ in range(2))
        b[j : j + n] = b[i : i + n]
    return bytes(b)


def check_one(raw: bytes, sim_seed: int) -> str:
    """'error' | 'loaded' (and simulated); anything else is a bug description."""
    stage = "load"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            qm = load_ir_from_bytes(raw, "fuzz.tflite")
            stage = "simulate"
            m = Int8Model(qm)
            if m.window * m.n_features > 1 << 16:
                return "loaded"  # a plausible but big input: loading was the point
            x = np.random.default_rng(sim_seed).integers(-128, 128, size=(2, m.window, m.n_features)).astype(np.int8)
            y = m.predict_int8(x)
            assert y.shape == (2, m.n_outputs) and y.dtype == np.int8
            xq = m.quantize_input(np.full((1, m.window, m.n_features), 1e3, np.float32))  # the float front end
            assert xq.dtype == np.int8
    except EdgelstmError:
        return "error" if stage == "load" else "error_in_simulate"
    except Exception as e:  # noqa: BLE001 - the point of the test
        import traceback

        tb = traceback.extract_tb(e.__traceback__)[-1]
        return f"BUG at {stage}: {type(e).__name__}: {str(e)[:120]} ({Path(tb.filename).name}:{tb.lineno})"
    return "loaded"


def _run_chunk(args) -> list[tuple[int, int, str]]:
    seeds, start, stop = args
    out = []
    for k in range(start, stop):
        rng = np.random.default_rng([SEED, k])
        si = int(rng.integers(0, len(seeds)))
        out.append((k, si, check_one(mutate(seeds[si], rng), k)))
    return out


def test_seeds_load_and_simulate():
    for raw in seed_models():
        assert check_one(raw, 0) == "loaded"


def test_mutated_models_raise_only_edgelstm_errors(capsys):
    seeds = seed_models()
    chunks = [(seeds, a, min(a + 250, N_MUTATIONS)) for a in range(0, N_MUTATIONS, 250)]
    with ProcessPoolExecutor(max_workers=2) as ex:
        results = [r for part in ex.map(_run_chunk, chunks) for r in part]
    assert len(results) == N_MUTATIONS
    outcome = Counter("bug" if r.startswith("BUG") else r for _, _, r in results)
    with capsys.disabled():
        print(f"\n[fuzz reader] {N_MUTATIONS} mutations of {len(seeds)} models (seed {SEED}): "
              f"{outcome['error']} refused with an EdgelstmError, {outcome['loaded']} loaded and simulated, "
              f"{outcome['error_in_simulate']} refused by the simulator, {outcome['bug']} other exceptions")
    bugs = [f"mutation {k} of seed {si}: {r}" for k, si, r in results if r.startswith("BUG")]
    assert not bugs, "\n".join(bugs[:20])
    assert outcome["error"] > N_MUTATIONS // 4 and outcome["loaded"] > N_MUTATIONS // 10  # both paths exercised


# --------------------------------------------------------------------------------------------
# Hand-made malformed files (regressions)


def _base() -> bytes:
    return synth_lstm_tflite(SynthSpec(window=5, features=3, units=3, classes=3, dense=[4], seed=1))


def _edit(raw: bytes, edit) -> bytes:
    model = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(bytearray(raw), 0))
    edit(model, model.subgraphs[0])
    return pack_model(model)


def _op(model, sg, name: str):
    return next(op for op in sg.operators if op_name(model, op) == name)


def _set_shape(sg, idx, shape):
    sg.tensors[idx].shape = np.asarray(shape, dtype=np.int32)


def _lstm_weight_shape(model, sg):
    t = int(_op(model, sg, "UNIDIRECTIONAL_SEQUENCE_LSTM").inputs[2])
    _set_shape(sg, t, [3, 4])  # (units, F + 1): consistent data, wrong for the op
    model.buffers[sg.tensors[t].buffer].data = np.ones(12, np.uint8)


def _lstm_output_shape(model, sg):
    _set_shape(sg, int(_op(model, sg, "UNIDIRECTIONAL_SEQUENCE_LSTM").outputs[0]), [1, 6, 3])


def _fc_weight_shape(model, sg):
    _set_shape(sg, int(_op(model, sg, "FULLY_CONNECTED").inputs[1]), [4, 2])


def _fc_bias_shape(model, sg):
    op = _op(model, sg, "FULLY_CONNECTED")
    sg.tensors[int(op.inputs[2])].shape = np.asarray([5], np.int32)


def _data_size(model, sg):
    t = sg.tensors[int(_op(model, sg, "UNIDIRECTIONAL_SEQUENCE_LSTM").inputs[5])]
    model.buffers[t.buffer].data = np.zeros(7, np.uint8)


def _fc_one_input(model, sg):
    op = _op(model, sg, "FULLY_CONNECTED")
    op.inputs = op.inputs[:1]


def _slice_two_inputs(model, sg):
    op = _op(model, sg, "STRIDED_SLICE")
    op.inputs = op.inputs[:2]


def _slice_float_begin(model, sg):
    t = sg.tensors[int(_op(model, sg, "STRIDED_SLICE").inputs[1])]
    t.type = fb.TensorType.FLOAT32
    model.buffers[t.buffer].data = np.frombuffer(np.array([np.nan, 0, 0], np.float32).tobytes(), np.uint8).copy()


def _lstm_missing_cell(model, sg):
    op = _op(model, sg, "UNIDIRECTIONAL_SEQUENCE_LSTM")
    op.inputs[19] = -1


def _op_tensor_out_of_range(model, sg):
    sg.operators[0].inputs[0] = len(sg.tensors) + 5


def _bad_opcode_index(model, sg):
    sg.operators[0].opcodeIndex = 99


def _custom_non_utf8(model, sg):
    oc = model.operatorCodes[sg.operators[0].opcodeIndex]
    oc.builtinCode = oc.deprecatedBuiltinCode = fb.BuiltinOperator.CUSTOM
    oc.customCode = b"\xed\xa0\x80GRU"


def _buffer_index(model, sg):
    sg.tensors[int(_op(model, sg, "FULLY_CONNECTED").inputs[1])].buffer = len(model.buffers) + 3


def _zero_scale(model, sg):
    sg.tensors[int(_op(model, sg, "UNIDIRECTIONAL_SEQUENCE_LSTM").inputs[1])].quantization.scale = np.zeros(1, np.float32)


def _nan_scale(model, sg):
    sg.tensors[sg.inputs[0]].quantization.scale = np.array([np.nan], np.float32)


def _huge_scale_ratio(model, sg):
    sg.tensors[int(_op(model, sg, "FULLY_CONNECTED").outputs[0])].quantization.scale = np.array([1e-30], np.float32)


def _no_subgraph_outputs(model, sg):
    sg.outputs = np.zeros(0, np.int32)


def _negative_dim(model, sg):
    _set_shape(sg, sg.inputs[0], [1, -1, 3])


def _huge_dim(model, sg):
    _set_shape(sg, sg.inputs[0], [1, 1 << 25, 3])


def _fc_becomes_mul(model, sg):
    # A Normalization layer converts to MUL/SUB ops: the refusal says so.
    oc = model.operatorCodes[_op(model, sg, "FULLY_CONNECTED").opcodeIndex]
    oc.builtinCode = oc.deprecatedBuiltinCode = fb.BuiltinOperator.MUL


def _float_input_int8_weights(model, sg):
    # What the converter's dynamic-range mode (weights-only int8) produces at the input.
    sg.tensors[sg.inputs[0]].type = fb.TensorType.FLOAT32


MALFORMED = {
    "MUL op (a Normalization layer inside the model)": (_fc_becomes_mul, "Normalization layer"),
    "float32 input with int8 weights (dynamic range)": (_float_input_int8_weights, "dynamic-range"),
    "LSTM weight shape does not match the input": (_lstm_weight_shape, "weights have shapes"),
    "LSTM output shape does not match T": (_lstm_output_shape, "output has shape"),
    "FULLY_CONNECTED weights do not match the input": (_fc_weight_shape, ""),
    "FULLY_CONNECTED bias shape": (_fc_bias_shape, ""),
    "buffer size does not match the shape": (_data_size, "bytes of data"),
    "FULLY_CONNECTED with one input": (_fc_one_input, "inputs"),
    "STRIDED_SLICE with two inputs": (_slice_two_inputs, "inputs"),
    "STRIDED_SLICE begin is float NaN": (_slice_float_begin, "expected integers"),
    "LSTM without its cell state": (_lstm_missing_cell, "required input"),
    "op refers to a tensor past the end": (_op_tensor_out_of_range, "refers to tensor"),
    "operator code index past the end": (_bad_opcode_index, "operator code index"),
    "custom op name not UTF-8": (_custom_non_utf8, "unsupported op"),
    "buffer index past the end": (_buffer_index, "buffer index"),
    "zero weight scale": (_zero_scale, "invalid quantization"),
    "NaN input scale": (_nan_scale, "invalid quantization"),
    "scale ratio beyond int32 multipliers": (_huge_scale_ratio, "out of range"),
    "no subgraph output": (_no_subgraph_outputs, "outputs"),
    "negative (dynamic) dimension": (_negative_dim, "dynamic shape"),
    "implausibly large dimension": (_huge_dim, "implausible shape"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_models_are_one_line_model_errors(case):
    edit, needle = MALFORMED[case]
    raw = _edit(_base(), edit)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(EdgelstmError) as e:
            load_ir_from_bytes(raw, "bad.tflite")
    msg = str(e.value)
    assert "\n" not in msg and "bad.tflite" in msg
    assert needle.lower() in msg.lower(), msg


def _u32(b: bytearray, at: int) -> int:
    return int.from_bytes(b[at : at + 4], "little")


def test_flatbuffer_with_wrong_offsets():
    """Offsets pointing outside the file (root, vtable, a vector) are one-line ModelErrors."""
    raw = bytearray(_base())
    root = _u32(raw, 0)
    cases = {}
    b = bytearray(raw)
    b[0:4] = (len(raw) + 100).to_bytes(4, "little")  # root table beyond the end
    cases["root offset"] = b
    b = bytearray(raw)
    b[root : root + 4] = (0x7FFFFFF0).to_bytes(4, "little")  # the root table's vtable offset
    cases["vtable offset"] = b
    b = bytearray(raw)
    b[0:4] = (len(raw) - 2).to_bytes(4, "little")  # root table straddling the end
    cases["root at the end"] = b
    # every uint32 field of the root table, set to just past the end of the file
    vt = root - int.from_bytes(raw[root : root + 4], "little", signed=True)
    n_fields = (int.from_bytes(raw[vt : vt + 2], "little") - 4) // 2
    for f in range(n_fields):
        off = int.from_bytes(raw[vt + 4 + 2 * f : vt + 6 + 2 * f], "little")
        if off:
            b = bytearray(raw)
            b[root + off : root + off + 4] = (len(raw)).to_bytes(4, "little")
            cases[f"root field {f}"] = b
    assert len(cases) >= 6
    for what, data in cases.items():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                load_ir_from_bytes(bytes(data), "offsets.tflite")
            except EdgelstmError as e:
                assert "\n" not in str(e)
                continue
        # a field that the reader does not need may survive; the model must then still be sane
        assert check_one(bytes(data), 0) in ("loaded", "error"), what


def test_parse_flatbuffer_rejects_garbage_quickly():
    for raw in (b"", b"TFL3", b"\0\0\0\0TFL3" + b"\xff" * 8, b"\x10\0\0\0TFL3" + bytes(8)):
        with pytest.raises(ModelError):
            load_ir_from_bytes(raw, "g.tflite")
    with pytest.raises(ModelError):
        parse_flatbuffer(b"\x08\0\0\0TFL3" + b"\xff" * 64, "g.tflite")


BAD_METADATA = {
    "fewer class names than outputs": ({"class_names": ["a", "b"]}, "2 class names for 3 outputs"),
    "class names not a list": ({"class_names": "abc"}, "class_names"),
    "feature names for other features": ({"feature_names": ["x"]}, "1 feature names"),
    "normalisation std zero": ({"normalization": {"mean": [0, 0], "std": [1, 0]}}, "not positive"),
    "normalisation mean NaN": ({"normalization": {"mean": [float("nan"), 0], "std": [1, 1]}}, "non-finite"),
    "normalisation as a list": ({"normalization": [1, 2]}, "not an object"),
    "normalisation of other length": ({"normalization": {"mean": [0, 0, 0], "std": [1, 1, 1]}}, "3 features"),
    "accuracy not an object": ({"accuracy": [1]}, "accuracy"),
}


@pytest.mark.parametrize("case", list(BAD_METADATA))
def test_corrupt_edgelstm_metadata_is_a_model_error(case):
    """A hand-edited metadata JSON gives one line naming the field (was a TypeError or a warning)."""
    meta, needle = BAD_METADATA[case]
    raw = embed_edgelstm_metadata(synth_lstm_tflite(SynthSpec(window=4, features=2, classes=3)), meta)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ModelError) as e:
            load_ir_from_bytes(raw, "meta.tflite")
    assert needle in str(e.value) and "meta.tflite" in str(e.value)
