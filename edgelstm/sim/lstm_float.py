"""The float reference of an LSTM layer on Keras' own weight layout (numpy, float64).

This is what ``keras.layers.LSTM`` computes (tanh activation, sigmoid recurrent activation,
no dropout), written out so that the per-time-step hidden states of the float model can be
compared with the int8 model's (``edgelstm report``) without running Keras step by step::

    z   = x_t W + h_{t-1} U + b          W (F, 4U), U (U, 4U), b (4U,), gate columns [i, f, c, o]
    i   = sigmoid(z_i)   f = sigmoid(z_f)   g = tanh(z_c)   o = sigmoid(z_o)
    c_t = f c_{t-1} + i g
    h_t = o tanh(c_t)

State reset: h = 0, c = 0 (Keras' initial state, and TFLite Micro's reset h = zero point, c = 0
in float terms). ``go_backwards=True`` processes the frames last to first and, like Keras,
returns the outputs in processing order (not re-reversed): ``out[:, t]`` is the state after
the frames ``x[:, T-1], ..., x[:, T-1-t]``. That is exactly what the int8 graph's backward
LSTM of a Bidirectional layer computes on its ``REVERSE_V2``-ed input.
"""

from __future__ import annotations

import numpy as np


def _sigmoid(v: np.ndarray) -> np.ndarray:
    # numerically safe for large |v|: exp of a non-positive number only
    e = np.exp(-np.abs(v))
    return np.where(v >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def lstm_float(
    x: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray | None,
    return_sequences: bool = True,
    go_backwards: bool = False,
    *,
    return_cell: bool = False,
):
    """Float LSTM over ``x`` (N, T, F) from the zero state.

    Returns h (N, T, U) (``return_sequences``) or the last h (N, U). With ``return_cell=True``
    returns ``(h, c)`` where c has the same layout as h (the cell states).
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"x must be (N, T, F), got shape {x.shape}")
    W = np.asarray(kernel, dtype=np.float64)
    Uw = np.asarray(recurrent_kernel, dtype=np.float64)
    U = Uw.shape[0]
    if W.shape != (x.shape[2], 4 * U) or Uw.shape != (U, 4 * U):
        raise ValueError(f"kernel {W.shape} / recurrent_kernel {Uw.shape} do not fit x {x.shape} and {U} units")
    b = np.zeros(4 * U) if bias is None else np.asarray(bias, dtype=np.float64).reshape(4 * U)
    if go_backwards:
        x = x[:, ::-1]
    N, T, _ = x.shape
    h = np.zeros((N, U))
    c = np.zeros((N, U))
    hs = np.empty((N, T, U))
    cs = np.empty((N, T, U)) if return_cell else None
    zx = x @ W + b  # (N, T, 4U): the input part of every step at once
    for t in range(T):
        z = zx[:, t] + h @ Uw
        i = _sigmoid(z[:, :U])
        f = _sigmoid(z[:, U : 2 * U])
        g = np.tanh(z[:, 2 * U : 3 * U])
        o = _sigmoid(z[:, 3 * U :])
        c = f * c + i * g
        h = o * np.tanh(c)
        hs[:, t] = h
        if cs is not None:
            cs[:, t] = c
    if not return_sequences:
        hs = hs[:, -1]
        cs = cs[:, -1] if cs is not None else None
    return (hs, cs) if return_cell else hs
