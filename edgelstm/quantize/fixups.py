"""Post-conversion repairs of the TFLite converter's quantization parameters.

The converter calibrates an LSTM's hidden-state tensor (the op's input 18, a variable tensor)
separately from the op's output tensor, and gives copy ops (REVERSE_V2, STRIDED_SLICE) outputs
quantized unlike their inputs. TFLite Micro takes the file literally: the LSTM writes its
hidden state with the hidden tensor's scale and zero point, the next op reads the bytes with
the output tensor's, and a copy op moves bytes between tensors that mean different numbers —
a systematic error (seen: offsets of 2 to 29 LSB and 26 % scale errors on bidirectional
models). edgelstm's simulator and C reproduce that error exactly, as they must for a file
someone else made; for the files `edgelstm quantize` writes, this module removes it:

1. a copy op's input takes the copy's output quantization when the input is an LSTM output
   (the consumers downstream, e.g. a CONCATENATION that needs equal scales, keep theirs);
2. every LSTM's hidden-state tensor takes the quantization of the LSTM's output tensor, so the
   bytes the LSTM writes are read with the scale they were written with.

The LSTM's multipliers are recomputed from the tensors by TFLite Micro's Prepare (and by
edgelstm's reader), so the file stays self-consistent and TFLM runs it unchanged.
"""

from __future__ import annotations

import numpy as np

from ..tflite.lstm_op import LSTM_HIDDEN
from ..tflite.schema import fb, op_name
from ..tflite.writer import pack_model, unpack_model

_COPY_OPS = ("REVERSE_V2", "STRIDED_SLICE", "RESHAPE", "SQUEEZE")
_LSTM = "UNIDIRECTIONAL_SEQUENCE_LSTM"


def _q(t):
    q = t.quantization
    if q is None or q.scale is None or len(q.scale) != 1:
        return None
    zp = q.zeroPoint if q.zeroPoint is not None and len(q.zeroPoint) else np.zeros(1, np.int64)
    return float(np.float32(q.scale[0])), int(zp[0])


def _set_q(t, scale: float, zp: int) -> None:
    q = fb.QuantizationParametersT()
    q.scale = np.array([scale], dtype=np.float32)
    q.zeroPoint = np.array([zp], dtype=np.int64)
    q.quantizedDimension = 0
    t.quantization = q


def harmonize_lstm_quantization(raw: bytes) -> tuple[bytes, list[str]]:
    """Return the repaired model and a list of what changed (empty: nothing to repair)."""
    model = unpack_model(raw)
    sg = model.subgraphs[0]
    ops = list(sg.operators or [])
    names = [op_name(model, op) for op in ops]
    producer = {int(o): n for n, op in enumerate(ops) for o in op.outputs}
    changes: list[str] = []
    for _ in range(len(ops) + 1):  # propagate backwards through chains of copies
        changed = False
        for n, (op, name) in enumerate(zip(ops, names)):
            if name not in _COPY_OPS:
                continue
            src, dst = int(op.inputs[0]), int(op.outputs[0])
            qs, qd = _q(sg.tensors[src]), _q(sg.tensors[dst])
            p = producer.get(src)
            if qs is None or qd is None or qs == qd or p is None or names[p] not in (_LSTM, *_COPY_OPS):
                continue
            _set_q(sg.tensors[src], *qd)
            changes.append(f"op {p} output takes the quantization of {name} op {n}'s output (scale {qd[0]:.6g}, zp {qd[1]})")
            changed = True
        if not changed:
            break
    for n, (op, name) in enumerate(zip(ops, names)):
        if name != _LSTM or len(op.inputs) <= LSTM_HIDDEN or op.inputs[LSTM_HIDDEN] < 0:
            continue
        h, o = sg.tensors[int(op.inputs[LSTM_HIDDEN])], sg.tensors[int(op.outputs[0])]
        qh, qo = _q(h), _q(o)
        if qh is None or qo is None or qh == qo:
            continue
        _set_q(h, *qo)
        changes.append(f"LSTM op {n}: hidden state takes its output's quantization (scale {qo[0]:.6g}, zp {qo[1]}; "
                       f"was {qh[0]:.6g}, {qh[1]})")
        if op.intermediates is not None and len(op.intermediates) == 5:  # LiteRT's effective hidden scale
            inter = sg.tensors[int(op.intermediates[4])]
            if _q(inter) is not None:
                _set_q(inter, *qo)
    if not changes:
        return raw, []
    return pack_model(model), changes
