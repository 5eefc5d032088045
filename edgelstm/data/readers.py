"""Reading dataset files into raw arrays: the format sniffed from the first bytes, NPZ archives
(without pickle) and long-form CSV (one row per frame).

Each reader returns a dict of the arrays it found (the NPZ keys of :mod:`edgelstm.data.dataset`)
plus ``"_files"``, the keys the file held; :func:`edgelstm.data.files.load_dataset` checks and
assembles them into a :class:`~edgelstm.data.dataset.Dataset`.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError
from .dataset import SPLITS


def sniff_format(p: Path, head: bytes, where: str) -> str:
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


def read_npz(p: Path, where: str) -> dict:
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


def read_csv(p: Path, where: str) -> dict:
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
    bad_split = sorted(set(splits) - set(SPLITS))
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
