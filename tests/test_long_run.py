"""1,000,000 consecutive NAME_step calls of an exported streaming model == the simulator.

A tiny streaming LSTM (1 feature, 2 units, no reset ever) runs one 1,000,000-frame stream
through the C library (NAME_reset once, then NAME_step / NAME_logits, via the verify harness)
and through the simulator's own LSTM kernel (edgelstm.verify.reference.simulate_stream, one
sequence of 1,000,000 steps). The logits are compared every 10,000 steps and the final hidden
and cell state at the end, byte for byte; the stream (uniform noise broken by long runs of
-128 / 127 / alternating values) drives the gate pre-activations and the cell state into
saturation and back on the way.

The simulator processes the stream one step at a time, so its per-step overhead sets the
duration; the test prints it (microseconds per step).
"""

from __future__ import annotations

import time

import numpy as np

from edgelstm.codegen import export_c, read_manifest
from edgelstm.testing import SynthSpec, synth_lstm_tflite
from edgelstm.verify import build_host, load_export_model, stream_checkpoints
from edgelstm.verify.reference import simulate_stream

from .conftest import need_tool

STEPS = 1_000_000
EVERY = 10_000


def saturating_runs(T: int, F: int, seed: int) -> np.ndarray:
    """Uniform frames broken by long runs of all -128, all 127, or alternating extremes."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, size=(T, F)).astype(np.int8)
    t = int(rng.integers(0, 1000))
    while t < T:
        n = int(rng.integers(50, 20_000))
        kind = int(rng.integers(0, 3))
        seg = x[t : t + n]
        if kind == 0:
            seg[:] = 127
        elif kind == 1:
            seg[:] = -128
        else:
            seg[:] = np.where((np.arange(len(seg))[:, None] + np.arange(F)[None, :]) % 2 == 0, 127, -128)
        t += n + int(rng.integers(100, 30_000))
    return x


def test_one_million_steps_c_equals_simulator(tmp_path, capsys):
    need_tool("gcc")
    spec = SynthSpec(window=8, features=1, units=2, classes=3, hidden_zero_point=-10, cell_scale_power=-12,
                     weight_scale=0.05, seed=5)
    model_file = tmp_path / "long.tflite"
    model_file.write_bytes(synth_lstm_tflite(spec))
    out = tmp_path / "c"
    export_c(model_file, out, name="longrun", n_vectors=4)
    m = read_manifest(out)
    assert m["streaming"] is True
    model = load_export_model(out, m)
    F = model.n_features
    streams = saturating_runs(STEPS, F, seed=102)[None]  # (1, STEPS, F): one stream
    cps = stream_checkpoints(STEPS, EVERY)
    assert len(cps) == STEPS // EVERY and cps[-1] == STEPS - 1

    t0, cpu0 = time.perf_counter(), time.process_time()
    ref, ref_state, stats = simulate_stream(model.ir, streams, cps)
    sim_seconds, sim_cpu = time.perf_counter() - t0, time.process_time() - cpu0
    sat = stats["lstm_0"]
    assert sum(sat["preact_saturated"].values()) > 0, "the streams do not saturate any gate"
    assert sat["cell_at_limit"] > 0, "the streams do not drive the cell state to its limit"

    build = build_host(out, m)
    t1 = time.perf_counter()
    try:
        got = [build.run_stream(s, every=EVERY) for s in streams]
    finally:
        build.cleanup()
    c_seconds = time.perf_counter() - t1

    report = []
    for n, (logits, state) in enumerate(got):
        assert logits.shape == ref[n].shape == (len(cps), model.n_outputs)
        mism = int((logits != ref[n]).sum())
        state_mism = sum(int((np.asarray(state[k]) != v[n]).sum()) for k, v in ref_state.items())
        report.append(f"stream {n}: {mism} mismatching logit bytes of {logits.size}, {state_mism} mismatching state "
                      f"values of {sum(v[n].size for v in ref_state.values())}")
        assert mism == 0 and state_mism == 0, report[-1]
    assert set(ref_state) == {"h0", "c0"}
    with capsys.disabled():
        print(f"\n[long run] {len(streams)} stream x {STEPS:,} steps, logits every {EVERY:,} steps + final state: "
              + "; ".join(report))
        print(f"[long run] simulator {sim_seconds:.1f} s wall, {sim_cpu:.1f} s CPU ({sim_cpu / STEPS * 1e6:.0f} us CPU per "
              f"step), C {c_seconds:.1f} s; saturated pre-activations {sat['preact_saturated']}, "
              f"cell at its limit {sat['cell_at_limit']} times")
