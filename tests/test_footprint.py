"""Flash, RAM and instructions of the exported library on Cortex-M0 / M4 / M33.

Measured on the session's QEMU builds (tests/test_qemu.py get_build): flash from the linker
map of the footprint program, RAM from the state/scratch objects and the -fstack-usage call
graph, instructions from SysTick under `qemu-system-arm -icount shift=0`. For the 32-unit radar
LSTM (18 features, 7 classes): flash <= weights + 4 KB and state + scratch < 1 KB on every core;
the static stack bound covers what QEMU measured; the counts are reproducible.

Also: the library compiles without a warning (-Wall -Wextra -Wpedantic -Werror) for the three
cores at -Os and -O2, and `export-c --target cortex-m...` prints the report (--json for machines).
"""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from click.testing import CliRunner

from edgelstm.cli import cli
from edgelstm.codegen import read_manifest
from edgelstm.codegen.targets import BOARDS
from edgelstm.testing import random_int8_inputs
from edgelstm.verify import load_export_model

from .conftest import need_tool
from .test_qemu import CORES, RADAR, SHAPES, get_build, get_export, model_bytes, need_cross_tools

REQUIRED_KEYS = ("flash_weights_bytes", "flash_code_bytes", "ram_bytes", "macs_per_frame", "instructions_per_frame")


def measured_footprint(tmp_path_factory, shape: str, core: str, opt: str = "-O2", n: int = 6) -> dict:
    build = get_build(tmp_path_factory, shape, core, opt)
    out = get_export(tmp_path_factory, shape)
    m = read_manifest(out)
    model = load_export_model(out, m)
    xq = random_int8_inputs(n, m["window"], m["features"], seed=5)
    *_, counts = build.run_windows(xq)
    return build.footprint(macs_per_frame=model.ir.macs_per_frame(), macs_head=model.ir.macs_head(), measure=counts)


@pytest.mark.parametrize("core", CORES)
def test_radar_lstm_footprint(core, tmp_path_factory, record_property):
    need_cross_tools()
    fp = measured_footprint(tmp_path_factory, RADAR, core)
    for k in REQUIRED_KEYS:
        assert fp[k] is not None and fp[k] > 0, k
    w, c = fp["flash_weights_bytes"], fp["flash_code_bytes"]
    m = read_manifest(get_export(tmp_path_factory, RADAR))
    print(f"{RADAR} on {core} ({fp['opt']}): flash {w + c} = weights {w} + code {c} "
          f"({fp['flash_code_detail']}); RAM {fp['ram_bytes']} = state {fp['ram_state_bytes']} + scratch "
          f"{fp['ram_scratch_bytes']} + stack {fp['ram_stack_bytes']} (measured {fp['ram_stack_measured_api_bytes']}); "
          f"{fp['instructions_per_frame']} instructions/frame, {fp['instructions_per_window']}/window, "
          f"{fp['instructions_per_mac']} per MAC ({fp['macs_per_frame']} MACs/frame)")
    record_property("flash_bytes", w + c)
    record_property("instructions_per_frame", fp["instructions_per_frame"])
    # The weights are the model's const data: at least the declared arrays, plus the parameter tables.
    assert m["weights_bytes"] <= w <= m["weights_bytes"] + 1024
    assert fp["flash_bytes"] == w + c
    assert w + c <= w + 4096, "code (runtime + model glue + libgcc) above 4 KB"
    assert fp["ram_state_bytes"] + fp["ram_scratch_bytes"] < 1024
    assert fp["ram_state_bytes"] == 32 * 1 + 32 * 2  # int8 h, int16 c
    assert fp["ram_scratch_bytes"] == 4 * 32 * 2     # int16 gate pre-activations
    assert fp["ram_static_bytes"] == 0
    assert fp["ram_bytes"] == fp["ram_state_bytes"] + fp["ram_scratch_bytes"] + fp["ram_stack_bytes"]
    # The static stack bound holds what the painted stack shows in QEMU.
    meas = fp["ram_stack_measured_bytes"]
    for fn in ("step", "logits", "reset", "classify"):
        assert 0 < meas[fn] <= fp["stack_by_function"][f"m_{RADAR}_{fn}"], fn
    assert fp["macs_per_frame"] == 4 * 32 * (18 + 32)
    # instructions: between 2 and 40 per MAC for a plain C int8 LSTM, window = frames x frame + head
    ipf, ipw = fp["instructions_per_frame"], fp["instructions_per_window"]
    assert 2 * fp["macs_per_frame"] < ipf < 40 * fp["macs_per_frame"]
    assert abs(fp["instructions_per_mac"] - ipf / fp["macs_per_frame"]) < 0.01
    assert 64 * ipf < ipw < 64 * ipf + fp["instructions_logits"] + 2000
    assert fp["instructions_per_window_min"] <= ipw <= fp["instructions_per_window_max"]


def test_instruction_counts_are_reproducible(tmp_path_factory):
    """-icount makes the count a property of the code, not of the host: two runs, same ticks."""
    need_cross_tools()
    build = get_build(tmp_path_factory, "stacked", "cortex-m4")
    m = read_manifest(get_export(tmp_path_factory, "stacked"))
    xq = random_int8_inputs(3, m["window"], m["features"], seed=9)
    a = build.run_windows(xq)[3]
    b = build.run_windows(xq)[3]
    assert a == b


@pytest.mark.parametrize("shape", ["stacked", "bidirectional"] + (["gru"] if "gru" in SHAPES else []))
def test_footprint_other_shapes(shape, tmp_path_factory):
    need_cross_tools()
    fp = measured_footprint(tmp_path_factory, shape, "cortex-m0")
    m = read_manifest(get_export(tmp_path_factory, shape))
    for k in REQUIRED_KEYS:
        assert fp[k] is not None and fp[k] > 0, k
    if m["streaming"]:
        assert fp["ram_state_bytes"] > 0
    else:  # whole-window model: no state between calls, the workspace is the scratch
        assert fp["ram_state_bytes"] == 0
        assert fp["ram_scratch_bytes"] == m["workspace_bytes"]
        assert 0 < fp["ram_stack_measured_bytes"]["classify_ws"] <= fp["ram_stack_bytes"]
    # soft-float front end on the Cortex-M0 costs flash, but only when it is used
    assert fp["flash_front_end_bytes"] > 500
    assert any("libgcc" in s for s in fp["support_routines"])  # 64-bit multiply on ARMv6-M


def test_os_is_smaller_and_o2_is_faster(tmp_path_factory):
    need_cross_tools()
    fs = measured_footprint(tmp_path_factory, RADAR, "cortex-m4", "-Os", n=2)
    f2 = measured_footprint(tmp_path_factory, RADAR, "cortex-m4", "-O2", n=2)
    assert fs["flash_code_bytes"] < f2["flash_code_bytes"]
    assert fs["flash_weights_bytes"] == f2["flash_weights_bytes"]
    assert f2["instructions_per_frame"] < fs["instructions_per_frame"]


# ------------------------------------------------------------------------ warnings, all cores

WARN_FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-ffunction-sections", "-fdata-sections"]


def test_library_compiles_without_warnings_on_every_core(tmp_path, tmp_path_factory):
    """-Wall -Wextra -Wpedantic -Werror, at -Os and -O2, for the three cores: the runtime and the
    generated model code of a streaming and a whole-window model. (-O2 with the same flags is also
    what every QEMU build of tests/test_qemu.py compiles; this adds -Os and checks stderr is empty.)"""
    need_tool("arm-none-eabi-gcc")
    radar = get_export(tmp_path_factory, RADAR)
    bi = get_export(tmp_path_factory, "bidirectional")
    m = read_manifest(radar)
    srcs = [str(radar / s) for s in m["library_sources"]] + [str(bi / read_manifest(bi)["library_sources"][0])]
    jobs = []
    for core in CORES:
        for opt in ("-Os", "-O2"):
            d = tmp_path / f"{core}{opt}"
            d.mkdir()
            jobs.append((core, opt, d))

    def compile_all(job):
        core, opt, d = job
        cmd = ["arm-none-eabi-gcc", *BOARDS[core].cpu_flags, opt, *WARN_FLAGS, "-I", str(radar), "-I", str(bi), "-c",
               *srcs]
        return job, subprocess.run(cmd, capture_output=True, text=True, cwd=d, timeout=600)

    with ThreadPoolExecutor(max_workers=3) as ex:
        results = list(ex.map(compile_all, jobs))
    for (core, opt, d), proc in results:
        assert proc.returncode == 0, f"{core} {opt}: {proc.stderr}"
        assert proc.stderr.strip() == "", f"{core} {opt}: {proc.stderr}"
        assert len(list(d.glob("*.o"))) == len(srcs)


# --------------------------------------------------------------------------------- export-c


def test_export_c_prints_the_footprint(tmp_path):
    need_cross_tools()
    model = tmp_path / "radar.tflite"
    model.write_bytes(model_bytes(SHAPES[RADAR]))
    r = CliRunner().invoke(cli, ["export-c", str(model), "--out", str(tmp_path / "a"), "--target", "cortex-m4"])
    assert r.exit_code == 0, r.output
    assert "footprint on cortex-m4" in r.stdout and "weights" in r.stdout and "instructions per MAC" in r.stdout
    r = CliRunner().invoke(cli, ["export-c", str(model), "--out", str(tmp_path / "b"), "--target", "cortex-m33",
                                 "--opt", "-Os", "--json"])
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout)
    for k in REQUIRED_KEYS:
        assert obj[k] == obj["footprint"][k] and obj[k] > 0, k
    assert obj["footprint"]["core"] == "cortex-m33" and obj["footprint"]["opt"] == "-Os"
    assert obj["flash_weights_bytes"] + obj["flash_code_bytes"] <= obj["flash_weights_bytes"] + 4096
    assert np.isclose(obj["footprint"]["instructions_per_mac"],
                      obj["instructions_per_frame"] / obj["macs_per_frame"], atol=0.01)
