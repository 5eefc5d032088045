"""Which Keras layer is which op of the int8 graph, and whether the two files belong together.

- the two files are given in the right order and have the same shapes (:func:`load_int8`,
  :func:`check_keras_io` before Keras is loaded, :func:`check_pairing` after);
- an op's Keras layer is the number of recurrent ops upstream of its input; its direction is
  the parity of REVERSE ops on the path from the model input (backward ops read time-reversed
  data). The match is then checked on the weights (cosine similarity of the int8 and float
  weight rows): a ``.keras`` that is not the ``.tflite``'s source is refused in one line
  (:func:`match_recurrent_ops`).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError
from ..fsutil import require_file, sha256_file
from ..model import Int8Model, load_int8_model
from ..tflite.metadata import stack_of

WEIGHT_MATCH_MIN = 0.9  # cosine similarity of int8 vs float weight rows for "same model"


@dataclass
class RecurrentMatch:
    """One recurrent op of the int8 graph and the Keras layer (and direction) it came from."""

    op: Any  # a recurrent op of the IR (LstmOp | GruOp)
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


def pairing_error(keras_path, tflite_path, what: str) -> ModelError:
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
    """The int8 input and recurrent weight rows of an op, in Keras' column order (as (4U|3U, in)):
    the op's GATES are in Keras' order (LSTM i, f, c, o; GRU z, r, h)."""
    wx = np.concatenate([op.gates[g].input_fc.weights for g in op.GATES]).astype(np.float64)
    wh = np.concatenate([op.gates[g].recurrent_fc.weights for g in op.GATES]).astype(np.float64)
    return wx, wh


def match_recurrent_ops(qm, spec, keras_path="model.keras", tflite_path="model.tflite") -> list[RecurrentMatch]:
    """Map every recurrent op of the int8 graph to its Keras layer and direction (see module doc)."""
    rnn_layers = [l for l in spec.layers if l.kind in ("lstm", "gru")]
    depth: dict[str, int] = {qm.input: 0}
    orient: dict[str, int | None] = {qm.input: 0}
    found: dict[int, list[tuple[Any, str]]] = {}
    for op in qm.ops:
        ins = op.inputs
        d = max(depth.get(i, 0) for i in ins)
        os_ = {orient.get(i) for i in ins}
        o = os_.pop() if len(os_) == 1 else None
        if op.kind == "reverse_time" and o is not None:
            o = 1 - o
        if op.recurrent:
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
        raise pairing_error(keras_path, tflite_path,
                            f"the .keras has {len(rnn_layers)} recurrent layer(s) [{desc_k}], the .tflite "
                            f"{n_ops} recurrent op(s) ({qm.describe()})")
    matches = []
    for li, layer in enumerate(rnn_layers):
        ops = found.get(li, [])
        dirs = sorted(d for _, d in ops)
        want = ["backward", "forward"] if layer.bidirectional else ["forward"]
        if dirs != want:
            raise pairing_error(keras_path, tflite_path,
                                f"recurrent layer {li} ('{layer.name}') is {'bi' if layer.bidirectional else 'uni'}"
                                f"directional in the .keras but not in the .tflite")
        nw = len(layer.weights) // (2 if layer.bidirectional else 1)
        for op, direction in ops:
            if op.kind != layer.kind or op.units != layer.units:
                raise pairing_error(keras_path, tflite_path,
                                    f"layer '{layer.name}' is {layer.kind.upper()}({layer.units}) in the .keras, "
                                    f"{op.kind.upper()}({op.units}) in the .tflite")
            w = layer.weights[:nw] if direction == "forward" else layer.weights[nw:]
            kernel, rec, bias = (np.asarray(a, dtype=np.float64) for a in w[:3])
            if kernel.shape[0] != op.input_size:
                raise pairing_error(keras_path, tflite_path,
                                    f"layer '{layer.name}' takes {kernel.shape[0]} inputs in the .keras, "
                                    f"{op.input_size} in the .tflite")
            wx, wh = _ir_weights(op)
            sim = min(_row_cosine(wx, kernel.T), _row_cosine(wh, rec.T))
            if not sim >= WEIGHT_MATCH_MIN:
                raise pairing_error(keras_path, tflite_path,
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
        raise pairing_error(keras_path, tflite_path,
                            f"the .keras takes windows of {spec.window} frames x {spec.features} features, the "
                            f".tflite {qm.window} x {qm.n_features}")
    if spec.n_outputs != qm.n_outputs:
        raise pairing_error(keras_path, tflite_path,
                            f"the .keras has {spec.n_outputs} outputs (classes), the .tflite {qm.n_outputs}")
    a, b = spec.norm_mean, qm.info.norm_mean
    k = stack_of(qm.info)  # a stacked .keras normalises K*F values per step: the F per frame, K times
    b_std = qm.info.norm_std if b is None or k == 1 else np.tile(qm.info.norm_std, k)
    b = b if b is None or k == 1 else np.tile(b, k)
    if (a is None) != (b is None):
        raise pairing_error(keras_path, tflite_path,
                            "one of them normalises its input and the other does not")
    if a is not None:
        if not (len(a) == len(b) and np.allclose(a, b, rtol=1e-5, atol=1e-6)
                and np.allclose(spec.norm_std, b_std, rtol=1e-5, atol=1e-6)):
            raise pairing_error(keras_path, tflite_path, "their input normalisations (mean/std) differ")


def keras_io_shape(path: str | Path) -> tuple[int | None, int | None, int | None] | None:
    """(T, F, outputs) read from a .keras file's config.json without Keras (best effort, None if unsure).

    Lets a mismatched pair fail in a second instead of after loading TensorFlow.
    """
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


def check_keras_io(keras_path, tflite_path, m: Int8Model) -> None:
    """The .keras file's window, features and outputs (read without Keras) match the int8 model's."""
    quick = keras_io_shape(keras_path)
    if quick is None:
        return
    t, f, c = quick
    steps, width = m.ir.window, m.ir.n_features  # the graph's (a stacked model: K frames per step)
    if (t is not None and t != steps) or (f is not None and f != width):
        raise pairing_error(keras_path, tflite_path,
                            f"the .keras takes windows of {t} frames x {f} features, the .tflite "
                            f"{steps} x {width}")
    if c is not None and c != m.n_outputs:
        raise pairing_error(keras_path, tflite_path,
                            f"the .keras has {c} outputs (classes), the .tflite {m.n_outputs}")


def load_int8(keras_path, tflite_path) -> Int8Model:
    """The int8 model, after checking that the two files are given in the right order."""
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


def source_matches(meta: dict, keras_path) -> bool | None:
    """Whether the .keras file is byte for byte the one `quantize` read (None: not recorded)."""
    src = (meta or {}).get("source_model") or {}
    if not src.get("sha256"):
        return None
    return src["sha256"] == sha256_file(keras_path)
