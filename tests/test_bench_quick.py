"""CI smoke run of the benchmarks' quick modes: they run and their correctness checks hold.

tools/bench/run_all.py --quick runs bench_sim, bench_host_c (callgrind, exported C vs TFLite
Micro) and bench_cortexm (QEMU, radar-shaped model on three cores + the portable path), each on
a small model, asserting only that every output equals the simulator / TFLM. No timing or
instruction count is asserted here (those are the benchmarks' job, read by people).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RUN_ALL = REPO / "tools" / "bench" / "run_all.py"


def test_run_all_quick(tmp_path):
    if not all((REPO / "tools" / "bench" / f).is_file() for f in ("run_all.py", "bench_sim.py", "common.py")):
        pytest.skip("benchmarks not present")
    only = ["sim"]
    if shutil.which("valgrind") and shutil.which("gcc"):
        only.append("host_c")
    if shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm"):
        only.append("cortexm")
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, str(RUN_ALL), "--quick", "--only", ",".join(only), "--json", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    res = json.loads(out.read_text())
    assert res["quick"] is True and res["failed"] == []
    metrics = [r["metric"] for r in res["rows"]]
    assert not any(r["edgelstm"] == "not run" for r in res["rows"]), res["rows"]
    if "host_c" in only:
        assert any("host x86 instructions per inference" in m for m in metrics)
    if "cortexm" in only:
        assert any(m.startswith("cortex-m4 -O2 instructions per MAC") for m in metrics)
        assert any(m.startswith("cortex-m0 -O2 instructions per MAC") for m in metrics)
    assert "| metric | edgelstm | peer | ratio |" in proc.stdout
