"""Following an ONNX graph's tensor plumbing without running it.

Exporters surround the recurrent nodes with shape plumbing: ``Transpose`` to the time-major
layout ONNX RNNs take, ``Squeeze``/``Reshape`` of the ``(T, directions, N, H)`` output,
``Gather``/``Slice`` of the last time step or of one direction, ``Concat`` of the two directions,
zero initial states built from ``Shape`` + ``ConstantOfShape``. Rather than matching each
exporter's spelling, every value computed from the model input is followed as an
:class:`Act`: which axes it has (batch N, time T, directions D, features F, unit axes) and, for
the feature axis, which feature of the producing layer sits at each position. A spelling then
either reduces to the plain layer chain (``onnx_layers.SpecBuilder``) or fails at the node that
breaks it, with one line naming the node.

Values that do not depend on the input are constants (folded with ONNX's reference evaluator)
or :class:`Meta` (shape arithmetic; ``zero`` when known to be all zeros, as an initial state).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import UnsupportedError

# Stands for a symbolic batch size in Reshape arithmetic: a prime no model dimension is a
# multiple of, so a Reshape that folds the batch into another axis is recognised as doing so.
SYMBOLIC_BATCH = 1_000_003


@dataclass(frozen=True)
class Axis:
    role: str  # "N" batch, "T" time, "D" directions, "F" features, "1" a unit axis
    size: int | None  # None: a symbolic batch
    dirs: tuple[int, ...] = ()  # D: which of the layer's directions sits at each position
    cols: tuple[int, ...] = ()  # F: which feature of the producer sits at each position
    # (while a D axis exists, F positions are units within one direction)


@dataclass(frozen=True)
class Act:
    """A value computed from the model input."""

    axes: tuple[Axis, ...]
    stage: str  # "input" | "rnn" | "dense"
    layer: int = -1  # the producing layer's index in the spec
    units: int = 0  # rnn: units per direction (feature c belongs to direction c // units)
    n_dirs: int = 1  # rnn: directions of the producing layer
    taken: dict = field(default_factory=dict)  # rnn: {direction: time index} once a step is taken

    @property
    def roles(self) -> str:
        return "".join(a.role for a in self.axes)

    def axis(self, role: str) -> int | None:
        return next((i for i, a in enumerate(self.axes) if a.role == role), None)

    def present_dirs(self) -> set[int]:
        d = self.axis("D")
        if d is not None:
            return set(self.axes[d].dirs)
        f = self.axis("F")
        return {c // self.units for c in self.axes[f].cols} if (f is not None and self.units) else set()


@dataclass(frozen=True)
class Stacked:
    """Several layers' states concatenated along the direction axis (PyTorch's ``h_n`` of a
    multi-layer ``nn.LSTM``); only taking one layer's positions back out of it is followed."""

    parts: tuple[Act, ...]
    axis: int

    @property
    def axes(self) -> tuple[Axis, ...]:
        a = self.parts[0].axes
        return a[: self.axis] + (Axis("D", sum(p.axes[self.axis].size for p in self.parts)),) + a[self.axis + 1:]


@dataclass(frozen=True)
class Meta:
    """A value computed from shapes only (``Shape``, ``ConstantOfShape`` of a runtime shape...)."""

    zero: bool = False  # known to be all zeros


@dataclass(frozen=True)
class Unusable:
    """An output edgelstm cannot model (an LSTM's cell state Y_c); an error if anything uses it."""

    why: str
    fix: str


def where(node) -> str:
    return f"node '{node.name or node.output[0]}' ({node.op_type})"


def is_zero(v) -> bool:
    if isinstance(v, Meta):
        return v.zero
    return isinstance(v, np.ndarray) and v.size > 0 and not np.any(v)


def _norm_axis(ax: int, rank: int, node) -> int:
    if not -rank <= ax < rank:
        raise UnsupportedError(f"{where(node)}: axis {ax} out of range for rank {rank}")
    return ax % rank


def fold_direction(act: Act, pos: int) -> Act:
    """Remove the D axis keeping position ``pos``: the F positions become that direction's features."""
    d = act.axis("D")
    direction = act.axes[d].dirs[pos]
    f = act.axis("F")
    axes = list(act.axes)
    axes[f] = replace(axes[f], cols=tuple(direction * act.units + c for c in axes[f].cols))
    del axes[d]
    return replace(act, axes=tuple(axes), taken={k: v for k, v in act.taken.items() if k == direction})


def _select_dirs(act: Act, positions: list[int], keep_axis: bool) -> Act:
    d = act.axis("D")
    if not keep_axis:
        return fold_direction(act, positions[0])
    dirs = tuple(act.axes[d].dirs[p] for p in positions)
    axes = list(act.axes)
    axes[d] = replace(axes[d], size=len(dirs), dirs=dirs)
    return replace(act, axes=tuple(axes), taken={k: v for k, v in act.taken.items() if k in dirs})


def _take_time(act: Act, t: int, keep_axis: bool, node) -> Act:
    if act.stage != "rnn":
        raise UnsupportedError(f"{where(node)} takes time step {t} of the model input",
                               "edgelstm classifies the whole window; feed it to the LSTM/GRU as it is")
    ti = act.axis("T")
    axes = list(act.axes)
    if keep_axis:
        axes[ti] = Axis("1", 1)
    else:
        del axes[ti]
    return replace(act, axes=tuple(axes), taken={d: t for d in range(act.n_dirs)})


def _index_axis(act: Act | Stacked, ax: int, idx: list[int], keep_axis: bool, node) -> Act:
    """``Gather``/``Slice`` of positions ``idx`` (normalised) along axis ``ax``."""
    if isinstance(act, Stacked):
        if ax != act.axis:
            raise UnsupportedError(f"{where(node)} uses the states of several layers at once", "use the last layer's")
        starts = np.cumsum([0] + [p.axes[ax].size for p in act.parts])
        part = {int(np.searchsorted(starts, i, side="right")) - 1 for i in idx}
        if len(part) != 1:
            raise UnsupportedError(f"{where(node)} uses the states of several layers at once", "use the last layer's")
        k = part.pop()
        return _index_axis(act.parts[k], ax, [i - int(starts[k]) for i in idx], keep_axis, node)
    a = act.axes[ax]
    if a.role == "1" or (a.size is not None and len(idx) == a.size and idx == list(range(a.size))):
        if keep_axis:
            return act
        return replace(act, axes=act.axes[:ax] + act.axes[ax + 1:])
    if a.role == "T":
        if len(idx) != 1:
            raise UnsupportedError(f"{where(node)} takes {len(idx)} of the {a.size} time steps",
                                   "take the last step only (or the whole sequence)")
        return _take_time(act, idx[0], keep_axis, node)
    if a.role == "D":
        return _select_dirs(act, idx, keep_axis or len(idx) > 1)
    if a.role == "N":
        raise UnsupportedError(f"{where(node)} selects along the batch axis")
    raise UnsupportedError(f"{where(node)} selects {len(idx)} of the {a.size} features",
                           "a classifier must use every feature the previous layer computes")


def gather(act: Act, node, indices: np.ndarray, axis: int) -> Act:
    ax = _norm_axis(axis, len(act.axes), node)
    size = act.axes[ax].size
    if indices.ndim > 1 or size is None:
        raise UnsupportedError(f"{where(node)}: a {indices.ndim}-D gather along the batch or a nested index")
    idx = [int(i) % size if -size <= int(i) < size else -1 for i in np.ravel(indices)]
    if -1 in idx:
        raise UnsupportedError(f"{where(node)}: index out of range")
    return _index_axis(act, ax, idx, keep_axis=indices.ndim == 1, node=node)


def slice_(act: Act, node, starts, ends, axes, steps) -> Act:
    rank = len(act.axes)
    axes = list(range(len(starts))) if axes is None else [int(a) for a in axes]
    steps = [1] * len(starts) if steps is None else [int(s) for s in steps]
    for s, e, a, st in zip(starts, ends, axes, steps):
        ax = _norm_axis(a, rank, node)
        size = act.axes[ax].size
        if size is None:
            if (int(s), int(st)) == (0, 1) and int(e) >= 2**31 - 1:
                continue
            raise UnsupportedError(f"{where(node)} slices the batch axis")
        idx = list(range(size))[slice(int(s), int(e), int(st))] if int(st) != 0 else []
        if not idx:
            raise UnsupportedError(f"{where(node)} takes nothing along axis {a}")
        if st < 0 and len(idx) > 1:
            raise UnsupportedError(f"{where(node)} reverses axis {a}")
        act = _index_axis(act, ax, idx, keep_axis=True, node=node)
    return act


def transpose(act: Act, node, perm) -> Act:
    perm = list(range(len(act.axes)))[::-1] if perm is None else [int(p) for p in perm]
    if sorted(perm) != list(range(len(act.axes))):
        raise UnsupportedError(f"{where(node)}: permutation {perm} does not fit rank {len(act.axes)}")
    return replace(act, axes=tuple(act.axes[p] for p in perm))


def squeeze(act: Act, node, axes) -> Act:
    rank = len(act.axes)
    if axes is None:
        if any(a.role == "N" and a.size == 1 for a in act.axes):
            raise UnsupportedError(f"{where(node)} squeezes every unit axis, the batch of 1 too",
                                   "give Squeeze the axes to remove")
        drop = [i for i, a in enumerate(act.axes) if a.size == 1]
    else:
        drop = sorted({_norm_axis(int(a), rank, node) for a in axes})
    for i in sorted(drop, reverse=True):
        a = act.axes[i]
        if a.size != 1:
            raise UnsupportedError(f"{where(node)} squeezes axis {i} of size {a.size}")
        if a.role in ("N", "T", "F"):
            raise UnsupportedError(f"{where(node)} removes the {'batch' if a.role == 'N' else a.role} axis of size 1",
                                   "keep a (batch, ...) layout")
        act = fold_direction(act, 0) if a.role == "D" else replace(act, axes=act.axes[:i] + act.axes[i + 1:])
    return act


def unsqueeze(act: Act, node, axes) -> Act:
    out_rank = len(act.axes) + len(axes)
    pos = sorted({_norm_axis(int(a), out_rank, node) for a in axes})
    it = iter(act.axes)
    return replace(act, axes=tuple(Axis("1", 1) if i in pos else next(it) for i in range(out_rank)))


def _merge(act: Act, group: list[Axis], node) -> Axis:
    """One output axis made of consecutive input axes (a Reshape that merges)."""
    real = [a for a in group if a.role != "1"]
    if len(real) == 1:
        return real[0]
    roles = [a.role for a in real]
    if sorted(roles) == ["D", "F"]:
        d = next(a for a in real if a.role == "D")
        f = next(a for a in real if a.role == "F")
        U = act.units
        if roles[0] == "D":  # directions outer: [forward units, backward units]
            cols = tuple(k * U + c for k in d.dirs for c in f.cols)
        else:
            cols = tuple(k * U + c for c in f.cols for k in d.dirs)
        return Axis("F", len(cols), cols=cols)
    names = {"N": "batch", "T": "time", "D": "direction", "F": "feature"}
    raise UnsupportedError(f"{where(node)} merges the {' and '.join(names[r] for r in roles)} axes into one",
                           "keep (batch, time, features) separate; only the directions may merge into features")


def reshape(act: Act, node, shape, allowzero: bool = False) -> Act:
    # a D axis of size 1 is a direction, not a unit axis: fold it into the features first
    while (d := act.axis("D")) is not None and act.axes[d].size == 1:
        act = fold_direction(act, 0)
    dims_in = [a.size if a.size is not None else SYMBOLIC_BATCH for a in act.axes]
    total = math.prod(dims_in)
    out = [int(v) for v in shape]
    for i, v in enumerate(out):
        if v == 0 and not allowzero:
            if i >= len(dims_in):
                raise UnsupportedError(f"{where(node)}: a 0 in the shape beyond the input's rank")
            out[i] = dims_in[i]
    if out.count(-1) > 1:
        raise UnsupportedError(f"{where(node)}: more than one -1 in the shape")
    if -1 in out:
        known = math.prod(v for v in out if v != -1)
        if known == 0 or total % known:
            raise UnsupportedError(f"{where(node)}: shape {list(shape)} does not fit")
        out[out.index(-1)] = total // known
    if math.prod(out) != total:
        raise UnsupportedError(f"{where(node)}: shape {list(shape)} does not fit the value's size")
    src = [a for a in act.axes if a.role != "1"]
    axes, i = [], 0
    for d in out:
        if d == 1 and (i >= len(src) or src[i].size != 1):
            axes.append(Axis("1", 1))
            continue
        group, p = [], 1
        while p < d or not group:
            if i >= len(src):
                raise UnsupportedError(f"{where(node)}: shape {list(shape)} splits an axis")
            group.append(src[i])
            p *= src[i].size or SYMBOLIC_BATCH
            i += 1
        if p != d:
            raise UnsupportedError(f"{where(node)}: shape {list(shape)} splits an axis")
        axes.append(_merge(act, group, node))
    if i < len(src):
        raise UnsupportedError(f"{where(node)}: shape {list(shape)} drops the {src[i].role} axis")
    if sum(a.role == "N" for a in axes) != 1:
        raise UnsupportedError(f"{where(node)}: the batch axis does not survive the reshape")
    return replace(act, axes=tuple(axes))


def flatten(act: Act, node, axis: int) -> Act:
    ax = _norm_axis(axis, len(act.axes) + 1, node) if axis != len(act.axes) else axis
    dims = [a.size if a.size is not None else SYMBOLIC_BATCH for a in act.axes]
    return reshape(act, node, [math.prod(dims[:ax]), math.prod(dims[ax:])])


def concat(acts: list[Act | Stacked], node, axis: int) -> Act | Stacked:
    first = acts[0]
    ax = _norm_axis(axis, len(first.axes), node)
    parts = [p for a in acts for p in (a.parts if isinstance(a, Stacked) else (a,))]
    if len({p.layer for p in parts}) > 1 and first.axes[ax].role == "D" and all(p.stage == "rnn" for p in parts):
        return Stacked(tuple(parts), ax)  # PyTorch's h_n: every layer's final states, layer after layer
    if any(isinstance(a, Stacked) for a in acts):
        raise UnsupportedError(f"{where(node)} uses the states of several layers at once", "use the last layer's")
    for a in acts[1:]:
        if (a.stage, a.layer) != (first.stage, first.layer) or a.roles != first.roles:
            raise UnsupportedError(f"{where(node)} joins values of different layers or layouts (a branch)",
                                   "edgelstm reads a plain chain of layers")
    role = first.axes[ax].role
    taken: dict = {}
    for a in acts:
        for d in a.present_dirs():
            if d in a.taken and taken.setdefault(d, a.taken[d]) != a.taken[d]:
                raise UnsupportedError(f"{where(node)} joins two time steps of one direction")
    axes = list(first.axes)
    if role == "F" and first.axis("D") is None:
        cols = tuple(c for a in acts for c in a.axes[ax].cols)
        axes[ax] = Axis("F", len(cols), cols=cols)
    elif role == "D" and all(a.axes[a.axis("F")].cols == first.axes[first.axis("F")].cols for a in acts):
        dirs = tuple(d for a in acts for d in a.axes[ax].dirs)
        axes[ax] = replace(axes[ax], size=len(dirs), dirs=dirs)
    else:
        raise UnsupportedError(f"{where(node)} concatenates along the {role} axis",
                               "only the two directions of one layer may be concatenated")
    return replace(first, axes=tuple(axes), taken=taken)
