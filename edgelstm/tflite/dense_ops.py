"""The arithmetic ops around the recurrent layers: FULLY_CONNECTED, SOFTMAX, QUANTIZE, DEQUANTIZE.

Each reader checks one op, computes its parameters with :mod:`edgelstm.prepare` (TFLM's
Prepare) and appends its IR op to the :class:`IrBuilder`.
"""

from __future__ import annotations

import numpy as np

from .. import fixedpoint as fp
from .. import prepare
from ..errors import ModelError, UnsupportedError
from ..ir import FCParams, FullyConnectedOp, RequantizeOp, SoftmaxOp
from .ir_builder import IrBuilder
from .schema import ACTIVATION_NAMES


def read_fully_connected(r: IrBuilder, op, n: int, name: str = "FULLY_CONNECTED") -> None:
    """fully_connected_common.cc ``CalculateOpDataFullyConnected``: per-tensor or per-channel."""
    g = r.g
    ins = list(op.inputs)
    opts = op.builtinOptions
    x, w = ins[0], ins[1]
    b = ins[2] if len(ins) > 2 else -1
    g.check_int8(x, "FULLY_CONNECTED input")
    g.check_int8(w, "FULLY_CONNECTED weights")
    x_key = r.act(x, "FULLY_CONNECTED input")
    out_key = r.act(op.outputs[0], "FULLY_CONNECTED output")
    W = g.const(w, "FULLY_CONNECTED weights").astype(np.int8)
    if W.ndim != 2:
        raise UnsupportedError(f"'{g.path}': FULLY_CONNECTED op {n} weights have rank {W.ndim}")
    O, K = W.shape
    x_shape = r.tensors[x_key].shape
    # A flattened input (keep_num_dims false) of K elements is one row.
    if x_shape[-1] != K and int(np.prod(x_shape)) != K:
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
        mult, shift = prepare.fc_multiplier_per_channel(s_x, scales, s_o)
        per_channel = True
    else:
        m, s = prepare.fc_multiplier_per_tensor(s_x, float(scales[0]), s_o)
        mult, shift = np.full(O, m, np.int64), np.full(O, s, np.int64)
        per_channel = False
    act = ACTIVATION_NAMES.get(getattr(opts, "fusedActivationFunction", 0) if opts else 0, "?")
    lo, hi = prepare.activation_range(act, s_o, zp_o, fp.INT8_MIN, fp.INT8_MAX)
    out_shape = r.tensors[out_key].shape
    expect = tuple(x_shape[:-1]) + (O,) if x_shape[-1] == K else (O,)
    if int(np.prod(out_shape)) != int(np.prod(expect)):
        raise ModelError(f"'{g.path}': FULLY_CONNECTED op {n} output shape {out_shape} does not match {expect}")
    r.ops.append(
        FullyConnectedOp(
            name=f"dense_{n}", input=x_key, output=out_key, activation=act.lower(),
            fc=FCParams(weights=W, bias=bias, multiplier=mult, shift=shift, input_offset=-zp_x, output_offset=zp_o,
                        act_min=lo, act_max=hi, per_channel=per_channel),
        )
    )


def read_softmax(r: IrBuilder, op, n: int, name: str = "SOFTMAX") -> None:
    """softmax_common.cc ``CalculateSoftmaxParams`` (int8 -> int8)."""
    g = r.g
    x, y = op.inputs[0], op.outputs[0]
    g.check_int8(x, "SOFTMAX input")
    g.check_int8(y, "SOFTMAX output")
    s_x, _ = g.scale_zp(x, "SOFTMAX input")
    s_y, zp_y = g.scale_zp(y, "SOFTMAX output")
    # CalculateSoftmaxParams requires the int8 output at scale 1/256, zero point -128.
    if zp_y != -128 or np.float32(s_y) != np.float32(1.0 / 256):
        raise UnsupportedError(f"'{g.path}': SOFTMAX op {n} output must have scale 1/256 and zero point -128")
    beta = float(getattr(op.builtinOptions, "beta", 1.0) or 1.0)
    mult, left_shift, diff_min = prepare.softmax_params(beta, s_x)
    r.ops.append(
        SoftmaxOp(
            name=f"softmax_{n}", input=r.act(x, "SOFTMAX input"), output=r.act(y, "SOFTMAX output"),
            input_multiplier=mult, input_left_shift=left_shift, diff_min=diff_min,
        )
    )


def read_quantize(r: IrBuilder, op, n: int, name: str = "QUANTIZE") -> None:
    """QUANTIZE: the model's float input (no IR op), or an int8 -> int8 requantisation."""
    g = r.g
    x, y = op.inputs[0], op.outputs[0]
    if g.type_name(x) == "FLOAT32":
        if not (n == 0 and int(x) == int(g.sg.inputs[0])):
            raise UnsupportedError(f"'{g.path}': QUANTIZE op {n} from float32 in the middle of the graph")
        return  # the model's float input is quantized by the model's own input parameters
    g.check_int8(x, "QUANTIZE input")
    g.check_int8(y, "QUANTIZE output")
    s_in, zp_in = g.scale_zp(x, "QUANTIZE input")
    s_out, zp_out = g.scale_zp(y, "QUANTIZE output")
    m, s = prepare.requantize_multiplier(s_in, s_out)
    r.ops.append(RequantizeOp(name=f"requantize_{n}", input=r.act(x, "QUANTIZE input"),
                              output=r.act(y, "QUANTIZE output"), input_zero_point=zp_in,
                              output_zero_point=zp_out, multiplier=m, shift=s))


def read_dequantize(r: IrBuilder, op, n: int, name: str = "DEQUANTIZE") -> None:
    """DEQUANTIZE only as the model's last op (the float output; the IR ends at its int8 input)."""
    g = r.g
    if not (n == len(g.sg.operators) - 1 and int(op.outputs[0]) == int(g.sg.outputs[0])):
        raise UnsupportedError(f"'{g.path}': DEQUANTIZE op {n} in the middle of the graph")
