"""``edgelstm verify``: build an exported C library, run it, compare with the simulator.

    from edgelstm.verify import verify_export
    report = verify_export("out_c", data="radar.npz", samples=1000, cc="gcc")
    assert report["mismatches"] == 0

Inputs are the data's test split quantised by the model's own ``quantize_input`` (or random
int8 windows, uniform and extreme patterns, without data); every output byte of NAME_classify
and, for a streaming model, of NAME_reset/NAME_step/NAME_logits is compared with
``Int8Model.predict_int8``. The build+run step is :func:`build_and_run` (pluggable by target).

    compare.py     the export's model, the windows, the simulator's outputs, the comparison
    host.py        build + run on this computer (gcc / clang); build_and_run dispatches by target
    harness.py     the generated C program that feeds the library from a binary file
    qemu.py        verify and measure on a Cortex-M core under QEMU (qemu_build.py, toolchain.py)
    footprint.py   flash / RAM / instructions of a Cortex-M build
    reference.py   a second, per-op reference of the streaming C (checkpoints, state)
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable

from ..codegen.manifest import read_manifest
from ..errors import EdgelstmError
from .compare import compare_outputs, load_export_model, simulate_export, verify_inputs, verify_report
from .frontend_raw import add_random_front_end, is_raw_data, verify_raw
from .host import COMPILERS, TARGETS, build_and_run, build_host, stream_checkpoints

__all__ = [
    "COMPILERS",
    "TARGETS",
    "build_and_run",
    "build_host",
    "compare_outputs",
    "load_export_model",
    "stream_checkpoints",
    "verify_export",
    "verify_inputs",
]

DEFAULT_SAMPLES = 1000


def verify_export(export_dir: str | os.PathLike, *, data: str | os.PathLike | None = None,
                  samples: int = DEFAULT_SAMPLES, cc: str = "gcc", target: str = "host", seed: int = 0,
                  note: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Build ``export_dir`` for ``target``, run it on ``samples`` windows, compare with the simulator."""
    note = note or (lambda _m: None)
    if samples < 1:
        raise EdgelstmError(f"--samples must be at least 1, got {samples}")
    if is_raw_data(data):  # raw ADC frames: NAME_frontend + the model (issue 16)
        return verify_raw(export_dir, data, samples=samples, target=target, cc=cc, note=note)
    t0 = time.perf_counter()
    manifest = read_manifest(export_dir)
    sim = simulate_export(export_dir, manifest, data, samples, seed, note)
    note(f"building {manifest.name} for {target} with {cc} and running {len(sim.xq)} windows")
    got = build_and_run(export_dir, sim.xq, target, cc=cc, manifest=manifest, float_inputs=sim.float_inputs)
    report = verify_report(sim, got, export_dir, manifest, compiler=got.get("compiler", cc), target=target)
    if data is None:  # an export with a raw front end: random int16 windows through NAME_frontend too
        add_random_front_end(report, export_dir, target=target, cc=cc, seed=seed)
    report["seconds"] = round(time.perf_counter() - t0, 3)
    if got.get("footprint"):  # Cortex-M targets: flash/RAM/instructions measured for this core
        report.update(got["footprint"])
    return report
