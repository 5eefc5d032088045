"""Settings of the simulated radar: sensor, scene and impairments (:class:`RadarConfig`), and the
target classes."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from ...errors import EdgelstmError

C0 = 299_792_458.0  # speed of light, m/s

RADAR_CLASSES = ["empty", "walking", "running", "bicycle", "car", "drone", "bird"]


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
