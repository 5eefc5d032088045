"""Labels and names: label arrays checked and encoded as class indices 0..C-1, name lists read
from a file, and a file's labels matched to a model's classes by name.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from .dataset import MAX_CLASSES, MIN_CLASSES, shape_str


def as_labels(a: np.ndarray, key: str, where: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        hint = f"for one-hot labels use {key}.argmax(1)" if a.ndim == 2 else "give one label per sequence"
        raise DataError(f"{where}: {key} has shape {shape_str(a)} but labels must be (N,)", hint)
    if a.dtype.kind in "US":
        return np.char.strip(a.astype(str))
    if a.dtype.kind == "b":
        return a.astype(np.int64)
    if a.dtype.kind in "iu":
        return a.astype(np.int64)
    if a.dtype.kind == "f":
        if not np.isfinite(a).all():
            raise DataError(f"{where}: {key} has {int((~np.isfinite(a)).sum())} NaN/inf labels")
        if (a != np.round(a)).any():
            example = a[a != np.round(a)][0]
            raise DataError(
                f"{where}: {key} has non-integer labels (e.g. {example:g})", "labels are class indices 0..C-1 or names"
            )
        return a.astype(np.int64)
    raise DataError(f"{where}: {key} has dtype {a.dtype}", "labels must be integers 0..C-1 or strings")


def read_names(a, key: str, where: str) -> list[str] | None:
    if a is None:
        return None
    a = np.asarray(a)
    if a.ndim != 1:
        raise DataError(f"{where}: {key} has shape {shape_str(a)} but must be a list of names (1-D)")
    names = [x.decode() if isinstance(x, bytes) else str(x) for x in a.tolist()]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise DataError(f"{where}: {key} has duplicate name(s) {', '.join(dup)[:100]}", "names must be unique")
    return names


def encode_labels(y_tr, y_te, class_names, where):
    """Labels as int64 0..C-1 and the class names (strings map to class names or sorted order)."""
    parts = [y_tr] + ([y_te] if y_te is not None else [])
    kinds = {p.dtype.kind for p in parts}
    if len(kinds) > 1:
        raise DataError(f"{where}: y_train and y_test mix string and integer labels", "use one kind")
    if kinds == {"U"}:
        if class_names is None:
            class_names = sorted(set(np.concatenate(parts).tolist()))
        index = {c: i for i, c in enumerate(class_names)}
        unknown = sorted(set(np.concatenate(parts).tolist()) - set(index))
        if unknown:
            raise DataError(
                f"{where}: label(s) {', '.join(unknown)[:100]} are not in class_names ({', '.join(class_names)[:100]})",
                "add them to class_names or fix the labels",
            )
        encoded = [np.array([index[v] for v in p.tolist()], dtype=np.int64) for p in parts]
    else:
        encoded = parts
        lo = min(int(p.min()) for p in parts)
        hi = max(int(p.max()) for p in parts)
        if lo < 0:
            raise DataError(f"{where}: labels out of range: found label {lo}", "labels must be 0..C-1")
        if class_names is None and hi >= MAX_CLASSES:  # before making hi + 1 names
            raise DataError(
                f"{where} has {hi + 1} class(es) (labels up to {hi}); edgelstm supports {MIN_CLASSES}..{MAX_CLASSES}",
                "labels are class indices 0..C-1 (or class names); merge classes",
            )
        if class_names is None:
            class_names = [f"class_{i}" for i in range(hi + 1)]
        elif hi >= len(class_names):
            raise DataError(
                f"{where}: labels out of range: found label {hi} but there are only {len(class_names)} class_names",
                f"labels must be 0..{len(class_names) - 1}, or give one name per class",
            )
    if not (MIN_CLASSES <= len(class_names) <= MAX_CLASSES):
        raise DataError(
            f"{where} has {len(class_names)} class(es); edgelstm supports {MIN_CLASSES}..{MAX_CLASSES}",
            "a classifier needs at least two classes" if len(class_names) < MIN_CLASSES else "merge classes",
        )
    return encoded[0], (encoded[1] if len(encoded) > 1 else None), list(class_names)


def _default_names(names) -> bool:
    return list(names) == [f"class_{i}" for i in range(len(names))]


def labels_for_model(y: np.ndarray, data_classes, model_classes) -> tuple[np.ndarray, str | None]:
    """Labels ``y`` (indices into ``data_classes``) as indices into the model's ``model_classes``.

    A file with string labels is encoded on its own (sorted names), so a test file that holds
    only some of the classes numbers them differently from the model: its labels are mapped by
    name. Integer labels without names (``class_0``..) are taken as the model's indices. Returns
    (labels, note): the note says when names could not be matched (labels then compared by index).
    """
    y = np.asarray(y, dtype=np.int64)
    data_classes, model_classes = list(data_classes), list(model_classes)
    if data_classes == model_classes or _default_names(data_classes) or _default_names(model_classes):
        return _check_label_range(y, data_classes, model_classes), None
    index = {c: i for i, c in enumerate(model_classes)}
    if all(c in index for c in data_classes):
        lut = np.array([index[c] for c in data_classes], dtype=np.int64)
        return lut[y], None
    unknown = [c for c in data_classes if c not in index]
    return _check_label_range(y, data_classes, model_classes), (
        f"note: the data's class(es) {', '.join(unknown)[:100]} are not among the model's classes "
        f"({', '.join(model_classes)[:100]}); labels are compared by index")


def _check_label_range(y: np.ndarray, data_classes: list, model_classes: list) -> np.ndarray:
    """Labels compared by index must be indices of the model's outputs: a label the model cannot
    output would silently count as wrong (e.g. labels 3..9 against a 7-class model)."""
    n = len(model_classes)
    if n and y.size and int(y.max()) >= n:
        bad = int(y.max())
        raise DataError(
            f"the data has label {bad} ('{data_classes[bad] if bad < len(data_classes) else bad}') but the model "
            f"has only {n} outputs (classes 0..{n - 1})",
            "labels are class indices 0..C-1 or class names; renumber the labels (e.g. y - y.min()) "
            "or use the dataset the model was trained on",
        )
    return y
