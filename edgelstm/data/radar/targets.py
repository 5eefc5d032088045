"""Target models: the point scatterers of each class and their micro-motion.

Each model returns ``(amp, disp)``: amplitudes a_k and line-of-sight displacements r_k (m,
relative to the body centre) with shape (n, T, M, K) or broadcastable to it. The amplitudes are
normalised so that the mean target power is 1 (the SNR is applied later, by :mod:`.scene`).
"""

from __future__ import annotations

import numpy as np

MAX_SCATTERERS = 9  # the drone: body + 4 rotors x 2 blades (sizes the generation chunks)
_FLASH_WIDTH = 0.3  # width (in cos(theta - beta)) of a rotor blade's specular flash


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


#: Scatterer model of each target class (the class ``empty`` has none).
TARGET_MODELS = {
    "walking": _walking,
    "running": _running,
    "bicycle": _bicycle,
    "car": _car,
    "drone": _drone,
    "bird": _bird,
}
