"""The simulator's table from op kind to its handler: one entry per kind of ``edgelstm.ir``.

A handler runs one op over a batch: ``run(op, inputs, trace, kernel)`` gets the op's input
arrays (batch first, in ``op.inputs`` order) and returns its output. A recurrent layer's entry
also prepares its kernel once per run (``prepare``: stacked weights in float64, tables) and
reads its state after a sequence (``final_state``: what verify compares with the C's
NAME_state_t). Adding an op kind to the simulator is one entry in :data:`SIM_OPS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .. import fixedpoint as fp
from ..errors import EdgelstmError
from ..ir import QuantModel
from .gru import GruKernel, run_gru
from .kernels import fully_connected
from .lstm import LstmKernel, run_lstm
from .softmax import run_softmax

Run = Callable[[Any, list[np.ndarray], "dict | None", Any], np.ndarray]


@dataclass(frozen=True)
class SimHandler:
    run: Run
    prepare: Callable[[Any], Any] | None = None  # op -> kernel shared by the chunks of a run
    # (op, output (N, T, U), trace) -> ({state field letter: (N, U) array}, saturation statistics)
    final_state: Callable[[Any, np.ndarray, dict], tuple[dict[str, np.ndarray], dict]] | None = None


def _lstm(op, xs, trace, kernel):
    return run_lstm(op, xs[0], trace, kernel=kernel)


def _lstm_state(op, y, trace):
    """h and the int16 cell state c after the last frame; the cell states at the clip (or at
    the int16 limits without one)."""
    cell = trace["cell"]  # (N, T, U)
    lim = max(int(op.quantized_cell_clip), 0) or 32767
    c64 = cell.astype(np.int64)
    stats = {"preact_saturated": trace["preact_saturated"],
             "cell_at_limit": int(np.count_nonzero((np.abs(c64) >= lim) | (c64 == -32768)))}
    return {"h": y[:, -1].astype(np.int8), "c": cell[:, -1].astype(np.int16)}, stats


def _gru(op, xs, trace, kernel):
    return run_gru(op, xs[0], trace, kernel=kernel)


def _gru_state(op, y, trace):
    """h8 and the int16 Q0.15 state h16 ("s") after the last frame; states at +-32767 / -32768."""
    st = trace["state"]  # (N, T, U) int16
    s64 = st.astype(np.int64)
    stats = {"preact_saturated": trace["preact_saturated"],
             "cell_at_limit": int(np.count_nonzero(np.abs(s64) >= 32767))}
    return {"h": y[:, -1].astype(np.int8), "s": st[:, -1].astype(np.int16)}, stats


def _fully_connected(op, xs, trace, kernel):
    x = xs[0]
    if x.shape[-1] != op.fc.in_features:  # flattened input
        x = x.reshape(x.shape[0], -1)
    return fully_connected(x, op.fc).astype(np.int8)


def _softmax(op, xs, trace, kernel):
    return run_softmax(op, xs[0]).astype(np.int8)


def _reverse_time(op, xs, trace, kernel):
    return np.ascontiguousarray(xs[0][:, ::-1])


def _slice_time(op, xs, trace, kernel):
    y = xs[0][:, op.index]
    return y[:, None] if op.keep_time_axis else y


def _concat(op, xs, trace, kernel):
    return np.concatenate(xs, axis=-1)


def _requantize(op, xs, trace, kernel):
    """TFLM ``Requantize``: clamp8(MBQM(x - in_zp, multiplier, shift) + out_zp)."""
    x = xs[0].astype(np.int64) - op.input_zero_point
    y = fp.multiply_by_quantized_multiplier(x, op.multiplier, op.shift) + op.output_zero_point
    return fp.sat8(y).astype(np.int8)


def _reshape(op, xs, trace, kernel):
    return xs[0]


SIM_OPS: dict[str, SimHandler] = {
    "lstm": SimHandler(_lstm, prepare=LstmKernel, final_state=_lstm_state),
    "gru": SimHandler(_gru, prepare=GruKernel, final_state=_gru_state),
    "fully_connected": SimHandler(_fully_connected),
    "softmax": SimHandler(_softmax),
    "reverse_time": SimHandler(_reverse_time),
    "slice_time": SimHandler(_slice_time),
    "concat": SimHandler(_concat),
    "requantize": SimHandler(_requantize),
    "reshape": SimHandler(_reshape),
}


def handler(op) -> SimHandler:
    h = SIM_OPS.get(op.kind)
    if h is None:
        raise EdgelstmError(f"the simulator does not know op kind '{op.kind}'")
    return h


def prepare_kernels(qm: QuantModel) -> dict[str, Any]:
    """{op name: kernel} of the ops that prepare one (built once per run, shared by chunks)."""
    return {op.name: h.prepare(op) for op in qm.ops if (h := handler(op)).prepare is not None}


def run_op(op, env: dict[str, np.ndarray], traces: dict | None = None, kernels: dict | None = None) -> np.ndarray:
    """Run ``op`` on the tensors of ``env`` (batch first); returns its output.

    ``traces`` (a dict) receives the op's internals under its name when it records any (the
    recurrent layers: cell states, saturation counts); ``kernels`` from :func:`prepare_kernels`.
    """
    h = handler(op)
    tr: dict | None = {} if traces is not None else None
    y = h.run(op, [env[k] for k in op.inputs], tr, (kernels or {}).get(op.name))
    if tr:
        traces[op.name] = tr
    return y
