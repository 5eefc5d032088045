"""External runtimes used as oracles: TFLite Micro (the bit-exact target) and LiteRT.

Both are driven the way a user would: one sequence per invoke, state reset in between (the
LSTM hidden/cell states are variable tensors that otherwise carry over between invokes).
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def tflm_available() -> bool:
    try:
        from tflite_micro.python.tflite_micro import runtime  # noqa: F401  # lazy: tflite_micro (optional, heavy)
    except ImportError:
        return False
    return True


def litert_available() -> bool:
    try:
        from ai_edge_litert.interpreter import Interpreter  # noqa: F401  # lazy: ai_edge_litert (optional, heavy)
    except ImportError:
        return False
    return True


def tflm_predict(raw: bytes, xq: np.ndarray, progress: Callable[[int], None] | None = None,
                 custom_ops: list[str] | None = None) -> np.ndarray:
    """Run every sequence of ``xq`` (N, T, F) int8 through ``tflite_micro.runtime.Interpreter``."""
    from tflite_micro.python.tflite_micro import runtime  # lazy: tflite_micro (optional, heavy)

    arena = max(len(raw) * 10, 1 << 20)
    it = runtime.Interpreter.from_bytes(bytes(raw), custom_op_registerers=custom_ops or [], arena_size=arena)
    outs = []
    for i in range(len(xq)):
        it.reset()
        it.set_input(np.ascontiguousarray(xq[i : i + 1]), 0)
        it.invoke()
        outs.append(np.array(it.get_output(0)).reshape(-1))
        if progress is not None:
            progress(1)
    return np.stack(outs) if outs else np.zeros((0, 0), np.int8)


def litert_predict(raw: bytes, xq: np.ndarray) -> np.ndarray:
    """The desktop LiteRT interpreter (different int8 LSTM kernels: expect a few 1-LSB differences)."""
    from ai_edge_litert.interpreter import Interpreter  # lazy: ai_edge_litert (optional, heavy)

    it = Interpreter(model_content=bytes(raw), num_threads=1)
    it.allocate_tensors()
    inp = it.get_input_details()[0]["index"]
    out = it.get_output_details()[0]["index"]
    outs = []
    for i in range(len(xq)):
        it.reset_all_variables()
        it.set_tensor(inp, np.ascontiguousarray(xq[i : i + 1]))
        it.invoke()
        outs.append(it.get_tensor(out).reshape(-1).copy())
    return np.stack(outs) if outs else np.zeros((0, 0), np.int8)


def compare(a: np.ndarray, b: np.ndarray) -> dict:
    """Mismatch statistics of two int8 output arrays."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    d = np.abs(a - b)
    return {
        "sequences": int(a.shape[0]),
        "mismatched_bytes": int(np.count_nonzero(d)),
        "mismatched_sequences": int(np.count_nonzero(d.reshape(len(d), -1).max(axis=1))) if len(d) else 0,
        "max_abs_diff": int(d.max()) if d.size else 0,
        "prediction_agreement": float(np.mean(np.argmax(a, -1) == np.argmax(b, -1))) if len(a) else float("nan"),
    }
