"""The ops that move int8 bytes without arithmetic: STRIDED_SLICE, REVERSE_V2, CONCATENATION, RESHAPE.

A bidirectional or stacked model uses them around its recurrent layers (last time step, time
reversal, joining directions). TFLM copies the bytes whatever the tensors' scales say; so does
the IR, with a note when the scales differ (:meth:`IrBuilder.same_quant`).
"""

from __future__ import annotations

import numpy as np

from ..errors import ModelError, UnsupportedError
from ..ir import ConcatOp, ReshapeOp, ReverseTimeOp, SliceTimeOp
from .ir_builder import IrBuilder


def slice_axis(dim: int, b: int, e: int, s: int, begin_mask: int, end_mask: int, shrink: int) -> list[int]:
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


def read_strided_slice(r: IrBuilder, op, n: int, name: str = "STRIDED_SLICE") -> None:
    """STRIDED_SLICE that picks one time step of a [1, T, F] sequence (the last step of a layer)."""
    g = r.g
    ins = list(op.inputs)
    x = ins[0]
    x_key = r.act(x, "STRIDED_SLICE input")
    shape = (1,) + r.tensors[x_key].shape
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
        slice_axis(shape[a], int(begin[a]), int(end[a]), int(strides[a]),
                   (o.beginMask >> a) & 1, (o.endMask >> a) & 1, (o.shrinkAxisMask >> a) & 1)
        for a in range(3)
    ]
    if ranges[0] != [0] or ranges[2] != list(range(shape[2])) or len(ranges[1]) != 1:
        raise UnsupportedError(f"'{g.path}': STRIDED_SLICE op {n} does not pick one time step of a sequence")
    keep = not ((o.shrinkAxisMask >> 1) & 1)
    out_key = r.act(op.outputs[0], "STRIDED_SLICE output")
    r.same_quant(x_key, out_key, "STRIDED_SLICE", n)
    r.ops.append(SliceTimeOp(name=f"slice_{n}", input=x_key, output=out_key, index=ranges[1][0], keep_time_axis=keep))


def read_reverse(r: IrBuilder, op, n: int, name: str = "REVERSE_V2") -> None:
    """REVERSE_V2 along the time axis (the backward half of a bidirectional layer)."""
    g = r.g
    x_key = r.act(op.inputs[0], "REVERSE_V2 input")
    axes = g.int_const(op.inputs[1], "REVERSE_V2 axis").reshape(-1)
    rank = len(r.tensors[x_key].shape) + 1
    axes = [int(a) % rank for a in axes]
    if axes != [1] or rank != 3:
        raise UnsupportedError(f"'{g.path}': REVERSE_V2 op {n} reverses axes {axes}; only the time axis is supported")
    out_key = r.act(op.outputs[0], "REVERSE_V2 output")
    r.same_quant(x_key, out_key, "REVERSE_V2", n)
    r.ops.append(ReverseTimeOp(name=f"reverse_{n}", input=x_key, output=out_key))


def read_concat(r: IrBuilder, op, n: int, name: str = "CONCATENATION") -> None:
    """CONCATENATION along the feature axis of int8 tensors quantized like the output."""
    g = r.g
    keys = [r.act(i, "CONCATENATION input") for i in op.inputs]
    out_key = r.act(op.outputs[0], "CONCATENATION output")
    rank = len(r.tensors[out_key].shape) + 1
    axis = int(getattr(op.builtinOptions, "axis", -1)) % rank
    if axis != rank - 1:
        raise UnsupportedError(f"'{g.path}': CONCATENATION op {n} along axis {axis}; only the feature axis is supported")
    to = r.tensors[out_key]
    for k in keys:
        t = r.tensors[k]
        if t.dtype != "int8":
            raise UnsupportedError(f"'{g.path}': CONCATENATION op {n} of non-int8 tensors")
        # concatenation.cc Prepare: TFLM rejects int8 inputs quantized unlike the output.
        if np.float32(t.scale) != np.float32(to.scale) or t.zero_point != to.zero_point:
            raise UnsupportedError(
                f"'{g.path}': CONCATENATION op {n} joins tensors of different quantization "
                "(TFLite Micro rejects this model too)"
            )
    # TFLM concatenation copies int8 bytes without rescaling (EvalUnquantized).
    r.ops.append(ConcatOp(name=f"concat_{n}", inputs=keys, output=out_key))


def read_reshape(r: IrBuilder, op, n: int, name: str = "RESHAPE") -> None:
    """RESHAPE or SQUEEZE: the same bytes under another shape."""
    x_key = r.act(op.inputs[0], f"{name} input")
    out_key = r.act(op.outputs[0], f"{name} output")
    if int(np.prod(r.tensors[x_key].shape)) != int(np.prod(r.tensors[out_key].shape)):
        raise ModelError(f"'{r.g.path}': {name} op {n} changes the number of elements")
    r.same_quant(x_key, out_key, name, n)
    r.ops.append(ReshapeOp(name=f"reshape_{n}", input=x_key, output=out_key))
