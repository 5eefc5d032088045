"""Executing a :class:`~edgelstm.ir.QuantModel` over a batch of int8 sequences.

Each op of the IR runs over the whole batch at once (chunks of sequences bound the memory);
the state of every recurrent layer starts from TFLM's reset (h = zero point, c = 0) for each
sequence, as after ``MicroInterpreter::Reset()``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .. import fixedpoint as fp
from ..errors import EdgelstmError
from ..ir import QuantModel
from .kernels import fully_connected
from .lstm import run_lstm
from .softmax import run_softmax


def _run_op(op, env: dict[str, np.ndarray], traces: dict | None) -> np.ndarray:
    k = op.kind
    if k == "lstm":
        tr = {} if traces is not None else None
        y = run_lstm(op, env[op.input], tr)
        if traces is not None:
            traces[op.name] = tr
        return y
    if k == "gru":
        from .gru import run_gru

        tr = {} if traces is not None else None
        y = run_gru(op, env[op.input], tr)
        if traces is not None:
            traces[op.name] = tr
        return y
    if k == "fully_connected":
        x = env[op.input]
        if x.shape[-1] != op.fc.in_features:  # flattened input
            x = x.reshape(x.shape[0], -1)
        return fully_connected(x, op.fc).astype(np.int8)
    if k == "softmax":
        return run_softmax(op, env[op.input]).astype(np.int8)
    if k == "reverse_time":
        return np.ascontiguousarray(env[op.input][:, ::-1])
    if k == "slice_time":
        x = env[op.input]
        y = x[:, op.index]
        return y[:, None] if op.keep_time_axis else y
    if k == "concat":
        return np.concatenate([env[i] for i in op.inputs], axis=-1)
    if k == "requantize":
        x = env[op.input].astype(np.int64) - op.input_zero_point
        y = fp.multiply_by_quantized_multiplier(x, op.multiplier, op.shift) + op.output_zero_point
        return fp.sat8(y).astype(np.int8)
    if k == "reshape":
        return env[op.input]
    raise EdgelstmError(f"the simulator does not know op kind '{k}'")


def run_model(
    qm: QuantModel,
    xq: np.ndarray,
    *,
    chunk: int = 256,
    keep: tuple[str, ...] | None = None,
    traces: dict | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Run the model on int8 inputs ``xq`` (N, T, F); returns {tensor key: (N, ...) array}.

    Only the output tensor is returned unless ``keep`` names more tensor keys (or is ("*",) for
    all). ``traces`` (a dict) collects per-layer internals (cell states, saturation counts) for
    the first chunk only when given.
    """
    xq = np.asarray(xq)
    if xq.ndim != 3 or xq.shape[1:] != tuple(qm.input_tensor.shape):
        raise EdgelstmError(
            f"input has shape {tuple(xq.shape)}, the model expects (N, {qm.window}, {qm.n_features})"
        )
    if xq.dtype != np.int8:
        raise EdgelstmError(f"input must be int8 (use quantize_input first), got {xq.dtype}")
    want = {qm.output}
    if keep:
        want |= set(qm.tensors) if "*" in keep else set(keep)
    results: dict[str, list[np.ndarray]] = {k: [] for k in want}
    N = xq.shape[0]
    for start in range(0, max(N, 1), chunk):
        xb = xq[start : start + chunk]
        env = {qm.input: xb}
        tr = traces if (traces is not None and start == 0) else None
        for op in qm.ops:
            env[op.output] = _run_op(op, env, tr)
        for k in want:
            results[k].append(env[k])
        if progress is not None:
            progress(len(xb))
    return {k: (np.concatenate(v) if v else np.zeros((0,))) for k, v in results.items()}
