"""Random int8 input windows: the recipe export-c's test vectors, verify and the tests share.

Uniform windows, or the extreme set (in quarters: all -128, all 127, a +127/-128 checkerboard over
frames and features, uniform) that drives every saturation path of a kernel.
"""

from __future__ import annotations

import numpy as np


def random_int8_inputs(n: int, window: int, features: int, seed: int = 0, kind: str = "uniform") -> np.ndarray:
    """int8 test sequences: uniform, or the extreme patterns (all -128, all 127, alternating)."""
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        return rng.integers(-128, 128, size=(n, window, features)).astype(np.int8)
    if kind == "extremes":
        x = rng.integers(-128, 128, size=(n, window, features)).astype(np.int8)
        k = max(n // 4, 1)
        x[:k] = -128
        x[k : 2 * k] = 127
        alt = np.where((np.arange(window)[:, None] + np.arange(features)[None, :]) % 2 == 0, 127, -128)
        x[2 * k : 3 * k] = alt.astype(np.int8)
        return x
    raise ValueError(kind)
