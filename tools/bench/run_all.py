"""Run every benchmark and print one combined table (`make bench`).

    .venv/bin/python tools/bench/run_all.py [--quick] [--only sim,host_c,cortexm]

bench_sim.py (simulator vs the TFLite Micro Python interpreter and LiteRT), bench_host_c.py
(exported C on x86 vs TFLite Micro's MicroInterpreter::Invoke, callgrind instructions) and
bench_cortexm.py (instructions per step on Cortex-M4/M0/M33/M55 under QEMU vs CMSIS-NN; the
Cortex-M55 MVE and Cortex-M4 DSP peers built from ../shared/peers/cmsis-nn in the run) and
bench_riscv.py (rv32imc under qemu-system-riscv32 vs CMSIS-NN's portable C built in the run). Each
asserts only correctness; the combined rows are also written to tools/bench/results.json
(with the machine and the mode). A benchmark that cannot run here (a missing tool) is reported
as a row saying so, and the others still run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from dataclasses import asdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import Row, machine, print_table  # noqa: E402

BENCHES = ("sim", "host_c", "cortexm", "riscv")


def _run_one(key: str, quick: bool) -> list[Row]:
    # lazy imports: `--only K` loads only that benchmark (and what it needs: TFLM, LiteRT, ...)
    if key == "sim":
        import bench_sim

        return bench_sim.run(200, 1) if quick else bench_sim.run(2000, 3)
    if key == "host_c":
        import bench_host_c

        return bench_host_c.run(quick=quick, windows=1 if quick else 3)
    if key == "cortexm":
        import bench_cortexm

        return bench_cortexm.run(quick=quick, windows=2 if quick else 4)
    if key == "riscv":
        import bench_riscv  # rv32imc under qemu-system-riscv32, CMSIS-NN's portable C built in the same run

        return bench_riscv.run(quick=quick, windows=2 if quick else 4)
    raise ValueError(key)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small models, few repeats: correctness only (CI)")
    ap.add_argument("--only", default=",".join(BENCHES), help=f"comma-separated subset of {', '.join(BENCHES)}")
    ap.add_argument("--json", type=Path, default=HERE / "results.json", help="where to write the rows")
    args = ap.parse_args(argv)
    keys = [k.strip() for k in args.only.split(",") if k.strip()]
    for k in keys:
        if k not in BENCHES:
            ap.error(f"unknown benchmark '{k}' (use {', '.join(BENCHES)})")
    rows: list[Row] = []
    failed = []
    seconds = {}
    for k in keys:
        t0 = time.perf_counter()
        try:
            rows += _run_one(k, args.quick)
        except AssertionError:
            traceback.print_exc()
            failed.append(k)  # a correctness failure: the run fails
        except Exception as e:  # noqa: BLE001 - a tool missing here is a row, not a crash
            rows.append(Row(f"bench_{k}", "not run", "-", "-", "-", "", f"{type(e).__name__}: {e}"[:200]))
        seconds[k] = round(time.perf_counter() - t0, 1)
    print_table(rows, f"edgelstm benchmarks{' (quick: correctness only)' if args.quick else ''} - {machine()}")
    args.json.write_text(json.dumps({"machine": machine(), "quick": args.quick, "seconds": seconds,
                                     "failed": failed, "rows": [asdict(r) for r in rows]}, indent=2) + "\n")
    print(f"\nrows written to {args.json}")
    if failed:
        print(f"correctness FAILED in: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
