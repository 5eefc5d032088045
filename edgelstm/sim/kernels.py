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

    For inputs ``a`` (K, ...N) holding int8 values (zero point folded into ``bias``), row j of
    the product ``wa @ [a; 1]`` is P_j = y_j + eps_j, y_j = (sum_i w_ji a_i + bias_j) mf_j, and

        S_j = sat16(MBQM(sum_i w_ji a_i + bias_j, m_j, s_j)) = sat16(RDBP(floor(y_j + 1/2), r_j)).

    The LSTM step needs T = base + S_x + S_h (an index into its gate table, ``base`` per row):
    :meth:`image` turns the input FC's product into the float64 1.5 * 2^52 + base + S_x, and
    :meth:`index` adds the recurrent FC's product to that image and leaves T in an int64 view.

    Exactness (fixedpoint.py: SRDHM(X, m) = floor(X m / 2^31 + 1/2), MBQM = RDBP(SRDHM(acc 2^left, m), r)):

    * y = (acc + bias) mf with mf = m 2^(left-31) is a multiple of 2^(left-31), and
      floor(y + 1/2) = round_nearest(y + eps) with eps = 2^(left-32): y + eps is an odd multiple of
      2^(left-32), never a tie, and lies in (n - 1/2, n + 1/2) for n = floor(y + 1/2).
    * ``wa`` = [w mf | bias mf + eps] times [a; 1] is y + eps exactly: every partial sum (any BLAS
      order, FMA or not) is a multiple of 2^(left-32) below (sum_i |w_ji| 128 + |bias_j|) mf + eps
      < 2^(21+left) (checked here), so below 2^53 units.
    * Rows with r = 0: clamping P to [-32768, 32767] before rounding is sat16 after it (the bounds
      are integers, rounding is monotone). Adding the integer Q = 1.5 * 2^52 + k (0 <= k < 2^51)
      lands in [2^52, 2^53), where doubles are the integers: the FPU rounds to nearest, so the sum
      is exactly Q + sat16(n) (and Q + sat16(n) + P' rounds P' on top), and its int64 view is
      bits(1.5 * 2^52) + k + sat16(n).
    * Rows with r > 0 fold 2^-r into the row: P = y 2^-r + g/2 with g = 2^(left-31-r), an odd
      multiple of g/2 (never 0), d = 2^-(r+1) <= 1/4, n = floor(y + 1/2). Nested floors (as in
      ``pot_mul_1shift``) give RDBP(n, r) = floor((n + 2^(r-1) - [n < 0]) / 2^r)
      = floor(y 2^-r + 1/2 + d - 2d [n < 0]) = round(u - 2d [u < 0]) with u = P + d (n < 0 iff
      u < 0, and u - 2d [u < 0] is an odd multiple of g/2: no ties). The step computes
      round(P + copysign(d, P)): for P > 0 that is round(u), for u < 0 round(u - 2d), and for
      u in (0, d) it is round(u - 2d) = 0 = round(u) (both arguments lie within 1/2 of 0). Then
      the clamp and the rounding add of the r = 0 rows (the sum stays a multiple of g/2 < 2^53 units).

    ``ok`` is False when a bound fails (the caller keeps its generic path).
    """

    def __init__(self, w, bias, multiplier, shift, base=None, amax: int = 128):
        w = np.asarray(w, dtype=np.int64)
        rows = w.shape[0]
        bias = np.zeros(rows, np.int64) if bias is None else np.broadcast_to(np.asarray(bias, np.int64), (rows,))
        base = np.zeros(rows, np.int64) if base is None else np.broadcast_to(np.asarray(base, np.int64), (rows,))
        m = np.broadcast_to(np.asarray(multiplier, np.int64), (rows,))
        sft = np.broadcast_to(np.asarray(shift, np.int64), (rows,))
        left = np.maximum(sft, 0)
        right = np.maximum(-sft, 0)
        acc_bound = np.abs(w).sum(1) * amax + np.abs(bias)
        mf = m.astype(np.float64) * 2.0 ** (left - 31.0)
        eps = 2.0 ** (left - 32.0)  # g/2 of the rows with r = 0
        self.ok = bool(
            rows > 0
            and np.all(m >= 0)
            and np.all(left <= 30)
            and np.all(right <= 31)
            and np.all((base >= 0) & (base < 2**40))
            and np.all(acc_bound * 2.0**left < _FLOAT_EXACT_ACC)  # (acc + bias) 2^left cannot wrap int32
            and np.all((acc_bound * mf + eps) * 2.0 ** (32 - left) < 2.0**52)  # partial sums exact
        )
        self.rows = rows
        mfr = mf * 2.0 ** -right.astype(np.float64)  # exact: powers of two
        self.wa = np.concatenate([w * mfr[:, None], (bias * mfr + eps * 2.0 ** -right.astype(np.float64))[:, None]],
                                 axis=1)
        # rows grouped into runs of equal right shift (r > 0 only) and of equal base: one block of
        # ufunc calls per run
        self.shift_runs = [(lo, hi, 2.0 ** -(r + 1)) for lo, hi, r in _runs(right) if r > 0]
        self.base_runs = [(lo, hi, float(_MAGIC + b)) for lo, hi, b in _runs(base)]

    def image(self, p: np.ndarray) -> np.ndarray:
        """p: ``wa @ [a; 1]`` (..., rows, N) float64, in place -> 1.5 * 2^52 + base + S (float64)."""
        self._presat(p)
        clamp(p, -32768.0, 32767.0, out=p)
        for lo, hi, mb in self.base_runs:
            p[..., lo:hi, :] += mb
        return p

    def index(self, p: np.ndarray, img: np.ndarray) -> np.ndarray:
        """p: ``wa @ [a; 1]`` (rows, N) float64, img: an :meth:`image` of the same shape (any base).
        In place -> int64 view of p holding base + S_img + S."""
        self._presat(p)
        clamp(p, -32768.0, 32767.0, out=p)
        p += img
        v = p.view(np.int64)
        v -= _MAGIC_BITS
        return v

    def _presat(self, p: np.ndarray) -> None:
        """Rows with r > 0: P + copysign(2^-(r+1), P) (see the class notes), in place."""
        for lo, hi, d in self.shift_runs:
            blk = p[..., lo:hi, :]
            blk += np.copysign(d, blk)


def _runs(values: np.ndarray) -> list[tuple[int, int, int]]:
    """(start, stop, value) of each run of equal consecutive values."""
    out = []
    j = 0
    while j < len(values):
        k = j
        while k < len(values) and values[k] == values[j]:
            k += 1
        out.append((j, k, int(values[j])))
        j = k
    return out


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
