"""Integer features -> the model's int8 input frame, with the normalisation and the input
quantisation folded into one integer affine map per feature (export time, no float on the board):

    x = v * unit                                  (v: the front end's integer feature)
    q = clamp(zp + round_half_away(((x - mean) / std) / scale), -128, 127)
      = clamp(zp + round_half_away((v * a + b) / 2^16), -128, 127)
    a = round(2^16 unit / (std scale)),  b = round(-2^16 mean / (std scale))

a is int32, b int64; the product v * a and the sum are int64 (edgelstm_frontend_quantize_s8).
The map is the spec of the C; it can differ from quantising the float feature in float32 by one
step where that value lies within 2^-16 of a rounding boundary (the C and this reference agree).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ModelError
from .spec import FrontEndSpec

FOLD_BITS = 16


@dataclass(frozen=True)
class InputMap:
    mul: np.ndarray   # (F,) int64 holding int32 values
    add: np.ndarray   # (F,) int64
    zero_point: int


def input_map(spec: FrontEndSpec, norm_mean, norm_std, scale: float, zero_point: int) -> InputMap:
    F = spec.n_features
    mean = np.zeros(F) if norm_mean is None else np.asarray(norm_mean, np.float64)[:F]
    std = np.ones(F) if norm_std is None else np.asarray(norm_std, np.float64)[:F]
    if len(mean) != F:
        raise ModelError(f"the model normalises {len(mean)} features per frame, the front end gives {F}",
                         "train the model on the front end's feature file")
    k = float(2**FOLD_BITS) / (std * float(scale))
    mul = np.round(spec.feature_units() * k)
    add = np.round(-mean * k)
    if np.any(np.abs(mul) >= 2**31) or np.any(np.abs(add) >= 2**62):
        raise ModelError("the model's input scale is too fine for the front end's integer features",
                         "retrain on the front end's features (their normalisation is then in range)")
    return InputMap(mul.astype(np.int64), add.astype(np.int64), int(zero_point))


def quantize_features(v: np.ndarray, m: InputMap) -> np.ndarray:
    """int8 model inputs of integer features v (..., F)."""
    t = np.asarray(v, dtype=np.int64) * m.mul + m.add
    mag = (np.abs(t) + (1 << (FOLD_BITS - 1))) >> FOLD_BITS
    q = np.where(t < 0, -mag, mag) + m.zero_point
    return np.clip(q, -128, 127).astype(np.int8)


def input_map_for_model(spec: FrontEndSpec, model) -> InputMap:
    """The map of an Int8Model (its normalisation metadata and input tensor)."""
    info = model.ir.info
    return input_map(spec, info.norm_mean, info.norm_std, model.input_scale, model.input_zero_point)
