"""The dataset: labelled sequences in memory (:class:`Dataset`) and the checks every one passes.

A dataset is a set of labelled sequences ``X[i]`` of shape ``(T, F)``: T frames of F features.
On disk it is an ``.npz`` archive readable with ``np.load(path, allow_pickle=False)``:

====================  =========================================================================
key                   content
====================  =========================================================================
``X_train``           float (N, T, F) training sequences
``y_train``           (N,) labels: integers 0..C-1, or strings (class names)
``X_test``            float (M, T, F) test sequences (optional: without it the training data
                      is split, stratified, with ``test_fraction``)
``y_test``            (M,) labels (together with ``X_test``)
``class_names``       (C,) strings (optional; default ``class_0``.. or the sorted string labels)
``feature_names``     (F,) strings (optional; default ``f0``, ``f1``..)
``lengths_train``     (N,) true length of each sequence, which is pre-padded with zeros
``lengths_test``      (M,) idem (both optional)
``params_json``       0-d string: JSON of the generation parameters / provenance (optional)
====================  =========================================================================

A CSV file in long form is also accepted: one row per frame with the columns ``sequence_id``,
``frame``, the feature columns, ``label`` and optionally ``split`` (``train``/``test``), in any
order. Sequences of different lengths are pre-padded with 0.0 to the longest one.

Every problem with a file is raised as :class:`~edgelstm.errors.DataError` with one line that
names the file, the problem and the fix.

Files are read and written by :mod:`edgelstm.data.files` (NPZ/CSV parsing in
:mod:`~edgelstm.data.readers`, labels in :mod:`~edgelstm.data.labels`, the test split of a file
without one in :mod:`~edgelstm.data.split`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError, EdgelstmError

MIN_CLASSES = 2
MAX_CLASSES = 50

SPLITS = ("train", "test")


@dataclass
class Dataset:
    """Labelled sequences for training and testing a sequence classifier.

    ``X_*`` are float32 (N, T, F), ``y_*`` int64 (N,) with values 0..C-1. ``lengths_*``, when
    present, give the true length of each sequence; the sequence is pre-padded with zeros, so
    its data are the last ``length`` frames.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    feature_names: list[str]
    lengths_train: np.ndarray | None = None
    lengths_test: np.ndarray | None = None
    params: dict = field(default_factory=dict)
    source: str = ""
    sha256: str = ""

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[2])

    @property
    def window(self) -> int:
        """Frames per sequence (T)."""
        return int(self.X_train.shape[1])

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``(X, y, lengths)`` of the ``"train"`` or ``"test"`` split."""
        if name == "train":
            return self.X_train, self.y_train, self.lengths_train
        if name == "test":
            return self.X_test, self.y_test, self.lengths_test
        raise EdgelstmError(f"unknown dataset split '{name}'", "use 'train' or 'test'")

    def validate(self) -> None:
        """Check shapes, dtypes, values and names; raise DataError naming the problem."""
        check_dataset(self, dataset_label(self.source))


def check_features(ds_or_X: Dataset | np.ndarray, n_features: int, what: str) -> None:
    """Raise DataError if the data do not have ``n_features`` features per frame.

    ``what`` names the consumer, e.g. ``"the model"``: "data has 12 features per frame but the
    model expects 16".
    """
    if isinstance(ds_or_X, Dataset):
        X, name = ds_or_X.X_train, (f"dataset '{ds_or_X.source}'" if ds_or_X.source else "data")
    else:
        X, name = np.asarray(ds_or_X), "data"
    if X.ndim != 3:
        raise DataError(f"{name} has shape {shape_str(X)} but {what} expects sequences (N, T, {n_features})")
    if X.shape[2] != n_features:
        raise DataError(
            f"{name} has {X.shape[2]} features per frame but {what} expects {n_features}",
            "use the dataset the model was trained on, or retrain on this one",
        )


def shape_str(a: np.ndarray) -> str:
    """``(N, T, F)``: an array's shape as the error messages write it."""
    return "(" + ", ".join(str(s) for s in a.shape) + ")"


def dataset_label(source: str) -> str:
    """How messages name a dataset: ``dataset 'path'`` (``dataset`` when it has no file)."""
    return f"dataset '{source}'" if source else "dataset"


def check_dataset(ds: Dataset, where: str) -> None:
    """All invariants of a Dataset; the first violation is raised as a one-line DataError."""
    C = len(ds.class_names)
    if not (MIN_CLASSES <= C <= MAX_CLASSES):
        raise DataError(f"{where} has {C} class(es); edgelstm supports {MIN_CLASSES}..{MAX_CLASSES}")
    for split in SPLITS:
        X, y, lengths = ds.split(split)
        xn, yn = f"X_{split}", f"y_{split}"
        if not isinstance(X, np.ndarray) or X.ndim != 3:
            raise DataError(f"{where}: {xn} has shape {shape_str(np.asarray(X))} but sequences must be (N, T, F)")
        if X.dtype.kind != "f":
            raise DataError(f"{where}: {xn} has dtype {X.dtype}; a Dataset holds float32")
        if len(X) == 0:
            raise DataError(f"{where}: {xn} has zero sequences")
        y = np.asarray(y)
        if y.ndim != 1 or y.dtype.kind not in "iu":
            raise DataError(f"{where}: {yn} must be integer labels (N,), got {y.dtype} {shape_str(y)}")
        if len(y) != len(X):
            raise DataError(f"{where}: {xn} has {len(X)} sequences but {yn} has {len(y)} labels", "they must match")
        if y.min() < 0 or y.max() >= C:
            bad = int(y.min()) if y.min() < 0 else int(y.max())
            raise DataError(f"{where}: labels out of range in {yn}: found {bad}, expected 0..{C - 1}")
        finite = np.isfinite(X)
        if not finite.all():
            n_nan, n_inf = int(np.isnan(X).sum()), int(np.isinf(X).sum())
            i, t, f = np.argwhere(~finite)[0]
            what = " and ".join(s for s in (f"{n_nan} NaN" if n_nan else "", f"{n_inf} inf" if n_inf else "") if s)
            raise DataError(
                f"{where}: {xn} has {what} value(s) (first at sequence {i}, frame {t}, feature {f})",
                "clean or impute them" + (" (inf may come from values beyond the float32 range)" if n_inf else ""),
            )
        if lengths is not None:
            lengths = np.asarray(lengths)
            if lengths.shape != (len(X),):
                raise DataError(f"{where}: lengths_{split} has shape {shape_str(lengths)} but {xn} has {len(X)} sequences")
            if lengths.min() < 1 or lengths.max() > X.shape[1]:
                bad = int(lengths.min()) if lengths.min() < 1 else int(lengths.max())
                raise DataError(f"{where}: lengths_{split} has length {bad}, outside 1..{X.shape[1]} (the window)")
    if ds.X_train.shape[1:] != ds.X_test.shape[1:]:
        raise DataError(
            f"{where}: X_train has (T, F) = {ds.X_train.shape[1:]} but X_test has {ds.X_test.shape[1:]}",
            "both splits must have the same shape",
        )
    if len(np.unique(ds.y_train)) < 2:
        only = ds.class_names[int(ds.y_train[0])]
        raise DataError(
            f"{where}: the training split has a single class ('{only}')",
            "a classifier needs sequences of at least two classes",
        )
    if len(ds.feature_names) != ds.X_train.shape[2]:
        raise DataError(
            f"{where}: feature_names has {len(ds.feature_names)} names but the data have {ds.X_train.shape[2]} features"
        )
    try:
        json.dumps(ds.params, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise DataError(f"{where}: params are not JSON-able ({e})") from None
