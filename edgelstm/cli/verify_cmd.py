"""`edgelstm verify`: build an exported C library and prove it bit-exact with the simulator."""

from __future__ import annotations

import sys

import click

from ..codegen.targets import QEMU_TARGETS
from ..verify import COMPILERS, TARGETS, verify_export
from ..verify.qemu import verify_qemu
from ..verify.toolchain import DEFAULT_OPT
from .base import Output, cli, default_of, output_options
from .export_cmd import CLI_OPT_LEVELS, print_footprint


@cli.command("verify")
@click.argument("export_dir", metavar="DIR", type=click.Path(file_okay=True, dir_okay=True))
@click.option("--data", "data_path", type=click.Path(dir_okay=True), default=None,
              help="Dataset (.npz/.csv): its test split, quantised by the model, is run through the C. "
              "Default: random int8 windows (uniform and extreme patterns).")
@click.option("--samples", type=click.IntRange(min=1), default=default_of(verify_export, "samples"),
              show_default=True, help="Windows to run (all of the test split if it has fewer).")
@click.option("--target", type=click.Choice(TARGETS + QEMU_TARGETS), default=default_of(verify_export, "target"),
              show_default=True,
              help="Where the C runs: host (gcc/clang), or cross-compiled with arm-none-eabi-gcc and run in "
              "qemu-system-arm: qemu-cortex-m4 (-M mps2-an386), qemu-cortex-m0 (-M microbit), "
              "qemu-cortex-m33 (-M mps2-an505); qemu-riscv32: rv32imc with riscv64-unknown-elf-gcc "
              "(picolibc) in qemu-system-riscv32 -M virt -bios none.")
@click.option("--cc", type=click.Choice(COMPILERS), default=default_of(verify_export, "cc"), show_default=True,
              help="Host C compiler (--target host).")
@click.option("--opt", default=DEFAULT_OPT, show_default=True, type=click.Choice(CLI_OPT_LEVELS),
              help="Optimisation level of the Cortex-M build (--target qemu-...).")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=default_of(verify_export, "seed"),
              show_default=True, help="Seed of the random windows (without --data).")
@output_options()
def verify_cmd(export_dir: str, data_path: str | None, samples: int, target: str, cc: str, opt: str, seed: int,
               out: Output) -> None:
    """Compile the library exported in DIR and compare every output byte with the simulator.

    \b
    Builds DIR's library with a small harness (-std=c99 -O2 -Wall -Wextra -Wpedantic -Werror),
    feeds it the windows through a binary file and compares NAME_classify (and, for a streaming
    model, NAME_reset/NAME_step/NAME_logits) with `edgelstm simulate`, byte for byte. With
    --data, the float front end NAME_quantize_frame is checked on the raw data as well.
    Exit code 0 only when nothing differs.

    \b
    --target qemu-cortex-m4|qemu-cortex-m0|qemu-cortex-m33 cross-compiles the library for that
    core (arm-none-eabi-gcc, --opt), runs it in qemu-system-arm with semihosting (the windows
    stream in from a file, so any --samples fits the board) and also reports the footprint on
    that core: flash (weights / code), RAM (state + scratch + stack) and the instructions per
    frame and per window counted with -icount shift=0 and SysTick.
    --target qemu-riscv32 does the same on rv32imc (riscv64-unknown-elf-gcc with picolibc,
    qemu-system-riscv32 -M virt -bios none; instructions from minstret).
    """
    if target.startswith("qemu-"):
        rep = verify_qemu(export_dir, target=target, data=data_path, samples=samples, seed=seed, opt=opt,
                          note=out.note)
    else:
        rep = verify_export(export_dir, data=data_path, samples=samples, cc=cc, target=target, seed=seed,
                            note=out.note)
    paths = "classify + streaming" if rep["streaming"] else "classify"
    ok = rep["mismatches"] == 0 and rep["argmax_mismatches"] == 0 and not rep.get("front_end_mismatches")
    out.result(f"{rep['name']} on {rep['target']} ({rep['compiler']}), {rep['samples']} windows ({rep['inputs']}): "
               f"{rep['mismatches']} mismatching bytes of {rep['compared_bytes']} compared ({paths})")
    if rep.get("front_end") == "raw":  # issue 16: NAME_frontend on raw ADC frames
        ipf = rep.get("front_end_instructions_per_frame")
        out.result(f"  raw front end ({rep['name']}_frontend, {rep['chirps']} chirps x {rep['samples_per_chirp']} samples): "
                   f"{rep['front_end_mismatches']} mismatching bytes of {rep['front_end_compared_bytes']}"
                   + (f"; {ipf:,.0f} instructions per frame, {rep['front_end_flash_bytes']} B flash, "
                      f"{rep['front_end_ram_bytes']} B RAM" if ipf is not None else ""))
    elif rep.get("front_end_mismatches") is not None:
        out.result(f"  float front end ({rep['name']}_quantize_frame on the raw data): {rep['front_end_mismatches']} "
                   f"mismatching bytes of {rep['front_end_compared_bytes']}")
    for m in rep["first_mismatches"]:
        out.result(f"  {m['path']} window {m['sample']} output {m['index']}: expected {m['expected']}, got {m['got']}")
    if rep["argmax_mismatches"]:
        out.result(f"  {rep['argmax_mismatches']} windows where the returned class differs from the argmax")
    if rep.get("footprint"):
        print_footprint(out, rep["footprint"])
    out.result("bit-exact: yes" if ok else "bit-exact: NO")
    out.emit_json(rep)
    if not ok:
        sys.exit(1)
