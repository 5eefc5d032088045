"""Stratified splits and samples: the one rule every stage follows.

Three stages take part of a labelled set: the dataset's test split of a file without one
(:func:`split_test`), ``train``'s validation split, and ``quantize``'s calibration sample. They all
come from here, so a class of one or two sequences is treated the same way everywhere.

The rule
--------
Classes are visited in ascending label order and all draw from one
``numpy.random.default_rng(seed)``: the same labels, fraction (or size) and seed give the same
indices.

**Split** (:func:`stratified_split`: kept and held-out indices; the held-out sequences leave the set)

- a class of ``n >= 2`` sequences holds out ``k = round(n * fraction)`` of them, clamped to
  ``1..n-1`` (:func:`held_out_count`): the first ``k`` of a shuffle of its indices;
- a class of one sequence stays on the kept side;
- ``fraction == 0`` holds out nothing.

So the kept side (training) has every class, and the held-out side (test or validation) every
class with at least two sequences: a class of 2 is split 1 / 1, and training still sees it.

**Sample** (:func:`stratified_sample`: ``size`` indices in random order; the sampled sequences
stay in the set, e.g. calibration sequences remain training sequences)

- ``size >= len(y)``: every index, shuffled;
- otherwise every class draws an equal quota ``max(1, size // C)`` of its indices without
  replacement (all of them when it has fewer; a class of one sequence is drawn like any other, as
  nothing is taken away from it), the shortfall is drawn from the indices not drawn yet, and the
  result is shuffled;
- with fewer places than classes (``size < C``) the ``size`` classes that get one are chosen at
  random (the shuffle is taken before the cut).

These reproduce, draw for draw, what the dataset loader, ``train`` and ``quantize`` did before
the rule was written down, in every case where they agreed; only the degenerate cases changed:
``train`` held out no sequence of a class of 2 (it now holds out one), and a calibration sample
smaller than the number of classes took the lowest labels (now random classes).
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from .dataset import Dataset

DEFAULT_TEST_FRACTION = 0.2


def held_out_count(n: int, fraction: float) -> int:
    """Sequences a class of ``n`` holds out: ``round(n * fraction)`` clamped to ``1..n-1``; none
    for a class of one sequence or a fraction of 0."""
    if n < 2 or fraction <= 0.0:
        return 0
    return min(n - 1, max(1, int(round(n * fraction))))


def _class_indices(y: np.ndarray) -> list[np.ndarray]:
    """The indices of each label, in ascending label order."""
    return [np.flatnonzero(y == c) for c in np.unique(y)]


def stratified_split(y, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted indices ``(kept, held_out)`` of ``y`` split by the module's rule."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"split fraction {fraction} must be in [0, 1)")
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    held = np.zeros(len(y), dtype=bool)
    for idx in _class_indices(y):
        k = held_out_count(len(idx), fraction)
        if k:
            held[rng.permutation(idx)[:k]] = True
    return np.flatnonzero(~held), np.flatnonzero(held)


def stratified_sample(y, size: int, seed: int) -> np.ndarray:
    """``size`` indices of ``y`` (all of them if it has fewer) drawn by the module's rule, in
    random order."""
    if size < 1:
        raise ValueError(f"sample size {size} must be >= 1")
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    if size >= len(y):
        return rng.permutation(len(y))
    groups = _class_indices(y)
    quota = max(1, size // len(groups))
    idx = np.concatenate([rng.choice(ids, size=min(quota, len(ids)), replace=False) for ids in groups])
    if len(idx) < size:
        rest = np.setdiff1d(np.arange(len(y)), idx)
        idx = np.concatenate([idx, rng.choice(rest, size=min(size - len(idx), len(rest)), replace=False)])
    # len(idx) == size except when size < C (one per class): the shuffle then picks the classes.
    return rng.permutation(idx)[:size]


def split_test(ds: Dataset, fraction: float, seed: int, where: str) -> None:
    """Move a stratified ``fraction`` of ``ds``'s training sequences to its (absent) test split and
    record how in ``ds.params["split"]`` (read back through the model metadata by
    :func:`split_settings`)."""
    y = ds.y_train
    train, test = stratified_split(y, fraction, seed)
    if not len(test):
        raise DataError(
            f"{where} has no test split and too few sequences to make one ({len(y)})",
            "add X_test/y_test or more sequences",
        )
    ds.X_test, ds.y_test = ds.X_train[test], y[test]
    ds.X_train, ds.y_train = ds.X_train[train], y[train]
    if ds.lengths_train is not None:
        ds.lengths_test = ds.lengths_train[test]
        ds.lengths_train = ds.lengths_train[train]
    ds.params = dict(ds.params) | {"split": {"test_fraction": fraction, "seed": int(seed), "stratified": True}}


def split_record(ds: Dataset) -> dict:
    """{"split": ...} for the "data" entry of a model's metadata when edgelstm split the file
    (read back by :func:`split_settings`), else {}."""
    return {"split": ds.params["split"]} if "split" in ds.params else {}


def split_settings(meta) -> dict:
    """``load_dataset`` keyword arguments that repeat the test split a model was trained with.

    When a dataset has no test split of its own, ``edgelstm train`` splits it (``--test-fraction``,
    ``--seed``) and records how in the model's metadata (``data.split``); ``quantize`` carries that
    into the .tflite. Every later stage loads the same file with these settings
    (:func:`edgelstm.data.files.load_for_model`), so its test sequences are the ones the model
    never trained on. Absent or hand-edited values give {} (the defaults); a file with its own
    test split ignores them anyway.
    """
    try:
        sp = meta["data"]["split"]
        fraction, seed = sp["test_fraction"], sp["seed"]
    except (KeyError, TypeError):
        return {}
    if isinstance(fraction, bool) or isinstance(seed, bool) or not isinstance(seed, int):
        return {}
    if not isinstance(fraction, (int, float)) or not 0.0 < float(fraction) < 1.0 or seed < 0:
        return {}
    return {"test_fraction": float(fraction), "seed": seed}
