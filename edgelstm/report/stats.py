"""Per-class and per-op figures of the report, accumulated over chunks of sequences.

- :func:`confusion` / :func:`per_class`: the confusion matrix, precision, recall, support;
- :func:`divergence_summary`: |float - int8| of the hidden states per time step;
- :class:`OpStats`: one recurrent op's divergence, saturated gate pre-activations, int16
  cell / state range and hidden-state range, against the float shadow's values.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .pairing import RecurrentMatch

INT16_MIN, INT16_MAX = -32768, 32767


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


class OpStats:
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
