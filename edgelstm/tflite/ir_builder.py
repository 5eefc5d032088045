"""The IR under construction while a ``.tflite`` is read: tensors registered so far, ops, notes.

Each op reader (``lstm_op``, ``dense_ops``, ``copy_ops``, ``gru_op``) takes an :class:`IrBuilder`,
registers the activation tensors it reads and writes with :meth:`IrBuilder.act` and appends one
IR op to :attr:`IrBuilder.ops`.
"""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedError
from ..ir import TensorInfo
from .graph import TfliteGraph


class IrBuilder:
    """Tensors (``t<index>`` -> TensorInfo), ops in file order, and notes on the file's oddities."""

    def __init__(self, g: TfliteGraph):
        self.g = g
        self.tensors: dict[str, TensorInfo] = {}
        self.ops = []
        self.notes: list[str] = []  # oddities of the file that the simulator reproduces

    def act(self, idx: int, what: str) -> str:
        """Register an int8/int16 activation tensor (batch dimension 1 dropped); returns its key."""
        g = self.g
        key = f"t{idx}"
        if key in self.tensors:
            return key
        shape = g.shape(idx)
        if not shape or shape[0] != 1:
            raise UnsupportedError(
                f"'{g.path}': {what} '{g.name(idx)}' has shape {list(shape)}; edgelstm needs batch size 1",
                "export with batch_size=1",
            )
        tn = g.type_name(idx)
        if tn not in ("INT8", "INT16"):
            g.check_int8(idx, what)
        s, zp = g.scale_zp(idx, what)
        self.tensors[key] = TensorInfo(name=g.name(idx), shape=tuple(shape[1:]), dtype=tn.lower(), scale=s, zero_point=zp)
        return key

    def same_quant(self, a: str, b: str, what: str, n: int) -> None:
        """Copy ops (slice, reverse, reshape) move bytes in TFLM whatever the tensors' scales say.

        The converter sometimes gives the copy a different scale than its input (seen on
        REVERSE_V2 in stacked bidirectional models); TFLM still copies the bytes, so the
        simulator does too, and the difference is recorded as a note.
        """
        ta, tb = self.tensors[a], self.tensors[b]
        if ta.dtype != tb.dtype:
            raise UnsupportedError(f"'{self.g.path}': {what} op {n} changes the element type of its tensor")
        if ta.zero_point != tb.zero_point or np.float32(ta.scale) != np.float32(tb.scale):
            self.notes.append(
                f"{what} op {n} copies int8 bytes from a tensor of scale {ta.scale:.6g} (zero point {ta.zero_point}) "
                f"into one of scale {tb.scale:.6g} (zero point {tb.zero_point}), as TFLite Micro does"
            )
