"""Executing a :class:`~edgelstm.ir.QuantModel` over a batch of int8 sequences.

Each op of the IR runs over the whole batch at once (chunks of sequences bound the memory);
the state of every recurrent layer starts from TFLM's reset (h = zero point, c = 0) for each
sequence, as after ``MicroInterpreter::Reset()``.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Callable

import numpy as np
from threadpoolctl import threadpool_limits

from ..errors import EdgelstmError
from ..ir import QuantModel
from .ops import prepare_kernels, run_op


def _blas_single_thread():
    """BLAS limited to one thread: the per-step products are small, and threads of a
    multi-threaded BLAS spin against each other (and against our own chunk threads)."""
    return threadpool_limits(limits=1, user_api="blas")


_MAX_CHUNK = 1024
_CHUNK_BYTES = 256 << 20


def default_workers() -> int:
    """Threads for independent chunks of sequences (numpy releases the GIL in its loops)."""
    env = os.environ.get("EDGELSTM_SIM_THREADS")
    if env:
        return max(1, int(env))
    return max(1, min(os.cpu_count() or 1, 4))


def run_model(
    qm: QuantModel,
    xq: np.ndarray,
    *,
    chunk: int | None = None,
    keep: tuple[str, ...] | None = None,
    traces: dict | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> dict[str, np.ndarray]:
    """Run the model on int8 inputs ``xq`` (N, T, F); returns {tensor key: (N, ...) array}.

    The batch is cut into chunks of ``chunk`` sequences (bounded memory) that run on ``workers``
    threads; results do not depend on either. By default a chunk is the batch shared evenly
    among the workers, at most 1,024 sequences (larger chunks amortise numpy's per-call cost,
    which dominates below a few hundred sequences). Only the output tensor
    is returned unless ``keep`` names more tensor keys (or is ("*",) for all). ``traces`` (a
    dict) collects per-layer internals (cell states, saturation counts) of the first chunk.
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
    N = xq.shape[0]
    n_workers = workers or default_workers()
    if chunk is None:
        # the generic LSTM/GRU paths hold float64 (T, F + 4U) arrays per sequence: keep a chunk's
        # working set near _CHUNK_BYTES for long or wide models
        per_seq = 8 * qm.window * (qm.n_features + 1 + max((4 * getattr(op, "units", 0) for op in qm.ops), default=0))
        chunk = min(_MAX_CHUNK, -(-N // n_workers), max(1, _CHUNK_BYTES // max(per_seq, 1)))
    chunk = max(1, int(chunk))
    starts = list(range(0, max(N, 1), chunk))
    kernels = prepare_kernels(qm)

    def one(start: int) -> dict[str, np.ndarray]:
        env = {qm.input: xq[start : start + chunk]}
        tr = traces if (traces is not None and start == 0) else None
        for op in qm.ops:
            env[op.output] = run_op(op, env, tr, kernels)
        return {k: env[k] for k in want}

    parts: list[dict[str, np.ndarray] | None] = [None] * len(starts)
    n_workers = min(n_workers, len(starts))
    with _blas_single_thread():
        if n_workers <= 1:
            for i, st in enumerate(starts):
                parts[i] = one(st)
                if progress is not None:
                    progress(len(parts[i][qm.output]))
        else:
            with ThreadPoolExecutor(max_workers=n_workers) as pool:
                futs = {pool.submit(one, st): i for i, st in enumerate(starts)}
                for f in as_completed(futs):
                    parts[futs[f]] = f.result()
                    if progress is not None:
                        progress(len(parts[futs[f]][qm.output]))
    return {k: np.concatenate([p[k] for p in parts]) for k in want}
