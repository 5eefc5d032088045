"""Dataset files: :func:`load_dataset` (NPZ or long-form CSV, checked), :func:`save_dataset`
(NPZ), and :func:`load_for_model`, which loads a file with the test split a model was trained
with. The format is described in :mod:`edgelstm.data.dataset`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..fsutil import atomic_path, sha256_file
from .dataset import Dataset, check_dataset, shape_str
from .labels import as_labels, encode_labels, read_names
from .readers import read_csv, read_npz, sniff_format
from .split import DEFAULT_TEST_FRACTION, split_settings, split_test


def load_dataset(path: str | os.PathLike, *, test_fraction: float | None = None, seed: int = 0) -> Dataset:
    """Load an NPZ or long-form CSV dataset and check it.

    Args:
        path: ``.npz`` or ``.csv`` file (other names are recognised by their content).
        test_fraction: share of each class moved to the test split when the file has no test
            split (default 0.2); ignored when it has one.
        seed: seed of that split (the same seed gives the same split).
    """
    p = Path(path)
    where = f"dataset '{p}'"
    if test_fraction is not None and not (0.0 < float(test_fraction) < 1.0):
        raise DataError(f"test fraction {test_fraction} must be between 0 and 1 (exclusive), e.g. 0.2")
    if not p.exists():
        raise DataError(f"{where} does not exist", "check the path, or create one with 'edgelstm data radar'")
    if p.is_dir():
        raise DataError(f"{where} is a directory, not a file")
    if not os.access(p, os.R_OK):
        raise DataError(f"{where} is not readable (check its permissions)")
    if p.stat().st_size == 0:
        raise DataError(f"{where} is empty (0 bytes)", "regenerate it")

    with open(p, "rb") as f:
        head = f.read(8)
    kind = sniff_format(p, head, where)
    raw = read_npz(p, where) if kind == "npz" else read_csv(p, where)
    ds = _assemble(raw, where, test_fraction, seed)
    ds.source = str(p)
    ds.sha256 = sha256_file(p)
    return ds


def load_for_model(path: str | os.PathLike, model_or_metadata) -> Dataset:
    """Load the dataset ``path`` with the test split the model was trained with.

    ``model_or_metadata`` is the model's metadata dict (the ``.json`` next to a ``.keras``, or a
    ``.tflite``'s edgelstm metadata), a model read from a ``.tflite`` (its ``.ir.info.extra``) or
    its IR (``.info.extra``); ``None`` or a model without metadata gives the default split. A
    file with a test split of its own is loaded as it is (see :func:`split_settings`).
    """
    return load_dataset(path, **split_settings(_metadata_of(model_or_metadata)))


def _metadata_of(model_or_metadata) -> dict:
    """The metadata dict of a model or IR (read duck-typed: the data layer imports no model code)."""
    if model_or_metadata is None or isinstance(model_or_metadata, dict):
        return model_or_metadata or {}
    ir = getattr(model_or_metadata, "ir", model_or_metadata)
    extra = getattr(getattr(ir, "info", None), "extra", None)
    return extra if isinstance(extra, dict) else {}


def save_dataset(ds: Dataset, path: str | os.PathLike) -> None:
    """Write ``ds`` as a compressed NPZ (atomically: no partial file on failure)."""
    ds.validate()
    arrays = {
        "X_train": np.ascontiguousarray(ds.X_train, dtype=np.float32),
        "y_train": np.asarray(ds.y_train, dtype=np.int64),
        "X_test": np.ascontiguousarray(ds.X_test, dtype=np.float32),
        "y_test": np.asarray(ds.y_test, dtype=np.int64),
        "class_names": np.array([str(c) for c in ds.class_names], dtype=str),
        "feature_names": np.array([str(f) for f in ds.feature_names], dtype=str),
        "params_json": np.array(json.dumps(ds.params, sort_keys=True, allow_nan=False)),
    }
    if ds.lengths_train is not None:
        arrays["lengths_train"] = np.asarray(ds.lengths_train, dtype=np.int64)
    if ds.lengths_test is not None:
        arrays["lengths_test"] = np.asarray(ds.lengths_test, dtype=np.int64)
    with atomic_path(path, what="dataset file") as tmp:
        # A file object, because np.savez_compressed appends ".npz" to names that lack it.
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)


# --------------------------------------------------------------------------------------------
# From raw arrays to a checked Dataset


def _assemble(raw: dict, where: str, test_fraction: float | None, seed: int) -> Dataset:
    files = raw.pop("_files")
    if "X_train" not in raw or "y_train" not in raw:
        missing = [k for k in ("X_train", "y_train") if k not in raw]
        found = ", ".join(files) if files else "nothing"
        raise DataError(
            f"{where} lacks the array(s) {', '.join(missing)} (found: {found[:200]})",
            "an edgelstm dataset needs X_train (N, T, F) and y_train (N,); X_test/y_test are optional",
        )
    if ("X_test" in raw) != ("y_test" in raw):
        have, lack = ("X_test", "y_test") if "X_test" in raw else ("y_test", "X_test")
        raise DataError(f"{where} has {have} but lacks {lack}", "give both or neither (then the training data is split)")

    X_tr = _as_sequences(raw["X_train"], "X_train", where)
    has_test = "X_test" in raw
    X_te = _as_sequences(raw["X_test"], "X_test", where) if has_test else None
    y_tr = as_labels(raw["y_train"], "y_train", where)
    y_te = as_labels(raw["y_test"], "y_test", where) if has_test else None
    for xn, yn, X, y in (("X_train", "y_train", X_tr, y_tr), ("X_test", "y_test", X_te, y_te)):
        if X is not None and len(X) != len(y):
            raise DataError(f"{where}: {xn} has {len(X)} sequences but {yn} has {len(y)} labels", "they must match")
    if X_te is not None:
        for axis, what in ((2, "features per frame"), (1, "frames per sequence")):
            if X_tr.shape[axis] != X_te.shape[axis]:
                raise DataError(
                    f"{where}: X_train has {X_tr.shape[axis]} {what} but X_test has {X_te.shape[axis]}",
                    "both splits must have the same shape (T, F)",
                )

    class_names = read_names(raw.get("class_names"), "class_names", where)
    feature_names = read_names(raw.get("feature_names"), "feature_names", where)
    y_tr, y_te, class_names = encode_labels(y_tr, y_te, class_names, where)
    if feature_names is None:
        feature_names = [f"f{i}" for i in range(X_tr.shape[2])]
    len_tr = _as_lengths(raw.get("lengths_train"), "lengths_train", where)
    len_te = _as_lengths(raw.get("lengths_test"), "lengths_test", where)
    params = _params(raw.get("params_json"), where)

    ds = Dataset(X_tr, y_tr, X_te, y_te, class_names, feature_names, len_tr, len_te, params)
    if not has_test:
        if len_te is not None:
            raise DataError(f"{where} has lengths_test but no X_test/y_test")
        if len_tr is not None and len_tr.shape != (len(X_tr),):
            raise DataError(f"{where}: lengths_train has shape {shape_str(len_tr)} but X_train has {len(X_tr)} sequences",
                            "give one length per sequence")
        split_test(ds, DEFAULT_TEST_FRACTION if test_fraction is None else float(test_fraction), seed, where)
    check_dataset(ds, where)
    return ds


def _as_sequences(a: np.ndarray, key: str, where: str) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        raise DataError(f"{where}: {key} has dtype {a.dtype}, not numbers", f"store {key} as a float array")
    if a.ndim == 2:
        raise DataError(
            f"{where}: {key} has shape {shape_str(a)} but sequences must be (N, T, F)",
            f"for one frame per sequence use {key}[:, None, :]; for one feature per frame {key}[:, :, None]",
        )
    if a.ndim != 3:
        raise DataError(f"{where}: {key} has shape {shape_str(a)} (rank {a.ndim}) but sequences must be (N, T, F)")
    if a.shape[0] == 0:
        raise DataError(f"{where}: {key} has zero sequences")
    if a.shape[1] == 0 or a.shape[2] == 0:
        raise DataError(f"{where}: {key} has shape {shape_str(a)}; sequences need at least one frame and one feature")
    with np.errstate(over="ignore"):
        return a.astype(np.float32)


def _as_lengths(a, key: str, where: str) -> np.ndarray | None:
    if a is None:
        return None
    a = np.asarray(a)
    if a.ndim != 1 or a.dtype.kind not in "iuf":
        raise DataError(f"{where}: {key} must be a 1-D integer array (got {a.dtype} {shape_str(a)})")
    if a.dtype.kind == "f" and (~np.isfinite(a) | (a != np.round(a))).any():
        raise DataError(f"{where}: {key} has non-integer values")
    return a.astype(np.int64)


def _params(a, where: str) -> dict:
    if a is None:
        return {}
    try:
        params = json.loads(str(np.asarray(a).item()))
    except (ValueError, TypeError):
        raise DataError(f"{where}: params_json is not valid JSON", "store json.dumps(params) or drop the key") from None
    if not isinstance(params, dict):
        raise DataError(f"{where}: params_json must hold a JSON object, not {type(params).__name__}")
    return params
