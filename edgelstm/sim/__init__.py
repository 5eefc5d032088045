"""The bit-exact int8 simulator: the IR's ops executed over batches of sequences with numpy.

    from edgelstm.sim import run_model
    outputs = run_model(qm, xq)          # {tensor key: (N, ...) int8}

One handler per op kind (:data:`edgelstm.sim.ops.SIM_OPS`, :func:`run_op`); the LSTM, GRU and
softmax kernels reproduce TFLite Micro's (and edgelstm's GRU spec) integer for integer.
"""

from __future__ import annotations

from .ops import SIM_OPS, SimHandler, prepare_kernels, run_op
from .runner import default_workers, run_model

__all__ = ["SIM_OPS", "SimHandler", "default_workers", "prepare_kernels", "run_model", "run_op"]
