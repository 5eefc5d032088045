"""Every compile-time path of the C runtime gives the simulator's bytes.

The runtime has three paths (firmware_templates/runtime/edgelstm_fixedpoint.h): EDGELSTM_PATH_DSP
(SMLAD assembly, Cortex-M4/M33), EDGELSTM_PATH_ARMV6M (MULS-only requantisation and assembly dot
products, Cortex-M0) and the portable C. Checked here:

- the fast primitives against the reference ones they replace, in C: edgelstm_mbqm (one
  multiply-add + one shift) == edgelstm_multiply_by_quantized_multiplier on edge and random
  values, with the 64-bit product and with the ARMv6-M 16-bit partial products; the shortened
  sigmoid / tanh == TFLM's LUT functions on all 65,536 int16 inputs; the prepared element-wise
  requantisation == edgelstm_mul_requantize (also under UBSan);
- the exported library on the host with the portable path and with the ARMv6-M arithmetic
  forced (-DEDGELSTM_FORCE_ARMV6M), on odd shapes (units 1, 3, 7; features 1, 5, 17; GRU);
- under QEMU: the DSP path is what the Cortex-M4 / M33 builds compile (its macro, SMLAD in the
  LSTM step), the Cortex-M0 build calls no 64-bit multiply helper in the LSTM step, and the
  outputs of the odd shapes equal the simulator on M4, M0, M33 and on the M4 with the portable
  path forced (the benchmarks' in-run peer).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgelstm.codegen import export_c, read_manifest
from edgelstm.codegen.export import templates_dir
from edgelstm.codegen.targets import BOARDS
from edgelstm.testing import SynthSpec, random_int8_inputs, synth_lstm_tflite
from edgelstm.verify import build_host, compare_outputs, load_export_model

from .conftest import need_tool

RUNTIME = templates_dir() / "runtime"

PRIMITIVES_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include "edgelstm_fixedpoint.h"

static uint64_t s = 88172645463325252ull;
static uint32_t rnd(void) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return (uint32_t)s; }
static int32_t pick(void)
{
    const int32_t v = (int32_t)rnd();
    switch (rnd() & 7u) {
    case 0: return v;
    case 1: return (int32_t)(rnd() % 64u) - 32 + (int32_t)(1u << (rnd() % 31u)) * ((rnd() & 1u) ? 1 : -1);
    case 2: return EDGELSTM_INT32_MIN + (int32_t)(rnd() % 4u);
    case 3: return EDGELSTM_INT32_MAX - (int32_t)(rnd() % 4u);
    default: return edgelstm_asr_s32(v, (int32_t)(rnd() % 31u));
    }
}
static int32_t pick_m(void)
{
    switch (rnd() % 6u) {
    case 0: return 0;
    case 1: return 0x40000000;
    case 2: return 0x7FFFFFFF;
    case 3: return (int32_t)(rnd() & 0x7FFFFFFFu);
    default: return (int32_t)(0x40000000u + (rnd() & 0x3FFFFFFFu));
    }
}

int main(int argc, char **argv)
{
    long n = (argc > 1) ? atol(argv[1]) : 1000000L, i, bad = 0;
    int32_t x, k;
    for (i = 0; i < n; ++i) {
        const int32_t v = pick(), m = pick_m(), sh = (int32_t)(rnd() % 63u) - 31;
        if (edgelstm_mbqm(v, m, sh) != edgelstm_multiply_by_quantized_multiplier(v, m, sh)) {
            if (bad++ < 5) printf("mbqm x=%d m=%d s=%d\n", v, m, sh);
        }
        if (edgelstm_mbqm_m30(v, sh) != edgelstm_multiply_by_quantized_multiplier(v, 0x40000000, sh)) {
            if (bad++ < 5) printf("m30 x=%d s=%d\n", v, sh);
        }
        {
            const int32_t a = (int32_t)(rnd() & 0xFFFFu) - 32768, b = (int32_t)(rnd() & 0xFFFFu) - 32768;
            const int32_t off = (int32_t)(rnd() % 256u) - 128, lo = (rnd() & 1u) ? -128 : -32768;
            const int32_t hi = (lo == -128) ? 127 : 32767;
            const edgelstm_mul_fast_t f = edgelstm_mul_fast_prepare(m, sh, off, lo, hi);
            if (edgelstm_mul_fast(a, b, &f) != edgelstm_mul_requantize(a, b, m, sh, off, lo, hi)) {
                if (bad++ < 5) printf("mul a=%d b=%d m=%d s=%d off=%d\n", a, b, m, sh, off);
            }
        }
    }
    for (x = -32768; x <= 32767; ++x) {
        if (edgelstm_sigmoid_q15(x) != edgelstm_sigmoid_int16((int16_t)x)) {
            if (bad++ < 5) printf("sigmoid %d\n", x);
        }
        for (k = 0; k <= 29; ++k) {
            if (edgelstm_tanh_q15(x, 0, k) != edgelstm_tanh_int16((int16_t)x, 0, k)) {
                if (bad++ < 5) printf("tanh %d 0 %d\n", x, k);
            }
        }
        for (k = 0; k < 8; ++k) {
            static const int32_t mult[8] = {1, 3, 5, 100, 12345, 24576, 32767, 65535};
            static const int32_t ls[8] = {0, 1, 2, 5, 10, 14, 17, 20};
            if (edgelstm_tanh_q15(x, mult[k], ls[k]) != edgelstm_tanh_int16((int16_t)x, mult[k], ls[k])) {
                if (bad++ < 5) printf("tanh %d %d %d\n", x, mult[k], ls[k]);
            }
        }
    }
    printf("%s: %ld mismatches\n", EDGELSTM_KERNEL_PATH, bad);
    return bad != 0;
}
"""


@pytest.mark.parametrize("variant", [
    ("gcc", ("-O2",), "portable"),
    ("gcc", ("-O2", "-DEDGELSTM_FORCE_ARMV6M"), "armv6m"),
    ("clang", ("-O2", "-DEDGELSTM_FORCE_ARMV6M"), "armv6m"),
    ("gcc", ("-O1", "-fsanitize=undefined", "-fno-sanitize-recover=all"), "portable"),
    ("gcc", ("-O1", "-fsanitize=undefined", "-fno-sanitize-recover=all", "-DEDGELSTM_FORCE_ARMV6M"), "armv6m"),
])
def test_fast_primitives_equal_reference(variant, tmp_path):
    cc, flags, path = variant
    need_tool(cc)
    src = tmp_path / "prim.c"
    src.write_text(PRIMITIVES_C)
    src_tables = RUNTIME / "edgelstm_tables.c"
    exe = tmp_path / "prim"
    proc = subprocess.run([cc, "-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", *flags, "-I", str(RUNTIME),
                           str(src), str(src_tables), "-o", str(exe)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    n = "300000" if "-fsanitize=undefined" in flags else "3000000"
    run = subprocess.run([str(exe), n], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{path}: 0 mismatches" in run.stdout


# ------------------------------------------------------------------------ exported libraries

ODD_LSTM: dict[str, SynthSpec] = {
    "u1_f1": SynthSpec(units=1, features=1, window=12, seed=201),
    "u3_f5": SynthSpec(units=3, features=5, window=14, hidden_zero_point=-20, seed=202, cell_scale_power=-12),
    "u7_f17": SynthSpec(units=7, features=17, window=16, classes=5, seed=203, cell_scale_power=-10),
    "u5_f3_extreme": SynthSpec(units=5, features=3, window=10, extreme_weights=True, hidden_zero_point=90, seed=204,
                               softmax=True),
    "stack_u6_u3": SynthSpec(layers=2, units=[6, 3], features=9, window=12, seed=205, cell_scale_power=[-12, -9]),
}


def _gru_specs() -> dict:
    from edgelstm.testing import GruSynthSpec

    return {
        "gru_u3_f5": GruSynthSpec(units=3, features=5, window=14, seed=211),
        "gru_u7_f17_ra0": GruSynthSpec(units=7, features=17, window=12, reset_after=False, hidden_frac_bits=9,
                                       seed=212),
    }


def model_bytes(key: str) -> bytes:
    if key in ODD_LSTM:
        return synth_lstm_tflite(ODD_LSTM[key])
    from edgelstm.testing import synth_gru_tflite

    return synth_gru_tflite(_gru_specs()[key])


ALL_SHAPES = list(ODD_LSTM) + ["gru_u3_f5", "gru_u7_f17_ra0"]
_EXPORTS: dict[str, Path] = {}


def get_export(tmp_path_factory, key: str) -> Path:
    if key not in _EXPORTS:
        d = tmp_path_factory.mktemp(f"paths_{key}")
        (d / "m.tflite").write_bytes(model_bytes(key))
        export_c(d / "m.tflite", d / "out", name="p_" + key.lower(), n_vectors=4)
        _EXPORTS[key] = d / "out"
    return _EXPORTS[key]


def windows(model, n_uniform: int, n_extreme: int, seed: int = 0) -> np.ndarray:
    T, F = model.window, model.n_features
    return np.concatenate([random_int8_inputs(n_uniform, T, F, seed=seed, kind="uniform"),
                           random_int8_inputs(n_extreme, T, F, seed=seed + 1, kind="extremes")])


@pytest.mark.parametrize("force", ["-DEDGELSTM_FORCE_PORTABLE", "-DEDGELSTM_FORCE_ARMV6M"])
@pytest.mark.parametrize("key", ALL_SHAPES)
def test_host_paths_equal_simulator(key, force, tmp_path_factory):
    need_tool("gcc")
    out = get_export(tmp_path_factory, key)
    m = read_manifest(out)
    model = load_export_model(out, m)
    xq = windows(model, 300, 200)
    expected = model.predict_int8(xq)
    build = build_host(out, m, cc="gcc", extra_cflags=(force,))
    try:
        got_c, classes, got_s = build.run_windows(xq)
    finally:
        build.cleanup()
    rep = compare_outputs(expected, {"classify": got_c, "classes": classes, "stream": got_s})
    assert rep["mismatches"] == 0, rep["first_mismatches"]
    assert rep["argmax_mismatches"] == 0


# ------------------------------------------------------------------------------------ QEMU


def need_cross_tools() -> None:
    need_tool("arm-none-eabi-gcc")
    need_tool("qemu-system-arm")


@pytest.mark.parametrize("core,macro", [("cortex-m4", "EDGELSTM_PATH_DSP"), ("cortex-m33", "EDGELSTM_PATH_DSP"),
                                        ("cortex-m0", "EDGELSTM_PATH_ARMV6M")])
def test_path_macro_per_core(core, macro):
    need_tool("arm-none-eabi-gcc")
    proc = subprocess.run(["arm-none-eabi-gcc", *BOARDS[core].cpu_flags, "-std=c99", "-dM", "-E", "-I", str(RUNTIME),
                           str(RUNTIME / "edgelstm_fixedpoint.h")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert f"#define {macro} 1" in proc.stdout
    proc = subprocess.run(["arm-none-eabi-gcc", *BOARDS[core].cpu_flags, "-std=c99", "-dM", "-E", "-I", str(RUNTIME),
                           "-DEDGELSTM_FORCE_PORTABLE", str(RUNTIME / "edgelstm_fixedpoint.h")],
                          capture_output=True, text=True)
    assert "#define EDGELSTM_PATH_PORTABLE 1" in proc.stdout and macro not in proc.stdout


def _disassembly(obj: Path) -> str:
    proc = subprocess.run(["arm-none-eabi-objdump", "-d", "-r", str(obj)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("core", ["cortex-m4", "cortex-m33", "cortex-m0"])
@pytest.mark.parametrize("key", ALL_SHAPES)
def test_qemu_paths_equal_simulator(key, core, tmp_path_factory):
    need_cross_tools()
    from edgelstm.verify.qemu import build_qemu

    out = get_export(tmp_path_factory, key)
    m = read_manifest(out)
    model = load_export_model(out, m)
    build = build_qemu(out, m, f"qemu-{core}", build_dir=tmp_path_factory.mktemp(f"pb_{key}_{core}"))
    try:
        dis = _disassembly(build.build_dir / "obj" / "edgelstm_lstm_step_s8_s16.o")
        if core == "cortex-m0":
            assert "__aeabi_lmul" not in dis and "muls" in dis
        else:
            assert "smlad" in dis and "sxtb16" in dis
        xq = windows(model, 60, 40)
        expected = model.predict_int8(xq)
        got_c, classes, got_s, counts = build.run_windows(xq)
    finally:
        build.cleanup()
    rep = compare_outputs(expected, {"classify": got_c, "classes": classes, "stream": got_s})
    assert rep["mismatches"] == 0, rep["first_mismatches"]
    assert rep["argmax_mismatches"] == 0 and counts["calibration_ok"]


@pytest.mark.parametrize("key", ["u7_f17", "gru_u3_f5"])
def test_qemu_portable_path_on_m4_equals_simulator(key, tmp_path_factory):
    """The benchmarks' in-run peer: the portable C on the Cortex-M4 (DSP path off)."""
    need_cross_tools()
    from edgelstm.verify.qemu import build_qemu

    out = get_export(tmp_path_factory, key)
    m = read_manifest(out)
    model = load_export_model(out, m)
    build = build_qemu(out, m, "qemu-cortex-m4", build_dir=tmp_path_factory.mktemp(f"pp_{key}"),
                       extra_cflags=("-DEDGELSTM_FORCE_PORTABLE",))
    try:
        assert "smlad" not in _disassembly(build.build_dir / "obj" / "edgelstm_lstm_step_s8_s16.o")
        xq = windows(model, 60, 40)
        expected = model.predict_int8(xq)
        got_c, classes, got_s, _ = build.run_windows(xq)
    finally:
        build.cleanup()
    rep = compare_outputs(expected, {"classify": got_c, "classes": classes, "stream": got_s})
    assert rep["mismatches"] == 0, rep["first_mismatches"]
