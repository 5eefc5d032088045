"""CI smoke run of the benchmarks' quick modes: they run and their correctness checks hold.

tools/bench/run_all.py --quick runs bench_sim, bench_host_c (callgrind, exported C vs TFLite
Micro) and bench_cortexm (QEMU, radar-shaped model on three cores + the portable path), each on
a small model, asserting only that every output equals the simulator / TFLM. No timing or
instruction count is asserted here (those are the benchmarks' job, read by people).

One test per benchmark, each asking for its tools through conftest's need(): a missing tool
fails under CI and is a visible skip elsewhere (the benchmark is never dropped silently).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from edgelstm.oracles import litert_available

from .conftest import REPO, need, need_tflm, need_tool

BENCH = REPO / "tools" / "bench"
RUN_ALL = BENCH / "run_all.py"


# what each benchmark runs besides the simulator, and the rows its quick run must produce
TOOLS = {"sim": (), "host_c": ("valgrind", "gcc"), "cortexm": ("arm-none-eabi-gcc", "qemu-system-arm")}
PEERS = {"sim": ("tflm", "litert"), "host_c": ("tflm",), "cortexm": ()}
ROWS = {
    "sim": ("simulator throughput, sequences/s",),
    "host_c": ("host x86 instructions per inference",),
    "cortexm": ("cortex-m4 -O2 instructions per MAC", "cortex-m0 -O2 instructions per MAC"),
}


def test_benchmarks_are_in_the_repository():
    for f in ("run_all.py", "common.py", "bench_sim.py", "bench_host_c.py", "bench_cortexm.py"):
        assert (BENCH / f).is_file(), f"tools/bench/{f} missing"


def _need(bench: str) -> None:
    for exe in TOOLS[bench]:
        need_tool(exe)
    if "tflm" in PEERS[bench]:
        need_tflm()
    if "litert" in PEERS[bench]:
        need(litert_available(), "the ai-edge-litert package")


@pytest.mark.parametrize("bench", sorted(TOOLS))
def test_run_all_quick(bench, tmp_path):
    _need(bench)
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, str(RUN_ALL), "--quick", "--only", bench, "--json", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    res = json.loads(out.read_text())
    assert res["quick"] is True and res["failed"] == []
    assert not any(r["edgelstm"] == "not run" for r in res["rows"]), res["rows"]
    metrics = [r["metric"] for r in res["rows"]]
    for prefix in ROWS[bench]:
        assert any(m.startswith(prefix) for m in metrics), (prefix, metrics)
    assert "| metric | edgelstm | peer | ratio |" in proc.stdout
