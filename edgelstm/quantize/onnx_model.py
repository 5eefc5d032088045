"""An ONNX classifier as a float model: onnxruntime for the logits, checked against edgelstm's reading.

``load_onnx_model(path)`` returns ``(model, spec)`` like Keras' loading + ``keras_to_spec``:
``model.predict(X, batch_size=..., verbose=...)`` runs onnxruntime on (N, T, F) windows (the
float accuracy `quantize` and `report` print is onnxruntime's), and ``spec`` is the layer spec
the quantizer reads. Before either is used, the spec's own float forward (numpy, float64) must
give onnxruntime's logits within 1e-5 relative, on synthetic windows at load time and on the
first real windows the model is asked about, so a wrong reading of the graph fails loudly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ModelError
from ..sim.gru import gru_float
from ..sim.lstm_float import lstm_float
from .keras_spec import LayerSpec, ModelSpec, normalize
from .onnx_spec import import_onnx, load_onnx_proto, onnx_to_spec

FLOAT_TOLERANCE = 1e-5  # max |spec - onnxruntime| logit difference, relative to max(1, max |logit|)
CHECK_SEQUENCES = 8


def _recurrent_float(layer: LayerSpec, x: np.ndarray) -> np.ndarray:
    """A (possibly bidirectional) LSTM/GRU layer in float64, Keras' semantics."""

    def run(w, seq):
        if layer.kind == "lstm":
            return lstm_float(seq, *w, return_sequences=True)
        return gru_float(seq, *w, reset_after=layer.reset_after, return_sequences=True)

    h_f = run(layer.weights[:3], x)
    if not layer.bidirectional:
        return h_f if layer.return_sequences else h_f[:, -1]
    h_b = run(layer.weights[3:], x[:, ::-1])  # processing order, last frame first
    if layer.return_sequences:
        return np.concatenate([h_f, h_b[:, ::-1]], axis=-1)
    return np.concatenate([h_f[:, -1], h_b[:, -1]], axis=-1)


def spec_float(spec: ModelSpec, x_norm: np.ndarray) -> np.ndarray:
    """What the spec computes in float64 on normalised windows (N, T, F) -> (N, classes)."""
    act = np.asarray(x_norm, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore"):  # saturated gates: exp overflows to 0/1, as in onnxruntime
        for layer in spec.layers:
            if layer.kind in ("lstm", "gru"):
                act = _recurrent_float(layer, act)
                continue
            act = act @ layer.weights[0].astype(np.float64)
            if layer.use_bias:
                act = act + layer.weights[1].astype(np.float64)
            if layer.activation in ("relu", "relu6"):
                act = np.clip(act, 0.0, 6.0 if layer.activation == "relu6" else None)
            elif layer.activation == "softmax":
                e = np.exp(act - act.max(axis=-1, keepdims=True))
                act = e / e.sum(axis=-1, keepdims=True)
    return act


class OnnxFloatModel:
    """onnxruntime on an ONNX classifier, with the ``predict`` signature of a Keras model."""

    def __init__(self, path: Path, spec: ModelSpec, feed: dict):
        _, ort = import_onnx()
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own kinds
            msg = " ".join(str(e).split())[:200]
            raise ModelError(f"onnxruntime cannot run '{path}' ({msg})") from None
        self.path, self.spec, self.feed = Path(path), spec, feed
        self.checked = False

    def logits(self, X: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """onnxruntime's output on raw windows (N, T, F), as (N, classes) float32."""
        X = np.asarray(X, dtype=np.float32)
        fixed = self.feed["batch"]
        step = fixed or batch_size
        out = []
        for s in range(0, len(X), step):
            x = X[s: s + step]
            n = len(x)
            if fixed and n < fixed:  # a graph exported with a fixed batch: pad the last chunk
                x = np.concatenate([x, np.zeros((fixed - n,) + x.shape[1:], np.float32)])
            rows = len(x)
            if self.feed["time_major"]:
                x = np.ascontiguousarray(x.transpose(1, 0, 2))
            try:
                y = self.session.run(None, {self.feed["input"]: x})[0]
            except Exception as e:  # noqa: BLE001
                msg = " ".join(str(e).split())[:200]
                raise ModelError(f"onnxruntime failed on '{self.path}' ({msg})") from None
            out.append(np.asarray(y, dtype=np.float32).reshape(rows, -1)[:n])
        if not out:
            return np.zeros((0, self.spec.n_outputs), np.float32)
        return np.concatenate(out)

    def check(self, X: np.ndarray) -> float:
        """The spec's float forward against onnxruntime on raw windows; the max logit difference."""
        ref = self.logits(X).astype(np.float64)
        got = spec_float(self.spec, normalize(X, self.spec))
        diff = float(np.max(np.abs(got - ref))) if got.shape == ref.shape else float("inf")
        tol = FLOAT_TOLERANCE * max(1.0, float(np.max(np.abs(ref))) if ref.size else 1.0)
        if not diff <= tol:
            raise ModelError(
                f"edgelstm's reading of '{self.path.name}' does not reproduce onnxruntime (max logit difference "
                f"{diff:.3g}, allowed {tol:.3g})",
                "the graph computes something edgelstm does not model; please report it with the model")
        return diff

    def predict(self, X: np.ndarray, batch_size: int = 256, verbose: int = 0) -> np.ndarray:
        """Keras' ``predict``: the float logits; the first call also checks the spec on real windows."""
        del verbose
        X = np.asarray(X, dtype=np.float32)
        if not self.checked and len(X):
            self.checked = True
            self.check(X[:CHECK_SEQUENCES])
        return self.logits(X, batch_size)


def synthetic_windows(spec: ModelSpec, n: int = 4, seed: int = 0) -> np.ndarray:
    """Raw windows whose normalised values are standard normal (what a trained model expects)."""
    z = np.random.default_rng(seed).standard_normal((n, spec.window, spec.features))
    if spec.norm_mean is None:
        return z.astype(np.float32)
    return (z * spec.norm_std + spec.norm_mean).astype(np.float32)


def load_onnx_model(path: str | Path) -> tuple[OnnxFloatModel, ModelSpec]:
    """``(float model, spec)`` of an ONNX classifier; one-line errors for everything edgelstm cannot read."""
    proto = load_onnx_proto(path)
    spec, feed = onnx_to_spec(proto, str(path))
    model = OnnxFloatModel(Path(path), spec, feed)
    model.check(synthetic_windows(spec))
    return model, spec
