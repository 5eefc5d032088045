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

The package, one job per module:

- :mod:`.config`: sensor, scene and impairment settings (:class:`RadarConfig`) and the classes;
- :mod:`.targets`: the scatterer models of each class (micro-motion and reflectivity);
- :mod:`.scene`: trajectory, radar equation, clutter, noise, interference and tracker range:
  the complex slow-time return of the range gate;
- :mod:`.features`: per-frame features from that return (Doppler spectrum, range, amplitude);
- :mod:`.generate`: balanced labels, chunking and seeding, the :class:`~edgelstm.data.Dataset`.
"""

from .config import C0, RADAR_CLASSES, RadarConfig
from .features import FEATURE_SETS, feature_names_for
from .generate import MODEL_VERSION, generate_radar

__all__ = ["C0", "FEATURE_SETS", "MODEL_VERSION", "RADAR_CLASSES", "RadarConfig", "feature_names_for", "generate_radar"]
