"""``edgelstm data features RAW.npz --front-end doppler --out FEATS.npz``: raw ADC frames -> a
feature dataset, computed by the fixed-point reference (or float64 with ``--float``), with the
front-end spec stored in ``params_json["front_end"]`` so train/quantize/export-c carry it on."""

from __future__ import annotations

import os
from typing import Callable

import numpy as np

from ..data.dataset import Dataset, check_dataset
from ..data.labels import as_labels, encode_labels, read_names
from ..data.split import DEFAULT_TEST_FRACTION, split_test
from ..errors import DataError, EdgelstmError
from .doppler import features_fixed, features_float, to_float_features
from .rawio import read_raw, select_antenna
from .spec import FrontEndSpec, tables

FRONT_ENDS = ("doppler",)
_CHUNK_FRAMES = 4096  # frames per numpy batch (memory ~ chunk * chirps * samples * 8 bytes * a few)


def spec_for(raw_params: dict, chirps: int, samples: int, **overrides) -> FrontEndSpec:
    """The spec for frames of (chirps, samples): the file's radar parameters, then ``overrides``
    (None = keep). Without parameters (a user's recording) range_bin_m and noise_lsb default to 1."""
    kw = {"chirps": int(chirps), "samples": int(samples)}
    if "range_bin_m" in raw_params:
        kw["range_bin_m"] = float(raw_params["range_bin_m"])
    if "adc_noise_lsb" in raw_params:
        kw["noise_lsb"] = float(raw_params["adc_noise_lsb"])
    cfg = raw_params.get("config") or {}
    if isinstance(cfg, dict) and isinstance(cfg.get("doppler_bins"), int):
        kw["doppler_bins"] = cfg["doppler_bins"]
    kw.update({k: v for k, v in overrides.items() if v is not None})
    if kw.get("max_gate") is None:
        kw.pop("max_gate", None)
    return FrontEndSpec(**kw).validate()


def compute_features(frames: np.ndarray, spec: FrontEndSpec, *, use_float: bool = False,
                     progress: Callable[[int], None] | None = None) -> np.ndarray:
    """float32 features (N, T, F) of int16 frames (N, T, chirps, samples), in chunks."""
    N, T = frames.shape[:2]
    out = np.empty((N, T, spec.n_features), dtype=np.float32)
    tab = tables(spec)
    step = max(1, _CHUNK_FRAMES // max(T, 1))
    for a in range(0, N, step):
        b = min(N, a + step)
        if use_float:
            out[a:b] = features_float(frames[a:b], spec).astype(np.float32)
        else:
            out[a:b] = to_float_features(features_fixed(frames[a:b], spec, tab), spec)
        if progress is not None:
            progress(b - a)
    return out


def extract_dataset(path: str | os.PathLike, *, front_end: str = "doppler", use_float: bool = False,
                    antenna=None, progress: Callable[[int], None] | None = None, **overrides) -> Dataset:
    """The feature Dataset of a raw file (see the module docstring)."""
    if front_end not in FRONT_ENDS:
        raise EdgelstmError(f"unknown front end '{front_end}'", f"use one of: {', '.join(FRONT_ENDS)}")
    raw = read_raw(path)
    where = raw["where"]
    X_tr = select_antenna(raw["X_train"], antenna, "X_train", where)
    X_te = select_antenna(raw["X_test"], antenna, "X_test", where) if "X_test" in raw else None
    chirps, samples = X_tr.shape[2], X_tr.shape[3]
    try:
        spec = spec_for(raw["params"], chirps, samples, **overrides)
    except EdgelstmError as e:
        raise DataError(f"{where}: {e}") from None
    y_tr = as_labels(raw["y_train"], "y_train", where)
    y_te = as_labels(raw["y_test"], "y_test", where) if X_te is not None else None
    for X, y, k in ((X_tr, y_tr, "train"), (X_te, y_te, "test")):
        if X is not None and len(X) != len(y):
            raise DataError(f"{where}: X_{k} has {len(X)} sequences but y_{k} has {len(y)} labels", "they must match")
    y_tr, y_te, class_names = encode_labels(y_tr, y_te, read_names(raw.get("class_names"), "class_names", where), where)
    F_tr = compute_features(X_tr, spec, use_float=use_float, progress=progress)
    F_te = compute_features(X_te, spec, use_float=use_float, progress=progress) if X_te is not None else None
    params = {
        "generator": "edgelstm.frontend",
        "features": front_end,
        "front_end": spec.to_dict(),
        "front_end_arithmetic": "float64" if use_float else "fixed-point",
        "antenna": "sum" if antenna == "sum" else int(antenna or 0),
        "raw_source": os.path.basename(str(path)),
        "raw_params": raw["params"],
    }
    empty = np.zeros((0,) + F_tr.shape[1:], np.float32)
    ds = Dataset(F_tr, y_tr, F_te if F_te is not None else empty,
                 y_te if y_te is not None else np.zeros(0, np.int64), class_names, spec.feature_names(), params=params)
    if F_te is None:
        split_test(ds, DEFAULT_TEST_FRACTION, 0, where)
    check_dataset(ds, where)
    return ds


def spec_of_params(params: dict | None) -> FrontEndSpec | None:
    """The front-end spec recorded in a dataset's or a model's metadata (None without one)."""
    d = (params or {}).get("front_end")
    return None if d is None else FrontEndSpec.from_dict(d)
