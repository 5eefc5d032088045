"""Frame stacking (``--stack K``): K consecutive frames become one cell step of K*F features.

One rule for every executor (training, quantize, simulator, report, C): a window of T frames is
cut into ``T // K`` groups of K frames, oldest first, and a group's features are its frames
concatenated in time order (frame ``g*K + j`` fills features ``j*F .. j*F + F - 1`` of step g).
The ``T % K`` frames after the last whole group are not used. This is what the C streaming API
does: after ``NAME_reset`` it buffers frames and runs the cell on every Kth one, so a window's
trailing ``T % K`` frames are still waiting in the buffer when its logits are read.
"""

from __future__ import annotations

import numpy as np

from ..errors import EdgelstmError


def stacked_steps(frames: int, k: int) -> int:
    """Cell steps for a window of ``frames`` frames stacked by ``k`` (trailing remainder unused)."""
    return frames // k


def check_stack(k, frames: int | None = None, where: str = "--stack") -> int:
    """``k`` as a validated int (1 = no stacking); a window must hold at least one whole group."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise EdgelstmError(f"{where} must be an integer >= 1, got {k!r}")
    if frames is not None and frames < k:
        raise EdgelstmError(
            f"{where} {k} is longer than the window ({frames} frames)", f"use --stack <= {frames}"
        )
    return int(k)


def stack_frames(X: np.ndarray, k: int) -> np.ndarray:
    """(N, T, F) -> (N, T // k, k * F), keeping dtype; ``k == 1`` returns ``X`` itself."""
    k = check_stack(k, X.shape[1])
    if k == 1:
        return X
    n, t, f = X.shape
    steps = stacked_steps(t, k)
    return np.ascontiguousarray(X[:, : steps * k, :]).reshape(n, steps, k * f)
