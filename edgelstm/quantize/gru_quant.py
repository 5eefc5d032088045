"""Quantizing a GRU classifier with edgelstm's integer GRU (no TFLite converter involved).

The TFLite converter crashes on int8 GRUs, so GRU models are quantized here, from the float
weights and a float calibration pass, and written as a ``.tflite`` in which each GRU layer is
the custom op ``EDGELSTM_GRU`` (see ``gru_op.py``) and the rest are builtin ops in the
converter's layout. Quantization choices, mirroring the TFLite converter where it has one:

- activations (model input, Dense outputs): asymmetric int8 from the calibrated min/max
  (range widened to include 0), scale (max - min)/255, zero point -128 - round(min/scale);
- weights: symmetric int8 per output row (per channel), scale max|row|/127; biases int32 with
  scale s_input * s_weight[row] (TFLite's rule), rounded half away from zero;
- GRU output h8: symmetric, power-of-two scale 2^-k, the smallest range holding the
  calibrated max |h| (k in [7, 15]); both directions of a Bidirectional layer share k.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ModelError
from ..sim.gru import gru_float
from ..tflite.gru_op import add_gru_op
from .keras_spec import LayerSpec, ModelSpec
from ..tflite.writer import GraphWriter


def _asym_params(lo: float, hi: float) -> tuple[float, int]:
    """int8 scale and zero point for a float range (TFLite's asymmetric activation rule)."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi - lo < 1e-8:
        hi = lo + 1e-8
    scale = (hi - lo) / 255.0
    zp = int(np.clip(-128 - round(lo / scale), -128, 127))
    return float(np.float32(scale)), zp


def _sym_rows(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row symmetric int8: (q (rows, cols), scales (rows,))."""
    m = np.max(np.abs(w), axis=1)
    scales = np.where(m > 0, m / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.round(w / scales[:, None].astype(np.float64)), -127, 127).astype(np.int8)
    return q, scales


def _bias_q(b: np.ndarray, scales: np.ndarray) -> np.ndarray:
    v = np.asarray(b, dtype=np.float64) / scales.astype(np.float64)
    v = np.where(v >= 0, np.floor(v + 0.5), np.ceil(v - 0.5))
    return np.clip(v, -(2**31), 2**31 - 1).astype(np.int32)


def _hidden_frac_bits(max_abs: float) -> int:
    """k with 127 * 2^-k >= max|h| (the finest power-of-two int8 scale), in [7, 15]."""
    if max_abs <= 0:
        return 15
    k = int(math.floor(math.log2(127.0 / max_abs)))
    return int(min(max(k, 7), 15))


def _gru_direction(layer: LayerSpec, weights: list[np.ndarray], x_float: np.ndarray) -> np.ndarray:
    kernel, rec, bias = weights
    return gru_float(x_float, kernel, rec, bias, reset_after=layer.reset_after, return_sequences=True)


def _gru_layer_float(layer: LayerSpec, act: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Float hidden sequences of a GRU layer: forward, and backward (in its own time order) or None."""
    nw = len(layer.weights) // (2 if layer.bidirectional else 1)
    h_f = _gru_direction(layer, layer.weights[:nw], act)
    h_b = _gru_direction(layer, layer.weights[nw:], act[:, ::-1]) if layer.bidirectional else None
    return h_f, h_b


def _gru_layer_output(h_f: np.ndarray, h_b: np.ndarray | None, last_step: bool) -> np.ndarray:
    """What the layer passes on: its last step or its sequence (both directions, input time order)."""
    if h_b is None:
        return h_f[:, -1] if last_step else h_f
    if last_step:
        return np.concatenate([h_f[:, -1], h_b[:, -1]], axis=-1)
    return np.concatenate([h_f, h_b[:, ::-1]], axis=-1)


def _dense_float(layer: LayerSpec, act: np.ndarray) -> np.ndarray:
    """A Dense layer in float64, with its relu/relu6 (softmax is left to the caller)."""
    y = act @ np.asarray(layer.weights[0], dtype=np.float64)
    if layer.use_bias:
        y = y + np.asarray(layer.weights[1], dtype=np.float64)
    if layer.activation == "relu6":
        return np.clip(y, 0.0, 6.0)
    if layer.activation == "relu":
        return np.maximum(y, 0.0)
    return y


def gru_spec_float(spec: ModelSpec, x_norm: np.ndarray) -> np.ndarray:
    """What the GRU spec computes in float64 on normalised inputs (the model edgelstm quantizes)."""
    act = np.asarray(x_norm, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore"):  # exp of saturated gates: 0 or 1, as in Keras
        for layer in spec.layers:
            if layer.kind == "gru":
                act = _gru_layer_output(*_gru_layer_float(layer, act), last_step=not layer.return_sequences)
            elif layer.kind == "dense":
                act = _dense_float(layer, act)
                if layer.activation == "softmax":
                    e = np.exp(act - act.max(axis=-1, keepdims=True))
                    act = e / e.sum(axis=-1, keepdims=True)
    return act


def _gru_tensors(w: GraphWriter, weights: list[np.ndarray], units: int, x_scale: float, k: int,
                 reset_after: bool) -> list[int]:
    """Quantized weight tensors of one GRU direction, in the custom op's input order."""
    kernel, rec, bias = [np.asarray(a, dtype=np.float64) for a in weights]
    U = units
    if reset_after:
        b = bias.reshape(2, 3 * U)
        bx, bh = b[0], b[1]
    else:
        bx, bh = bias.reshape(3 * U), None
    h_scale = 2.0**-k
    wx_t, wh_t, bx_t, bh_t = [], [], [], []
    for g in range(3):
        cols = slice(g * U, (g + 1) * U)
        qx, sx = _sym_rows(kernel[:, cols].T)
        qh, sh = _sym_rows(rec[:, cols].T)
        name = "zrh"[g]
        wx_t.append(w.tensor(w.name(f"gru_wx_{name}"), list(qx.shape), np.int8, scale=sx,
                             zero_point=np.zeros(U, np.int64), data=qx))
        wh_t.append(w.tensor(w.name(f"gru_wh_{name}"), list(qh.shape), np.int8, scale=sh,
                             zero_point=np.zeros(U, np.int64), data=qh))
        bscale = np.float32(x_scale) * sx
        bx_t.append(w.tensor(w.name(f"gru_bx_{name}"), [U], np.int32, scale=bscale, zero_point=np.zeros(U, np.int64),
                             data=_bias_q(bx[cols], bscale)))
        if bh is not None:
            hscale = np.float32(h_scale) * sh
            bh_t.append(w.tensor(w.name(f"gru_bh_{name}"), [U], np.int32, scale=hscale,
                                 zero_point=np.zeros(U, np.int64), data=_bias_q(bh[cols], hscale)))
        else:
            bh_t.append(-1)
    return wx_t + wh_t + bx_t + bh_t


def quantize_gru_spec(spec: ModelSpec, calib: np.ndarray) -> bytes:
    """int8 ``.tflite`` of a GRU classifier from its float spec and normalised calibration data."""
    with np.errstate(over="ignore", under="ignore"):  # exp of saturated gates: 0 or 1, as in Keras
        return _quantize_gru_spec(spec, calib)


def _quantize_gru_spec(spec: ModelSpec, calib: np.ndarray) -> bytes:
    if not len(calib):
        raise ModelError("no calibration data")
    w = GraphWriter("edgelstm integer GRU")
    T, F = spec.window, spec.features
    x_scale, x_zp = _asym_params(float(calib.min()), float(calib.max()))
    x_in = w.act([T, F], x_scale, x_zp, "input")
    cur, cur_scale, cur_zp, width = x_in, x_scale, x_zp, F
    act_float = calib.astype(np.float64)  # the float activations entering the current layer
    rnn_layers = [l for l in spec.layers if l.kind == "gru"]
    for li, layer in enumerate(rnn_layers):
        U = layer.units
        last = li == len(rnn_layers) - 1
        nw = len(layer.weights) // (2 if layer.bidirectional else 1)
        fw, bw = layer.weights[:nw], layer.weights[nw:]
        h_f, h_b = _gru_layer_float(layer, act_float)
        act_float = _gru_layer_output(h_f, h_b, last_step=last)
        k = _hidden_frac_bits(float(max(np.abs(h_f).max(), np.abs(h_b).max() if h_b is not None else 0.0)))
        h_scale = 2.0**-k
        fwd = add_gru_op(w, cur, T, U, _gru_tensors(w, fw, U, cur_scale, k, layer.reset_after), h_scale,
                         layer.reset_after)
        if not layer.bidirectional:
            cur = w.last_step(fwd, U, h_scale, 0) if last else fwd
            cur_scale, cur_zp, width = h_scale, 0, U
            continue
        rev = w.reverse_time(cur, [T, width], cur_scale, cur_zp)
        bwd = add_gru_op(w, rev, T, U, _gru_tensors(w, bw, U, cur_scale, k, layer.reset_after), h_scale,
                         layer.reset_after)
        if last:
            cur = w.concat([w.last_step(fwd, U, h_scale, 0), w.last_step(bwd, U, h_scale, 0)], [2 * U], h_scale, 0)
        else:
            cur = w.concat([fwd, w.reverse_time(bwd, [T, U], h_scale, 0)], [T, 2 * U], h_scale, 0)
        cur_scale, cur_zp, width = h_scale, 0, 2 * U
    dense = [l for l in spec.layers if l.kind == "dense"]
    for di, layer in enumerate(dense):
        kernel = np.asarray(layer.weights[0], dtype=np.float64)  # (in, out)
        bias = np.asarray(layer.weights[1], dtype=np.float64) if layer.use_bias else None
        y = _dense_float(layer, act_float)
        relu = layer.activation in ("relu", "relu6")
        o_scale, o_zp = _asym_params(float(y.min()), float(y.max()))
        q, s = _sym_rows(kernel.T)
        bq = _bias_q(bias, np.float32(cur_scale) * s) if bias is not None else None
        if layer.activation == "relu6":
            raise ModelError(f"layer '{layer.name}': relu6 is not supported in GRU models yet")
        cur = w.dense(cur, q, s, bq, cur_scale, o_scale, o_zp, relu)
        cur_scale, cur_zp, width = o_scale, o_zp, layer.units
        act_float = y
        if di == len(dense) - 1 and layer.activation == "softmax":
            cur = w.softmax(cur, layer.units)
    return w.finish([x_in], [cur])
