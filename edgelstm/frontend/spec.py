"""The front-end spec: every parameter of the raw-ADC -> feature chain, as plain data.

One :class:`FrontEndSpec` defines the chain that the numpy reference (:mod:`.doppler`), its
float64 twin (``--float``) and the generated C (``NAME_frontend.c``) all execute. It is stored as
JSON in the feature file (``params_json["front_end"]``), then in the model's metadata (train,
quantize), and export-c emits the C from it. The integer tables (windows, twiddles, log2) are
derived from the spec by :func:`tables`, never stored: the same function feeds numpy and the C.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from ..errors import EdgelstmError

KIND = "doppler"
VERSION = 1
Q15_ONE = 32767  # q15 tables: round(32767 * value), so no table entry is -32768 or 32768
LOG2_TABLE_BITS = 6  # log2 mantissa table: 2^6 + 1 entries, linear interpolation below
DB_PER_LOG2_Q16 = 197283  # round(10 log10(2) * 2^16): dB = log2 * 10 log10(2)
DB_FRAC_BITS = 8  # dB features are integers in units of 1/256 dB


def _is_pow2(n: int) -> bool:
    return n >= 1 and (n & (n - 1)) == 0


@dataclass(frozen=True)
class FrontEndSpec:
    """The fixed-point micro-Doppler front end of one radar frame (chirps x samples int16).

    Attributes:
        chirps: chirps per frame M (slow time).
        samples: ADC samples per chirp S (fast time), a power of two 8..1024.
        doppler_bins: Doppler features B (a power of two >= 2); the Doppler FFT has
            ``doppler_fft`` = B * ceil(M / B) points (zero padded) and adjacent FFT bins are
            averaged down to B.
        gate_chirps: K chirps (numbers i * M // K) whose range spectra, power summed, locate the
            target's range gate (two real chirps share one complex FFT).
        min_gate, max_gate: range bins the gate may take (bin 0, DC, is excluded by default).
        range_bin_m: metres per range bin (the ``range_m`` feature is gate * range_bin_m).
        noise_lsb: ADC noise standard deviation (LSB) that the dB features are referred to: noise
            of that level sits at 0 dB in every Doppler bin and in ``amplitude_db``.
    """

    chirps: int
    samples: int
    doppler_bins: int = 16
    gate_chirps: int = 4
    min_gate: int = 1
    max_gate: int = -1  # -1: samples // 2 - 1
    range_bin_m: float = 1.0
    noise_lsb: float = 1.0
    kind: str = KIND
    version: int = VERSION

    @property
    def gate_chirp_indices(self) -> list[int]:
        return [i * self.chirps // self.gate_chirps for i in range(self.gate_chirps)]

    def __post_init__(self):
        if self.max_gate == -1 and isinstance(self.samples, int):
            object.__setattr__(self, "max_gate", self.samples // 2 - 1)

    # -- derived sizes -----------------------------------------------------------------------
    @property
    def doppler_fft(self) -> int:
        return self.doppler_bins * math.ceil(self.chirps / self.doppler_bins)

    @property
    def n_features(self) -> int:
        return self.doppler_bins + 2

    def feature_names(self) -> list[str]:
        b = self.doppler_bins
        return [f"doppler_{i - b // 2}" for i in range(b)] + ["range_m", "amplitude_db"]

    def feature_units(self) -> np.ndarray:
        """Float value of one integer unit of each feature (1/256 dB, or range_bin_m)."""
        u = np.full(self.n_features, 1.0 / (1 << DB_FRAC_BITS))
        u[self.doppler_bins] = self.range_bin_m
        return u

    # -- checks and JSON -----------------------------------------------------------------------
    def validate(self) -> "FrontEndSpec":
        def bad(msg, fix=None):
            return EdgelstmError(f"invalid front-end setting: {msg}", fix)

        if self.kind != KIND:
            raise bad(f"front end '{self.kind}' is unknown", f"use '{KIND}'")
        if self.version != VERSION:
            raise bad(f"front-end version {self.version} is not {VERSION}", "upgrade edgelstm")
        for name in ("chirps", "samples", "doppler_bins", "gate_chirps", "min_gate", "max_gate"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
                raise bad(f"{name} must be an integer, got {v!r}")
        if not (2 <= self.chirps <= 1024):
            raise bad(f"{self.chirps} chirps per frame is outside 2..1024")
        if not (_is_pow2(self.samples) and 8 <= self.samples <= 1024):
            raise bad(f"{self.samples} samples per chirp is not a power of two in 8..1024",
                      "record 8, 16, .., 1024 samples per chirp or crop the chirps")
        if not (_is_pow2(self.doppler_bins) and 2 <= self.doppler_bins <= 512):
            raise bad(f"{self.doppler_bins} Doppler bins is not a power of two in 2..512")
        if not _is_pow2(self.doppler_fft) or self.doppler_fft > 1024:
            raise bad(f"the Doppler FFT of {self.chirps} chirps into {self.doppler_bins} bins would have "
                      f"{self.doppler_fft} points (not a power of two <= 1024)", "choose the Doppler bins so that "
                      "bins * ceil(chirps / bins) is a power of two")
        if not (1 <= self.gate_chirps <= self.chirps):
            raise bad(f"{self.gate_chirps} gate chirps is outside 1..{self.chirps}")
        if not (0 <= self.min_gate <= self.max_gate <= self.samples // 2 - 1):
            raise bad(f"range gates {self.min_gate}..{self.max_gate} are not within 0..{self.samples // 2 - 1}")
        for name in ("range_bin_m", "noise_lsb"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise bad(f"{name} must be a positive number, got {v!r}")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d) -> "FrontEndSpec":
        if not isinstance(d, dict):
            raise EdgelstmError("the front-end spec is not a JSON object", "extract the features again")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise EdgelstmError(f"the front-end spec has unknown field(s) {', '.join(unknown)}",
                                "extract the features again with this edgelstm")
        if "chirps" not in d or "samples" not in d:
            raise EdgelstmError("the front-end spec lacks chirps/samples", "extract the features again")
        return cls(**d).validate()


def q15(values) -> np.ndarray:
    """round(32767 * v) as int32 (v in [-1, 1])."""
    return np.round(np.asarray(values, dtype=np.float64) * Q15_ONE).astype(np.int32)


def hann(n: int) -> np.ndarray:
    """Hann window without its zero end points (as the simulator's float features use)."""
    return np.hanning(n + 2)[1:-1]


@dataclass(frozen=True)
class Tables:
    """Integer constants of one spec (identical in numpy and in the generated C)."""

    range_window: np.ndarray    # (S,) q15
    doppler_window: np.ndarray  # (M,) q15
    cos_s: np.ndarray           # (S,) q15 cos(2 pi k / S): range FFT twiddles and the gate DFT
    sin_s: np.ndarray           # (S,) q15 sin(2 pi k / S)
    cos_d: np.ndarray           # (ND/2,) q15 Doppler FFT twiddles
    sin_d: np.ndarray
    log2_q16: np.ndarray        # (65,) round(2^16 log2(1 + i/64))
    db_offset_q16: int          # log2 units (Q16) to subtract for the Doppler dB reference
    amp_offset_q16: int         # idem for amplitude_db


def tables(spec: FrontEndSpec) -> Tables:
    S, M, ND = spec.samples, spec.chirps, spec.doppler_fft
    wr, wd = hann(S), hann(M)
    ks, kd = np.arange(S), np.arange(ND // 2)
    # Reference powers (float): real ADC noise of noise_lsb^2 per sample gives E|G|^2 =
    # noise^2 sum(wr^2) at a range bin and noise^2 sum(wr^2) sum(wd^2) at a Doppler bin.
    # The C and numpy subtract round(2^16 log2(reference)) from the Q16 log2 of the power.
    ref_d = spec.noise_lsb**2 * np.sum(wr**2) * np.sum(wd**2)
    ref_a = spec.noise_lsb**2 * np.sum(wr**2)
    return Tables(
        range_window=q15(wr), doppler_window=q15(wd),
        cos_s=q15(np.cos(2 * np.pi * ks / S)), sin_s=q15(np.sin(2 * np.pi * ks / S)),
        cos_d=q15(np.cos(2 * np.pi * kd / ND)), sin_d=q15(np.sin(2 * np.pi * kd / ND)),
        log2_q16=np.round(np.log2(1 + np.arange((1 << LOG2_TABLE_BITS) + 1) / (1 << LOG2_TABLE_BITS)) * 65536)
        .astype(np.int32),
        db_offset_q16=int(round(math.log2(ref_d) * 65536)),
        amp_offset_q16=int(round(math.log2(ref_a) * 65536)),
    )
