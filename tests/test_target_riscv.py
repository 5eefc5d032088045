"""The 32-bit RISC-V target (--target riscv32, verify --target qemu-riscv32): rv32imc / ilp32,
riscv64-unknown-elf-gcc with picolibc, qemu-system-riscv32 -M virt -bios none, semihosting.

- every shape of tests/test_c_paths.py (odd LSTMs, stacked, extreme weights, GRUs), the radar
  LSTM and GRU, and the stacked / bidirectional shapes of tests/test_qemu.py give the
  simulator's bytes under QEMU (0 mismatching bytes on uniform and extreme windows);
- the RV32 requantiser equals TFLM MultiplyByQuantizedMultiplier + sat16 on 25,200 cases
  (every shift) under QEMU; the LSTM and GRU steps are the EDGELSTM_PATH_RV32 files (one
  definition each, MULHSU in the LSTM's) and the library calls no libgcc helper (__muldi3,
  __ashldi3, ...) anywhere;
- `edgelstm verify --target qemu-riscv32 --json` reports the footprint keys, with the code
  beyond the weights within 4 KB and the RAM under 1 KB for the radar LSTM;
- an export for riscv32 runs its own self test (`make test`), and -O0 builds keep the bytes;
- the Arduino library compiles for an ESP32-C3-class core (-march=rv32imc -mabi=ilp32) with
  the RV32 path, and its esp32c3_benchmark sketch compiles against a stub Arduino.h.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from edgelstm.cli import cli
from edgelstm.codegen import export_c, read_manifest
from edgelstm.codegen.targets import BOARDS
from edgelstm.codegen.templates import templates_dir
from edgelstm.testing import random_int8_inputs
from edgelstm.verify import compare_outputs, load_export_model
from edgelstm.verify.qemu import build_qemu

from .conftest import need_tool
from .test_c_paths import ALL_SHAPES
from .test_c_paths import model_bytes as paths_model_bytes
from .test_qemu import SHAPES as QEMU_SHAPES
from .test_qemu import model_bytes as qemu_model_bytes

ROOT = Path(__file__).resolve().parent.parent
RV = BOARDS["riscv32"]
GCC = RV.cross_prefix + "gcc"
RADAR = {"radar_lstm": ROOT / "models" / "radar_lstm" / "radar_lstm_int8.tflite",
         "radar_gru": ROOT / "models" / "radar_gru" / "radar_gru_int8.tflite"}
SHAPES = [*ALL_SHAPES, "stacked", "bidirectional", *RADAR]
HELPERS = ("__muldi3", "__mulsi3", "__ashldi3", "__ashrdi3", "__lshrdi3", "__divdi3", "__moddi3", "__udivdi3",
           "__umoddi3")


def need_riscv_tools() -> None:
    need_tool(GCC)
    need_tool(RV.qemu_system)


def model_bytes(key: str) -> bytes:
    if key in RADAR:
        return RADAR[key].read_bytes()
    if key in QEMU_SHAPES:
        return qemu_model_bytes(QEMU_SHAPES[key])
    return paths_model_bytes(key)


_EXPORTS: dict[str, Path] = {}


def get_export(tmp_path_factory, key: str) -> Path:
    if key not in _EXPORTS:
        d = tmp_path_factory.mktemp(f"rv_{key}")
        (d / "m.tflite").write_bytes(model_bytes(key))
        export_c(d / "m.tflite", d / "out", name="rv_" + key.lower(), n_vectors=4)
        _EXPORTS[key] = d / "out"
    return _EXPORTS[key]


def windows(model, n_uniform: int, n_extreme: int, seed: int = 0) -> np.ndarray:
    T, F = model.window, model.n_features
    return np.concatenate([random_int8_inputs(n_uniform, T, F, seed=seed, kind="uniform"),
                           random_int8_inputs(n_extreme, T, F, seed=seed + 1, kind="extremes")])


def nm(obj: Path) -> str:
    return subprocess.run([RV.cross_prefix + "nm", str(obj)], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("key", SHAPES)
def test_riscv_equals_simulator(key, tmp_path_factory):
    need_riscv_tools()
    out = get_export(tmp_path_factory, key)
    m = read_manifest(out)
    model = load_export_model(out, m)
    build = build_qemu(out, m, "qemu-riscv32", build_dir=tmp_path_factory.mktemp(f"rvb_{key}"))
    try:
        objs = sorted((build.build_dir / "obj").glob("*.o"))
        defs = [o.stem for o in objs if " T edgelstm_lstm_step_s8_s16\n" in nm(o)]
        assert defs == ["edgelstm_lstm_step_s8_s16_rv32"], defs
        gru = [o.stem for o in objs if " T edgelstm_gru_step_path_s8_s16\n" in nm(o)]
        assert gru == ["edgelstm_gru_step_s8_s16_rv32"], gru
        dis = subprocess.run([RV.cross_prefix + "objdump", "-d", str(build.build_dir / "obj" / f"{defs[0]}.o")],
                             capture_output=True, text=True, check=True).stdout
        assert "mulhsu" in dis
        undefined = {ln.split()[-1] for o in objs for ln in nm(o).splitlines() if ln.split()[:1] == ["U"]}
        assert not undefined & set(HELPERS), undefined & set(HELPERS)
        n = 40 if key.startswith("radar") else 60
        xq = windows(model, n, n)
        expected = model.predict_int8(xq)
        got_c, classes, got_s, counts = build.run_windows(xq)
    finally:
        build.cleanup()
    rep = compare_outputs(expected, {"classify": got_c, "classes": classes, "stream": got_s})
    assert rep["compared_bytes"] == len(xq) * m.classes * (2 if m.streaming else 1)
    assert rep["mismatches"] == 0, rep["first_mismatches"]
    assert rep["argmax_mismatches"] == 0
    assert counts["calibration_ok"] and counts["instructions_per_frame"] > 0


def test_riscv_verify_cli_footprint(tmp_path_factory):
    """verify --target qemu-riscv32 --json: mismatches 0 and the footprint keys of the Cortex-M
    targets, within the code / RAM budget of the radar LSTM (4 KB beyond the weights, 1 KB)."""
    need_riscv_tools()
    out = get_export(tmp_path_factory, "radar_lstm")
    res = CliRunner().invoke(cli, ["verify", str(out), "--target", "qemu-riscv32", "--samples", "40", "--json"])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.stdout[res.stdout.index("{"):])
    assert rep["mismatches"] == 0 and rep["samples"] == 40
    for k in ("flash_weights_bytes", "flash_code_bytes", "ram_bytes", "macs_per_frame", "instructions_per_frame"):
        assert isinstance(rep[k], (int, float)) and rep[k] > 0, k
    assert rep["footprint"]["core"] == "riscv32" and rep["footprint"]["support_routines"] == []
    assert rep["flash_code_bytes"] <= 4096 and rep["ram_bytes"] < 1024, rep
    measured = rep["footprint"]["ram_stack_measured_bytes"]["step"]
    assert 0 < measured <= rep["footprint"]["ram_stack_bytes"]


def test_riscv_export_selftest_and_O0(tmp_path, tmp_path_factory):
    """export-c --target riscv32: the board folder (RISC-V startup, linker script, board layer)
    and its Makefile's self test under QEMU; an -O0 build keeps the RV32 path and the bytes."""
    need_riscv_tools()
    need_tool("make")
    src = tmp_path / "m.tflite"
    src.write_bytes(model_bytes("u7_f17"))
    out = tmp_path / "rv"
    res = CliRunner().invoke(cli, ["export-c", str(src), "-o", str(out), "--target", "riscv32", "--no-footprint",
                                   "--test-vectors", "6"])
    assert res.exit_code == 0, res.output
    board = out / "board"
    assert "mv %0, sp" in (board / "edgelstm_board.h").read_text()
    assert "0x80000000" in (board / "linker.ld").read_text()
    assert read_manifest(out).board.core == "riscv32"
    proc = subprocess.run(["make", "-C", str(out), "test"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    console = proc.stdout + proc.stderr  # QEMU prints semihosting output on stderr
    assert "6 passed, 0 failed" in console, console[-2000:]

    m = read_manifest(out)
    model = load_export_model(out, m)
    build = build_qemu(out, m, "qemu-riscv32", opt="-O0", build_dir=tmp_path / "o0")
    try:
        xq = windows(model, 10, 10)
        got_c, classes, got_s, _ = build.run_windows(xq)
    finally:
        build.cleanup()
    rep = compare_outputs(model.predict_int8(xq), {"classify": got_c, "classes": classes, "stream": got_s})
    assert rep["mismatches"] == 0, rep["first_mismatches"]


def test_path_macro_rv32():
    """edgelstm_config.h picks EDGELSTM_PATH_RV32 for rv32 with M (at every -O level), the
    portable C for rv32 without M, and obeys EDGELSTM_FORCE_PORTABLE."""
    need_tool(GCC)
    rt = templates_dir() / "runtime"

    def path(*flags: str) -> str:
        proc = subprocess.run([GCC, *flags, "--specs=picolibc.specs", "-std=c99", "-E", "-P", "-I", str(rt), "-"],
                              capture_output=True, text=True, input='#include "edgelstm_config.h"\nEDGELSTM_KERNEL_PATH\n')
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip().splitlines()[-1]

    for opt in ("-O0", "-O2", "-Os"):
        assert path("-march=rv32imc", "-mabi=ilp32", opt) == '"rv32"'
    assert path("-march=rv32i", "-mabi=ilp32", "-O2") == '"portable"'
    assert path("-march=rv32imc", "-mabi=ilp32", "-O2", "-DEDGELSTM_FORCE_PORTABLE") == '"portable"'


def test_arduino_library_builds_for_esp32c3(tmp_path):
    """The Arduino library's src/ with the flags of an ESP32-C3 core (rv32imc, ilp32, -Werror),
    as C and the esp32c3_benchmark sketch as C++ against a stub Arduino.h."""
    need_tool(GCC)
    need_tool(RV.cross_prefix + "g++")
    src = tmp_path / "m.tflite"
    src.write_bytes(model_bytes("u3_f5"))
    out = tmp_path / "lib"
    res = CliRunner().invoke(cli, ["export-c", str(src), "-o", str(out), "--target", "arduino", "--name", "esp"])
    assert res.exit_code == 0, res.output
    sketch = out / "examples" / "esp32c3_benchmark" / "esp32c3_benchmark.ino"
    assert sketch.is_file() and "@NAME" not in sketch.read_text()
    flags = ["-march=rv32imc", "-mabi=ilp32", "--specs=picolibc.specs", "-O2", "-Wall", "-Wextra", "-Wpedantic",
             "-Werror", "-I", str(out / "src")]
    objs = []
    for c in sorted((out / "src").glob("*.c")):
        o = tmp_path / (c.stem + ".o")
        proc = subprocess.run([GCC, "-std=c99", *flags, "-c", str(c), "-o", str(o)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-2000:]
        objs.append(o)
    assert [o.stem for o in objs if " T edgelstm_lstm_step_s8_s16\n" in nm(o)] == ["edgelstm_lstm_step_s8_s16_rv32"]
    stub = tmp_path / "stub"
    stub.mkdir()
    (stub / "Arduino.h").write_text(
        "#include <stdint.h>\n"
        "struct StubSerial { void begin(long) {} template <class T> void print(T) {}\n"
        "  template <class T> void print(T, int) {} template <class T> void println(T) {} };\n"
        "static StubSerial Serial;\nunsigned long micros(void);\nvoid delay(unsigned long);\n")
    proc = subprocess.run([RV.cross_prefix + "g++", *flags, "-I", str(stub), "-x", "c++", "-c", str(sketch), "-o",
                           str(tmp_path / "sketch.o")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]


RQ_MAIN = r"""#include <stdint.h>

#include "edgelstm_board.h"
#include "edgelstm_fixedpoint_rv32.h"

static uint32_t rng = 12345u;
static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

int main(void)
{
    static const int32_t xs[] = {0, 1, -1, 2, -2, 32767, -32768, 65535, -65536, 2147483647, -2147483647 - 1,
                                 1073741824, -1073741824, 12345678, -12345678};
    uint32_t bad = 0;
    uint32_t n = 0;
    int32_t shift;
    for (shift = -31; shift <= 31; ++shift) {
        uint32_t i;
        for (i = 0; i < 400u; ++i) {
            const uint32_t r = next();
            const int32_t m = (i % 50u == 0u) ? 0 : (i % 50u == 1u) ? 0x7FFFFFFF : (int32_t)(0x40000000u | (r >> 2));
            const int32_t x = (i < 15u) ? xs[i] : (int32_t)next() >> (next() & 31u);
            edgelstm_rv32_rq_t q;
            int32_t got;
            int32_t want;
            (void)edgelstm_rv32_rq_prepare(m, shift, &q);
            got = edgelstm_rv32_rq(x, &q);
            want = edgelstm_sat16(edgelstm_multiply_by_quantized_multiplier(x, m, shift));
            bad += (got != want) ? 1u : 0u;
            ++n;
        }
    }
    eb_puts("rq checked ");
    eb_put_u64(n);
    eb_puts(" mismatches ");
    eb_put_u64(bad);
    eb_puts("\n");
    return bad == 0u ? 0 : 1;
}
"""


def test_rv32_requantiser_equals_reference(tmp_path):
    """edgelstm_rv32_rq (MULHSU, the branch on the shift) against sat16(TFLM
    MultiplyByQuantizedMultiplier) (edgelstm_fixedpoint.h's reference) on the core under QEMU:
    every shift in [-31, 31], multipliers 0, 2^31 - 1 and random in [2^30, 2^31), extreme and
    random x."""
    need_riscv_tools()
    bd = templates_dir() / "boards" / RV.board
    rt = templates_dir() / "runtime"
    (tmp_path / "rq_main.c").write_text(RQ_MAIN)
    elf = tmp_path / "rq.elf"
    proc = subprocess.run([GCC, *RV.cpu_flags, *RV.libc_flags, "-O2", "-std=c99", "-Wall", "-Wextra", "-Wpedantic",
                           "-Werror", "-I", str(bd), "-I", str(rt), *RV.link_flags, "-T", str(bd / "linker.ld"),
                           str(tmp_path / "rq_main.c"), str(bd / "edgelstm_board.c"), str(bd / "edgelstm_startup.c"),
                           "-o", str(elf)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    run = subprocess.run([RV.qemu_system, "-M", RV.qemu_machine, *RV.qemu_extra, "-nographic", "-monitor", "none",
                          "-serial", "none", "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)],
                         capture_output=True, text=True, timeout=120)
    out = run.stdout + run.stderr
    assert "rq checked 25200 mismatches 0" in out and run.returncode == 0, out[-1000:]
