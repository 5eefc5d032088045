"""Streaming API of the generated C: NAME_reset / NAME_step / NAME_logits.

- frame by frame, logits after every frame (no reset between windows) == the simulator;
- reset + W steps + logits == NAME_classify == Int8Model.predict_int8 on the window;
- 100,000 consecutive steps without reset: logits along the way and the final h/c state equal
  the simulator's (a 100,000-frame sequence run by the simulator's own LSTM kernel), with gate
  pre-activations and cell states saturating on the way;
- a bidirectional model declares no streaming API (NAME_STREAMING 0) and still classifies.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgelstm.codegen import export_c, read_manifest
from edgelstm.testing import SynthSpec, random_int8_inputs, synth_lstm_tflite
from edgelstm.verify import build_host, load_export_model, stream_checkpoints
from edgelstm.verify.reference import simulate_stream

from .conftest import DATA, need_tool

STREAMING = {
    "u8_f2_zp": SynthSpec(units=8, features=2, window=24, hidden_zero_point=-37, seed=12),
    "stack3_csp": SynthSpec(layers=3, units=[8, 12, 6], features=16, window=20, cell_scale_power=[-15, -12, -9],
                            hidden_zero_point=25, seed=15),
    "dense2_softmax_zp": SynthSpec(units=12, features=6, window=16, dense=[16, 9], softmax=True, classes=5,
                                   hidden_zero_point=60, cell_scale_power=-12, seed=23),
    "conv_stack2_lstm8": DATA / "conv_stack2_lstm8.tflite",
}


def export(tmp: Path, key: str, src, n_vectors: int = 8) -> Path:
    raw = synth_lstm_tflite(src) if isinstance(src, SynthSpec) else Path(src).read_bytes()
    model = tmp / f"{key}.tflite"
    model.write_bytes(raw)
    out = tmp / f"out_{key}"
    export_c(model, out, name="s_" + key.lower(), n_vectors=n_vectors)
    return out


def extreme_runs(T: int, F: int, seed: int) -> np.ndarray:
    """Uniform frames broken by long runs of all -128 / all 127 / alternating (saturation)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, size=(T, F)).astype(np.int8)
    t = 0
    while t < T:
        t += int(rng.integers(50, 3000))
        n = int(rng.integers(100, 4000))
        kind = int(rng.integers(0, 3))
        seg = x[t : t + n]
        if kind == 0:
            seg[:] = 127
        elif kind == 1:
            seg[:] = -128
        else:
            seg[:] = np.where((np.arange(len(seg))[:, None] + np.arange(F)[None, :]) % 2 == 0, 127, -128)
        t += n
    return x


@pytest.mark.parametrize("key", list(STREAMING))
def test_step_by_step_equals_classify_and_simulator(key, tmp_path):
    need_tool("gcc")
    out = export(tmp_path, key, STREAMING[key])
    m = read_manifest(out)
    assert m["streaming"] is True
    model = load_export_model(out, m)
    T, F = model.window, model.n_features
    build = build_host(out, m)
    try:
        # Whole windows: classify and reset/step/logits agree with each other and the simulator.
        xq = np.concatenate([random_int8_inputs(300, T, F, seed=1), random_int8_inputs(200, T, F, seed=2, kind="extremes")])
        expected = model.predict_int8(xq)
        got_c, classes, got_s = build.run_windows(xq)
        assert np.array_equal(got_s, got_c)
        assert int((got_c != expected).sum()) == 0
        assert np.array_equal(classes, np.argmax(expected, axis=1))

        # Several windows back to back without reset, logits after every frame.
        frames = np.concatenate([xq[0], xq[250], xq[400], extreme_runs(5 * T, F, seed=3)])
        cps = stream_checkpoints(len(frames), 1)
        ref, ref_state, _ = simulate_stream(model.ir, frames, cps)
        got, state = build.run_stream(frames, every=1)
        assert got.shape == ref.shape == (len(frames), model.n_outputs)
        assert int((got != ref).sum()) == 0
        # The first window's last frame is exactly the whole-window result.
        assert np.array_equal(got[T - 1], expected[0])
        for k, v in ref_state.items():
            assert np.array_equal(state[k], v), k
    finally:
        build.cleanup()


LONG_T = 100_000


@pytest.mark.slow
def test_100k_steps_without_reset(tmp_path):
    """100,000 frames through NAME_step without reset: same logits (every 1000 frames) and state.

    The simulator runs the three 100,000-frame sequences as one batch through its LSTM kernel
    (about a minute); the C streams each through the verify harness.
    """
    need_tool("gcc")
    spec = SynthSpec(units=6, features=3, window=16, hidden_zero_point=-20, cell_scale_power=-12, seed=31,
                     weight_scale=0.05, dense=[5], softmax=True, classes=4)
    out = export(tmp_path, "long", spec)
    m = read_manifest(out)
    model = load_export_model(out, m)
    F = model.n_features
    seqs = np.stack([
        random_int8_inputs(1, LONG_T, F, seed=41)[0],
        extreme_runs(LONG_T, F, seed=42),
        np.where(np.arange(LONG_T)[:, None] % 7 < 3, 127, -128).astype(np.int8).repeat(F, axis=1),
    ])
    every = 1000
    cps = stream_checkpoints(LONG_T, every)
    ref, ref_state, stats = simulate_stream(model.ir, seqs, cps)
    sat = stats["lstm_0"]
    assert sum(sat["preact_saturated"].values()) > 0, "the inputs do not saturate any gate"
    assert sat["cell_at_limit"] > 0, "the inputs do not drive the cell state to its limit"
    build = build_host(out, m)
    try:
        for n in range(len(seqs)):
            got, state = build.run_stream(seqs[n], every=every)
            mism = int((got != ref[n]).sum())
            state_mism = sum(int((state[k] != v[n]).sum()) for k, v in ref_state.items())
            print(f"sequence {n}: {LONG_T} steps, {mism} mismatching logit bytes of {got.size}, "
                  f"{state_mism} mismatching state values")
            assert mism == 0
            assert state_mism == 0
    finally:
        build.cleanup()


def test_stacked_long_stream(tmp_path):
    """A 3-layer stack streamed over 4,000 frames (200 windows' worth) without reset."""
    need_tool("gcc")
    out = export(tmp_path, "stack3_csp", STREAMING["stack3_csp"])
    m = read_manifest(out)
    model = load_export_model(out, m)
    frames = extreme_runs(4000, model.n_features, seed=7)
    cps = stream_checkpoints(len(frames), 50)
    ref, ref_state, stats = simulate_stream(model.ir, frames, cps)
    assert any(sum(s["preact_saturated"].values()) > 0 for s in stats.values())
    build = build_host(out, m)
    try:
        got, state = build.run_stream(frames, every=50)
    finally:
        build.cleanup()
    assert int((got != ref).sum()) == 0
    assert set(state) == {"h0", "c0", "h1", "c1", "h2", "c2"}
    for k, v in ref_state.items():
        assert np.array_equal(state[k], v), k


def test_bidirectional_has_no_streaming_api(tmp_path):
    need_tool("gcc")
    spec = SynthSpec(bidirectional=True, units=6, features=5, window=18, seed=17)
    out = export(tmp_path, "bi", spec)
    m = read_manifest(out)
    assert m["streaming"] is False and "bidirectional" in m["streaming_reason"]
    h = (out / f"{m['name']}_model.h").read_text()
    assert "#define S_BI_STREAMING 0" in h
    assert "void s_bi_step(" not in h and "void s_bi_logits(" not in h and "} s_bi_state_t;" not in h
    assert "int s_bi_classify(const int8_t *frames, int n_frames" in h
    # Code written against the macro compiles either way and refuses other window lengths.
    user = tmp_path / "user.c"
    user.write_text(
        '#include <stdio.h>\n#include "s_bi_model.h"\n'
        "int main(void)\n{\n    static int8_t frames[S_BI_WINDOW * S_BI_INPUT_SIZE];\n    int8_t out[S_BI_NUM_CLASSES];\n"
        "#if S_BI_STREAMING\n    s_bi_state_t s;\n    s_bi_reset(&s);\n#endif\n"
        "    if (s_bi_classify(frames, S_BI_WINDOW - 1, out) != -1) return 1;\n"
        "    if (s_bi_classify(frames, S_BI_WINDOW + 1, out) != -1) return 1;\n"
        "    printf(\"%d\\n\", s_bi_classify(frames, S_BI_WINDOW, out));\n    return 0;\n}\n"
    )
    exe = tmp_path / "user"
    srcs = [str(out / s) for s in m["library_sources"]]
    proc = subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-I", str(out), *srcs,
                           str(user), "-o", str(exe)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True)
    assert run.returncode == 0
    model = load_export_model(out, m)
    assert int(run.stdout) == int(np.argmax(model.predict_int8(np.zeros((1, 18, 5), np.int8))[0]))
