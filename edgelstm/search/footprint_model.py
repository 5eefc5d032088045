"""Predicted flash, RAM and instructions per frame of a model shape on a target, before training.

Each quantity is a linear function of the shape's named terms (:meth:`ModelShape.terms`: int8
weights and gate rows per cell, layers, widths, MACs per frame, ...); the coefficients of each
target are plain data in :mod:`edgelstm.search.footprint_coeffs`, fitted by
tools/calibrate_footprint.py on what `edgelstm verify --target qemu-<core> --json` measures
(edgelstm/verify/footprint.py: flash from the linker map, RAM = state + scratch + static stack
bound, instructions from SysTick under ``-icount shift=0``). Adding a target is one calibration
run that adds one entry to that table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import EdgelstmError
from .footprint_coeffs import COEFFS
from .shape import ModelShape

# Which terms each quantity may use (prefixes of ModelShape.terms() keys): the structure of the
# fit. Weights: bytes per int8 weight / gate row / layer; code: which kernels are linked;
# RAM: state and scratch per unit, the whole-window sequence buffers, the stack per kernel set.
QUANTITY_TERMS: dict[str, tuple[str, ...]] = {
    "flash_weights_bytes": ("one", "w8_", "rows_", "layers_", "dense_layers"),
    "flash_code_bytes": ("is_", "layers_", "dense_layers", "stacked"),
    "ram_bytes": ("is_", "units_", "max_units_", "ws_seq", "ws_seq_all", "stack_buffer", "head_excess"),
    "instructions_per_frame": ("ipf_",),
}
QUANTITIES = tuple(QUANTITY_TERMS)


@dataclass
class Footprint:
    flash_weights_bytes: int
    flash_code_bytes: int
    ram_bytes: int
    instructions_per_frame: float

    @property
    def flash_bytes(self) -> int:
        return self.flash_weights_bytes + self.flash_code_bytes

    def to_json(self) -> dict:
        return {"flash_bytes": self.flash_bytes, "flash_weights_bytes": self.flash_weights_bytes,
                "flash_code_bytes": self.flash_code_bytes, "ram_bytes": self.ram_bytes,
                "instructions_per_frame": round(self.instructions_per_frame, 1)}


def terms_for(quantity: str, terms: dict[str, float]) -> dict[str, float]:
    """The terms of ``terms`` that ``quantity`` may use."""
    pre = QUANTITY_TERMS[quantity]
    return {k: v for k, v in terms.items() if any(k == p or (p.endswith("_") and k.startswith(p)) for p in pre)}


def calibrated_targets() -> tuple[str, ...]:
    return tuple(COEFFS)


def coefficients(target: str) -> dict:
    if target not in COEFFS:
        raise EdgelstmError(
            f"no footprint calibration for target '{target}'",
            f"use one of: {', '.join(COEFFS)}, or run tools/calibrate_footprint.py --target {target}",
        )
    return COEFFS[target]


def predict(shape: ModelShape, target: str) -> Footprint:
    """The footprint ``shape`` is predicted to have on ``target`` (e.g. cortex-m4)."""
    co = coefficients(target)
    t = shape.terms()
    vals = {}
    for q in QUANTITIES:
        c = co[q]
        vals[q] = max(0.0, sum(c.get(k, 0.0) * v for k, v in terms_for(q, t).items()))
    return Footprint(
        flash_weights_bytes=int(np.ceil(vals["flash_weights_bytes"])),
        flash_code_bytes=int(np.ceil(vals["flash_code_bytes"])),
        ram_bytes=int(np.ceil(vals["ram_bytes"])),
        instructions_per_frame=float(vals["instructions_per_frame"]),
    )


def fit(rows: list[tuple[ModelShape, dict]]) -> dict[str, dict[str, float]]:
    """Least-squares coefficients of every quantity from (shape, measured footprint) pairs.

    A term no shape exercises keeps coefficient 0 (the minimum-norm solution); the calibration
    tool reports the fit's largest relative error.
    """
    out: dict[str, dict[str, float]] = {}
    all_terms = [s.terms() for s, _ in rows]
    for q in QUANTITIES:
        names = sorted({k for t in all_terms for k in terms_for(q, t)})
        A = np.array([[terms_for(q, t).get(k, 0.0) for k in names] for t in all_terms], dtype=np.float64)
        b = np.array([float(m[q]) for _, m in rows], dtype=np.float64)
        # relative least squares: every shape counts by its relative error (small models matter)
        w = 1.0 / np.maximum(np.abs(b), 1.0)
        coef, *_ = np.linalg.lstsq(A * w[:, None], b * w, rcond=None)
        out[q] = {k: float(round(c, 6)) for k, c in zip(names, coef) if abs(c) > 1e-9}
    return out
