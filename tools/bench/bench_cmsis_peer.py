"""CMSIS-NN's int8 LSTM built and run in this run: the peer of bench_cortexm.py.

The peer lives outside the repository, at ../shared/peers/cmsis-nn relative to the project root
(ARM-software/CMSIS-NN sources, only the files arm_lstm_unidirectional_s8 needs, Apache-2.0, with
a bare-metal harness: bench/main.c, startup.c, an547.ld / an386.ld; see its measure.sh). Its
build.sh compiles arm_lstm_unidirectional_s8 (F=16, H=32, T=64: 6,144 MACs per step) with
arm-none-eabi-gcc -O2 for

    m55   -mcpu=cortex-m55 -mfloat-abi=hard (MVE path, ARM_MATH_MVEI)   QEMU mps3-an547
    m4    -mcpu=cortex-m4  -mfloat-abi=hard (DSP path, ARM_MATH_DSP)     QEMU mps2-an386

and its harness counts instructions with -icount shift=0 and SysTick (calibrated on a loop of
known length, as edgelstm's board firmware), after checking CMSIS-NN's own lstm_1 unit test
against the TFLite Micro reference output. This module runs both and parses their lines:

    .venv/bin/python tools/bench/bench_cmsis_peer.py        (prints per step / per MAC)
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PEER_DIR = REPO.parent / "shared" / "peers" / "cmsis-nn"
PEER_REL = "../shared/peers/cmsis-nn"
MACHINES = {"m55": "mps3-an547", "m4": "mps2-an386"}
CORE_OF = {"m55": "cortex-m55", "m4": "cortex-m4"}

_STEP = re.compile(r"hidden_state=zero point .*rep 0: status 0, \d+ ticks = (\d+) instr; (\d+)/step; ([\d.]+) instr/MAC")
_VALID = re.compile(r"validate lstm_1 .*: status 0, 0/\d+ bytes differ")
_CAL = re.compile(r"-> ([\d.]+) instr/tick \(expected 1e9/\d+ = ([\d.]+)\)")


class PeerMissing(RuntimeError):
    """The CMSIS-NN peer (sources + harness) is not where the benchmark looks for it."""


def peer_dir() -> Path:
    if not (PEER_DIR / "build.sh").is_file() or not (PEER_DIR / "src").is_dir():
        raise PeerMissing(f"the CMSIS-NN peer is not at {PEER_REL} (relative to the project root, {PEER_DIR}): "
                          "its build.sh and src/ are needed to measure arm_lstm_unidirectional_s8 in this run")
    for tool in ("arm-none-eabi-gcc", "qemu-system-arm", "bash"):
        if shutil.which(tool) is None:
            raise PeerMissing(f"'{tool}' is not on PATH: the CMSIS-NN peer cannot be built and run")
    return PEER_DIR


def parse(text: str) -> dict:
    """The figures of one harness run (ValueError when a line is missing or the check failed)."""
    if not _VALID.search(text):
        raise ValueError("CMSIS-NN's lstm_1 unit test did not match the TFLite Micro reference output")
    cal = _CAL.search(text)
    if cal is None or abs(float(cal.group(1)) - float(cal.group(2))) > 0.01:
        raise ValueError("the peer's SysTick calibration does not match the machine's clock")
    m = _STEP.search(text)
    if m is None:
        raise ValueError("no 'instr/MAC' line in the peer's output")
    return {"instructions": int(m.group(1)), "per_step": int(m.group(2)), "per_mac": float(m.group(3))}


def measure(target: str, workdir: Path | None = None) -> dict:
    """Build the peer for ``target`` ("m55" or "m4") and run it: {per_step, per_mac, ...}."""
    d = peer_dir()
    with tempfile.TemporaryDirectory(prefix=f"cmsis_{target}_") as tmp:
        out = Path(workdir or tmp) / target
        b = subprocess.run(["bash", str(d / "build.sh"), target, str(out)], capture_output=True, text=True, timeout=600)
        if b.returncode != 0:
            raise RuntimeError(f"building the CMSIS-NN peer for {target} failed: {(b.stderr or b.stdout)[-500:]}")
        r = subprocess.run(["qemu-system-arm", "-M", MACHINES[target], "-nographic", "-monitor", "none", "-serial",
                            "null", "-icount", "shift=0", "-semihosting-config", "enable=on,target=native", "-kernel",
                            str(out / "prog.elf")], capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise RuntimeError(f"the CMSIS-NN peer failed under QEMU {MACHINES[target]}: {(r.stdout + r.stderr)[-500:]}")
        res = parse(r.stdout)
        res["cflags"] = (out / "cflags.txt").read_text().strip() if (out / "cflags.txt").is_file() else ""
    res.update(core=CORE_OF[target], machine=MACHINES[target], macs_per_step=6144,
               name="CMSIS-NN arm_lstm_unidirectional_s8 (F=16, H=32; built in this run)")
    return res


def measure_all(targets=("m55", "m4")) -> dict:
    """{core: figures} for every target; PeerMissing when the peer is not there."""
    return {CORE_OF[t]: measure(t) for t in targets}


def main() -> int:
    try:
        res = measure_all()
    except PeerMissing as e:
        print(f"bench_cmsis_peer: {e}", file=sys.stderr)
        return 2
    for core, r in res.items():
        print(f"{core:11s} {r['machine']:11s} {r['per_step']:>7,} instructions per step  {r['per_mac']:.3f} per MAC")
    return 0


if __name__ == "__main__":
    sys.exit(main())
