"""Instruction mix of an export on rv32imc: instructions per frame by function, under QEMU.

The export is cross-compiled for riscv32 (edgelstm/verify/qemu_build.py, the verify firmware)
and run on one window with QEMU's translation-block trace (-d in_asm,exec,nochain: every
executed block and its instructions); each block's instructions are attributed to the function
that contains it (riscv64-unknown-elf-nm). Per frame = total / (frames of the classify, reset/step
and stack-measurement runs the firmware does on its first window). The board's own functions
(eb_*: stack painting, calibration loop) are left out.

    .venv/bin/python tools/bench/profile_riscv.py EXPORT_DIR [--top 8]
"""

from __future__ import annotations

import argparse
import bisect
import collections
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from edgelstm.codegen import read_manifest
from edgelstm.codegen.targets import BOARDS
from edgelstm.testing import random_int8_inputs
from edgelstm.verify.harness import MODE_WINDOWS, pack_inputs
from edgelstm.verify.qemu_build import build_qemu

RV = BOARDS["riscv32"]


def profile(export_dir: Path) -> tuple[dict[str, float], int]:
    m = read_manifest(export_dir)
    with tempfile.TemporaryDirectory(prefix="rvprof_") as tmp:
        b = build_qemu(export_dir, m, "qemu-riscv32", build_dir=Path(tmp) / "b")
        wd = b.build_dir
        (wd / "inputs.bin").write_bytes(pack_inputs(random_int8_inputs(1, m.window, m.features, seed=0), MODE_WINDOWS))
        log = wd / "trace.log"
        subprocess.run([RV.qemu_system, "-M", RV.qemu_machine, *RV.qemu_extra, "-nographic", "-monitor", "none",
                        "-serial", "none", "-semihosting-config", "enable=on,target=native", "-icount",
                        "shift=0,sleep=off", "-d", "in_asm,exec,nochain", "-D", str(log), "-kernel", b.elf.name],
                       cwd=wd, capture_output=True, check=True, timeout=600)
        syms = []
        nm = subprocess.run([RV.cross_prefix + "nm", "-n", str(b.elf)], capture_output=True, text=True, check=True)
        for ln in nm.stdout.splitlines():
            p = ln.split()
            if len(p) == 3 and p[1] in "tT":
                syms.append((int(p[0], 16), p[2]))
        addrs = [a for a, _ in syms]
        size: dict[int, int] = {}
        runs: collections.Counter = collections.Counter()
        cur = None
        with open(log, errors="replace") as f:
            for ln in f:
                if ln.startswith("IN:"):
                    cur = None
                    continue
                mi = re.match(r"^0x([0-9a-f]+):\s", ln)
                if mi:
                    if cur is None:
                        cur = int(mi.group(1), 16)
                        size[cur] = 0
                    size[cur] += 1
                    continue
                if not ln.strip():
                    cur = None
                me = re.search(r"Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/", ln)
                if me:
                    runs[int(me.group(1), 16)] += 1
    total: collections.Counter = collections.Counter()
    for pc, n in runs.items():
        i = bisect.bisect_right(addrs, pc) - 1
        total[syms[i][1]] += n * size.get(pc, 0)
    # the firmware's first window: stack measurement (classify + reset/step/logits), then the
    # timed classify and reset/step/logits: 4 passes over the window's frames
    frames = 4 * m.window if m.streaming else 2 * m.window
    return {k: v / frames for k, v in total.items() if not k.startswith("eb_")}, frames


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("export_dir", type=Path)
    ap.add_argument("--top", type=int, default=8)
    args = ap.parse_args()
    per_frame, frames = profile(args.export_dir)
    whole = sum(v for k, v in per_frame.items() if k not in ("main",))
    print(f"instructions per frame by function ({frames} frames traced):")
    for k, v in sorted(per_frame.items(), key=lambda kv: -kv[1])[:args.top]:
        print(f"  {v:10,.1f}  {100 * v / whole:5.1f} %  {k}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
