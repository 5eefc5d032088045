"""A physically modelled FMCW radar dataset: micro-Doppler sequences of seven target classes.

Real radar recordings cannot be shipped with edgelstm, so it simulates them. Each sequence holds
one target (or none) seen by a 60 GHz FMCW sensor (defaults close to an Infineon BGT60-class
device). The target is a set of point scatterers with micro-motion (limbs, wheels, pedals, rotor
blades, wings) on a straight radial/oblique trajectory. The simulation runs in slow time: for
every frame, the complex return of the target's range gate over the chirps of that frame is

    s(m) = g * sum_k a_k(t_m) * exp(j * 4*pi * r_k(t_m) / lambda) + clutter(t_m) + noise(m)

with ``t_m`` the time of chirp ``m`` and ``r_k`` the distance of scatterer ``k``. A Hann-windowed
FFT over the chirps gives the micro-Doppler spectrum of that frame (power in dB over the noise
floor). A scatterer moving at radial velocity ``v`` appears at the Doppler frequency ``2 v /
lambda`` (positive bins: range increasing, i.e. receding; negative bins: approaching).

Radar relations used below (``c`` speed of light):

- wavelength ``lambda = c / f_c`` (5.0 mm at 60 GHz);
- range resolution ``dR = c / (2 B)`` (3.75 cm at 4 GHz bandwidth);
- maximum unambiguous velocity ``v_max = lambda / (4 T_chirp)``; faster parts alias (wrap);
- velocity resolution ``dv = lambda / (2 N T_chirp)`` over the ``N`` chirps of a frame;
- received power ``~ RCS / R^4`` (radar equation), so the SNR changes along the track.

Everything is vectorised with numpy over (sequence, frame, chirp, scatterer) and generated in
chunks of sequences so that memory stays bounded; no Python loop runs over sequences or frames.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from ..errors import EdgelstmError

C0 = 299_792_458.0  # speed of light, m/s

RADAR_CLASSES = ["empty", "walking", "running", "bicycle", "car", "drone", "bird"]

FEATURE_SETS = ("doppler", "track")

#: Version of the simulation model; stored in ``Dataset.params`` so results can be traced.
MODEL_VERSION = 1

_CHUNK_ELEMENTS = 4_000_000  # (sequence * frame * chirp * scatterer) elements per chunk
_MAX_SCATTERERS = 9  # the drone: body + 4 rotors x 2 blades
_R_END_MIN_M = 1.5  # approaching targets stop no closer than this at the end of the sequence
_FLASH_WIDTH = 0.3  # width (in cos(theta - beta)) of a rotor blade's specular flash


def _default_speeds() -> dict[str, tuple[float, float]]:
    # Ground speeds (m/s) drawn uniformly. They overlap on purpose: a fast walker and a slow
    # runner, a slow bicycle and a runner, a slow (parking) car and a bicycle, a hovering drone
    # and a slow bird, so that no single speed threshold separates the classes.
    return {
        "walking": (0.5, 2.2),
        "running": (1.8, 4.5),
        "bicycle": (2.0, 7.0),
        "car": (1.5, 10.0),
        "drone": (0.0, 4.0),
        "bird": (1.0, 9.0),
    }


def _default_rcs_offsets() -> dict[str, float]:
    # Mean SNR offset of each class relative to a person (dB), from typical radar cross
    # sections at 60 GHz (car ~ +10 dBsm, person ~ 0 dBsm, bird/drone ~ -15..-20 dBsm),
    # compressed because the sensor's detector only keeps a target once it is above a minimum
    # SNR: what is left is a weak, overlapping cue rather than a class label.
    return {"walking": 0.0, "running": 0.0, "bicycle": 2.0, "car": 6.0, "drone": -3.0, "bird": -5.0}


@dataclass
class RadarConfig:
    """Sensor, scene and impairment settings of the simulated radar (plain data).

    Defaults describe a common 60 GHz FMCW sensor: 60 GHz carrier (wavelength 5.0 mm), 4 GHz
    bandwidth (range resolution c/(2B) = 3.75 cm), 16 chirps of 150 us per frame (maximum
    unambiguous velocity lambda/(4 T_chirp) = 8.3 m/s, velocity resolution lambda/(2 N T_chirp)
    = 1.04 m/s, one per Doppler bin), 20 frames per second. The scene settings (SNR, clutter,
    spikes, aspect, speeds) are tuned so that a small float LSTM reaches about 89 % test
    accuracy (docs/radar_data.md).

    Attributes:
        carrier_hz: carrier frequency f_c.
        bandwidth_hz: chirp bandwidth B; sets the range resolution (the reported range is
            quantised to range bins of c/(2B)).
        chirp_duration_s: chirp repetition time T_chirp (slow-time sampling interval).
        chirps_per_frame: chirps N in one frame (the slow-time FFT length before zero padding).
        frame_rate_hz: frames per second (one feature vector per frame).
        doppler_bins: Doppler bins in the feature vector (>= 16). The FFT over the chirps is
            zero-padded to a multiple of ``doppler_bins`` and adjacent bins are averaged.
        snr_db_range: per-sequence SNR (dB, per chirp, target power over noise power at the
            middle of the track) drawn uniformly; the class offset ``rcs_offset_db`` is added
            and the radar equation changes it along the track (+-40 log10 of the range ratio,
            limited to 10 dB beyond this range: receiver saturation / detection floor).
        clutter_db_range: clutter-to-noise ratio (dB, per chirp) of the static scene in the
            target's range gate, drawn per sequence; it sits at zero Doppler, with a small
            spread from swaying objects.
        spike_probability: probability that a frame is hit by broadband interference (another
            radar, a switching supply): the whole spectrum rises by ``spike_db_range`` dB and
            the tracker's range jumps. Isolated frames; a classifier must learn to ignore them.
        spike_db_range: level of an interference spike above the noise floor (dB).
        range_m_range: distance of the target at the start of the sequence (m); approaching
            targets start far enough to stay at least 1.5 m away.
        max_aspect_deg: largest angle between the target's heading and the line of sight;
            body micro-motion (limbs, wheels) is projected on the line of sight by cos(aspect).
        rcs_fluctuation: fraction of the target power that fluctuates from frame to frame
            (Swerling-like: a steady part plus a Rayleigh part correlated over ~3 frames).
        range_noise_m: standard deviation of the tracker's range error (m).
        speeds_mps: ground speed range per class (m/s), drawn uniformly per sequence.
        rcs_offset_db: mean SNR offset per class relative to a person (dB).
    """

    carrier_hz: float = 60e9
    bandwidth_hz: float = 4e9
    chirp_duration_s: float = 150e-6
    chirps_per_frame: int = 16
    frame_rate_hz: float = 20.0
    doppler_bins: int = 16
    snr_db_range: tuple[float, float] = (3.0, 23.0)
    clutter_db_range: tuple[float, float] = (0.0, 20.0)
    spike_probability: float = 0.02
    spike_db_range: tuple[float, float] = (10.0, 30.0)
    range_m_range: tuple[float, float] = (2.0, 15.0)
    max_aspect_deg: float = 60.0
    rcs_fluctuation: float = 0.3
    range_noise_m: float = 0.05
    speeds_mps: dict[str, tuple[float, float]] = field(default_factory=_default_speeds)
    rcs_offset_db: dict[str, float] = field(default_factory=_default_rcs_offsets)

    @property
    def wavelength_m(self) -> float:
        """lambda = c / f_c."""
        return C0 / self.carrier_hz

    @property
    def range_resolution_m(self) -> float:
        """dR = c / (2 B)."""
        return C0 / (2.0 * self.bandwidth_hz)

    @property
    def max_velocity_mps(self) -> float:
        """Maximum unambiguous radial velocity v_max = lambda / (4 T_chirp)."""
        return self.wavelength_m / (4.0 * self.chirp_duration_s)

    @property
    def velocity_resolution_mps(self) -> float:
        """dv = lambda / (2 N T_chirp) for the N chirps of one frame."""
        return self.wavelength_m / (2.0 * self.chirps_per_frame * self.chirp_duration_s)

    @property
    def fft_size(self) -> int:
        """Slow-time FFT length: the chirps zero-padded to a multiple of ``doppler_bins``."""
        return self.doppler_bins * math.ceil(self.chirps_per_frame / self.doppler_bins)

    def doppler_bin_velocities(self) -> np.ndarray:
        """Radial velocity (m/s) at the centre of each Doppler feature bin (positive: receding).

        FFT bin ``i`` of ``n`` (after fftshift) is the Doppler frequency ``i / (n T_chirp)``,
        i.e. the velocity ``v = f_D * lambda / 2``; feature bins average ``n / doppler_bins``
        adjacent FFT bins.
        """
        n = self.fft_size
        v = (np.arange(n) - n // 2) * self.wavelength_m / (2.0 * n * self.chirp_duration_s)
        return v.reshape(self.doppler_bins, -1).mean(axis=1)

    def validate(self) -> None:
        """Raise EdgelstmError (one line) for settings the simulator cannot use."""

        def bad(msg: str) -> EdgelstmError:
            return EdgelstmError(f"invalid radar setting: {msg}")

        if not (1e9 <= self.carrier_hz <= 300e9):
            raise bad(f"carrier frequency {self.carrier_hz / 1e9:g} GHz is outside 1..300 GHz")
        if not (1e6 <= self.bandwidth_hz <= 0.5 * self.carrier_hz):
            raise bad(f"bandwidth {self.bandwidth_hz / 1e9:g} GHz must be between 1 MHz and half the carrier")
        if not (1e-6 <= self.chirp_duration_s <= 0.1):
            raise bad(f"chirp duration {self.chirp_duration_s * 1e6:g} us is outside 1..100000 us")
        if not (4 <= self.chirps_per_frame <= 1024):
            raise bad(f"chirps per frame {self.chirps_per_frame} is outside 4..1024")
        if not (0.1 <= self.frame_rate_hz <= 1000):
            raise bad(f"frame rate {self.frame_rate_hz:g} Hz is outside 0.1..1000 Hz")
        if self.chirps_per_frame * self.chirp_duration_s > 1.0 / self.frame_rate_hz:
            raise bad(
                f"{self.chirps_per_frame} chirps of {self.chirp_duration_s * 1e6:g} us do not fit "
                f"in one frame at {self.frame_rate_hz:g} Hz (lower the chirps per frame or the frame rate)"
            )
        if not (16 <= self.doppler_bins <= 512):
            raise bad(f"Doppler bins {self.doppler_bins} is outside 16..512")
        for name in ("snr_db_range", "clutter_db_range", "spike_db_range", "range_m_range"):
            lo, hi = getattr(self, name)
            if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
                raise bad(f"{name} ({lo:g}, {hi:g}) must be two finite numbers, min <= max")
        if self.range_m_range[0] < 0.5:
            raise bad(f"range_m_range starts at {self.range_m_range[0]:g} m; targets must be at least 0.5 m away")
        if not (0.0 <= self.spike_probability <= 1.0):
            raise bad(f"spike probability {self.spike_probability:g} is outside 0..1")
        if not (0.0 <= self.max_aspect_deg <= 89.0):
            raise bad(f"max aspect {self.max_aspect_deg:g} deg is outside 0..89")
        if not (0.0 <= self.rcs_fluctuation <= 1.0):
            raise bad(f"RCS fluctuation {self.rcs_fluctuation:g} is outside 0..1")
        if not (0.0 <= self.range_noise_m < 10.0):
            raise bad(f"range noise {self.range_noise_m:g} m is outside 0..10 m")
        targets = RADAR_CLASSES[1:]
        for table in ("speeds_mps", "rcs_offset_db"):
            missing = [c for c in targets if c not in getattr(self, table)]
            if missing:
                raise bad(f"{table} has no entry for {', '.join(missing)}")
        for c in targets:
            lo, hi = self.speeds_mps[c]
            if not (0.0 <= lo <= hi <= 100.0):
                raise bad(f"speed range of '{c}' ({lo:g}, {hi:g}) m/s must satisfy 0 <= min <= max <= 100")

    def to_dict(self) -> dict:
        """The settings as JSON-able plain data (tuples become lists)."""
        d = asdict(self)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()} | {
            "speeds_mps": {k: list(v) for k, v in self.speeds_mps.items()}
        }


def feature_names_for(features: str, config: RadarConfig) -> list[str]:
    """Names of the per-frame features: ``doppler_<bin>`` (bin 0 = zero Doppler), ``range_m``,
    ``amplitude_db``."""
    if features == "doppler":
        b = config.doppler_bins
        return [f"doppler_{i - b // 2}" for i in range(b)] + ["range_m", "amplitude_db"]
    if features == "track":
        return ["amplitude_db", "range_m"]
    raise EdgelstmError(f"unknown radar feature set '{features}'", f"use one of: {', '.join(FEATURE_SETS)}")


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
    from .dataset import Dataset

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

    from .. import __version__

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


# --------------------------------------------------------------------------------------------
# One split


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

    chunk = max(1, _CHUNK_ELEMENTS // (frames * cfg.chirps_per_frame * _MAX_SCATTERERS))
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
    n = len(y)
    M = cfg.chirps_per_frame
    k = np.float32(4.0 * np.pi / cfg.wavelength_m)  # phase per metre of range: 4 pi / lambda
    t_frame = np.arange(frames) / cfg.frame_rate_hz  # (T,)
    tau = np.arange(M) * cfg.chirp_duration_s  # (M,) chirp times within a frame
    t = (t_frame[:, None] + tau[None, :]).astype(np.float32)  # (T, M) absolute chirp times

    x = np.zeros((n, frames, M), dtype=np.complex64)  # slow-time return of the range gate
    range_m = np.empty((n, frames), dtype=np.float64)
    for c, name in enumerate(RADAR_CLASSES):
        idx = np.flatnonzero(y == c)
        if idx.size == 0:
            continue
        if name == "empty":
            r0 = rng.uniform(*cfg.range_m_range, size=(idx.size, 1))
            range_m[idx] = r0 + rng.normal(0.0, 0.3, size=(idx.size, frames))  # tracker on clutter
            continue
        geo = _trajectory(rng, idx.size, name, t_frame, cfg)
        amp, disp = _MODELS[name](rng, idx.size, t, geo, cfg)
        # Sum over scatterers of a_k exp(j 4 pi r_k / lambda), r_k relative to the body centre.
        phase = k * disp + rng.uniform(0, 2 * np.pi, size=(idx.size, 1, 1, disp.shape[-1])).astype(np.float32)
        sig = (amp * np.cos(phase)).sum(-1) + 1j * (amp * np.sin(phase)).sum(-1)
        # Bulk motion: exp(j 4 pi (R(t_f) + v_r(t_f) tau_m) / lambda); the frame-level phase is
        # taken modulo 2 pi in float64 so float32 keeps its precision.
        bulk = np.mod(4.0 * np.pi * geo["range"] / cfg.wavelength_m, 2 * np.pi)[..., None]
        bulk = (bulk + 4.0 * np.pi * geo["v_r"][..., None] * tau / cfg.wavelength_m).astype(np.float32)
        gain = _target_gain(rng, idx.size, name, geo["range"], cfg)  # (n, T) amplitude
        x[idx] = (sig * np.exp(1j * bulk) * gain[..., None]).astype(np.complex64)
        range_m[idx] = geo["range"]

    x += _clutter(rng, n, t, k, cfg)
    x += ((rng.standard_normal((n, frames, M)) + 1j * rng.standard_normal((n, frames, M))) / np.sqrt(2)).astype(
        np.complex64
    )  # complex noise, unit power per chirp (the 0 dB reference)

    # Broadband interference spikes on isolated frames.
    spikes = rng.random((n, frames)) < cfg.spike_probability
    n_sp = int(spikes.sum())
    if n_sp:
        level = np.sqrt(10 ** (rng.uniform(*cfg.spike_db_range, size=(n_sp, 1)) / 10) / 2)
        burst = level * (rng.standard_normal((n_sp, M)) + 1j * rng.standard_normal((n_sp, M)))
        x[spikes] += burst.astype(np.complex64)

    # Tracker range: quantised to range bins c/(2B), plus tracker noise; it jumps on spikes.
    res = cfg.range_resolution_m
    range_m = np.round(range_m / res) * res + rng.normal(0.0, cfg.range_noise_m, size=range_m.shape)
    range_m[spikes] = rng.uniform(*cfg.range_m_range, size=n_sp)
    range_m = np.maximum(range_m, 0.0)

    amplitude_db = 10.0 * np.log10(np.mean(np.abs(x) ** 2, axis=-1) + 1e-12)
    if features == "track":
        return np.stack([amplitude_db, range_m], axis=-1).astype(np.float32)
    spec = _doppler_spectrum(x, cfg)
    return np.concatenate([spec, range_m[..., None], amplitude_db[..., None]], axis=-1).astype(np.float32)


def _doppler_spectrum(x, cfg):
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


def _trajectory(rng, n, name, t_frame, cfg):
    """Straight-line motion at a random aspect; range, radial velocity and cos(aspect) per frame.

    The radar is at the origin looking along +x. The target starts at (R0, 0) and moves at speed
    v along a heading at angle psi (|psi| <= max_aspect) to the line of sight, towards the radar
    or away from it. The radial velocity is v_r = v (p . h) / |p| and longitudinal body motion
    projects on the line of sight by cos(aspect) = (p . h) / |p|.
    """
    v = rng.uniform(*cfg.speeds_mps[name], size=n)
    psi = np.deg2rad(rng.uniform(-cfg.max_aspect_deg, cfg.max_aspect_deg, size=n))
    away = rng.random(n) < 0.5
    sign = np.where(away, 1.0, -1.0)
    hx, hy = sign * np.cos(psi), sign * np.sin(psi)
    duration = t_frame[-1] if len(t_frame) > 1 else 0.0
    r0 = rng.uniform(*cfg.range_m_range, size=n)
    r0 = np.where(away, r0, np.maximum(r0, _R_END_MIN_M + v * np.cos(psi) * duration))
    px = r0[:, None] + (v * hx)[:, None] * t_frame
    py = (v * hy)[:, None] * t_frame
    rng_m = np.hypot(px, py)
    cos_a = (px * hx[:, None] + py * hy[:, None]) / rng_m
    return {
        "speed": v,
        "range": rng_m,  # (n, T)
        "v_r": v[:, None] * cos_a,  # (n, T)
        "cos_a": cos_a.astype(np.float32)[:, :, None, None],  # (n, T, 1, 1)
        "sin_e": rng.uniform(0.05, 0.35, size=(n, 1, 1, 1)).astype(np.float32),  # elevation
    }


def _target_gain(rng, n, name, rng_m, cfg):
    """Amplitude (n, T) of the target relative to the noise: SNR and RCS fluctuation.

    SNR(t) = SNR_seq + rcs_offset + 40 log10(R_mid / R(t)) (radar equation, power ~ R^-4),
    limited to 10 dB beyond ``snr_db_range``. The RCS fluctuates Swerling-like: a steady part
    and a Rayleigh part (complex Gaussian smoothed over 3 frames), mean power 1.
    """
    lo, hi = cfg.snr_db_range
    snr = rng.uniform(lo, hi, size=(n, 1)) + cfg.rcs_offset_db[name]
    r_mid = rng_m[:, rng_m.shape[1] // 2][:, None]
    snr_t = np.clip(snr + 40.0 * np.log10(r_mid / rng_m), lo - 10.0, hi + 10.0)
    q = cfg.rcs_fluctuation
    z = rng.standard_normal((n, rng_m.shape[1] + 2)) + 1j * rng.standard_normal((n, rng_m.shape[1] + 2))
    z = (z[:, :-2] + z[:, 1:-1] + z[:, 2:]) / np.sqrt(6.0)  # unit power, correlated over 3 frames
    fluct = np.abs(np.sqrt(1.0 - q) + np.sqrt(q) * z)
    return (np.sqrt(10 ** (snr_t / 10)) * fluct).astype(np.float32)


def _clutter(rng, n, t, k, cfg):
    """Static scene in the range gate: a zero-Doppler return plus a weak swaying part
    (vegetation, curtains: a few mm at 0.3..2 Hz, i.e. a small Doppler spread around zero)."""
    cnr = 10 ** (rng.uniform(*cfg.clutter_db_range, size=(n, 1, 1)) / 10)
    static = np.sqrt(cnr) * np.exp(1j * rng.uniform(0, 2 * np.pi, size=(n, 1, 1)))
    sway_amp = np.sqrt(cnr * rng.uniform(0.0, 0.1, size=(n, 1, 1)))
    sway = rng.uniform(0.002, 0.02, size=(n, 1, 1)) * np.sin(
        2 * np.pi * rng.uniform(0.3, 2.0, size=(n, 1, 1)) * t + rng.uniform(0, 2 * np.pi, size=(n, 1, 1))
    )
    return (static + sway_amp * np.exp(1j * (k * sway))).astype(np.complex64)


# --------------------------------------------------------------------------------------------
# Target models. Each returns (amp, disp): amplitudes a_k and line-of-sight displacements r_k
# (m, relative to the body centre) with shape (n, T, M, K) or broadcastable to it. The
# amplitudes are normalised so that the mean target power is 1 (the SNR is applied later).


def _u(rng, lo, hi, n):
    """Per-sequence uniform draw shaped (n, 1, 1) to broadcast over (frame, chirp)."""
    return rng.uniform(lo, hi, size=(n, 1, 1)).astype(np.float32)


def _normalise(amp):
    return amp / np.sqrt(np.sum(amp**2, axis=-1, keepdims=True))


def _person(rng, n, t, geo, cfg, running):
    """Walking/running person: torso, head, two arms and two legs swinging at the gait frequency.

    The gait cycle frequency grows with the square root of speed (stride length grows too);
    legs swing with amplitude A_leg (a sine plus a second harmonic for the stance/swing
    asymmetry) and arms in counter-phase with A_arm; the torso bounces at twice the cycle rate.
    Feet then reach about 2-3x the body speed, which is what makes the micro-Doppler spread.
    """
    v = geo["speed"].astype(np.float32)[:, None, None]
    if running:
        f = 1.4 * np.sqrt(v / 3.2) * _u(rng, 0.9, 1.1, n)
        a_leg, a_arm, bounce = _u(rng, 0.45, 0.65, n), _u(rng, 0.25, 0.40, n), np.float32(0.06)
    else:
        f = 0.95 * np.sqrt(np.maximum(v, 0.3) / 1.4) * _u(rng, 0.9, 1.1, n)
        a_leg, a_arm, bounce = _u(rng, 0.25, 0.38, n), _u(rng, 0.10, 0.25, n), np.float32(0.025)
    th = 2 * np.pi * f * t + _u(rng, 0, 2 * np.pi, n)  # (n, T, M) gait phase
    s1, s2 = np.sin(th), np.sin(2 * th)
    torso = 0.03 * a_leg * s2
    lon = np.stack(
        [torso, torso, a_arm * s1, -a_arm * s1, a_leg * (s1 + 0.25 * s2), a_leg * (-s1 + 0.25 * s2)], axis=-1
    )
    vert = np.stack(
        [bounce * np.cos(2 * th)] * 2 + [np.zeros_like(th)] * 2 + [0.3 * a_leg * (1 - np.cos(2 * th))] * 2,
        axis=-1,
    )
    disp = lon * geo["cos_a"] + vert * geo["sin_e"]
    base = np.array([1.0, 0.35, 0.3, 0.3, 0.45, 0.45], dtype=np.float32)
    amp = _normalise(base * rng.uniform(0.8, 1.2, size=(n, 1, 1, 6)).astype(np.float32))
    return amp, disp


def _walking(rng, n, t, geo, cfg):
    return _person(rng, n, t, geo, cfg, running=False)


def _running(rng, n, t, geo, cfg):
    return _person(rng, n, t, geo, cfg, running=True)


def _bicycle(rng, n, t, geo, cfg):
    """Bicycle and rider: frame, rider's body, three rim/spoke points, two pedals with the feet.

    Wheels of radius r_w turn at omega = v / r_w, so a rim point moves at v*cos(phi) relative to
    the frame (0..2v absolute: the top of the wheel at twice the ground speed). Pedals turn on a
    0.17 m crank at the cadence v / (distance per crank turn, 4..7 m with the gear).
    """
    v = geo["speed"].astype(np.float32)[:, None, None]
    r_w = _u(rng, 0.30, 0.36, n)
    phi_w = (v / r_w) * t + _u(rng, 0, 2 * np.pi, n)
    phi_r = (v / r_w) * t + _u(rng, 0, 2 * np.pi, n)
    phi_p = 2 * np.pi * (v / _u(rng, 4.0, 7.0, n)) * t + _u(rng, 0, 2 * np.pi, n)
    crank = np.float32(0.17)
    zero = np.zeros_like(phi_w)
    lon = np.stack(
        [
            zero,
            0.03 * np.sin(2 * phi_p),  # rider sways at twice the cadence
            r_w * np.sin(phi_w),
            -r_w * np.sin(phi_w),  # opposite point of the front wheel
            r_w * np.sin(phi_r),
            crank * np.sin(phi_p),
            -crank * np.sin(phi_p),
        ],
        axis=-1,
    )
    vert = np.stack(
        [
            zero,
            zero,
            r_w * np.cos(phi_w),
            -r_w * np.cos(phi_w),
            r_w * np.cos(phi_r),
            crank * np.cos(phi_p),
            -crank * np.cos(phi_p),
        ],
        axis=-1,
    )
    disp = lon * geo["cos_a"] + vert * geo["sin_e"]
    base = np.array([1.0, 0.8, 0.2, 0.2, 0.2, 0.35, 0.35], dtype=np.float32)
    amp = _normalise(base * rng.uniform(0.8, 1.2, size=(n, 1, 1, 7)).astype(np.float32))
    return amp, disp


def _car(rng, n, t, geo, cfg):
    """Car: four strong body scatterers spread over its length (rigid body) and the two visible
    wheels (a rim/hub point turning at omega = v / r_w), with a slight suspension bounce."""
    v = geo["speed"].astype(np.float32)[:, None, None]
    body_x = rng.uniform(-2.2, 2.2, size=(n, 1, 1, 4)).astype(np.float32)
    wheel_x = np.array([-1.35, 1.35], dtype=np.float32)
    r_w = _u(rng, 0.28, 0.33, n)[..., None]
    phi = (v / r_w[..., 0])[..., None] * t[..., None] + rng.uniform(0, 2 * np.pi, size=(n, 1, 1, 2)).astype(
        np.float32
    )
    bounce = 0.01 * np.sin(2 * np.pi * _u(rng, 1.0, 2.0, n) * t + _u(rng, 0, 2 * np.pi, n))[..., None]
    lon = np.concatenate([np.broadcast_to(body_x, phi.shape[:-1] + (4,)), wheel_x + r_w * np.sin(phi)], axis=-1)
    vert = np.concatenate([np.broadcast_to(bounce, phi.shape[:-1] + (4,)), r_w * np.cos(phi)], axis=-1)
    disp = lon * geo["cos_a"] + vert * geo["sin_e"]
    amp = np.concatenate(
        [rng.uniform(0.5, 1.5, size=(n, 1, 1, 4)), rng.uniform(0.08, 0.16, size=(n, 1, 1, 2))], axis=-1
    ).astype(np.float32)
    return _normalise(amp), disp


def _drone(rng, n, t, geo, cfg):
    """Quadcopter: the body (hovering sway) and 4 rotors x 2 blades.

    A blade of length L turning at Omega (80..110 rev/s) reflects specularly when it is
    perpendicular to the line of sight (cos(theta - beta) = 0): its return is a short flash
    whose Doppler is the full blade speed Omega*L/2 (tens of m/s, far beyond v_max, so it
    aliases across the spectrum). Each blade is its mid point with a flash lobe
    exp(-(cos(theta - beta) / w)^2), w = 0.3 (blade twist and curvature widen the ideal sinc flash).
    """
    theta0 = rng.uniform(0, 2 * np.pi, size=(n, 1, 1, 4)).astype(np.float32)
    theta0 = np.concatenate([theta0, theta0 + np.pi], axis=-1)  # two blades per rotor
    omega = np.repeat(2 * np.pi * rng.uniform(80, 110, size=(n, 1, 1, 4)), 2, axis=-1).astype(np.float32)
    beta = _u(rng, 0, 2 * np.pi, n)[..., None]  # line of sight in the drone's frame
    blade = rng.uniform(0.10, 0.15, size=(n, 1, 1, 1)).astype(np.float32)
    c = np.cos(omega * t[..., None] + theta0 - beta)
    hub_angle = np.repeat(np.array([0.25, 0.75, 1.25, 1.75], dtype=np.float32) * np.pi, 2)
    hub = 0.15 * np.cos(hub_angle - beta)
    cos_e = np.sqrt(1 - geo["sin_e"] ** 2)
    sway = 0.03 * np.sin(2 * np.pi * _u(rng, 0.5, 2.0, n) * t + _u(rng, 0, 2 * np.pi, n))[..., None]
    disp = np.concatenate([sway, sway + (hub + 0.5 * blade * c) * cos_e], axis=-1)
    a_blade = rng.uniform(0.8, 1.5, size=(n, 1, 1, 1)).astype(np.float32)
    flash = a_blade * np.exp(-((c / _FLASH_WIDTH) ** 2))
    amp = np.concatenate([np.ones_like(flash[..., :1]), flash], axis=-1)
    # Mean power of a flashing blade: a^2 * mean(exp(-2 cos^2 / w^2)) = a^2 * w / sqrt(2 pi).
    return amp / np.sqrt(1.0 + 8 * a_blade**2 * _FLASH_WIDTH / np.sqrt(2 * np.pi)), disp


def _bird(rng, n, t, geo, cfg):
    """Bird: body and two wings beating at 4..12 Hz, in bounding flight (flapping bursts and
    glides with the wings still). The wing tips move by A_w sin(2 pi f_w t) along the line of
    sight, the body heaves against them, and the wing's reflecting area follows the beat."""
    f_w = _u(rng, 4.0, 12.0, n)
    beat = 2 * np.pi * f_w * t + _u(rng, 0, 2 * np.pi, n)
    period, duty = _u(rng, 0.6, 2.0, n), _u(rng, 0.5, 1.0, n)
    gate = (np.mod(t / period + _u(rng, 0, 1, n), 1.0) < duty).astype(np.float32)
    flap = gate * np.sin(beat)
    a_w = _u(rng, 0.06, 0.18, n)
    other = _u(rng, 0.6, 1.0, n)  # the far wing is seen at a different angle
    disp = np.stack([-0.15 * a_w * flap, a_w * flap, other * a_w * flap], axis=-1)
    area = (1.0 + 0.5 * gate * np.cos(beat)) / 1.5
    a_wing = _u(rng, 0.4, 0.8, n)
    amp = np.stack([np.ones_like(area), a_wing * area, a_wing * area], axis=-1)
    return amp / np.sqrt(1.0 + 2 * a_wing[..., None] ** 2 * 0.5), disp


_MODELS = {
    "walking": _walking,
    "running": _running,
    "bicycle": _bicycle,
    "car": _car,
    "drone": _drone,
    "bird": _bird,
}
