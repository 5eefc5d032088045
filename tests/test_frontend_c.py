"""The raw radar front end in C (NAME_frontend.c + the runtime's edgelstm_frontend_*.c): bit-exact
with the numpy reference on simulated raw data and random/extreme int16 frames, through
NAME_frontend, NAME_classify_raw and NAME_step_raw, on host gcc (UBSan + ASan), clang, QEMU Cortex-M4
(instructions per frame for 16 chirps x 64 samples) and Cortex-M0; export and verify CLI."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from edgelstm.codegen.export import export_c
from edgelstm.codegen.manifest import read_manifest
from edgelstm.data.radar import RadarConfig
from edgelstm.data.radar.raw import RawConfig, generate_raw_radar, save_raw
from edgelstm.frontend import FrontEndSpec
from edgelstm.model import load_int8_model
from edgelstm.testing import synth_lstm_tflite
from edgelstm.tflite.writer import embed_edgelstm_metadata
from edgelstm.verify.frontend_raw import random_raw_windows, reference, run_host, verify_raw

from .conftest import need_tool, run_cli

WINDOW = 4


def _model(tmp, chirps: int, samples: int, seed: int = 0):
    """A random int8 LSTM on the front end's 18 features, its metadata holding the spec and a
    normalisation (so the folded map has real offsets), exported to C."""
    raw_cfg = RawConfig(samples_per_chirp=samples)
    spec = FrontEndSpec(chirps=chirps, samples=samples, range_bin_m=raw_cfg.range_bin_m, noise_lsb=8.0).validate()
    rng = np.random.default_rng(seed)
    meta = {"kind": "edgelstm-int8-model", "class_names": [f"c{i}" for i in range(7)],
            "feature_names": spec.feature_names(), "window": WINDOW,
            "normalization": {"mean": list(rng.normal(5, 3, 18)), "std": list(rng.uniform(4, 12, 18))},
            "front_end": spec.to_dict()}
    raw = embed_edgelstm_metadata(synth_lstm_tflite(window=WINDOW, features=18, units=8, classes=7, seed=seed,
                                                    input_scale=0.03, input_zero_point=-5), meta)
    path = tmp / f"m{chirps}x{samples}.tflite"
    path.write_bytes(raw)
    out = tmp / f"ex{chirps}x{samples}"
    export_c(path, out, name="radar", n_vectors=4)
    return out, spec


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fe_c")
    out, spec = _model(tmp, 8, 32)
    ds = generate_raw_radar(14, 7, frames=WINDOW, config=RadarConfig(chirps_per_frame=8),
                            raw=RawConfig(samples_per_chirp=32), seed=3)
    raw_path = tmp / "raw.npz"
    save_raw(ds, raw_path)
    adc = np.concatenate([ds.X_test, random_raw_windows(1, WINDOW, 8, 32, seed=5)])
    return out, spec, raw_path, adc


def test_export_has_front_end(small):
    out, spec, _, _ = small
    m = read_manifest(out)
    assert m.front_end["source"] == "radar_frontend.c" and "radar_frontend.c" in m.library_sources
    assert FrontEndSpec.from_dict(m.front_end["spec"]) == spec
    h = (out / "radar_model.h").read_text()
    for s in ("#define RADAR_FRONTEND_CHIRPS 8", "#define RADAR_FRONTEND_SAMPLES 32",
              "int radar_frontend(const int16_t *adc_frame, int8_t *frame_q);", "radar_step_raw(", "radar_classify_raw("):
        assert s in h
    src = (out / "radar_frontend.c").read_text()
    assert "float" not in src and "double" not in src and "malloc" not in src
    assert "radar_frontend.c" in (out / "Makefile").read_text()


def test_model_without_front_end_has_none(tmp_path):
    p = tmp_path / "plain.tflite"
    p.write_bytes(synth_lstm_tflite(window=4, features=6, classes=3))
    export_c(p, tmp_path / "ex", n_vectors=2)
    assert read_manifest(tmp_path / "ex").front_end is None
    assert not list((tmp_path / "ex").glob("*_frontend.c"))


def test_host_gcc_sanitizers_and_clang_bit_exact(small):
    out, spec, _, adc = small
    need_tool("gcc")
    need_tool("clang")
    model = load_int8_model(out / "radar_model.tflite")
    q, expected = reference(model, spec, adc)
    for cc, flags in (("gcc", ("-fsanitize=undefined,address", "-fno-sanitize-recover=all", "-g")), ("clang", ())):
        got = run_host(out, read_manifest(out), adc, cc=cc, extra_cflags=flags)
        assert np.count_nonzero(got["front_end"] != q) == 0, cc
        assert np.count_nonzero(got["classify"] != expected) == 0, cc
        assert np.count_nonzero(got["stream"] != expected) == 0, cc
        assert np.array_equal(got["classes"], np.argmax(expected, axis=1))
    assert len(np.unique(q.reshape(-1, 18), axis=0)) > 10  # the frames really differ


def test_front_end_compiles_as_cpp(small):
    out, *_ = small
    gxx = need_tool("g++")
    for f in ("radar_frontend.c", "edgelstm_frontend_doppler_s16.c", "edgelstm_fft_q15.c", "edgelstm_log2_q16.c",
              "edgelstm_frontend_quantize_s8.c"):
        r = subprocess.run([gxx, "-x", "c++", "-std=c++11", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-I", str(out),
                            "-c", str(out / f), "-o", "/dev/null"], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr


def test_verify_cli_raw_host(small, edgelstm_exe):
    out, _, raw_path, _ = small
    r = run_cli(edgelstm_exe, "verify", out, "--data", raw_path, "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["mismatches"] == 0 and rep["front_end_mismatches"] == 0
    assert rep["front_end_compared_bytes"] == 7 * WINDOW * 18 and rep["compared_bytes"] == 2 * 7 * 7


def test_qemu_m0_bit_exact(small):
    out, _, _, adc = small
    need_tool("arm-none-eabi-gcc")
    need_tool("qemu-system-arm")
    rep = verify_raw(out, None, adc=adc[-3:], target="qemu-cortex-m0")
    assert rep["mismatches"] == 0 and rep["front_end_mismatches"] == 0 and rep["front_end_compared_bytes"] > 0
    assert rep["front_end_instructions_per_frame"] > 0


def test_qemu_m4_16x64_bit_exact_and_budget(tmp_path):
    """The issue's size: 16 chirps x 64 samples; at most 60,000 instructions per frame on Cortex-M4."""
    need_tool("arm-none-eabi-gcc")
    need_tool("qemu-system-arm")
    out, spec = _model(tmp_path, 16, 64, seed=1)
    ds = generate_raw_radar(7, 1, frames=WINDOW, raw=RawConfig(samples_per_chirp=64), seed=4)
    adc = np.concatenate([ds.X_train[:2], random_raw_windows(1, WINDOW, 16, 64, seed=6)[[0, 2, 5, 6]]])
    rep = verify_raw(out, None, adc=adc, target="qemu-cortex-m4")
    assert rep["mismatches"] == 0 and rep["front_end_mismatches"] == 0
    assert 0 < rep["front_end_instructions_per_frame"] <= 60_000, rep["front_end_instructions_per_frame"]
    assert 0 < rep["front_end_flash_bytes"] <= 6 * 1024, rep["front_end_flash_bytes"]


def test_verify_without_data_adds_random_raw_frames(small, edgelstm_exe):
    out, *_ = small
    r = run_cli(edgelstm_exe, "verify", out, "--samples", "6", "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["front_end"] == "raw" and rep["front_end_mismatches"] == 0
    assert rep["front_end_compared_bytes"] == 7 * WINDOW * 18  # random_raw_windows(1, ...): 7 kinds
    assert rep["mismatches_by_path"]["classify_raw"] == 0 and rep["mismatches"] == 0
