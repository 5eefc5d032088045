"""Simulator throughput against the TFLite Micro Python interpreter and LiteRT.

Same int8 model (32-unit LSTM, 18 features, 64 frames, 7 classes), same int8 sequences;
the peers loop over sequences resetting the state between them, as a user would. Outputs of
the simulator and TFLM must be identical (asserted); LiteRT differs by design (reported).

    .venv/bin/python tools/bench/bench_sim.py [--quick] [--n 2000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Row, best_time, print_table, radar_lstm_bytes  # noqa: E402


def run(n: int, repeats: int) -> list[Row]:
    from edgelstm.model import Int8Model
    from edgelstm.oracles import compare, litert_predict, tflm_predict
    from edgelstm.tflite.reader import load_ir_from_bytes
    from edgelstm.testing import random_int8_inputs

    raw = radar_lstm_bytes()
    m = Int8Model(load_ir_from_bytes(raw))
    xq = random_int8_inputs(n, m.window, m.n_features, seed=2)
    out = {}
    t_sim = best_time(lambda: out.__setitem__("sim", m.predict_int8(xq)), repeats)
    t_tflm = best_time(lambda: out.__setitem__("tflm", tflm_predict(raw, xq)), max(1, repeats - 1))
    t_lite = best_time(lambda: out.__setitem__("litert", litert_predict(raw, xq)), max(1, repeats - 1))
    tf = compare(out["sim"], out["tflm"])
    assert tf["mismatched_bytes"] == 0, f"simulator differs from TFLite Micro: {tf}"
    lr = compare(out["sim"], out["litert"])
    seq = f"{n} seq x {m.window} frames"
    return [
        Row(f"simulator throughput, sequences/s ({seq})", n / t_sim, n / t_tflm, "TFLM Python interpreter",
            t_tflm / t_sim, "faster", "outputs identical"),
        Row(f"simulator throughput, sequences/s ({seq})", n / t_sim, n / t_lite, "ai_edge_litert", t_lite / t_sim,
            "faster", f"LiteRT differs by design: {lr['mismatched_bytes']} bytes, max {lr['max_abs_diff']}"),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--quick", action="store_true", help="200 sequences, one repeat (CI smoke run)")
    args = ap.parse_args()
    n, reps = (200, 1) if args.quick else (args.n, 3)
    print_table(run(n, reps), "simulator")


if __name__ == "__main__":
    main()
