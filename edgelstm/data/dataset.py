"""The dataset format: NPZ (and long-form CSV) sequence datasets, loaded and checked.

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
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError, EdgelstmError
from ..fsutil import atomic_path, sha256_file

MIN_CLASSES = 2
MAX_CLASSES = 50
DEFAULT_TEST_FRACTION = 0.2

_SPLITS = ("train", "test")


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
        _check_dataset(self, _where(self.source))


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
        raise DataError(f"{name} has shape {_shape(X)} but {what} expects sequences (N, T, {n_features})")
    if X.shape[2] != n_features:
        raise DataError(
            f"{name} has {X.shape[2]} features per frame but {what} expects {n_features}",
            "use the dataset the model was trained on, or retrain on this one",
        )


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


# --------------------------------------------------------------------------------------------
# Saving


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
# Loading


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
    kind = _sniff(p, head, where)
    raw = _read_npz(p, where) if kind == "npz" else _read_csv(p, where)
    ds = _assemble(raw, where, test_fraction, seed)
    ds.source = str(p)
    ds.sha256 = sha256_file(p)
    return ds


def _sniff(p: Path, head: bytes, where: str) -> str:
    """``"npz"`` or ``"csv"`` from the file's first bytes (and its suffix for text files)."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "npz"
    if head.startswith(b"\x89PNG"):
        raise DataError(f"{where} is a PNG image, not a dataset", "give the .npz or .csv dataset file")
    if head.startswith((b"\xff\xd8\xff", b"GIF8", b"%PDF")):
        raise DataError(f"{where} is an image or PDF, not a dataset", "give the .npz or .csv dataset file")
    if head.startswith(b"\x93NUMPY"):
        raise DataError(
            f"{where} is a single .npy array, not an .npz dataset",
            "save the arrays with np.savez(path, X_train=..., y_train=..., X_test=..., y_test=...)",
        )
    if head[4:8] == b"TFL3":
        raise DataError(f"{where} is a TFLite model (.tflite), not a dataset", "give the .npz or .csv dataset file")
    if head.startswith(b"\x89HDF"):
        raise DataError(f"{where} is an HDF5 file (a Keras .h5 model?), not a dataset")
    if head.startswith(b"\x1f\x8b"):
        raise DataError(f"{where} is gzip-compressed", "decompress it first (gunzip)")
    if head.startswith(b"\x80"):
        raise DataError(
            f"{where} is a Python pickle, which edgelstm does not load (unsafe)",
            "save the arrays with np.savez instead",
        )
    if p.suffix.lower() == ".npz":
        raise DataError(f"{where} is not an NPZ archive (not a zip file)", "regenerate or re-download it")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{where} is neither an NPZ archive nor a CSV text file") from None
    return "csv"


def _read_npz(p: Path, where: str) -> dict:
    """Arrays of the archive, without pickle; corrupt archives become DataError."""
    try:
        with np.load(p, allow_pickle=False) as z:
            files = list(z.files)
            if {"config.json", "model.weights.h5"} <= set(files):
                raise DataError(f"{where} is a Keras model archive, not a dataset")
            raw = {}
            for key in files:
                try:
                    raw[key] = z[key]
                except ValueError as e:
                    if "pickle" in str(e):
                        raise DataError(
                            f"{where}: array '{key}' holds Python objects that need pickle, which "
                            "edgelstm does not load",
                            "store numbers as numeric arrays and names as np.array(names, dtype=str)",
                        ) from None
                    raise
    except DataError:
        raise
    except (zipfile.BadZipFile, EOFError, zlib.error, ValueError, OSError, KeyError) as e:
        msg = " ".join(str(e).split()) or type(e).__name__
        raise DataError(
            f"{where} is truncated or corrupt ({type(e).__name__}: {msg[:120]})", "regenerate or re-download it"
        ) from None
    raw["_files"] = files
    return raw


def _read_csv(p: Path, where: str) -> dict:
    """A long-form CSV (one row per frame) turned into the same raw arrays as an NPZ."""
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{where} is not UTF-8 text", "save the CSV as UTF-8") from None
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise DataError(f"{where} has no header line", "the first line must name the columns")
    delimiter = max(",;\t", key=lines[0].count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip() for h in next(reader)]
    lower = [h.lower() for h in header]
    if len(set(lower)) != len(lower):
        dup = sorted({h for h in lower if lower.count(h) > 1})
        raise DataError(f"{where}: duplicate column(s) {', '.join(dup)} in the header")
    need = ["sequence_id", "frame", "label"]
    missing = [c for c in need if c not in lower]
    if missing:
        raise DataError(
            f"{where}: CSV header lacks column(s) {', '.join(missing)} (found: {', '.join(header)[:200]})",
            "a long-form CSV needs sequence_id, frame, the feature columns and label (optional: split)",
        )
    col = {name: lower.index(name) for name in need}
    split_col = lower.index("split") if "split" in lower else None
    special = set(col.values()) | ({split_col} if split_col is not None else set())
    feat_cols = [i for i in range(len(header)) if i not in special]
    if not feat_cols:
        raise DataError(f"{where}: CSV has no feature columns", "add at least one column besides sequence_id, frame, label")

    seq_ids, frames, labels, splits, values = [], [], [], [], []
    ncol = len(header)
    for line_no, row in enumerate(reader, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != ncol:
            raise DataError(f"{where}: line {line_no} has {len(row)} fields but the header has {ncol}")
        seq_ids.append(row[col["sequence_id"]].strip())
        frames.append(row[col["frame"]].strip())
        labels.append(row[col["label"]].strip())
        splits.append(row[split_col].strip().lower() if split_col is not None else "train")
        values.append([row[i] for i in feat_cols])
    if not seq_ids:
        raise DataError(f"{where} has a header but no data rows (zero sequences)")
    try:
        vals = np.array(values, dtype=np.float64)
    except ValueError:
        line_no, bad = _first_non_number(values)
        raise DataError(f"{where}: line {line_no} has a non-numeric feature value '{bad[:30]}'") from None
    try:
        frame_no = np.array([float(f) for f in frames])
    except ValueError:
        bad = next(i for i, f in enumerate(frames) if not _is_number(f))
        raise DataError(f"{where}: line {bad + 2} has a non-numeric frame number '{frames[bad][:30]}'") from None
    if not np.all(np.isfinite(frame_no)):
        bad = int(np.flatnonzero(~np.isfinite(frame_no))[0])
        raise DataError(f"{where}: line {bad + 2} has a frame number that is not finite: '{frames[bad][:30]}'",
                        "frame numbers order the frames")
    bad_split = sorted(set(splits) - set(_SPLITS))
    if bad_split:
        raise DataError(f"{where}: split column has value(s) {', '.join(bad_split)[:80]}", "use 'train' or 'test'")

    # Group the rows by sequence, in order of first appearance; frames sorted by frame number.
    uniq, first, inverse = np.unique(np.array(seq_ids), return_index=True, return_inverse=True)
    order_of_first = np.argsort(first, kind="stable")
    seq = np.empty_like(order_of_first)
    seq[order_of_first] = np.arange(len(uniq))
    seq = seq[inverse]
    rows = np.lexsort((frame_no, seq))
    seq_sorted, frame_sorted = seq[rows], frame_no[rows]
    dup = np.flatnonzero((np.diff(seq_sorted) == 0) & (np.diff(frame_sorted) == 0))
    if dup.size:
        sid = uniq[order_of_first[seq_sorted[dup[0]]]]
        raise DataError(f"{where}: sequence '{sid}' has frame {frame_sorted[dup[0]]:g} twice")
    n_seq = len(uniq)
    lengths = np.bincount(seq, minlength=n_seq).astype(np.int64)
    T = int(lengths.max())
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    pos = np.arange(len(rows)) - starts[seq_sorted]  # index of the frame within its sequence
    X = np.zeros((n_seq, T, len(feat_cols)), dtype=np.float64)
    X[seq_sorted, T - lengths[seq_sorted] + pos] = vals[rows]  # pre-padding

    label_arr, split_arr = np.array(labels), np.array(splits)
    seq_label = np.empty(n_seq, dtype=label_arr.dtype)
    seq_label[seq] = label_arr
    seq_split = np.empty(n_seq, dtype=split_arr.dtype)
    seq_split[seq] = split_arr
    for what, per_row, per_seq in (("label", label_arr, seq_label), ("split", split_arr, seq_split)):
        bad_rows = np.flatnonzero(per_row != per_seq[seq])
        if bad_rows.size:
            sid = uniq[order_of_first[seq[bad_rows[0]]]]
            raise DataError(f"{where}: sequence '{sid}' has more than one {what} value", f"one {what} per sequence")
    if all(_is_int(v) for v in np.unique(seq_label)):
        y_all = seq_label.astype(np.float64).astype(np.int64)
    else:
        y_all = seq_label

    raw: dict = {"feature_names": np.array([header[i] for i in feat_cols], dtype=str)}
    variable = bool((lengths != T).any())
    train = seq_split == "train"
    raw["X_train"], raw["y_train"] = X[train], y_all[train]
    if variable:
        raw["lengths_train"] = lengths[train]
    if (~train).any():
        raw["X_test"], raw["y_test"] = X[~train], y_all[~train]
        if variable:
            raw["lengths_test"] = lengths[~train]
    elif not train.any():
        raise DataError(f"{where}: every sequence is in the test split", "mark some sequences 'train'")
    raw["_files"] = list(raw)
    return raw


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _is_int(s: str) -> bool:
    try:
        v = float(s)
    except ValueError:
        return False
    return math.isfinite(v) and v == int(v) and abs(v) < 2**53  # exact in float64, fits int64


def _first_non_number(values: list[list[str]]) -> tuple[int, str]:
    for i, row in enumerate(values):
        for v in row:
            if not _is_number(v):
                return i + 2, v
    return 0, ""


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
    y_tr = _as_labels(raw["y_train"], "y_train", where)
    y_te = _as_labels(raw["y_test"], "y_test", where) if has_test else None
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

    class_names = _names(raw.get("class_names"), "class_names", where)
    feature_names = _names(raw.get("feature_names"), "feature_names", where)
    y_tr, y_te, class_names = _encode_labels(y_tr, y_te, class_names, where)
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
            raise DataError(f"{where}: lengths_train has shape {_shape(len_tr)} but X_train has {len(X_tr)} sequences",
                            "give one length per sequence")
        _split(ds, DEFAULT_TEST_FRACTION if test_fraction is None else float(test_fraction), seed, where)
    _check_dataset(ds, where)
    return ds


def _shape(a: np.ndarray) -> str:
    return "(" + ", ".join(str(s) for s in a.shape) + ")"


def _as_sequences(a: np.ndarray, key: str, where: str) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        raise DataError(f"{where}: {key} has dtype {a.dtype}, not numbers", f"store {key} as a float array")
    if a.ndim == 2:
        raise DataError(
            f"{where}: {key} has shape {_shape(a)} but sequences must be (N, T, F)",
            f"for one frame per sequence use {key}[:, None, :]; for one feature per frame {key}[:, :, None]",
        )
    if a.ndim != 3:
        raise DataError(f"{where}: {key} has shape {_shape(a)} (rank {a.ndim}) but sequences must be (N, T, F)")
    if a.shape[0] == 0:
        raise DataError(f"{where}: {key} has zero sequences")
    if a.shape[1] == 0 or a.shape[2] == 0:
        raise DataError(f"{where}: {key} has shape {_shape(a)}; sequences need at least one frame and one feature")
    with np.errstate(over="ignore"):
        return a.astype(np.float32)


def _as_labels(a: np.ndarray, key: str, where: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        hint = f"for one-hot labels use {key}.argmax(1)" if a.ndim == 2 else "give one label per sequence"
        raise DataError(f"{where}: {key} has shape {_shape(a)} but labels must be (N,)", hint)
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


def _names(a, key: str, where: str) -> list[str] | None:
    if a is None:
        return None
    a = np.asarray(a)
    if a.ndim != 1:
        raise DataError(f"{where}: {key} has shape {_shape(a)} but must be a list of names (1-D)")
    names = [x.decode() if isinstance(x, bytes) else str(x) for x in a.tolist()]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise DataError(f"{where}: {key} has duplicate name(s) {', '.join(dup)[:100]}", "names must be unique")
    return names


def _encode_labels(y_tr, y_te, class_names, where):
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


def _as_lengths(a, key: str, where: str) -> np.ndarray | None:
    if a is None:
        return None
    a = np.asarray(a)
    if a.ndim != 1 or a.dtype.kind not in "iuf":
        raise DataError(f"{where}: {key} must be a 1-D integer array (got {a.dtype} {_shape(a)})")
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


def split_record(ds: Dataset) -> dict:
    """{"split": ...} for the "data" entry of a model's metadata when edgelstm split the file
    (read back by :func:`split_settings`), else {}."""
    return {"split": ds.params["split"]} if "split" in ds.params else {}


def split_settings(meta) -> dict:
    """``load_dataset`` keyword arguments that repeat the test split a model was trained with.

    When a dataset has no test split of its own, ``edgelstm train`` splits it (``--test-fraction``,
    ``--seed``) and records how in the model's metadata (``data.split``); ``quantize`` carries that
    into the .tflite. Every later stage loads the same file with these settings, so its test
    sequences are the ones the model never trained on. Absent or hand-edited values give {}
    (the defaults); a file with its own test split ignores them anyway.
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


def _split(ds: Dataset, fraction: float, seed: int, where: str) -> None:
    """Move ``fraction`` of each class (stratified, deterministic by seed) to the test split."""
    rng = np.random.default_rng(seed)
    y = ds.y_train
    test_idx = []
    for c in range(ds.n_classes):
        idx = np.flatnonzero(y == c)
        if len(idx) < 2:
            continue  # a class with a single sequence stays in training
        k = min(len(idx) - 1, max(1, int(round(len(idx) * fraction))))
        test_idx.append(rng.permutation(idx)[:k])
    if not test_idx:
        raise DataError(
            f"{where} has no test split and too few sequences to make one ({len(y)})",
            "add X_test/y_test or more sequences",
        )
    test = np.zeros(len(y), dtype=bool)
    test[np.concatenate(test_idx)] = True
    train = ~test
    ds.X_test, ds.y_test = ds.X_train[test], y[test]
    ds.X_train, ds.y_train = ds.X_train[train], y[train]
    if ds.lengths_train is not None:
        ds.lengths_test = ds.lengths_train[test]
        ds.lengths_train = ds.lengths_train[train]
    ds.params = dict(ds.params) | {"split": {"test_fraction": fraction, "seed": int(seed), "stratified": True}}


def _where(source: str) -> str:
    return f"dataset '{source}'" if source else "dataset"


def _check_dataset(ds: Dataset, where: str) -> None:
    """All invariants of a Dataset; the first violation is raised as a one-line DataError."""
    C = len(ds.class_names)
    if not (MIN_CLASSES <= C <= MAX_CLASSES):
        raise DataError(f"{where} has {C} class(es); edgelstm supports {MIN_CLASSES}..{MAX_CLASSES}")
    for split in _SPLITS:
        X, y, lengths = ds.split(split)
        xn, yn = f"X_{split}", f"y_{split}"
        if not isinstance(X, np.ndarray) or X.ndim != 3:
            raise DataError(f"{where}: {xn} has shape {_shape(np.asarray(X))} but sequences must be (N, T, F)")
        if X.dtype.kind != "f":
            raise DataError(f"{where}: {xn} has dtype {X.dtype}; a Dataset holds float32")
        if len(X) == 0:
            raise DataError(f"{where}: {xn} has zero sequences")
        y = np.asarray(y)
        if y.ndim != 1 or y.dtype.kind not in "iu":
            raise DataError(f"{where}: {yn} must be integer labels (N,), got {y.dtype} {_shape(y)}")
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
                raise DataError(f"{where}: lengths_{split} has shape {_shape(lengths)} but {xn} has {len(X)} sequences")
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
