"""Reading an int8 ``.tflite`` into the IR: TFLite Micro's *Prepare*, done once in Python.

Accepts what the standard TFLite converter makes of a tf-keras classifier (input ``[1, T, F]``,
stacked / bidirectional LSTM layers as ``UNIDIRECTIONAL_SEQUENCE_LSTM``, ``REVERSE_V2``,
``STRIDED_SLICE``, ``CONCATENATION``, a fully-connected head, optional ``SOFTMAX``), plus
edgelstm's own GRU custom op. Every scale, multiplier and shift is computed exactly as the
TFLM kernel's Prepare computes it (the function each line reproduces is named).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .. import fixedpoint as fp
from ..errors import EdgelstmError, ModelError, UnsupportedError
from ..fsutil import require_file, sha256_file
from ..ir import (
    ConcatOp,
    FCParams,
    FullyConnectedOp,
    LstmGate,
    LstmOp,
    ModelInfo,
    MulParams,
    QuantModel,
    RequantizeOp,
    ReshapeOp,
    ReverseTimeOp,
    SliceTimeOp,
    SoftmaxOp,
    TensorInfo,
)
from .tflite_schema import ACTIVATION_NAMES, TENSOR_TYPE_NAMES, builtin_code, fb, op_name

METADATA_NAME = "edgelstm"
MAX_DIM = 1 << 20  # no dimension of a microcontroller model comes near this
MAX_ELEMENTS = 1 << 28
GRU_CUSTOM_CODE = "EDGELSTM_GRU"

_DTYPES = {
    fb.TensorType.INT8: np.int8,
    fb.TensorType.INT16: np.int16,
    fb.TensorType.INT32: np.int32,
    fb.TensorType.INT64: np.int64,
    fb.TensorType.UINT8: np.uint8,
    fb.TensorType.FLOAT32: np.float32,
}

# lstm_shared.h tensor indices of UNIDIRECTIONAL_SEQUENCE_LSTM
_LSTM_IN = 0
_LSTM_W_X = {"i": 1, "f": 2, "g": 3, "o": 4}
_LSTM_W_H = {"i": 5, "f": 6, "g": 7, "o": 8}
_LSTM_PEEPHOLE = (9, 10, 11)
_LSTM_BIAS = {"i": 12, "f": 13, "g": 14, "o": 15}
_LSTM_PROJECTION = (16, 17)
_LSTM_HIDDEN = 18
_LSTM_CELL = 19
_LSTM_LAYER_NORM = (20, 21, 22, 23)

# Q3.12 gate pre-activations and Q0.15 gate outputs (lstm_eval_common.cc
# PrepareGateParametersInteger: nonlinear_input_scale / nonlinear_output_scale, float32).
_GATE_IN_SCALE = np.float32(0.000244140625)
_GATE_OUT_SCALE = np.float32(0.000030517578125)

SUPPORTED_OPS = (
    "UNIDIRECTIONAL_SEQUENCE_LSTM, FULLY_CONNECTED, SOFTMAX, STRIDED_SLICE, REVERSE_V2, "
    "CONCATENATION, RESHAPE, QUANTIZE, DEQUANTIZE and edgelstm's GRU"
)


class _Graph:
    """Checked access to one subgraph's tensors and buffers."""

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
        dtype = _DTYPES.get(t.type)
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


def _decode_options(op):
    return op.builtinOptions


def _check_int8(g: _Graph, idx: int, what: str) -> None:
    tn = g.type_name(idx)
    if tn != "INT8":
        if tn == "FLOAT32":
            raise ModelError(
                f"'{g.path}' is not a full-integer int8 model ({what} '{g.name(idx)}' is float32)",
                "quantize it with `edgelstm quantize` or the TFLite converter with int8 input/output",
            )
        raise UnsupportedError(f"'{g.path}': {what} '{g.name(idx)}' is {tn}; edgelstm needs int8 here")


MAX_LEFT_SHIFT = 15  # real multipliers up to 2^15: far beyond any sane scale ratio


def checked_multiplier(real: float, what: str = "scale ratio") -> tuple[int, int]:
    """QuantizeMultiplier with the result range checked (a corrupt scale gives a one-line error).

    A shift above ``MAX_LEFT_SHIFT`` would overflow int32 in MultiplyByQuantizedMultiplier's
    ``x * (1 << shift)``; NaN/inf/negative ratios come only from corrupt or hand-made files.
    """
    if not (math.isfinite(real) and real >= 0):
        raise ModelError(f"quantization {what} {real} is not a finite positive number (corrupt model?)")
    m, s = fp.quantize_multiplier(real)
    if s > MAX_LEFT_SHIFT:
        raise ModelError(f"quantization {what} {real:.3g} is out of range (corrupt model?)")
    return m, s


def _fc_multiplier_per_tensor(s_in: float, s_w: float, s_out: float) -> tuple[int, int]:
    """TFLM ``GetQuantizedConvolutionMultipler``: double(s_in) * double(s_w) / double(s_out).

    The product is taken in double (the scales are float32 in the file): the float32 product
    of older TFLite versions gives a multiplier a few units larger, which flips rare ties.
    """
    product = float(np.float32(s_in)) * float(np.float32(s_w))
    return checked_multiplier(product / float(np.float32(s_out)))


def _fc_multiplier_per_channel(s_in: float, s_w: np.ndarray, s_out: float) -> tuple[np.ndarray, np.ndarray]:
    """TFLM fully_connected_common.cc per-channel: double(s_in) * double(s_w[c]) / double(s_out)."""
    ms, ss = [], []
    for sw in np.asarray(s_w, dtype=np.float32):
        m, s = checked_multiplier(float(np.float32(s_in)) * float(sw) / float(np.float32(s_out)))
        ms.append(m)
        ss.append(s)
    return np.array(ms, dtype=np.int64), np.array(ss, dtype=np.int64)


def _activation_range(activation: str, scale: float, zp: int, qmin: int, qmax: int) -> tuple[int, int]:
    """TFLM ``CalculateActivationRangeQuantized``: quantize(f) = zp + round(f / scale) (float32)."""

    def q(f: float) -> int:
        return zp + fp.round_half_away_scalar(float(np.float32(f) / np.float32(scale)))

    if activation == "RELU":
        return max(qmin, q(0.0)), qmax
    if activation == "RELU6":
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    if activation == "RELU_N1_TO_1":
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    if activation == "NONE":
        return qmin, qmax
    raise UnsupportedError(f"fused activation {activation} is not supported on a fully-connected layer")


def _mul_params(s1: float, s2: float, s_out: float, out_zp: int, lo: int, hi: int) -> MulParams:
    """lstm_eval_common.cc ``CreateInterGateMulParams``: double(s1)*double(s2)/double(s_out)."""
    eff = float(np.float32(s1)) * float(np.float32(s2)) / float(np.float32(s_out))
    m, s = checked_multiplier(eff)
    return MulParams(multiplier=m, shift=s, output_offset=out_zp, act_min=lo, act_max=hi)


class _Reader:
    def __init__(self, g: _Graph):
        self.g = g
        self.tensors: dict[str, TensorInfo] = {}
        self.ops = []
        self.notes: list[str] = []  # oddities of the file that the simulator reproduces

    # -- tensors ----------------------------------------------------------------------------
    def act(self, idx: int, what: str) -> str:
        """Register an int8/int16 activation tensor (batch dimension 1 dropped)."""
        g = self.g
        key = f"t{idx}"
        if key in self.tensors:
            return key
        shape = g.shape(idx)
        if not shape or shape[0] != 1:
            raise UnsupportedError(
                f"'{g.path}': {what} '{g.name(idx)}' has shape {list(shape)}; edgelstm needs batch size 1",
                "export with batch_size=1",
            )
        tn = g.type_name(idx)
        if tn not in ("INT8", "INT16"):
            _check_int8(g, idx, what)
        s, zp = g.scale_zp(idx, what)
        self.tensors[key] = TensorInfo(name=g.name(idx), shape=tuple(shape[1:]), dtype=tn.lower(), scale=s, zero_point=zp)
        return key

    # -- ops --------------------------------------------------------------------------------
    def lstm(self, op, n: int) -> None:
        g = self.g
        ins = list(op.inputs)
        if len(ins) != 24:
            raise ModelError(f"'{g.path}': LSTM op {n} has {len(ins)} inputs, expected 24")
        opts = _decode_options(op)
        for i in _LSTM_PEEPHOLE:
            if ins[i] >= 0:
                raise UnsupportedError(f"'{g.path}': LSTM op {n} uses peephole connections (not supported by TFLite Micro)")
        for i in _LSTM_PROJECTION:
            if ins[i] >= 0:
                raise UnsupportedError(f"'{g.path}': LSTM op {n} uses a projection layer (not supported)")
        for i in _LSTM_LAYER_NORM:
            if ins[i] >= 0:
                raise UnsupportedError(f"'{g.path}': LSTM op {n} uses layer normalisation (not supported)")
        if ins[_LSTM_W_X["i"]] < 0 or ins[_LSTM_W_H["i"]] < 0:
            raise UnsupportedError(f"'{g.path}': LSTM op {n} is a CIFG LSTM (no input gate), not supported by TFLite Micro")
        if getattr(opts, "timeMajor", False):
            raise UnsupportedError(f"'{g.path}': LSTM op {n} is time-major", "export a batch-major (Keras default) model")
        act = ACTIVATION_NAMES.get(getattr(opts, "fusedActivationFunction", 4), "?")
        if act != "TANH":
            raise UnsupportedError(
                f"'{g.path}': LSTM op {n} uses a {act} cell activation; TFLite Micro's int8 LSTM needs tanh"
            )
        x, h, c = ins[_LSTM_IN], ins[_LSTM_HIDDEN], ins[_LSTM_CELL]
        _check_int8(g, x, "LSTM input")
        for gate in "ifgo":
            _check_int8(g, ins[_LSTM_W_X[gate]], "LSTM weight")
            _check_int8(g, ins[_LSTM_W_H[gate]], "LSTM weight")
            if g.type_name(ins[_LSTM_BIAS[gate]]) != "INT32":
                raise UnsupportedError(f"'{g.path}': LSTM op {n} bias is {g.type_name(ins[_LSTM_BIAS[gate]])}, expected int32")
        _check_int8(g, h, "LSTM hidden state")
        if g.type_name(c) != "INT16":
            raise UnsupportedError(
                f"'{g.path}': LSTM op {n} cell state is {g.type_name(c)}; edgelstm supports the int8x8_16 LSTM (int16 cell)"
            )
        out_idx = op.outputs[0]
        x_key = self.act(x, "LSTM input")
        out_key = self.act(out_idx, "LSTM output")
        x_shape = self.tensors[x_key].shape
        if len(x_shape) != 2:
            raise UnsupportedError(f"'{g.path}': LSTM op {n} input has shape {x_shape}, expected [1, T, F]")
        T, F = x_shape
        s_x, zp_x = g.scale_zp(x, "LSTM input")
        s_h, zp_h = g.scale_zp(h, "LSTM hidden state")
        s_c, zp_c = g.scale_zp(c, "LSTM cell state")
        if zp_c != 0:
            raise UnsupportedError(f"'{g.path}': LSTM op {n} cell state has zero point {zp_c}; TFLM needs 0")
        gates = {}
        units = None
        for gate in "ifgo":
            wx = g.const(ins[_LSTM_W_X[gate]], "LSTM input weights").astype(np.int8)
            wh = g.const(ins[_LSTM_W_H[gate]], "LSTM recurrent weights").astype(np.int8)
            b = g.const(ins[_LSTM_BIAS[gate]], "LSTM bias").astype(np.int64)
            if units is None:
                units = wx.shape[0]
            if wx.shape != (units, F) or wh.shape != (units, units) or b.shape != (units,):
                raise ModelError(
                    f"'{g.path}': LSTM op {n} gate '{gate}' weights have shapes {wx.shape}, {wh.shape}, {b.shape}; "
                    f"expected ({units}, {F}), ({units}, {units}), ({units},)"
                )
            s_wx, zwx = g.scale_zp(ins[_LSTM_W_X[gate]], "LSTM input weights")
            s_wh, zwh = g.scale_zp(ins[_LSTM_W_H[gate]], "LSTM recurrent weights")
            if zwx != 0 or zwh != 0:
                raise UnsupportedError(f"'{g.path}': LSTM op {n} weights are asymmetric (zero point != 0)")
            # CreateGateParams: input FC and recurrent FC, output Q3.12 int16, no activation.
            mx, sx = _fc_multiplier_per_tensor(s_x, s_wx, float(_GATE_IN_SCALE))
            mh, sh = _fc_multiplier_per_tensor(s_h, s_wh, float(_GATE_IN_SCALE))
            gates[gate] = LstmGate(
                input_fc=FCParams(
                    weights=wx, bias=b, multiplier=np.full(units, mx, np.int64), shift=np.full(units, sx, np.int64),
                    input_offset=-zp_x, output_offset=0, act_min=fp.INT16_MIN, act_max=fp.INT16_MAX,
                ),
                recurrent_fc=FCParams(
                    weights=wh, bias=None, multiplier=np.full(units, mh, np.int64), shift=np.full(units, sh, np.int64),
                    input_offset=-zp_h, output_offset=0, act_min=fp.INT16_MIN, act_max=fp.INT16_MAX,
                ),
            )
        hshape = g.shape(h)
        if int(np.prod(hshape)) != units:
            raise ModelError(f"'{g.path}': LSTM op {n} hidden state has shape {hshape}, expected {units} units")
        out_shape = self.tensors[out_key].shape
        if out_shape != (T, units):
            raise ModelError(f"'{g.path}': LSTM op {n} output has shape {out_shape}, expected ({T}, {units})")
        # CreateLstmCellStateInfo: CheckedLog2 power and the quantized clip (truncating cast).
        csp = fp.checked_log2(s_c)
        clip = float(getattr(opts, "cellClip", 0.0) or 0.0)
        q_clip = int(min(max(float(np.float32(clip)) / float(np.float32(s_c)), -32768.0), 32767.0)) if clip > 0 else 0
        tm, tl = fp.tanh_params_for_scale_power(csp)
        self.ops.append(
            LstmOp(
                name=f"lstm_{n}", input=x_key, output=out_key, units=units, input_size=F, gates=gates,
                cell_gate_activation="tanh", cell_scale_power=csp, cell_scale=s_c, quantized_cell_clip=q_clip,
                forget_cell_mul=_mul_params(_GATE_OUT_SCALE, s_c, s_c, 0, fp.INT16_MIN, fp.INT16_MAX),
                input_mul=_mul_params(_GATE_OUT_SCALE, _GATE_OUT_SCALE, s_c, 0, fp.INT16_MIN, fp.INT16_MAX),
                output_mul=_mul_params(_GATE_OUT_SCALE, _GATE_OUT_SCALE, s_h, zp_h, fp.INT8_MIN, fp.INT8_MAX),
                hidden_zero_point=zp_h, hidden_scale=s_h, tanh_cell_multiplier=tm, tanh_cell_left_shift=tl,
                time_steps=T, source={"hidden": g.name(h), "cell": g.name(c), "output": g.name(out_idx)},
            )
        )

    def fully_connected(self, op, n: int) -> None:
        g = self.g
        ins = list(op.inputs)
        opts = _decode_options(op)
        x, w = ins[0], ins[1]
        b = ins[2] if len(ins) > 2 else -1
        _check_int8(g, x, "FULLY_CONNECTED input")
        _check_int8(g, w, "FULLY_CONNECTED weights")
        x_key = self.act(x, "FULLY_CONNECTED input")
        out_key = self.act(op.outputs[0], "FULLY_CONNECTED output")
        W = g.const(w, "FULLY_CONNECTED weights").astype(np.int8)
        if W.ndim != 2:
            raise UnsupportedError(f"'{g.path}': FULLY_CONNECTED op {n} weights have rank {W.ndim}")
        O, K = W.shape
        x_shape = self.tensors[x_key].shape
        if x_shape[-1] != K:
            if int(np.prod(x_shape)) == K:
                pass  # flattened input (keep_num_dims false): one row
            else:
                raise ModelError(f"'{g.path}': FULLY_CONNECTED op {n} input {x_shape} does not match weights {W.shape}")
        s_x, zp_x = g.scale_zp(x, "FULLY_CONNECTED input")
        s_o, zp_o = g.scale_zp(op.outputs[0], "FULLY_CONNECTED output")
        scales, zps = g.quant(w)
        if len(scales) == 0:
            raise ModelError(f"'{g.path}': FULLY_CONNECTED op {n} weights are not quantized")
        if np.any(zps != 0):
            raise UnsupportedError(f"'{g.path}': FULLY_CONNECTED op {n} weights are asymmetric (zero point != 0)")
        bias = None
        if b is not None and b >= 0:
            if g.type_name(b) != "INT32":
                raise UnsupportedError(f"'{g.path}': FULLY_CONNECTED op {n} bias is {g.type_name(b)}, expected int32")
            bias = g.const(b, "FULLY_CONNECTED bias").astype(np.int64).reshape(-1)
            if bias.shape != (O,):
                raise ModelError(f"'{g.path}': FULLY_CONNECTED op {n} bias has shape {bias.shape}, expected ({O},)")
        if len(scales) > 1:
            if len(scales) != O:
                raise ModelError(f"'{g.path}': FULLY_CONNECTED op {n} has {len(scales)} weight scales for {O} outputs")
            mult, shift = _fc_multiplier_per_channel(s_x, scales, s_o)
            per_channel = True
        else:
            m, s = _fc_multiplier_per_tensor(s_x, float(scales[0]), s_o)
            mult, shift = np.full(O, m, np.int64), np.full(O, s, np.int64)
            per_channel = False
        act = ACTIVATION_NAMES.get(getattr(opts, "fusedActivationFunction", 0) if opts else 0, "?")
        lo, hi = _activation_range(act, s_o, zp_o, fp.INT8_MIN, fp.INT8_MAX)
        if getattr(opts, "keepNumDims", False) and len(x_shape) > 1:
            pass
        out_shape = self.tensors[out_key].shape
        expect = tuple(x_shape[:-1]) + (O,) if x_shape[-1] == K else (O,)
        if int(np.prod(out_shape)) != int(np.prod(expect)):
            raise ModelError(f"'{g.path}': FULLY_CONNECTED op {n} output shape {out_shape} does not match {expect}")
        self.ops.append(
            FullyConnectedOp(
                name=f"dense_{n}", input=x_key, output=out_key, activation=act.lower(),
                fc=FCParams(weights=W, bias=bias, multiplier=mult, shift=shift, input_offset=-zp_x, output_offset=zp_o,
                            act_min=lo, act_max=hi, per_channel=per_channel),
            )
        )

    def softmax(self, op, n: int) -> None:
        g = self.g
        x, y = op.inputs[0], op.outputs[0]
        _check_int8(g, x, "SOFTMAX input")
        _check_int8(g, y, "SOFTMAX output")
        s_x, _ = g.scale_zp(x, "SOFTMAX input")
        s_y, zp_y = g.scale_zp(y, "SOFTMAX output")
        # softmax_common.cc CalculateSoftmaxParams (int8 -> int8): output 1/256, zero point -128.
        if zp_y != -128 or np.float32(s_y) != np.float32(1.0 / 256):
            raise UnsupportedError(f"'{g.path}': SOFTMAX op {n} output must have scale 1/256 and zero point -128")
        beta = float(getattr(op.builtinOptions, "beta", 1.0) or 1.0)
        mult, left_shift = _preprocess_softmax_scaling(beta, s_x, 5)
        diff_min = -_calculate_input_radius(5, left_shift, 31)
        self.ops.append(
            SoftmaxOp(
                name=f"softmax_{n}", input=self.act(x, "SOFTMAX input"), output=self.act(y, "SOFTMAX output"),
                input_multiplier=mult, input_left_shift=left_shift, diff_min=diff_min,
            )
        )

    def strided_slice(self, op, n: int) -> None:
        g = self.g
        ins = list(op.inputs)
        x = ins[0]
        x_key = self.act(x, "STRIDED_SLICE input")
        shape = (1,) + self.tensors[x_key].shape
        begin = g.int_const(ins[1], "STRIDED_SLICE begin").reshape(-1)
        end = g.int_const(ins[2], "STRIDED_SLICE end").reshape(-1)
        strides = g.int_const(ins[3], "STRIDED_SLICE strides").reshape(-1) if len(ins) > 3 and ins[3] >= 0 else np.ones_like(begin)
        o = op.builtinOptions
        if o is None or not hasattr(o, "beginMask"):
            raise ModelError(f"'{g.path}': STRIDED_SLICE op {n} has no options (corrupt model?)")
        if getattr(o, "ellipsisMask", 0) or getattr(o, "newAxisMask", 0):
            raise UnsupportedError(f"'{g.path}': STRIDED_SLICE op {n} uses ellipsis/new-axis masks")
        if len(shape) != 3 or len(begin) != 3:
            raise UnsupportedError(f"'{g.path}': STRIDED_SLICE op {n} on a rank-{len(shape)} tensor (expected a [1, T, F] sequence)")
        ranges = [
            _slice_axis(shape[a], int(begin[a]), int(end[a]), int(strides[a]),
                        (o.beginMask >> a) & 1, (o.endMask >> a) & 1, (o.shrinkAxisMask >> a) & 1)
            for a in range(3)
        ]
        if ranges[0] != [0] or ranges[2] != list(range(shape[2])) or len(ranges[1]) != 1:
            raise UnsupportedError(f"'{g.path}': STRIDED_SLICE op {n} does not pick one time step of a sequence")
        keep = not ((o.shrinkAxisMask >> 1) & 1)
        out_key = self.act(op.outputs[0], "STRIDED_SLICE output")
        self._same_quant(x_key, out_key, "STRIDED_SLICE", n)
        self.ops.append(SliceTimeOp(name=f"slice_{n}", input=x_key, output=out_key, index=ranges[1][0], keep_time_axis=keep))

    def reverse(self, op, n: int) -> None:
        g = self.g
        x_key = self.act(op.inputs[0], "REVERSE_V2 input")
        axes = g.int_const(op.inputs[1], "REVERSE_V2 axis").reshape(-1)
        rank = len(self.tensors[x_key].shape) + 1
        axes = [int(a) % rank for a in axes]
        if axes != [1] or rank != 3:
            raise UnsupportedError(f"'{g.path}': REVERSE_V2 op {n} reverses axes {axes}; only the time axis is supported")
        out_key = self.act(op.outputs[0], "REVERSE_V2 output")
        self._same_quant(x_key, out_key, "REVERSE_V2", n)
        self.ops.append(ReverseTimeOp(name=f"reverse_{n}", input=x_key, output=out_key))

    def concat(self, op, n: int) -> None:
        g = self.g
        keys = [self.act(i, "CONCATENATION input") for i in op.inputs]
        out_key = self.act(op.outputs[0], "CONCATENATION output")
        rank = len(self.tensors[out_key].shape) + 1
        axis = int(getattr(op.builtinOptions, "axis", -1)) % rank
        if axis != rank - 1:
            raise UnsupportedError(f"'{g.path}': CONCATENATION op {n} along axis {axis}; only the feature axis is supported")
        to = self.tensors[out_key]
        for k in keys:
            t = self.tensors[k]
            if t.dtype != "int8":
                raise UnsupportedError(f"'{g.path}': CONCATENATION op {n} of non-int8 tensors")
            # concatenation.cc Prepare: TFLM rejects int8 inputs quantized unlike the output.
            if np.float32(t.scale) != np.float32(to.scale) or t.zero_point != to.zero_point:
                raise UnsupportedError(
                    f"'{g.path}': CONCATENATION op {n} joins tensors of different quantization "
                    "(TFLite Micro rejects this model too)"
                )
        # TFLM concatenation copies int8 bytes without rescaling (EvalUnquantized).
        self.ops.append(ConcatOp(name=f"concat_{n}", inputs=keys, output=out_key))

    def quantize(self, op, n: int, is_input: bool) -> None:
        g = self.g
        x, y = op.inputs[0], op.outputs[0]
        if g.type_name(x) == "FLOAT32":
            if not is_input:
                raise UnsupportedError(f"'{g.path}': QUANTIZE op {n} from float32 in the middle of the graph")
            return  # the model's float input is quantized by the model's own input parameters
        _check_int8(g, x, "QUANTIZE input")
        _check_int8(g, y, "QUANTIZE output")
        s_in, zp_in = g.scale_zp(x, "QUANTIZE input")
        s_out, zp_out = g.scale_zp(y, "QUANTIZE output")
        m, s = checked_multiplier(float(np.float32(s_in)) / float(np.float32(s_out)))
        self.ops.append(RequantizeOp(name=f"requantize_{n}", input=self.act(x, "QUANTIZE input"),
                                     output=self.act(y, "QUANTIZE output"), input_zero_point=zp_in,
                                     output_zero_point=zp_out, multiplier=m, shift=s))

    def reshape(self, op, n: int, name: str) -> None:
        x_key = self.act(op.inputs[0], f"{name} input")
        out_key = self.act(op.outputs[0], f"{name} output")
        if int(np.prod(self.tensors[x_key].shape)) != int(np.prod(self.tensors[out_key].shape)):
            raise ModelError(f"'{self.g.path}': {name} op {n} changes the number of elements")
        self._same_quant(x_key, out_key, name, n)
        self.ops.append(ReshapeOp(name=f"reshape_{n}", input=x_key, output=out_key))

    def _same_quant(self, a: str, b: str, what: str, n: int) -> None:
        """Copy ops (slice, reverse, reshape) move bytes in TFLM whatever the tensors' scales say.

        The converter sometimes gives the copy a different scale than its input (seen on
        REVERSE_V2 in stacked bidirectional models); TFLM still copies the bytes, so the
        simulator does too, and the difference is recorded as a note.
        """
        ta, tb = self.tensors[a], self.tensors[b]
        if ta.dtype != tb.dtype:
            raise UnsupportedError(f"'{self.g.path}': {what} op {n} changes the element type of its tensor")
        if ta.zero_point != tb.zero_point or np.float32(ta.scale) != np.float32(tb.scale):
            self.notes.append(
                f"{what} op {n} copies int8 bytes from a tensor of scale {ta.scale:.6g} (zero point {ta.zero_point}) "
                f"into one of scale {tb.scale:.6g} (zero point {tb.zero_point}), as TFLite Micro does"
            )


def _slice_axis(dim: int, b: int, e: int, s: int, begin_mask: int, end_mask: int, shrink: int) -> list[int]:
    """Indices one axis of a TFLite STRIDED_SLICE selects (strided_slice_logic.h StartForAxis/StopForAxis)."""
    if s == 0:
        raise UnsupportedError("STRIDED_SLICE with stride 0")
    if shrink:
        idx = b + dim if b < 0 else b
        if not 0 <= idx < dim:
            raise ModelError("STRIDED_SLICE index out of range")
        return [idx]
    if begin_mask:
        start = 0 if s > 0 else dim - 1
    else:
        start = b + dim if b < 0 else b
        start = min(max(start, 0), dim) if s > 0 else min(max(start, -1), dim - 1)
    if end_mask:
        stop = dim if s > 0 else -1
    else:
        stop = e + dim if e < 0 else e
        stop = min(max(stop, 0), dim) if s > 0 else min(max(stop, -1), dim - 1)
    return list(range(start, stop, s))


def _preprocess_softmax_scaling(beta: float, input_scale: float, input_integer_bits: int) -> tuple[int, int]:
    """TFLM ``PreprocessSoftmaxScaling`` (double-rounding build): min(beta*s*2^(31-bits), 2^31-1)."""
    max_real = float((1 << 31) - 1)
    real = min(beta * float(np.float32(input_scale)) * float(1 << (31 - input_integer_bits)), max_real)
    if not math.isfinite(real) or real <= 0:
        raise ModelError(f"softmax input scale {input_scale} is not a positive number (corrupt model?)")
    m, shift = fp.quantize_multiplier(real)
    if shift < 0:
        raise UnsupportedError("softmax input scale too small for TFLM's QuantizeMultiplierGreaterThanOne")
    return m, shift


def _calculate_input_radius(input_integer_bits: int, input_left_shift: int, total_signed_bits: int = 31) -> int:
    """TFLM ``CalculateInputRadius``: floor((2^bits - 1) * 2^(total - bits) / 2^left_shift)."""
    max_input_rescaled = (
        1.0 * ((1 << input_integer_bits) - 1) * float(1 << (total_signed_bits - input_integer_bits)) / float(1 << input_left_shift)
    )
    return int(math.floor(max_input_rescaled))


# Inputs each op must have (min, max); the LSTM and GRU readers check their exact layouts.
_ARITY = {
    "UNIDIRECTIONAL_SEQUENCE_LSTM": (24, 24), "FULLY_CONNECTED": (2, 3), "SOFTMAX": (1, 1), "STRIDED_SLICE": (3, 4),
    "REVERSE_V2": (2, 2), "CONCATENATION": (1, 64), "RESHAPE": (1, 2), "SQUEEZE": (1, 1), "QUANTIZE": (1, 1),
    "DEQUANTIZE": (1, 1), GRU_CUSTOM_CODE: (13, 13),
}
# Input positions that may be -1 (absent).
_OPTIONAL_INPUTS = {
    "UNIDIRECTIONAL_SEQUENCE_LSTM": set(_LSTM_PEEPHOLE) | set(_LSTM_PROJECTION) | set(_LSTM_LAYER_NORM) | {1, 5, 12},
    "FULLY_CONNECTED": {2}, "STRIDED_SLICE": {3}, "RESHAPE": {1}, GRU_CUSTOM_CODE: {10, 11, 12},
}


def _check_gru_tensor_types(g: _Graph, op, n: int) -> None:
    """Element types of the GRU custom op's constant inputs (the op reader casts them)."""
    ins = [int(i) for i in op.inputs]
    for pos in range(1, 13):
        idx = ins[pos]
        if idx < 0:
            continue
        want = "INT8" if pos <= 6 else "INT32"
        if g.type_name(idx) != want:
            raise ModelError(
                f"'{g.path}': GRU op {n} {'weights' if pos <= 6 else 'bias'} '{g.name(idx)}' is {g.type_name(idx)}, "
                f"expected {want.lower()}"
            )


def _op_name(model, op) -> str:
    """``op_name`` that survives a custom-op name which is not UTF-8 (corrupt or foreign file)."""
    opcode = model.operatorCodes[op.opcodeIndex]
    cc = opcode.customCode
    if builtin_code(opcode) == fb.BuiltinOperator.CUSTOM and isinstance(cc, bytes):
        return cc.decode("utf-8", errors="replace") or "CUSTOM"
    return op_name(model, op)


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


def read_metadata(model) -> dict:
    """The ``edgelstm`` metadata JSON of a model written by edgelstm ({} otherwise)."""
    for md in model.metadata or []:
        name = md.name.decode(errors="replace") if isinstance(md.name, bytes) else str(md.name)
        if name == METADATA_NAME and md.buffer is not None and 0 <= md.buffer < len(model.buffers or []):
            data = model.buffers[md.buffer].data
            if data is None:
                return {}
            try:
                return json.loads(np.asarray(data, dtype=np.uint8).tobytes().decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise ModelError("the edgelstm metadata inside the .tflite is corrupt") from None
    return {}


def _corrupt_metadata(what: str) -> ModelError:
    return ModelError(f"the edgelstm metadata inside the .tflite is corrupt ({what})", "quantize the model again")


def _float_vector(v, what: str) -> np.ndarray:
    if not isinstance(v, list) or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
        raise _corrupt_metadata(f"{what} is not a list of numbers")
    a = np.asarray(v, dtype=np.float64)
    if not np.all(np.isfinite(a)) or np.any(np.abs(a) > np.finfo(np.float32).max):
        raise _corrupt_metadata(f"{what} has non-finite values")
    return a.astype(np.float32)


def model_info_from_metadata(meta: dict) -> ModelInfo:
    """ModelInfo from the metadata JSON, its types checked (a hand-edited file gets one line)."""
    if not isinstance(meta, dict):
        raise _corrupt_metadata("not a JSON object")
    info = ModelInfo(extra=dict(meta))
    for key in ("class_names", "feature_names"):
        v = meta.get(key)
        if v is not None and not (isinstance(v, list) and all(isinstance(x, str) for x in v)):
            raise _corrupt_metadata(f"{key} is not a list of names")
    info.class_names = meta.get("class_names")
    info.feature_names = meta.get("feature_names")
    norm = meta.get("normalization")
    if norm:
        if not isinstance(norm, dict):
            raise _corrupt_metadata("normalization is not an object")
        info.norm_mean = _float_vector(norm.get("mean"), "normalization mean")
        info.norm_std = _float_vector(norm.get("std"), "normalization std")
        if len(info.norm_mean) != len(info.norm_std):
            raise _corrupt_metadata("normalization mean and std differ in length")
        if np.any(info.norm_std <= 0):
            raise _corrupt_metadata("normalization std is not positive")
    acc = meta.get("accuracy") or {}
    if not isinstance(acc, dict):
        raise _corrupt_metadata("accuracy is not an object")
    num = (int, float)
    info.float_accuracy = acc.get("float") if isinstance(acc.get("float"), num) else None
    info.int8_accuracy = acc.get("int8") if isinstance(acc.get("int8"), num) else None
    return info


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


def _load_ir_from_bytes(raw: bytes, path: str, *, classifier: bool) -> QuantModel:
    model = parse_flatbuffer(raw, path)
    g = _Graph(model, path, raw)
    r = _Reader(g)
    sg = g.sg
    if sg.inputs is None or len(sg.inputs) != 1:
        raise UnsupportedError(f"'{path}' has {0 if sg.inputs is None else len(sg.inputs)} inputs; edgelstm needs one input [1, T, F]")
    if sg.outputs is None or len(sg.outputs) != 1:
        raise UnsupportedError(f"'{path}' has {0 if sg.outputs is None else len(sg.outputs)} outputs; edgelstm needs one")
    in_idx = int(sg.inputs[0])
    out_idx = int(sg.outputs[0])
    ops = list(sg.operators or [])
    if not ops:
        raise ModelError(f"'{path}' has no operators")
    n_codes = len(model.operatorCodes or [])
    for n, op in enumerate(ops):
        if op.opcodeIndex is None or not 0 <= op.opcodeIndex < n_codes:
            raise ModelError(f"'{path}' is malformed: op {n} has an invalid operator code index")
        if op.inputs is None or op.outputs is None or len(op.outputs) == 0:
            raise ModelError(f"'{path}' is malformed: op {n} has no inputs or outputs")
        for i in list(op.inputs) + list(op.outputs):
            if int(i) >= len(g.tensors) or int(i) < -1:
                raise ModelError(f"'{path}' is malformed: op {n} refers to tensor {int(i)} of {len(g.tensors)}")
    names = [_op_name(model, op) for op in ops]
    allowed = {"UNIDIRECTIONAL_SEQUENCE_LSTM", "FULLY_CONNECTED", "SOFTMAX", "STRIDED_SLICE", "REVERSE_V2",
               "CONCATENATION", "RESHAPE", "SQUEEZE", "QUANTIZE", "DEQUANTIZE", GRU_CUSTOM_CODE}
    bad = sorted({n for n in names if n not in allowed})
    if bad:
        hint = f"edgelstm supports {SUPPORTED_OPS}"
        if {"MUL", "SUB"} & set(bad) and len(set(bad) - {"MUL", "SUB", "ADD", "DIV", "RSQRT", "SQRT", "MAXIMUM"}) == 0:
            # What a Keras/tf-keras Normalization layer converts to: x * (1/std) - mean/std.
            hint = ("these ops usually come from a Normalization layer inside the model: convert the model "
                    "without it and normalise the data before it (edgelstm train/quantize keep the "
                    f"normalisation as metadata); edgelstm supports {SUPPORTED_OPS}")
        raise UnsupportedError(f"'{path}' uses unsupported op(s): {', '.join(bad)}", hint)
    for n, (op, name) in enumerate(zip(ops, names)):
        lo, hi = _ARITY[name]
        if not lo <= len(op.inputs) <= hi:
            raise ModelError(f"'{path}' is malformed: {name} op {n} has {len(op.inputs)} inputs")
        required = list(op.inputs) if name not in _OPTIONAL_INPUTS else [
            op.inputs[i] for i in range(len(op.inputs)) if i not in _OPTIONAL_INPUTS[name]]
        if any(int(i) < 0 for i in required) or any(int(i) < 0 for i in op.outputs):
            raise ModelError(f"'{path}' is malformed: {name} op {n} lacks a required input or output tensor")
        if name == GRU_CUSTOM_CODE:
            _check_gru_tensor_types(g, op, n)
    if not any(n in ("UNIDIRECTIONAL_SEQUENCE_LSTM", GRU_CUSTOM_CODE) for n in names):
        if "WHILE" in names:
            pass
        raise UnsupportedError(f"'{path}' has no LSTM/GRU layer", "edgelstm handles recurrent classifiers")

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

    in_key = r.act(model_input, "model input")
    if len(r.tensors[in_key].shape) != 2:
        raise UnsupportedError(f"'{path}' input has shape {[1, *r.tensors[in_key].shape]}; edgelstm needs [1, T, F]")
    _check_int8(g, model_input, "model input")
    for n, (op, name) in enumerate(zip(ops, names)):
        if name == "UNIDIRECTIONAL_SEQUENCE_LSTM":
            r.lstm(op, n)
        elif name == "FULLY_CONNECTED":
            r.fully_connected(op, n)
        elif name == "SOFTMAX":
            r.softmax(op, n)
        elif name == "STRIDED_SLICE":
            r.strided_slice(op, n)
        elif name == "REVERSE_V2":
            r.reverse(op, n)
        elif name == "CONCATENATION":
            r.concat(op, n)
        elif name == "QUANTIZE":
            r.quantize(op, n, is_input=(n == 0 and int(op.inputs[0]) == in_idx))
        elif name == "DEQUANTIZE":
            if not (n == len(ops) - 1 and int(op.outputs[0]) == out_idx):
                raise UnsupportedError(f"'{path}': DEQUANTIZE op {n} in the middle of the graph")
        elif name in ("RESHAPE", "SQUEEZE"):
            r.reshape(op, n, name)
        elif name == GRU_CUSTOM_CODE:
            from .gru_op import read_gru_op

            read_gru_op(r, op, n)
    out_key = r.act(model_output, "model output")
    _check_int8(g, model_output, "model output")
    _check_graph(r, in_key, out_key, path, classifier)
    meta = read_metadata(model)
    qm = QuantModel(tensors=r.tensors, ops=r.ops, input=in_key, output=out_key, info=model_info_from_metadata(meta))
    qm.info.extra.setdefault("reader_notes", r.notes)
    if qm.info.norm_mean is not None and len(qm.info.norm_mean) != qm.n_features:
        raise ModelError(f"'{path}': metadata normalisation has {len(qm.info.norm_mean)} features, model input {qm.n_features}")
    names = qm.info.class_names
    if classifier and names is not None and len(names) != qm.n_outputs:
        raise _corrupt_metadata(f"{len(names)} class names for {qm.n_outputs} outputs")
    if qm.info.feature_names is not None and len(qm.info.feature_names) != qm.n_features:
        raise _corrupt_metadata(f"{len(qm.info.feature_names)} feature names for {qm.n_features} input features")
    return qm


def _check_graph(r: _Reader, in_key: str, out_key: str, path: str, classifier: bool = True) -> None:
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


def load_ir(path: str | Path) -> QuantModel:
    """Read ``path`` (.tflite) into a :class:`QuantModel` (raises ModelError on any problem)."""
    p = require_file(path, "model file")
    raw = p.read_bytes()
    qm = load_ir_from_bytes(raw, str(p))
    qm.source_path = str(p)
    qm.source_sha256 = sha256_file(p)
    return qm
