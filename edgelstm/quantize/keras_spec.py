"""Reading a Keras 3 classifier into a plain layer spec (architecture + float weights).

The spec is what the converter child process rebuilds as a batch-size-1 tf-keras twin (the
only Keras whose LSTMs the TFLite converter fuses into ``UNIDIRECTIONAL_SEQUENCE_LSTM``), and
what edgelstm's own GRU quantizer reads. Only layers edgelstm can quantize and export pass:

    [Input] [Normalization] (LSTM | GRU | Bidirectional(LSTM|GRU)) x N [Dropout]* Dense x M

Everything else is reported by layer name and class, with what to change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ModelError, UnsupportedError
from ..fsutil import require_file

_PASS_THROUGH = {"InputLayer", "Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout", "ActivityRegularization"}
_HINT = "edgelstm quantizes LSTM/GRU layers (optionally Bidirectional) followed by Dense layers"


@dataclass
class LayerSpec:
    kind: str  # "lstm" | "gru" | "dense"
    name: str
    units: int
    weights: list[np.ndarray]  # Keras order; bidirectional: forward then backward
    return_sequences: bool = False
    bidirectional: bool = False
    activation: str = "linear"  # dense only
    use_bias: bool = True
    reset_after: bool = True  # gru only


@dataclass
class ModelSpec:
    window: int
    features: int
    layers: list[LayerSpec]
    norm_mean: np.ndarray | None = None  # float32 (F,)
    norm_std: np.ndarray | None = None  # float32 (F,)
    source: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def cell_kinds(self) -> set[str]:
        return {layer.kind for layer in self.layers if layer.kind in ("lstm", "gru")}

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].units

    def to_json(self) -> dict:
        """Architecture without weights (the weights travel in an .npz keyed by weight_keys())."""
        return {
            "window": self.window,
            "features": self.features,
            "layers": [
                {
                    "kind": l.kind, "name": l.name, "units": l.units, "return_sequences": l.return_sequences,
                    "bidirectional": l.bidirectional, "activation": l.activation, "use_bias": l.use_bias,
                    "reset_after": l.reset_after, "n_weights": len(l.weights),
                }
                for l in self.layers
            ],
        }

    def weight_arrays(self) -> dict[str, np.ndarray]:
        return {f"l{i}_w{j}": w for i, l in enumerate(self.layers) for j, w in enumerate(l.weights)}


def load_keras_model(path: str | Path):
    """Load a ``.keras`` file with Keras 3; one-line errors for missing/corrupt/foreign files."""
    from .._tf import import_keras

    p = require_file(path, "model file")
    head = p.read_bytes()[:8]
    if p.suffix == ".tflite" or head[4:8] == b"TFL3":
        raise ModelError(f"'{p}' is a .tflite model; `quantize` needs the float Keras model (.keras)")
    if head[:2] != b"PK":
        kind = "a PNG image" if head == b"\x89PNG\r\n\x1a\n" else "not a zip archive"
        raise ModelError(f"'{p}' is not a Keras .keras model ({kind})")
    import zipfile

    try:
        with zipfile.ZipFile(p) as z:
            names = set(z.namelist())
            bad = z.testzip()
    except (zipfile.BadZipFile, OSError, EOFError):
        raise ModelError(f"'{p}' is a corrupt or truncated .keras file") from None
    if bad is not None:
        raise ModelError(f"'{p}' is a corrupt .keras file (member {bad} is damaged)")
    if "config.json" not in names:
        raise ModelError(f"'{p}' is a zip archive but not a Keras model (no config.json)")
    keras = import_keras()
    try:
        return keras.models.load_model(p, compile=False)
    except Exception as e:  # noqa: BLE001 - Keras raises many kinds for bad files
        msg = " ".join(str(e).split())[:200]
        raise ModelError(f"cannot load '{p}' with Keras 3 ({type(e).__name__}: {msg})") from None


def _check_rnn(layer, cls: str, where: str, backward: bool = False) -> None:
    cfg = layer.get_config()
    if cfg.get("stateful"):
        raise UnsupportedError(f"{where} is stateful", "train with stateful=False; the C API keeps the state for you")
    if cfg.get("return_state"):
        raise UnsupportedError(f"{where} returns its state (return_state=True)", "use return_state=False")
    if cfg.get("go_backwards") and not backward:
        raise UnsupportedError(f"{where} runs backwards (go_backwards=True)", "wrap the layer in Bidirectional instead")
    act = cfg.get("activation")
    ract = cfg.get("recurrent_activation")
    if act != "tanh":
        raise UnsupportedError(
            f"{where} uses activation '{act}'; int8 {cls} on microcontrollers needs tanh", "use activation='tanh'"
        )
    if ract != "sigmoid":
        raise UnsupportedError(
            f"{where} uses recurrent_activation '{ract}'; edgelstm needs sigmoid", "use recurrent_activation='sigmoid'"
        )
    if not cfg.get("use_bias", True):
        raise UnsupportedError(f"{where} has use_bias=False", "use the default use_bias=True")
    if cls == "GRU" and cfg.get("reset_after") is None:
        raise UnsupportedError(f"{where}: cannot tell the GRU formulation (reset_after)")


def keras_to_spec(model, source: str = "") -> ModelSpec:
    """Walk a Keras 3 model (linear chain) into a :class:`ModelSpec`, rejecting what cannot export."""
    shape = model.input_shape
    if isinstance(shape, list):
        raise UnsupportedError(f"'{source}' has {len(shape)} inputs; edgelstm needs one (T, F) input")
    if len(shape) != 3:
        raise UnsupportedError(f"'{source}' input shape {shape} is not (batch, T, F)")
    T, F = shape[1], shape[2]
    if T is None:
        raise UnsupportedError(f"'{source}' has a variable sequence length", "build the model with a fixed window, Input((T, F))")
    if F is None:
        raise UnsupportedError(f"'{source}' has an unknown feature count")
    layers: list[LayerSpec] = []
    norm_mean = norm_std = None
    seen_rnn = seen_dense = False
    for idx, layer in enumerate(model.layers):
        cls = type(layer).__name__
        where = f"layer '{layer.name}' ({cls})"
        if cls in _PASS_THROUGH:
            continue
        if cls == "Masking":
            raise UnsupportedError(f"{where} is not supported (masking)", "pre-pad shorter sequences instead")
        if cls == "Normalization":
            if layers or seen_rnn:
                raise UnsupportedError(f"{where} must be the first layer")
            # Normalization(mean=, variance=) keeps the numbers as attributes, an adapted one
            # as weights [mean, variance, count].
            mean_v, var_v = getattr(layer, "mean", None), getattr(layer, "variance", None)
            if mean_v is None or var_v is None:
                w = layer.get_weights()
                if len(w) < 2:
                    raise UnsupportedError(f"{where} is not adapted (no mean/variance)")
                mean_v, var_v = w[0], w[1]
            mean = np.asarray(mean_v, dtype=np.float32).reshape(-1)
            var = np.asarray(var_v, dtype=np.float32).reshape(-1)
            if mean.size == 1 and F != 1:
                mean = np.full(F, mean[0], np.float32)
                var = np.full(F, var[0], np.float32)
            if mean.size != F:
                raise UnsupportedError(f"{where} normalises {mean.size} values, the input has {F} features")
            if layer.get_config().get("invert"):
                raise UnsupportedError(f"{where} is an inverse normalisation")
            # keras.layers.Normalization: (x - mean) / maximum(sqrt(variance), epsilon), in float32.
            norm_mean = mean
            norm_std = np.maximum(np.sqrt(var), np.float32(1e-7)).astype(np.float32)
            if not (np.all(np.isfinite(norm_mean)) and np.all(np.isfinite(norm_std))):
                raise UnsupportedError(
                    f"{where} has a non-finite mean or variance (data beyond float32's range?)",
                    "rescale the data and retrain",
                )
            continue
        inner, bidir = layer, False
        if cls == "Bidirectional":
            if layer.get_config().get("merge_mode", "concat") != "concat":
                raise UnsupportedError(f"{where} uses merge_mode '{layer.get_config().get('merge_mode')}'",
                                       "use the default merge_mode='concat'")
            inner, bidir = layer.forward_layer, True
            cls_inner = type(inner).__name__
            if cls_inner not in ("LSTM", "GRU"):
                raise UnsupportedError(f"{where} wraps a {cls_inner}", _HINT)
            cls = cls_inner
        if cls in ("LSTM", "GRU"):
            if seen_dense:
                raise UnsupportedError(f"{where} follows a Dense layer", _HINT)
            _check_rnn(inner, cls, where)
            if bidir:
                _check_rnn(layer.backward_layer, cls, where, backward=True)
            cfg = inner.get_config()
            layers.append(LayerSpec(
                kind=cls.lower(), name=layer.name, units=int(cfg["units"]),
                weights=[np.asarray(w, dtype=np.float32) for w in layer.get_weights()],
                return_sequences=bool(cfg.get("return_sequences", False)), bidirectional=bidir,
                reset_after=bool(cfg.get("reset_after", True)),
            ))
            seen_rnn = True
            continue
        if cls == "Dense":
            if not seen_rnn:
                raise UnsupportedError(f"{where} comes before any LSTM/GRU layer", _HINT)
            cfg = layer.get_config()
            act = cfg.get("activation", "linear")
            if act == "sigmoid" and int(cfg["units"]) == 1:
                raise UnsupportedError(
                    f"{where} is a one-output sigmoid (binary) head, which edgelstm does not quantize",
                    "use Dense(2) (linear or softmax) with sparse_categorical_crossentropy for two classes",
                )
            if act not in ("linear", "relu", "softmax", "relu6"):
                raise UnsupportedError(f"{where} uses activation '{act}'", "use linear or relu (softmax on the last layer)")
            layers.append(LayerSpec(kind="dense", name=layer.name, units=int(cfg["units"]),
                                    weights=[np.asarray(w, dtype=np.float32) for w in layer.get_weights()],
                                    activation=act, use_bias=bool(cfg.get("use_bias", True))))
            seen_dense = True
            continue
        if cls == "Activation":
            act = layer.get_config().get("activation")
            if act == "softmax" and layers and layers[-1].kind == "dense" and layers[-1].activation == "linear":
                layers[-1].activation = "softmax"
                continue
            raise UnsupportedError(f"{where} ({act}) is not supported", _HINT)
        raise UnsupportedError(f"{where} is not supported", _HINT)
    rnn = [l for l in layers if l.kind in ("lstm", "gru")]
    if not rnn:
        raise UnsupportedError(f"'{source}' has no LSTM or GRU layer", _HINT)
    if not layers or layers[-1].kind != "dense":
        raise UnsupportedError(f"'{source}' does not end with a Dense layer", "add a Dense(num_classes) head")
    for l in rnn[:-1]:
        if not l.return_sequences:
            raise UnsupportedError(f"layer '{l.name}' feeds another recurrent layer but has return_sequences=False")
    if rnn[-1].return_sequences:
        raise UnsupportedError(
            f"the last recurrent layer '{rnn[-1].name}' has return_sequences=True",
            "use return_sequences=False so the Dense head classifies the whole window",
        )
    for l in layers[:-1]:
        if l.kind == "dense" and l.activation == "softmax":
            raise UnsupportedError(f"layer '{l.name}' applies softmax before the last layer")
    kinds = {l.kind for l in rnn}
    if len(kinds) > 1:
        raise UnsupportedError(f"'{source}' mixes LSTM and GRU layers", "use one cell type per model")
    return ModelSpec(window=int(T), features=int(F), layers=layers, norm_mean=norm_mean, norm_std=norm_std,
                     source=source)


def normalize(X: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """The float model's input normalisation in float32 (identity without a Normalization layer)."""
    X = np.asarray(X, dtype=np.float32)
    if spec.norm_mean is None:
        return X
    return (X - spec.norm_mean) / spec.norm_std
