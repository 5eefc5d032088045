"""The post-conversion repair of the converter's inconsistent LSTM quantization."""

from __future__ import annotations

import numpy as np

from edgelstm.model import Int8Model
from edgelstm.oracles import compare, tflm_predict
from edgelstm.quantize.fixups import harmonize_lstm_quantization
from edgelstm.testing import random_int8_inputs
from edgelstm.tflite.reader import load_ir_from_bytes, parse_flatbuffer
from edgelstm.tflite.schema import op_name

from .conftest import DATA, need_tflm


def _lstm_quant_pairs(raw: bytes):
    mo = parse_flatbuffer(raw)
    sg = mo.subgraphs[0]
    for op in sg.operators:
        if op_name(mo, op) == "UNIDIRECTIONAL_SEQUENCE_LSTM":
            h, o = sg.tensors[op.inputs[18]].quantization, sg.tensors[op.outputs[0]].quantization
            yield (float(h.scale[0]), int(h.zeroPoint[0])), (float(o.scale[0]), int(o.zeroPoint[0]))


def test_repairs_bidirectional_converter_models_and_stays_bit_exact():
    need_tflm()
    for name, expect_changes in (("conv_bistack2_lstm8", 5), ("conv_bilstm8", 1), ("conv_stack2_lstm8", 0)):
        raw = (DATA / f"{name}.tflite").read_bytes()
        assert any(h != o for h, o in _lstm_quant_pairs(raw)) == (expect_changes > 0)
        fixed, changes = harmonize_lstm_quantization(raw)
        assert len(changes) == expect_changes, changes
        assert all(h == o for h, o in _lstm_quant_pairs(fixed))
        m = Int8Model(load_ir_from_bytes(fixed))
        assert m.ir.info.extra.get("reader_notes") == []  # no copy op reinterprets bytes any more
        xq = random_int8_inputs(1000, m.window, m.n_features, seed=4, kind="extremes")
        assert compare(m.predict_int8(xq), tflm_predict(fixed, xq))["mismatched_bytes"] == 0
        again, more = harmonize_lstm_quantization(fixed)
        assert more == [] and again == fixed


def test_repair_changes_numbers_only_where_the_file_was_inconsistent():
    raw = (DATA / "conv_bistack2_lstm8.tflite").read_bytes()
    fixed, _ = harmonize_lstm_quantization(raw)
    a, b = Int8Model(load_ir_from_bytes(raw)), Int8Model(load_ir_from_bytes(fixed))
    xq = random_int8_inputs(200, a.window, a.n_features, seed=1)
    # weights and biases untouched; the outputs move (the systematic error is gone)
    assert [op.kind for op in a.ir.ops] == [op.kind for op in b.ir.ops]
    assert not np.array_equal(a.predict_int8(xq), b.predict_int8(xq))
