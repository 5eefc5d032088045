"""Vectorised integer kernels shared by the simulator's layers (batch on the leading axes)."""

from __future__ import annotations

import numpy as np

from .. import fixedpoint as fp
from ..ir import FCParams, MulParams


def int_matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Exact integer product ``x @ w.T`` through float64 BLAS.

    Every product of an int8 weight and an offset activation (|.| <= 127 * 255) and every
    partial sum stays far below 2^53 for any layer width edgelstm accepts, so the float64
    result is the exact integer (the order of summation does not matter).
    """
    y = np.asarray(x, dtype=np.float64) @ np.asarray(w, dtype=np.float64).T
    return y.astype(np.int64)


def fully_connected(x: np.ndarray, p: FCParams) -> np.ndarray:
    """TFLM ``reference_integer_ops::FullyConnected[PerChannel]`` on the last axis of ``x``."""
    acc = int_matmul(np.asarray(x, dtype=np.int64) + p.input_offset, p.weights)
    if p.bias is not None:
        acc = acc + p.bias
    acc = fp.wrap_int32(acc)
    out = fp.multiply_by_quantized_multiplier(acc, p.multiplier, p.shift) + p.output_offset
    return np.clip(out, p.act_min, p.act_max)


def mul_elementwise(a: np.ndarray, b: np.ndarray, p: MulParams) -> np.ndarray:
    """TFLM ``reference_integer_ops::MulElementwise`` (symmetric inputs, offsets 0)."""
    prod = np.asarray(a, dtype=np.int64) * np.asarray(b, dtype=np.int64)
    out = fp.multiply_by_quantized_multiplier(prod, p.multiplier, p.shift) + p.output_offset
    return np.clip(out, p.act_min, p.act_max)
