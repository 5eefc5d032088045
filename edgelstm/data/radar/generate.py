"""Generating a radar dataset: balanced labels, seeding, chunks of simulated sequences, and the
:class:`~edgelstm.data.Dataset` with its provenance (``params``)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..._version import __version__
from ...errors import EdgelstmError
from ..dataset import Dataset
from .config import RADAR_CLASSES, RadarConfig
from .features import feature_names_for, frame_features
from .scene import simulate_returns
from .targets import MAX_SCATTERERS

#: Version of the simulation model; stored in ``Dataset.params`` so results can be traced.
MODEL_VERSION = 1

_CHUNK_ELEMENTS = 4_000_000  # (sequence * frame * chirp * scatterer) elements per chunk


def generate_radar(
    n_train: int = 8000,
    n_test: int = 2000,
    frames: int = 64,
    features: str = "doppler",
    config: RadarConfig | None = None,
    seed: int = 0,
    variable_length: bool = False,
    progress: Callable[[int], None] | None = None,
):
    """Simulate a balanced radar dataset and return it as a :class:`~edgelstm.data.Dataset`.

    Args:
        n_train, n_test: sequences per split; classes get equal counts (within 1).
        frames: frames per sequence (T).
        features: ``"doppler"`` (micro-Doppler spectrum in dB, range in m, amplitude in dB per
            frame: F = doppler_bins + 2) or ``"track"`` (amplitude in dB and range in m: F = 2).
        config: sensor and scene settings (defaults: :class:`RadarConfig`).
        seed: the same seed gives identical arrays.
        variable_length: give every sequence a random true length in [T/2, T], pre-padded with
            0.0 (``lengths_train``/``lengths_test`` hold the lengths).
        progress: called with the number of sequences finished since the previous call.
    """
    cfg = config or RadarConfig()
    cfg.validate()
    checks = (("train sequences", n_train, len(RADAR_CLASSES)), ("test sequences", n_test, 1), ("frames", frames, 1))
    for name, n, lo in checks:
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < lo:
            raise EdgelstmError(f"{name} must be an integer >= {lo}, got {n!r}")
    if frames > 100_000:
        raise EdgelstmError(f"frames must be at most 100000, got {frames}")
    names = feature_names_for(features, cfg)

    root = np.random.SeedSequence(int(seed))
    train_ss, test_ss = root.spawn(2)
    X_tr, y_tr, len_tr = _generate_split(int(n_train), int(frames), features, cfg, train_ss, variable_length, progress)
    X_te, y_te, len_te = _generate_split(int(n_test), int(frames), features, cfg, test_ss, variable_length, progress)

    params = {
        "generator": "edgelstm.data.radar",
        "model_version": MODEL_VERSION,
        "seed": int(seed),
        "n_train": int(n_train),
        "n_test": int(n_test),
        "frames": int(frames),
        "features": features,
        "variable_length": bool(variable_length),
        "config": cfg.to_dict(),
        "derived": {
            "wavelength_m": cfg.wavelength_m,
            "range_resolution_m": cfg.range_resolution_m,
            "max_velocity_mps": cfg.max_velocity_mps,
            "velocity_resolution_mps": cfg.velocity_resolution_mps,
            "fft_size": cfg.fft_size,
            "sequence_duration_s": frames / cfg.frame_rate_hz,
            "doppler_bin_velocities_mps": [round(float(v), 6) for v in cfg.doppler_bin_velocities()],
        },
        "versions": {"edgelstm": __version__, "numpy": np.__version__},
    }
    return Dataset(
        X_train=X_tr,
        y_train=y_tr,
        X_test=X_te,
        y_test=y_te,
        class_names=list(RADAR_CLASSES),
        feature_names=names,
        lengths_train=len_tr if variable_length else None,
        lengths_test=len_te if variable_length else None,
        params=params,
    )


def _generate_split(n, frames, features, cfg, ss, variable_length, progress):
    """Balanced labels in random order, then chunk after chunk of simulated sequences."""
    n_feat = len(feature_names_for(features, cfg))
    X = np.empty((n, frames, n_feat), dtype=np.float32)
    n_cls = len(RADAR_CLASSES)
    label_rng = np.random.default_rng(ss.spawn(1)[0])
    y = label_rng.permutation(np.arange(n) % n_cls).astype(np.int64)
    lengths = np.full(n, frames, dtype=np.int64)
    if variable_length:
        lengths = label_rng.integers(max(1, (frames + 1) // 2), frames + 1, size=n).astype(np.int64)

    chunk = max(1, _CHUNK_ELEMENTS // (frames * cfg.chirps_per_frame * MAX_SCATTERERS))
    starts = range(0, n, chunk)
    for start, child in zip(starts, ss.spawn(len(starts))):
        stop = min(n, start + chunk)
        X[start:stop] = _simulate_chunk(np.random.default_rng(child), y[start:stop], frames, features, cfg)
        if progress is not None:
            progress(stop - start)

    if variable_length:
        # Pre-padding: the last `length` frames hold data, the first T - length are 0.0.
        pad = np.arange(frames)[None, :] < (frames - lengths)[:, None]
        X[pad] = 0.0
    return X, y, lengths


def _simulate_chunk(rng, y, frames, features, cfg):
    """Features (n, T, F) for the labels ``y`` of one chunk."""
    x, range_m = simulate_returns(rng, y, frames, cfg)
    return frame_features(x, range_m, features, cfg)
