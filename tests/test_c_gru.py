"""The generated C of GRU models against the simulator: zero mismatching output bytes.

Synthetic GRU classifiers (edgelstm.synth_gru, the layout `edgelstm quantize` writes) of many
shapes are exported with `export_c`, compiled on the host (-std=c99 -O2 -Wall -Wextra
-Wpedantic -Werror) and run on 1,000 windows (600 uniform, 400 extreme patterns: all -128,
all 127, alternating). Every output byte of NAME_classify, and for streaming (unidirectional)
models of NAME_reset/NAME_step/NAME_logits, must equal Int8Model.predict_int8 (run_gru, the
spec of edgelstm's integer GRU). Streaming: logits after every frame without reset, the final
h8/h16 state, and a 20,000-frame stream; strict C99/C++ builds; ASan + UBSan.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgelstm.codegen import export_c, read_manifest, stream_plan
from edgelstm.codegen.graph import check_supported
from edgelstm.errors import UnsupportedError
from edgelstm.model import Int8Model
from edgelstm.testing import GruSynthSpec, random_int8_inputs, synth_gru_tflite
from edgelstm.tflite.reader import load_ir_from_bytes
from edgelstm.verify import build_host, compare_outputs, load_export_model, stream_checkpoints
from edgelstm.verify.qemu import build_qemu
from edgelstm.verify.reference import simulate_stream

from .conftest import need_tool
from .test_c_bitexact import SANITIZE, strict_build_and_selftest, windows
from .test_c_streaming import extreme_runs

MODELS: dict[str, GruSynthSpec] = {
    "u1_f1": GruSynthSpec(units=1, features=1, window=16, seed=101),
    "u8_f4_ra0": GruSynthSpec(units=8, features=4, window=24, reset_after=False, input_zero_point=-40, seed=102),
    "u32_f16_t64": GruSynthSpec(units=32, features=16, window=64, classes=7, weight_scale=0.01, seed=103),
    "u32_f16_t64_ra0": GruSynthSpec(units=32, features=16, window=64, classes=7, weight_scale=0.01, reset_after=False,
                                    hidden_frac_bits=8, seed=104),
    "u100_f4_t12": GruSynthSpec(units=100, features=4, window=12, weight_scale=0.004, seed=105, softmax=True),
    "stack3": GruSynthSpec(layers=3, units=[8, 12, 6], features=16, window=20, hidden_frac_bits=[7, 9, 5], seed=106),
    "stack2_ra0_k0_k12": GruSynthSpec(layers=2, units=[7, 5], features=3, window=16, reset_after=False,
                                      hidden_frac_bits=[0, 12], bias_range=6.0, seed=107, dense=[6]),
    "bi1_dense": GruSynthSpec(bidirectional=True, units=8, features=16, window=20, dense=[10], seed=108),
    "bi2_softmax_ra0": GruSynthSpec(bidirectional=True, layers=2, units=6, features=5, window=18, softmax=True,
                                    reset_after=False, seed=109),
    "bi2_softmax": GruSynthSpec(bidirectional=True, layers=2, units=6, features=5, window=18, softmax=True, seed=110,
                                hidden_frac_bits=[7, 10]),
    "extreme_w": GruSynthSpec(units=8, features=4, window=20, extreme_weights=True, bias_range=20.0, seed=111),
    "extreme_w_ra0": GruSynthSpec(units=8, features=4, window=20, extreme_weights=True, reset_after=False,
                                  bias_range=20.0, hidden_frac_bits=15, seed=112),
    "extreme_w_stack_bi": GruSynthSpec(bidirectional=True, layers=2, units=5, features=3, window=10,
                                       extreme_weights=True, seed=113, dense=[7], input_zero_point=90),
    "dense2_softmax_k12": GruSynthSpec(units=12, features=6, window=16, dense=[16, 9], softmax=True, classes=5,
                                       hidden_frac_bits=12, seed=114),
    "t1": GruSynthSpec(units=8, features=16, window=1, seed=115),
}

CLANG_MODELS = ("stack3", "bi2_softmax_ra0", "extreme_w_ra0")


def export_gru(tmp: Path, key: str, n_vectors: int = 12, spec: GruSynthSpec | None = None) -> Path:
    model = tmp / f"{key}.tflite"
    model.write_bytes(synth_gru_tflite(spec or MODELS[key]))
    out = tmp / f"out_{key}"
    export_c(model, out, name="g_" + key.lower(), n_vectors=n_vectors)
    return out


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
    rep["distinct_outputs"] = len(np.unique(expected))
    if got_s is not None:
        rep["stream_vs_classify"] = int((got_s != got_c).sum())
    return rep


@pytest.mark.parametrize("key", list(MODELS))
def test_gru_c_equals_simulator_gcc(key, tmp_path, record_property):
    need_tool("gcc")
    out = export_gru(tmp_path, key)
    rep = run_and_compare(out, "gcc")
    record_property("mismatches", rep["mismatches"])
    print(f"{key}: gcc, {rep['samples']} windows, streaming={rep['streaming']}: "
          f"{rep['mismatches']} mismatching bytes of {rep['compared_bytes']}")
    assert rep["samples"] >= 1000
    assert rep["streaming"] == (not MODELS[key].bidirectional)
    assert rep["mismatches"] == 0, rep["first_mismatches"]
    assert rep["argmax_mismatches"] == 0
    assert rep.get("stream_vs_classify", 0) == 0
    assert rep["distinct_outputs"] > 2  # not a constant output


@pytest.mark.parametrize("key", CLANG_MODELS)
def test_gru_c_equals_simulator_clang(key, tmp_path):
    need_tool("clang")
    out = export_gru(tmp_path, key)
    rep = run_and_compare(out, "clang")
    print(f"{key}: clang, {rep['samples']} windows: {rep['mismatches']} mismatching bytes of {rep['compared_bytes']}")
    assert rep["mismatches"] == 0, rep["first_mismatches"]
    assert rep["argmax_mismatches"] == 0


def test_gru_models_saturate_and_use_both_formulations():
    """The shapes above reach the corners of the arithmetic: saturated gate pre-activations,
    h16 at its limits, left-shifting multipliers (k = 0), both reset_after formulations."""
    seen = {"reset_after": set(), "left_shift": False, "preact_sat": False, "state_limit": False}
    for key in ("extreme_w", "extreme_w_ra0", "stack2_ra0_k0_k12"):
        qm = load_ir_from_bytes(synth_gru_tflite(MODELS[key]))
        m = Int8Model(qm)
        traces: dict = {}
        m.run(windows(m)[:400], traces=traces)
        for op in qm.recurrent_ops():
            seen["reset_after"].add(op.reset_after)
            seen["left_shift"] |= any(int(np.max(g.recurrent_fc.shift)) > 0 for g in op.gates.values())
            tr = traces[op.name]
            seen["preact_sat"] |= sum(tr["preact_saturated"].values()) > 0
            seen["state_limit"] |= bool(np.any(np.abs(tr["state"].astype(np.int64)) >= 32767))
    assert seen == {"reset_after": {True, False}, "left_shift": True, "preact_sat": True, "state_limit": True}, seen


# ----------------------------------------------------------------------------- streaming

STREAMING = ("u8_f4_ra0", "stack3", "dense2_softmax_k12", "stack2_ra0_k0_k12")


@pytest.mark.parametrize("key", STREAMING)
def test_gru_step_by_step_equals_classify_and_simulator(key, tmp_path):
    need_tool("gcc")
    out = export_gru(tmp_path, key)
    m = read_manifest(out)
    assert m["streaming"] is True
    model = load_export_model(out, m)
    T, F = model.window, model.n_features
    names = [f["name"] for f in m["state_fields"]]
    n_layers = len(model.ir.recurrent_ops())
    assert names == [x for li in range(n_layers) for x in (f"h{li}", f"s{li}")] + ["gate_scratch"]
    build = build_host(out, m)
    try:
        xq = np.concatenate([random_int8_inputs(300, T, F, seed=1), random_int8_inputs(200, T, F, seed=2, kind="extremes")])
        expected = model.predict_int8(xq)
        got_c, classes, got_s = build.run_windows(xq)
        assert np.array_equal(got_s, got_c)
        assert int((got_c != expected).sum()) == 0
        assert np.array_equal(classes, np.argmax(expected, axis=1))

        # Windows back to back without reset, logits after every frame, then the final state.
        frames = np.concatenate([xq[0], xq[250], xq[400], extreme_runs(5 * T, F, seed=3)])
        cps = stream_checkpoints(len(frames), 1)
        ref, ref_state, _ = simulate_stream(model.ir, frames, cps)
        got, state = build.run_stream(frames, every=1)
        assert got.shape == ref.shape == (len(frames), model.n_outputs)
        assert int((got != ref).sum()) == 0
        assert np.array_equal(got[T - 1], expected[0])
        assert set(state) == set(ref_state) == {n for n in names if n != "gate_scratch"}
        for k, v in ref_state.items():
            assert np.array_equal(state[k], v), k
    finally:
        build.cleanup()


LONG_T = 20_000


def test_gru_long_stream_without_reset(tmp_path):
    """20,000 frames through NAME_step without reset (three sequences: uniform, runs of extreme
    frames, a square wave): logits every 500 frames and the final h8/h16 equal the simulator's.
    (The simulator steps the three sequences as one batch, about 1 ms per frame.)"""
    need_tool("gcc")
    spec = GruSynthSpec(units=6, features=3, window=16, seed=131, weight_scale=0.03, dense=[5], softmax=True,
                        classes=4, reset_after=True, hidden_frac_bits=8)
    out = export_gru(tmp_path, "long", spec=spec)
    m = read_manifest(out)
    model = load_export_model(out, m)
    F = model.n_features
    seqs = np.stack([
        random_int8_inputs(1, LONG_T, F, seed=141)[0],
        extreme_runs(LONG_T, F, seed=142),
        np.where(np.arange(LONG_T)[:, None] % 7 < 3, 127, -128).astype(np.int8).repeat(F, axis=1),
    ])
    every = 500
    cps = stream_checkpoints(LONG_T, every)
    ref, ref_state, stats = simulate_stream(model.ir, seqs, cps)
    assert sum(sum(s["preact_saturated"].values()) for s in stats.values()) > 0, "no gate saturates"
    assert len(np.unique(ref)) > 10
    build = build_host(out, m)
    try:
        for n in range(len(seqs)):
            got, state = build.run_stream(seqs[n], every=every)
            mism = int((got != ref[n]).sum())
            state_mism = sum(int((state[k] != v[n]).sum()) for k, v in ref_state.items())
            print(f"sequence {n}: {LONG_T} steps, {mism} mismatching logit bytes of {got.size}, "
                  f"{state_mism} mismatching state values")
            assert mism == 0 and state_mism == 0
    finally:
        build.cleanup()


def test_bidirectional_gru_is_whole_window_only(tmp_path):
    qm = load_ir_from_bytes(synth_gru_tflite(MODELS["bi2_softmax"]))
    plan, reason = stream_plan(qm)
    assert plan is None and "bidirectional" in reason
    out = export_gru(tmp_path, "bi2_softmax")
    h = (out / "g_bi2_softmax_model.h").read_text()
    assert "#define G_BI2_SOFTMAX_STREAMING 0" in h and "g_bi2_softmax_step(" not in h


def test_stream_plan_of_gru_models():
    for key in ("u1_f1", "stack3", "dense2_softmax_k12"):
        spec = MODELS[key]
        plan, reason = stream_plan(load_ir_from_bytes(synth_gru_tflite(spec)))
        assert plan is not None, reason
        assert [op.kind for op in plan.recurrent_ops] == ["gru"] * spec.layers
        assert plan.lstm_ops == plan.recurrent_ops  # the older name still works


# ----------------------------------------------------------------------------- builds

@pytest.mark.parametrize("cc", ["gcc", "clang", "g++", "clang++"])
@pytest.mark.parametrize("key", ["stack2_ra0_k0_k12", "bi2_softmax"])
def test_gru_compiles_warning_free_c99_and_cxx(cc, key, tmp_path):
    """Library + self test: C99 with extra warnings as errors, and as C++11; the self test passes."""
    need_tool(cc)
    strict_build_and_selftest(export_gru(tmp_path, key, n_vectors=20), cc, 20)


@pytest.mark.parametrize("key", ["extreme_w_ra0", "extreme_w_stack_bi", "stack2_ra0_k0_k12"])
def test_gru_sanitizers_verify_harness(key, tmp_path):
    """ASan + UBSan (no recovery) over the 1,000 uniform and extreme windows: no report, same bytes."""
    need_tool("gcc")
    out = export_gru(tmp_path, key)
    rep = run_and_compare(out, "gcc", extra_cflags=("-O1", "-g", "-fsanitize=address,undefined",
                                                     "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"))
    assert rep["mismatches"] == 0


@pytest.mark.parametrize("cc,key", [("gcc", "extreme_w_ra0"), ("clang", "bi2_softmax_ra0")])
def test_gru_selftest_under_sanitizers(cc, key, tmp_path):
    need_tool(cc)
    need_tool("make")
    out = export_gru(tmp_path, key, n_vectors=100)
    proc = subprocess.run(["make", "-s", "-C", str(out), f"CC={cc}", f"CFLAGS={SANITIZE}", "test"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "100 passed, 0 failed" in proc.stdout
    assert "runtime error" not in proc.stderr and "AddressSanitizer" not in proc.stderr


# ----------------------------------------------------------------------------- generated code

def test_gru_generated_source_and_refusals(tmp_path):
    out = export_gru(tmp_path, "stack3")
    c = (out / "g_stack3_model.c").read_text()
    h = (out / "g_stack3_model.h").read_text()
    assert c.count("edgelstm_gru_step_s8_s16(&") == 3 and c.count("edgelstm_gru_reset_s8_s16(&") == 3
    assert "static const edgelstm_gru_params_s8_s16_t g_stack3_gru_" in c
    assert "int16_t s0[8];" in h and "int8_t h2[6];" in h and "int16_t gate_scratch[85];" in h
    m = read_manifest(out)
    assert "edgelstm_gru_step_s8_s16.c" in m["library_sources"] and "edgelstm_gru_s8_s16.c" in m["library_sources"]
    # weights: int8 (3U x (F + U)) per layer + int32 biases and per-row multipliers/shifts
    qm = load_ir_from_bytes(synth_gru_tflite(MODELS["stack3"]))
    # (int8 weights, int32 bx, bh, multipliers, int8 shifts; no bh without reset_after)
    # weights in groups of 4 rows: W's 3U rows, U's 2U and U rows, each padded to a multiple of 4
    def up4(r):
        return -(-r // 4) * 4

    rec = sum(up4(3 * op.units) * op.input_size + (up4(2 * op.units) + up4(op.units)) * op.units
              + 3 * op.units * (4 + 4 * op.reset_after + 2 * 4 + 2) for op in qm.recurrent_ops())
    fcs = [op.fc for op in qm.ops if op.kind == "fully_connected"]
    head = sum(fc.weights.size + 4 * fc.out_features + (8 * fc.out_features if len(set(fc.multiplier.tolist())) > 1 else 0)
               for fc in fcs)
    assert m["weights_bytes"] == rec + head

    def refused(edit, needle):
        qm = load_ir_from_bytes(synth_gru_tflite(MODELS["u8_f4_ra0"]))
        edit(next(op for op in qm.ops if op.kind == "gru"))
        with pytest.raises(UnsupportedError, match=needle) as e:
            check_supported(qm)
        assert "\n" not in str(e.value)

    refused(lambda op: setattr(op, "hidden_frac_bits", 16), "hidden scale")
    refused(lambda op: op.gates["r"].input_fc.shift.__setitem__(0, 40), "shift")
    refused(lambda op: setattr(op.gates["z"].recurrent_fc, "input_offset", 3), "zero point")
    refused(lambda op: op.gates["h"].recurrent_fc.multiplier.__setitem__(0, 1 << 29), "normalised Q31 multiplier")
    refused(lambda op: op.gates["z"].input_fc.multiplier.__setitem__(0, -(1 << 30)), "normalised Q31 multiplier")


def test_gru_reset_product_must_be_a_plain_requantisation():
    """The reset_after=1 product r * ah_h is sat16(MBQM(., 2^30, -14)) in the spec; the assembly
    paths requantise it as such, so export-c refuses any other form (graph.py _check_gru)."""
    for field, value, needle in (("multiplier", 1 << 29, "reset multiplier"), ("output_offset", 5, "output offset"),
                                 ("act_min", -128, "range")):
        qm = load_ir_from_bytes(synth_gru_tflite(MODELS["u1_f1"]))
        op = next(op for op in qm.ops if op.kind == "gru")
        assert op.reset_after
        check_supported(qm)
        setattr(op.reset_mul, field, value)
        with pytest.raises(UnsupportedError, match=needle):
            check_supported(qm)


# ----------------------------------------------------------------------- the Cortex-M paths

# The per-path GRU steps (edgelstm_gru_step_s8_s16_dsp.c / _armv6m.c) in QEMU: shapes whose row
# counts leave a partial group of 4 (3U % 4 != 0), both reset_after forms, k = 0 / 12 / 15,
# saturating weights, rows of more than 508 columns, and row multipliers of every kind the per-row requantisation meets: 0
# (scale ratios below 2^-32), shifts down to -31 and -20, left shifts of 7..11.
QEMU_MODELS: dict[str, GruSynthSpec] = {
    "u1_f1": MODELS["u1_f1"],
    "stack2_ra0_k0_k12": MODELS["stack2_ra0_k0_k12"],
    "extreme_w_ra0": MODELS["extreme_w_ra0"],
    "tiny_w": GruSynthSpec(units=6, features=5, window=10, weight_scale=1e-12, bias_range=1e-9, seed=120),
    "small_w_ra0": GruSynthSpec(units=6, features=5, window=10, weight_scale=3e-8, reset_after=False, seed=121),
    "big_w": GruSynthSpec(units=5, features=7, window=10, weight_scale=5.0, seed=122),
    # input rows of 603 columns: the DSP path's paired sums in chunks of 508 (edgelstm_dot_s8.h)
    "wide_f603": GruSynthSpec(units=3, features=603, window=4, weight_scale=0.002, extreme_weights=True, seed=123),
}
GRU_PATH_FILES = {"cortex-m4": "edgelstm_gru_step_s8_s16_dsp", "cortex-m33": "edgelstm_gru_step_s8_s16_dsp",
                  "cortex-m0": "edgelstm_gru_step_s8_s16_armv6m"}


def test_qemu_models_cover_the_requantisation_cases():
    shifts, zero_rows = set(), 0
    for spec in QEMU_MODELS.values():
        for op in load_ir_from_bytes(synth_gru_tflite(spec)).recurrent_ops():
            for st in (op.input_stack, op.recurrent_stack):
                shifts |= set(np.asarray(st.shift).tolist())
                zero_rows += int((np.asarray(st.multiplier) == 0).sum())
    assert zero_rows > 0 and min(shifts) <= -31 and max(shifts) >= 10 and 0 in shifts, (sorted(shifts), zero_rows)


@pytest.mark.parametrize("core", ["cortex-m4", "cortex-m0", "cortex-m33"])
def test_gru_paths_in_qemu_equal_simulator(core, tmp_path):
    """Every output byte of the GRU step's DSP (M4, M33) and ARMv6-M (M0) paths equals the
    simulator (uniform and extreme windows, classify and the streaming step), and the step of
    the path is the path file's (edgelstm_gru_step_s8_s16.h: one per build)."""
    need_tool("arm-none-eabi-gcc")
    need_tool("qemu-system-arm")
    keys = list(QEMU_MODELS) if core != "cortex-m33" else ["big_w", "wide_f603"]  # M33 runs the M4's file
    (tmp_path / core).mkdir()
    for key in keys:
        out = export_gru(tmp_path / core, key, n_vectors=1, spec=QEMU_MODELS[key])
        m = read_manifest(out)
        model = load_export_model(out, m)
        build = build_qemu(out, m, f"qemu-{core}", build_dir=tmp_path / f"b_{core}_{key}")
        try:
            obj = build.build_dir / "obj"
            defined = [stem for stem in ("edgelstm_gru_step_s8_s16", *set(GRU_PATH_FILES.values()))
                       if "edgelstm_gru_step_path_s8_s16" in _defined_symbols(obj / f"{stem}.o")]
            assert defined == [GRU_PATH_FILES[core]], defined
            T, F = model.window, model.n_features
            xq = np.concatenate([random_int8_inputs(12, T, F, seed=7, kind="uniform"),
                                 random_int8_inputs(8, T, F, seed=8, kind="extremes")])
            expected = model.predict_int8(xq)
            got_c, classes, got_s, _ = build.run_windows(xq)
        finally:
            build.cleanup()
        rep = compare_outputs(expected, {"classify": got_c, "classes": classes, "stream": got_s})
        assert rep["mismatches"] == 0 and rep["argmax_mismatches"] == 0, (key, rep["first_mismatches"])


def _defined_symbols(obj: Path) -> set[str]:
    proc = subprocess.run(["arm-none-eabi-nm", "--defined-only", str(obj)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return {ln.split()[-1] for ln in proc.stdout.splitlines() if ln.strip()}
