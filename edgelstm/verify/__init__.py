"""``edgelstm verify``: build an exported C library, run it, compare with the simulator.

    from edgelstm.verify import verify_export
    report = verify_export("out_c", data="radar.npz", samples=1000, cc="gcc")
    assert report["mismatches"] == 0

Inputs are the data's test split quantised by the model's own ``quantize_input`` (or random
int8 windows, uniform and extreme patterns, without data); every output byte of NAME_classify
and, for a streaming model, of NAME_reset/NAME_step/NAME_logits is compared with
``Int8Model.predict_int8``. The build+run step is :func:`build_and_run` (pluggable by target).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import EdgelstmError, ModelError
from ..fsutil import sha256_file
from .host import COMPILERS, TARGETS, build_and_run, build_host, stream_checkpoints

__all__ = [
    "COMPILERS",
    "TARGETS",
    "build_and_run",
    "build_host",
    "compare_outputs",
    "load_export_model",
    "stream_checkpoints",
    "verify_export",
    "verify_inputs",
]

DEFAULT_SAMPLES = 1000
MAX_REPORTED_MISMATCHES = 5


def load_export_model(export_dir: str | os.PathLike, manifest: dict):
    """The Int8Model of an export folder (its own copy of the .tflite, checked against the sha256)."""
    from ..model import Int8Model
    from ..tflite.reader import load_ir

    if not manifest.get("model_file"):
        raise ModelError(f"export folder '{export_dir}' has no model copy (exported from an in-memory IR)",
                         "export the .tflite with 'edgelstm export-c'")
    p = Path(export_dir) / manifest["model_file"]
    if not p.is_file():
        raise ModelError(f"export folder '{export_dir}' lacks its model copy {manifest['model_file']}",
                         "export again with 'edgelstm export-c'")
    sha = sha256_file(p)
    if manifest.get("model_sha256") and sha != manifest["model_sha256"]:
        raise ModelError(f"'{p}' is not the model that was exported (sha256 differs)", "export again with 'edgelstm export-c'")
    return Int8Model(load_ir(p))


def verify_inputs(model, data: str | os.PathLike | None, samples: int, seed: int = 0) -> tuple[np.ndarray, str]:
    """int8 windows to verify on: the data's test split (first ``samples``) or random patterns."""
    xq, source, _X = _inputs(model, data, samples, seed)
    return xq, source


def _inputs(model, data, samples: int, seed: int) -> tuple[np.ndarray, str, np.ndarray | None]:
    if data is not None:
        from ..data.dataset import load_dataset, split_settings

        ds = load_dataset(data, **split_settings(model.ir.info.extra))  # train's test split, if it made one
        X = ds.X_test if ds.X_test is not None and len(ds.X_test) else ds.X_train
        X = model.check_input(X[:samples])
        xq = model.quantize_input(X)
        return xq, f"test split of '{Path(data).name}'", np.asarray(X, dtype=np.float32)
    from ..synth import random_int8_inputs

    n_ext = samples // 2
    T, F = model.window, model.n_features
    parts = [random_int8_inputs(samples - n_ext, T, F, seed=seed, kind="uniform")]
    if n_ext:
        parts.append(random_int8_inputs(n_ext, T, F, seed=seed + 1, kind="extremes"))
    return np.concatenate(parts), "random int8 windows (uniform and extreme patterns)", None


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


def _simulated_inputs(export_dir, manifest: dict, data, samples: int, seed: int, note: Callable[[str], None]):
    """The export's model (checked against its manifest), the verify windows and the simulator's outputs."""
    model = load_export_model(export_dir, manifest)
    if (model.window, model.n_features, model.n_outputs) != (manifest["window"], manifest["features"], manifest["classes"]):
        raise ModelError(f"'{export_dir}': the model does not match {manifest.get('name')}'s manifest",
                         "export again with 'edgelstm export-c'")
    xq, source, X = _inputs(model, data, samples, seed)
    note(f"simulating {len(xq)} windows")
    return model, xq, source, X, model.predict_int8(xq)


def _report(expected: np.ndarray, got: dict, xq: np.ndarray, export_dir, manifest: dict, source: str,
            **context: Any) -> dict[str, Any]:
    """compare_outputs + the float front end's comparison (NAME_quantize_frame on the raw data must
    give the int8 inputs above) + what was run (``context``: compiler, target, ...)."""
    report = compare_outputs(expected, got)
    front = got.get("front_end")
    report["front_end_mismatches"] = None if front is None else int(np.count_nonzero(front != xq))
    report["front_end_compared_bytes"] = None if front is None else int(xq.size)
    report.update({"samples": int(len(xq)), **context, "streaming": bool(manifest["streaming"]),
                   "name": manifest["name"], "dir": str(export_dir), "inputs": source})
    return report


def verify_export(export_dir: str | os.PathLike, *, data: str | os.PathLike | None = None,
                  samples: int = DEFAULT_SAMPLES, cc: str = "gcc", target: str = "host", seed: int = 0,
                  note: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Build ``export_dir`` for ``target``, run it on ``samples`` windows, compare with the simulator."""
    from ..codegen import read_manifest

    note = note or (lambda _m: None)
    if samples < 1:
        raise EdgelstmError(f"--samples must be at least 1, got {samples}")
    t0 = time.perf_counter()
    manifest = read_manifest(export_dir)
    _model, xq, source, X, expected = _simulated_inputs(export_dir, manifest, data, samples, seed, note)
    note(f"building {manifest['name']} for {target} with {cc} and running {len(xq)} windows")
    got = build_and_run(export_dir, xq, target, cc=cc, manifest=manifest, float_inputs=X)
    report = _report(expected, got, xq, export_dir, manifest, source, compiler=got.get("compiler", cc), target=target)
    report["seconds"] = round(time.perf_counter() - t0, 3)
    if got.get("footprint"):  # Cortex-M targets: flash/RAM/instructions measured for this core
        report.update(got["footprint"])
    return report
