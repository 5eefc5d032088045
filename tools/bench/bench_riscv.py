"""32-bit RISC-V (rv32imc) instructions per LSTM step against CMSIS-NN's portable C, same QEMU run.

edgelstm: the radar LSTM (32 units, 18 features, 64 frames; tools/bench/common.py), the same
shape as the peer (32 units, 16 features) and the radar GRU shape, exported for --target riscv32,
cross-compiled with riscv64-unknown-elf-gcc -O2 -march=rv32imc -mabi=ilp32 (picolibc) and run in
qemu-system-riscv32 -M virt -bios none -icount shift=0 (edgelstm/verify/qemu.py): instructions
per step (NAME_step over every frame, minstret = instructions under -icount) and per MAC; outputs
must equal the simulator (asserted); counts are never asserted.

Peers, measured in this run:
- CMSIS-NN arm_lstm_unidirectional_s8, its portable C (RISC-V has no ARM_MATH_DSP / MVE path),
  compiled from ../shared/peers/cmsis-nn/src (relative to the project root; a clear message
  and no peer rows when it is absent) with the same compiler, flags and board (riscv32-virt
  startup and minstret, tools/bench/cmsis_lstm_rv32_main.c: the model of the Cortex-M peer
  harness, F=16, H=32, T=64 = 6,144 MACs per step, after CMSIS-NN's lstm_1 unit test matched
  its TFLite Micro reference output);
- edgelstm's portable C on the same core (-DEDGELSTM_FORCE_PORTABLE: the RV32 path off).

    .venv/bin/python tools/bench/bench_riscv.py [--quick] [--windows 4] [--json out.json]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Row, dump_json, print_table, radar_lstm_bytes  # noqa: E402

from edgelstm.codegen import export_c, read_manifest  # noqa: E402
from edgelstm.codegen.targets import BOARDS  # noqa: E402
from edgelstm.codegen.templates import boards_dir  # noqa: E402
from edgelstm.model import Int8Model  # noqa: E402
from edgelstm.testing import GruSynthSpec, random_int8_inputs, synth_gru_tflite  # noqa: E402
from edgelstm.tflite.reader import load_ir_from_bytes  # noqa: E402
from edgelstm.verify import compare_outputs  # noqa: E402
from edgelstm.verify.qemu import build_qemu  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PEER_DIR = REPO.parent / "shared" / "peers" / "cmsis-nn"
PEER_REL = "../shared/peers/cmsis-nn"
RV = BOARDS["riscv32"]
PEER_MACS = 4 * 32 * (16 + 32)
PEER_NAME = "CMSIS-NN arm_lstm_unidirectional_s8 (portable C)"
PEER_NOTE = "CMSIS-NN built for rv32imc and run under QEMU in this run"
# the files arm_lstm_unidirectional_s8 needs (as the Cortex-M peer's build.sh)
NN_SRCS = ("LSTMFunctions/arm_lstm_unidirectional_s8.c", "NNSupportFunctions/arm_nn_lstm_step_s8.c",
           "NNSupportFunctions/arm_nn_lstm_calculate_gate_s8_s16.c",
           "NNSupportFunctions/arm_nn_vec_mat_mul_result_acc_s8_s16.c", "BasicMathFunctions/arm_elementwise_mul_s16.c",
           "BasicMathFunctions/arm_elementwise_mul_acc_s16.c", "BasicMathFunctions/arm_elementwise_mul_s16_s8.c",
           "ActivationFunctions/arm_nn_activation_s16.c", "FullyConnectedFunctions/arm_vector_sum_s8.c",
           "NNSupportFunctions/arm_nntables.c")


class PeerMissing(RuntimeError):
    """The CMSIS-NN sources are not where the benchmark looks for them."""


def _measure(out: Path, xq: np.ndarray, expected: np.ndarray, macs: int, macs_head: int, extra_cflags=()) -> dict:
    m = read_manifest(out)
    build = build_qemu(out, m, "qemu-riscv32", extra_cflags=tuple(extra_cflags))
    try:
        got_c, classes, got_s, counts = build.run_windows(xq)
        fp = build.footprint(macs_per_frame=macs, macs_head=macs_head, measure=counts)
    finally:
        build.cleanup()
    rep = compare_outputs(expected, {"classify": got_c, "classes": classes, "stream": got_s})
    assert rep["mismatches"] == 0 and rep["argmax_mismatches"] == 0, (
        f"riscv32 {' '.join(extra_cflags)}: C differs from the simulator: {rep['first_mismatches']}")
    return fp


def measure_model(raw: bytes, name: str, windows: int, portable: bool) -> dict:
    """{"rv32": footprint, "portable": footprint or None, "model": shape} of one .tflite."""
    model = Int8Model(load_ir_from_bytes(raw))
    xq = random_int8_inputs(max(1, windows), model.window, model.n_features, seed=3)
    expected = model.predict_int8(xq)
    macs, macs_head = model.ir.macs_per_frame(), model.ir.macs_head()
    res = {"model": {"units": model.ir.recurrent_ops()[0].units, "features": model.n_features,
                     "window": model.window, "macs_per_frame": macs}}
    with tempfile.TemporaryDirectory(prefix="bench_riscv_") as tmp:
        d = Path(tmp)
        (d / "m.tflite").write_bytes(raw)
        export_c(d / "m.tflite", d / "out", name=name, n_vectors=1, target="riscv32")
        res["rv32"] = _measure(d / "out", xq, expected, macs, macs_head)
        res["portable"] = (_measure(d / "out", xq, expected, macs, macs_head, ("-DEDGELSTM_FORCE_PORTABLE",))
                           if portable else None)
    return res


def peer_dir() -> Path:
    if not (PEER_DIR / "src" / "Include").is_dir():
        raise PeerMissing(f"the CMSIS-NN peer is not at {PEER_REL} (relative to the project root, {PEER_DIR}): "
                          "its src/ is needed to measure arm_lstm_unidirectional_s8 on rv32imc in this run")
    for tool in (RV.cross_prefix + "gcc", RV.qemu_system):
        if shutil.which(tool) is None:
            raise PeerMissing(f"'{tool}' is not on PATH: the CMSIS-NN peer cannot be built and run")
    return PEER_DIR


def measure_peer() -> dict:
    """CMSIS-NN's portable LSTM on the riscv32-virt board: {per_step, per_mac, ...}."""
    src = peer_dir() / "src"
    bd = boards_dir() / RV.board
    gcc = RV.cross_prefix + "gcc"
    flags = [*RV.cpu_flags, *RV.libc_flags, "-O2", "-ffunction-sections", "-fdata-sections"]
    incs = [f"-I{src / 'Include'}", f"-I{src / 'Tests' / 'UnitTest' / 'TestCases'}", f"-I{bd}"]
    with tempfile.TemporaryDirectory(prefix="cmsis_rv32_") as tmp:
        d = Path(tmp)
        objs = []
        for f in (*[src / "Source" / s for s in NN_SRCS], HERE / "cmsis_lstm_rv32_main.c", bd / "edgelstm_board.c",
                  bd / "edgelstm_startup.c"):
            o = d / (f.stem + ".o")
            p = subprocess.run([gcc, *flags, *incs, "-c", str(f), "-o", str(o)], capture_output=True, text=True)
            if p.returncode != 0:
                raise RuntimeError(f"compiling {f.name} for rv32imc failed: {p.stderr[-500:]}")
            objs.append(str(o))
        elf = d / "peer.elf"
        p = subprocess.run([gcc, *flags, *RV.link_flags, "-T", str(bd / "linker.ld"), "-o", str(elf), *objs],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"linking the CMSIS-NN peer failed: {p.stderr[-500:]}")
        r = subprocess.run([RV.qemu_system, "-M", RV.qemu_machine, *RV.qemu_extra, "-nographic", "-monitor", "none",
                            "-serial", "none", "-semihosting-config", "enable=on,target=native", "-icount",
                            "shift=0,sleep=off", "-kernel", str(elf)], capture_output=True, text=True, timeout=600)
    text = r.stdout + r.stderr
    v = re.search(r"validate lstm_1 (\d+) (\d+)", text)
    c = re.search(r"calibration (\d+) (\d+)", text)
    s = re.search(r"lstm_steps (\d+) (\d+)", text)
    if r.returncode != 0 or not (v and c and s) or v.group(1) != "0":
        raise RuntimeError(f"the CMSIS-NN peer failed its lstm_1 check or did not run under QEMU: {text[-500:]}")
    if abs(int(c.group(1)) - int(c.group(2))) > 2:
        raise RuntimeError(f"minstret does not count instructions under QEMU: {c.group(0)}")
    per_step = int(s.group(1)) / int(s.group(2))
    return {"per_step": per_step, "per_mac": per_step / PEER_MACS, "macs_per_step": PEER_MACS, "name": PEER_NAME}


def run(quick: bool = False, windows: int = 4) -> list[Row]:
    rows: list[Row] = []
    try:
        peer = None if quick else measure_peer()
    except PeerMissing as e:
        print(f"bench_riscv: {e}; no CMSIS-NN rows", file=sys.stderr)
        peer = None
    models = [("radar LSTM", radar_lstm_bytes(units=8, features=5, window=8, classes=3) if quick else radar_lstm_bytes(),
               "radar", True)]
    if not quick:
        models.append(("LSTM of the peer's shape", radar_lstm_bytes(features=16), "peer", False))
        models.append(("radar GRU", synth_gru_tflite(GruSynthSpec(units=32, features=18, window=64, classes=7, seed=1)),
                       "gru", False))
    for title, raw, name, portable in models:
        res = measure_model(raw, name, windows, portable)
        mdl, fp = res["model"], res["rv32"]
        shape = f"{title}: {mdl['units']} units, {mdl['features']} features"
        ipm, ipf = fp["instructions_per_mac"], fp["instructions_per_frame"]
        if peer is not None and "GRU" not in title:
            rows.append(Row(f"riscv32 -O2 instructions per MAC ({shape})", float(ipm), float(peer["per_mac"]),
                            PEER_NAME, peer["per_mac"] / ipm, "fewer", PEER_NOTE))
            if name == "peer":
                rows.append(Row(f"riscv32 -O2 instructions per step ({shape})", float(ipf), float(peer["per_step"]),
                                "CMSIS-NN (same shape: 6,144 MACs/step)", peer["per_step"] / ipf, "fewer", PEER_NOTE))
        if res["portable"] is not None:
            pp = res["portable"]
            rows.append(Row(f"riscv32 -O2 instructions per MAC, RV32 path vs portable C ({shape})", float(ipm),
                            float(pp["instructions_per_mac"]), "edgelstm portable C (-DEDGELSTM_FORCE_PORTABLE)",
                            pp["instructions_per_mac"] / ipm, "fewer", "same export, same QEMU run"))
            rows.append(Row(f"riscv32 flash code bytes ({shape})", float(fp["flash_code_bytes"]),
                            float(pp["flash_code_bytes"]), "edgelstm portable C",
                            pp["flash_code_bytes"] / fp["flash_code_bytes"], "smaller",
                            f"weights {fp['flash_weights_bytes']:,} B; budget weights + 4,096 B"))
        if "GRU" in title or (peer is None and res["portable"] is None):
            rows.append(Row(f"riscv32 -O2 instructions per MAC ({shape})", float(ipm), "-",
                            "no GRU in CMSIS-NN" if "GRU" in title else "no peer", "-", "",
                            f"{ipf:,.0f} instructions per step"))
        rows.append(Row(f"riscv32 RAM state + scratch + stack bytes ({shape})", float(fp["ram_bytes"]),
                        f"{fp['ram_state_bytes']} + {fp['ram_scratch_bytes']} + {fp['ram_stack_bytes']}",
                        "breakdown", "-", "", "budget < 1 KB"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="an 8-unit model, no peer (CI smoke run, correctness only)")
    ap.add_argument("--windows", type=int, default=4, help="windows run per build (default 4)")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = ap.parse_args()
    rows = run(quick=args.quick, windows=2 if args.quick else args.windows)
    print_table(rows, "32-bit RISC-V rv32imc (QEMU virt -icount, riscv64-unknown-elf-gcc -O2, picolibc)")
    print("\nnote: QEMU counts instructions (minstret under -icount shift=0), not cycles; the peer is built and "
          "measured in this run with the same compiler, flags and board.")
    if args.json:
        dump_json(rows, args.json)


if __name__ == "__main__":
    main()
