"""The instruction mix of one recurrent step on the Cortex-M55 (MVE path), from a QEMU trace.

The radar model is exported with --target cortex-m55 and cross-compiled as `edgelstm verify`
does (arm-none-eabi-gcc -O2); the verify firmware then runs one window under
`qemu-system-arm -M mps3-an547 -singlestep -d in_asm,exec,nochain -dfilter <the step's
functions>`: every executed instruction of the step (the step function and the static helpers
of its _mve.c file, found with arm-none-eabi-nm) is one trace line. The mnemonics are grouped
and divided by the number of steps run (the firmware runs NAME_classify and the streaming
NAME_step over the window: 2 x 64 steps).

QEMU counts instructions, not cycles: on a Cortex-M55 a Helium instruction takes two beats per
128-bit operation (and overlaps with the next one), so these counts are not a cycle estimate.

    .venv/bin/python tools/bench/m55_mix.py [--cell lstm|gru] [--keep DIR]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from edgelstm.codegen import export_c, read_manifest  # noqa: E402
from edgelstm.testing import random_int8_inputs  # noqa: E402
from edgelstm.verify.harness import MODE_WINDOWS, pack_inputs  # noqa: E402
from edgelstm.verify.qemu import build_qemu  # noqa: E402

MODELS = {"lstm": REPO / "models" / "radar_lstm" / "radar_lstm_int8.tflite",
          "gru": REPO / "models" / "radar_gru" / "radar_gru_int8.tflite"}
ENTRY = {"lstm": "edgelstm_lstm_step_s8_s16", "gru": "edgelstm_gru_step_s8_s16"}
# the step's own functions: the entry, the path's step and the static helpers of the _mve.c file
FUNCS = {"lstm": re.compile(r"^(edgelstm_lstm_step_s8_s16|edgelstm_lstm_\w+_mve(\.\w+)*)$"),
         "gru": re.compile(r"^(edgelstm_gru_step_s8_s16|edgelstm_gru_step_path_s8_s16|edgelstm_gru_\w+_mve(\.\w+)*)$")}

GROUPS = (  # (group, mnemonic pattern), first match wins
    ("VMLADAVA (16 int8 MACs)", r"^vmladava|^vmlava|^vmladav|^vmlav"),
    ("vector loads VLDRB/H/W (incl. VLD4)", r"^vldr[bhw]\.[su]?(8|16|32)\s+q\d+, \[[^q]*\]|^vld4"),
    ("gather loads (table pairs)", r"^vldr[bhw].*\[\w+, q\d+"),
    ("vector stores", r"^vstr|^vst4"),
    ("VQRDMULH / VRSHL / VSHL / VSHR (requantisation)", r"^vqrdmulh|^vrshl|^vshl|^vshr|^vqrshl"),
    ("VQMOVN / VMOVL / VQADD (saturation)", r"^vqmovn|^vmovl|^vqadd|^vqsub"),
    ("other vector arithmetic", r"^v(add|sub|mul|mla|and|bic|orr|eor|abs|neg|max|min|dup|mov|psel|cmp|rev)"),
    ("predication (VCTP, VPST, VMSR/VMRS P0)", r"^vctp|^vpst|^vpt|^vmsr|^vmrs"),
    ("low-overhead loops (WLSTP/LETP/DLS/LE)", r"^wls|^dls|^le|^letp"),
    ("scalar loads / stores", r"^ldr|^str|^ldm|^stm|^push|^pop|^vpush|^vpop"),
    ("branches", r"^b|^cb"),
    ("other scalar", r"."),
)


def function_ranges(elf: Path, pattern: re.Pattern) -> list[tuple[str, int, int]]:
    out = subprocess.run(["arm-none-eabi-nm", "-S", str(elf)], capture_output=True, text=True, check=True).stdout
    rng = []
    for ln in out.splitlines():
        parts = ln.split()
        if len(parts) == 4 and parts[2].lower() == "t" and pattern.match(parts[3]):
            rng.append((parts[3], int(parts[0], 16) & ~1, int(parts[1], 16)))
    return sorted(rng, key=lambda r: r[1])


def trace(build, ranges, windows: int = 1) -> tuple[Counter, dict[int, str], Counter]:
    """(executions per pc, mnemonic per pc, entries) of one run of the verify firmware."""
    wd = build.build_dir
    m = build.manifest
    (wd / "inputs.bin").write_bytes(pack_inputs(random_int8_inputs(windows, m.window, m.features, seed=3),
                                                MODE_WINDOWS))
    dfilter = ",".join(f"0x{a:x}+0x{s:x}" for _, a, s in ranges)
    log = wd / "trace.log"
    subprocess.run(["qemu-system-arm", "-M", build.board.qemu_machine, "-nographic", "-monitor", "none", "-serial",
                    "none", "-semihosting-config", "enable=on,target=native", "-kernel", build.elf.name, "-singlestep",
                    "-d", "in_asm,exec,nochain", "-dfilter", dfilter, "-D", str(log)], cwd=wd, check=True,
                   capture_output=True, timeout=900)
    execs: Counter = Counter()
    ex = re.compile(r"^Trace \d+: \S+ \[[0-9a-f]+/([0-9a-f]+)/")
    with open(log, errors="replace") as f:
        for ln in f:
            mm = ex.match(ln)
            if mm:
                execs[int(mm.group(1), 16)] += 1
    log.unlink()
    return execs, disassembly(build.elf), Counter()


def disassembly(elf: Path) -> dict[int, str]:
    """pc -> instruction text, from objdump for Armv8.1-M (QEMU 7.2's own disassembler does not
    know the MVE encodings)."""
    out = subprocess.run(["arm-none-eabi-objdump", "-d", "-m", "armv8.1-m.main", str(elf)], capture_output=True,
                         text=True, check=True).stdout
    mnem = {}
    for ln in out.splitlines():
        parts = ln.split("\t")
        if len(parts) >= 3 and parts[0].strip().endswith(":"):
            try:
                pc = int(parts[0].strip()[:-1], 16)
            except ValueError:
                continue
            mnem[pc] = " ".join(" ".join(parts[2:]).split())
    return mnem


def mix(cell: str, keep: Path | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="m55_mix_") as tmp:
        d = Path(keep) if keep else Path(tmp)
        d.mkdir(parents=True, exist_ok=True)
        out = d / "out"
        export_c(MODELS[cell], out, name="radar", n_vectors=1, target="cortex-m55")
        m = read_manifest(out)
        build = build_qemu(out, m, "qemu-cortex-m55", build_dir=d / "build")
        ranges = function_ranges(build.elf, FUNCS[cell])
        execs, mnem, _ = trace(build, ranges)
        entry = next(a for name, a, _ in ranges if name == ENTRY[cell])
        steps = execs[entry]
        groups: Counter = Counter()
        per_mnemonic: Counter = Counter()
        for pc, n in execs.items():
            text = mnem.get(pc, "?")
            op = text.split()[0] if text else "?"
            per_mnemonic[op] += n
            for name, pat in GROUPS:
                if re.search(pat, text):
                    groups[name] += n
                    break
        total = sum(execs.values())
        macs = m.macs_per_frame if hasattr(m, "macs_per_frame") else None
        return {"cell": cell, "steps": steps, "per_step": total / max(steps, 1), "macs_per_frame": macs,
                "groups": {k: v / max(steps, 1) for k, v in groups.most_common()},
                "mnemonics": {k: v / max(steps, 1) for k, v in per_mnemonic.most_common(25)},
                "functions": [r[0] for r in ranges]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cell", choices=sorted(MODELS), default="lstm")
    ap.add_argument("--keep", type=Path, help="keep the export and build here")
    args = ap.parse_args()
    r = mix(args.cell, args.keep)
    print(f"radar {args.cell.upper()} on the Cortex-M55 (MVE path), {r['steps']} steps traced: "
          f"{r['per_step']:,.1f} instructions per step (the step's own functions: {', '.join(r['functions'])})")
    print("| group | per step | share |\n|---|---:|---:|")
    for k, v in r["groups"].items():
        print(f"| {k} | {v:,.1f} | {100 * v / r['per_step']:.1f} % |")
    print("\ntop mnemonics per step: " + ", ".join(f"{k} {v:,.1f}" for k, v in r["mnemonics"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
