"""Raw ADC samples of the simulated radar (``edgelstm data radar --features raw``).

The slow-time model of :mod:`.scene` gives, per chirp m, the complex return x(m) of the target's
range gate (target scatterers with their micro-motion phase 4 pi r_k / lambda, bulk motion,
clutter), in units of the noise. A real FMCW sensor mixes that return down to a beat tone whose
frequency is proportional to range: after dechirping, fast-time sample n of chirp m is

    adc(m, n) = Re{ A x(m) exp(j 2 pi b n / S) } + noise(m, n),   b = R / range_bin_m,

with S samples per chirp, the range bin ``range_bin_m = max_range_m / (S / 2)`` (the IF band the
ADC samples covers 0..max_range_m in S/2 bins) and A = 2 sigma / sqrt(S), so that the tone's
power in its range bin over the fast-time noise power there equals |x(m)|^2: the same SNR per
chirp as the slow-time model. Noise is real white ADC noise of ``adc_noise_lsb`` LSB; an
interference spike adds broadband noise to every sample of its frame at the spike's level; the
result is rounded and clipped to the ADC's range (12 bits: -2047..2047) and stored as int16.

Range migration within a frame and the micro-motion's spread over neighbouring range bins are
neglected, as in the slow-time model (docs/radar_data.md, limits).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from ..._version import __version__
from ...errors import EdgelstmError
from ...fsutil import atomic_path
from .config import RADAR_CLASSES, RadarConfig
from .scene import simulate_returns
from .targets import MAX_SCATTERERS

RAW_MODEL_VERSION = 1
_CHUNK_ELEMENTS = 4_000_000  # float32 elements per chunk (sequence * frame * chirp * max(sample, scatterer))


@dataclass
class RawConfig:
    """The ADC side of the raw model.

    Attributes:
        samples_per_chirp: S fast-time samples per chirp (a power of two, 8..1024).
        max_range_m: the range the IF band sampled by the ADC covers (S/2 range bins); targets
            beyond it sit in the last bin.
        adc_noise_lsb: ADC noise standard deviation in LSB (the 0 dB reference of the features).
        adc_bits: ADC resolution; samples are clipped to +-(2^(bits-1) - 1).
    """

    samples_per_chirp: int = 64
    max_range_m: float = 48.0
    adc_noise_lsb: float = 8.0
    adc_bits: int = 12

    @property
    def range_bin_m(self) -> float:
        return self.max_range_m / (self.samples_per_chirp // 2)

    def validate(self) -> None:
        s = self.samples_per_chirp
        if not (isinstance(s, int) and 8 <= s <= 1024 and s & (s - 1) == 0):
            raise EdgelstmError(f"samples per chirp {s!r} is not a power of two in 8..1024", "e.g. --samples-per-chirp 64")
        if not (1.0 <= self.max_range_m <= 1000.0):
            raise EdgelstmError(f"max range {self.max_range_m:g} m is outside 1..1000 m")
        if not (0.1 <= self.adc_noise_lsb <= 1000.0):
            raise EdgelstmError(f"ADC noise {self.adc_noise_lsb:g} LSB is outside 0.1..1000")
        if not (8 <= self.adc_bits <= 16):
            raise EdgelstmError(f"ADC bits {self.adc_bits} is outside 8..16")


def simulate_raw(rng, y, frames: int, cfg: RadarConfig, raw: RawConfig) -> np.ndarray:
    """int16 ADC samples (n, T, chirps, samples) for the labels ``y`` of one chunk."""
    detail: dict = {}
    simulate_returns(rng, y, frames, cfg, detail=detail)
    x = detail["clean"]  # (n, T, M) complex, noise units
    S = raw.samples_per_chirp
    sigma = np.float32(raw.adc_noise_lsb)
    b = np.minimum(detail["range_true"] / raw.range_bin_m, S / 2 - 1).astype(np.float32)  # (n, T) beat bin
    n_idx = np.arange(S, dtype=np.float32)
    tone = np.exp(1j * (2 * np.pi / S) * b[..., None] * n_idx).astype(np.complex64)  # (n, T, S)
    a = (2.0 * sigma / math.sqrt(S)) * x  # (n, T, M)
    adc = (a.real[..., None] * tone.real[:, :, None, :] - a.imag[..., None] * tone.imag[:, :, None, :])
    noise = rng.standard_normal(adc.shape, dtype=np.float32) * sigma
    spikes = detail["spikes"]
    if spikes.any():
        lvl = (detail["spike_level"] * math.sqrt(2.0)).astype(np.float32)  # amplitude over unit noise
        noise[spikes] *= (1.0 + lvl)[:, None, None]
    adc += noise
    full = 2 ** (raw.adc_bits - 1) - 1
    return np.clip(np.rint(adc), -full, full).astype(np.int16)


@dataclass
class RawRadar:
    """A raw radar dataset in memory: int16 (N, T, chirps, samples) ADC frames and labels."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    class_names: list
    params: dict


def generate_raw_radar(n_train: int = 8000, n_test: int = 2000, frames: int = 64, config: RadarConfig | None = None,
                       raw: RawConfig | None = None, seed: int = 0,
                       progress: Callable[[int], None] | None = None) -> RawRadar:
    """Simulate raw ADC frames; labels are those of ``generate_radar`` with the same seed."""
    cfg = config or RadarConfig()
    raw = raw or RawConfig()
    cfg.validate()
    raw.validate()
    for name, n, lo in (("train sequences", n_train, len(RADAR_CLASSES)), ("test sequences", n_test, 1),
                        ("frames", frames, 1)):
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < lo:
            raise EdgelstmError(f"{name} must be an integer >= {lo}, got {n!r}")
    root = np.random.SeedSequence(int(seed))
    train_ss, test_ss = root.spawn(2)
    X_tr, y_tr = _split(int(n_train), int(frames), cfg, raw, train_ss, progress)
    X_te, y_te = _split(int(n_test), int(frames), cfg, raw, test_ss, progress)
    params = {
        "generator": "edgelstm.data.radar.raw",
        "model_version": RAW_MODEL_VERSION,
        "seed": int(seed), "n_train": int(n_train), "n_test": int(n_test), "frames": int(frames),
        "features": "raw",
        "layout": "X[sequence, frame, chirp, sample] int16 ADC values, one receive antenna",
        "config": cfg.to_dict(),
        "raw": asdict(raw) | {"range_bin_m": raw.range_bin_m},
        "chirps_per_frame": cfg.chirps_per_frame,
        "samples_per_chirp": raw.samples_per_chirp,
        "range_bin_m": raw.range_bin_m,
        "adc_noise_lsb": raw.adc_noise_lsb,
        "versions": {"edgelstm": __version__, "numpy": np.__version__},
    }
    return RawRadar(X_tr, y_tr, X_te, y_te, list(RADAR_CLASSES), params)


def _split(n, frames, cfg, raw, ss, progress):
    M, S = cfg.chirps_per_frame, raw.samples_per_chirp
    X = np.empty((n, frames, M, S), dtype=np.int16)
    label_rng = np.random.default_rng(ss.spawn(1)[0])
    y = label_rng.permutation(np.arange(n) % len(RADAR_CLASSES)).astype(np.int64)
    chunk = max(1, _CHUNK_ELEMENTS // (frames * M * max(S, MAX_SCATTERERS)))
    starts = range(0, n, chunk)
    for start, child in zip(starts, ss.spawn(len(starts))):
        stop = min(n, start + chunk)
        X[start:stop] = simulate_raw(np.random.default_rng(child), y[start:stop], frames, cfg, raw)
        if progress is not None:
            progress(stop - start)
    return X, y


def save_raw(ds: RawRadar, path) -> None:
    """Write the raw dataset as an (uncompressed: ADC noise does not compress) NPZ, atomically."""
    arrays = {
        "X_train": np.ascontiguousarray(ds.X_train, dtype=np.int16), "y_train": np.asarray(ds.y_train, np.int64),
        "X_test": np.ascontiguousarray(ds.X_test, dtype=np.int16), "y_test": np.asarray(ds.y_test, np.int64),
        "class_names": np.array([str(c) for c in ds.class_names], dtype=str),
        "params_json": np.array(json.dumps(ds.params, sort_keys=True, allow_nan=False)),
    }
    with atomic_path(path, what="dataset file") as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
