"""The raw radar front end in numpy: q15 FFT and log2 against numpy, fixed point against float64,
raw generation, `edgelstm data radar --features raw`, `edgelstm data features`, bad raw inputs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from edgelstm.cli import cli
from edgelstm.data import load_dataset
from edgelstm.data.radar import RadarConfig
from edgelstm.data.radar.raw import RawConfig, generate_raw_radar
from edgelstm.data.radar.scene import simulate_returns
from edgelstm.frontend import FrontEndSpec, features_fixed, features_float, tables, to_float_features
from edgelstm.frontend.fixed import fft_q15, log2_q16
from edgelstm.frontend.quant import input_map, quantize_features

from .conftest import assert_one_line_error, run_cli

SMALL = ["--train", "35", "--test", "14", "--frames", "6", "--chirps-per-frame", "8", "--samples-per-chirp", "32"]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=True)


@pytest.fixture(scope="module")
def raw_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("raw") / "raw.npz"
    r = invoke("data", "radar", "--features", "raw", "--out", p, *SMALL, "--seed", "2", "--quiet")
    assert r.exit_code == 0, r.output
    return p


@pytest.mark.parametrize("n", [8, 16, 64, 256])
def test_fft_q15_matches_numpy_within_bound(n):
    """Output = DFT / n; each of the log2(n) stages adds at most ~1 LSB (twiddle product rounding,
    the halving's rounding, twiddle error <= 0.5 LSB of |b|): bound log2(n) + 1 LSB per part."""
    rng = np.random.default_rng(n)
    tab = tables(FrontEndSpec(chirps=4, samples=max(n, 8)))
    x = np.concatenate([rng.integers(-32768, 32768, size=(200, n)),  # full scale
                        np.full((1, n), 32767), np.full((1, n), -32768), np.zeros((1, n), np.int64),
                        np.tile([32767, -32768], (1, n // 2))])
    re, im = fft_q15(x, np.zeros_like(x), tab.cos_s, tab.sin_s, stride=tab.cos_s.size // n)
    ref = np.fft.fft(x, axis=-1) / n
    err = max(np.abs(re - ref.real).max(), np.abs(im - ref.imag).max())
    assert err <= math.log2(n) + 1, err
    assert re.max() <= 32767 and re.min() >= -32768


def test_log2_q16_error():
    tab = tables(FrontEndSpec(chirps=4, samples=8))
    p = np.unique(np.concatenate([np.arange(1, 5000), np.random.default_rng(0).integers(1, 2**62, 5000),
                                  2 ** np.arange(63, dtype=np.uint64)]).astype(np.uint64))
    got = log2_q16(p, tab.log2_q16) / 65536.0
    err = np.abs(got - np.log2(p.astype(np.float64)))
    assert err.max() < 2e-4, err.max()  # table step 1/64, linear interpolation


def test_slow_time_model_unchanged_by_the_raw_detail():
    cfg = RadarConfig()
    y = np.arange(14) % 7
    a, ra = simulate_returns(np.random.default_rng(5), y, 8, cfg)
    detail = {}
    b, rb = simulate_returns(np.random.default_rng(5), y, 8, cfg, detail=detail)
    assert np.array_equal(a, b) and np.array_equal(ra, rb)
    assert detail["clean"].shape == a.shape and detail["spikes"].shape == ra.shape


def test_fixed_point_features_match_float_above_noise():
    cfg = RadarConfig(chirps_per_frame=16)
    raw = RawConfig(samples_per_chirp=64)
    ds = generate_raw_radar(35, 7, frames=8, config=cfg, raw=raw, seed=4)
    spec = FrontEndSpec(chirps=16, samples=64, range_bin_m=raw.range_bin_m, noise_lsb=raw.adc_noise_lsb).validate()
    d1, d2 = {}, {}
    fx = to_float_features(features_fixed(ds.X_train, spec, detail=d1), spec)
    ff = features_float(ds.X_train, spec, detail=d2)
    agree = d1["gate"] == d2["gate"]
    assert agree.mean() > 0.97
    above = ff[..., :16][agree] > 3.0  # above the noise floor (noise sits at 0 dB)
    mae = np.abs(fx[..., :16][agree] - ff[..., :16][agree])[above].mean()
    assert mae < 0.5, mae
    assert np.abs(fx[..., 17][agree] - ff[..., 17][agree]).max() < 0.5
    assert np.array_equal(fx[..., 16][agree], ff[..., 16][agree].astype(np.float32))


def test_extreme_frames_are_defined():
    spec = FrontEndSpec(chirps=8, samples=32).validate()
    frames = np.stack([np.zeros((8, 32)), np.full((8, 32), 32767), np.full((8, 32), -32768),
                       np.tile([32767, -32768], (8, 16)),
                       np.random.default_rng(0).integers(-32768, 32768, (8, 32))]).astype(np.int16)
    v = features_fixed(frames, spec)
    assert v.shape == (5, 18) and v.dtype == np.int32
    assert np.all((v[:, 16] >= spec.min_gate) & (v[:, 16] <= spec.max_gate))
    assert v[0, 16] == spec.min_gate  # all-zero frame: every bin ties, the lowest bin wins
    m = input_map(spec, None, None, 0.05, -3)
    q = quantize_features(v, m)
    assert q.dtype == np.int8


def test_quantize_features_matches_float_rounding():
    spec = FrontEndSpec(chirps=8, samples=32, range_bin_m=0.75).validate()
    rng = np.random.default_rng(1)
    v = rng.integers(-20000, 20000, size=(500, 18))
    v[:, 16] = rng.integers(1, 16, 500)
    mean, std = rng.normal(0, 5, 18), rng.uniform(1, 10, 18)
    m = input_map(spec, mean, std, 0.03, 5)
    q = quantize_features(v, m).astype(int)
    x = (v * spec.feature_units() - mean) / std / 0.03
    ref = np.clip(np.sign(x) * np.floor(np.abs(x) + 0.5) + 5, -128, 127)
    assert np.abs(q - ref).max() <= 1 and np.mean(q != ref) < 0.01


def test_data_radar_raw_file(raw_file):
    with np.load(raw_file) as z:
        X, y, Xt = z["X_train"], z["y_train"], z["X_test"]
        params = json.loads(str(z["params_json"]))
    assert X.dtype == np.int16 and X.shape == (35, 6, 8, 32) and Xt.shape == (14, 6, 8, 32)
    assert np.abs(X).max() <= 2047 and X.std() > 4
    assert params["chirps_per_frame"] == 8 and params["samples_per_chirp"] == 32
    assert params["range_bin_m"] == pytest.approx(48.0 / 16)
    assert sorted(set(y.tolist())) == list(range(7))


def test_data_features_fixed_and_float(raw_file, tmp_path):
    out, outf = tmp_path / "f.npz", tmp_path / "ff.npz"
    r = invoke("data", "features", raw_file, "--front-end", "doppler", "--out", out, "--json", "--quiet")
    assert r.exit_code == 0, r.output
    info = json.loads(r.output.strip().splitlines()[-1])
    assert info["arithmetic"] == "fixed-point" and info["n_features"] == 18
    r = invoke("data", "features", raw_file, "--front-end", "doppler", "--out", outf, "--float", "--quiet")
    assert r.exit_code == 0, r.output
    ds, dsf = load_dataset(out), load_dataset(outf)
    spec = FrontEndSpec.from_dict(ds.params["front_end"])
    assert spec.chirps == 8 and spec.samples == 32 and ds.feature_names == spec.feature_names()
    with np.load(raw_file) as z:
        expect = to_float_features(features_fixed(z["X_train"], spec), spec)
    assert np.array_equal(ds.X_train, expect)
    assert dsf.params["front_end_arithmetic"] == "float64"
    assert not np.array_equal(ds.X_train, dsf.X_train)


def test_user_recording_antennas(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.integers(-2000, 2000, size=(12, 3, 8, 16, 3)).astype(np.int16)
    p = tmp_path / "rec.npz"
    np.savez(p, X_train=X, y_train=np.array(["a", "b"] * 6))
    for ant, frames in (("1", X[..., 1]), ("sum", X.astype(np.int32).sum(-1))):
        out = tmp_path / f"f{ant}.npz"
        r = invoke("data", "features", p, "--front-end", "doppler", "--out", out, "--antenna", ant,
                   "--doppler-bins", "8", "--quiet")
        assert r.exit_code == 0, r.output
        ds = load_dataset(out)
        spec = FrontEndSpec.from_dict(ds.params["front_end"])
        assert spec.doppler_bins == 8 and spec.range_bin_m == 1.0
        assert len(ds.X_train) + len(ds.X_test) == 12  # split 80/20 stratified
        full = to_float_features(features_fixed(np.clip(frames, -32768, 32767).astype(np.int16), spec), spec)
        assert any(np.array_equal(ds.X_train[0], f) for f in full)


@pytest.mark.parametrize("case,needle", [
    ("dtype", "dtype"), ("shape", "shape"), ("nan", "NaN"), ("empty", "empty"), ("range", "outside int16"),
    ("samples", "power of two"), ("antenna", "antennas"),
])
def test_bad_raw_inputs_are_one_line_errors(tmp_path, edgelstm_exe, case, needle):
    X = np.zeros((7, 2, 8, 16), np.int16)
    y = np.arange(7) % 2
    args = []
    if case == "dtype":
        X = X.astype(np.complex64)
    elif case == "shape":
        X = X[:, :, 0]
    elif case == "nan":
        X = X.astype(np.float32)
        X[1, 0, 2, 3] = np.nan
    elif case == "empty":
        X, y = X[:0], y[:0]
    elif case == "range":
        X = X.astype(np.int32) + 40000
    elif case == "samples":
        X = np.zeros((7, 2, 8, 12), np.int16)
    elif case == "antenna":
        X = np.zeros((7, 2, 8, 16, 2), np.int16)
        args = ["--antenna", "5"]
    p = tmp_path / "bad.npz"
    np.savez(p, X_train=X, y_train=y)
    out = tmp_path / "out.npz"
    res = run_cli(edgelstm_exe, "data", "features", p, "--front-end", "doppler", "--out", out, *args)
    assert_one_line_error(res, needle)
    assert not out.exists()
