"""The numbers of `edgelstm report`: float model vs its int8 model on one data split.

Everything here is plain data (dicts of numbers and lists) so that ``report.json`` holds every
figure exactly as plotted. The sources:

- **accuracy**: the float model's predictions are Keras' own (``model.predict``, as `train` and
  `quantize` compute them); the int8 predictions are the bit-exact simulator's on
  ``Int8Model.quantize_input(X)`` (as `simulate` computes them), argmax of the int8 outputs.
- **per-time-step divergence**: the int8 hidden states of every recurrent op (the op's int8
  output, dequantized with that tensor's scale and zero point) against the float hidden states
  of the same layer and direction. The float states come from a *float shadow* of the int8
  graph: the graph's ops are executed in float64 on the normalised input, each recurrent op by
  ``lstm_float`` / ``gru_float`` with the Keras layer's float weights, the glue ops (reverse,
  concat, slice, reshape, requantize) as the permutations/copies they are in float. So each
  layer is fed the float model's own activations, in exactly the int8 graph's op order (the
  converter puts a Bidirectional layer's backward LSTM first). The shadow's logits are checked
  against Keras' (``float_reference.max_abs_logit_diff``).
- **which Keras layer is which IR op**: an op's layer index is the number of recurrent ops
  upstream of its input; its direction is the parity of REVERSE ops on the path from the model
  input (backward ops read time-reversed data). The match is then checked on the weights
  (cosine similarity of the int8 and float weight rows): a ``.keras`` that is not the
  ``.tflite``'s source is refused in one line.
- **quantization internals**: the simulator's traces (int16 cell/state sequences, saturated
  gate pre-activations per gate), the IR's scales, zero points and cell scale powers, the
  calibration settings stored in the ``.tflite`` metadata.
- **deployment**: an export folder's ``edgelstm_export.json``, any footprint figures found next
  to it, and ``NAME_WEIGHTS_BYTES`` from the generated header.

The pieces live in their own modules: pairing.py (the two files and which layer is which op),
shadow.py (the float shadow), stats.py (per-class and per-op figures), deployment.py (the
export folder); this one assembles them into ``report.json``'s dict.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .._version import __version__
from ..codegen.manifest import read_manifest
from ..data import check_features, labels_for_model, load_for_model
from ..errors import DataError, EdgelstmError
from ..fsutil import sha256_file
from ..quantize.float_model import load_float_model
from ..quantize.keras_spec import normalize
from .deployment import deployment_figures
from .pairing import (
    check_keras_io,
    check_pairing,
    describe_spec,
    load_int8,
    match_recurrent_ops,
    source_matches,
)
from .shadow import float_shadow
from .stats import OpStats, confusion, per_class

REPORT_FORMAT = "edgelstm-report"
REPORT_JSON = "report.json"
CHANGED_MAX_LISTED = 5000  # changed predictions listed in report.json (all are counted)
LOGIT_POINTS = 500  # sequences whose logits go into the float-vs-int8 logit figure


def compute_report(
    keras_path: str | Path,
    tflite_path: str | Path,
    data_path: str | Path,
    *,
    split: str = "test",
    samples: int | None = None,
    c_dir: str | Path | None = None,
    chunk: int = 256,
    note: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """All the numbers of the report as one JSON-able dict (see the module docstring)."""
    note = note or (lambda _m: None)
    t_start = time.time()
    if samples is not None and samples < 1:
        raise EdgelstmError(f"--samples must be >= 1, got {samples}")
    if c_dir is not None:  # fail early, before the slow work
        read_manifest(c_dir)
    m = load_int8(keras_path, tflite_path)
    qm = m.ir
    check_keras_io(keras_path, tflite_path, m)
    ds = load_for_model(data_path, qm)  # the test split train made, if any
    check_features(ds, m.n_features, "the model")
    if ds.window != m.window:
        raise DataError(f"data has {ds.window} frames per sequence but the model was built for {m.window}",
                        "use data with the model's window length")
    X, y, _lengths = ds.split(split)
    y = labels_as_simulate(y, ds, m, note)
    if samples is not None:
        X, y = X[:samples], y[:samples]
    if len(X) == 0:
        raise DataError(f"the {split} split of '{data_path}' has no sequences")
    C = m.n_outputs
    if int(np.max(y)) >= C:
        raise DataError(f"the data has labels up to {int(np.max(y))}, the model has {C} outputs")
    note("loading the float model (Keras)...")
    keras_model, spec = load_float_model(keras_path)  # Keras 3 .keras, or ONNX (onnxruntime's predict)
    check_pairing(spec, qm, keras_path, tflite_path)
    matches = match_recurrent_ops(qm, spec, keras_path, tflite_path)
    class_names = m.class_names
    if len(class_names) != C:
        class_names = [f"class_{i}" for i in range(C)]
    y = np.asarray(y, dtype=np.int64)
    N, T = len(X), m.steps  # cell steps: a stacked model (--stack K) runs one every K frames
    Xs = m.stack_input(X)  # what the float model and the int8 graph take: (N, steps, K * F)

    # float model: Keras' own predictions (as `train`/`quantize` compute the float accuracy)
    note(f"float model on {N} {split} sequences (Keras)...")
    t0 = time.time()
    keras_logits = np.asarray(keras_model.predict(Xs, batch_size=256, verbose=0), dtype=np.float64)
    t_keras = time.time() - t0
    pred_f = np.argmax(keras_logits, axis=-1)

    # int8 model: the simulator on the model's own quantize_input (as `simulate`)
    xq = m.quantize_input(X)
    xn = normalize(Xs, spec)  # float32, as Keras' Normalization layer
    rec = [mt.op for mt in matches]
    keep = tuple(op.output for op in rec)
    dense_layers = [l for l in spec.layers if l.kind == "dense"]

    stats = {op.name: OpStats(op, T) for op in rec}
    logits_q = np.empty((N, C), dtype=np.int8)
    shadow_logits = np.empty((N, C), dtype=np.float64)
    note(f"int8 simulator and float reference, {N} sequences...")
    t0 = time.time()
    for s in range(0, N, chunk):
        e = min(N, s + chunk)
        tr: dict = {}
        res = m.run(xq[s:e], keep=keep, traces=tr, chunk=e - s)
        logits_q[s:e] = res[qm.output].reshape(e - s, -1)
        env = float_shadow(qm, matches, dense_layers, xn[s:e])
        out_f = env[qm.output]
        shadow_logits[s:e] = out_f.reshape(e - s, -1)
        for op in rec:
            stats[op.name].add(qm, res[op.output], env[op.output], tr.get(op.name, {}),
                               env.get(f"cell:{op.name}"))
        if progress is not None:
            progress(e - s, N)
    t_sim = time.time() - t0
    pred_q = np.argmax(logits_q, axis=-1)
    acc_f = float(np.mean(pred_f == y))
    acc_q = float(np.mean(pred_q == y))

    # the float shadow must reproduce Keras (else the divergence curves would mean nothing)
    last_is_softmax = qm.ops[-1].kind == "softmax"
    shadow_diff = float(np.max(np.abs(shadow_logits - keras_logits)))
    shadow_agree = float(np.mean(np.argmax(shadow_logits, -1) == pred_f))

    cm_f = confusion(y, pred_f, C)
    cm_q = confusion(y, pred_q, C)
    changed_idx = np.flatnonzero(pred_f != pred_q)
    changed = [{"index": int(i), "label": class_names[y[i]], "float_pred": class_names[pred_f[i]],
                "int8_pred": class_names[pred_q[i]]} for i in changed_idx[:CHANGED_MAX_LISTED]]
    fixed = int(np.sum((pred_f != y) & (pred_q == y)))
    broken = int(np.sum((pred_f == y) & (pred_q != y)))

    # logits: float (Keras) vs dequantized int8
    deq_logits = m.dequantize_output(logits_q)
    n_pts = min(N, LOGIT_POINTS)
    logit_err = np.abs(deq_logits - keras_logits)

    # input quantization: normalised data range vs the int8 input's representable range
    s_in, z_in = m.input_scale, m.input_zero_point
    lo_in, hi_in = (-128 - z_in) * s_in, (127 - z_in) * s_in
    xn64 = xn.astype(np.float64).reshape(-1, m.n_features)
    clipped_in = ((xn64 < lo_in - 0.5 * s_in) | (xn64 > hi_in + 0.5 * s_in)).mean(axis=0)
    in_err = np.abs(m.dequantize(qm.input, m.stack_input(xq)).reshape(-1, m.n_features) - xn64)
    pct = np.percentile(xn64, [0.1, 50, 99.9], axis=0)

    meta = qm.info.extra or {}
    layers = [stats[mt.op.name].summary(qm, mt) for mt in matches]
    divergence = [
        {"op": L["op"], "label": L["label"], "layer": L["layer"], "direction": L["direction"], "kind": L["kind"],
         "hidden_scale": L["hidden"]["scale"], "mean_abs": L["divergence"]["mean_abs"],
         "mean_abs_lsb": L["divergence"]["mean_abs_lsb"], "max_abs": L["divergence"]["max_abs"],
         "rounding_floor": L["hidden"]["scale"] / 4.0}
        for L in layers
    ]
    report: dict[str, Any] = {
        "format": REPORT_FORMAT,
        "format_version": 1,
        "edgelstm_version": __version__,
        "models": {
            "keras": {"file": str(keras_path), "sha256": sha256_file(keras_path)},
            "tflite": {"file": str(tflite_path), "sha256": qm.source_sha256 or sha256_file(tflite_path),
                       "bytes": Path(tflite_path).stat().st_size},
            "architecture": describe_spec(spec),
            "int8_ops": qm.describe(),
            "keras_is_quantized_source": source_matches(meta, keras_path),
            "window": m.window, "features": m.n_features, "classes": C, "stack": m.stack,
        },
        "data": {"file": str(data_path), "sha256": ds.sha256, "split": split, "samples": N,
                 "class_names": class_names},
        "summary": {
            "float_accuracy": acc_f, "int8_accuracy": acc_q, "accuracy_drop": acc_f - acc_q,
            "changed_predictions": int(len(changed_idx)), "fixed_by_int8": fixed, "broken_by_int8": broken,
            "prediction_agreement": float(np.mean(pred_f == pred_q)),
        },
        "figures": {
            "accuracy": {
                "png": "accuracy.png", "class_names": class_names,
                "float_accuracy": acc_f, "int8_accuracy": acc_q,
                "float": per_class(cm_f), "int8": per_class(cm_q),
            },
            "confusion": {"png": "confusion.png", "class_names": class_names, "float": cm_f.tolist(),
                          "int8": cm_q.tolist(), "rows": "true label", "columns": "predicted"},
            "changed_predictions": {"count": int(len(changed_idx)), "listed": len(changed), "items": changed},
            "divergence": {"png": "divergence.png", "time_steps": T, "layers": divergence,
                           "note": "mean over sequences and units of |h_float - dequantized h_int8| after each "
                                   "frame; a backward direction in its processing order (last frame first)"},
            "saturation": {"png": "saturation.png",
                           "layers": [{"op": L["op"], "label": L["label"], "gates": L["gate_names"],
                                       "saturated": L["preact_saturated"], "fraction": L["preact_saturated_fraction"],
                                       "elements_per_gate": L["elements_per_gate"]} for L in layers]},
            "state_range": {"png": "state_range.png",
                            "layers": [{"op": L["op"], "label": L["label"], **L["state"]} for L in layers]},
            "ranges": {
                "png": "ranges.png",
                "input": {"feature_names": m.feature_names, "scale": s_in, "zero_point": z_in,
                          "representable": [lo_in, hi_in], "data_min": xn64.min(axis=0).tolist(),
                          "data_max": xn64.max(axis=0).tolist(), "data_p0_1": pct[0].tolist(),
                          "data_median": pct[1].tolist(), "data_p99_9": pct[2].tolist(),
                          "clipped_fraction": clipped_in.tolist(),
                          "mean_abs_error_lsb": float(in_err.mean() / s_in)},
                "hidden": [{"op": L["op"], "label": L["label"], **L["hidden"]} for L in layers],
            },
            "logits": {"png": "logits.png", "sequences": n_pts, "float": keras_logits[:n_pts].tolist(),
                       "int8_dequantized": deq_logits[:n_pts].tolist(),
                       "mean_abs_error": float(logit_err.mean()),
                       "output_scale": m.output_scale, "output_zero_point": m.output_zero_point,
                       "softmax_output": last_is_softmax},
        },
        "layers": layers,
        "quantization": {
            "input": {"scale": s_in, "zero_point": z_in, "representable": [lo_in, hi_in]},
            "output": {"scale": m.output_scale, "zero_point": m.output_zero_point},
            "calibration": meta.get("calibration"),
            "normalization": meta.get("normalization") is not None,
            "tflm_agreement": meta.get("tflm_agreement"),
            "quantize_accuracy": meta.get("accuracy"),
        },
        "float_reference": {"max_abs_logit_diff": shadow_diff, "prediction_agreement": shadow_agree,
                            "ok": bool(shadow_diff <= 1e-3 * max(1.0, float(np.max(np.abs(keras_logits))))),
                            "weight_similarity": {L["op"]: L["weight_similarity"] for L in layers}},
        "deployment": None,
        "seconds": {"keras": round(t_keras, 2), "simulator_and_reference": round(t_sim, 2)},
    }
    if c_dir is not None:
        dep = deployment_figures(c_dir, report["models"]["tflite"]["sha256"])
        dep["macs_per_frame_model"] = m.macs_per_frame()  # a stacked model: averaged over frames, as verify's
        dep["macs_head"] = int(qm.macs_head())
        report["deployment"] = dep
    report["seconds"]["total"] = round(time.time() - t_start, 2)
    return report


def labels_as_simulate(y: np.ndarray, ds, m, note) -> np.ndarray:
    """The labels as `edgelstm simulate` scores them: mapped to the model's classes by name
    (labels_for_model), else by index."""
    y, msg = labels_for_model(y, ds.class_names, m.class_names)
    if msg:
        note(msg)
    return np.asarray(y, dtype=np.int64)
