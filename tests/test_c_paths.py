"""Every compile-time path of the C runtime gives the simulator's bytes.

The runtime has four paths, chosen in firmware_templates/runtime/edgelstm_config.h only:
EDGELSTM_PATH_DSP (SMLAD assembly, Cortex-M4/M33: edgelstm_lstm_step_s8_s16_dsp.c),
EDGELSTM_PATH_ARMV6M (MULS-only assembly, Cortex-M0: ..._armv6m.c), EDGELSTM_PATH_SSE2 (x86:
..._sse2.c) and the portable C (edgelstm_lstm_step_s8_s16.c), which is also what a build without
optimisation runs on the Cortex-M cores. Checked here:

- the fast primitives against the reference ones they replace, in C: edgelstm_mbqm (one
  multiply-add + one shift) == edgelstm_multiply_by_quantized_multiplier on edge and random
  values, with the 64-bit product and with the ARMv6-M 16-bit partial products; the LSTM's
  requantisers (edgelstm_rq16, edgelstm_rq16_muls: the C twins of the assembly) ==
  sat16(MBQM) and their validity result; the shortened sigmoid / tanh and the DSP / SSE2 table
  interpolation == TFLM's LUT functions on all 65,536 int16 inputs (also under UBSan);
- the exported library on the host with the default (SSE2) path, the portable path and the
  ARMv6-M arithmetic forced (-DEDGELSTM_FORCE_ARMV6M), on odd shapes (units 1, 3, 7; features
  1, 5, 17; GRU);
- which path each core and optimisation level compiles (the macros; -O0 takes the portable
  path), and that exactly one file defines the LSTM step;
- under QEMU: the DSP path is what the Cortex-M4 / M33 builds compile (SMLAD in its step file),
  the Cortex-M0 build calls no 64-bit multiply helper in the LSTM step, and the outputs of the
  odd shapes equal the simulator on M4, M0, M33, on the M4 with the portable path forced (the
  benchmarks' in-run peer) and on the M4 and M0 built with -O0.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgelstm.codegen import export_c, read_manifest
from edgelstm.codegen.templates import templates_dir
from edgelstm.codegen.targets import BOARDS
from edgelstm.testing import GruSynthSpec, SynthSpec, random_int8_inputs, synth_gru_tflite, synth_lstm_tflite
from edgelstm.verify import build_host, compare_outputs, load_export_model
from edgelstm.verify.qemu import build_qemu

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
            /* the LSTM's requantisers: valid (1) exactly for m = 0 and m in [2^30, 2^31), and then
             * sat16 of the reference */
            const int32_t valid = (m == 0 || m >= 0x40000000) ? 1 : 0;
            const int32_t ref = edgelstm_sat16(edgelstm_multiply_by_quantized_multiplier(v, m, sh));
            edgelstm_rq16_t q;
            edgelstm_rq16_muls_t qm;
            if (edgelstm_rq16_prepare(m, sh, &q) != valid || (valid && edgelstm_rq16(v, &q) != ref)) {
                if (bad++ < 5) printf("rq16 x=%d m=%d s=%d\n", v, m, sh);
            }
            if (edgelstm_rq16_muls_prepare(m, sh, &qm) != valid || (valid && edgelstm_rq16_muls(v, &qm) != ref)) {
                if (bad++ < 5) printf("rq16_muls x=%d m=%d s=%d\n", v, m, sh);
            }
        }
    }
    for (x = -32768; x <= 32767; ++x) {
        if (edgelstm_sigmoid_q15(x) != edgelstm_sigmoid_int16((int16_t)x)
            || edgelstm_sigmoid_q15_dsp(x) != edgelstm_sigmoid_int16((int16_t)x)) {
            if (bad++ < 5) printf("sigmoid %d\n", x);
        }
        for (k = 0; k <= 29; ++k) {
            const edgelstm_tanh_in_t t = edgelstm_tanh_in_prepare(0, k);
            if (edgelstm_tanh_q15(x, 0, k) != edgelstm_tanh_int16((int16_t)x, 0, k)
                || edgelstm_tanh_q15_dsp(edgelstm_tanh_in(x, &t)) != edgelstm_tanh_int16((int16_t)x, 0, k)) {
                if (bad++ < 5) printf("tanh %d 0 %d\n", x, k);
            }
        }
        for (k = 0; k < 8; ++k) {
            static const int32_t mult[8] = {1, 3, 5, 100, 12345, 24576, 32767, 65535};
            static const int32_t ls[8] = {0, 1, 2, 5, 10, 14, 17, 20};
            const edgelstm_tanh_in_t t = edgelstm_tanh_in_prepare(mult[k], ls[k]);
            if (edgelstm_tanh_q15(x, mult[k], ls[k]) != edgelstm_tanh_int16((int16_t)x, mult[k], ls[k])
                || edgelstm_tanh_q15_dsp(edgelstm_tanh_in(x, &t)) != edgelstm_tanh_int16((int16_t)x, mult[k], ls[k])) {
                if (bad++ < 5) printf("tanh %d %d %d\n", x, mult[k], ls[k]);
            }
        }
    }
    printf("%s: %ld mismatches\n", EDGELSTM_KERNEL_PATH, bad);
    return bad != 0;
}
"""


ARMV6M_C = "portable (ARMv6-M arithmetic)"  # EDGELSTM_KERNEL_PATH of -DEDGELSTM_FORCE_ARMV6M on a host


@pytest.mark.parametrize("variant", [
    ("gcc", ("-O2",), "sse2"),
    ("gcc", ("-O2", "-DEDGELSTM_FORCE_PORTABLE"), "portable"),
    ("gcc", ("-O2", "-DEDGELSTM_FORCE_ARMV6M"), ARMV6M_C),
    ("clang", ("-O2", "-DEDGELSTM_FORCE_ARMV6M"), ARMV6M_C),
    ("gcc", ("-O1", "-fsanitize=undefined", "-fno-sanitize-recover=all"), "sse2"),
    ("gcc", ("-O1", "-fsanitize=undefined", "-fno-sanitize-recover=all", "-DEDGELSTM_FORCE_ARMV6M"), ARMV6M_C),
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


BAD_MULTIPLIER_C = r"""
#include <stdio.h>
#include "edgelstm_runtime.h"

static const int8_t w[4] EDGELSTM_ALIGNED4 = {1, 2, 3, 4};
static const int32_t b[4] = {0, 0, 0, 0};

int main(int argc, char **argv)
{
    /* one unit, one feature; the first gate's input multiplier as given (2^29: not normalised) */
    const int32_t m = (int32_t)(argc > 1 ? atol(argv[1]) : 0);
    const edgelstm_lstm_params_s8_s16_t p = {
        1, 1, w, w, b, b, {m, 1 << 30, 1 << 30, 1 << 30}, {-5, -5, -5, -5}, {1 << 30, 1 << 30, 1 << 30, 1 << 30},
        {-5, -5, -5, -5}, {1 << 30, -15, 0, -32768, 32767}, {1 << 30, -15, 0, -32768, 32767},
        {1 << 30, -20, 0, -128, 127}, 0, 0, 3, 0, &EDGELSTM_LSTM_ENCODING};
    int8_t x = 5, h = 0;
    int16_t c = 0, scratch[8];
    (void)argv;
    edgelstm_lstm_step_s8_s16(&p, &x, &h, &h, &c, scratch);
    printf("stepped h=%d c=%d\n", h, c);
    return 0;
}
"""


@pytest.mark.parametrize("force", ["", "-DEDGELSTM_FORCE_PORTABLE", "-DEDGELSTM_FORCE_ARMV6M"])
def test_debug_assert_catches_unsupported_multiplier(force, tmp_path):
    """edgelstm_lstm_prepare's validity result is checked (not discarded): with -DEDGELSTM_DEBUG a
    multiplier export-c would refuse stops the step; a normalised one steps."""
    need_tool("gcc")
    src = tmp_path / "bad.c"
    src.write_text(BAD_MULTIPLIER_C.replace("#include <stdio.h>", "#include <stdio.h>\n#include <stdlib.h>"))
    exe = tmp_path / "bad"
    sources = [str(RUNTIME / f) for f in ("edgelstm_lstm_step_s8_s16.c", "edgelstm_lstm_step_s8_s16_sse2.c",
                                          "edgelstm_lstm_step_s8_s16_dsp.c", "edgelstm_lstm_step_s8_s16_armv6m.c",
                                          "edgelstm_tables.c")]
    flags = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-DEDGELSTM_DEBUG", *([force] if force else [])]
    proc = subprocess.run(["gcc", *flags, "-I", str(RUNTIME), str(src), *sources, "-o", str(exe)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    good = subprocess.run([str(exe), str(1 << 30)], capture_output=True, text=True, timeout=60)
    assert good.returncode == 0 and "stepped" in good.stdout, good.stdout + good.stderr
    bad = subprocess.run([str(exe), str(1 << 29)], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "stepped" not in bad.stdout and "ok" in bad.stderr, bad.stdout + bad.stderr


# ------------------------------------------------------------------------ exported libraries

ODD_LSTM: dict[str, SynthSpec] = {
    "u1_f1": SynthSpec(units=1, features=1, window=12, seed=201),
    "u3_f5": SynthSpec(units=3, features=5, window=14, hidden_zero_point=-20, seed=202, cell_scale_power=-12),
    "u7_f17": SynthSpec(units=7, features=17, window=16, classes=5, seed=203, cell_scale_power=-10),
    "u5_f3_extreme": SynthSpec(units=5, features=3, window=10, extreme_weights=True, hidden_zero_point=90, seed=204,
                               softmax=True),
    "stack_u6_u3": SynthSpec(layers=2, units=[6, 3], features=9, window=12, seed=205, cell_scale_power=[-12, -9]),
}


ODD_GRU: dict[str, GruSynthSpec] = {
    "gru_u3_f5": GruSynthSpec(units=3, features=5, window=14, seed=211),
    "gru_u7_f17_ra0": GruSynthSpec(units=7, features=17, window=12, reset_after=False, hidden_frac_bits=9, seed=212),
}


def model_bytes(key: str) -> bytes:
    return synth_lstm_tflite(ODD_LSTM[key]) if key in ODD_LSTM else synth_gru_tflite(ODD_GRU[key])


ALL_SHAPES = list(ODD_LSTM) + list(ODD_GRU)
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


@pytest.mark.parametrize("force", ["", "-DEDGELSTM_FORCE_PORTABLE", "-DEDGELSTM_FORCE_ARMV6M"])
@pytest.mark.parametrize("key", ALL_SHAPES)
def test_host_paths_equal_simulator(key, force, tmp_path_factory):
    """The default build (SSE2 on x86: groups of 4 units and a last group of units % 4), the
    portable C and the ARMv6-M arithmetic on the host, with the debug checks (EDGELSTM_DEBUG)."""
    need_tool("gcc")
    out = get_export(tmp_path_factory, key)
    m = read_manifest(out)
    model = load_export_model(out, m)
    xq = windows(model, 300, 200)
    expected = model.predict_int8(xq)
    build = build_host(out, m, cc="gcc", extra_cflags=("-DEDGELSTM_DEBUG", *((force,) if force else ())))
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


PATH_MACROS = ("EDGELSTM_PATH_DSP", "EDGELSTM_PATH_ARMV6M", "EDGELSTM_PATH_SSE2", "EDGELSTM_PATH_PORTABLE")


def _path_macros(cc: list[str], *flags: str) -> tuple[list[str], str]:
    """The EDGELSTM_PATH_* macros and EDGELSTM_KERNEL_PATH a build with ``flags`` defines."""
    proc = subprocess.run([*cc, "-std=c99", *flags, "-dM", "-E", "-I", str(RUNTIME),
                           str(RUNTIME / "edgelstm_fixedpoint.h")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    defined = [mac for mac in PATH_MACROS if f"#define {mac} 1" in proc.stdout]
    test = subprocess.run([*cc, "-std=c99", *flags, "-E", "-P", "-I", str(RUNTIME), "-"], capture_output=True,
                          text=True, input='#include "edgelstm_config.h"\nkernel_path = EDGELSTM_KERNEL_PATH;\n')
    assert test.returncode == 0, test.stderr
    line = [ln for ln in test.stdout.splitlines() if ln.startswith("kernel_path")][0]
    return defined, "".join(re.findall(r'"([^"]*)"', line))  # the string literals, concatenated


@pytest.mark.parametrize("core,macro", [("cortex-m4", "EDGELSTM_PATH_DSP"), ("cortex-m33", "EDGELSTM_PATH_DSP"),
                                        ("cortex-m0", "EDGELSTM_PATH_ARMV6M")])
def test_path_macro_per_core(core, macro):
    """Exactly one path per build, chosen by edgelstm_config.h: the core's assembly path with
    optimisation, the portable C without (-O0, named so), and with -DEDGELSTM_FORCE_PORTABLE."""
    need_tool("arm-none-eabi-gcc")
    cc = ["arm-none-eabi-gcc", *BOARDS[core].cpu_flags]
    for opt in ("-O1", "-O2", "-Os", "-Og"):
        assert _path_macros(cc, opt) == ([macro], macro.removeprefix("EDGELSTM_PATH_").lower())
    defined, name = _path_macros(cc, "-O0")
    assert defined == ["EDGELSTM_PATH_PORTABLE"] and "-O0" in name, name
    assert _path_macros(cc, "-O2", "-DEDGELSTM_FORCE_PORTABLE") == (["EDGELSTM_PATH_PORTABLE"], "portable")


def test_path_macro_host():
    need_tool("gcc")
    for opt in ("-O0", "-O2"):  # SSE2 intrinsics need no optimiser: x86 keeps its path at -O0
        assert _path_macros(["gcc"], opt) == (["EDGELSTM_PATH_SSE2"], "sse2")
    assert _path_macros(["gcc"], "-O2", "-DEDGELSTM_FORCE_ARMV6M") == (["EDGELSTM_PATH_PORTABLE"], ARMV6M_C)
    proc = subprocess.run(["gcc", "-std=c99", "-DEDGELSTM_FORCE_PORTABLE", "-DEDGELSTM_FORCE_ARMV6M", "-E", "-I",
                           str(RUNTIME), str(RUNTIME / "edgelstm_config.h")], capture_output=True, text=True)
    assert proc.returncode != 0 and "exclude each other" in proc.stderr


STEP_FILES = {"dsp": "edgelstm_lstm_step_s8_s16_dsp", "armv6m": "edgelstm_lstm_step_s8_s16_armv6m",
              "sse2": "edgelstm_lstm_step_s8_s16_sse2", "portable": "edgelstm_lstm_step_s8_s16"}


def _step_definitions(obj_dir: Path, nm: str) -> list[str]:
    """The object files of obj_dir that define edgelstm_lstm_step_s8_s16."""
    found = []
    for stem in STEP_FILES.values():
        proc = subprocess.run([nm, "--defined-only", str(obj_dir / f"{stem}.o")], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        if any(ln.split()[-1] == "edgelstm_lstm_step_s8_s16" for ln in proc.stdout.splitlines() if ln.strip()):
            found.append(stem)
    return found


def _disassembly(obj: Path) -> str:
    proc = subprocess.run(["arm-none-eabi-objdump", "-d", "-r", str(obj)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("core", ["cortex-m4", "cortex-m33", "cortex-m0"])
@pytest.mark.parametrize("key", ALL_SHAPES)
def test_qemu_paths_equal_simulator(key, core, tmp_path_factory):
    need_cross_tools()
    out = get_export(tmp_path_factory, key)
    m = read_manifest(out)
    model = load_export_model(out, m)
    build = build_qemu(out, m, f"qemu-{core}", build_dir=tmp_path_factory.mktemp(f"pb_{key}_{core}"))
    try:
        path = "armv6m" if core == "cortex-m0" else "dsp"
        assert _step_definitions(build.build_dir / "obj", "arm-none-eabi-nm") == [STEP_FILES[path]]
        dis = _disassembly(build.build_dir / "obj" / f"{STEP_FILES[path]}.o")
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
    out = get_export(tmp_path_factory, key)
    m = read_manifest(out)
    model = load_export_model(out, m)
    build = build_qemu(out, m, "qemu-cortex-m4", build_dir=tmp_path_factory.mktemp(f"pp_{key}"),
                       extra_cflags=("-DEDGELSTM_FORCE_PORTABLE",))
    try:
        assert _step_definitions(build.build_dir / "obj", "arm-none-eabi-nm") == [STEP_FILES["portable"]]
        assert "smlad" not in _disassembly(build.build_dir / "obj" / "edgelstm_lstm_step_s8_s16.o")
        xq = windows(model, 60, 40)
        expected = model.predict_int8(xq)
        got_c, classes, got_s, _ = build.run_windows(xq)
    finally:
        build.cleanup()
    rep = compare_outputs(expected, {"classify": got_c, "classes": classes, "stream": got_s})
    assert rep["mismatches"] == 0, rep["first_mismatches"]


@pytest.mark.parametrize("core", ["cortex-m4", "cortex-m0"])
def test_qemu_O0_runs_portable_path(core, tmp_path_factory):
    """The -O0 policy (edgelstm_config.h): without optimisation the Cortex-M builds compile the
    portable step (the assembly needs the optimiser) and still give the simulator's bytes."""
    need_cross_tools()
    out = get_export(tmp_path_factory, "u7_f17")
    m = read_manifest(out)
    model = load_export_model(out, m)
    build = build_qemu(out, m, f"qemu-{core}", opt="-O0", build_dir=tmp_path_factory.mktemp(f"o0_{core}"))
    try:
        assert _step_definitions(build.build_dir / "obj", "arm-none-eabi-nm") == [STEP_FILES["portable"]]
        xq = windows(model, 20, 10)
        expected = model.predict_int8(xq)
        got_c, classes, got_s, _ = build.run_windows(xq)
    finally:
        build.cleanup()
    rep = compare_outputs(expected, {"classify": got_c, "classes": classes, "stream": got_s})
    assert rep["mismatches"] == 0, rep["first_mismatches"]
