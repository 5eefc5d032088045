"""TrainConfig: everything that defines a training run (plain data, stored in the metadata JSON).

A field left at ``None`` is chosen by :func:`edgelstm.train.plan.plan_training` from the data
(number of sequences, classes, window); a value given explicitly (a CLI flag, or a field set in
Python) is used as is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..data.stack import check_stack
from ..errors import EdgelstmError

CELLS = ("lstm", "gru")
MAX_UNITS = 1024
MAX_LAYERS = 16  # a 100-layer stack takes minutes just to build, and no microcontroller runs it
CLASS_WEIGHT_MODES = ("auto", "balanced", "none")
LR_SCHEDULES = ("cosine", "plateau", "constant")


@dataclass
class TrainConfig:
    """Everything that defines a training run; ``None`` = chosen from the data (see plan.py)."""

    cell: str = "lstm"
    units: int = 32
    layers: int = 1
    bidirectional: bool = False
    dense_head: list[int] = field(default_factory=list)
    reset_after: bool = True  # GRU only: Keras' default (separate input/recurrent biases)
    epochs: int | None = None  # maximum epochs; None: from `steps`
    steps: int | None = None  # optimizer steps planned; None: from the data (min/cap in plan.py)
    batch_size: int | None = None  # None: from the number of training sequences
    learning_rate: float = 2e-3  # Adam's peak learning rate
    lr_schedule: str | None = None  # cosine (decay to 0 over the steps), plateau (halve), constant; None: auto
    patience: int | None = None  # early-stopping patience in epochs; None: from the epochs
    val_fraction: float | None = None  # None: 0.2 on small data, 0.1 from 1,000 sequences
    class_weights: str = "auto"  # auto: balanced weights when the labels are imbalanced
    seed: int = 0
    stack: int = 1  # K frames -> one cell step of K*F features (edgelstm.data.stack); 1 = none

    def validate(self) -> None:
        if self.cell not in CELLS:
            raise EdgelstmError(f"unknown cell '{self.cell}'", "use lstm or gru")
        for name, lo in (("units", 1), ("layers", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise EdgelstmError(f"--{name} must be an integer >= {lo}, got {v}")
        for name in ("epochs", "steps", "batch_size", "patience"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise EdgelstmError(f"--{name.replace('_', '-')} must be an integer >= 1, got {v}")
        if self.units > MAX_UNITS:
            raise EdgelstmError(f"--units {self.units} is too large for a microcontroller model", f"use <= {MAX_UNITS}")
        if self.layers > MAX_LAYERS:
            raise EdgelstmError(
                f"--layers {self.layers} is too deep for a microcontroller model", f"use <= {MAX_LAYERS} stacked layers"
            )
        if not isinstance(self.seed, int) or not (0 <= self.seed < 2**32):
            raise EdgelstmError(f"--seed must be an integer in 0..{2**32 - 1}, got {self.seed}")
        if any((not isinstance(w, int)) or w < 1 for w in self.dense_head):
            raise EdgelstmError(f"--dense-head sizes must be positive integers, got {self.dense_head}")
        if any(w > MAX_UNITS for w in self.dense_head):
            raise EdgelstmError(f"--dense-head widths must be <= {MAX_UNITS} on a microcontroller, got {self.dense_head}")
        if self.val_fraction is not None and not (0.0 <= self.val_fraction < 0.9):
            raise EdgelstmError(f"--val-fraction must be in [0, 0.9), got {self.val_fraction}")
        if not (self.learning_rate > 0 and np.isfinite(self.learning_rate)):
            raise EdgelstmError(f"--lr must be a positive number, got {self.learning_rate}")
        if self.lr_schedule is not None and self.lr_schedule not in LR_SCHEDULES:
            raise EdgelstmError(f"unknown --lr-schedule '{self.lr_schedule}'", f"use one of {', '.join(LR_SCHEDULES)}")
        if self.class_weights not in CLASS_WEIGHT_MODES:
            raise EdgelstmError(
                f"unknown --class-weights '{self.class_weights}'", f"use one of {', '.join(CLASS_WEIGHT_MODES)}"
            )
        check_stack(self.stack)
