"""The Python API of an int8 model: load, quantize inputs, predict bit-exactly.

    import edgelstm
    m = edgelstm.load_int8_model("model_int8.tflite")
    xq = m.quantize_input(X)        # float (N, T, F) -> int8, the model's own normalisation
    y = m.predict_int8(xq)          # int8 outputs (N, C), bit-exact with TFLite Micro and the C
    h = m.hidden_states(xq)         # per-layer int8 hidden states (N, T, units)

A model trained with ``--stack K`` runs its cell once every K frames; its API still takes
windows of frames (N, T, F): ``stack_input`` makes the (N, T // K, K * F) steps the int8
graph (and TFLite Micro) takes, by the one rule of :mod:`edgelstm.data.stack`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import fixedpoint as fp
from .errors import DataError, EdgelstmError
from .ir import QuantModel
from .data.stack import stack_frames
from .sim.runner import run_model
from .tflite.metadata import frame_layout
from .tflite.reader import load_ir


def normalize_f32(X: np.ndarray, mean: np.ndarray | None, std: np.ndarray | None) -> np.ndarray:
    """(x - mean) / std per feature, in float32 (the C front end does the same two operations)."""
    X = np.asarray(X, dtype=np.float32)
    if mean is None:
        return X
    return (X - mean.astype(np.float32)) / std.astype(np.float32)


class Int8Model:
    """An int8 model read from a ``.tflite`` file (IR + metadata), executed by the simulator."""

    def __init__(self, qm: QuantModel):
        self.ir = qm
        self._layout = frame_layout(qm)  # (K, frames per window, features per frame)

    # -- description ----------------------------------------------------------------------
    @property
    def window(self) -> int:
        """Frames per window (for a stacked model: the steps are ``window // stack``)."""
        return self._layout[1]

    @property
    def n_features(self) -> int:
        """Features per frame (for a stacked model the graph takes ``stack * n_features`` per step)."""
        return self._layout[2]

    @property
    def stack(self) -> int:
        """Frames per cell step (``--stack K``; 1: one frame per step)."""
        return self._layout[0]

    @property
    def steps(self) -> int:
        """Cell steps per window (the int8 graph's time axis)."""
        return self.ir.window

    @property
    def n_outputs(self) -> int:
        return self.ir.n_outputs

    @property
    def class_names(self) -> list[str]:
        names = self.ir.info.class_names
        return list(names) if names else [f"class_{i}" for i in range(self.n_outputs)]

    @property
    def feature_names(self) -> list[str]:
        names = self.ir.info.feature_names
        return list(names) if names else [f"f{i}" for i in range(self.n_features)]

    @property
    def input_scale(self) -> float:
        return self.ir.input_tensor.scale

    @property
    def input_zero_point(self) -> int:
        return self.ir.input_tensor.zero_point

    @property
    def output_scale(self) -> float:
        return self.ir.output_tensor.scale

    @property
    def output_zero_point(self) -> int:
        return self.ir.output_tensor.zero_point

    @property
    def has_normalization(self) -> bool:
        return self.ir.info.norm_mean is not None

    def macs_per_frame(self) -> int | float:
        """Recurrent multiply-accumulates per frame: per cell step for an unstacked model; for a
        stacked one the window's steps averaged over its frames (as verify's instructions per frame)."""
        macs = self.ir.macs_per_frame()
        return macs if self.stack == 1 else round(macs * self.steps / self.window, 1)

    def __repr__(self) -> str:
        stacked = f", {self.stack} frames per step" if self.stack > 1 else ""
        return (f"Int8Model({self.ir.describe()}, input ({self.window}, {self.n_features}){stacked}, "
                f"{self.n_outputs} outputs)")

    # -- inputs -----------------------------------------------------------------------------
    def check_input(self, X: np.ndarray, what: str = "data") -> np.ndarray:
        X = np.asarray(X)
        if X.ndim == 2 and self.window == 1:
            X = X[:, None, :]
        if X.ndim != 3:
            raise DataError(f"{what} has shape {X.shape}; expected (N, T, F) sequences")
        if X.shape[2] != self.n_features:
            raise DataError(
                f"{what} has {X.shape[2]} features per frame but the model expects {self.n_features}",
                "use data with the model's feature set",
            )
        if X.shape[1] != self.window:
            raise DataError(
                f"{what} has {X.shape[1]} frames per sequence but the model takes windows of {self.window}",
                "use windows of the model's length",
            )
        return X

    def quantize_input(self, X: np.ndarray) -> np.ndarray:
        """Float features (N, T, F) -> int8, exactly as the C front end ``NAME_quantize_feature``.

        x_int8 = clamp(round_half_away((x - mean) / std / scale) + zero_point, -128, 127), every
        operation in float32; without stored normalisation the input is used as is.
        """
        X = self.check_input(X)
        if not np.issubdtype(X.dtype, np.number):
            raise DataError(f"data must be numeric, got {X.dtype}")
        Xf = np.asarray(X, dtype=np.float32)
        if not np.all(np.isfinite(Xf)):
            bad = int(np.size(Xf) - np.count_nonzero(np.isfinite(Xf)))
            raise DataError(f"data contains {bad} NaN or infinite values", "clean the data first")
        xn = normalize_f32(Xf, self.ir.info.norm_mean, self.ir.info.norm_std)
        with np.errstate(over="ignore", invalid="ignore"):
            q = fp.quantize_f32(xn, self.input_scale, self.input_zero_point)
        return q.astype(np.int8)

    def stack_input(self, x: np.ndarray) -> np.ndarray:
        """Windows of frames (N, T, F) -> the int8 graph's steps (N, T // K, K * F) (the same
        array when K is 1): what TFLite Micro's interpreter takes for this model."""
        return stack_frames(self.check_input(x, "input"), self.stack)

    # -- inference ----------------------------------------------------------------------------
    def run(self, xq: np.ndarray, *, keep=None, traces=None, chunk: int | None = None, progress=None) -> dict:
        """Simulate windows of int8 frames (N, T, F); tensors are the graph's (steps, not frames)."""
        xs = stack_frames(self._check_q(xq), self.stack)
        return run_model(self.ir, xs, keep=keep, traces=traces, chunk=chunk, progress=progress)

    def _check_q(self, xq: np.ndarray) -> np.ndarray:
        xq = np.asarray(xq)
        if xq.dtype != np.int8:
            raise EdgelstmError(f"predict_int8 needs int8 input (got {xq.dtype}); call quantize_input first")
        return self.check_input(xq, "input")

    def predict_int8(self, xq: np.ndarray, *, chunk: int | None = None, progress=None) -> np.ndarray:
        """int8 model outputs (N, C), bit-exact with TFLite Micro and the exported C."""
        out = self.run(xq, chunk=chunk, progress=progress)[self.ir.output]
        return out.reshape(out.shape[0], -1).astype(np.int8)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class indices for float inputs (quantize + simulate + argmax)."""
        return np.argmax(self.predict_int8(self.quantize_input(X)), axis=-1)

    def hidden_states(self, xq: np.ndarray) -> dict[str, np.ndarray]:
        """int8 per-time-step outputs of every recurrent layer: {layer name: (N, steps, units)}."""
        rec = self.ir.recurrent_ops()
        res = self.run(xq, keep=tuple(op.output for op in rec))
        return {op.name: res[op.output] for op in rec}

    def dequantize(self, key: str, q: np.ndarray) -> np.ndarray:
        return self.ir.tensors[key].dequantize(q)

    def dequantize_output(self, q: np.ndarray) -> np.ndarray:
        return self.ir.output_tensor.dequantize(q)


def load_int8_model(path: str | Path) -> Int8Model:
    """Read an int8 ``.tflite`` (edgelstm's or the TFLite converter's) for simulation."""
    return Int8Model(load_ir(path))
