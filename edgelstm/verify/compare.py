"""What every verify target shares: the export's own model, the windows it runs, the simulator's
outputs for them, the byte comparison and the report.

The host path (edgelstm/verify/__init__.py verify_export) and the QEMU path
(edgelstm/verify/qemu.py verify_qemu) differ only in how the library is built and run; both call
:func:`simulate_export` before and :func:`verify_report` after.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..codegen.manifest import ExportManifest
from ..data import load_for_model, random_int8_inputs
from ..errors import ModelError
from ..fsutil import sha256_file
from ..model import Int8Model, load_int8_model

MAX_REPORTED_MISMATCHES = 5
_REEXPORT = "export again with 'edgelstm export-c'"


def load_export_model(export_dir: str | os.PathLike, manifest: ExportManifest) -> Int8Model:
    """The Int8Model of an export folder (its own copy of the .tflite, checked against the sha256)."""
    if not manifest.model_file:
        raise ModelError(f"export folder '{export_dir}' has no model copy (exported from an in-memory IR)",
                         "export the .tflite with 'edgelstm export-c'")
    p = Path(export_dir) / manifest.model_file
    if not p.is_file():
        raise ModelError(f"export folder '{export_dir}' lacks its model copy {manifest.model_file}", _REEXPORT)
    sha = sha256_file(p)
    if manifest.model_sha256 and sha != manifest.model_sha256:
        raise ModelError(f"'{p}' is not the model that was exported (sha256 differs)", _REEXPORT)
    return load_int8_model(p)


def inputs_for(model, data: str | os.PathLike | None, samples: int,
               seed: int = 0) -> tuple[np.ndarray, str, np.ndarray | None]:
    """(int8 windows, where they come from, the float windows or None): the data's test split
    (first ``samples``, quantised by the model) or random int8 patterns (half uniform, half the
    extreme set) without data."""
    if data is not None:
        ds = load_for_model(data, model)  # train's test split, if it made one
        X = ds.X_test if ds.X_test is not None and len(ds.X_test) else ds.X_train
        X = model.check_input(X[:samples])
        xq = model.quantize_input(X)
        return xq, f"test split of '{Path(data).name}'", np.asarray(X, dtype=np.float32)
    n_ext = samples // 2
    T, F = model.window, model.n_features
    parts = [random_int8_inputs(samples - n_ext, T, F, seed=seed, kind="uniform")]
    if n_ext:
        parts.append(random_int8_inputs(n_ext, T, F, seed=seed + 1, kind="extremes"))
    return np.concatenate(parts), "random int8 windows (uniform and extreme patterns)", None


def verify_inputs(model, data: str | os.PathLike | None, samples: int, seed: int = 0) -> tuple[np.ndarray, str]:
    """int8 windows to verify on and where they come from (:func:`inputs_for` without the floats)."""
    xq, source, _X = inputs_for(model, data, samples, seed)
    return xq, source


@dataclass
class Simulated:
    """The windows a verify run feeds the C library, and what the simulator says they give."""

    model: Int8Model
    xq: np.ndarray                   # int8 windows (N, T, F)
    source: str                      # where they come from (the report's "inputs")
    float_inputs: np.ndarray | None  # the raw float windows (for NAME_quantize_frame), None for random ones
    expected: np.ndarray             # the simulator's int8 outputs (N, C)


def simulate_export(export_dir, manifest: ExportManifest, data, samples: int, seed: int,
                    note: Callable[[str], None]) -> Simulated:
    """The export's model (checked against its manifest), the verify windows and the simulator's outputs."""
    model = load_export_model(export_dir, manifest)
    if (model.window, model.n_features, model.n_outputs) != (manifest.window, manifest.features, manifest.classes):
        raise ModelError(f"'{export_dir}': the model does not match {manifest.name}'s manifest", _REEXPORT)
    xq, source, X = inputs_for(model, data, samples, seed)
    note(f"simulating {len(xq)} windows")
    return Simulated(model=model, xq=xq, source=source, float_inputs=X, expected=model.predict_int8(xq))


def compare_outputs(expected: np.ndarray, got: dict) -> dict[str, Any]:
    """Mismatch counts between the simulator's outputs and a build_and_run result."""
    expected = np.asarray(expected, dtype=np.int8)
    paths = [("classify", got["classify"])]
    if got.get("stream") is not None:
        paths.append(("stream", got["stream"]))
    mismatches = 0
    compared = 0
    first: list[dict] = []
    per_path = {}
    for label, arr in paths:
        arr = np.asarray(arr, dtype=np.int8)
        diff = arr != expected
        n = int(diff.sum())
        per_path[label] = n
        mismatches += n
        compared += int(arr.size)
        for s, k in zip(*np.nonzero(diff)):
            if len(first) >= MAX_REPORTED_MISMATCHES:
                break
            first.append({"path": label, "sample": int(s), "index": int(k), "expected": int(expected[s, k]),
                          "got": int(arr[s, k])})
    want = np.argmax(expected, axis=1)
    argmax_mismatches = int(np.count_nonzero(np.asarray(got["classes"]) != want))
    return {"mismatches": mismatches, "compared_bytes": compared, "mismatches_by_path": per_path,
            "argmax_mismatches": argmax_mismatches, "first_mismatches": first}


def verify_report(sim: Simulated, got: dict, export_dir, manifest: ExportManifest, **context: Any) -> dict[str, Any]:
    """compare_outputs + the float front end's comparison (NAME_quantize_frame on the raw data must
    give the int8 inputs above) + what was run (``context``: compiler, target, ...)."""
    xq = sim.xq
    report = compare_outputs(sim.expected, got)
    front = got.get("front_end")
    report["front_end_mismatches"] = None if front is None else int(np.count_nonzero(front != xq))
    report["front_end_compared_bytes"] = None if front is None else int(xq.size)
    report.update({"samples": int(len(xq)), **context, "streaming": bool(manifest.streaming),
                   "stack": int(manifest.stack),  # frames per cell step: *_per_frame figures average over frames
                   "name": manifest.name, "dir": str(export_dir), "inputs": sim.source})
    return report
