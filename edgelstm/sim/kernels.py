"""Vectorised integer kernels shared by the simulator's layers (batch on the leading axes)."""

from __future__ import annotations

import numpy as np

from .. import fixedpoint as fp
from ..ir import FCParams, MulParams


def _find_clip_ufunc():
    for mod in ("_core", "core"):
        um = getattr(getattr(np, mod, None), "umath", None)
        if um is not None and isinstance(getattr(um, "clip", None), np.ufunc):
            return um.clip
    return None


_CLIP = _find_clip_ufunc()


def clamp(x: np.ndarray, lo, hi, out: np.ndarray | None = None) -> np.ndarray:
    """np.clip through its ufunc directly: one pass, without np.clip's Python-level checks
    (which dominate on the small per-step arrays of a single stream)."""
    if _CLIP is not None:
        return _CLIP(x, lo, hi, out=out)
    return np.clip(x, lo, hi, out=out)


def int_matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Exact integer product ``x @ w.T`` through float64 BLAS.

    Every product of an int8 weight and an offset activation (|.| <= 127 * 255) and every
    partial sum stays far below 2^53 for any layer width edgelstm accepts, so the float64
    result is the exact integer (the order of summation does not matter).
    """
    y = np.asarray(x, dtype=np.float64) @ np.asarray(w, dtype=np.float64).T
    return y.astype(np.int64)


def fully_connected(x: np.ndarray, p: FCParams) -> np.ndarray:
    """TFLM ``reference_integer_ops::FullyConnected[PerChannel]`` on the last axis of ``x``."""
    acc = int_matmul(np.asarray(x, dtype=np.int64) + p.input_offset, p.weights)
    if p.bias is not None:
        acc = acc + p.bias
    acc = fp.wrap_int32(acc)
    out = fp.multiply_by_quantized_multiplier(acc, p.multiplier, p.shift) + p.output_offset
    return clamp(out, p.act_min, p.act_max)


def mul_elementwise(a: np.ndarray, b: np.ndarray, p: MulParams) -> np.ndarray:
    """TFLM ``reference_integer_ops::MulElementwise`` (symmetric inputs, offsets 0)."""
    prod = np.asarray(a, dtype=np.int64) * np.asarray(b, dtype=np.int64)
    out = fp.multiply_by_quantized_multiplier(prod, p.multiplier, p.shift) + p.output_offset
    return clamp(out, p.act_min, p.act_max)


_FLOAT_EXACT_ACC = 1 << 22  # |acc| below this: acc * multiplier (< 2^31) is exact in float64


class Requant:
    """MultiplyByQuantizedMultiplier + saturation to int16 of an FC accumulator, prepared once.

    When every accumulator is bounded by 2^22 (known from the weights), acc * multiplier is
    below 2^53 and the whole double-rounding MBQM is exact in float64:
    SaturatingRoundingDoublingHighMul(acc, m) = floor(acc * m / 2^31 + 1/2) (see fixedpoint.py;
    m / 2^31 is exact, and a bias folds in as bias * m / 2^31), then
    RoundingDivideByPOT(v, r) = trunc(v / 2^r + copysign(1/2, v)). Otherwise the int64 path of
    ``edgelstm.fixedpoint`` runs. Both give the same integers.
    """

    def __init__(self, multiplier, shift, acc_bound: float, bias=None):
        m = np.asarray(multiplier, dtype=np.int64)
        sft = np.asarray(shift, dtype=np.int64)
        self.m, self.s = _compact(m), _compact(sft)
        self.bias = np.zeros(1) if bias is None else np.asarray(bias, dtype=np.float64)
        left = np.maximum(sft, 0)
        right = np.maximum(-sft, 0)
        # x * 2^left is exact and cannot wrap while acc_bound * 2^left < 2^22 (< 2^31).
        self.float_ok = acc_bound * float(2.0 ** np.max(left)) < _FLOAT_EXACT_ACC
        if self.float_ok:
            scale = m.astype(np.float64) * 2.0 ** (left.astype(np.float64) - 31.0)  # m 2^left / 2^31, exact
            self.mf = _compact_f(scale)
            self.c0 = self.bias * scale + 0.5  # exact: |bias * scale| < 2^22 with 31 fraction bits
            self.inv = _compact_f(2.0 ** -right.astype(np.float64))  # 2^-right
            self.has_right = bool(np.any(right > 0))

    def __call__(self, acc: np.ndarray) -> np.ndarray:
        """float64 accumulator without the bias (exact integers) -> float64 int16 values. In place."""
        if self.float_ok:
            acc *= self.mf
            acc += self.c0
            np.floor(acc, out=acc)
            if self.has_right:
                acc *= self.inv
                acc += np.copysign(0.5, acc)
                np.trunc(acc, out=acc)
            return clamp(acc, -32768.0, 32767.0, out=acc)
        q = fp.multiply_by_quantized_multiplier(fp.wrap_int32(acc.astype(np.int64) + self.bias.astype(np.int64)),
                                                self.m, self.s)
        return clamp(q, fp.INT16_MIN, fp.INT16_MAX).astype(np.float64)


def _compact_f(a: np.ndarray):
    a = np.asarray(a, dtype=np.float64)
    return float(a.reshape(-1)[0]) if a.size and np.all(a == a.reshape(-1)[0]) else a


def _compact(a: np.ndarray):
    """A per-row array that holds one value -> that scalar (cheaper broadcasting, same result)."""
    a = np.asarray(a)
    return int(a[0]) if a.size and np.all(a == a[0]) else a


def rdbp_inplace(v: np.ndarray, right: int) -> np.ndarray:
    """RoundingDivideByPOT on an integer array, in place where possible."""
    if right <= 0:
        return v
    neg = v < 0
    v += 1 << (right - 1)
    v -= neg
    v >>= right
    return v


def pot_mul(a: np.ndarray, b: np.ndarray, right: int) -> np.ndarray:
    """sat16(MBQM(a*b, 2^30, -right)) on int32 arrays (a, b int16 values: |a*b| < 2^31).

    With the multiplier 2^30 (the LSTM's cell products: the scales are powers of two),
    SaturatingRoundingDoublingHighMul(x, 2^30) = (x + 1) >> 1, then RoundingDivideByPOT.
    """
    v = a * b
    v += 1
    v >>= 1
    rdbp_inplace(v, right)
    return clamp(v, -32768, 32767, out=v)


_MAGIC = 1.5 * 2.0**52  # x + _MAGIC rounds x to the nearest integer n, held as bits(_MAGIC) + n
_MAGIC_BITS = int(np.array(_MAGIC).view(np.int64))  # 0x4338000000000000, divisible by 2^51


class FoldedRequant:
    """An FC layer with its requantisation folded into one float64 product (prepared once).

    For inputs ``a`` (K, ...N) holding int8 values (zero point folded into ``bias``), the rows j of
    ``w`` (rows, K) give, in an int64 view of the product (``__call__``)::

        V_j = B_j + sat16(MBQM(sum_i w_ji a_i + bias_j, m_j, s_j)),   B_j = bits(1.5 * 2^52) >> r_j

    Exactness (fixedpoint.py: SRDHM(X, m) = floor(X m / 2^31 + 1/2), MBQM = RDBP(SRDHM(acc 2^left, m), r)):

    * y = (acc + bias) mf with mf = m 2^(left-31) is a multiple of 2^(left-31), and
      floor(y + 1/2) = round_nearest(y + eps) with eps = 2^(left-32): y + eps is an odd multiple of
      2^(left-32), never a tie, and lies in (n - 1/2, n + 1/2) for n = floor(y + 1/2).
    * ``wa`` = [w mf | bias mf + eps] times [a; 1] is y + eps exactly: every partial sum (any BLAS
      order, FMA or not) is a multiple of 2^(left-32) below (sum_i |w_ji| 128 + |bias_j|) mf + eps
      < 2^(21+left) (checked here), so below 2^53 units.
    * P + 1.5 * 2^52 (|P| < 2^51) lands in [2^52, 2^53) where doubles are the integers: the FPU
      rounds to nearest, and the int64 view is bits(1.5 * 2^52) + n.
    * RDBP(n, r) = (n + 2^(r-1) - [n < 0]) >> r; on the view, bits(1.5 * 2^52) is divisible by
      2^r, so (V + 2^(r-1) - [V < bits]) >> r = (bits >> r) + RDBP(n, r).
    * sat16 is a clamp of V against B_j - 32768, B_j + 32767.

    ``ok`` is False when a bound fails (the caller keeps its generic path).
    """

    def __init__(self, w, bias, multiplier, shift, amax: int = 128):
        w = np.asarray(w, dtype=np.int64)
        rows = w.shape[0]
        bias = np.zeros(rows, np.int64) if bias is None else np.broadcast_to(np.asarray(bias, np.int64), (rows,))
        m = np.broadcast_to(np.asarray(multiplier, np.int64), (rows,))
        sft = np.broadcast_to(np.asarray(shift, np.int64), (rows,))
        left = np.maximum(sft, 0)
        right = np.maximum(-sft, 0)
        acc_bound = np.abs(w).sum(1) * amax + np.abs(bias)
        mf = m.astype(np.float64) * 2.0 ** (left - 31.0)
        eps = 2.0 ** (left - 32.0)
        self.ok = bool(
            rows > 0
            and np.all(m >= 0)
            and np.all(left <= 30)
            and np.all(right <= 31)
            and np.all(acc_bound * 2.0**left < _FLOAT_EXACT_ACC)  # (acc + bias) 2^left cannot wrap int32
            and np.all((acc_bound * mf + eps) * 2.0 ** (32 - left) < 2.0**52)  # partial sums exact
        )
        self.rows = rows
        self.wa = np.concatenate([w * mf[:, None], (bias * mf + eps)[:, None]], axis=1)
        self.base = np.right_shift(_MAGIC_BITS, right)  # B_j (int64, per row)
        # rows grouped into runs of equal right shift: RDBP and the clamp run per contiguous run
        self.runs = []
        j = 0
        while j < rows:
            k = j
            while k < rows and right[k] == right[j]:
                k += 1
            self.runs.append((j, k, int(right[j]), int(self.base[j])))
            j = k

    def __call__(self, p: np.ndarray) -> np.ndarray:
        """p: the float64 product ``wa @ [a; 1]`` (..., rows, N), in place -> its int64 view V."""
        p += _MAGIC
        v = p.view(np.int64)
        for lo, hi, r, b in self.runs:
            blk = v[..., lo:hi, :]
            if r > 0:
                neg = blk < _MAGIC_BITS
                blk += 1 << (r - 1)
                blk -= neg
                blk >>= r
            clamp(blk, b - 32768, b + 32767, out=blk)
        return v


def pot_mul_1shift(x: np.ndarray, r: int, tmp: np.ndarray) -> np.ndarray:
    """MBQM(x, 2^30, -r) in place on int32 x (|x| <= 2^30, r >= 1), one shift.

    SRDHM(x, 2^30) = w = floor((x + 1) / 2); RDBP(w, r) = floor((w + 2^(r-1) - [w < 0]) / 2^r)
    = floor((x + 1 + 2^r - 2 [w < 0]) / 2^(r+1)) (floor(floor(a)/n + k/n) = floor((a + k)/n), k
    integer). [w < 0] = [x <= -2]; at x = -1 both choices give (2^r - 1 +- 1) >> (r+1) = 0, so
    [x < 0] = -(x >> 31) serves: x + (1 + 2^r) + 2 (x >> 31), then >> (r + 1).
    """
    np.right_shift(x, 31, out=tmp)
    x += tmp
    x += tmp
    x += 1 + (1 << r)
    x >>= r + 1
    return x
