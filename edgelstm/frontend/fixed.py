"""Integer primitives of the front end, vectorised numpy (int64 arrays holding C int32/int64 values).

Each function is the bit-exact specification of one C routine in firmware_templates/runtime/
(named in its docstring). Right shifts of negative numbers are floor shifts (numpy's ``>>``);
the C writes them as ``edgelstm_asr32/64`` so they are defined whatever the compiler.
"""

from __future__ import annotations

import numpy as np

from .spec import LOG2_TABLE_BITS


def sat16(x: np.ndarray) -> np.ndarray:
    return np.clip(x, -32768, 32767)


def bit_length(x: np.ndarray) -> np.ndarray:
    """Bits needed for non-negative x (0 -> 0), as edgelstm_bitlen32/64."""
    x = np.asarray(x, dtype=np.uint64).copy()
    n = np.zeros(x.shape, dtype=np.int64)
    for sh in (32, 16, 8, 4, 2, 1):
        big = x >= (np.uint64(1) << np.uint64(sh))
        n += np.where(big, sh, 0)
        x = np.where(big, x >> np.uint64(sh), x)
    return n + (x > 0)


def bit_reverse_indices(n: int) -> np.ndarray:
    bits = n.bit_length() - 1
    i = np.arange(n)
    r = np.zeros(n, dtype=np.int64)
    for b in range(bits):
        r |= ((i >> b) & 1) << (bits - 1 - b)
    return r


def fft_q15(re: np.ndarray, im: np.ndarray, cos_t: np.ndarray, sin_t: np.ndarray, stride: int = 1):
    """In-place radix-2 decimation-in-time complex FFT over the last axis, scaled by 1/2 per stage
    (output = DFT / N), as edgelstm_cfft_q15.

    Butterfly (w = cos - j sin from the q15 tables, index k * stride):
        t = round(b * w)  (each part (x + 2^14) >> 15),  a' = sat16((a + t + 1) >> 1),
        b' = sat16((a - t + 1) >> 1).
    Inputs of complex magnitude <= 2^15 keep that bound at every stage (saturation only guards).
    """
    n = re.shape[-1]
    perm = bit_reverse_indices(n)
    re = np.asarray(re, dtype=np.int64)[..., perm]
    im = np.asarray(im, dtype=np.int64)[..., perm]
    lead = re.shape[:-1]
    half = 1
    while half < n:
        size = 2 * half
        k = np.arange(half) * (n // size) * stride
        c, s = cos_t[k].astype(np.int64), sin_t[k].astype(np.int64)
        r = re.reshape(*lead, n // size, 2, half)
        i = im.reshape(*lead, n // size, 2, half)
        ar, ai, br, bi = r[..., 0, :], i[..., 0, :], r[..., 1, :], i[..., 1, :]
        tr = (br * c + bi * s + (1 << 14)) >> 15
        ti = (bi * c - br * s + (1 << 14)) >> 15
        re = np.stack([sat16((ar + tr + 1) >> 1), sat16((ar - tr + 1) >> 1)], axis=-2).reshape(*lead, n)
        im = np.stack([sat16((ai + ti + 1) >> 1), sat16((ai - ti + 1) >> 1)], axis=-2).reshape(*lead, n)
        half = size
    return re, im


def log2_q16(p: np.ndarray, table: np.ndarray) -> np.ndarray:
    """2^16 log2(p) for unsigned 64-bit p (0 counts as 1), as edgelstm_log2_q16: the exponent from
    the bit length, the mantissa's top 6 bits index a 65-entry table, the next 10 interpolate."""
    p = np.maximum(np.asarray(p, dtype=np.uint64), np.uint64(1))
    n = bit_length(p) - 1
    up = n < 16
    y = np.where(up, p << np.where(up, 16 - n, 0).astype(np.uint64), p >> np.where(up, 0, n - 16).astype(np.uint64))
    f = y.astype(np.int64) - 65536
    frac_bits = 16 - LOG2_TABLE_BITS
    idx = f >> frac_bits
    rem = f & ((1 << frac_bits) - 1)
    t0 = table[idx].astype(np.int64)
    t1 = table[idx + 1].astype(np.int64)
    return (n << 16) + t0 + (((t1 - t0) * rem + (1 << (frac_bits - 1))) >> frac_bits)


def db_q8(log2_q16_value: np.ndarray, db_per_log2_q16: int) -> np.ndarray:
    """dB in 1/256 units from a Q16 log2: (L * round(2^16 * 10 log10 2) + 2^23) >> 24."""
    return (np.asarray(log2_q16_value, dtype=np.int64) * db_per_log2_q16 + (1 << 23)) >> 24
