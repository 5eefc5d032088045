"""`edgelstm quantize`: Keras 3 float model -> full-integer int8 ``.tflite`` + accuracies.

LSTM models go through the TFLite converter (in a child process, on a batch-size-1 tf-keras
twin), so that every LSTM layer is the fused ``UNIDIRECTIONAL_SEQUENCE_LSTM`` TFLite Micro runs;
GRU models go through edgelstm's own integer GRU (``gru_quant.py``). Either way the result
carries edgelstm's metadata (normalisation, class and feature names, accuracies) so that one
file is enough for `simulate`, `export-c` and `verify`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .. import __version__
from ..data import check_features, labels_for_model, load_for_model, split_record, stratified_sample
from ..data.stack import check_stack, stack_frames
from ..errors import DataError, EdgelstmError, ModelError
from ..fsutil import check_output_path, require_file, sha256_file, write_bytes_atomic
from ..model import Int8Model
from ..oracles import compare, tflm_available, tflm_predict
from ..train import metadata_path
from .fixups import harmonize_lstm_quantization
from .gru_quant import gru_spec_float, quantize_gru_spec
from .float_model import load_float_model
from .keras_spec import ModelSpec, normalize
from ..tflite.reader import load_ir_from_bytes
from ..tflite.writer import embed_edgelstm_metadata


@dataclass
class CalibrationConfig:
    """How the calibration set is drawn from the training split."""

    samples: int = 500
    percentile: float = 100.0  # clip normalised calibration inputs to [100-p, p] percentiles
    seed: int = 0


@dataclass
class QuantizeResult:
    out: Path
    model: Int8Model
    float_accuracy: float
    int8_accuracy: float
    metadata: dict
    tflm: dict | None = None
    seconds: dict = field(default_factory=dict)


def calibration_set(spec: ModelSpec, X_train: np.ndarray, y_train: np.ndarray, cfg: CalibrationConfig,
                    stack: int = 1) -> np.ndarray:
    """Normalised calibration sequences (stacked by ``stack``, as the model takes them); optional
    percentile clipping of outliers (noise spikes)."""
    idx = stratified_sample(y_train, cfg.samples, cfg.seed)  # edgelstm.data.split: the calibration rule
    calib = normalize(stack_frames(X_train[idx], stack), spec)
    if cfg.percentile < 100.0:
        lo, hi = np.percentile(calib, [100.0 - cfg.percentile, cfg.percentile])
        calib = np.clip(calib, lo, hi).astype(np.float32)
    return np.ascontiguousarray(calib, dtype=np.float32)


def run_converter(spec: ModelSpec, calib: np.ndarray, check_x: np.ndarray, check_y: np.ndarray,
                  timeout: float = 1800.0) -> bytes:
    """Run the TFLite converter on the tf-keras twin in a child process; crashes become errors."""
    with tempfile.TemporaryDirectory(prefix="edgelstm-convert-") as d:
        job = Path(d)
        (job / "spec.json").write_text(json.dumps(spec.to_json()))
        np.savez(job / "weights.npz", **spec.weight_arrays())
        np.save(job / "calib.npy", calib)
        np.save(job / "check_x.npy", check_x.astype(np.float32))
        np.save(job / "check_y.npy", check_y.astype(np.float32))
        env = dict(os.environ)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "edgelstm.quantize.convert_worker", str(job)],
                capture_output=True, text=True, timeout=timeout, env=env,
            )
        except subprocess.TimeoutExpired:
            raise ModelError(f"the TFLite converter did not finish within {timeout:.0f} s") from None
        if proc.returncode != 0:
            lines = [l for l in proc.stderr.strip().splitlines() if l.strip()]
            last = lines[-1] if lines else ""
            if proc.returncode < 0:
                raise ModelError(
                    f"the TFLite converter crashed (signal {-proc.returncode})",
                    "this model cannot be converted; try fewer/smaller layers or report it",
                )
            raise ModelError(f"conversion failed: {last[:300] or f'exit code {proc.returncode}'}")
        out = job / "model.tflite"
        if not out.exists():
            raise ModelError("the TFLite converter produced no model")
        return out.read_bytes()


def check_gru_spec(spec: ModelSpec, check_x: np.ndarray, check_y: np.ndarray) -> None:
    """The GRU counterpart of the LSTM twin check: the spec must compute what the Keras model does."""
    if not len(check_x):
        return
    got = gru_spec_float(spec, check_x)
    try:  # a mixed-precision model computes in float16 / bfloat16: allow for its rounding
        eps = float(np.finfo(np.asarray(check_y).dtype).eps)
    except (TypeError, ValueError):
        eps = 2.0**-8
    ref = np.asarray(check_y, dtype=np.float64)
    diff = float(np.max(np.abs(got - ref))) if got.shape == ref.shape else float("inf")
    tol = max(1e-3, 20.0 * eps) * max(1.0, float(np.max(np.abs(ref))))
    if not diff <= tol:
        raise ModelError(
            f"edgelstm's reading of the GRU model does not reproduce what Keras computes (max difference {diff:.3g})",
            "the model uses something edgelstm does not model; please report it with the model",
        )


def read_sidecar_metadata(model_path: Path) -> dict:
    """The metadata JSON `edgelstm train` writes next to the model ({} if absent or unreadable)."""
    p = metadata_path(model_path)
    if not p.is_file():
        return {}
    try:
        meta = json.loads(p.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    if not isinstance(meta, dict):
        return {}
    # Hand-edited or foreign sidecars: keep only name lists that are lists of strings.
    for key in ("class_names", "feature_names"):
        v = meta.get(key)
        if v is not None and not (isinstance(v, list) and all(isinstance(x, str) for x in v)):
            meta.pop(key)
    return meta


def model_stack(spec: ModelSpec, sidecar: dict, stack: int | None, frame_features: int, frames: int) -> int:
    """Frames per step K: the training metadata's ``"stack"``, else ``--stack``, else 1.

    ``--stack`` is for models whose metadata lacks it (ONNX, a foreign Keras model); it must agree
    with the metadata and with the model's input: K frames of F features = its width per step.
    """
    meta_k = sidecar.get("stack")
    if meta_k is not None:
        meta_k = check_stack(meta_k, where="the training metadata's \"stack\"")
    if stack is not None:
        stack = check_stack(stack)
        if meta_k is not None and meta_k != stack:
            raise EdgelstmError(f"--stack {stack} conflicts with the model's training metadata (stack {meta_k})",
                                f"drop --stack or use --stack {meta_k}")
    k = meta_k or stack or 1
    guess = spec.features // frame_features if frame_features and spec.features % frame_features == 0 else 0
    if meta_k is None and stack is None and guess > 1 and frames // guess == spec.window:
        raise DataError(f"the model takes {spec.features} features per step, {guess} frames of the data's "
                        f"{frame_features}, and its metadata does not say it stacks frames",
                        f"if it does, quantize with --stack {guess}")
    check_stack(k, frames, "--stack" if stack is not None else "the model's stack")
    if spec.features != k * frame_features and (k > 1 or stack is not None):  # else check_features says it
        hint = "use the data the model was trained on, with the model's --stack"
        if frame_features and spec.features % frame_features == 0:
            hint = f"the model takes {spec.features // frame_features} frames per step: use --stack {spec.features // frame_features}"
        raise DataError(f"the model takes {spec.features} features per step but {k} frame(s) of the data's "
                        f"{frame_features} features make {k * frame_features}", hint)
    return k


def frame_normalization(spec: ModelSpec, k: int) -> dict | None:
    """The metadata's per-frame normalisation: a stacked model's K*F values must repeat per frame
    (the C front end normalises one frame of F values at a time)."""
    if spec.norm_mean is None:
        return None
    mean, std = np.asarray(spec.norm_mean), np.asarray(spec.norm_std)
    if k > 1:
        mean, std = mean.reshape(k, -1), std.reshape(k, -1)
        if not (np.all(mean == mean[0]) and np.all(std == std[0])):
            raise ModelError("the model normalises the frames of a stacked step differently; edgelstm applies one "
                             "per-frame normalisation", "normalise per frame feature (tile the F statistics K times)")
        mean, std = mean[0], std[0]
    return {"mean": [float(v) for v in mean], "std": [float(v) for v in std]}


def quantize_model(
    model_path: str | Path,
    data_path: str | Path,
    out_path: str | Path,
    *,
    calib: CalibrationConfig | None = None,
    tflm_samples: int | None = None,
    log: Callable[[str], None] | None = None,
    harmonize: bool = True,
    stack: int | None = None,
) -> QuantizeResult:
    """The whole `quantize` stage; see the module docstring.

    ``stack`` (``--stack K``): frames per cell step, for a model whose training metadata does not
    say (it must then agree with the metadata's); the data stays in frames (N, T, F).
    """
    log = log or (lambda _m: None)
    calib = calib or CalibrationConfig()
    if calib.samples < 1:
        raise EdgelstmError(f"--calib-samples must be >= 1, got {calib.samples}")
    if not (50.0 < calib.percentile <= 100.0):
        raise EdgelstmError(f"--calib-percentile must be in (50, 100], got {calib.percentile}")
    if not (isinstance(calib.seed, (int, np.integer)) and 0 <= int(calib.seed) < 2**32):
        raise EdgelstmError(f"--seed must be an integer in 0..{2**32 - 1}, got {calib.seed}")
    if stack is not None:
        check_stack(stack)
    if tflm_samples is not None and tflm_samples < 0:
        raise EdgelstmError(f"--tflm-samples must be >= 0 (0 skips the TFLite Micro check), got {tflm_samples}")
    out_path = Path(out_path)
    if out_path.suffix != ".tflite":
        raise EdgelstmError(f"--out '{out_path}' must end in .tflite", "e.g. --out model_int8.tflite")
    check_output_path(out_path, what="output model")
    model_path = Path(model_path)
    require_file(model_path, "model file")
    require_file(data_path, "data file")
    times = {}

    t0 = time.time()
    keras_model, spec = load_float_model(model_path)  # Keras 3 .keras, or ONNX (onnxruntime's predict)
    sidecar = read_sidecar_metadata(model_path)
    ds = load_for_model(data_path, sidecar)  # train's own test split, if it made one
    k = model_stack(spec, sidecar, stack, int(ds.X_train.shape[-1]) if ds.X_train.ndim == 3 else 0, ds.window)
    check_features(ds, spec.features // k, "the model")
    if ds.window // k != spec.window:
        per = f" ({k} frames per step)" if k > 1 else ""
        raise DataError(
            f"data has {ds.window} frames per sequence but the model was built for {spec.window * k}{per}",
            "use data with the model's window length",
        )
    norm = frame_normalization(spec, k)
    class_names = sidecar.get("class_names") or list(ds.class_names)
    feature_names = sidecar.get("feature_names") or list(ds.feature_names)
    if len(feature_names) != spec.features // k:
        feature_names = list(ds.feature_names)
    if len(class_names) != spec.n_outputs:
        if len(ds.class_names) == spec.n_outputs:
            class_names = list(ds.class_names)
        else:
            raise DataError(f"the model has {spec.n_outputs} outputs but the data has {len(ds.class_names)} classes")
    y_train, note = labels_for_model(ds.y_train, ds.class_names, class_names)
    y_test, _ = labels_for_model(ds.y_test, ds.class_names, class_names)
    if note:
        log(note)
    if int(y_test.max(initial=0)) >= spec.n_outputs or int(y_train.max(initial=0)) >= spec.n_outputs:
        raise DataError(f"the data has labels >= {spec.n_outputs}, the model's number of outputs")

    log(f"model: {len(spec.layers)} layers ({', '.join(l.kind + ('(bi)' if l.bidirectional else '') for l in spec.layers)}), "
        f"window {ds.window} x {spec.features // k} features" + (f", {k} frames per step" if k > 1 else ""))
    float_logits = (keras_model.predict(stack_frames(ds.X_test, k), batch_size=256, verbose=0) if len(ds.X_test)
                    else np.zeros((0, spec.n_outputs)))
    float_acc = float(np.mean(np.argmax(float_logits, -1) == y_test)) if len(y_test) else float("nan")
    times["float_eval"] = time.time() - t0

    cal = calibration_set(spec, ds.X_train, y_train, calib, k)
    n_check = min(8, len(ds.X_test)) or min(8, len(ds.X_train))
    check_src = ds.X_test if len(ds.X_test) else ds.X_train
    check_src = stack_frames(check_src[:n_check], k)
    check_x = normalize(check_src, spec)
    check_y = keras_model.predict(check_src, verbose=0)

    t1 = time.time()
    if spec.cell_kinds == {"lstm"}:
        log(f"converting with the TFLite converter (tf-keras twin, {len(cal)} calibration sequences)...")
        raw = run_converter(spec, cal, check_x, check_y)
        if harmonize:
            raw, fixes = harmonize_lstm_quantization(raw)
            for f in fixes:
                log(f"repaired the converter's quantization: {f}")
    else:
        check_gru_spec(spec, check_x, check_y)
        log(f"quantizing the GRU with edgelstm's integer GRU ({len(cal)} calibration sequences)...")
        raw = quantize_gru_spec(spec, cal)
    times["convert"] = time.time() - t1

    meta = {
        "edgelstm_version": __version__,
        "kind": "edgelstm-int8-model",
        "cell": sorted(spec.cell_kinds)[0],
        "class_names": class_names,
        "feature_names": feature_names,
        "window": ds.window,  # frames (a stacked model's steps are window // stack)
        **({"stack": k} if k > 1 else {}),
        "normalization": norm,
        "source_model": {"file": model_path.name, "sha256": sha256_file(model_path)} | spec.extra.get("source_model", {}),
        "data": {"file": Path(ds.source).name, "sha256": ds.sha256} | split_record(ds),
        "calibration": {"samples": int(len(cal)), "percentile": calib.percentile, "seed": calib.seed},
    }
    front_end = sidecar.get("front_end") or ds.params.get("front_end")  # raw radar front end spec (issue 16)
    if front_end:
        meta["front_end"] = front_end
    raw = embed_edgelstm_metadata(raw, meta)
    try:
        qm = load_ir_from_bytes(raw, str(out_path))
    except ModelError as e:  # our own fresh model: a scale out of range comes from the float model
        if "quantization" not in str(e) or not ("out of range" in str(e) or "finite" in str(e)):
            raise
        why = str(e).split(": ", 1)[-1].replace(" (corrupt model?)", "").split(" (")[0]
        raise ModelError(
            f"'{model_path}' cannot be quantized to int8: {why}",
            "its weights or activations span a range int8 cannot hold (all-zero or huge weights, a constant "
            "feature?): check the training and the data",
        ) from None
    m = Int8Model(qm)

    t2 = time.time()
    xq_test = m.quantize_input(ds.X_test) if len(ds.X_test) else np.zeros((0, m.window, m.n_features), np.int8)
    y_int8 = m.predict_int8(xq_test) if len(xq_test) else np.zeros((0, spec.n_outputs), np.int8)
    int8_acc = float(np.mean(np.argmax(y_int8, -1) == y_test)) if len(y_test) else float("nan")
    times["int8_eval"] = time.time() - t2

    tflm = None
    if spec.cell_kinds == {"lstm"} and tflm_available() and len(xq_test) and tflm_samples != 0:
        n = len(xq_test) if tflm_samples is None else min(tflm_samples, len(xq_test))
        t3 = time.time()
        ref = tflm_predict(raw, m.stack_input(xq_test[:n]))  # TFLite Micro takes the stacked steps
        tflm = compare(y_int8[:n], ref)
        times["tflm"] = time.time() - t3

    meta["accuracy"] = {"float": float_acc, "int8": int8_acc, "n_test": int(len(y_test))}
    if tflm is not None:
        meta["tflm_agreement"] = tflm
    raw = embed_edgelstm_metadata(raw, meta)
    write_bytes_atomic(out_path, raw, what="output model")
    qm = load_ir_from_bytes(raw, str(out_path))
    qm.source_path = str(out_path)
    qm.source_sha256 = sha256_file(out_path)
    return QuantizeResult(out=out_path, model=Int8Model(qm), float_accuracy=float_acc, int8_accuracy=int8_acc,
                          metadata=meta, tflm=tflm, seconds=times)
