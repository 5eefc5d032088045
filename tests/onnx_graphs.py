"""ONNX classifier graphs built with onnx.helper, in the spellings exporters write.

``build(...)`` returns an ``onnx.ModelProto`` of [normalisation] -> LSTM/GRU x N -> last step ->
Gemm/MatMul(+Add) [Relu] ... [Softmax], with random weights, in the spelling the keyword
arguments choose; ``tamper`` lets a test change one node or attribute to something edgelstm
must refuse. Used by tests/test_onnx_*.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class G:
    """Spelling of one test graph."""

    cell: str = "lstm"  # lstm | gru
    units: tuple[int, ...] = (4,)
    direction: str = "forward"  # forward | bidirectional
    features: int = 3
    window: int = 6
    classes: int = 3
    norm: str | None = "subdiv"  # subdiv | muladd | None
    last: str = "y_h"  # y_h | y_gather | y_slice | y_transpose | hn_cat | y_bi_concat
    head: str = "gemm"  # gemm | matmul_add
    hidden: tuple[int, ...] = ()  # Dense(+Relu) layers before the class layer
    softmax: bool = False
    time_major: bool = False  # the graph input is (T, N, F) (PyTorch batch_first=False)
    batch: int | None = None  # None: symbolic batch
    init_state: str | None = None  # None | "const" (zero initializers) | "shape" (ConstantOfShape of Shape(x))
    linear_before_reset: int = 1
    weight_scale: float = 0.6
    opset: int = 17
    seed: int = 0
    attrs: dict = field(default_factory=dict)  # extra attributes on every recurrent node


class _B:
    def __init__(self, opset: int):
        import onnx
        from onnx import helper, numpy_helper

        self.onnx, self.h, self.nh = onnx, helper, numpy_helper
        self.nodes, self.inits, self.opset, self.k = [], [], opset, 0

    def name(self, base: str) -> str:
        self.k += 1
        return f"{base}_{self.k}"

    def const(self, arr, base="c") -> str:
        n = self.name(base)
        self.inits.append(self.nh.from_array(np.asarray(arr), n))
        return n

    def node(self, op, inputs, n_out=1, **attrs) -> list[str]:
        outs = [self.name(op.lower()) for _ in range(n_out)]
        self.nodes.append(self.h.make_node(op, list(inputs), outs, name=self.name(op), **attrs))
        return outs

    def one(self, op, inputs, **attrs) -> str:
        return self.node(op, inputs, **attrs)[0]

    def squeeze(self, x, axes) -> str:
        if self.opset < 13:  # axes were an attribute before opset 13
            return self.one("Squeeze", [x], axes=list(axes))
        return self.one("Squeeze", [x, self.const(np.array(axes, np.int64))])

    def gather(self, x, idx, axis) -> str:
        return self.one("Gather", [x, self.const(np.array(idx, np.int64))], axis=axis)

    def reshape(self, x, shape) -> str:
        return self.one("Reshape", [x, self.const(np.array(shape, np.int64))])


def _f32(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float32)


def norm_of(g: G) -> tuple[np.ndarray, np.ndarray]:
    """The per-feature mean and std the graph's normalisation uses."""
    rng = np.random.default_rng(g.seed)
    return _f32(rng.normal(0, 2, g.features)), _f32(rng.uniform(0.5, 3, g.features))


def build(g: G):
    """The ONNX model (random weights) spelled as ``g`` says."""
    rng = np.random.default_rng(g.seed)
    b = _B(g.opset)
    T, F = g.window, g.features
    mean, std = norm_of(g)
    rng.normal(0, 2, F), rng.uniform(0.5, 3, F)  # the draws norm_of made
    x = "x"
    if g.norm == "subdiv":
        x = b.one("Div", [b.one("Sub", [x, b.const(mean.reshape(1, 1, F), "mean")]), b.const(std, "std")])
    elif g.norm == "const_minus_x":  # (mean - x) / std: a negative scale
        x = b.one("Div", [b.one("Sub", [b.const(mean, "mean"), x]), b.const(std, "std")])
    elif g.norm == "muladd":
        x = b.one("Add", [b.one("Mul", [x, b.const(_f32(1 / std), "inv_std")]), b.const(_f32(-mean / std), "shift")])
    if not g.time_major:
        x = b.one("Transpose", [x], perm=[1, 0, 2])  # (T, N, F)
    nd = 2 if g.direction == "bidirectional" else 1
    nG = 4 if g.cell == "lstm" else 3
    width = F
    y = y_h = None
    for li, H in enumerate(g.units):
        W = _f32(rng.normal(0, g.weight_scale / np.sqrt(width), (nd, nG * H, width)))
        R = _f32(rng.normal(0, g.weight_scale / np.sqrt(H), (nd, nG * H, H)))
        B = _f32(rng.normal(0, 0.3, (nd, 2 * nG * H)))
        ins = [x, b.const(W, "W"), b.const(R, "R"), b.const(B, "B"), ""]
        if g.init_state == "const":
            ins += [b.const(np.zeros((nd, g.batch or 1, H), np.float32), "h0")] * (2 if g.cell == "lstm" else 1)
        elif g.init_state == "shape":
            n = b.gather(b.one("Shape", [x]), [1], 0)
            shape = b.one("Concat", [b.const(np.array([nd], np.int64)), n, b.const(np.array([H], np.int64))], axis=0)
            zero = b.one("ConstantOfShape", [shape], value=b.h.make_tensor("v", 1, [1], [0.0]))
            ins += [zero] * (2 if g.cell == "lstm" else 1)
        attrs = {"hidden_size": H, "direction": g.direction, **g.attrs}
        if g.cell == "gru":
            attrs["linear_before_reset"] = g.linear_before_reset
        y, y_h, *_ = b.node(g.cell.upper(), ins, n_out=3 if g.cell == "lstm" else 2, **attrs)
        if li < len(g.units) - 1:  # (T, D, N, H) -> (T, N, D*H) for the next layer
            x = b.squeeze(y, [1]) if nd == 1 else b.reshape(b.one("Transpose", [y], perm=[0, 2, 1, 3]), [0, 0, -1])
        width = nd * H
    z = _last_step(b, g, y, y_h, nd, T)
    for i, n in enumerate(g.hidden + (g.classes,)):
        W = _f32(rng.normal(0, 2 / np.sqrt(width), (n, width)))
        bias = _f32(rng.normal(0, 0.05, n))
        if g.head == "gemm":
            z = b.one("Gemm", [z, b.const(W, "fc_w"), b.const(bias, "fc_b")], transB=1)
        else:
            z = b.one("Add", [b.one("MatMul", [z, b.const(W.T.copy(), "fc_w")]), b.const(bias, "fc_b")])
        if i < len(g.hidden):
            z = b.one("Relu", [z])
        width = n
    if g.softmax:
        z = b.one("Softmax", [z], axis=-1)
    b.nodes[-1].output[0] = "logits"
    batch = g.batch if g.batch else "N"
    in_shape = [T, batch, F] if g.time_major else [batch, T, F]
    graph = b.h.make_graph(b.nodes, "test_graph", [b.h.make_tensor_value_info("x", 1, in_shape)],
                           [b.h.make_tensor_value_info("logits", 1, [batch, g.classes])], b.inits)
    model = b.h.make_model(graph, opset_imports=[b.h.make_opsetid("", g.opset)], producer_name="edgelstm-tests")
    model.ir_version = min(model.ir_version, 9)
    return model


def _last_step(b: _B, g: G, y: str, y_h: str, nd: int, T: int) -> str:
    """(N, D*H) features of the last time step, spelled as g.last says."""
    if g.last == "y_h":  # Y_h (D, N, H)
        return b.squeeze(y_h, [0]) if nd == 1 else b.reshape(b.one("Transpose", [y_h], perm=[1, 0, 2]), [0, -1])
    if g.last == "hn_cat":  # torch.cat([h_n[-2], h_n[-1]], dim=1)
        return b.one("Concat", [b.gather(y_h, -2, 0), b.gather(y_h, -1, 0)], axis=1)
    if g.last == "hn_cat_backward_first":  # torch.cat([h_n[-1], h_n[-2]], dim=1)
        return b.one("Concat", [b.gather(y_h, -1, 0), b.gather(y_h, -2, 0)], axis=1)
    if g.last == "y_gather":  # Y[-1] -> (D, N, H)
        return b.squeeze(b.gather(y, -1, 0), [0])
    if g.last == "y_slice":  # Y[T-1:T] -> (1, D, N, H)
        s = b.one("Slice", [y, b.const(np.array([-1], np.int64)), b.const(np.array([T], np.int64)),
                            b.const(np.array([0], np.int64))])
        return b.squeeze(s, [0, 1])
    if g.last == "y_transpose":  # out.transpose(0, 1)[:, -1] of (T, N, H)
        return b.gather(b.one("Transpose", [b.squeeze(y, [1])], perm=[1, 0, 2]), -1, 1)
    if g.last == "y_bi_concat":  # forward Y[T-1], backward Y[0]: each direction's final state
        fwd = b.gather(b.gather(y, -1, 0), 0, 0)
        bwd = b.gather(b.gather(y, 0, 0), 1, 0)
        return b.one("Concat", [fwd, bwd], axis=-1)
    if g.last == "y_bi_last":  # out[:, -1] of a bidirectional layer (the backward half has seen one frame)
        return b.reshape(b.one("Transpose", [b.gather(y, -1, 0)], perm=[1, 0, 2]), [0, -1])
    raise ValueError(g.last)
