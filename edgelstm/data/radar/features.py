"""Per-frame features from the range gate's slow-time return: the micro-Doppler spectrum (dB over
the noise floor), the tracker's range and the return's amplitude."""

from __future__ import annotations

import numpy as np

from ...errors import EdgelstmError
from .config import RadarConfig

FEATURE_SETS = ("doppler", "track")


def feature_names_for(features: str, config: RadarConfig) -> list[str]:
    """Names of the per-frame features: ``doppler_<bin>`` (bin 0 = zero Doppler), ``range_m``,
    ``amplitude_db``."""
    if features == "doppler":
        b = config.doppler_bins
        return [f"doppler_{i - b // 2}" for i in range(b)] + ["range_m", "amplitude_db"]
    if features == "track":
        return ["amplitude_db", "range_m"]
    raise EdgelstmError(f"unknown radar feature set '{features}'", f"use one of: {', '.join(FEATURE_SETS)}")


def frame_features(x, range_m, features, cfg):
    """Features (n, T, F) of the return ``x`` (n, T, M) and the tracker's range (n, T)."""
    amplitude_db = 10.0 * np.log10(np.mean(np.abs(x) ** 2, axis=-1) + 1e-12)
    if features == "track":
        return np.stack([amplitude_db, range_m], axis=-1).astype(np.float32)
    spec = doppler_spectrum(x, cfg)
    return np.concatenate([spec, range_m[..., None], amplitude_db[..., None]], axis=-1).astype(np.float32)


def doppler_spectrum(x, cfg):
    """Hann-windowed FFT over the chirps -> power (dB over the noise floor) in ``doppler_bins``.

    The power is divided by sum(w^2) so complex noise of unit power per chirp sits at 0 dB in
    every bin; adjacent FFT bins are averaged down to ``doppler_bins``.
    """
    M = x.shape[-1]
    w = np.hanning(M + 2)[1:-1].astype(np.float32)  # Hann without the zero end points
    X = np.fft.fftshift(np.fft.fft(x * w, n=cfg.fft_size, axis=-1), axes=-1)
    p = (X.real**2 + X.imag**2) / np.float32(np.sum(w**2))
    p = p.reshape(*p.shape[:-1], cfg.doppler_bins, -1).mean(axis=-1)
    return 10.0 * np.log10(p + 1e-12)
