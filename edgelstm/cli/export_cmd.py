"""`edgelstm export-c`: an int8 .tflite -> a self-contained C99 library folder."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import click

from ..codegen import DEFAULT_NAME, DEFAULT_TEST_VECTORS, export_c
from ..codegen.export import FOOTPRINT
from ..codegen.targets import BOARDS, EXPORT_TARGETS
from ..errors import ToolError
from ..fsutil import write_text_atomic
from ..verify.qemu import find_qemu, measure_footprint
from ..verify.toolchain import DEFAULT_OPT, OPT_LEVELS, find_tool
from .base import Output, cli, default_of, output_options

# The optimisation levels the CLI offers for a Cortex-M build: not -O0, whose build runs the
# portable C instead of the assembly the figures are about (docs/performance.md).
CLI_OPT_LEVELS = tuple(o for o in OPT_LEVELS if o != "-O0")


def print_footprint(out: Output, fp: dict, indent: str = "  ") -> None:
    """The human-readable footprint report (export-c and verify --target qemu-...)."""
    w, c = fp["flash_weights_bytes"], fp["flash_code_bytes"]
    d = fp.get("flash_code_detail") or {}
    out.result(f"{indent}footprint on {fp['core']} ({fp['compiler']} {fp['opt']}, inference API linked with --gc-sections):")
    out.result(f"{indent}  flash: {w + c} bytes = weights {w} + code {c} (library {d.get('model_text', 0) + d.get('runtime_text', 0)}, "
               f"tables {d.get('runtime_tables', 0)}, libgcc/libc {d.get('support_routines', 0)}); "
               f"float front end +{fp.get('flash_front_end_bytes', 0)}")
    ram = fp.get("ram_bytes")
    meas = fp.get("ram_stack_measured_api_bytes")
    stack_meas = f", {meas} measured in QEMU" if meas else ""
    out.result(f"{indent}  RAM:   {ram if ram is not None else 'unbounded'} bytes = state {fp['ram_state_bytes']} + scratch "
               f"{fp['ram_scratch_bytes']} + stack {fp['ram_stack_bytes']} (worst case, -fstack-usage call graph"
               f"{stack_meas}) + static {fp['ram_static_bytes']}")
    ipf = fp.get("instructions_per_frame")
    if ipf is not None:
        ipm = fp.get("instructions_per_mac")
        out.result(f"{indent}  instructions (QEMU -icount, SysTick): {ipf:,.0f} per frame, "
                   f"{fp['instructions_per_window']:,} per window; {fp['macs_per_frame']:,} MACs per frame"
                   + (f" -> {ipm:.2f} instructions per MAC" if ipm else ""))
    else:
        out.result(f"{indent}  instructions: not measured; {fp.get('macs_per_frame') or 0:,} MACs per frame")


@cli.command("export-c")
@click.argument("model", type=click.Path(dir_okay=True))
@click.option("--out", "-o", "out_dir", required=True, type=click.Path(file_okay=True, dir_okay=True),
              help="Output folder (created; an earlier export there is replaced, your other files in it kept; a folder that is not an export is refused).")
@click.option("--name", default=None,
              help="C prefix of every public symbol (NAME_classify, NAME_MODEL_H, ...): a C identifier. "
              f"[default: the model file's stem, or '{DEFAULT_NAME}']")
@click.option("--target", type=click.Choice(EXPORT_TARGETS), default=default_of(export_c, "target"),
              show_default=True,
              help="Folder layout: host (library + host Makefile/CMake); cortex-m4 (MPS2 AN386), cortex-m0 "
              "(micro:bit), cortex-m33 (MPS2 AN505): + bare-metal board/ template, cross Makefile/CMake, "
              "Zephyr module, and a flash/RAM/instruction report; arduino: an Arduino library "
              "(library.properties, src/, examples/).")
@click.option("--test-vectors", "n_vectors", type=click.IntRange(1, 100_000), default=None,
              help="Input windows (and expected outputs) stored for the self test. "
              f"[default: {DEFAULT_TEST_VECTORS} on the host; what fits 64 KB (M4, M33) or 16 KB (M0, Arduino) on a board]")
@click.option("--data", "data_path", type=click.Path(dir_okay=True), default=None,
              help="Dataset (.npz/.csv) whose test split gives the test vectors (quantised by the model); "
              "default: random int8 windows including extreme patterns.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=default_of(export_c, "seed"), show_default=True,
              help="Seed of the random test vectors.")
@click.option("--opt", default=DEFAULT_OPT, show_default=True, type=click.Choice(CLI_OPT_LEVELS),
              help="Optimisation level of the footprint report (cortex-m targets).")
@click.option("--footprint/--no-footprint", default=True, show_default=True,
              help="Cortex-M targets: cross-compile and measure flash, RAM and instructions per frame "
              "(arm-none-eabi-gcc; instructions need qemu-system-arm).")
@output_options()
def export_c_cmd(model: str, out_dir: str, name: str | None, target: str, n_vectors: int | None,
                 data_path: str | None, seed: int, opt: str, footprint: bool, out: Output) -> None:
    """Write MODEL (an int8 .tflite) as a portable C99 library into --out.

    \b
    The folder holds NAME_model.h/.c (weights as const arrays, multipliers and shifts, the API),
    the static runtime (fixed-point primitives, LSTM step, fully connected, softmax), test vectors
    with the simulator's expected outputs, a self test, a Makefile and a CMakeLists.txt. No malloc,
    no floating point in the inference path, bit-exact with `edgelstm simulate` and TFLite Micro.

    \b
    API (NAME_model.h): NAME_reset / NAME_step / NAME_logits (streaming, one frame at a time, for
    unidirectional models), NAME_classify (whole window), NAME_quantize_feature (float front end).

    \b
    --target cortex-m4|cortex-m0|cortex-m33 adds a bare-metal project (board/: startup, linker
    script, semihosting self test) and prints the footprint on that core: flash (weights / code),
    RAM (state + scratch + worst-case stack) and instructions per frame measured in QEMU.

    \b
    Then:  cd OUT && make test          (host: "N passed, 0 failed"; cortex-m: the same in QEMU)
           edgelstm verify OUT --data radar.npz [--target qemu-cortex-m4]
    """
    res = export_c(model, out_dir, name=name, n_vectors=n_vectors, data_path=data_path, seed=seed, note=out.note,
                   target=target)
    kb = res.weights_bytes / 1024
    if res.kept:
        out.note(f"note: kept {len(res.kept)} entr{'y' if len(res.kept) == 1 else 'ies'} of yours in {res.out}/ "
                 f"that edgelstm did not write: {', '.join(res.kept)[:200]}")
    mk = shlex.quote(str(res.out))  # copy-pasteable with spaces in the path
    out.result(f"wrote {res.out}/: {len(res.files)} files, C prefix '{res.name}', target {res.target}")
    stack = res.manifest.stack if res.manifest is not None else 1
    out.result(f"  model: {res.window} frames x {res.features} features -> {res.classes} outputs "
               + (f"({stack} frames per cell step: {res.name}_step buffers them) " if stack > 1 else "")
               + f"(sha256 {res.model_sha256[:12]}...)")
    out.result(f"  weights: {res.weights_bytes} bytes of const data (flash, {kb:.1f} KiB)")
    if res.streaming:
        out.result(f"  streaming: yes ({res.name}_reset / {res.name}_step / {res.name}_logits, and {res.name}_classify)")
    else:
        out.result(f"  streaming: no, {res.streaming_reason}; whole-window {res.name}_classify only")
    if target in BOARDS:
        out.result(f"  self test: {res.test_vectors} vectors ({res.test_vector_source}); run in QEMU: make -C {mk} test")
    elif target == "arduino":
        out.result(f"  Arduino library: copy {res.out}/ into your Arduino 'libraries' folder; example "
                   f"examples/{res.name}_serial; host self test: make -C {mk} test")
    else:
        out.result(f"  self test: {res.test_vectors} vectors ({res.test_vector_source}); run: make -C {mk} test")
    obj = res.to_json()
    if target in BOARDS:
        obj["footprint"] = None
        if footprint:
            try:
                b = BOARDS[target]
                try:
                    find_qemu() if b.qemu_system == "qemu-system-arm" else find_tool(b.qemu_system, "emulator")
                    run = True
                except ToolError as e:
                    run = False
                    out.note(f"note: instructions not measured: {e}")
                out.note(f"measuring the footprint on {target} ({b.cross_prefix}gcc {opt}"
                         + (", QEMU -icount" if run else "") + ")")
                fp = measure_footprint(res.out, target, opt=opt, run=run, manifest=res.manifest)
                obj["footprint"] = fp
                obj.update({k: fp.get(k) for k in ("flash_weights_bytes", "flash_code_bytes", "ram_bytes",
                                                   "macs_per_frame", "instructions_per_frame")})
                # kept with the library: `edgelstm report --c-dir` and users read it from there
                write_text_atomic(Path(res.out) / FOOTPRINT, json.dumps(fp, indent=2) + "\n",
                                  what="footprint report")
                print_footprint(out, fp)
            except ToolError as e:
                obj["footprint_error"] = str(e)
                out.note(f"note: footprint not measured: {e}")
    out.emit_json(obj)
