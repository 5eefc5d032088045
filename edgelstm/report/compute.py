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
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import __version__
from ..errors import DataError, EdgelstmError, ModelError
from ..jsonutil import jsonable

REPORT_FORMAT = "edgelstm-report"
REPORT_JSON = "report.json"
INT16_MIN, INT16_MAX = -32768, 32767
# footprint figures other tools may add to an export folder (shown when present)
FOOTPRINT_NUMBERS = ("flash_bytes", "flash_weights_bytes", "flash_code_bytes", "flash_front_end_bytes", "ram_bytes",
                     "ram_state_bytes", "ram_scratch_bytes", "ram_stack_bytes", "ram_stack_measured_api_bytes",
                     "ram_static_bytes", "stack_bytes", "macs_per_frame", "instructions_per_frame",
                     "instructions_per_window", "instructions_per_mac", "cycles_per_frame")
FOOTPRINT_LABELS = ("core", "target", "cpu", "compiler", "opt")
WEIGHT_MATCH_MIN = 0.9  # cosine similarity of int8 vs float weight rows for "same model"
CHANGED_MAX_LISTED = 5000  # changed predictions listed in report.json (all are counted)
LOGIT_POINTS = 500  # sequences whose logits go into the float-vs-int8 logit figure


# ------------------------------------------------------------------------------------------
# Loading and matching the two models


@dataclass
class RecurrentMatch:
    """One recurrent op of the int8 graph and the Keras layer (and direction) it came from."""

    op: Any  # LstmOp | GruOp
    layer_index: int  # among the recurrent layers
    layer_name: str
    direction: str  # "forward" | "backward"
    kernel: np.ndarray
    recurrent_kernel: np.ndarray
    bias: np.ndarray
    reset_after: bool = True
    weight_similarity: float = 1.0
    bidirectional: bool = False

    @property
    def label(self) -> str:
        return f"{self.layer_name} {self.direction}" if self.bidirectional else self.layer_name


def _pairing_error(keras_path, tflite_path, what: str) -> ModelError:
    return ModelError(
        f"'{Path(keras_path).name}' and '{Path(tflite_path).name}' do not belong together: {what}",
        "give the .keras model the .tflite was quantized from",
    )


def _row_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Mean cosine similarity of matching rows (rows that are zero in either are skipped)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    na = np.linalg.norm(a, axis=1)
    nb = np.linalg.norm(b, axis=1)
    ok = (na > 0) & (nb > 0)
    if not np.any(ok):
        return 1.0 if not np.any(na) and not np.any(nb) else 0.0
    return float(np.mean(np.sum(a[ok] * b[ok], axis=1) / (na[ok] * nb[ok])))


def _ir_weights(op) -> tuple[np.ndarray, np.ndarray]:
    """The int8 input and recurrent weight rows of an op, in Keras' column order (as (4U|3U, in))."""
    if op.kind == "lstm":
        order = ("i", "f", "g", "o")  # Keras: i, f, c, o
    else:
        order = ("z", "r", "h")
    wx = np.concatenate([op.gates[g].input_fc.weights for g in order]).astype(np.float64)
    wh = np.concatenate([op.gates[g].recurrent_fc.weights for g in order]).astype(np.float64)
    return wx, wh


def match_recurrent_ops(qm, spec, keras_path="model.keras", tflite_path="model.tflite") -> list[RecurrentMatch]:
    """Map every recurrent op of the int8 graph to its Keras layer and direction (see module doc)."""
    rnn_layers = [l for l in spec.layers if l.kind in ("lstm", "gru")]
    depth: dict[str, int] = {qm.input: 0}
    orient: dict[str, int | None] = {qm.input: 0}
    found: dict[int, list[tuple[Any, str]]] = {}
    for op in qm.ops:
        ins = op.inputs if op.kind == "concat" else [op.input]
        d = max(depth.get(i, 0) for i in ins)
        os_ = {orient.get(i) for i in ins}
        o = os_.pop() if len(os_) == 1 else None
        if op.kind == "reverse_time" and o is not None:
            o = 1 - o
        if op.kind in ("lstm", "gru"):
            if o is None:
                raise ModelError(f"'{tflite_path}': cannot tell the time direction of recurrent op {op.name}")
            found.setdefault(d, []).append((op, "backward" if o == 1 else "forward"))
            d += 1
        depth[op.output] = d
        orient[op.output] = o
    n_ops = sum(len(v) for v in found.values())
    n_keras = sum(2 if l.bidirectional else 1 for l in rnn_layers)
    if len(found) != len(rnn_layers) or n_ops != n_keras:
        desc_k = ", ".join(f"{'Bi' if l.bidirectional else ''}{l.kind.upper()}({l.units})" for l in rnn_layers)
        raise _pairing_error(keras_path, tflite_path,
                             f"the .keras has {len(rnn_layers)} recurrent layer(s) [{desc_k}], the .tflite "
                             f"{n_ops} recurrent op(s) ({qm.describe()})")
    matches = []
    for li, layer in enumerate(rnn_layers):
        ops = found.get(li, [])
        dirs = sorted(d for _, d in ops)
        want = ["backward", "forward"] if layer.bidirectional else ["forward"]
        if dirs != want:
            raise _pairing_error(keras_path, tflite_path,
                                 f"recurrent layer {li} ('{layer.name}') is {'bi' if layer.bidirectional else 'uni'}"
                                 f"directional in the .keras but not in the .tflite")
        nw = len(layer.weights) // (2 if layer.bidirectional else 1)
        for op, direction in ops:
            if op.kind != layer.kind or op.units != layer.units:
                raise _pairing_error(keras_path, tflite_path,
                                     f"layer '{layer.name}' is {layer.kind.upper()}({layer.units}) in the .keras, "
                                     f"{op.kind.upper()}({op.units}) in the .tflite")
            w = layer.weights[:nw] if direction == "forward" else layer.weights[nw:]
            kernel, rec, bias = (np.asarray(a, dtype=np.float64) for a in w[:3])
            if kernel.shape[0] != op.input_size:
                raise _pairing_error(keras_path, tflite_path,
                                     f"layer '{layer.name}' takes {kernel.shape[0]} inputs in the .keras, "
                                     f"{op.input_size} in the .tflite")
            wx, wh = _ir_weights(op)
            sim = min(_row_cosine(wx, kernel.T), _row_cosine(wh, rec.T))
            if not sim >= WEIGHT_MATCH_MIN:
                raise _pairing_error(keras_path, tflite_path,
                                     f"the weights of layer '{layer.name}' ({direction}) differ (similarity "
                                     f"{sim:.2f}; a quantized copy gives > 0.99)")
            m = RecurrentMatch(op=op, layer_index=li, layer_name=layer.name, direction=direction, kernel=kernel,
                               recurrent_kernel=rec, bias=bias, reset_after=layer.reset_after,
                               weight_similarity=sim, bidirectional=layer.bidirectional)
            matches.append(m)
    order = {op.name: i for i, op in enumerate(qm.ops)}
    return sorted(matches, key=lambda m: order[m.op.name])


def check_pairing(spec, qm, keras_path, tflite_path) -> None:
    """Shapes, classes and normalisation of the two models agree (one-line errors otherwise)."""
    if (spec.window, spec.features) != (qm.window, qm.n_features):
        raise _pairing_error(keras_path, tflite_path,
                             f"the .keras takes windows of {spec.window} frames x {spec.features} features, the "
                             f".tflite {qm.window} x {qm.n_features}")
    if spec.n_outputs != qm.n_outputs:
        raise _pairing_error(keras_path, tflite_path,
                             f"the .keras has {spec.n_outputs} outputs (classes), the .tflite {qm.n_outputs}")
    a, b = spec.norm_mean, qm.info.norm_mean
    if (a is None) != (b is None):
        raise _pairing_error(keras_path, tflite_path,
                             "one of them normalises its input and the other does not")
    if a is not None:
        if not (np.allclose(a, b, rtol=1e-5, atol=1e-6) and np.allclose(spec.norm_std, qm.info.norm_std,
                                                                          rtol=1e-5, atol=1e-6)):
            raise _pairing_error(keras_path, tflite_path, "their input normalisations (mean/std) differ")


# ------------------------------------------------------------------------------------------
# The float shadow of the int8 graph


def float_shadow(qm, matches: list[RecurrentMatch], dense_layers: list, xn: np.ndarray) -> dict[str, np.ndarray]:
    """Execute the int8 graph's structure in float64 on normalised inputs ``xn`` (N, T, F).

    Returns {tensor key: float array} for every op output, plus ``"cell:<op name>"`` (LSTM cell
    states) for the recurrent ops. Fully connected ops take the Keras Dense layers in order.
    """
    from ..sim.gru import gru_float
    from ..sim.lstm_float import lstm_float

    by_op = {m.op.name: m for m in matches}
    env: dict[str, np.ndarray] = {qm.input: np.asarray(xn, dtype=np.float64)}
    dense_iter = iter(dense_layers)
    for op in qm.ops:
        k = op.kind
        if k == "lstm":
            m = by_op[op.name]
            h, c = lstm_float(env[op.input], m.kernel, m.recurrent_kernel, m.bias, return_cell=True)
            env[op.output] = h
            env[f"cell:{op.name}"] = c
        elif k == "gru":
            m = by_op[op.name]
            env[op.output] = gru_float(env[op.input], m.kernel, m.recurrent_kernel, m.bias, reset_after=m.reset_after)
        elif k == "reverse_time":
            env[op.output] = env[op.input][:, ::-1]
        elif k == "slice_time":
            y = env[op.input][:, op.index]
            env[op.output] = y[:, None] if op.keep_time_axis else y
        elif k == "concat":
            env[op.output] = np.concatenate([env[i] for i in op.inputs], axis=-1)
        elif k in ("requantize", "reshape"):
            env[op.output] = env[op.input]
        elif k == "fully_connected":
            layer = next(dense_iter, None)
            x = env[op.input]
            x = x.reshape(x.shape[0], -1)
            if layer is None or layer.weights[0].shape != (x.shape[1], op.fc.out_features):
                raise ModelError(f"cannot match the .tflite's fully connected op {op.name} to a Dense layer")
            y = x @ np.asarray(layer.weights[0], np.float64)
            if layer.use_bias and len(layer.weights) > 1:
                y = y + np.asarray(layer.weights[1], np.float64)
            if layer.activation == "relu":
                y = np.maximum(y, 0.0)
            elif layer.activation == "relu6":
                y = np.clip(y, 0.0, 6.0)
            env[op.output] = y
        elif k == "softmax":
            x = env[op.input]
            e = np.exp(x - x.max(axis=-1, keepdims=True))
            env[op.output] = e / e.sum(axis=-1, keepdims=True)
        else:  # pragma: no cover - the IR has no other kinds
            raise ModelError(f"the report does not know op kind '{k}'")
    return env


# ------------------------------------------------------------------------------------------
# Classification figures


def confusion(y: np.ndarray, pred: np.ndarray, n: int) -> np.ndarray:
    cm = np.zeros((n, n), dtype=np.int64)
    np.add.at(cm, (np.asarray(y, np.int64), np.asarray(pred, np.int64)), 1)
    return cm


def per_class(cm: np.ndarray) -> dict[str, list]:
    tp = np.diag(cm).astype(np.float64)
    predicted = cm.sum(axis=0).astype(np.float64)
    support = cm.sum(axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / predicted, np.nan)
        recall = np.where(support > 0, tp / support, np.nan)
    return {"precision": precision.tolist(), "recall": recall.tolist(), "support": support.astype(int).tolist()}


def divergence_summary(h_float: np.ndarray, h_int8_deq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per time step: (sum over sequences and units of |float - int8|, max of it); (N, T, U) inputs."""
    d = np.abs(np.asarray(h_float, np.float64) - np.asarray(h_int8_deq, np.float64))
    return d.sum(axis=(0, 2)), d.max(axis=(0, 2))


def per_timestep_divergence(h_float: np.ndarray, h_int8_deq: np.ndarray) -> np.ndarray:
    """Mean absolute difference per time step over sequences and units: (N, T, U) -> (T,)."""
    s, _ = divergence_summary(h_float, h_int8_deq)
    n = h_float.shape[0] * h_float.shape[2]
    return s / max(n, 1)


# ------------------------------------------------------------------------------------------
# Deployment figures


def _find_footprint(d: Path, manifest: dict) -> tuple[dict, list[str]]:
    """Footprint figures from the manifest and the JSON files of an export folder.

    Any dict (at any depth up to 3) holding one of FOOTPRINT_NUMBERS contributes them, keyed by
    the path of dict keys leading to it ("cortex-m4.flash_code_bytes"); dicts called
    "footprint", "size", "sizes" or "measurements" add no prefix. Descriptive keys (target,
    cpu, compiler) are taken only next to a number.
    """
    found: dict[str, Any] = {}
    sources: list[str] = []

    def take(obj: Any, src: str, prefix: str, depth: int, max_depth: int = 3) -> None:
        if not isinstance(obj, dict) or depth > max_depth:
            return
        nums = {k: obj[k] for k in FOOTPRINT_NUMBERS
                if isinstance(obj.get(k), (int, float)) and not isinstance(obj.get(k), bool)}
        if nums:
            for k, v in nums.items():
                found.setdefault(prefix + k, v)
            for k in FOOTPRINT_LABELS:
                if isinstance(obj.get(k), str):
                    found.setdefault(prefix + k, obj[k])
            if src not in sources:
                sources.append(src)
        for k, v in obj.items():
            if isinstance(v, dict) and k not in ("board", "boards"):  # a board's capacities, not a footprint
                sub = prefix if k in ("footprint", "size", "sizes", "measurements") else f"{prefix}{k}."
                take(v, src, sub, depth + 1, max_depth)

    # the manifest: its top level and its "footprint" entry only (the rest describes the export)
    take({k: v for k, v in manifest.items() if not isinstance(v, dict) or k == "footprint"},
         "edgelstm_export.json", "", 0, max_depth=1)
    for p in sorted(d.glob("*.json")):
        if p.name == "edgelstm_export.json" or p.stat().st_size > 2_000_000:
            continue
        try:
            obj = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        take(obj, p.name, "", 0)
    return found, sources


def deployment_figures(c_dir: str | Path, tflite_sha256: str) -> dict:
    """What an export folder says about the deployed model (see the module docstring)."""
    from ..codegen.export import read_manifest

    d = Path(c_dir)
    man = read_manifest(d)
    name = str(man.get("name"))
    out: dict[str, Any] = {"dir": str(d), "name": name, "layers": man.get("layers"),
                           "streaming": man.get("streaming"), "model_sha256": man.get("model_sha256"),
                           "same_model": man.get("model_sha256") == tflite_sha256}
    for k in ("weights_bytes", "workspace_bytes", "target"):
        if k in man:
            out[k] = man[k]
    sizes = {"int8_t": 1, "uint8_t": 1, "int16_t": 2, "uint16_t": 2, "int32_t": 4, "uint32_t": 4}
    fields = man.get("state_fields") or []
    if fields and all(isinstance(f, dict) and f.get("type") in sizes for f in fields):
        out["state_bytes"] = int(sum(sizes[f["type"]] * int(f.get("count", 0)) for f in fields))
    header = d / f"{name}_model.h"
    if header.is_file():
        m = re.search(rf"#define\s+{re.escape(name.upper())}_WEIGHTS_BYTES\s+(\d+)", header.read_text(errors="replace"))
        if m:
            out["header_weights_bytes"] = int(m.group(1))
    fp, sources = _find_footprint(d, man)
    out["footprint"] = fp
    out["footprint_sources"] = sources
    return out


# ------------------------------------------------------------------------------------------
# The whole computation


def _keras_io_shape(path: str | Path) -> tuple[int | None, int | None, int | None] | None:
    """(T, F, outputs) read from a .keras file's config.json without Keras (best effort, None if unsure).

    Lets a mismatched pair fail in a second instead of after loading TensorFlow.
    """
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            cfg = json.loads(z.read("config.json"))
        layers = cfg["config"]["layers"]
        t = f = out = None
        for l in layers:
            if l.get("class_name") == "InputLayer":
                bs = l["config"].get("batch_shape") or l["config"].get("batch_input_shape")
                if bs and len(bs) == 3:
                    t, f = bs[1], bs[2]
                break
        outs = cfg["config"].get("output_layers")
        last = None
        if isinstance(outs, list) and outs and isinstance(outs[0], str):
            outs = [outs]
        if isinstance(outs, list) and len(outs) == 1 and isinstance(outs[0], list):
            last = next((l for l in layers if l.get("config", {}).get("name") == outs[0][0]), None)
        elif cfg.get("class_name") == "Sequential" and layers:
            last = layers[-1]
        if last is not None and last.get("class_name") == "Dense":
            out = last["config"].get("units")
        return (t if isinstance(t, int) else None, f if isinstance(f, int) else None,
                out if isinstance(out, int) else None)
    except Exception:  # noqa: BLE001 - any surprise: leave the check to Keras itself
        return None


def _load_int8(keras_path, tflite_path):
    """The int8 model, after checking that the two files are given in the right order."""
    from ..fsutil import require_file
    from ..model import load_int8_model

    kp = require_file(keras_path, "float model")
    tp = require_file(tflite_path, "int8 model")
    with open(kp, "rb") as fh:
        head_k = fh.read(8)
    with open(tp, "rb") as fh:
        head_t = fh.read(8)
    if head_k[4:8] == b"TFL3":
        hint = ("give MODEL.keras first, then MODEL_int8.tflite" if head_t[:2] == b"PK"
                else "the first argument is the float Keras model (.keras)")
        raise ModelError(f"'{kp}' is a .tflite model, not the float Keras model", hint)
    if head_t[:2] == b"PK":
        raise ModelError(f"'{tp}' is a zip archive (a .keras model?), not the int8 .tflite",
                         "the second argument is the int8 model from `edgelstm quantize`")
    return load_int8_model(tp)


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
    from ..data.dataset import check_features, load_dataset, split_settings
    from ..fsutil import sha256_file
    from ..quantize.keras_spec import normalize

    note = note or (lambda _m: None)
    t_start = time.time()
    if samples is not None and samples < 1:
        raise EdgelstmError(f"--samples must be >= 1, got {samples}")
    if c_dir is not None:  # fail early, before the slow work
        from ..codegen.export import read_manifest

        read_manifest(c_dir)
    m = _load_int8(keras_path, tflite_path)
    qm = m.ir
    quick = _keras_io_shape(keras_path)
    if quick is not None:
        t, f, c = quick
        if (t is not None and t != m.window) or (f is not None and f != m.n_features):
            raise _pairing_error(keras_path, tflite_path,
                                 f"the .keras takes windows of {t} frames x {f} features, the .tflite "
                                 f"{m.window} x {m.n_features}")
        if c is not None and c != m.n_outputs:
            raise _pairing_error(keras_path, tflite_path,
                                 f"the .keras has {c} outputs (classes), the .tflite {m.n_outputs}")
    ds = load_dataset(data_path, **split_settings(qm.info.extra))  # the test split train made, if any
    check_features(ds, m.n_features, "the model")
    if ds.window != m.window:
        raise DataError(f"data has {ds.window} frames per sequence but the model was built for {m.window}",
                        "use data with the model's window length")
    X, y, _lengths = ds.split(split)
    y = _labels_as_simulate(y, ds, m, note)
    if samples is not None:
        X, y = X[:samples], y[:samples]
    if len(X) == 0:
        raise DataError(f"the {split} split of '{data_path}' has no sequences")
    C = m.n_outputs
    if int(np.max(y)) >= C:
        raise DataError(f"the data has labels up to {int(np.max(y))}, the model has {C} outputs")
    from ..quantize.keras_spec import keras_to_spec, load_keras_model

    note("loading the float model (Keras)...")
    keras_model = load_keras_model(keras_path)
    spec = keras_to_spec(keras_model, str(keras_path))
    check_pairing(spec, qm, keras_path, tflite_path)
    matches = match_recurrent_ops(qm, spec, keras_path, tflite_path)
    class_names = m.class_names
    if len(class_names) != C:
        class_names = [f"class_{i}" for i in range(C)]
    y = np.asarray(y, dtype=np.int64)
    N, T = len(X), m.window

    # float model: Keras' own predictions (as `train`/`quantize` compute the float accuracy)
    note(f"float model on {N} {split} sequences (Keras)...")
    t0 = time.time()
    keras_logits = np.asarray(keras_model.predict(X, batch_size=256, verbose=0), dtype=np.float64)
    t_keras = time.time() - t0
    pred_f = np.argmax(keras_logits, axis=-1)

    # int8 model: the simulator on the model's own quantize_input (as `simulate`)
    xq = m.quantize_input(X)
    xn = normalize(X, spec)  # float32, as Keras' Normalization layer
    rec = [mt.op for mt in matches]
    keep = tuple(op.output for op in rec)
    dense_layers = [l for l in spec.layers if l.kind == "dense"]

    stats = {op.name: _OpStats(op, T) for op in rec}
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
    in_err = np.abs(m.dequantize(qm.input, xq).reshape(-1, m.n_features) - xn64)
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
            "keras_is_quantized_source": _source_matches(meta, keras_path),
            "window": m.window, "features": m.n_features, "classes": C,
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
        dep["macs_per_frame_model"] = int(qm.macs_per_frame())
        dep["macs_head"] = int(qm.macs_head())
        report["deployment"] = dep
    report["seconds"]["total"] = round(time.time() - t_start, 2)
    return report


def _labels_as_simulate(y: np.ndarray, ds, m, note) -> np.ndarray:
    """The labels as `edgelstm simulate` scores them: mapped to the model's classes by name where
    the dataset module can do that (labels_for_model), else by index."""
    try:
        from ..data.dataset import labels_for_model
    except ImportError:
        return np.asarray(y, dtype=np.int64)
    y, msg = labels_for_model(y, ds.class_names, m.class_names)
    if msg:
        note(msg)
    return np.asarray(y, dtype=np.int64)


def describe_spec(spec) -> str:
    """"BiLSTM(8) -> LSTM(8) -> Dense(7)" from the Keras model's layers."""
    parts = []
    for l in spec.layers:
        if l.kind in ("lstm", "gru"):
            parts.append(f"{'Bi' if l.bidirectional else ''}{l.kind.upper()}({l.units})")
        else:
            act = "" if l.activation == "linear" else f", {l.activation}"
            parts.append(f"Dense({l.units}{act})")
    return " -> ".join(parts)


def _source_matches(meta: dict, keras_path) -> bool | None:
    """Whether the .keras file is byte for byte the one `quantize` read (None: not recorded)."""
    from ..fsutil import sha256_file

    src = (meta or {}).get("source_model") or {}
    if not src.get("sha256"):
        return None
    return src["sha256"] == sha256_file(keras_path)


class _OpStats:
    """Accumulates one recurrent op's figures over chunks of sequences."""

    def __init__(self, op, T: int):
        self.op = op
        self.T = T
        self.n = 0
        self.div_sum = np.zeros(T)
        self.div_max = np.zeros(T)
        self.sat = None
        self.gate_names: list[str] = []
        self.state_min = INT16_MAX
        self.state_max = INT16_MIN
        self.state_rail = 0  # state values at the int16 rails (or the cell clip)
        self.state_hist = np.zeros(256, dtype=np.int64)  # 256 bins over the int16 range
        self.fstate_min = math.inf
        self.fstate_max = -math.inf
        self.fstate_out = 0  # float cell values outside the int16 cell range
        self.fstate_beyond_clip = 0  # float cell values beyond the int8 model's cell clip
        self.fh_min = math.inf
        self.fh_max = -math.inf
        self.fh_out = 0  # float hidden values outside the int8 representable range
        self.h_rail = 0  # int8 hidden values at -128 or 127

    def add(self, qm, h_int8: np.ndarray, h_float: np.ndarray, trace: dict, cell_float: np.ndarray | None):
        op = self.op
        t = qm.tensors[op.output]
        hq = t.dequantize(h_int8)
        s, mx = divergence_summary(h_float, hq)
        self.div_sum += s
        self.div_max = np.maximum(self.div_max, mx)
        self.n += h_int8.shape[0]
        lo, hi = (-128 - t.zero_point) * t.scale, (127 - t.zero_point) * t.scale
        self.fh_min = min(self.fh_min, float(h_float.min()))
        self.fh_max = max(self.fh_max, float(h_float.max()))
        self.fh_out += int(np.sum((h_float < lo - 0.5 * t.scale) | (h_float > hi + 0.5 * t.scale)))
        self.h_rail += int(np.sum((h_int8 == -128) | (h_int8 == 127)))
        sat = trace.get("preact_saturated") or {}
        if self.sat is None:
            self.gate_names = list(sat)
            self.sat = np.zeros(len(sat), dtype=np.int64)
        self.sat += np.array([sat[g] for g in self.gate_names], dtype=np.int64)
        st = trace.get("cell") if op.kind == "lstm" else trace.get("state")
        if st is not None:
            st = st.astype(np.int32)
            self.state_min = min(self.state_min, int(st.min()))
            self.state_max = max(self.state_max, int(st.max()))
            rail = INT16_MAX
            if op.kind == "lstm" and op.quantized_cell_clip > 0:
                rail = min(rail, int(op.quantized_cell_clip))
            self.state_rail += int(np.sum(np.abs(st) >= rail))
            self.state_hist += np.bincount(((st + 32768) >> 8).ravel(), minlength=256)[:256]
        if cell_float is not None:
            self.fstate_min = min(self.fstate_min, float(cell_float.min()))
            self.fstate_max = max(self.fstate_max, float(cell_float.max()))
            avail = self._state_scale() * 32768.0
            self.fstate_out += int(np.sum(np.abs(cell_float) > avail))
            if op.quantized_cell_clip > 0:
                self.fstate_beyond_clip += int(np.sum(np.abs(cell_float) > op.quantized_cell_clip * op.cell_scale))
        elif op.kind == "gru":
            self.fstate_min = min(self.fstate_min, float(h_float.min()))
            self.fstate_max = max(self.fstate_max, float(h_float.max()))

    def _state_scale(self) -> float:
        return float(self.op.cell_scale) if self.op.kind == "lstm" else 2.0**-15

    def summary(self, qm, mt: RecurrentMatch) -> dict:
        op = self.op
        t = qm.tensors[op.output]
        U, T = op.units, self.T
        per_gate = self.n * T * U
        mean_abs = self.div_sum / max(self.n * U, 1)
        sc = self._state_scale()
        lo_h, hi_h = (-128 - t.zero_point) * t.scale, (127 - t.zero_point) * t.scale
        state: dict[str, Any] = {
            "kind": "cell" if op.kind == "lstm" else "gru_state",
            "scale": sc,
            "int16_min": self.state_min, "int16_max": self.state_max,
            "available_int16": [INT16_MIN, INT16_MAX],
            "used_float": [self.state_min * sc, self.state_max * sc],
            "available_float": [INT16_MIN * sc, INT16_MAX * sc],
            "used_fraction_of_range": max(abs(self.state_min), abs(self.state_max)) / 32768.0,
            "at_rail": self.state_rail,
            "float_model_range": [self.fstate_min, self.fstate_max],
            "histogram_int16_bins": {"edges_int16": list(range(-32768, 32769, 256)),
                                     "counts": self.state_hist.tolist()},
        }
        if op.kind == "lstm":
            state["cell_scale_power"] = int(op.cell_scale_power)
            state["cell_clip_float"] = (op.quantized_cell_clip * sc) if op.quantized_cell_clip > 0 else None
            state["float_model_outside_int16_range"] = self.fstate_out
            state["float_model_beyond_clip"] = self.fstate_beyond_clip
            state["float_model_beyond_clip_fraction"] = self.fstate_beyond_clip / max(per_gate, 1)
        hidden = {
            "scale": float(t.scale), "zero_point": int(t.zero_point), "representable": [lo_h, hi_h],
            "float_model_range": [self.fh_min, self.fh_max],
            "float_model_outside_fraction": self.fh_out / max(per_gate, 1),
            "int8_at_rail_fraction": self.h_rail / max(per_gate, 1),
        }
        if op.kind == "gru":
            hidden["hidden_frac_bits"] = int(op.hidden_frac_bits)
        else:
            # TFLM writes h quantized with the hidden-state tensor's parameters into the output
            # tensor, which the next op reads with the output tensor's own: when the converter
            # gave them different parameters (it does for Bidirectional layers), every value
            # the next op reads is off by about (zp_h - zp_out) LSB.
            hidden["state_tensor_scale"] = float(op.hidden_scale)
            hidden["state_tensor_zero_point"] = int(op.hidden_zero_point)
            mismatch = (op.hidden_zero_point != t.zero_point
                        or abs(op.hidden_scale - t.scale) > 1e-6 * max(t.scale, 1e-30))
            hidden["state_output_params_differ"] = bool(mismatch)
            hidden["state_output_offset_lsb"] = float(op.hidden_zero_point - t.zero_point) if mismatch else 0.0
            hidden["state_output_scale_ratio"] = float(t.scale / op.hidden_scale)
        gate_names = self.gate_names
        sat = self.sat if self.sat is not None else np.zeros(0, np.int64)
        return {
            "op": op.name, "label": mt.label, "layer": mt.layer_name, "layer_index": mt.layer_index,
            "direction": mt.direction, "kind": op.kind, "units": U, "input_size": op.input_size,
            "weight_similarity": mt.weight_similarity,
            "input_scale": float(qm.tensors[op.input].scale), "input_zero_point": int(qm.tensors[op.input].zero_point),
            "hidden": hidden,
            "state": state,
            "gate_names": gate_names,
            "preact_saturated": dict(zip(gate_names, sat.tolist())),
            "preact_saturated_fraction": dict(zip(gate_names, (sat / max(per_gate, 1)).tolist())),
            "elements_per_gate": per_gate,
            "divergence": {"mean_abs": mean_abs.tolist(), "mean_abs_lsb": (mean_abs / t.scale).tolist(),
                           "max_abs": self.div_max.tolist(),
                           "first": float(mean_abs[0]), "last": float(mean_abs[-1]), "mean": float(mean_abs.mean())},
        }


# ------------------------------------------------------------------------------------------
# Writing the folder


def _check_out_dir(out: Path) -> None:
    """Refuse to replace a folder that is not an earlier report (as export-c does)."""
    if out.exists():
        if not out.is_dir():
            raise EdgelstmError(f"--out '{out}' exists and is a file", "give a folder name, e.g. --out report")
        entries = list(out.iterdir())
        if entries:
            rj = out / REPORT_JSON
            ok = False
            if rj.is_file():
                try:
                    ok = json.loads(rj.read_text(encoding="utf-8")).get("format") == REPORT_FORMAT
                except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
                    ok = False
            if not ok:
                raise EdgelstmError(f"--out '{out}' is a folder that is not an edgelstm report; not replacing it",
                                    "give a new or empty folder")


def make_report(
    keras_path: str | Path,
    tflite_path: str | Path,
    data_path: str | Path,
    out: str | Path,
    *,
    split: str = "test",
    samples: int | None = None,
    c_dir: str | Path | None = None,
    note: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Compute the report and write ``out/`` (index.html, PNGs, report.json) atomically.

    Returns the summary (what ``edgelstm report --json`` prints).
    """
    from ..fsutil import atomic_dir
    from .html import render_html
    from .plots import FIGURES, render_figures

    out = Path(out)
    note = note or (lambda _m: None)
    _check_out_dir(out)
    rep = compute_report(keras_path, tflite_path, data_path, split=split, samples=samples, c_dir=c_dir, note=note,
                         progress=progress)
    note("drawing the figures...")
    kept: list[str] = []  # an earlier report (its page, JSON and figures) is replaced, the user's other files kept
    with atomic_dir(out, what="report folder", carry_except={"index.html", REPORT_JSON, "*.png"},
                    carried=kept) as tmp:
        _chmod_like_mkdir(tmp)
        pngs = render_figures(rep, tmp)
        (tmp / "index.html").write_text(render_html(rep), encoding="utf-8")
        (tmp / REPORT_JSON).write_text(json.dumps(jsonable(rep), indent=1, allow_nan=False) + "\n",
                                       encoding="utf-8")
    if kept:
        note(f"note: kept {len(kept)} entr{'y' if len(kept) == 1 else 'ies'} of yours in {out}/ that the report "
             f"did not write: {', '.join(kept)[:200]}")
    files = ["index.html", REPORT_JSON, *pngs]
    assert set(pngs) <= set(FIGURES.values())
    s = rep["summary"]
    return {
        "float_accuracy": s["float_accuracy"],
        "int8_accuracy": s["int8_accuracy"],
        "accuracy_drop": s["accuracy_drop"],
        "changed_predictions": s["changed_predictions"],
        "fixed_by_int8": s["fixed_by_int8"],
        "broken_by_int8": s["broken_by_int8"],
        "split": rep["data"]["split"],
        "samples": rep["data"]["samples"],
        "architecture": rep["models"]["architecture"],
        "divergence_last_step": {d["label"]: d["mean_abs"][-1] for d in rep["figures"]["divergence"]["layers"]},
        "float_reference_max_abs_logit_diff": rep["float_reference"]["max_abs_logit_diff"],
        "deployment": _deployment_summary(rep.get("deployment")),
        "out": str(out),
        "html": str(out / "index.html"),
        "json": str(out / REPORT_JSON),
        "files": files,
    }


def _chmod_like_mkdir(path: Path) -> None:
    """mkdtemp makes a 0700 folder; a report folder gets the usual permissions (umask applied)."""
    import os

    mask = os.umask(0)
    os.umask(mask)
    try:
        os.chmod(path, 0o777 & ~mask)
    except OSError:
        pass


def _deployment_summary(dep: dict | None) -> dict | None:
    if not dep:
        return None
    keys = ("name", "weights_bytes", "header_weights_bytes", "workspace_bytes", "state_bytes", "same_model")
    d = {k: dep[k] for k in keys if k in dep}
    d["footprint"] = dep.get("footprint") or {}
    return d


