"""Checked access to a parsed ``.tflite``: tensors, their quantization, constant data, op names.

The flatbuffer is unpacked by the schema's object API (``reader.parse_flatbuffer``); this class
adds the checks a corrupt or foreign file needs, so every problem is a one-line ModelError that
names the file and the tensor.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ModelError, UnsupportedError
from .schema import TENSOR_TYPE_NAMES, builtin_code, fb, op_name

MAX_DIM = 1 << 20  # no dimension of a microcontroller model comes near this
MAX_ELEMENTS = 1 << 28

DTYPES = {
    fb.TensorType.INT8: np.int8,
    fb.TensorType.INT16: np.int16,
    fb.TensorType.INT32: np.int32,
    fb.TensorType.INT64: np.int64,
    fb.TensorType.UINT8: np.uint8,
    fb.TensorType.FLOAT32: np.float32,
}


class TfliteGraph:
    """Checked access to one subgraph's tensors and buffers (every bad index or size is a ModelError)."""

    def __init__(self, model, path: str, raw: bytes):
        self.model = model
        self.path = path
        self.raw = raw
        if not model.subgraphs:
            raise ModelError(f"'{path}' has no subgraph")
        self.sg = model.subgraphs[0]
        self.tensors = self.sg.tensors or []
        self.buffers = model.buffers or []

    def tensor(self, idx: int):
        if idx is None or idx < 0 or idx >= len(self.tensors):
            raise ModelError(f"'{self.path}' is malformed: tensor index {idx} out of range")
        return self.tensors[idx]

    def name(self, idx: int) -> str:
        t = self.tensor(idx)
        n = t.name.decode(errors="replace") if isinstance(t.name, bytes) else str(t.name or "")
        return n or f"tensor_{idx}"

    def shape(self, idx: int) -> tuple[int, ...]:
        t = self.tensor(idx)
        shp = tuple(int(d) for d in (t.shape if t.shape is not None else ()))
        if len(shp) > 6 or any(d > MAX_DIM for d in shp) or int(np.prod(shp, dtype=np.float64)) > MAX_ELEMENTS:
            raise ModelError(f"'{self.path}': tensor '{self.name(idx)}' has an implausible shape {list(shp)} (corrupt model?)")
        if any(d < 0 for d in shp):
            raise ModelError(f"'{self.path}': tensor '{self.name(idx)}' has a dynamic shape {shp}", "export with a fixed batch size of 1")
        return shp

    def type_name(self, idx: int) -> str:
        return TENSOR_TYPE_NAMES.get(self.tensor(idx).type, str(self.tensor(idx).type))

    def quant(self, idx: int) -> tuple[np.ndarray, np.ndarray]:
        q = self.tensor(idx).quantization
        if q is None or q.scale is None or len(q.scale) == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        scale = np.asarray(q.scale, dtype=np.float32)
        zp = np.asarray(q.zeroPoint if q.zeroPoint is not None else np.zeros(len(scale)), dtype=np.int64)
        if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
            raise ModelError(f"'{self.path}': tensor '{self.name(idx)}' has invalid quantization scales")
        if len(zp) not in (0, 1, len(scale)):
            raise ModelError(f"'{self.path}': tensor '{self.name(idx)}' has {len(zp)} zero points for {len(scale)} scales")
        if np.any(np.abs(zp) > 65535):
            raise ModelError(f"'{self.path}': tensor '{self.name(idx)}' has an invalid zero point")
        return scale, zp

    def scale_zp(self, idx: int, what: str) -> tuple[float, int]:
        scale, zp = self.quant(idx)
        if len(scale) == 0:
            raise ModelError(f"'{self.path}': {what} tensor '{self.name(idx)}' has no quantization parameters")
        if len(scale) != 1:
            raise UnsupportedError(f"'{self.path}': {what} tensor '{self.name(idx)}' is quantized per channel")
        s = float(scale[0])
        if not (math.isfinite(s) and s > 0):
            raise ModelError(f"'{self.path}': {what} tensor '{self.name(idx)}' has an invalid scale {s}")
        return s, int(zp[0]) if len(zp) else 0

    def data(self, idx: int) -> np.ndarray | None:
        """Constant data of a tensor (None for activations), checked against its shape."""
        t = self.tensor(idx)
        if t.buffer is None or t.buffer <= 0:
            return None
        if t.buffer >= len(self.buffers):
            raise ModelError(f"'{self.path}' is malformed: buffer index {t.buffer} out of range")
        buf = self.buffers[t.buffer]
        raw = None
        if buf.data is not None and len(buf.data):
            raw = np.asarray(buf.data, dtype=np.uint8).tobytes()
        elif buf.offset and buf.offset > 1 and buf.size:
            if buf.offset + buf.size > len(self.raw):
                raise ModelError(f"'{self.path}' is truncated: buffer {t.buffer} lies beyond the end of the file")
            raw = self.raw[buf.offset : buf.offset + buf.size]
        if raw is None:
            return None
        dtype = DTYPES.get(t.type)
        if dtype is None:
            raise UnsupportedError(f"'{self.path}': tensor '{self.name(idx)}' has unsupported type {self.type_name(idx)}")
        shape = self.shape(idx)
        n = int(np.prod(shape)) if shape else 1
        if len(raw) != n * np.dtype(dtype).itemsize:
            raise ModelError(
                f"'{self.path}' is malformed: tensor '{self.name(idx)}' of shape {shape} has "
                f"{len(raw)} bytes of data, expected {n * np.dtype(dtype).itemsize}"
            )
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()

    def const(self, idx: int, what: str) -> np.ndarray:
        d = self.data(idx)
        if d is None:
            raise ModelError(f"'{self.path}': {what} '{self.name(idx)}' should be a constant tensor but has no data")
        return d

    def int_const(self, idx: int, what: str) -> np.ndarray:
        """A constant index tensor (slice bounds, axes): integer type, as int64."""
        d = self.const(idx, what)
        if d.dtype.kind not in "iu":
            raise ModelError(f"'{self.path}': {what} '{self.name(idx)}' is {self.type_name(idx)}, expected integers")
        return d.astype(np.int64)

    def check_int8(self, idx: int, what: str) -> None:
        """Refuse a tensor that is not int8 (a float32 one means the model is not quantized)."""
        tn = self.type_name(idx)
        if tn != "INT8":
            if tn == "FLOAT32":
                raise ModelError(
                    f"'{self.path}' is not a full-integer int8 model ({what} '{self.name(idx)}' is float32)",
                    "quantize it with `edgelstm quantize` or the TFLite converter with int8 input/output",
                )
            raise UnsupportedError(f"'{self.path}': {what} '{self.name(idx)}' is {tn}; edgelstm needs int8 here")

    def op_name(self, op) -> str:
        """``op_name`` that survives a custom-op name which is not UTF-8 (corrupt or foreign file)."""
        opcode = self.model.operatorCodes[op.opcodeIndex]
        cc = opcode.customCode
        if builtin_code(opcode) == fb.BuiltinOperator.CUSTOM and isinstance(cc, bytes):
            return cc.decode("utf-8", errors="replace") or "CUSTOM"
        return op_name(self.model, op)
