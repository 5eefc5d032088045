"""Shared pieces of the benchmarks: timing, the radar-shaped model, the result table.

Every benchmark measures edgelstm and a peer in the same run (these machines are noisy) and
reports the ratio; correctness (identical outputs) is asserted, timing never is.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Row:
    metric: str
    edgelstm: float | str
    peer: float | str
    peer_name: str
    ratio: float | str  # > 1: edgelstm better, as stated in `better`
    better: str = ""
    note: str = ""


def best_time(fn, repeats: int = 3) -> float:
    """Best wall time of ``repeats`` runs (the least disturbed by other processes)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def radar_lstm_bytes(units: int = 32, features: int = 18, window: int = 64, classes: int = 7, seed: int = 1) -> bytes:
    """The benchmark model: a radar-shaped int8 LSTM (random weights, converter layout)."""
    from edgelstm.testing import SynthSpec, synth_lstm_tflite

    return synth_lstm_tflite(SynthSpec(units=units, features=features, window=window, classes=classes, seed=seed,
                                       cell_scale_power=-11))


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    return f"{cpu or platform.processor()} x{os.cpu_count()}, Python {platform.python_version()}, numpy {np.__version__}"


def print_table(rows: list[Row], title: str) -> None:
    print(f"\n{title}\n")
    print("| metric | edgelstm | peer | ratio |")
    print("|---|---|---|---|")
    for r in rows:
        e = f"{r.edgelstm:,.4g}" if isinstance(r.edgelstm, float) else str(r.edgelstm)
        p = f"{r.peer:,.4g}" if isinstance(r.peer, float) else str(r.peer)
        ratio = f"{r.ratio:.2f}x {r.better}".strip() if isinstance(r.ratio, float) else str(r.ratio)
        print(f"| {r.metric} | {e} | {p} ({r.peer_name}) | {ratio} |" + (f" {r.note}" if r.note else ""))


def dump_json(rows: list[Row], path: Path) -> None:
    path.write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")
