"""Reading a Keras 3 classifier into a plain layer spec (architecture + float weights).

The spec is what the converter child process rebuilds as a batch-size-1 tf-keras twin (the
only Keras whose LSTMs the TFLite converter fuses into ``UNIDIRECTIONAL_SEQUENCE_LSTM``), and
what edgelstm's own GRU quantizer reads. Only layers edgelstm can quantize and export pass:

    [Input] [Normalization] (LSTM | GRU | Bidirectional(LSTM|GRU)) x N [Dropout]* Dense x M

The layers are read from the functional graph, input to output, and must form a plain chain
(one input, one output, each layer applied once, no branches). Everything else is reported by
layer name and class, with what to change.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._tf import import_keras
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


_RESAVE = "model.save('m.keras')"
_KERAS2_FIX = ("rebuild the same layers in Keras 3, copy the weights with new_model.set_weights(old_model.get_weights()) "
               "and save it with new_model.save('m.keras')")


def _hdf5_problem(p: Path) -> str:
    """Why an HDF5 file is not something `quantize` reads, with the way to a .keras file."""
    version, has_model = "", None
    try:
        import h5py  # lazy: h5py (ships with tensorflow; only to tailor an error message)

        with h5py.File(p, "r") as f:
            has_model = "model_config" in f.attrs
            v = f.attrs.get("keras_version", "")
            version = v.decode() if isinstance(v, bytes) else str(v)
    except Exception:  # noqa: BLE001 - only used to tailor the message
        pass
    if has_model is False:
        return (f"'{p}' holds only weights, not a model; edgelstm reads Keras 3 .keras models "
                f"(build the model in Keras 3, call model.load_weights('{p.name}') and save it with {_RESAVE})")
    if version.startswith("2."):
        return (f"'{p}' is an HDF5 model saved by Keras 2 (tf_keras {version}), which Keras 3 cannot read; "
                f"edgelstm reads Keras 3 .keras models ({_KERAS2_FIX})")
    return (f"'{p}' is a legacy HDF5 (.h5) Keras model; edgelstm reads .keras models (in Keras 3: "
            f"model = keras.models.load_model('{p.name}', compile=False), then {_RESAVE})")


def _saved_keras_version(p: Path) -> str:
    try:
        with zipfile.ZipFile(p) as z:
            return str(json.loads(z.read("metadata.json")).get("keras_version", ""))
    except Exception:  # noqa: BLE001 - only used to tailor the message
        return ""


def load_keras_model(path: str | Path):
    """Load a ``.keras`` file with Keras 3; one-line errors for missing/corrupt/foreign files."""
    p = require_file(path, "model file")
    head = p.read_bytes()[:8]
    if p.suffix == ".tflite" or head[4:8] == b"TFL3":
        raise ModelError(f"'{p}' is a .tflite model; `quantize` needs the float Keras model (.keras)")
    if head == b"\x89HDF\r\n\x1a\n":
        raise ModelError(_hdf5_problem(p))
    if head[:2] != b"PK":
        kind = "a PNG image" if head == b"\x89PNG\r\n\x1a\n" else "not a zip archive"
        raise ModelError(f"'{p}' is not a Keras .keras model ({kind})")
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
        version = _saved_keras_version(p)
        if version.startswith("2."):
            raise ModelError(
                f"'{p}' was saved by Keras 2 (tf_keras {version}), which Keras 3 cannot load",
                _KERAS2_FIX,
            ) from None
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


_CHAIN_HINT = "edgelstm needs a plain chain input -> layer -> ... -> output, each layer used once, no branches"
# Settings that change what a recurrent layer computes (initializers, dropout, unroll, implementation do not).
_RNN_SETTINGS = ("units", "activation", "recurrent_activation", "use_bias", "reset_after", "return_sequences",
                 "return_state", "stateful")


def _what(op) -> str:
    return f"layer '{op.name}' ({type(op).__name__})"


def _layer_chain(model, source: str) -> list:
    """The operations from the model's input to its output, in order; refuses anything but a chain.

    Walks the functional graph (not ``model.layers``, which lists a layer applied twice only
    once and leaves out operations such as ``x * 2`` written on Keras tensors).
    """
    keras = import_keras()
    try:
        inputs, outputs = model.inputs, model.outputs
    except (AttributeError, ValueError):
        inputs = outputs = None
    if not inputs or not outputs:
        raise UnsupportedError(
            f"'{source}' was saved before it was built (no input shape)",
            "start the model with keras.Input((T, F)) or call model.build((None, T, F)), then save it again",
        )
    inputs, outputs = keras.tree.flatten(inputs), keras.tree.flatten(outputs)
    if len(inputs) != 1:
        raise UnsupportedError(f"'{source}' has {len(inputs)} inputs; edgelstm needs one (T, F) input")
    if len(outputs) != 1:
        raise UnsupportedError(
            f"'{source}' has {len(outputs)} outputs; edgelstm quantizes classifiers with one output",
            "save a model with only the class-score output, e.g. keras.Model(model.input, model.outputs[0])",
        )
    chain, masked, t = [], [], outputs[0]
    while t is not inputs[0]:
        history = getattr(t, "_keras_history", None)
        if history is None:
            raise UnsupportedError(f"'{source}': cannot follow its layers from the output back to the input",
                                   _CHAIN_HINT)
        op, node_index = history[0], history[1]
        if type(op).__name__ == "InputLayer":
            break
        if len(chain) > 10_000:
            raise UnsupportedError(f"'{source}' has too many layers")
        node = op._inbound_nodes[node_index]
        arguments = getattr(node, "arguments", None)
        if arguments is None:
            ins = list(node.input_tensors)
        else:
            def tensors(v):
                return [a for a in keras.tree.flatten(v) if isinstance(a, keras.KerasTensor)]

            kwargs = {k: tensors(v) for k, v in arguments.kwargs.items()}
            if kwargs.pop("mask", None):  # Keras passes a Masking layer's mask on by itself
                masked.append(op)
            ins = tensors(arguments.args) + [a for v in kwargs.values() for a in v]
        if len(ins) != 1:
            raise UnsupportedError(f"{_what(op)} takes {len(ins)} inputs (a branch or skip connection)", _CHAIN_HINT)
        chain.append(op)
        t = ins[0]
    chain.reverse()
    if masked and not any(type(op).__name__ == "Masking" for op in chain):
        raise UnsupportedError(f"{_what(masked[0])} is called with a mask (masking)", "pre-pad shorter sequences instead")
    for op in chain:
        n = sum(o is op for o in chain)
        if n > 1:
            raise UnsupportedError(
                f"{_what(op)} is applied {n} times (shared weights); {_CHAIN_HINT}",
                "give each application its own layer and retrain",
            )
    off_path = [l for l in model.layers if type(l).__name__ != "InputLayer" and not any(l is o for o in chain)]
    if off_path:
        raise UnsupportedError(f"{_what(off_path[0])} is not on the path from the input to the output", _CHAIN_HINT)
    return chain


def _check_bidirectional(layer, where: str) -> None:
    """Forward and backward layers of a Bidirectional must compute the same kind of recurrence."""
    fwd, bwd = layer.forward_layer, layer.backward_layer
    hint = "use Bidirectional(layer) without backward_layer, or a backward_layer of the same class and settings"
    if type(fwd) is not type(bwd):
        raise UnsupportedError(
            f"{where} runs a {type(fwd).__name__} forward but a {type(bwd).__name__} backward", hint)
    fc, bc = fwd.get_config(), bwd.get_config()
    for key in _RNN_SETTINGS:
        if fc.get(key) != bc.get(key):
            raise UnsupportedError(
                f"{where}: the forward and backward layers differ in {key} ({fc.get(key)!r} vs {bc.get(key)!r})", hint)
    if not bc.get("go_backwards"):
        raise UnsupportedError(f"{where}: the backward layer does not run backwards (go_backwards=False)", hint)


def _finite_weights(layer, where: str) -> list[np.ndarray]:
    weights = [np.asarray(w, dtype=np.float32) for w in layer.get_weights()]
    for w, v in zip(weights, layer.weights):
        if not np.all(np.isfinite(w)):
            bad = "NaN" if np.isnan(w).any() else "infinite"
            raise UnsupportedError(
                f"{where} has {bad} weights ({getattr(v, 'path', None) or getattr(v, 'name', 'a weight')})",
                "the training diverged or the file was damaged; retrain (e.g. a lower learning rate) and save again",
            )
    return weights


def keras_to_spec(model, source: str = "") -> ModelSpec:
    """Walk a Keras 3 model (linear chain) into a :class:`ModelSpec`, rejecting what cannot export."""
    chain = _layer_chain(model, source)
    shape = tuple(model.inputs[0].shape)
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
    for layer in chain:
        cls = type(layer).__name__
        where = f"layer '{layer.name}' ({cls})"
        if cls in _PASS_THROUGH:
            continue
        if cls == "Masking":
            raise UnsupportedError(f"{where} is not supported (masking)", "pre-pad shorter sequences instead")
        if cls == "Normalization":
            if layers or seen_rnn:
                raise UnsupportedError(f"{where} must be the first layer")
            axis = layer.get_config().get("axis", -1)
            axis = () if axis is None else ((axis,) if isinstance(axis, int) else tuple(axis))
            if tuple(a % 3 if isinstance(a, int) else a for a in axis) not in ((), (2,)):
                raise UnsupportedError(
                    f"{where} normalises over axis {axis[0] if len(axis) == 1 else axis}; edgelstm supports only "
                    f"per-feature normalisation (the last axis)",
                    "use Normalization(axis=-1), the default, or normalise the data before the model",
                )
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
                _check_bidirectional(layer, where)
                _check_rnn(layer.backward_layer, cls, where, backward=True)
            cfg = inner.get_config()
            layers.append(LayerSpec(
                kind=cls.lower(), name=layer.name, units=int(cfg["units"]),
                weights=_finite_weights(layer, where),
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
                                    weights=_finite_weights(layer, where),
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
