"""The radar simulator: shapes, balance, determinism, physics and difficulty of the data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgelstm.data import RADAR_CLASSES, RadarConfig, generate_radar
from edgelstm.errors import EdgelstmError

C = len(RADAR_CLASSES)


@pytest.fixture(scope="module")
def doppler():
    # 50 sequences per class, 32 frames: large enough for class statistics, fast (< 1 s).
    return generate_radar(n_train=350, n_test=70, frames=32, seed=5)


def test_shapes_dtypes_names_doppler(doppler):
    ds = doppler
    assert ds.X_train.shape == (350, 32, 18) and ds.X_test.shape == (70, 32, 18)
    assert ds.X_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert ds.class_names == RADAR_CLASSES
    assert ds.feature_names == [f"doppler_{i}" for i in range(-8, 8)] + ["range_m", "amplitude_db"]
    assert np.isfinite(ds.X_train).all() and np.isfinite(ds.X_test).all()
    assert ds.lengths_train is None and ds.lengths_test is None
    ds.validate()


def test_shapes_track_features():
    ds = generate_radar(n_train=70, n_test=14, frames=16, features="track", seed=1)
    assert ds.X_train.shape == (70, 16, 2) and ds.feature_names == ["amplitude_db", "range_m"]
    assert np.isfinite(ds.X_train).all()
    assert (ds.X_train[..., 1] >= 0).all()  # range in metres


def test_class_balance_within_one():
    ds = generate_radar(n_train=75, n_test=20, frames=4, seed=2)
    for y, n in ((ds.y_train, 75), (ds.y_test, 20)):
        counts = np.bincount(y, minlength=C)
        assert counts.sum() == n and counts.max() - counts.min() <= 1
    assert not np.array_equal(ds.y_train[:C], np.arange(C))  # shuffled, not in class order


def test_deterministic_by_seed():
    kw = dict(n_train=70, n_test=14, frames=16, variable_length=True)
    a, b, c = generate_radar(seed=3, **kw), generate_radar(seed=3, **kw), generate_radar(seed=4, **kw)
    for key in ("X_train", "y_train", "X_test", "y_test", "lengths_train", "lengths_test"):
        assert getattr(a, key).tobytes() == getattr(b, key).tobytes(), key
    assert not np.array_equal(a.X_train, c.X_train)
    assert not np.array_equal(a.X_train, a.X_test[:1].repeat(70, 0))


def test_params_record_generation(doppler):
    p = doppler.params
    json.dumps(p, allow_nan=False)
    assert p["seed"] == 5 and p["frames"] == 32 and p["features"] == "doppler"
    assert p["config"]["carrier_hz"] == 60e9 and p["config"]["doppler_bins"] == 16
    assert p["versions"]["numpy"] == np.__version__ and "edgelstm" in p["versions"]
    assert p["derived"]["range_resolution_m"] == pytest.approx(0.0375, rel=1e-3)  # c / (2B)
    assert p["derived"]["max_velocity_mps"] == pytest.approx(8.33, rel=1e-2)  # lambda / (4 T_chirp)


def test_config_relations():
    cfg = RadarConfig()
    assert cfg.wavelength_m == pytest.approx(299_792_458 / 60e9)
    v = cfg.doppler_bin_velocities()
    assert len(v) == 16 and v[8] == 0.0
    assert v[-1] < cfg.max_velocity_mps <= -v[0] + 1e-9
    assert np.allclose(np.diff(v), cfg.velocity_resolution_mps)


def test_variable_length_prepadded():
    T = 20
    ds = generate_radar(n_train=70, n_test=14, frames=T, seed=6, variable_length=True)
    for X, lengths in ((ds.X_train, ds.lengths_train), (ds.X_test, ds.lengths_test)):
        assert lengths.dtype == np.int64 and lengths.min() >= T // 2 and lengths.max() <= T
        assert len(np.unique(lengths)) > 3
        for x, L in zip(X, lengths):
            assert (x[: T - L] == 0.0).all()  # padding at the front
            assert (x[T - L :, -2] > 0).all()  # range is positive in every real frame


def test_doppler_agrees_with_range_rate():
    """The spectral peak of a car sits at v = f_D lambda / 2, the velocity seen in its range track."""
    cfg = RadarConfig(clutter_db_range=(-30, -30), spike_probability=0.0, snr_db_range=(25, 25), range_noise_m=0.0)
    cfg.speeds_mps = dict(cfg.speeds_mps, car=(1.0, 6.0))  # below v_max: no aliasing
    ds = generate_radar(n_train=140, n_test=7, frames=41, config=cfg, seed=7)
    X = ds.X_train[ds.y_train == RADAR_CLASSES.index("car")]
    v_bins = np.array(ds.params["derived"]["doppler_bin_velocities_mps"])
    v_range = (X[:, 40, 16] - X[:, 0, 16]) * cfg.frame_rate_hz / 40  # mean range rate over 2 s
    v_peak = v_bins[X[:, :, :16].argmax(-1)].mean(1)
    assert np.abs(v_peak - v_range).max() < 0.6 * cfg.velocity_resolution_mps
    assert (v_range > 0).any() and (v_range < 0).any()  # receding and approaching targets


def _width(X):
    """Mean number of Doppler bins per frame more than 6 dB above the noise floor."""
    return (X[..., :16] > 6.0).sum(-1).mean()


def test_classes_differ_in_doppler_spread(doppler):
    w = {name: _width(doppler.X_train[doppler.y_train == c]) for c, name in enumerate(RADAR_CLASSES)}
    assert w["drone"] > w["walking"] + 1.0  # rotor blade flashes spread over the whole spectrum
    assert w["running"] > w["walking"] + 0.5  # faster, larger limb swing
    assert w["walking"] > w["empty"] + 0.5  # clutter and noise only


def test_summary_features_separate_classes_but_not_perfectly(doppler):
    """A nearest-centroid classifier on per-sequence summaries is far above chance, not 100 %."""

    def summary(X):
        spec = X[..., :16]
        return np.concatenate(
            [spec.mean(1), spec.std(1), (spec > 6).sum(-1).mean(1, keepdims=True), X[:, :, 16:].mean(1)], axis=1
        )

    tr = generate_radar(n_train=700, n_test=7, frames=32, seed=8)
    S_tr, S_te = summary(tr.X_train), summary(doppler.X_train)
    mu, sd = S_tr.mean(0), S_tr.std(0) + 1e-6
    centroids = np.stack([((S_tr - mu) / sd)[tr.y_train == c].mean(0) for c in range(C)])
    d = (((S_te - mu) / sd)[:, None, :] - centroids[None]) ** 2
    acc = (d.sum(-1).argmin(1) == doppler.y_train).mean()
    assert 2.0 / C < acc < 0.95


def _spike_rate(ds):
    """Share of frames of 'empty' sequences (noise and clutter only, median bin ~0 dB) whose
    median Doppler bin is raised by broadband interference."""
    X = ds.X_train[ds.y_train == RADAR_CLASSES.index("empty")]
    return (np.median(X[..., :16], axis=-1) > 6.0).mean()


def test_noise_spikes_present_and_controlled():
    kw = dict(n_train=140, n_test=7, frames=32, seed=9)
    rate = {p: _spike_rate(generate_radar(config=RadarConfig(spike_probability=p), **kw)) for p in (0.0, 0.05, 1.0)}
    assert rate[0.0] == 0.0
    assert 0.02 < rate[0.05] < 0.09
    assert rate[1.0] > 0.9


def test_spikes_in_default_data(doppler):
    assert 0.0 < _spike_rate(doppler) < 0.06


@pytest.mark.parametrize("bins, chirps", [(32, 16), (16, 32), (24, 16)])
def test_doppler_bins_and_chirps(bins, chirps):
    cfg = RadarConfig(doppler_bins=bins, chirps_per_frame=chirps)
    ds = generate_radar(n_train=14, n_test=7, frames=8, config=cfg, seed=0)
    assert ds.X_train.shape == (14, 8, bins + 2)
    assert ds.feature_names[0] == f"doppler_{-(bins // 2)}"
    assert np.isfinite(ds.X_train).all()


@pytest.mark.parametrize(
    "change, problem",
    [
        (dict(doppler_bins=8), "Doppler bins 8"),
        (dict(chirps_per_frame=1000), "do not fit in one frame"),
        (dict(snr_db_range=(10, 0)), "snr_db_range"),
        (dict(spike_probability=1.5), "spike probability"),
        (dict(carrier_hz=1e6), "carrier frequency"),
    ],
)
def test_bad_config(change, problem):
    with pytest.raises(EdgelstmError, match=problem):
        generate_radar(n_train=14, n_test=7, frames=4, config=RadarConfig(**change))


@pytest.mark.parametrize(
    "kw, problem",
    [
        (dict(n_train=3), "train sequences"),
        (dict(n_test=0), "test sequences"),
        (dict(frames=0), "frames"),
        (dict(features="fft"), "unknown radar feature set"),
    ],
)
def test_bad_arguments(kw, problem):
    args = dict(n_train=14, n_test=7, frames=4) | kw
    with pytest.raises(EdgelstmError, match=problem):
        generate_radar(**args)


def test_progress_callback_counts_all_sequences():
    seen = []
    generate_radar(n_train=70, n_test=14, frames=8, progress=seen.append)
    assert sum(seen) == 84 and all(n > 0 for n in seen)
