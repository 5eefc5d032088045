"""The generated C library against the simulator: zero mismatching output bytes.

Each model of MODELS is exported with `export_c`, compiled on the host (-std=c99 -O2 -Wall
-Wextra -Wpedantic -Werror) with a harness that reads int8 windows from a binary file, and run
on 1,000 windows: 600 uniform and 400 extreme patterns (all -128, all 127, alternating, uniform).
Every output byte of NAME_classify, and for streaming models of NAME_reset/NAME_step/NAME_logits,
must equal Int8Model.predict_int8. The synthetic shapes are those on which tests/test_sim_tflm.py
proves the simulator equal to TFLite Micro, so the C equals TFLM on them as well.

Adding a model is one line in MODELS: a SynthSpec, a path to a .tflite, or its bytes.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgelstm import fixedpoint as fp
from edgelstm.codegen import export_c, read_manifest, stream_plan
from edgelstm.codegen import export_model as export_int8_model
from edgelstm.ir import FCParams, FullyConnectedOp, RequantizeOp, ReshapeOp, TensorInfo
from edgelstm.model import Int8Model
from edgelstm.testing import SynthSpec, random_int8_inputs, synth_lstm_tflite
from edgelstm.tflite.reader import load_ir_from_bytes
from edgelstm.verify import build_host, compare_outputs, load_export_model

from .conftest import DATA, need_tool

N_UNIFORM = 600
N_EXTREME = 400

MODELS: dict[str, SynthSpec | Path | bytes] = {
    "u1_f1": SynthSpec(units=1, features=1, window=16, seed=11),
    "u8_f2_zp": SynthSpec(units=8, features=2, window=24, hidden_zero_point=-37, seed=12),
    "u32_f16_t64": SynthSpec(units=32, features=16, window=64, classes=7, seed=13, cell_scale_power=-11),
    "u100_f40": SynthSpec(units=100, features=40, window=12, seed=14, cell_scale_power=-9, weight_scale=0.005),
    "stack3_csp": SynthSpec(layers=3, units=[8, 12, 6], features=16, window=20, cell_scale_power=[-15, -12, -9],
                            hidden_zero_point=25, seed=15),
    "bi1_dense": SynthSpec(bidirectional=True, units=8, features=16, window=20, dense=[10], seed=16),
    "bi2_softmax": SynthSpec(bidirectional=True, layers=2, units=6, features=5, window=18, softmax=True, seed=17),
    "t1": SynthSpec(units=8, features=16, window=1, seed=18),
    "t120": SynthSpec(units=4, features=2, window=120, seed=19, cell_scale_power=-13),
    "extreme_w": SynthSpec(units=8, features=4, window=20, extreme_weights=True, hidden_zero_point=-100, seed=20,
                           cell_scale_power=-10),
    "extreme_w_stack_bi": SynthSpec(bidirectional=True, layers=2, units=5, features=3, window=10, extreme_weights=True,
                                    hidden_zero_point=90, seed=22, dense=[7]),
    "small_act_softmax": SynthSpec(units=16, features=8, window=30, weight_scale=0.002, cell_scale_power=-15, seed=21,
                                   softmax=True, classes=7),
    "dense2_softmax_zp": SynthSpec(units=12, features=6, window=16, dense=[16, 9], softmax=True, classes=5,
                                   hidden_zero_point=60, cell_scale_power=-12, seed=23),
    # int8 models made by the plain TFLite converter (tools/make_converter_models.py)
    **{p.stem: p for p in sorted(DATA.glob("conv_*.tflite"))},
}

CLANG_MODELS = ("stack3_csp", "bi2_softmax", "extreme_w")


def model_bytes(src: SynthSpec | Path | bytes) -> bytes:
    if isinstance(src, SynthSpec):
        return synth_lstm_tflite(src)
    if isinstance(src, (bytes, bytearray)):
        return bytes(src)
    return Path(src).read_bytes()


def export_model(tmp: Path, key: str, n_vectors: int = 12, **kw) -> Path:
    model = tmp / f"{key}.tflite"
    model.write_bytes(model_bytes(MODELS[key]))
    out = tmp / f"out_{key}"
    export_c(model, out, name="m_" + key.lower(), n_vectors=n_vectors, **kw)
    return out


def windows(model, seed: int = 0) -> np.ndarray:
    T, F = model.window, model.n_features
    return np.concatenate([
        random_int8_inputs(N_UNIFORM, T, F, seed=seed, kind="uniform"),
        random_int8_inputs(N_EXTREME, T, F, seed=seed + 1, kind="extremes"),
    ])


def run_and_compare(out: Path, cc: str, extra_cflags=()) -> dict:
    manifest = read_manifest(out)
    model = load_export_model(out, manifest)
    xq = windows(model)
    expected = model.predict_int8(xq)
    build = build_host(out, manifest, cc=cc, extra_cflags=extra_cflags)
    try:
        got_c, classes, got_s = build.run_windows(xq)
    finally:
        build.cleanup()
    rep = compare_outputs(expected, {"classify": got_c, "classes": classes, "stream": got_s})
    rep["samples"] = len(xq)
    rep["streaming"] = manifest["streaming"]
    return rep


@pytest.mark.parametrize("key", list(MODELS))
def test_c_equals_simulator_gcc(key, tmp_path, record_property):
    need_tool("gcc")
    out = export_model(tmp_path, key)
    rep = run_and_compare(out, "gcc")
    record_property("mismatches", rep["mismatches"])
    print(f"{key}: gcc, {rep['samples']} windows, streaming={rep['streaming']}: "
          f"{rep['mismatches']} mismatching bytes of {rep['compared_bytes']}")
    assert rep["samples"] >= 1000
    assert rep["mismatches"] == 0, rep["first_mismatches"]
    assert rep["argmax_mismatches"] == 0


@pytest.mark.parametrize("key", CLANG_MODELS)
def test_c_equals_simulator_clang(key, tmp_path):
    need_tool("clang")
    out = export_model(tmp_path, key)
    rep = run_and_compare(out, "clang")
    print(f"{key}: clang, {rep['samples']} windows: {rep['mismatches']} mismatching bytes of {rep['compared_bytes']}")
    assert rep["mismatches"] == 0, rep["first_mismatches"]
    assert rep["argmax_mismatches"] == 0


@pytest.mark.parametrize("key", ["extreme_w", "extreme_w_stack_bi", "stack3_csp"])
def test_sanitizers_verify_harness(key, tmp_path):
    """ASan + UBSan (no recovery) over the extreme and uniform windows: no report, same bytes."""
    need_tool("gcc")
    out = export_model(tmp_path, key)
    rep = run_and_compare(out, "gcc", extra_cflags=("-O1", "-g", "-fsanitize=address,undefined",
                                                     "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"))
    assert rep["mismatches"] == 0


SANITIZE = "-std=c99 -O1 -g -Wall -Wextra -Wpedantic -Werror -fsanitize=address,undefined -fno-sanitize-recover=all"


@pytest.mark.parametrize("cc,key", [("gcc", "extreme_w"), ("gcc", "bi2_softmax"), ("clang", "small_act_softmax"),
                                    ("clang", "t1")])
def test_selftest_under_sanitizers(cc, key, tmp_path):
    need_tool(cc)
    need_tool("make")
    out = export_model(tmp_path, key, n_vectors=100)
    proc = subprocess.run(["make", "-s", "-C", str(out), f"CC={cc}", f"CFLAGS={SANITIZE}", "test"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "100 passed, 0 failed" in proc.stdout
    assert "runtime error" not in proc.stderr and "AddressSanitizer" not in proc.stderr


STRICT = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-Wshadow", "-Wcast-qual",
          "-Wstrict-prototypes", "-Wmissing-prototypes", "-Wundef", "-Wvla"]
STRICT_CXX = ["-x", "c++", "-std=c++11", "-O2", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-Wshadow"]


@pytest.mark.parametrize("cc", ["gcc", "clang", "g++", "clang++"])
@pytest.mark.parametrize("key", ["stack3_csp", "bi2_softmax"])
def test_compiles_warning_free_c99_and_cxx(cc, key, tmp_path):
    """Library + self test: C99 with extra warnings as errors, and as C++11; the self test passes."""
    need_tool(cc)
    strict_build_and_selftest(export_model(tmp_path, key, n_vectors=20), cc, 20)


def strict_build_and_selftest(out: Path, cc: str, n_vectors: int) -> None:
    """Compile an export's library + self test with STRICT (C99) or STRICT_CXX (cc ending in ++,
    as C++11), warnings as errors, and run the self test: every vector must pass."""
    m = read_manifest(out)
    flags = STRICT_CXX if cc.endswith("++") else STRICT
    sources = [str(out / s) for s in m["library_sources"]] + [str(out / m["selftest"])]
    exe = out / "selftest_strict"
    proc = subprocess.run([cc, *flags, "-I", str(out), *sources, "-o", str(exe)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and f"{n_vectors} passed, 0 failed" in run.stdout, run.stdout


def test_makefile_and_cmake_build_and_test(tmp_path):
    need_tool("make")
    need_tool("cmake")
    need_tool("ctest")  # ships with cmake
    out = export_model(tmp_path, "dense2_softmax_zp", n_vectors=300)
    m = read_manifest(out)
    name = m["name"]
    proc = subprocess.run(["make", "-s", "-C", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert (out / f"lib{name}.a").is_file() and (out / f"{name}_selftest").is_file()
    proc = subprocess.run(["make", "-s", "-C", str(out), "test"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and "300 passed, 0 failed" in proc.stdout, proc.stdout + proc.stderr
    subprocess.run(["make", "-s", "-C", str(out), "clean"], check=True, capture_output=True)

    build = tmp_path / "cmake_build"
    for cmd in (["cmake", "-S", str(out), "-B", str(build)], ["cmake", "--build", str(build)],
                ["ctest", "--test-dir", str(build), "--output-on-failure"]):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert (build / f"lib{name}.a").is_file()


# ----------------------------------------------------------------------------- IR-level ops

def edited_ir(last_step: bool):
    """A 2-layer LSTM IR with every glue op the converters do not emit inserted: a per-frame
    requantize and a per-frame (TimeDistributed) fully connected between the layers, a requantize
    after the last layer, reshape + requantize in the head, a per-tensor dense layer. With
    ``last_step=False`` the slice picks step T-2, so the model runs on the whole window only."""
    spec = SynthSpec(layers=2, units=[6, 5], features=4, window=10, dense=[7], softmax=True, classes=4, seed=33,
                     hidden_zero_point=9)
    qm = load_ir_from_bytes(synth_lstm_tflite(spec))
    rng = np.random.default_rng(5)
    ops = qm.ops
    l0, l1 = [op for op in ops if op.kind == "lstm"]
    sl = next(op for op in ops if op.kind == "slice_time")
    dense0 = next(op for op in ops if op.kind == "fully_connected")
    T = qm.window

    def tensor(key, shape, scale, zp):
        qm.tensors[key] = TensorInfo(name=key, shape=shape, dtype="int8", scale=scale, zero_point=zp)
        return key

    a2 = tensor("a2", (T, 6), 0.01, -5)
    m, s = fp.quantize_multiplier(1.37)
    rq1 = RequantizeOp(name="rq_frames", input=l0.output, output=a2, input_zero_point=l0.hidden_zero_point,
                       output_zero_point=-5, multiplier=m, shift=s)
    a3 = tensor("a3", (T, 6), 0.02, 3)
    W = rng.integers(-127, 128, size=(6, 6)).astype(np.int8)
    m, s = fp.quantize_multiplier(0.0131)
    fc_frames = FullyConnectedOp(name="fc_frames", input=a2, output=a3, fc=FCParams(
        weights=W, bias=rng.integers(-3000, 3000, 6), multiplier=np.full(6, m), shift=np.full(6, s), input_offset=5,
        output_offset=3, act_min=-128, act_max=127))
    l1.input = a3
    b2 = tensor("b2", (T, 5), 0.03, 2)
    m, s = fp.quantize_multiplier(0.71)
    rq2 = RequantizeOp(name="rq_last", input=l1.output, output=b2, input_zero_point=l1.hidden_zero_point,
                       output_zero_point=2, multiplier=m, shift=s)
    sl.input = b2
    sl.index = T - 1 if last_step else T - 2
    r1 = tensor("r1", (5,), 0.03, 2)
    reshape = ReshapeOp(name="reshape_head", input=sl.output, output=r1)
    r2 = tensor("r2", (5,), 0.05, -1)
    m, s = fp.quantize_multiplier(0.6)
    rq3 = RequantizeOp(name="rq_head", input=r1, output=r2, input_zero_point=2, output_zero_point=-1, multiplier=m,
                       shift=s)
    dense0.input = r2
    dense0.fc.multiplier = np.full_like(dense0.fc.multiplier, dense0.fc.multiplier[0])  # per-tensor
    dense0.fc.shift = np.full_like(dense0.fc.shift, dense0.fc.shift[0])
    i0, i1, isl = ops.index(l0), ops.index(l1), ops.index(sl)
    qm.ops = ops[: i0 + 1] + [rq1, fc_frames] + ops[i0 + 1 : i1 + 1] + [rq2] + ops[i1 + 1 : isl + 1] + [reshape, rq3] \
        + ops[isl + 1 :]
    return qm


@pytest.mark.parametrize("last_step", [True, False])
def test_glue_ops_and_per_tensor_dense(last_step, tmp_path):
    need_tool("gcc")
    qm = edited_ir(last_step)
    plan, reason = stream_plan(qm)
    assert (plan is not None) == last_step, reason
    if plan is not None:
        assert [op.name for op in plan.logits_frame_ops] == ["rq_last"]
        assert [op.kind for op in plan.step_ops] == ["lstm", "requantize", "fully_connected", "lstm"]
    model = Int8Model(qm)
    out = tmp_path / "ir"
    res = export_int8_model(model, out, name="irmod", n_vectors=30)
    assert res.streaming == last_step and "irmod_model.tflite" not in res.files
    c = (out / "irmod_model.c").read_text()
    assert "edgelstm_requantize_s8(" in c and "edgelstm_fully_connected_s8(&irmod_fc_frames" in c
    xq = windows(model, seed=7)
    expected = model.predict_int8(xq)
    build = build_host(out, read_manifest(out))
    try:
        got_c, classes, got_s = build.run_windows(xq)
    finally:
        build.cleanup()
    rep = compare_outputs(expected, {"classify": got_c, "classes": classes, "stream": got_s})
    assert rep["mismatches"] == 0, rep["first_mismatches"]
    assert len(np.unique(expected)) > 3  # not a constant output
    proc = subprocess.run(["make", "-s", "-C", str(out), "test"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and "30 passed, 0 failed" in proc.stdout, proc.stdout + proc.stderr
