"""The exported C on Cortex-M0 / M4 / M33 under QEMU: zero mismatching bytes against the simulator.

Every shape of SHAPES is exported once, cross-compiled once per core with arm-none-eabi-gcc
(-O2, -std=c99 -Wall -Wextra -Wpedantic -Werror) into the board firmware
(firmware_templates/boards/), and run in qemu-system-arm (-M mps2-an386 / microbit /
mps2-an505, -icount shift=0) on 300 windows (150 uniform, 150 extreme patterns) streamed in
through semihosting. Every output byte of NAME_classify and, for streaming models, of
NAME_reset / NAME_step / NAME_logits must equal Int8Model.predict_int8.

The builds are cached per (shape, core, opt) for the whole session (:func:`get_build`), and
tests/test_footprint.py measures on the same builds.

Also here: the CLI (`verify --target qemu-...`, `export-c --target ...`), one-line errors for a
missing cross-compiler / QEMU and a hung QEMU, the compiled-in self test of a board export
(`make test`), the CMake cross build, and the Arduino library layout.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from edgelstm.cli import cli
from edgelstm.codegen import export_c, read_manifest
from edgelstm.data import load_dataset
from edgelstm.errors import ToolError
from edgelstm.testing import GruSynthSpec, SynthSpec, random_int8_inputs, synth_gru_tflite, synth_lstm_tflite
from edgelstm.verify import compare_outputs, load_export_model
from edgelstm.verify.qemu import build_qemu

from .conftest import need_tool

CORES = ("cortex-m4", "cortex-m0", "cortex-m33")
N_UNIFORM = 150
N_EXTREME = 150

# The 32-unit radar-shaped LSTM (18 features, 64 frames, 7 classes) and other shapes.
RADAR = "radar_lstm32"
SHAPES: dict[str, object] = {
    RADAR: SynthSpec(units=32, features=18, window=64, classes=7, seed=31, cell_scale_power=-11),
    "stacked": SynthSpec(layers=2, units=[16, 12], features=10, window=24, classes=5, hidden_zero_point=25,
                         cell_scale_power=[-12, -10], seed=32),
    "bidirectional": SynthSpec(bidirectional=True, units=8, features=16, window=20, dense=[10], seed=33),
    "extreme_softmax": SynthSpec(units=8, features=4, window=20, extreme_weights=True, hidden_zero_point=-100,
                                 cell_scale_power=-10, softmax=True, classes=6, seed=34),
    "gru": GruSynthSpec(units=16, features=12, window=24, classes=5, seed=35),
}


def model_bytes(spec) -> bytes:
    return synth_lstm_tflite(spec) if isinstance(spec, SynthSpec) else synth_gru_tflite(spec)


def need_cross_tools() -> None:
    need_tool("arm-none-eabi-gcc")
    need_tool("qemu-system-arm")


# ------------------------------------------------------------------- shared exports and builds

_EXPORTS: dict[str, Path] = {}
_BUILDS: dict[tuple[str, str, str], object] = {}


def get_export(tmp_path_factory, shape: str) -> Path:
    if shape not in _EXPORTS:
        d = tmp_path_factory.mktemp(f"qemu_{shape}")
        model = d / f"{shape}.tflite"
        model.write_bytes(model_bytes(SHAPES[shape]))
        out = d / "out"
        export_c(model, out, name="m_" + shape, n_vectors=4)
        _EXPORTS[shape] = out
    return _EXPORTS[shape]


def get_build(tmp_path_factory, shape: str, core: str, opt: str = "-O2"):
    """The QemuBuild of (shape, core, opt), built once per session."""
    key = (shape, core, opt)
    if key not in _BUILDS:
        out = get_export(tmp_path_factory, shape)
        bdir = tmp_path_factory.mktemp(f"build_{shape}_{core}{opt}")
        _BUILDS[key] = build_qemu(out, read_manifest(out), f"qemu-{core}", opt=opt, build_dir=bdir)
    return _BUILDS[key]


def windows(model, seed: int = 0) -> np.ndarray:
    T, F = model.window, model.n_features
    return np.concatenate([random_int8_inputs(N_UNIFORM, T, F, seed=seed, kind="uniform"),
                           random_int8_inputs(N_EXTREME, T, F, seed=seed + 1, kind="extremes")])


# ------------------------------------------------------------------------------ bit-exactness


@pytest.mark.parametrize("core", CORES)
@pytest.mark.parametrize("shape", list(SHAPES))
def test_qemu_equals_simulator(shape, core, tmp_path_factory, record_property):
    need_cross_tools()
    build = get_build(tmp_path_factory, shape, core)
    out = get_export(tmp_path_factory, shape)
    m = read_manifest(out)
    model = load_export_model(out, m)
    xq = windows(model)
    expected = model.predict_int8(xq)
    got_c, classes, got_s, counts = build.run_windows(xq)
    rep = compare_outputs(expected, {"classify": got_c, "classes": classes, "stream": got_s})
    record_property("mismatches", rep["mismatches"])
    print(f"{shape} on {core} (QEMU {build.board.qemu_machine}): {len(xq)} windows, streaming={m['streaming']}: "
          f"{rep['mismatches']} mismatching bytes of {rep['compared_bytes']}; "
          f"{counts['instructions_per_frame']} instructions per frame")
    assert len(xq) >= 300
    assert (got_s is not None) == bool(m["streaming"])
    assert rep["compared_bytes"] == len(xq) * m["classes"] * (2 if m["streaming"] else 1)
    assert rep["mismatches"] == 0, rep["first_mismatches"]
    assert rep["argmax_mismatches"] == 0
    assert counts["measured_windows"] == len(xq) and counts["calibration_ok"]


# ------------------------------------------------------------------------------------- the CLI


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=True)


def test_verify_cli_qemu_json_with_data(tmp_path, radar_tiny, edgelstm_exe):
    """verify --target qemu-cortex-m0 --data: the windows and the float front end (soft float) on
    the Cortex-M0, every footprint key in the JSON, one line of progress/notes on stderr only."""
    need_cross_tools()
    ds = load_dataset(radar_tiny)
    T, F = ds.X_test.shape[1], ds.X_test.shape[2]
    model = tmp_path / "tiny.tflite"
    model.write_bytes(synth_lstm_tflite(SynthSpec(units=8, features=F, window=T, classes=7, seed=36)))
    out = tmp_path / "tiny_c"
    export_c(model, out, name="tiny", n_vectors=2)
    proc = subprocess.run([edgelstm_exe, "verify", str(out), "--target", "qemu-cortex-m0", "--data", str(radar_tiny),
                           "--json"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rep = json.loads(proc.stdout)
    assert rep["mismatches"] == 0 and rep["argmax_mismatches"] == 0
    assert rep["samples"] == len(ds.X_test)
    assert rep["front_end_mismatches"] == 0 and rep["front_end_compared_bytes"] == len(ds.X_test) * T * F
    assert rep["target"] == "qemu-cortex-m0" and rep["core"] == "cortex-m0" and rep["opt"] == "-O2"
    assert "arm-none-eabi-gcc" in rep["compiler"]
    for k in ("flash_weights_bytes", "flash_code_bytes", "ram_bytes", "macs_per_frame", "instructions_per_frame",
              "instructions_per_window", "instructions_per_mac", "ram_state_bytes", "ram_scratch_bytes",
              "ram_stack_bytes"):
        assert isinstance(rep[k], (int, float)) and rep[k] > 0, k
    assert rep["macs_per_frame"] == 4 * 8 * (F + 8)
    assert rep["footprint"]["core"] == "cortex-m0"


def test_verify_cli_human_output_and_opt(tmp_path_factory):
    need_cross_tools()
    out = get_export(tmp_path_factory, "stacked")
    r = invoke("verify", out, "--target", "qemu-cortex-m33", "--samples", 20, "--opt", "-Os")
    assert r.exit_code == 0, r.output
    assert "on qemu-cortex-m33 (arm-none-eabi-gcc" in r.stdout and "-Os" in r.stdout
    assert "0 mismatching bytes" in r.stdout and "bit-exact: yes" in r.stdout
    assert "flash:" in r.stdout and "RAM:" in r.stdout and "per frame" in r.stdout


def test_verify_cli_reports_mismatches_of_a_tampered_export(tmp_path):
    """A changed weight in the C is caught on the board: non-zero exit, mismatches listed."""
    need_cross_tools()
    model = tmp_path / "t.tflite"
    model.write_bytes(synth_lstm_tflite(SynthSpec(units=6, features=4, window=10, seed=37)))
    out = tmp_path / "t_c"
    export_c(model, out, name="t", n_vectors=2)
    src = out / "t_model.c"
    text = src.read_text()
    # The weights are written in both encodings (#if EDGELSTM_LSTM_PAIRED): change both.
    i = text.index("t_lstm_0_wx[")
    while i >= 0:
        j = text.index("{", i) + 1
        k = text.index(",", j)
        old = int(text[j:k].strip())
        text = text[:j] + f" {old + 1 if old < 127 else old - 1}" + text[k:]
        i = text.find("t_lstm_0_wx[", k)
    src.write_text(text)
    r = invoke("verify", out, "--target", "qemu-cortex-m4", "--samples", 30, "--json")
    assert r.exit_code == 1
    rep = json.loads(r.stdout)
    assert rep["mismatches"] > 0 and rep["first_mismatches"]


def _fake_tool_dir(tmp_path: Path, tools: dict[str, str | None]) -> str:
    """A PATH of symlinks to real tools (value None) or small shell scripts (value: the script)."""
    d = tmp_path / "bin"
    d.mkdir()
    for name, script in tools.items():
        p = d / name
        if script is None:
            p.symlink_to(shutil.which(name))
        else:
            p.write_text("#!/bin/sh\n" + script + "\n")
            p.chmod(p.stat().st_mode | stat.S_IEXEC)
    return str(d)


def test_missing_cross_compiler_and_qemu_are_one_line_errors(tmp_path, tmp_path_factory):
    need_cross_tools()
    out = get_export(tmp_path_factory, "bidirectional")
    env = dict(os.environ, PATH=str(tmp_path / "nothing"))
    proc = subprocess.run([sys.executable, "-m", "edgelstm", "verify", str(out), "--target", "qemu-cortex-m4"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode != 0
    err = proc.stderr.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1 and "Traceback" not in proc.stderr, err
    assert "arm-none-eabi-gcc" in err and "apt-get install gcc-arm-none-eabi" in err
    path = _fake_tool_dir(tmp_path, {"arm-none-eabi-gcc": None})
    proc = subprocess.run([sys.executable, "-m", "edgelstm", "verify", str(out), "--target", "qemu-cortex-m0"],
                          capture_output=True, text=True, env=dict(os.environ, PATH=path), timeout=300)
    err = proc.stderr.strip()
    assert proc.returncode != 0 and err.startswith("error: ") and len(err.splitlines()) == 1, err
    assert "qemu-system-arm" in err


def test_hung_qemu_is_stopped_with_a_clear_error(tmp_path, tmp_path_factory, monkeypatch):
    need_cross_tools()
    build = get_build(tmp_path_factory, "bidirectional", "cortex-m4")
    path = _fake_tool_dir(tmp_path, {"qemu-system-arm": "exec sleep 600"})
    monkeypatch.setenv("PATH", path + os.pathsep + os.environ["PATH"])
    with pytest.raises(ToolError, match="did not finish within 2 s"):
        build.run(b"ELV1", timeout=2.0)


def test_qemu_failure_is_reported(tmp_path, tmp_path_factory, monkeypatch):
    need_cross_tools()
    build = get_build(tmp_path_factory, "bidirectional", "cortex-m4")
    path = _fake_tool_dir(tmp_path, {"qemu-system-arm": "echo 'qemu-system-arm: bad machine' >&2; exit 1"})
    monkeypatch.setenv("PATH", path + os.pathsep + os.environ["PATH"])
    with pytest.raises(ToolError, match="bad machine"):
        build.run(b"ELV1", timeout=30.0)


def test_bad_input_file_stops_the_firmware_with_its_message(tmp_path_factory):
    need_cross_tools()
    build = get_build(tmp_path_factory, "bidirectional", "cortex-m0")
    with pytest.raises(ToolError, match="bad input header"):
        build.run(b"NOPE" + bytes(20), timeout=60.0)


# ------------------------------------------------------------------ export-c --target layouts


def test_export_cortex_m0_selftest_runs_in_qemu(tmp_path):
    """export-c --target cortex-m0: board/ template, small compiled-in vectors, `make test` in QEMU."""
    need_cross_tools()
    need_tool("make")
    model = tmp_path / "radar.tflite"
    model.write_bytes(model_bytes(SHAPES[RADAR]))
    out = tmp_path / "fw"
    r = invoke("export-c", model, "--out", out, "--name", "radar", "--target", "cortex-m0", "--no-footprint", "--json")
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout)
    assert obj["target"] == "cortex-m0" and obj["footprint"] is None
    # 16 KB of vectors by default on the micro:bit (1159 bytes each)
    assert obj["test_vectors"] == (16 << 10) // (64 * 18 + 7)
    m = read_manifest(out)
    assert m["target"] == "cortex-m0" and m["board"]["qemu_machine"] == "microbit"
    for f in ("board/edgelstm_startup.c", "board/linker.ld", "board/edgelstm_board_selftest.c",
              "board/edgelstm_board_verify.c", "board/edgelstm_board_model.h", "cmake/arm-none-eabi.cmake",
              "zephyr/module.yml", "zephyr/CMakeLists.txt", "Makefile", "CMakeLists.txt"):
        assert (out / f).is_file(), f
        assert f in m["files"]
    assert "256K" in (out / "board" / "linker.ld").read_text()
    proc = subprocess.run(["make", "-s", "-C", str(out), "test"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    console = proc.stdout + proc.stderr
    assert f"{obj['test_vectors']} passed, 0 failed" in console
    assert "instructions under qemu -icount shift=0" in console
    # the host self test of the same folder
    proc = subprocess.run(["make", "-s", "-C", str(out), "host-test"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and "passed, 0 failed" in proc.stdout, proc.stdout + proc.stderr


def test_export_refuses_vectors_that_do_not_fit_the_board(tmp_path):
    model = tmp_path / "radar.tflite"
    model.write_bytes(model_bytes(SHAPES[RADAR]))
    out = tmp_path / "fw"
    r = invoke("export-c", model, "--out", out, "--target", "cortex-m0", "--test-vectors", 300, "--no-footprint")
    assert r.exit_code != 0
    assert "do not fit" in str(r.exception) and "256 KB" in str(r.exception)
    assert not out.exists()


def test_export_cmake_cross_build_runs_in_qemu(tmp_path):
    """The export's CMakeLists.txt + cmake/arm-none-eabi.cmake build the firmware for the M4."""
    need_cross_tools()
    need_tool("cmake")
    model = tmp_path / "m.tflite"
    model.write_bytes(model_bytes(SHAPES["stacked"]))
    out = tmp_path / "fw"
    export_c(model, out, name="stk", target="cortex-m4", n_vectors=5)
    b = tmp_path / "build-arm"
    proc = subprocess.run(["cmake", "-S", str(out), "-B", str(b), f"-DCMAKE_TOOLCHAIN_FILE={out}/cmake/arm-none-eabi.cmake",
                           "-DEDGELSTM_CPU=cortex-m4"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = subprocess.run(["cmake", "--build", str(b)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    elf = b / "stk_firmware.elf"
    assert elf.is_file() and (b / "libstk.a").is_file()
    proc = subprocess.run(["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial", "none",
                           "-semihosting-config", "enable=on,target=native", "-icount", "shift=0", "-kernel", str(elf)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "5 passed, 0 failed" in proc.stdout + proc.stderr


ARDUINO_STUB = """#include <stdint.h>
#include <stddef.h>
struct StubSerial {
    void begin(long) {}
    int available() { return 0; }
    int read() { return -1; }
    template <typename T> size_t print(T) { return 0; }
    template <typename T> size_t print(T, int) { return 0; }
    template <typename T> size_t println(T) { return 0; }
    size_t println() { return 0; }
};
extern StubSerial Serial;
"""


@pytest.mark.parametrize("shape", ["stacked", "bidirectional"])
def test_export_arduino_library(shape, tmp_path, tmp_path_factory):
    """--target arduino: library.properties, src/, an example sketch (compiles as C++ against a
    stub Arduino.h), the host self test and `edgelstm verify` work on the folder."""
    need_tool("g++")
    need_tool("make")
    model = tmp_path / "m.tflite"
    model.write_bytes(model_bytes(SHAPES[shape]))
    out = tmp_path / "ard"
    r = invoke("export-c", model, "--out", out, "--name", "gesture", "--target", "arduino")
    assert r.exit_code == 0, r.output
    props = dict(ln.split("=", 1) for ln in (out / "library.properties").read_text().splitlines() if "=" in ln)
    assert props["name"] == "gesture" and props["includes"] == "gesture_model.h" and props["architectures"] == "*"
    assert (out / "src" / "gesture_model.h").is_file() and (out / "src" / "gesture_model.c").is_file()
    assert (out / "src" / "edgelstm_runtime.h").is_file()
    assert not list((out / "src").glob("*selftest*")) and not (out / "src" / "gesture_test_vectors.h").exists()
    sketch = out / "examples" / "gesture_serial" / "gesture_serial.ino"
    text = sketch.read_text()
    assert "@" not in text.replace("@param", "") and "Serial.read()" in text and "gesture_quantize_frame" in text
    stub = tmp_path / "stub"
    stub.mkdir()
    (stub / "Arduino.h").write_text(ARDUINO_STUB)
    proc = subprocess.run(["g++", "-std=c++11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only", "-I", str(stub), "-I",
                           str(out / "src"), "-x", "c++", str(sketch)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run(["make", "-s", "-C", str(out), "test"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and "passed, 0 failed" in proc.stdout, proc.stdout + proc.stderr
    r = invoke("verify", out, "--samples", 50)
    assert r.exit_code == 0 and "bit-exact: yes" in r.stdout, r.output
    if shape == "bidirectional":
        need_cross_tools()
        r = invoke("verify", out, "--samples", 20, "--target", "qemu-cortex-m0")
        assert r.exit_code == 0 and "bit-exact: yes" in r.stdout, r.output


def test_host_target_is_unchanged(tmp_path):
    """--target host (the default) writes exactly the files of a plain export."""
    model = tmp_path / "m.tflite"
    model.write_bytes(model_bytes(SHAPES["bidirectional"]))
    a, b = tmp_path / "a", tmp_path / "b"
    export_c(model, a, name="x", n_vectors=3)
    export_c(model, b, name="x", n_vectors=3, target="host")
    files = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    assert not any("/" in f for f in files)
    assert read_manifest(a)["target"] == "host"
    for f in files:
        if f != "edgelstm_export.json":
            assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_unknown_target_is_refused(tmp_path):
    r = invoke("export-c", tmp_path / "m.tflite", "--out", tmp_path / "o", "--target", "cortex-m7")
    assert r.exit_code == 2 and "cortex-m7" in r.output
    r = invoke("verify", tmp_path, "--target", "qemu-cortex-a9")
    assert r.exit_code == 2 and "qemu-cortex-a9" in r.output
