"""``edgelstm verify DIR --target qemu-cortex-m4|qemu-cortex-m0|qemu-cortex-m33`` and the
footprint of ``edgelstm export-c --target cortex-*``.

1. the export is cross-compiled for the core and linked with the board template
   (edgelstm/verify/qemu_build.py build_qemu; the tools in edgelstm/verify/toolchain.py);
2. the verify firmware runs the windows in ``qemu-system-arm -icount shift=0`` with semihosting
   (QemuBuild.run_windows), writing every output byte and the SysTick / stack measurements;
3. the outputs are compared with the simulator byte for byte (edgelstm/verify/compare.py, the
   same comparison as the host's), and the footprint (flash / RAM / instructions,
   edgelstm/verify/footprint.py) is reported for that core.
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable

import numpy as np

from ..codegen.manifest import ExportManifest, read_manifest
from ..codegen.targets import board_for
from ..data import random_int8_inputs
from ..errors import EdgelstmError
from .compare import load_export_model, simulate_export, verify_report
from .frontend_raw import add_random_front_end, is_raw_data, verify_raw
from .qemu_build import QemuBuild, build_qemu
from .toolchain import ARM_GCC, DEFAULT_OPT, OPT_LEVELS, QEMU, find_arm_gcc, find_qemu, find_tool, normalize_opt

__all__ = [
    "DEFAULT_OPT",
    "FOOTPRINT_KEYS",
    "OPT_LEVELS",
    "QemuBuild",
    "build_and_run",
    "build_qemu",
    "find_arm_gcc",
    "find_qemu",
    "measure_footprint",
    "normalize_opt",
    "verify_qemu",
]


def measure_footprint(export_dir: str | os.PathLike, target: str, *, opt: str | None = DEFAULT_OPT,
                      model=None, windows: int = 4, seed: int = 0, run: bool = True,
                      manifest: ExportManifest | None = None) -> dict[str, Any]:
    """Build ``export_dir`` for ``target``'s core and report its footprint; with ``run`` also the
    instruction counts of ``windows`` random int8 windows under QEMU."""
    manifest = manifest or read_manifest(export_dir)
    if model is None:
        model = load_export_model(export_dir, manifest)
    build = build_qemu(export_dir, manifest, target, opt=opt)
    try:
        measure = None
        if run:
            xq = random_int8_inputs(max(int(windows), 1), manifest.window, manifest.features, seed=seed)
            *_, measure = build.run_windows(xq)
        return build.footprint(macs_per_frame=model.macs_per_frame(), macs_head=model.ir.macs_head(),
                               measure=measure)
    finally:
        build.cleanup()


# ------------------------------------------------------------------------------------ verify


def build_and_run(export_dir: str | os.PathLike, inputs: np.ndarray, target: str, *, cc: str = "gcc",
                  manifest: ExportManifest | None = None, float_inputs: np.ndarray | None = None,
                  opt: str | None = DEFAULT_OPT, progress: Callable[[int, int], None] | None = None) -> dict:
    """The qemu-* side of :func:`edgelstm.verify.host.build_and_run` (same result keys, plus
    "measure" and "footprint" for this core). ``cc`` is ignored: the compiler is arm-none-eabi-gcc."""
    del cc
    manifest = manifest or read_manifest(export_dir)
    build = build_qemu(export_dir, manifest, target, opt=opt)
    try:
        out, classes, stream, counts = build.run_windows(inputs, progress=progress)
        front = build.run_front_end(float_inputs) if float_inputs is not None else None
        fp = build.footprint(measure=counts)
    finally:
        build.cleanup()
    return {"classify": out, "classes": classes, "stream": stream, "front_end": front,
            "compiler": f"{fp['compiler']} {fp['opt']}", "target": target, "measure": counts, "footprint": fp}


FOOTPRINT_KEYS = ("flash_bytes", "flash_weights_bytes", "flash_code_bytes", "flash_front_end_bytes", "ram_bytes",
                  "ram_state_bytes", "ram_scratch_bytes", "ram_stack_bytes", "ram_static_bytes", "macs_per_frame",
                  "instructions_per_frame", "instructions_per_window", "instructions_per_mac")


def verify_qemu(export_dir: str | os.PathLike, *, target: str, data: str | os.PathLike | None = None,
                samples: int = 1000, seed: int = 0, opt: str | None = DEFAULT_OPT,
                note: Callable[[str], None] | None = None) -> dict[str, Any]:
    """``edgelstm verify DIR --target qemu-...``: bit-exactness on the core + its footprint.

    The report has the keys of :func:`edgelstm.verify.verify_export` (mismatches, samples,
    compared_bytes, first_mismatches, front_end_mismatches, ...) and, measured on this core, the
    footprint (flash_weights_bytes, flash_code_bytes, ram_bytes, macs_per_frame,
    instructions_per_frame, ... and "footprint" with the details).
    """
    note = note or (lambda _m: None)
    board = board_for(target)
    opt = normalize_opt(opt)
    if samples < 1:
        raise EdgelstmError(f"--samples must be at least 1, got {samples}")
    if is_raw_data(data):  # raw ADC frames: NAME_frontend + the model (issue 16)
        return verify_raw(export_dir, data, samples=samples, target=target, opt=opt, note=note)
    t0 = time.perf_counter()
    manifest = read_manifest(export_dir)
    cc_name = board.cross_prefix + "gcc"
    find_arm_gcc() if cc_name == ARM_GCC else find_tool(cc_name, "cross-compiler")
    find_qemu() if board.qemu_system == QEMU else find_tool(board.qemu_system, "emulator")
    sim = simulate_export(export_dir, manifest, data, samples, seed, note)
    xq, X, model = sim.xq, sim.float_inputs, sim.model
    note(f"cross-compiling {manifest.name} for {board.core} ({cc_name} {opt})")
    build = build_qemu(export_dir, manifest, target, opt=opt)
    try:
        n = len(xq)
        state = {"last": time.monotonic(), "shown": -1}

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if done != state["shown"] and (now - state["last"] >= 5.0 or (done == total and state["shown"] >= 0)):
                state["last"], state["shown"] = now, done
                note(f"  {target}: {done}/{total} windows ({time.perf_counter() - t0:.0f} s)")

        note(f"running {n} windows on the {board.title} in QEMU ({board.qemu_system} -M {board.qemu_machine} -icount shift=0)")
        out, classes, stream, counts = build.run_windows(xq, progress=progress)
        front = None
        if X is not None:
            note("running the float front end on the raw data in QEMU")
            front = build.run_front_end(X)
        fp = build.footprint(macs_per_frame=model.macs_per_frame(), macs_head=model.ir.macs_head(), measure=counts)
    finally:
        build.cleanup()
    report = verify_report(sim, {"classify": out, "classes": classes, "stream": stream, "front_end": front},
                           export_dir, manifest, compiler=f"{fp['compiler']} {fp['opt']}", target=target,
                           core=board.core, qemu_machine=board.qemu_machine, opt=opt)
    for k in FOOTPRINT_KEYS:
        report[k] = fp.get(k)
    report["footprint"] = fp
    if data is None:  # an export with a raw front end: random int16 windows through NAME_frontend too
        add_random_front_end(report, export_dir, target=target, opt=opt, seed=seed)
    report["seconds"] = round(time.perf_counter() - t0, 3)
    return report
