"""Reading raw ADC recordings: the simulator's ``--features raw`` files and users' own sensors.

Layout: ``X_train`` (and optionally ``X_test``) of shape (N, T, chirps, samples) or
(N, T, chirps, samples, antennas), int16 ADC values (any integer dtype, or floats that hold
integers, within -32768..32767); ``y_train``/``y_test`` labels (integers or names);
``class_names`` and ``params_json`` optional. Every problem is one line (DataError).
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from ..data.dataset import shape_str
from ..errors import DataError

LAYOUT = "(N, T, chirps, samples) or (N, T, chirps, samples, antennas) int16"


def check_frames(a, key: str, where: str) -> np.ndarray:
    """A raw ADC array checked and returned as int16 (N, T, chirps, samples[, antennas])."""
    a = np.asarray(a)
    if a.dtype.kind not in "iuf" or a.dtype.kind == "b":
        raise DataError(f"{where}: {key} has dtype {a.dtype} but raw ADC frames must be int16",
                        f"store the ADC values as int16 {LAYOUT}")
    if a.ndim not in (4, 5):
        raise DataError(f"{where}: {key} has shape {shape_str(a)} but raw ADC frames must be {LAYOUT}",
                        "add the missing axes (e.g. X[:, None] for one frame per sequence)")
    if a.size == 0:
        raise DataError(f"{where}: {key} is empty (shape {shape_str(a)})", "record at least one sequence")
    if a.dtype.kind == "f":
        finite = np.isfinite(a)
        if not finite.all():
            bad = int(a.size - np.count_nonzero(finite))
            raise DataError(f"{where}: {key} has {bad} NaN or infinite value(s)", "raw ADC values are integers: "
                            "clean the recording")
        if (a != np.round(a)).any():
            raise DataError(f"{where}: {key} holds non-integer values (dtype {a.dtype})",
                            "give the ADC codes themselves as int16, not scaled values")
    if a.dtype != np.int16:
        lo, hi = a.min(), a.max()
        if lo < -32768 or hi > 32767:
            raise DataError(f"{where}: {key} has values {lo:g}..{hi:g} outside int16",
                            "centre unsigned ADC codes (e.g. subtract 2048 for 12 bits) and store int16")
        a = a.astype(np.int16)
    return a


def select_antenna(a: np.ndarray, antenna, key: str, where: str) -> np.ndarray:
    """(N, T, M, S[, A]) -> (N, T, M, S): one antenna (index) or ``"sum"`` (int32 sum clipped to int16)."""
    if a.ndim == 4:
        if antenna not in (None, 0, "0", "sum"):
            raise DataError(f"{where}: {key} has one antenna but --antenna {antenna} was asked", "omit --antenna")
        return a
    n_ant = a.shape[-1]
    if antenna == "sum":
        return np.clip(a.astype(np.int32).sum(axis=-1), -32768, 32767).astype(np.int16)
    idx = 0 if antenna is None else int(antenna)
    if not 0 <= idx < n_ant:
        raise DataError(f"{where}: {key} has {n_ant} antennas, --antenna {idx} is not one of them",
                        f"use 0..{n_ant - 1} or sum")
    return np.ascontiguousarray(a[..., idx])


def read_raw(path: str | os.PathLike) -> dict:
    """The arrays of a raw NPZ file (X_train, y_train, optional X_test/y_test/class_names/params)."""
    p = Path(path)
    where = f"raw data '{p}'"
    if not p.is_file():
        raise DataError(f"{where} does not exist", "give the .npz written by 'edgelstm data radar --features raw'")
    try:
        with np.load(p, allow_pickle=False) as z:
            if not hasattr(z, "files"):
                raise DataError(f"{where} is a single array, not an NPZ archive",
                                "np.savez(path, X_train=X, y_train=y) with X " + LAYOUT)
            out = {k: z[k] for k in z.files}
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(f"{where} is not a readable NPZ archive ({type(e).__name__})", "write it with np.savez") from None
    for k in ("X_train", "y_train"):
        if k not in out:
            raise DataError(f"{where} lacks {k} (found: {', '.join(sorted(out)) or 'nothing'})",
                            f"raw data needs X_train {LAYOUT} and y_train (N,)")
    if ("X_test" in out) != ("y_test" in out):
        raise DataError(f"{where} has only one of X_test/y_test", "give both or neither")
    params = {}
    if "params_json" in out:
        try:
            params = json.loads(str(out["params_json"]))
        except json.JSONDecodeError:
            raise DataError(f"{where}: params_json is not JSON") from None
    out["params"] = params if isinstance(params, dict) else {}
    for k in ("X_train", "X_test"):
        if k in out:
            out[k] = check_frames(out[k], k, where)
    if "X_test" in out and out["X_test"].shape[1:] != out["X_train"].shape[1:]:
        raise DataError(f"{where}: X_train frames {shape_str(out['X_train'][0])} differ from X_test's "
                        f"{shape_str(out['X_test'][0])}", "both splits need the same (T, chirps, samples)")
    out["where"] = where
    return out
