"""The one stratified splitter (edgelstm.data.split): its rule for tiny classes, and that it draws
exactly what the three splitters it replaced drew wherever they agreed (the dataset's test split of
existing files and the reference models' calibration samples must not move)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from edgelstm.data import Dataset, load_dataset, load_for_model, save_dataset
from edgelstm.data.split import held_out_count, stratified_sample, stratified_split
from edgelstm.errors import DataError

# --------------------------------------------------------------------------------------------
# The three splitters before issue 14, verbatim but for names: the oracle for the cases they
# handled.


def legacy_dataset_split(y, n_classes, fraction, seed):
    """data/dataset.py _split: test indices."""
    rng = np.random.default_rng(seed)
    test_idx = []
    for c in range(n_classes):
        idx = np.flatnonzero(y == c)
        if len(idx) < 2:
            continue
        k = min(len(idx) - 1, max(1, int(round(len(idx) * fraction))))
        test_idx.append(rng.permutation(idx)[:k])
    test = np.zeros(len(y), dtype=bool)
    if test_idx:
        test[np.concatenate(test_idx)] = True
    return np.flatnonzero(~test), np.flatnonzero(test)


def legacy_train_split(y, fraction, seed):
    """train.py stratified_split."""
    rng = np.random.default_rng(seed)
    keep, held = [], []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        n = int(round(len(idx) * fraction))
        if len(idx) >= 3:
            n = min(max(n, 1), len(idx) - 1)
        else:
            n = 0
        held.append(idx[:n])
        keep.append(idx[n:])
    return np.sort(np.concatenate(keep)), np.sort(np.concatenate(held))


def legacy_calibration_sample(y, n, seed):
    """quantize/pipeline.py _stratified_sample."""
    rng = np.random.default_rng(seed)
    if n >= len(y):
        return rng.permutation(len(y))
    classes = np.unique(y)
    per = max(1, n // len(classes))
    idx = []
    for c in classes:
        ids = np.flatnonzero(y == c)
        idx.append(rng.choice(ids, size=min(per, len(ids)), replace=False))
    idx = np.concatenate(idx)
    if len(idx) < n:
        rest = np.setdiff1d(np.arange(len(y)), idx)
        idx = np.concatenate([idx, rng.choice(rest, size=min(n - len(idx), len(rest)), replace=False)])
    return rng.permutation(idx[:n])


# --------------------------------------------------------------------------------------------
# Strategies: label vectors of tiny classes (1..6 sequences), in random order.


@st.composite
def tiny_labels(draw, max_classes=6, max_size=6):
    sizes = draw(st.lists(st.integers(1, max_size), min_size=1, max_size=max_classes))
    labels = np.repeat(np.arange(len(sizes)), sizes)
    order = draw(st.permutations(list(range(len(labels)))))
    return labels[np.array(order, dtype=np.int64)]


fractions = st.floats(0.01, 0.9, allow_nan=False)
seeds = st.integers(0, 2**32 - 1)


def _counts(y, idx, C):
    return np.bincount(y[idx], minlength=C)


@settings(max_examples=300, deadline=None)
@given(tiny_labels(), fractions, seeds)
@example(np.array([0, 0, 1, 1]), 0.2, 0)  # two classes of 2: 1 / 1 each
@example(np.array([0, 1, 1, 1]), 0.5, 3)  # a class of 1 stays in training
def test_split_rule_for_tiny_classes(y, fraction, seed):
    C = int(y.max()) + 1
    sizes = np.bincount(y, minlength=C)
    kept, held = stratified_split(y, fraction, seed)
    assert np.array_equal(np.sort(np.concatenate([kept, held])), np.arange(len(y)))  # a partition
    assert np.all(np.diff(kept) > 0) and np.all(np.diff(held) > 0)  # sorted
    k, h = _counts(y, kept, C), _counts(y, held, C)
    assert np.all(k >= 1)  # training keeps every class
    assert np.all(h[sizes >= 2] >= 1)  # every class of 2 or more is on both sides
    assert np.all(h[sizes == 1] == 0)  # a class of 1 stays in training
    assert h.tolist() == [held_out_count(int(n), fraction) for n in sizes]
    again = stratified_split(y, fraction, seed)
    assert np.array_equal(again[0], kept) and np.array_equal(again[1], held)


@settings(max_examples=300, deadline=None)
@given(tiny_labels(max_classes=8, max_size=12), fractions, seeds)
def test_split_draws_what_the_dataset_split_drew(y, fraction, seed):
    kept, held = stratified_split(y, fraction, seed)
    old_kept, old_held = legacy_dataset_split(y, int(y.max()) + 1, fraction, seed)
    assert np.array_equal(kept, old_kept) and np.array_equal(held, old_held)


@settings(max_examples=300, deadline=None)
@given(tiny_labels(max_classes=8, max_size=12), st.floats(0.0, 0.89, allow_nan=False), seeds)
def test_split_draws_what_train_drew_except_for_classes_of_two(y, fraction, seed):
    """train held out nothing of a class of 2 (and so had no validation sequence of it); the rule
    now holds out one. Every other class gets the same sequences as before."""
    kept, held = stratified_split(y, fraction, seed)
    old_kept, old_held = legacy_train_split(y, fraction, seed)
    if fraction == 0.0:
        assert len(held) == 0 and np.array_equal(kept, np.arange(len(y)))
        return
    pairs = np.flatnonzero(np.bincount(y) == 2)
    in_pair = np.isin(y, pairs)
    assert np.array_equal(held[~in_pair[held]], old_held)
    assert np.array_equal(kept[~in_pair[kept]], old_kept[~in_pair[old_kept]])
    assert np.array_equal(np.bincount(y[held], minlength=int(y.max()) + 1)[pairs], np.ones(len(pairs)))


def test_split_fraction_zero_and_out_of_range():
    y = np.array([0, 0, 1, 1, 1])
    kept, held = stratified_split(y, 0.0, 0)
    assert kept.tolist() == [0, 1, 2, 3, 4] and held.tolist() == []
    for bad in (-0.1, 1.0, 2.0):
        with pytest.raises(ValueError):
            stratified_split(y, bad, 0)
    assert stratified_split(np.array([], dtype=np.int64), 0.2, 0)[1].tolist() == []


@settings(max_examples=300, deadline=None)
@given(tiny_labels(max_classes=8, max_size=12), st.integers(1, 100), seeds)
@example(np.array([0, 1, 2, 3, 4, 5, 6]), 3, 0)  # fewer places than classes
def test_sample_rule_for_tiny_classes(y, size, seed):
    C = int(y.max()) + 1
    sizes = np.bincount(y, minlength=C)
    idx = stratified_sample(y, size, seed)
    assert len(idx) == min(size, len(y)) and len(np.unique(idx)) == len(idx)
    assert idx.min() >= 0 and idx.max() < len(y)
    counts = np.bincount(y[idx], minlength=C)
    if size >= len(y):
        assert np.all(counts == sizes)
    elif size >= C:
        assert np.all(counts >= np.minimum(size // C, sizes))  # every class, singletons too
    else:
        assert np.count_nonzero(counts) == size and counts.max() == 1  # size classes, one each
    assert np.array_equal(stratified_sample(y, size, seed), idx)


@settings(max_examples=300, deadline=None)
@given(tiny_labels(max_classes=8, max_size=12), st.integers(1, 100), seeds)
def test_sample_draws_what_the_calibration_sample_drew(y, size, seed):
    """Identical to quantize's former sample whenever it could hold every class (size >= C)."""
    C = len(np.unique(y))
    if size < C and size < len(y):
        return  # the degenerate case that changed (it took the lowest labels)
    assert np.array_equal(stratified_sample(y, size, seed), legacy_calibration_sample(y, size, seed))


def test_sample_of_the_radar_training_split_is_unchanged():
    """The reference models' calibration: 500 of 8,000 balanced radar labels, seed 0 (the
    .tflite files are quantized from this sample)."""
    y = np.random.default_rng(5).permutation(np.arange(8000) % 7)
    for size, seed in ((500, 0), (499, 1), (7, 2), (8000, 0), (9000, 3)):
        assert np.array_equal(stratified_sample(y, size, seed), legacy_calibration_sample(y, size, seed))
    big = np.random.default_rng(1).permutation(np.arange(60000) % 3)  # classes above 10,000 sequences
    assert np.array_equal(stratified_sample(big, 300, 4), legacy_calibration_sample(big, 300, 4))


def test_sample_size_must_be_positive():
    with pytest.raises(ValueError):
        stratified_sample(np.array([0, 1]), 0, 0)


# --------------------------------------------------------------------------------------------
# The dataset's test split and load_for_model


def _dataset(y, T=3, F=2):
    X = np.random.default_rng(0).normal(size=(len(y), T, F)).astype(np.float32)
    return Dataset(X, np.asarray(y, np.int64), X[:1], np.zeros(1, np.int64), ["a", "b", "c"], ["f0", "f1"])


def _save_without_test(tmp_path, y, name="d.npz"):
    ds = _dataset(y)
    p = tmp_path / name
    save_dataset(ds, p)
    with np.load(p) as z:
        arrays = {k: z[k] for k in z.files if k not in ("X_test", "y_test")}
    np.savez(p, **arrays)
    return p


def test_a_file_with_a_class_of_two_and_a_class_of_one(tmp_path):
    y = [0] * 10 + [1, 1] + [2]
    ds = load_dataset(_save_without_test(tmp_path, y))
    assert np.bincount(ds.y_test, minlength=3).tolist() == [2, 1, 0]
    assert np.bincount(ds.y_train, minlength=3).tolist() == [8, 1, 1]


def test_a_file_too_small_to_split(tmp_path):
    with pytest.raises(DataError, match="too few sequences"):
        load_dataset(_save_without_test(tmp_path, [0, 1, 2]))


def test_load_for_model_takes_the_split_from_any_form_of_metadata(tmp_path):
    p = _save_without_test(tmp_path, [0, 1, 2] * 10)
    meta = {"data": {"split": {"test_fraction": 0.5, "seed": 7, "stratified": True}}}
    want = load_dataset(p, test_fraction=0.5, seed=7)
    forms = [meta, SimpleNamespace(info=SimpleNamespace(extra=meta)),  # a dict, an IR, an Int8Model
             SimpleNamespace(ir=SimpleNamespace(info=SimpleNamespace(extra=meta)))]
    for form in forms:
        ds = load_for_model(p, form)
        assert np.array_equal(ds.y_test, want.y_test) and np.array_equal(ds.X_test, want.X_test)
    default = load_dataset(p)
    for form in (None, {}, SimpleNamespace(), {"data": {"split": {"test_fraction": 3, "seed": 1}}}):
        assert np.array_equal(load_for_model(p, form).X_test, default.X_test)
