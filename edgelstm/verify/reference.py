"""What the simulator says the C library must output (the reference side of verify).

Whole windows are :meth:`Int8Model.predict_int8`. Streaming without reset (any number of frames,
e.g. 100,000) runs the simulator's own op implementations over one long sequence: the per-frame
chain (LSTMs and GRUs from the reset state, element-wise ops) over all frames, then the head ops on the
chain's output at the requested frames, which is what NAME_logits computes from the state.
"""

from __future__ import annotations

import numpy as np

from ..codegen.graph import stream_plan
from ..errors import EdgelstmError
from ..ir import QuantModel
from ..sim.gru import run_gru
from ..sim.lstm import run_lstm
from ..sim.runner import _run_op


def simulate_stream(qm: QuantModel, frames: np.ndarray, checkpoints: list[int]) -> tuple[np.ndarray, dict, dict]:
    """Stream ``frames`` (T, F) — or a batch (N, T, F) — through a streaming model from reset.

    Returns (logits after each frame index in ``checkpoints``: (K, C) int8, or (N, K, C),
    final state {"h0": int8 (U,), "c0": int16 (U,), ...} in NAME_state_t's field order ((N, U)
    for a batch; a GRU layer has "h<i>" (h8) and "s<i>" (its int16 Q0.15 state h16)),
    saturation statistics {layer name: {"preact_saturated": {...}, "cell_at_limit": int}}, where
    for a GRU "cell_at_limit" counts states h16 at +-32767 / -32768).
    """
    plan, reason = stream_plan(qm)
    if plan is None:
        raise EdgelstmError(f"the model does not stream ({reason})")
    x = np.asarray(frames, dtype=np.int8)
    single = x.ndim == 2
    if single:
        x = x[None]
    N = x.shape[0]
    env = {qm.input: x}
    state: dict[str, np.ndarray] = {}
    stats: dict[str, dict] = {}
    li = 0
    for op in list(plan.step_ops) + list(plan.logits_frame_ops):
        if op.kind == "lstm":
            tr: dict = {}
            env[op.output] = run_lstm(op, env[op.input], tr)
            cell = tr["cell"]  # (N, T, U)
            state[f"h{li}"] = env[op.output][:, -1].astype(np.int8)
            state[f"c{li}"] = cell[:, -1].astype(np.int16)
            lim = max(int(op.quantized_cell_clip), 0) or 32767
            c64 = cell.astype(np.int64)
            stats[op.name] = {
                "preact_saturated": tr["preact_saturated"],
                "cell_at_limit": int(np.count_nonzero((np.abs(c64) >= lim) | (c64 == -32768))),
            }
            li += 1
        elif op.kind == "gru":
            tr = {}
            env[op.output] = run_gru(op, env[op.input], tr)
            st = tr["state"]  # (N, T, U) int16
            state[f"h{li}"] = env[op.output][:, -1].astype(np.int8)
            state[f"s{li}"] = st[:, -1].astype(np.int16)
            s64 = st.astype(np.int64)
            stats[op.name] = {
                "preact_saturated": tr["preact_saturated"],
                "cell_at_limit": int(np.count_nonzero(np.abs(s64) >= 32767)),
            }
            li += 1
        else:
            env[op.output] = _run_op(op, env, None)
    seq = env[plan.slice_op.input]  # (N, T, F')
    idx = np.asarray(checkpoints, dtype=np.int64)
    K = len(idx)
    picked = seq[:, idx]  # (N, K, F')
    henv = {plan.slice_op.output: picked.reshape(N * K, *picked.shape[2:])}
    for op in plan.head_ops:
        henv[op.output] = _run_op(op, henv, None)
    logits = np.asarray(henv[qm.output]).reshape(N, K, -1).astype(np.int8)
    if single:
        logits = logits[0]
        state = {k: v[0] for k, v in state.items()}
    return logits, state, stats
