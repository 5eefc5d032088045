"""Cortex-M instructions per LSTM step against CMSIS-NN's arm_lstm_unidirectional_s8.

The radar LSTM (32 units, 18 features, 7 classes, 64 frames; tools/bench/common.py) is exported
for cortex-m4, cortex-m0, cortex-m33 and cortex-m55, cross-compiled with arm-none-eabi-gcc -O2 and run in
qemu-system-arm with -icount shift=0 (edgelstm/verify/qemu.py, the footprint machinery):
instructions per step (NAME_step averaged over every frame) and per MAC (the step's
multiply-accumulates: 4 gates x units x (features + units)), so models with different feature
counts compare. Outputs must equal the simulator (asserted); counts are never asserted.

Peers:
- CMSIS-NN arm_lstm_unidirectional_s8 (16-feature, 32-unit LSTM, 64 steps, GCC -O2, QEMU):
  built and run in this run from ../shared/peers/cmsis-nn (bench_cmsis_peer.py) for the
  Cortex-M55 (MVE path) and the Cortex-M4 (DSP path) when that folder is there (a message says
  so when it is not); the Cortex-M0 figure (80,990 per step = 13.18 per MAC) and the fallback
  figures (M4 31,330 = 5.10, M55 12,515 = 2.04) are the issue author's, same toolchain and QEMU.
  The Cortex-M55 is exported with --target cortex-m55 (QEMU mps3-an547, the MVE path).
- In-run peer: the portable C path of the same export on the same core
  (-DEDGELSTM_FORCE_PORTABLE: DSP assembly off), measured in this run.

    .venv/bin/python tools/bench/bench_cortexm.py [--quick] [--windows 4] [--json out.json]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Row, dump_json, print_table, radar_lstm_bytes  # noqa: E402

from edgelstm.codegen import export_c, read_manifest  # noqa: E402
from edgelstm.model import Int8Model  # noqa: E402
from edgelstm.testing import random_int8_inputs  # noqa: E402
from edgelstm.tflite.reader import load_ir_from_bytes  # noqa: E402
from edgelstm.verify import compare_outputs  # noqa: E402
from edgelstm.verify.qemu import build_qemu  # noqa: E402

import bench_cmsis_peer  # noqa: E402

CMSIS_NN = {  # the issue author's QEMU measurements of arm_lstm_unidirectional_s8 (16 features, 32 units)
    "cortex-m4": {"per_step": 31_330, "per_mac": 5.10},
    "cortex-m0": {"per_step": 80_990, "per_mac": 13.18},
    "cortex-m55": {"per_step": 12_515, "per_mac": 2.04},
}
# Built and run in this run when ../shared/peers/cmsis-nn is there (bench_cmsis_peer.py): these
# cores' CMSIS-NN rows are then measured here, not the figures above.
PEER_NOTE = "CMSIS-NN built from ../shared/peers/cmsis-nn and run in this run (same GCC, same QEMU)"

CMSIS_NOTE = ("CMSIS-NN not measured in this run (the peer in ../shared/peers/cmsis-nn builds the M55 and the "
              "M4 only): issue author's QEMU figure, GCC 12.2 -O2")
CORES = ("cortex-m4", "cortex-m0", "cortex-m33", "cortex-m55")


def _measure(out: Path, core: str, xq: np.ndarray, expected: np.ndarray, macs: int, macs_head: int,
             extra_cflags=()) -> dict:
    m = read_manifest(out)
    build = build_qemu(out, m, f"qemu-{core}", extra_cflags=tuple(extra_cflags))
    try:
        got_c, classes, got_s, counts = build.run_windows(xq)
        fp = build.footprint(macs_per_frame=macs, macs_head=macs_head, measure=counts)
    finally:
        build.cleanup()
    rep = compare_outputs(expected, {"classify": got_c, "classes": classes, "stream": got_s})
    assert rep["mismatches"] == 0 and rep["argmax_mismatches"] == 0, (
        f"{core}{' ' + ' '.join(extra_cflags) if extra_cflags else ''}: C differs from the simulator: "
        f"{rep['first_mismatches']}")
    return fp


def measure_all(quick: bool = False, windows: int = 4, cores=CORES) -> dict:
    """{core: footprint} for the optimised build of every core, plus "cortex-m4/portable"."""
    raw = radar_lstm_bytes(units=8, features=5, window=8, classes=3) if quick else radar_lstm_bytes()
    model = Int8Model(load_ir_from_bytes(raw))
    xq = random_int8_inputs(max(1, windows), model.window, model.n_features, seed=3)
    expected = model.predict_int8(xq)
    macs, macs_head = model.ir.macs_per_frame(), model.ir.macs_head()
    res: dict = {"_model": {"units": model.ir.recurrent_ops()[0].units, "features": model.n_features,
                            "window": model.window, "classes": model.n_outputs, "macs_per_frame": macs}}
    with tempfile.TemporaryDirectory(prefix="bench_cortexm_") as tmp:
        d = Path(tmp)
        (d / "radar.tflite").write_bytes(raw)
        for core in cores:
            out = d / f"out_{core}"
            export_c(d / "radar.tflite", out, name="radar", n_vectors=1, target=core)
            res[core] = _measure(out, core, xq, expected, macs, macs_head)
            if core == "cortex-m4":
                res["cortex-m4/portable"] = _measure(out, core, xq, expected, macs, macs_head,
                                                     ("-DEDGELSTM_FORCE_PORTABLE",))
    res["_peer"] = {} if quick else measure_peer(cores)  # quick: correctness only
    return res


def measure_peer(cores) -> dict:
    """{core: CMSIS-NN figures} measured in this run for the cores the peer builds (M55 MVE, M4
    DSP); empty, with a message, when ../shared/peers/cmsis-nn is absent."""
    targets = [t for t, core in bench_cmsis_peer.CORE_OF.items() if core in cores]
    try:
        return bench_cmsis_peer.measure_all(targets)
    except bench_cmsis_peer.PeerMissing as e:
        print(f"bench_cortexm: {e}; the CMSIS-NN rows use the issue author's figures instead", file=sys.stderr)
        return {}


def rows_from(res: dict) -> list[Row]:
    mdl = res["_model"]
    shape = f"{mdl['units']} units, {mdl['features']} features, {mdl['window']} frames"
    rows: list[Row] = []
    for core in CORES:
        if core not in res:
            continue
        fp = res[core]
        ipf, ipm = fp["instructions_per_frame"], fp["instructions_per_mac"]
        cm = res.get("_peer", {}).get(core) or CMSIS_NN.get(core)
        note = PEER_NOTE if core in res.get("_peer", {}) else CMSIS_NOTE
        if cm is not None:
            path = {"cortex-m55": " (MVE)", "cortex-m4": " (DSP)"}.get(core, "")
            rows.append(Row(f"{core} -O2 instructions per MAC (step, {shape})", float(ipm), float(cm["per_mac"]),
                            f"CMSIS-NN arm_lstm_unidirectional_s8{path}", cm["per_mac"] / ipm, "fewer", note))
            rows.append(Row(f"{core} -O2 instructions per step ({shape})", float(ipf), float(cm["per_step"]),
                            "CMSIS-NN (16 features: 6,144 MACs/step)", cm["per_step"] / ipf, "fewer",
                            f"edgelstm step = {mdl['macs_per_frame']:,} MACs"))
        if core == "cortex-m4" and "cortex-m4/portable" in res:
            pp = res["cortex-m4/portable"]
            rows.append(Row(f"{core} -O2 instructions per MAC, DSP path vs portable C (in-run)", float(ipm),
                            float(pp["instructions_per_mac"]), "edgelstm portable C (-DEDGELSTM_FORCE_PORTABLE)",
                            pp["instructions_per_mac"] / ipm, "fewer", "same export, same QEMU run"))
            rows.append(Row(f"{core} flash code bytes (runtime + model glue + libgcc)", float(fp["flash_code_bytes"]),
                            float(pp["flash_code_bytes"]), "edgelstm portable C",
                            pp["flash_code_bytes"] / fp["flash_code_bytes"], "smaller",
                            f"weights {fp['flash_weights_bytes']:,} B; budget weights + 4,096 B"))
        if cm is None:
            rows.append(Row(f"{core} -O2 instructions per MAC (step, {shape})", float(ipm),
                            float(CMSIS_NN["cortex-m4"]["per_mac"]), "CMSIS-NN on Cortex-M4 (same DSP instructions)",
                            CMSIS_NN["cortex-m4"]["per_mac"] / ipm, "fewer", CMSIS_NOTE))
        rows.append(Row(f"{core} RAM state + scratch + stack bytes", float(fp["ram_bytes"]),
                        f"{fp['ram_state_bytes']} + {fp['ram_scratch_bytes']} + {fp['ram_stack_bytes']}",
                        "breakdown", "-", "", "state + scratch < 1 KB"))
    return rows


def run(quick: bool = False, windows: int = 4) -> list[Row]:
    # quick: the Cortex-M33 builds the same DSP path as the M4; leave it to the full run
    return rows_from(measure_all(quick=quick, windows=windows, cores=CORES[:2] if quick else CORES))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="an 8-unit model, 2 windows, M4 + M0 (CI smoke run, correctness only)")
    ap.add_argument("--windows", type=int, default=4, help="windows run per build (default 4)")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = ap.parse_args()
    rows = run(quick=args.quick, windows=2 if args.quick else args.windows)
    print_table(rows, "Cortex-M (QEMU -icount, arm-none-eabi-gcc -O2)")
    print(f"\nnote: rows marked '{PEER_NOTE}' are measured in this run; others: {CMSIS_NOTE}. "
          "The portable-C row is measured in this run. QEMU counts instructions, not cycles "
          "(a Helium instruction takes two beats per 128-bit operation on a Cortex-M55).")
    if args.json:
        dump_json(rows, args.json)


if __name__ == "__main__":
    main()
