"""The layers of an ONNX classifier as edgelstm's plain layer spec (Keras weight layout).

``SpecBuilder`` receives the nodes that compute something (the plumbing between them is
followed by ``onnx_graph``) and builds the same :class:`ModelSpec` a Keras model gives, so
calibration, conversion and everything downstream run unchanged:

  LSTM  W (D, 4H, F), R (D, 4H, H), B (D, 8H) = [Wb, Rb], gate blocks [i, o, f, c]
        -> kernel (F, 4U), recurrent kernel (U, 4U), bias Wb + Rb (4U,), gate columns [i, f, c, o]
  GRU   W (D, 3H, F), R (D, 3H, H), B (D, 6H) = [Wb, Rb], gate blocks [z, r, h]
        -> kernel (F, 3U), recurrent kernel (U, 3U), gate columns [z, r, h];
           linear_before_reset=1 (PyTorch's GRU) is Keras' reset_after=True, bias (2, 3U) = [Wb; Rb];
           linear_before_reset=0 is reset_after=False, bias (3U,) = Wb + Rb
  direction bidirectional -> Bidirectional: forward weights, then backward
  Gemm (alpha A B' + beta C), MatMul [+ Add] -> Dense kernel (in, out), bias (out,)
  Sub / Div / Mul / Add by per-feature constants before the first recurrent node -> one
        (x - mean) / std; a negative std is folded into the first layer's kernel rows.

A permutation of the features between two layers (a Concat or Reshape that orders them
differently) is folded into the next layer's kernel rows, so it costs nothing.
"""

from __future__ import annotations

import re
import numpy as np

from ..errors import UnsupportedError
from .keras_spec import LayerSpec
from .onnx_graph import Act, Axis, Unusable, is_zero, where

HINT = ("edgelstm reads [per-feature normalisation] -> LSTM/GRU x N -> last time step -> "
        "Gemm or MatMul(+Add) [Relu] x M -> [Softmax]")
_LSTM_BLOCKS = (0, 2, 3, 1)  # Keras gate order [i, f, c, o] from ONNX's [i, o, f, c]
_DEFAULT_ACTS = {"LSTM": ["sigmoid", "tanh", "tanh"], "GRU": ["sigmoid", "tanh"]}
_NAMES = {"N": "batch", "T": "time", "D": "directions", "F": "features", "1": "1"}


def _describe(act: Act) -> str:
    return "(" + ", ".join(_NAMES[a.role] for a in act.axes) + ")"


def _finite(arr: np.ndarray, node, what: str) -> np.ndarray:
    arr = np.asarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise UnsupportedError(f"{where(node)} has {'NaN' if np.isnan(arr).any() else 'infinite'} {what}",
                               "the training diverged or the file was damaged; retrain and export again")
    return arr


class SpecBuilder:
    """The layer chain, built node by node; ``finish`` checks it ends in a classifier head."""

    def __init__(self, window: int, features: int):
        self.T, self.F = window, features
        self.shift = np.zeros(features)  # the input normalisation x' = (x - shift) / scale
        self.scale = np.ones(features)
        self.layers: list[LayerSpec] = []
        self._names: set[str] = set()

    # -- helpers ---------------------------------------------------------------------------
    def _name(self, node, default: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_]+", "_", node.name or "").strip("_") or default
        base = base if base[0].isalpha() else f"{default}_{base}"
        name, k = base, 1
        while name in self._names:
            k += 1
            name = f"{base}_{k}"
        self._names.add(name)
        return name

    def _per_feature(self, act: Act, node, c: np.ndarray, width: int) -> np.ndarray:
        """A constant broadcast against ``act`` as one value per feature (canonical order)."""
        c = _finite(c, node, "constants")
        if c.ndim > len(act.axes):
            raise UnsupportedError(f"{where(node)}: its constant has more axes than the value")
        shape = (1,) * (len(act.axes) - c.ndim) + c.shape
        c = c.reshape(shape)
        for a, n in zip(act.axes, shape):
            if n != 1 and (a.role != "F" or n != a.size):
                raise UnsupportedError(f"{where(node)}: its constant varies along the {_NAMES[a.role]} axis",
                                       "edgelstm supports per-feature constants only")
        f = act.axis("F")
        pos = c.reshape(-1) if c.size > 1 else np.full(act.axes[f].size, c.reshape(-1)[0])
        out = np.empty(width)
        out[list(act.axes[f].cols)] = pos
        return out

    def _cols(self, act: Act, label: str, width: int, what: str) -> list[int]:
        f = act.axis("F")
        cols = list(act.axes[f].cols)
        if sorted(cols) != list(range(width)):
            raise UnsupportedError(f"{label} reads {len(cols)} of the {width} {what}"
                                   f"{' (some twice)' if len(set(cols)) < len(cols) else ''}",
                                   "a layer must read every output of the previous one, once")
        return cols

    def _check_last(self, act: Act, node) -> None:
        if act.stage != "input" and act.layer != len(self.layers) - 1:
            raise UnsupportedError(f"{where(node)} reads layer '{self.layers[act.layer].name}' which another "
                                   "layer reads too (a branch)", HINT)

    # -- normalisation ---------------------------------------------------------------------
    def normalise(self, act: Act, node, c: np.ndarray, const_first: bool) -> Act:
        op = node.op_type
        if act.stage != "input":
            raise UnsupportedError(f"{where(node)} applies {op} to a computed value",
                                   "edgelstm supports arithmetic only as per-feature normalisation of the input; " + HINT)
        v = self._per_feature(act, node, c, self.F)
        if op in ("Mul", "Div") and np.any(v == 0):
            raise UnsupportedError(f"{where(node)} multiplies a feature by 0 or divides it by 0")
        if op == "Sub":
            self.shift = self.shift + v * self.scale
            if const_first:  # c - x
                self.scale = -self.scale
        elif op == "Add":
            self.shift = self.shift - v * self.scale
        elif op == "Mul":
            self.scale = self.scale / v
        elif const_first:
            raise UnsupportedError(f"{where(node)} divides a constant by the input", HINT)
        else:
            self.scale = self.scale * v
        return act

    # -- recurrent nodes -------------------------------------------------------------------
    def recurrent(self, node, attrs: dict, ins: list) -> list:
        op = node.op_type
        nG = 4 if op == "LSTM" else 3
        act = ins[0]
        self._check_attrs(node, attrs, op)
        if act.stage == "dense":
            raise UnsupportedError(f"{where(node)} follows a Gemm/MatMul layer", HINT)
        if act.roles != "TNF":
            raise UnsupportedError(f"{where(node)} reads a value laid out as {_describe(act)}",
                                   "ONNX recurrent nodes read (time, batch, features) (layout 0)")
        if self.layers and {op.lower()} != {l.kind for l in self.layers if l.kind != "dense"}:
            raise UnsupportedError(f"{where(node)}: the model mixes LSTM and GRU layers", "use one cell type per model")
        if len(ins) > 1 and any(isinstance(v, Act) for v in ins[1:]):
            raise UnsupportedError(f"{where(node)} has inputs computed from the data (dynamic weights or state)",
                                   "export the weights as constants (initializers)")
        W, R, B = (ins[i] if len(ins) > i else None for i in (1, 2, 3))
        if not isinstance(W, np.ndarray) or not isinstance(R, np.ndarray) or not (B is None or isinstance(B, np.ndarray)):
            raise UnsupportedError(f"{where(node)} has weights computed at run time (dynamic weights)",
                                   "export the weights as constants (initializers)")
        direction = attrs.get("direction", "forward")
        nd = 2 if direction == "bidirectional" else 1
        H = int(attrs.get("hidden_size", R.shape[-1]))
        F_in = act.axes[2].size
        if W.shape != (nd, nG * H, F_in) or R.shape != (nd, nG * H, H) or (B is not None and B.shape != (nd, 2 * nG * H)):
            raise UnsupportedError(f"{where(node)}: weight shapes W {W.shape}, R {R.shape}"
                                   f"{'' if B is None else f', B {B.shape}'} do not fit {H} units, {F_in} inputs")
        self._check_inputs(node, ins, op)
        W, R = _finite(W, node, "weights"), _finite(R, node, "weights")
        B = np.zeros((nd, 2 * nG * H)) if B is None else _finite(B, node, "biases")
        if act.stage == "input":
            width = self.F
        else:
            self._check_last(act, node)
            prev = self.layers[act.layer]
            if act.taken:
                raise UnsupportedError(f"{where(node)} reads one time step of '{prev.name}'",
                                       "a recurrent layer reads the whole sequence of the previous one")
            width = prev.units * (2 if prev.bidirectional else 1)
            prev.return_sequences = True
        cols = self._cols(act, where(node), width, "input features" if act.stage == "input" else f"outputs of '{prev.name}'")
        sign = np.sign(self.scale) if act.stage == "input" else np.ones(width)
        lbr = int(attrs.get("linear_before_reset", 0))
        weights = []
        for d in range(nd):
            blocks = _LSTM_BLOCKS if op == "LSTM" else (0, 1, 2)

            def gates(m):  # rows of ONNX gate blocks -> Keras column order (transposed)
                return np.concatenate([m[g * H:(g + 1) * H] for g in blocks], axis=0).T

            kernel = np.zeros((width, nG * H))
            kernel[cols] = gates(W[d])
            kernel *= sign[:, None]
            wb, rb = gates(B[d][: nG * H, None])[0], gates(B[d][nG * H:, None])[0]
            bias = np.stack([wb, rb]) if (op == "GRU" and lbr) else wb + rb
            weights += [kernel.astype(np.float32), gates(R[d]).astype(np.float32), bias.astype(np.float32)]
        layer = LayerSpec(kind=op.lower(), name=self._name(node, op.lower()), units=H, weights=weights,
                          bidirectional=nd == 2, reset_after=bool(lbr) if op == "GRU" else True)
        self.layers.append(layer)
        idx = len(self.layers) - 1
        n_axis = act.axes[1]
        dirs = Axis("D", nd, dirs=tuple(range(nd)))
        h = Axis("F", H, cols=tuple(range(H)))
        y = Act((act.axes[0], dirs, n_axis, h), "rnn", idx, units=H, n_dirs=nd)
        final = {0: self.T - 1, 1: 0} if nd == 2 else {0: self.T - 1}
        y_h = Act((dirs, n_axis, h), "rnn", idx, units=H, n_dirs=nd, taken=final)
        return [y, y_h, Unusable(f"the cell state Y_c of '{layer.name}'", "classify from the hidden state (Y or Y_h)")]

    def _check_attrs(self, node, attrs: dict, op: str) -> None:
        direction = attrs.get("direction", "forward")
        if direction == "reverse":
            raise UnsupportedError(f"{where(node)} runs backwards only (direction 'reverse')",
                                   "use direction forward or bidirectional (what nn.LSTM/nn.GRU export)")
        if direction not in ("forward", "bidirectional"):
            raise UnsupportedError(f"{where(node)}: unknown direction '{direction}'")
        if int(attrs.get("layout", 0)) != 0:
            raise UnsupportedError(f"{where(node)} uses layout 1 (batch first)",
                                   "export with layout 0, the time-major form PyTorch writes")
        if "clip" in attrs:
            raise UnsupportedError(f"{where(node)} clips its cell (clip={attrs['clip']:g})", "train without a cell clip")
        if int(attrs.get("input_forget", 0)):
            raise UnsupportedError(f"{where(node)} couples the input and forget gates (input_forget=1)",
                                   "train a standard LSTM")
        acts = [a.lower() for a in attrs.get("activations", [])]
        nd = 2 if direction == "bidirectional" else 1
        if acts and acts != _DEFAULT_ACTS[op] * nd:
            raise UnsupportedError(f"{where(node)} uses activations {attrs['activations']}",
                                   f"edgelstm supports the defaults {_DEFAULT_ACTS[op]}")
        if op == "GRU" and int(attrs.get("linear_before_reset", 0)) not in (0, 1):
            raise UnsupportedError(f"{where(node)}: linear_before_reset must be 0 or 1")

    def _check_inputs(self, node, ins: list, op: str) -> None:
        seq = ins[4] if len(ins) > 4 else None
        if seq is not None and not (isinstance(seq, np.ndarray) and np.all(seq == self.T)):
            raise UnsupportedError(f"{where(node)} has sequence_lens other than the full window of {self.T}",
                                   "export without sequence lengths (pad the sequences instead)")
        for i, what in ((5, "initial_h"), (6, "initial_c")):
            v = ins[i] if len(ins) > i else None
            if v is not None and not is_zero(v):
                raise UnsupportedError(f"{where(node)} starts from a non-zero initial state ({what})",
                                       "start from the zero state (do not pass h0/c0)")
        p = ins[7] if len(ins) > 7 else None
        if op == "LSTM" and p is not None and not is_zero(p):
            raise UnsupportedError(f"{where(node)} has peephole weights (P)", "train an LSTM without peepholes")

    # -- dense layers ----------------------------------------------------------------------
    def _dense_input(self, act: Act, node) -> list[int]:
        if act.stage == "input":
            raise UnsupportedError(f"{where(node)} comes before any LSTM/GRU layer", HINT)
        self._check_last(act, node)
        prev = self.layers[act.layer]
        if act.stage == "dense":
            if prev.activation == "softmax":
                raise UnsupportedError(f"{where(node)} follows a Softmax", "Softmax may only end the model")
            return self._cols(act, where(node), prev.units, f"outputs of '{prev.name}'")
        if act.axis("T") is not None:
            raise UnsupportedError(f"{where(node)} applies to every time step of '{prev.name}'",
                                   "classify from the last time step (Y_h, or Y[-1])")
        for d in sorted(act.present_dirs()):
            t = act.taken.get(d)
            final = self.T - 1 if d == 0 else 0
            if t != final:
                if d == 1:
                    raise UnsupportedError(
                        f"{where(node)} reads the backward direction of '{prev.name}' at its time step {t}, where it "
                        f"has seen {self.T - t} of the {self.T} frames",
                        "a bidirectional layer's last output is Y_h (PyTorch: torch.cat([h_n[-2], h_n[-1]], dim=1), "
                        "not out[:, -1])")
                raise UnsupportedError(f"{where(node)} reads time step {t} of '{prev.name}', not the last",
                                       "classify from the last time step (Y_h, or Y[-1])")
        return self._cols(act, where(node), prev.units * (2 if prev.bidirectional else 1), f"outputs of '{prev.name}'")

    def dense(self, act: Act, node, kernel: np.ndarray, bias: np.ndarray | None) -> Act:
        cols = self._dense_input(act, node)
        kernel = _finite(kernel, node, "weights")
        if kernel.ndim != 2 or kernel.shape[0] != len(cols):
            raise UnsupportedError(f"{where(node)}: weights {kernel.shape} do not fit {len(cols)} inputs")
        k = np.zeros_like(kernel)
        k[cols] = kernel
        n_out = kernel.shape[1]
        weights = [k.astype(np.float32)]
        if bias is not None:
            weights.append(np.broadcast_to(_finite(bias, node, "biases"), (n_out,)).astype(np.float32))
        self.layers.append(LayerSpec(kind="dense", name=self._name(node, "dense"), units=n_out, weights=weights,
                                     activation="linear", use_bias=bias is not None))
        f = act.axis("F")
        axes = list(act.axes)
        axes[f] = Axis("F", n_out, cols=tuple(range(n_out)))
        return Act(tuple(axes), "dense", len(self.layers) - 1)

    def _open_dense(self, act: Act, node, what: str) -> LayerSpec:
        if act.stage == "rnn":
            raise UnsupportedError(f"{where(node)} applies {what} to the output of recurrent layer "
                                   f"'{self.layers[act.layer].name}'",
                                   "edgelstm applies activations only after a Gemm/MatMul (Linear) layer; retrain without it")
        if act.stage != "dense":
            raise UnsupportedError(f"{where(node)} applies {what} to the input", HINT)
        self._check_last(act, node)
        layer = self.layers[act.layer]
        if layer.activation != "linear":
            raise UnsupportedError(f"{where(node)} applies {what} after {layer.activation}", HINT)
        return layer

    def add_bias(self, act: Act, node, c: np.ndarray) -> Act:
        layer = self._open_dense(act, node, "Add")
        b = self._per_feature(act, node, c, layer.units).astype(np.float32)
        if layer.use_bias:
            layer.weights[1] = (layer.weights[1].astype(np.float64) + b).astype(np.float32)
        else:
            layer.weights.append(b)
            layer.use_bias = True
        return act

    def activation(self, act: Act, node, kind: str, axis: int | None = None) -> Act:
        layer = self._open_dense(act, node, kind.capitalize() if kind != "relu6" else "Clip(0, 6)")
        if kind == "softmax":
            ax = axis % len(act.axes)
            rest = [a for a in act.axes[ax:] if a.size != 1 or a.role == "F"]
            if [a.role for a in rest] != ["F"]:
                raise UnsupportedError(f"{where(node)} takes the softmax over another axis than the classes")
        layer.activation = kind
        return act

    # -- the end ---------------------------------------------------------------------------
    def finish(self, act, node_name: str) -> tuple[list[LayerSpec], np.ndarray | None, np.ndarray | None]:
        if not isinstance(act, Act) or act.stage != "dense":
            what = "the input" if isinstance(act, Act) and act.stage == "input" else "a recurrent layer's output"
            if not isinstance(act, Act):
                what = "a value that does not depend on the input"
            raise UnsupportedError(f"the model output '{node_name}' is {what}, not a Gemm/MatMul layer's",
                                   "end the model with a Linear (Gemm) layer giving the class scores")
        if act.layer != len(self.layers) - 1:
            raise UnsupportedError(f"the model output '{node_name}' is not the last layer's output (a branch)", HINT)
        if [a.role for a in act.axes if a.role != "1"] != ["N", "F"]:
            raise UnsupportedError(f"the model output '{node_name}' is laid out as {_describe(act)}",
                                   "output (batch, classes)")
        last = self.layers[-1]
        cols = self._cols(act, f"the model output '{node_name}'", last.units, "class scores")
        if cols != sorted(cols):  # the output lists the classes in another order: reorder the last layer
            last.weights = [w[..., cols] for w in last.weights]
        mean = std = None
        if np.any(self.shift != 0) or np.any(np.abs(self.scale) != 1):
            mean = self.shift.astype(np.float32)
            std = np.abs(self.scale).astype(np.float32)
            if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)):
                raise UnsupportedError("the input normalisation has a zero or non-finite scale")
        return self.layers, mean, std
