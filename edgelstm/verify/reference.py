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
from ..sim.ops import handler, run_op


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
        traces: dict = {}
        env[op.output] = run_op(op, env, traces)
        final_state = handler(op).final_state
        if final_state is not None:  # a recurrent layer: its fields of NAME_state_t (h<i>, c<i> / s<i>)
            fields, stats[op.name] = final_state(op, env[op.output], traces[op.name])
            state.update({f"{letter}{li}": v for letter, v in fields.items()})
            li += 1
    seq = env[plan.slice_op.input]  # (N, T, F')
    idx = np.asarray(checkpoints, dtype=np.int64)
    K = len(idx)
    picked = seq[:, idx]  # (N, K, F')
    henv = {plan.slice_op.output: picked.reshape(N * K, *picked.shape[2:])}
    for op in plan.head_ops:
        henv[op.output] = run_op(op, henv)
    logits = np.asarray(henv[qm.output]).reshape(N, K, -1).astype(np.int8)
    if single:
        logits = logits[0]
        state = {k: v[0] for k, v in state.items()}
    return logits, state, stats
