"""The scene in slow time: each target's trajectory, the radar equation and RCS fluctuation,
static clutter, receiver noise, interference spikes and the tracker's range, summed into the
complex return of the target's range gate over the chirps of every frame (the package docstring
gives the signal model)."""

from __future__ import annotations

import numpy as np

from .config import RADAR_CLASSES
from .targets import TARGET_MODELS

_R_END_MIN_M = 1.5  # approaching targets stop no closer than this at the end of the sequence


def simulate_returns(rng, y, frames, cfg, detail=None):
    """The slow-time return ``x`` (n, T, M) of the range gate and the tracker's range (n, T) in m
    for the labels ``y`` of one chunk. ``detail`` (a dict, for the raw ADC model in :mod:`.raw`)
    receives the noise-free return ``clean``, the true range ``range_true`` (n, T), the spike mask
    ``spikes`` and their levels ``spike_level``; the random draws are the same with or without it."""
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
        amp, disp = TARGET_MODELS[name](rng, idx.size, t, geo, cfg)
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
    if detail is not None:
        detail["clean"] = x.copy()
        detail["range_true"] = range_m.copy()
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
    if detail is not None:
        detail["spikes"] = spikes
        detail["spike_level"] = level[:, 0] if n_sp else np.zeros(0)

    # Tracker range: quantised to range bins c/(2B), plus tracker noise; it jumps on spikes.
    res = cfg.range_resolution_m
    range_m = np.round(range_m / res) * res + rng.normal(0.0, cfg.range_noise_m, size=range_m.shape)
    range_m[spikes] = rng.uniform(*cfg.range_m_range, size=n_sp)
    range_m = np.maximum(range_m, 0.0)

    return x, range_m


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
