"""``UNIDIRECTIONAL_SEQUENCE_LSTM`` (int8x8_16) read into an :class:`~edgelstm.ir.LstmOp`.

The tensor layout is TFLM's ``lstm_shared.h``; the multipliers are TFLM's Prepare
(``lstm_eval_common.cc``), computed by :mod:`edgelstm.prepare`.
"""

from __future__ import annotations

import numpy as np

from .. import fixedpoint as fp
from .. import prepare
from ..errors import ModelError, UnsupportedError
from ..ir import FCParams, LstmGate, LstmOp, MulParams
from .ir_builder import IrBuilder
from .schema import ACTIVATION_NAMES

# lstm_shared.h tensor indices of UNIDIRECTIONAL_SEQUENCE_LSTM
LSTM_INPUT = 0
LSTM_W_X = {"i": 1, "f": 2, "g": 3, "o": 4}
LSTM_W_H = {"i": 5, "f": 6, "g": 7, "o": 8}
LSTM_PEEPHOLE = (9, 10, 11)
LSTM_BIAS = {"i": 12, "f": 13, "g": 14, "o": 15}
LSTM_PROJECTION = (16, 17)
LSTM_HIDDEN = 18
LSTM_CELL = 19
LSTM_LAYER_NORM = (20, 21, 22, 23)
LSTM_N_INPUTS = 24
# Input positions that may be -1 in the file (the reader refuses the features they stand for).
LSTM_OPTIONAL_INPUTS = frozenset(
    {*LSTM_PEEPHOLE, *LSTM_PROJECTION, *LSTM_LAYER_NORM, LSTM_W_X["i"], LSTM_W_H["i"], LSTM_BIAS["i"]}
)


def _mul_params(s1: float, s2: float, s_out: float, out_zp: int, lo: int, hi: int) -> MulParams:
    """``CreateInterGateMulParams`` as the IR's MulParams (offset and range of the output type)."""
    m, s = prepare.inter_gate_mul(s1, s2, s_out)
    return MulParams(multiplier=m, shift=s, output_offset=out_zp, act_min=lo, act_max=hi)


def _check_layout(r: IrBuilder, op, n: int) -> None:
    """The LSTM variants TFLM's int8 kernel runs: no peephole/projection/layer norm/CIFG, tanh."""
    g = r.g
    ins = list(op.inputs)
    if len(ins) != LSTM_N_INPUTS:
        raise ModelError(f"'{g.path}': LSTM op {n} has {len(ins)} inputs, expected 24")
    opts = op.builtinOptions
    for i in LSTM_PEEPHOLE:
        if ins[i] >= 0:
            raise UnsupportedError(f"'{g.path}': LSTM op {n} uses peephole connections (not supported by TFLite Micro)")
    for i in LSTM_PROJECTION:
        if ins[i] >= 0:
            raise UnsupportedError(f"'{g.path}': LSTM op {n} uses a projection layer (not supported)")
    for i in LSTM_LAYER_NORM:
        if ins[i] >= 0:
            raise UnsupportedError(f"'{g.path}': LSTM op {n} uses layer normalisation (not supported)")
    if ins[LSTM_W_X["i"]] < 0 or ins[LSTM_W_H["i"]] < 0:
        raise UnsupportedError(f"'{g.path}': LSTM op {n} is a CIFG LSTM (no input gate), not supported by TFLite Micro")
    if getattr(opts, "timeMajor", False):
        raise UnsupportedError(f"'{g.path}': LSTM op {n} is time-major", "export a batch-major (Keras default) model")
    act = ACTIVATION_NAMES.get(getattr(opts, "fusedActivationFunction", 4), "?")
    if act != "TANH":
        raise UnsupportedError(
            f"'{g.path}': LSTM op {n} uses a {act} cell activation; TFLite Micro's int8 LSTM needs tanh"
        )
    x, h, c = ins[LSTM_INPUT], ins[LSTM_HIDDEN], ins[LSTM_CELL]
    g.check_int8(x, "LSTM input")
    for gate in "ifgo":
        g.check_int8(ins[LSTM_W_X[gate]], "LSTM weight")
        g.check_int8(ins[LSTM_W_H[gate]], "LSTM weight")
        if g.type_name(ins[LSTM_BIAS[gate]]) != "INT32":
            raise UnsupportedError(f"'{g.path}': LSTM op {n} bias is {g.type_name(ins[LSTM_BIAS[gate]])}, expected int32")
    g.check_int8(h, "LSTM hidden state")
    if g.type_name(c) != "INT16":
        raise UnsupportedError(
            f"'{g.path}': LSTM op {n} cell state is {g.type_name(c)}; edgelstm supports the int8x8_16 LSTM (int16 cell)"
        )


def read_lstm(r: IrBuilder, op, n: int, name: str = "UNIDIRECTIONAL_SEQUENCE_LSTM") -> None:
    """Check one LSTM op and append its :class:`LstmOp` (TFLM ``UnidirectionalSequenceLstmPrepare``)."""
    g = r.g
    _check_layout(r, op, n)
    ins = list(op.inputs)
    opts = op.builtinOptions
    x, h, c = ins[LSTM_INPUT], ins[LSTM_HIDDEN], ins[LSTM_CELL]
    out_idx = op.outputs[0]
    x_key = r.act(x, "LSTM input")
    out_key = r.act(out_idx, "LSTM output")
    x_shape = r.tensors[x_key].shape
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
        wx = g.const(ins[LSTM_W_X[gate]], "LSTM input weights").astype(np.int8)
        wh = g.const(ins[LSTM_W_H[gate]], "LSTM recurrent weights").astype(np.int8)
        b = g.const(ins[LSTM_BIAS[gate]], "LSTM bias").astype(np.int64)
        if units is None:
            units = wx.shape[0]
        if wx.shape != (units, F) or wh.shape != (units, units) or b.shape != (units,):
            raise ModelError(
                f"'{g.path}': LSTM op {n} gate '{gate}' weights have shapes {wx.shape}, {wh.shape}, {b.shape}; "
                f"expected ({units}, {F}), ({units}, {units}), ({units},)"
            )
        s_wx, zwx = g.scale_zp(ins[LSTM_W_X[gate]], "LSTM input weights")
        s_wh, zwh = g.scale_zp(ins[LSTM_W_H[gate]], "LSTM recurrent weights")
        if zwx != 0 or zwh != 0:
            raise UnsupportedError(f"'{g.path}': LSTM op {n} weights are asymmetric (zero point != 0)")
        # CreateGateParams: input FC and recurrent FC, output Q3.12 int16, no activation.
        mx, sx = prepare.lstm_gate_multiplier(s_x, s_wx)
        mh, sh = prepare.lstm_gate_multiplier(s_h, s_wh)
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
    out_shape = r.tensors[out_key].shape
    if out_shape != (T, units):
        raise ModelError(f"'{g.path}': LSTM op {n} output has shape {out_shape}, expected ({T}, {units})")
    csp, q_clip = prepare.lstm_cell_state_info(s_c, float(getattr(opts, "cellClip", 0.0) or 0.0))
    tm, tl = fp.tanh_params_for_scale_power(csp)  # lstm_internal::Tanh's input scaling
    q15 = prepare.GATE_OUT_SCALE
    r.ops.append(
        LstmOp(
            name=f"lstm_{n}", input=x_key, output=out_key, units=units, input_size=F, gates=gates,
            cell_gate_activation="tanh", cell_scale_power=csp, cell_scale=s_c, quantized_cell_clip=q_clip,
            forget_cell_mul=_mul_params(q15, s_c, s_c, 0, fp.INT16_MIN, fp.INT16_MAX),
            input_mul=_mul_params(q15, q15, s_c, 0, fp.INT16_MIN, fp.INT16_MAX),
            output_mul=_mul_params(q15, q15, s_h, zp_h, fp.INT8_MIN, fp.INT8_MAX),
            hidden_zero_point=zp_h, hidden_scale=s_h, tanh_cell_multiplier=tm, tanh_cell_left_shift=tl,
            time_steps=T, source={"hidden": g.name(h), "cell": g.name(c), "output": g.name(out_idx)},
        )
    )
