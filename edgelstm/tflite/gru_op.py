"""The ``EDGELSTM_GRU`` custom op: its layout in a ``.tflite`` and its *Prepare*.

A GRU layer lives in the same ``.tflite`` container as every other model, as a custom op::

    inputs   0        x        int8 [1, T, F]          (scale s_x, zero point z_x)
             1..3     W_z W_r W_h  int8 [U, F]         per-row scales (quantized_dimension 0)
             4..6     U_z U_r U_h  int8 [U, U]         per-row scales
             7..9     bx_z bx_r bx_h  int32 [U]        scale s_x * s_W[row]
             10..12   bh_z bh_r bh_h  int32 [U] or -1  scale 2^-k * s_U[row] (reset_after only)
    output   0        h8       int8 [1, T, U]          scale 2^-k, zero point 0
    custom options (flexbuffer map): {"reset_after": bool, "version": 1}

The state (int16 Q0.15) is internal. The arithmetic is specified in ``edgelstm/sim/gru.py``.
LSTM-only models never contain this op, so TFLite Micro runs them unchanged.
"""

from __future__ import annotations

import numpy as np
from flatbuffers import flexbuffers

from .. import fixedpoint as fp
from .. import prepare
from ..errors import ModelError, UnsupportedError
from ..ir import FCParams, GruGate, GruOp, MulParams
from .graph import TfliteGraph
from .ir_builder import IrBuilder

GRU_CUSTOM_CODE = "EDGELSTM_GRU"
GRU_OP_VERSION = 1
GRU_N_INPUTS = 13
GRU_OPTIONAL_INPUTS = frozenset({10, 11, 12})  # the recurrent biases (reset_after only)


def add_gru_op(w, x: int, T: int, units: int, weight_tensors: list[int], h_scale: float, reset_after: bool) -> int:
    """Append one GRU op (inputs x + the 12 weight/bias tensors) to a GraphWriter; returns h8."""
    out = w.act([T, units], h_scale, 0, "gru_out")
    opts = flexbuffers.Dumps({"reset_after": bool(reset_after), "version": GRU_OP_VERSION})
    w.op([x, *weight_tensors], [out], custom=GRU_CUSTOM_CODE, custom_options=opts)
    return out


def check_gru_tensor_types(g: TfliteGraph, op, n: int) -> None:
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


def read_gru_op(r: IrBuilder, op, n: int, name: str = GRU_CUSTOM_CODE) -> None:
    """Prepare an ``EDGELSTM_GRU`` op into a :class:`GruOp` appended to ``r``."""
    g = r.g
    ins = [int(i) for i in op.inputs]
    if len(ins) != GRU_N_INPUTS or len(op.outputs) != 1:
        raise ModelError(f"'{g.path}': GRU op {n} has {len(ins)} inputs, expected 13")
    try:
        raw_opts = bytes(np.asarray(op.customOptions, dtype=np.uint8)) if op.customOptions is not None else b""
        opts = flexbuffers.Loads(raw_opts) if raw_opts else {}
    except Exception:  # noqa: BLE001 - corrupt flexbuffer
        raise ModelError(f"'{g.path}': GRU op {n} has corrupt options") from None
    if not isinstance(opts, dict):
        raise ModelError(f"'{g.path}': GRU op {n} has corrupt options")
    version = int(opts.get("version", 1))
    if version > GRU_OP_VERSION:
        raise UnsupportedError(f"'{g.path}': GRU op {n} is version {version}; this edgelstm reads up to {GRU_OP_VERSION}")
    reset_after = bool(opts.get("reset_after", True))
    x, out_idx = ins[0], int(op.outputs[0])
    x_key = r.act(x, "GRU input")
    out_key = r.act(out_idx, "GRU output")
    x_shape = r.tensors[x_key].shape
    if len(x_shape) != 2:
        raise UnsupportedError(f"'{g.path}': GRU op {n} input has shape {x_shape}, expected [1, T, F]")
    T, F = x_shape
    s_x, zp_x = g.scale_zp(x, "GRU input")
    s_h, zp_h = g.scale_zp(out_idx, "GRU output")
    if zp_h != 0:
        raise ModelError(f"'{g.path}': GRU op {n} output zero point must be 0")
    k = prepare.power_of_two_exponent(s_h)
    if k is None or not 0 <= k <= 15:
        raise ModelError(f"'{g.path}': GRU op {n} output scale {s_h} is not 2^-k with k in [0, 15]")
    gates = {}
    units = None
    for gi, name in enumerate("zrh"):
        wx_i, wh_i, bx_i, bh_i = ins[1 + gi], ins[4 + gi], ins[7 + gi], ins[10 + gi]
        wx = g.const(wx_i, "GRU input weights").astype(np.int8)
        wh = g.const(wh_i, "GRU recurrent weights").astype(np.int8)
        bx = g.const(bx_i, "GRU input bias").astype(np.int64)
        if units is None:
            units = wx.shape[0]
        U = units
        if wx.shape != (U, F) or wh.shape != (U, U) or bx.shape != (U,):
            raise ModelError(f"'{g.path}': GRU op {n} gate {name} tensors have shapes {wx.shape}, {wh.shape}, {bx.shape}")
        sx_w, zx_w = g.quant(wx_i)
        sh_w, zh_w = g.quant(wh_i)
        if len(sx_w) == 1:
            sx_w = np.full(U, sx_w[0], np.float32)
        if len(sh_w) == 1:
            sh_w = np.full(U, sh_w[0], np.float32)
        if len(sx_w) != U or len(sh_w) != U or np.any(zx_w != 0) or np.any(zh_w != 0):
            raise ModelError(f"'{g.path}': GRU op {n} gate {name} weights need {U} symmetric scales")
        bh = None
        if bh_i >= 0 and not reset_after:
            raise ModelError(
                f"'{g.path}': GRU op {n} has a recurrent bias but reset_after=False "
                "(that formulation has a single bias, on the input side)"
            )
        if bh_i >= 0:
            bh = g.const(bh_i, "GRU recurrent bias").astype(np.int64)
            if bh.shape != (U,):
                raise ModelError(f"'{g.path}': GRU op {n} gate {name} recurrent bias has shape {bh.shape}")
        elif reset_after:
            bh = np.zeros(U, np.int64)
        mx, sx = prepare.gru_gate_multipliers(s_x, sx_w)
        mh, sh = prepare.gru_gate_multipliers(s_h, sh_w)
        gates[name] = GruGate(
            input_fc=FCParams(weights=wx, bias=bx, multiplier=mx, shift=sx, input_offset=-zp_x, output_offset=0,
                              act_min=fp.INT16_MIN, act_max=fp.INT16_MAX, per_channel=True),
            recurrent_fc=FCParams(weights=wh, bias=bh, multiplier=mh, shift=sh, input_offset=0, output_offset=0,
                                  act_min=fp.INT16_MIN, act_max=fp.INT16_MAX, per_channel=True),
        )
    if r.tensors[out_key].shape != (T, units):
        raise ModelError(f"'{g.path}': GRU op {n} output has shape {r.tensors[out_key].shape}, expected ({T}, {units})")
    m, s = prepare.gru_reset_multiplier()
    r.ops.append(GruOp(
        name=f"gru_{n}", input=x_key, output=out_key, units=units, input_size=F, reset_after=reset_after,
        gates=gates, reset_mul=MulParams(multiplier=m, shift=s, output_offset=0, act_min=fp.INT16_MIN,
                                         act_max=fp.INT16_MAX),
        hidden_frac_bits=k, time_steps=T, source={"output": g.name(out_idx)},
    ))
