"""ONNX classifiers in: a ``.onnx`` file -> edgelstm's plain layer spec + onnxruntime as the float model.

``torch.onnx.export`` (and any framework's exporter) writes ``nn.LSTM``/``nn.GRU`` as single ONNX
``LSTM``/``GRU`` nodes; this module reads such a graph into the :class:`ModelSpec` a Keras model
gives (``onnx_layers`` maps the weights, ``onnx_graph`` follows the plumbing), so `quantize`,
`report` and everything downstream treat both alike. onnxruntime is the float oracle: the
float accuracy is its accuracy, and the spec's own float forward must reproduce its logits
(max difference at most 1e-5 relative) on check sequences, so a wrong mapping cannot pass.

``onnx`` and ``onnxruntime`` are optional (``pip install 'edgelstm[onnx]'``) and imported here only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ModelError, ToolError, UnsupportedError
from ..fsutil import require_file
from .keras_spec import LayerSpec, ModelSpec
from .onnx_graph import (Act, Axis, Meta, Stacked, Unusable, concat, flatten, gather, is_zero, reshape, slice_, squeeze,
                         transpose, unsqueeze, where)
from .onnx_layers import HINT, SpecBuilder

INSTALL_HINT = "pip install 'edgelstm[onnx]'"
_PASS = ("Identity", "Dropout", "Cast")
# Graph names exporters write whatever the model: the file's name says more.
_EXPORTER_GRAPH_NAMES = {"", "main_graph", "torch_jit", "torch-jit-export", "tf2onnx", "graph"}
_ZERO_KEEPING = {"Slice", "Gather", "Reshape", "Expand", "Squeeze", "Unsqueeze", "Transpose", "Identity", "Cast",
                 "Tile", "Concat"}


def import_onnx():
    """``(onnx, onnxruntime)``, or a one-line error saying how to install them."""
    try:
        import onnx  # lazy: optional dependency
        import onnxruntime  # lazy: optional dependency
    except ImportError as e:
        raise ToolError(f"reading ONNX models needs the onnx and onnxruntime packages ({e.name} is missing)",
                        INSTALL_HINT) from None
    return onnx, onnxruntime


def is_onnx_file(path: str | Path) -> bool:
    """A ``.onnx`` name, or protobuf bytes that start like an ONNX model (field 1, ir_version)."""
    p = Path(path)
    if p.suffix.lower() == ".onnx":
        return True
    try:
        with open(p, "rb") as fh:
            head = fh.read(2)
    except OSError:
        return False
    return len(head) == 2 and head[0] == 0x08 and 3 <= head[1] <= 20  # ir_version 3..20


def load_onnx_proto(path: str | Path):
    onnx, _ = import_onnx()
    p = require_file(path, "model file")
    head = p.read_bytes()[:8]
    if head[:2] == b"PK":
        raise ModelError(f"'{p}' is a zip archive (a Keras .keras model?), not an ONNX model", "name it .keras")
    try:
        model = onnx.load(str(p))
    except Exception as e:  # noqa: BLE001 - protobuf raises several kinds for bad bytes
        msg = " ".join(str(e).split())[:160]
        raise ModelError(f"'{p}' is not a readable ONNX model ({type(e).__name__}: {msg})") from None
    if not len(model.graph.node):
        raise ModelError(f"'{p}' is not an ONNX model (no graph nodes)")
    return model


# ------------------------------------------------------------------------------------------
# The graph walk


def _attrs(node) -> dict:
    onnx, _ = import_onnx()
    out = {}
    for a in node.attribute:
        v = onnx.helper.get_attribute_value(a)
        out[a.name] = v.decode() if isinstance(v, bytes) else [x.decode() if isinstance(x, bytes) else x for x in v] \
            if isinstance(v, list) else v
    return out


def _live_nodes(graph) -> list:
    """The nodes the graph output depends on, in the file's (topological) order."""
    need = {o.name for o in graph.output}
    live = []
    for node in reversed(graph.node):
        if need.intersection(node.output):
            live.append(node)
            need.update(i for i in node.input if i)
            for g in (a.g for a in node.attribute if a.g.node):
                need.update(i.name for i in g.input)
    return live[::-1]


class _TimeMajorInput(Exception):
    """The first recurrent node reads the graph input as it is: the input is (T, N, F)."""


class _Walk:
    def __init__(self, model, source: str, time_major: bool):
        onnx, _ = import_onnx()
        self.to_array = onnx.numpy_helper.to_array
        g = model.graph
        self.source = source
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
        self.values: dict = {t.name: self.to_array(t) for t in g.initializer}
        inputs = [i for i in g.input if i.name not in self.values]
        if len(inputs) != 1:
            raise UnsupportedError(f"'{source}' has {len(inputs)} inputs; edgelstm needs one (batch, time, features) input")
        if len(g.output) != 1:
            raise UnsupportedError(f"'{source}' has {len(g.output)} outputs; edgelstm quantizes classifiers with one",
                                   "export only the class-score output")
        inp = inputs[0]
        tt = inp.type.tensor_type
        if tt.elem_type != 1:
            raise UnsupportedError(f"'{source}' takes a non-float32 input '{inp.name}'", "export with a float32 input")
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
        if len(dims) != 3:
            raise UnsupportedError(f"'{source}' input '{inp.name}' has {len(dims)} axes, not (batch, time, features)")
        n_i, t_i = (1, 0) if time_major else (0, 1)
        self.T, self.F, self.batch = dims[t_i], dims[2], dims[n_i]
        if self.T is None and dims[n_i] is not None and not time_major:
            raise _TimeMajorInput(f"'{source}' has a variable window")  # or a (T, N, F) input
        if self.T is None or self.F is None:
            raise UnsupportedError(f"'{source}' has a variable {'window' if self.T is None else 'feature count'}",
                                   "export with a fixed window: a dynamic batch axis only")
        self.input_name, self.output_name, self.time_major = inp.name, g.output[0].name, time_major
        ax = {"N": Axis("N", self.batch), "T": Axis("T", self.T), "F": Axis("F", self.F, cols=tuple(range(self.F)))}
        self.values[inp.name] = Act(tuple(ax[r] for r in ("TNF" if time_major else "NTF")), "input")
        self.builder = SpecBuilder(self.T, self.F)
        self.live = _live_nodes(g)

    def run(self) -> tuple[list[LayerSpec], np.ndarray | None, np.ndarray | None]:
        for node in self.live:
            ins = [self.values.get(n) if n else None for n in node.input]
            for n, v in zip(node.input, ins):
                if n and v is None:
                    raise UnsupportedError(f"{where(node)} reads '{n}', which nothing in the graph computes")
            for v in ins:
                if isinstance(v, Unusable):
                    raise UnsupportedError(f"{where(node)} uses {v.why}", v.fix)
            if node.domain not in ("", "ai.onnx"):
                raise UnsupportedError(f"{where(node)} is a custom op of domain '{node.domain}'", HINT)
            if any(isinstance(v, (Act, Stacked)) for v in ins):
                outs = self._data_node(node, ins)
            elif all(v is None or isinstance(v, np.ndarray) for v in ins) and node.op_type not in ("Shape", "Size"):
                outs = self._fold(node, ins)
            else:
                data_ins = ins if node.op_type == "Concat" else ins[:1]
                zero = node.op_type in _ZERO_KEEPING and all(v is None or is_zero(v) for v in data_ins)
                if node.op_type == "ConstantOfShape":
                    value = _attrs(node).get("value")
                    zero = value is None or not np.any(self.to_array(value))
                outs = [Meta(zero=zero)] * len(node.output)
            for name, v in zip(node.output, outs):
                if name:
                    self.values[name] = v
        return self.builder.finish(self.values.get(self.output_name), self.output_name)

    def _fold(self, node, ins) -> list:
        """A node whose inputs are all constants, evaluated by ONNX's reference implementation."""
        from onnx.reference import ReferenceEvaluator  # lazy: optional dependency (onnx)

        try:
            feeds = {n: v for n, v in zip(node.input, ins) if n}
            return list(ReferenceEvaluator(node, opsets={"": self.opset}).run(None, feeds))
        except Exception as e:  # noqa: BLE001 - the reference evaluator raises many kinds
            raise UnsupportedError(f"{where(node)}: cannot evaluate it on its constants ({type(e).__name__})") from None

    def _const(self, node, v, what: str) -> np.ndarray:
        if not isinstance(v, np.ndarray):
            raise UnsupportedError(f"{where(node)}: its {what} is computed at run time", "export it as a constant")
        return v

    def _data_node(self, node, ins: list) -> list:
        op, a = node.op_type, _attrs(node)
        act = ins[0]
        acts = [v for v in ins if isinstance(v, (Act, Stacked))]
        if isinstance(act, Stacked) and op not in ("Gather", "Slice", "Concat"):
            raise UnsupportedError(f"{where(node)} uses the states of several layers at once", "use the last layer's")
        if op in ("LSTM", "GRU"):
            if not isinstance(act, Act):
                raise UnsupportedError(f"{where(node)} has weights computed from the data (dynamic weights)")
            if act.stage == "input" and act.roles == "NTF" and not self.time_major:
                raise _TimeMajorInput()
            return self.builder.recurrent(node, a, ins)
        if op == "Shape":
            return [Meta()]
        if op == "Concat":
            if len(acts) != len([v for v in ins if v is not None]):
                raise UnsupportedError(f"{where(node)} joins computed values with constants", HINT)
            return [concat(acts, node, int(a.get("axis", 0)))]
        if not isinstance(act, (Act, Stacked)) or len(acts) > 1:
            if op in ("Add", "Sub", "Mul", "Div") and len(acts) == 1:
                return [self._arith(node, acts[0], self._const(node, ins[0], "constant"), const_first=True)]
            raise UnsupportedError(f"{where(node)} combines computed values (a branch or skip connection)", HINT)
        if op in _PASS:
            if op == "Cast" and int(a.get("to", 1)) != 1:
                raise UnsupportedError(f"{where(node)} casts to another type than float32")
            return [act] + [Unusable(f"the dropout mask of {where(node)}", "remove it")] * (len(node.output) - 1)
        if op == "Transpose":
            return [transpose(act, node, a.get("perm"))]
        if op in ("Squeeze", "Unsqueeze"):
            axes = a.get("axes") if self.opset < 13 else (self._const(node, ins[1], "axes") if len(ins) > 1 and ins[1]
                                                          is not None else None)
            if op == "Squeeze":
                return [squeeze(act, node, None if axes is None else np.ravel(axes))]
            return [unsqueeze(act, node, np.ravel(axes))]
        if op == "Reshape":
            return [reshape(act, node, np.ravel(self._const(node, ins[1], "shape")), bool(a.get("allowzero", 0)))]
        if op == "Flatten":
            return [flatten(act, node, int(a.get("axis", 1)))]
        if op == "Gather":
            return [gather(act, node, self._const(node, ins[1], "index"), int(a.get("axis", 0)))]
        if op == "Slice":
            if self.opset < 10:
                return [slice_(act, node, a["starts"], a["ends"], a.get("axes"), None)]
            parts = [np.ravel(self._const(node, v, "bounds")) if v is not None else None for v in ins[1:5]]
            parts += [None] * (4 - len(parts))
            return [slice_(act, node, *parts)]
        if op in ("Add", "Sub", "Mul", "Div"):
            return [self._arith(node, act, self._const(node, ins[1], "constant"), const_first=False)]
        if op in ("Gemm", "MatMul"):
            return [self._dense(node, act, ins, a)]
        if op == "Relu":
            return [self.builder.activation(act, node, "relu")]
        if op == "Clip":
            lo, hi = (a.get("min"), a.get("max")) if self.opset < 11 else \
                [float(self._const(node, v, "bound")) if v is not None else None for v in (ins[1:3] + [None, None])[:2]]
            if lo == 0 and hi in (None, 6.0):
                return [self.builder.activation(act, node, "relu" if hi is None else "relu6")]
            raise UnsupportedError(f"{where(node)} clips to [{lo}, {hi}]", "use Relu (or ReLU6) after a Gemm")
        if op == "Softmax":
            axis = int(a.get("axis", 1 if self.opset < 13 else -1))
            return [self.builder.activation(act, node, "softmax", axis)]
        if op == "LogSoftmax":
            raise UnsupportedError(f"{where(node)} is not supported",
                                   "export the model without it, or with Softmax (the predicted class is the same)")
        raise UnsupportedError(f"{where(node)} is not supported", HINT)

    def _arith(self, node, act: Act, c: np.ndarray, const_first: bool) -> Act:
        if node.op_type == "Add" and act.stage == "dense":
            return self.builder.add_bias(act, node, c)
        return self.builder.normalise(act, node, c, const_first)

    def _dense(self, node, act: Act, ins: list, a: dict) -> Act:
        B = self._const(node, ins[1], "weight matrix")
        if B.ndim != 2:
            raise UnsupportedError(f"{where(node)}: a {B.ndim}-D weight matrix", HINT)
        if node.op_type == "MatMul":
            if act.axis("F") != len(act.axes) - 1:
                raise UnsupportedError(f"{where(node)} multiplies along another axis than the features")
            return self.builder.dense(act, node, B, None)
        if int(a.get("transA", 0)) or act.roles != "NF":
            raise UnsupportedError(f"{where(node)} multiplies a value laid out otherwise than (batch, features)"
                                   if not int(a.get("transA", 0)) else f"{where(node)} transposes its data input (transA=1)")
        kernel = (B.T if int(a.get("transB", 0)) else B) * float(a.get("alpha", 1.0))
        C = ins[2] if len(ins) > 2 else None
        bias = None if C is None else np.ravel(self._const(node, C, "bias")).astype(np.float64) * float(a.get("beta", 1.0))
        if bias is not None and bias.size not in (1, kernel.shape[1]):
            raise UnsupportedError(f"{where(node)}: a bias of {bias.size} values for {kernel.shape[1]} outputs")
        return self.builder.dense(act, node, kernel, bias)


def onnx_to_spec(model, source: str = "") -> tuple[ModelSpec, dict]:
    """The layer spec of an ONNX classifier, and how to feed it (input name, layout, batch)."""
    try:
        walk = _Walk(model, source, time_major=False)
        layers, mean, std = walk.run()
    except _TimeMajorInput as first:  # the input may be time-major, (T, N, F): PyTorch's batch_first=False
        try:
            walk = _Walk(model, source, time_major=True)
            layers, mean, std = walk.run()
        except UnsupportedError:
            if not first.args:
                raise
            raise UnsupportedError(first.args[0], "export with a fixed window: a dynamic batch axis only") from None
    if not any(l.kind in ("lstm", "gru") for l in layers):
        raise UnsupportedError(f"'{source}' has no LSTM or GRU node", HINT)
    producer = " ".join(x for x in (model.producer_name, model.producer_version) if x)
    name = model.graph.name if model.graph.name not in _EXPORTER_GRAPH_NAMES else Path(source).stem
    extra = {"source_model": {"format": "onnx", "name": name,
                              "producer": producer or None, "opset": walk.opset}}
    spec = ModelSpec(window=walk.T, features=walk.F, layers=layers, norm_mean=mean, norm_std=std, source=source,
                     extra=extra)
    feed = {"input": walk.input_name, "time_major": walk.time_major, "batch": walk.batch}
    return spec, feed
