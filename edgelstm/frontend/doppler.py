"""The ``doppler`` front end: one radar frame (chirps x samples int16) -> the features of
``edgelstm data radar --features doppler`` (B Doppler bins in dB, range_m, amplitude_db).

:func:`features_fixed` is the integer reference, bit for bit the C ``edgelstm_frontend_doppler_s16``;
:func:`features_float` computes the same chain in float64 (``--float``, the accuracy reference).

The chain (docs/raw_radar.md gives the why):

1. frame exponent: s1 = max(15 - bitlen(max |x|), 0); every sample is shifted left by s1 (one
   exponent for the whole frame, so the chirps stay comparable);
2. Hann window over fast time (q15);
3. range gate: the range power spectra of ``gate_chirps`` chirps (i * M // K) summed, the strongest
   of bins min_gate..max_gate wins; on a tie the LOWEST bin wins (first maximum). Two real chirps
   a, b share one q15 FFT (per-stage 1/2 scaling) of z = a + j b: |A_k|^2 + |B_k|^2 =
   (|Z_k|^2 + |Z_(S-k)|^2) / 2, so the sum P_k += |Z_k|^2 + |Z_(S-k)|^2 needs no unpacking;
4. the gate's range bin of every chirp by a direct DFT bin (int64 accumulation, >> 15), so only
   one FFT runs in fast time;
5. block exponent of the gate column: s2 = bitlen(max |part|) - 15, the column shifted to 15 bits;
6. Hann window over the chirps, zero padding to ``doppler_fft``, q15 FFT, power, fftshift,
   adjacent bins summed down to ``doppler_bins``;
7. dB by an integer log2 (table) with the exponents added back: 10 log10(power / reference),
   in 1/256 dB; ``amplitude_db`` the same for the mean gate power over the chirps.
"""

from __future__ import annotations

import numpy as np

from .fixed import bit_length, db_q8, fft_q15, log2_q16, sat16
from .spec import DB_PER_LOG2_Q16, FrontEndSpec, Tables, hann, tables

_EPS = 1e-12


def _frames(adc: np.ndarray, spec: FrontEndSpec) -> tuple[np.ndarray, tuple]:
    a = np.asarray(adc)
    if a.shape[-2:] != (spec.chirps, spec.samples):
        raise ValueError(f"frames of shape {a.shape[-2:]} do not match the spec ({spec.chirps}, {spec.samples})")
    return a.reshape(-1, spec.chirps, spec.samples), a.shape[:-2]


def features_fixed(adc: np.ndarray, spec: FrontEndSpec, tab: Tables | None = None, *, detail: dict | None = None):
    """Integer features (..., B + 2) int32 of int16 frames (..., chirps, samples): B Doppler dB
    values (1/256 dB), the gate index, amplitude (1/256 dB). ``detail`` receives the gate, s1, s2."""
    tab = tab or tables(spec)
    x, lead = _frames(adc, spec)
    x = x.astype(np.int64)
    P, M, S = x.shape
    ND, B = spec.doppler_fft, spec.doppler_bins
    # 1. frame exponent
    mx = np.abs(x).reshape(P, -1).max(axis=1) if P else np.zeros(0, np.int64)
    s1 = np.maximum(15 - bit_length(mx), 0)
    # 2. window (q15, rounded): x_w = ((x << s1) * w + 2^14) >> 15
    xw = ((x << s1[:, None, None]) * tab.range_window.astype(np.int64) + (1 << 14)) >> 15
    # 3. gate on one chirp: q15 FFT, power of the allowed bins, first maximum
    chirps = spec.gate_chirp_indices
    pw = np.zeros((P, S), np.int64)  # uint64 in C: K/2 FFTs x 2 terms of < 2^31
    neg = (-np.arange(S)) & (S - 1)
    for j in range(0, len(chirps), 2):
        b = xw[:, chirps[j + 1], :] if j + 1 < len(chirps) else np.zeros((P, S), np.int64)
        re, im = fft_q15(xw[:, chirps[j], :], b, tab.cos_s, tab.sin_s)
        p2 = re * re + im * im
        pw += p2 + p2[:, neg]
    lo, hi = spec.min_gate, spec.max_gate
    gate = lo + np.argmax(pw[:, lo : hi + 1], axis=1) if P else np.zeros(0, np.int64)
    # 4. the gate's bin on every chirp: X_k = sum_n x_w[n] (cos - j sin)(2 pi k n / S)
    idx = (gate[:, None] * np.arange(S)[None, :]) & (S - 1)
    c = tab.cos_s[idx].astype(np.int64)[:, None, :]
    s = tab.sin_s[idx].astype(np.int64)[:, None, :]
    gr = (np.sum(xw * c, axis=-1) + (1 << 14)) >> 15
    gi = (-np.sum(xw * s, axis=-1) + (1 << 14)) >> 15
    # 5. block exponent of the gate column
    mg = np.maximum(np.abs(gr), np.abs(gi)).max(axis=1) if P else np.zeros(0, np.int64)
    s2 = bit_length(mg) - 15
    sr = np.maximum(s2, 0)[:, None]
    sl = np.maximum(-s2, 0)[:, None]
    half = np.where(sr > 0, np.int64(1) << np.maximum(sr - 1, 0), 0)
    vr = np.where(sr > 0, sat16((gr + half) >> sr), gr << sl)
    vi = np.where(sr > 0, sat16((gi + half) >> sr), gi << sl)
    e2 = 2 * (s2 - s1)  # |G|^2 = |v|^2 2^(2 (s2 - s1)) in ADC units
    # 7a. amplitude: mean gate power over the chirps
    pa = np.sum(vr * vr + vi * vi, axis=1).astype(np.uint64)
    m_log = int(log2_q16(np.array([M], np.uint64), tab.log2_q16)[0])
    la = log2_q16(pa, tab.log2_q16) - m_log + (e2 << 16) - tab.amp_offset_q16
    amp = db_q8(la, DB_PER_LOG2_Q16)
    # 6. Doppler FFT of the windowed column, zero padded
    wd = tab.doppler_window.astype(np.int64)
    dr = np.zeros((P, ND), np.int64)
    di = np.zeros((P, ND), np.int64)
    dr[:, :M] = (vr * wd + (1 << 14)) >> 15
    di[:, :M] = (vi * wd + (1 << 14)) >> 15
    dr, di = fft_q15(dr, di, tab.cos_d, tab.sin_d)
    pd = np.roll(dr * dr + di * di, ND // 2, axis=1)  # fftshift: bin 0 (zero Doppler) at B/2
    r = ND // B
    ps = pd.reshape(P, B, r).sum(axis=2).astype(np.uint64)
    extra = 2 * (ND.bit_length() - 1) - (r.bit_length() - 1)  # * ND^2 / r
    ld = log2_q16(ps, tab.log2_q16) + ((e2 + extra)[:, None] << 16) - tab.db_offset_q16
    dop = db_q8(ld, DB_PER_LOG2_Q16)
    out = np.concatenate([dop, gate[:, None], amp[:, None]], axis=1).astype(np.int32)
    if detail is not None:
        detail.update(gate=gate.reshape(lead), s1=s1.reshape(lead), s2=s2.reshape(lead))
    return out.reshape(*lead, spec.n_features)


def to_float_features(v: np.ndarray, spec: FrontEndSpec) -> np.ndarray:
    """Integer features -> their values (dB, m) as float32 (exact: 1/256 steps, gate * bin)."""
    return (np.asarray(v, dtype=np.float64) * spec.feature_units()).astype(np.float32)


def features_float(adc: np.ndarray, spec: FrontEndSpec, *, detail: dict | None = None) -> np.ndarray:
    """The same chain in float64 (no scaling, no rounding): features (..., B + 2) in dB and m."""
    x, lead = _frames(adc, spec)
    x = x.astype(np.float64)
    P, M, S = x.shape
    ND, B = spec.doppler_fft, spec.doppler_bins
    wr, wd = hann(S), hann(M)
    xw = x * wr
    spec_g = np.fft.fft(xw[:, spec.gate_chirp_indices, :], axis=-1)
    lo, hi = spec.min_gate, spec.max_gate
    power = (np.abs(spec_g[..., lo : hi + 1]) ** 2).sum(axis=1)
    gate = lo + np.argmax(power, axis=1) if P else np.zeros(0, np.int64)
    e = np.exp(-2j * np.pi * gate[:, None] * np.arange(S)[None, :] / S)
    G = np.einsum("pms,ps->pm", xw, e)
    ref_a = spec.noise_lsb**2 * np.sum(wr**2)
    ref_d = ref_a * np.sum(wd**2)
    amp = 10 * np.log10(np.mean(np.abs(G) ** 2, axis=1) / ref_a + _EPS)
    D = np.fft.fftshift(np.fft.fft(G * wd, n=ND, axis=-1), axes=-1)
    p = (np.abs(D) ** 2).reshape(P, B, -1).mean(axis=-1)
    dop = 10 * np.log10(p / ref_d + _EPS)
    out = np.concatenate([dop, (gate * spec.range_bin_m)[:, None], amp[:, None]], axis=1)
    if detail is not None:
        detail.update(gate=gate.reshape(lead))
    return out.reshape(*lead, spec.n_features)
