"""Writing ``.tflite`` flatbuffers through the schema's object API.

Two uses: adding edgelstm's metadata (normalisation, class and feature names, accuracies) to a
converter-made model, and building models directly from int8 tensors (the GRU custom op, and
small single-op models the tests feed to TFLite Micro as an oracle).
"""

from __future__ import annotations

import flatbuffers
import numpy as np

from .metadata import METADATA_NAME, encode_metadata
from .schema import fb

_TYPES = {
    np.dtype(np.int8): fb.TensorType.INT8,
    np.dtype(np.int16): fb.TensorType.INT16,
    np.dtype(np.int32): fb.TensorType.INT32,
    np.dtype(np.int64): fb.TensorType.INT64,
    np.dtype(np.float32): fb.TensorType.FLOAT32,
    np.dtype(np.uint8): fb.TensorType.UINT8,
}


def pack_model(model) -> bytes:
    """Serialise a ``ModelT`` with the TFL3 file identifier."""
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def unpack_model(raw: bytes):
    """A ``.tflite`` as a mutable ``ModelT`` (edit, then ``pack_model``); trusted input only."""
    return fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(bytearray(raw), 0))


def _buffer(data: bytes | None):
    b = fb.BufferT()
    b.data = np.frombuffer(data, dtype=np.uint8).copy() if data else None
    return b


def set_metadata(model, name: str, payload: bytes) -> None:
    """Add (or replace) a named metadata entry pointing at a new buffer."""
    model.buffers = list(model.buffers or [])
    model.metadata = [m for m in (model.metadata or []) if (m.name.decode() if isinstance(m.name, bytes) else m.name) != name]
    model.buffers.append(_buffer(payload))
    md = fb.MetadataT()
    md.name = name
    md.buffer = len(model.buffers) - 1
    model.metadata.append(md)


def embed_edgelstm_metadata(raw: bytes, meta: dict) -> bytes:
    """Return ``raw`` (.tflite) with ``meta`` stored as JSON under the metadata name 'edgelstm'."""
    model = unpack_model(raw)
    set_metadata(model, METADATA_NAME, encode_metadata(meta))
    return pack_model(model)


class ModelBuilder:
    """A small builder for single-subgraph int8 models."""

    def __init__(self, description: str = "edgelstm"):
        self.model = fb.ModelT()
        self.model.version = 3
        self.model.description = description
        self.model.buffers = [_buffer(None)]  # buffer 0 is the empty sentinel
        self.model.operatorCodes = []
        self.sg = fb.SubGraphT()
        self.sg.tensors = []
        self.sg.operators = []
        self.sg.name = "main"
        self._codes: dict[tuple, int] = {}

    def tensor(self, name: str, shape, dtype, scale=None, zero_point=None, data: np.ndarray | None = None,
               is_variable: bool = False, quantized_dimension: int = 0) -> int:
        t = fb.TensorT()
        t.name = name
        t.shape = np.asarray(shape, dtype=np.int32)
        t.type = _TYPES[np.dtype(dtype)]
        if data is not None:
            arr = np.ascontiguousarray(np.asarray(data, dtype=dtype)).reshape(shape)
            self.model.buffers.append(_buffer(arr.tobytes()))
            t.buffer = len(self.model.buffers) - 1
        else:
            self.model.buffers.append(_buffer(None))
            t.buffer = len(self.model.buffers) - 1
        if scale is not None:
            q = fb.QuantizationParametersT()
            q.scale = np.atleast_1d(np.asarray(scale, dtype=np.float32))
            zp = np.zeros(len(q.scale), dtype=np.int64) if zero_point is None else np.atleast_1d(np.asarray(zero_point, dtype=np.int64))
            q.zeroPoint = zp
            q.quantizedDimension = quantized_dimension
            t.quantization = q
        t.isVariable = is_variable
        self.sg.tensors.append(t)
        return len(self.sg.tensors) - 1

    def _opcode(self, builtin: int | None, custom: str | None, version: int) -> int:
        key = (builtin, custom, version)
        if key not in self._codes:
            oc = fb.OperatorCodeT()
            if custom is not None:
                oc.builtinCode = fb.BuiltinOperator.CUSTOM
                oc.deprecatedBuiltinCode = fb.BuiltinOperator.CUSTOM
                oc.customCode = custom
            else:
                oc.builtinCode = builtin
                oc.deprecatedBuiltinCode = min(builtin, 127)
            oc.version = version
            self.model.operatorCodes.append(oc)
            self._codes[key] = len(self.model.operatorCodes) - 1
        return self._codes[key]

    def op(self, inputs, outputs, *, builtin: int | None = None, custom: str | None = None,
           options_type: int = 0, options=None, custom_options: bytes | None = None, version: int = 1,
           intermediates=None) -> None:
        o = fb.OperatorT()
        if intermediates is not None:
            o.intermediates = np.asarray(intermediates, dtype=np.int32)
        o.opcodeIndex = self._opcode(builtin, custom, version)
        o.inputs = np.asarray(inputs, dtype=np.int32)
        o.outputs = np.asarray(outputs, dtype=np.int32)
        if options is not None:
            o.builtinOptionsType = options_type
            o.builtinOptions = options
        if custom_options is not None:
            o.customOptions = np.frombuffer(custom_options, dtype=np.uint8).copy()
            o.customOptionsFormat = fb.CustomOptionsFormat.FLEXBUFFERS
        self.sg.operators.append(o)

    def finish(self, inputs, outputs, metadata: dict | None = None) -> bytes:
        self.sg.inputs = np.asarray(inputs, dtype=np.int32)
        self.sg.outputs = np.asarray(outputs, dtype=np.int32)
        self.model.subgraphs = [self.sg]
        if metadata is not None:
            set_metadata(self.model, METADATA_NAME, encode_metadata(metadata))
        return pack_model(self.model)


class GraphWriter(ModelBuilder):
    """Builds the classifier graph the TFLite converter would: the same ops in the same layout.

    Recurrent layers output whole sequences; the last time step is taken by STRIDED_SLICE and a
    bidirectional layer is REVERSE_V2 -> layer (-> REVERSE_V2) joined by CONCATENATION, so
    models written here and converter-made models read into the same IR.
    """

    def __init__(self, description: str = "edgelstm"):
        super().__init__(description)
        self._n = 0
        self._i32: dict[tuple, int] = {}

    def name(self, base: str) -> str:
        self._n += 1
        return f"{base}_{self._n}"

    def act(self, shape, scale: float, zp: int, base: str = "act", dtype=np.int8) -> int:
        return self.tensor(self.name(base), [1, *shape], dtype, scale=scale, zero_point=zp)

    def const_i32(self, values) -> int:
        v = np.asarray(values, dtype=np.int32)
        key = tuple(v.tolist())
        if key not in self._i32:
            self._i32[key] = self.tensor(self.name("const"), [len(v)], np.int32, data=v)
        return self._i32[key]

    def reverse_time(self, x: int, shape, scale: float, zp: int) -> int:
        out = self.act(shape, scale, zp, "reverse")
        self.op([x, self.const_i32([1])], [out], builtin=fb.BuiltinOperator.REVERSE_V2)
        return out

    def last_step(self, x: int, units: int, scale: float, zp: int) -> int:
        out = self.act([units], scale, zp, "last")
        opts = fb.StridedSliceOptionsT()
        opts.beginMask, opts.endMask, opts.shrinkAxisMask = 5, 5, 2
        self.op([x, self.const_i32([0, -1, 0]), self.const_i32([0, 0, 0]), self.const_i32([1, 1, 1])], [out],
                builtin=fb.BuiltinOperator.STRIDED_SLICE, options_type=fb.BuiltinOptions.StridedSliceOptions,
                options=opts)
        return out

    def concat(self, xs: list[int], shape, scale: float, zp: int) -> int:
        out = self.act(shape, scale, zp, "concat")
        opts = fb.ConcatenationOptionsT()
        opts.axis = len(shape)  # the last axis of [1, *shape]
        self.op(xs, [out], builtin=fb.BuiltinOperator.CONCATENATION,
                options_type=fb.BuiltinOptions.ConcatenationOptions, options=opts)
        return out

    def dense(self, x: int, weights_q: np.ndarray, w_scales: np.ndarray, bias_q: np.ndarray | None, x_scale: float,
              out_scale: float, out_zp: int, relu: bool) -> int:
        """FULLY_CONNECTED with per-channel int8 weights (out, in) and int32 bias (scale s_x * s_w)."""
        O, K = weights_q.shape
        w_scales = np.asarray(w_scales, dtype=np.float32)
        W = self.tensor(self.name("fc_w"), [O, K], np.int8, scale=w_scales, zero_point=np.zeros(O, np.int64),
                        data=weights_q)
        ins = [x, W]
        if bias_q is not None:
            ins.append(self.tensor(self.name("fc_b"), [O], np.int32, scale=np.float32(x_scale) * w_scales,
                                   zero_point=np.zeros(O, np.int64), data=bias_q))
        else:
            ins.append(-1)
        out = self.act([O], out_scale, out_zp, "fc_out")
        opts = fb.FullyConnectedOptionsT()
        opts.fusedActivationFunction = fb.ActivationFunctionType.RELU if relu else fb.ActivationFunctionType.NONE
        self.op(ins, [out], builtin=fb.BuiltinOperator.FULLY_CONNECTED,
                options_type=fb.BuiltinOptions.FullyConnectedOptions, options=opts, version=4)
        return out

    def softmax(self, x: int, classes: int) -> int:
        out = self.tensor(self.name("probs"), [1, classes], np.int8, scale=1.0 / 256, zero_point=-128)
        opts = fb.SoftmaxOptionsT()
        opts.beta = 1.0
        self.op([x], [out], builtin=fb.BuiltinOperator.SOFTMAX, options_type=fb.BuiltinOptions.SoftmaxOptions,
                options=opts)
        return out
