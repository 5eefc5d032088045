"""The float shadow of the int8 graph: the graph's ops executed in float64 on the normalised input.

Each recurrent op runs ``lstm_float`` / ``gru_float`` with its Keras layer's float weights
(edgelstm/report/pairing.py finds the layer), each fully connected op the next Keras Dense
layer, and the glue ops (reverse, slice, concat, reshape, requantize) are the permutations and
copies they are in float. So every layer is fed the float model's own activations, in exactly
the int8 graph's op order (the converter puts a Bidirectional layer's backward LSTM first), and
the per-time-step divergence of the report compares like with like.

:data:`FLOAT_OPS` is the one place that knows an op kind's float meaning: a new op kind or cell
is one entry there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

from ..errors import ModelError
from ..sim.gru import gru_float
from ..sim.lstm_float import lstm_float
from .pairing import RecurrentMatch


@dataclass
class ShadowContext:
    """What the float handlers read besides their input arrays."""

    matches: dict[str, RecurrentMatch]  # recurrent op name -> its Keras layer and direction
    dense_layers: Iterator[Any]  # the Keras Dense layers, consumed in graph order
    extras: dict[str, np.ndarray] = field(default_factory=dict)  # "cell:<op name>": LSTM cell states


FloatHandler = Callable[[Any, list[np.ndarray], ShadowContext], np.ndarray]


def _lstm(op, xs: list[np.ndarray], ctx: ShadowContext) -> np.ndarray:
    m = ctx.matches[op.name]
    h, c = lstm_float(xs[0], m.kernel, m.recurrent_kernel, m.bias, return_cell=True)
    ctx.extras[f"cell:{op.name}"] = c
    return h


def _gru(op, xs: list[np.ndarray], ctx: ShadowContext) -> np.ndarray:
    m = ctx.matches[op.name]
    return gru_float(xs[0], m.kernel, m.recurrent_kernel, m.bias, reset_after=m.reset_after)


def _reverse_time(op, xs: list[np.ndarray], ctx: ShadowContext) -> np.ndarray:
    return xs[0][:, ::-1]


def _slice_time(op, xs: list[np.ndarray], ctx: ShadowContext) -> np.ndarray:
    y = xs[0][:, op.index]
    return y[:, None] if op.keep_time_axis else y


def _concat(op, xs: list[np.ndarray], ctx: ShadowContext) -> np.ndarray:
    return np.concatenate(xs, axis=-1)


def _identity(op, xs: list[np.ndarray], ctx: ShadowContext) -> np.ndarray:
    """requantize / reshape: the same real values (the fully connected handler flattens its input)."""
    return xs[0]


def _fully_connected(op, xs: list[np.ndarray], ctx: ShadowContext) -> np.ndarray:
    layer = next(ctx.dense_layers, None)
    x = xs[0]
    x = x.reshape(x.shape[0], -1)
    if layer is None or layer.weights[0].shape != (x.shape[1], op.fc.out_features):
        raise ModelError(f"cannot match the .tflite's fully connected op {op.name} to a Dense layer")
    y = x @ np.asarray(layer.weights[0], np.float64)
    if layer.use_bias and len(layer.weights) > 1:
        y = y + np.asarray(layer.weights[1], np.float64)
    if layer.activation == "relu":
        y = np.maximum(y, 0.0)
    elif layer.activation == "relu6":
        y = np.clip(y, 0.0, 6.0)
    return y


def _softmax(op, xs: list[np.ndarray], ctx: ShadowContext) -> np.ndarray:
    x = xs[0]
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# op kind -> its float meaning
FLOAT_OPS: dict[str, FloatHandler] = {
    "lstm": _lstm,
    "gru": _gru,
    "reverse_time": _reverse_time,
    "slice_time": _slice_time,
    "concat": _concat,
    "requantize": _identity,
    "reshape": _identity,
    "fully_connected": _fully_connected,
    "softmax": _softmax,
}


def float_shadow(qm, matches: list[RecurrentMatch], dense_layers: list, xn: np.ndarray) -> dict[str, np.ndarray]:
    """Execute the int8 graph's structure in float64 on normalised inputs ``xn`` (N, T, F).

    Returns {tensor key: float array} for every op output, plus ``"cell:<op name>"`` (LSTM cell
    states) for the recurrent ops. Fully connected ops take the Keras Dense layers in order.
    """
    ctx = ShadowContext(matches={m.op.name: m for m in matches}, dense_layers=iter(dense_layers))
    env: dict[str, np.ndarray] = {qm.input: np.asarray(xn, dtype=np.float64)}
    for op in qm.ops:
        handler = FLOAT_OPS.get(op.kind)
        if handler is None:
            raise ModelError(f"the report does not know op kind '{op.kind}'")
        env[op.output] = handler(op, [env[i] for i in op.inputs], ctx)
    env.update(ctx.extras)
    return env
