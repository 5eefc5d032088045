"""The training plan: what `train` runs when a setting is not given (no TensorFlow here).

The old defaults were a fixed 30 epochs of batch 64: about 30 optimizer steps on 40 sequences,
far too few for a small dataset. The plan counts **optimizer steps** instead:

- batch: ``n / 8`` clamped to 8..64, so a small dataset still gets several steps per epoch and a
  large one keeps the old batch of 64;
- epoch: a small dataset is passed over several times per epoch (at least ``EPOCH_STEPS`` steps
  between two validation checks);
- steps: at least ``MIN_STEPS``; epochs = enough of them to make those steps, never fewer than
  ``BASE_EPOCHS`` (the old 30, so large data trains exactly as long as before) and at most
  ``MAX_EPOCHS``;
- learning rate: Adam; below ``SMALL_DATA`` sequences cosine decay from the peak to 0 over the
  planned steps, from ``SMALL_DATA`` on halved when the validation loss stalls (plateau). Measured
  (LSTM32, float test accuracy): radar 8,000 sequences cosine 0.890, plateau 0.900 (old constant
  0.896); ArrowHead / PickupGesture / OSULeaf cosine 0.68 / 0.68 / 0.66, plateau 0.52 / 0.64 / 0.61;
- early stopping: validation accuracy on a stratified split (edgelstm.data.split), the best
  epoch's weights restored; patience a quarter of the epochs (at least ``MIN_PATIENCE``) with the
  plateau schedule, none with cosine (the run ends when its learning rate reaches 0);
- class weights: balanced (n / (C * n_c)) when the largest class has more than
  ``IMBALANCE_RATIO`` times the sequences of the smallest;
- stacking (:func:`choose_stack`, used by the CLI when --stack is not given): a window of more
  than ``STACK_ABOVE`` frames is stacked so the cell runs about ``STACK_TARGET_STEPS`` times.
  Measured (LSTM32, float test accuracy, about 64 / 32 / 16 cell steps): ArrowHead (251 frames)
  0.66 / 0.57 / 0.68, PickupGesture (361) 0.64 / 0.68 / 0.60, OSULeaf (427) 0.55 / 0.66 / 0.69;
  unstacked 0.39 / 0.30 / 0.22 (old defaults). Small test sets: differences of 5 points are noise.
  32 steps lies between the hand-tuned stackings of issue 15's table (150 frames by 10: 15 steps;
  1,460 frames by 20: 73 steps).

Every explicit setting (TrainConfig field not None) wins; the plan says which were chosen and why.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..data.split import stratified_split
from .config import TrainConfig

MIN_STEPS = 3000  # 1500 -> 3000: PickupGesture 0.66 -> 0.70, OSULeaf 0.62 -> 0.64 (LSTM32, float)
EPOCH_STEPS = 25  # a small dataset is repeated within an epoch: Keras' per-epoch overhead and the
#                   validation check cost more than 3 optimizer steps (measured: ~0.2-0.3 s per epoch)
BASE_EPOCHS = 30
MAX_EPOCHS = 400
MIN_BATCH, MAX_BATCH = 8, 64
MIN_PATIENCE = 8
IMBALANCE_RATIO = 1.5
SMALL_DATA = 1000  # below this many training sequences, validate on 20 % instead of 10 %
STACK_ABOVE = 128
STACK_TARGET_STEPS = 32


@dataclass
class TrainPlan:
    """The settings a run uses, resolved from TrainConfig and the data (stored in the metadata)."""

    epochs: int
    passes_per_epoch: int
    steps_per_epoch: int
    steps: int
    batch_size: int
    learning_rate: float
    lr_schedule: str
    patience: int
    val_fraction: float
    class_weights: dict[int, float] | None
    stack: int
    reasons: dict[str, str]

    def as_dict(self) -> dict:
        d = asdict(self)
        if self.class_weights is not None:
            d["class_weights"] = {str(k): v for k, v in self.class_weights.items()}
        return d

    def describe(self) -> list[str]:
        """Two lines for the user: what was chosen, and why."""
        cw = "none" if self.class_weights is None else "balanced " + ", ".join(
            f"{w:.2f}" for _, w in sorted(self.class_weights.items()))
        per = f" ({self.passes_per_epoch} passes over the data)" if self.passes_per_epoch > 1 else ""
        line1 = (f"plan: {self.steps} steps = {self.epochs} epochs x {self.steps_per_epoch} batches of "
                 f"{self.batch_size}{per}, Adam lr {self.learning_rate:g} {self.lr_schedule}, early stopping "
                 f"patience {self.patience} epochs on {self.val_fraction:g} validation, class weights {cw}, "
                 f"stack {self.stack}")
        line2 = "why: " + "; ".join(f"{k} {v}" for k, v in self.reasons.items())
        return [line1, line2]


def balanced_class_weights(y: np.ndarray, n_classes: int) -> dict[int, float]:
    """``n / (C_present * n_c)`` for every class present in ``y`` (Keras' ``class_weight``)."""
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=n_classes)
    present = np.flatnonzero(counts)
    n = counts.sum()
    return {int(c): float(n / (len(present) * counts[c])) for c in present}


def choose_class_weights(y: np.ndarray, n_classes: int, mode: str) -> tuple[dict[int, float] | None, str]:
    """(weights or None, reason) for ``mode`` auto / balanced / none."""
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=n_classes)
    present = counts[counts > 0]
    ratio = float(present.max() / present.min()) if len(present) else 1.0
    if mode == "none":
        return None, "off (--class-weights none)"
    if mode == "balanced":
        return balanced_class_weights(y, n_classes), "balanced (--class-weights balanced)"
    if ratio > IMBALANCE_RATIO:
        return balanced_class_weights(y, n_classes), f"balanced: largest/smallest class {ratio:.1f} > {IMBALANCE_RATIO}"
    return None, f"none: classes balanced (largest/smallest {ratio:.1f} <= {IMBALANCE_RATIO})"


def choose_stack(window: int) -> tuple[int, str]:
    """The stacking K for a window of ``window`` frames when --stack is not given, and why.

    An LSTM over hundreds of frames does not learn from a few hundred sequences (the gradient has
    to cross every step); K frames per step cut the steps K times and keep every sample. Windows
    up to ``STACK_ABOVE`` frames (the radar's 64 among them) are not stacked.
    """
    if window <= STACK_ABOVE:
        return 1, f"1: window of {window} frames <= {STACK_ABOVE}"
    k = max(2, int(round(window / STACK_TARGET_STEPS)))
    return k, (f"{k}: window of {window} frames > {STACK_ABOVE}, so {window // k} cell steps of {k} frames "
               f"(--stack 1 turns it off)")


def plan_training(config: TrainConfig, y: np.ndarray, n_classes: int, stack_reason: str | None = None) -> TrainPlan:
    """Resolve ``config``'s ``None`` fields for the labels ``y`` of all training sequences."""
    n_all = len(y)
    reasons: dict[str, str] = {}
    if config.val_fraction is None:
        val_fraction = 0.2 if n_all < SMALL_DATA else 0.1
        reasons["validation"] = f"{val_fraction:g} ({n_all} sequences {'<' if n_all < SMALL_DATA else '>='} {SMALL_DATA})"
    else:
        val_fraction = config.val_fraction
    keep, _ = stratified_split(y, val_fraction, config.seed)
    n = max(1, len(keep))
    if config.batch_size is None:
        batch = int(min(MAX_BATCH, max(MIN_BATCH, n // 8)))
        reasons["batch"] = f"{batch}: {n} training sequences / 8, within {MIN_BATCH}..{MAX_BATCH}"
    else:
        batch = config.batch_size
    if config.epochs is not None:  # explicit epochs are passes over the data, as they always were
        passes = 1
    else:
        passes = max(1, math.ceil(EPOCH_STEPS * batch / n))
        if passes > 1:
            reasons["epoch"] = (f"= {passes} passes over the {n} training sequences, so an epoch (one validation "
                                f"check) is at least {EPOCH_STEPS} steps")
    spe = max(1, math.ceil(n * passes / batch))
    if config.epochs is not None:
        epochs = config.epochs
    elif config.steps is not None:
        epochs = max(1, math.ceil(config.steps / spe))
    else:
        epochs = min(MAX_EPOCHS, max(BASE_EPOCHS, math.ceil(MIN_STEPS / spe)))
        reasons["epochs"] = (f"{epochs}: at least {MIN_STEPS} steps at {spe} per epoch, "
                             f"within {BASE_EPOCHS}..{MAX_EPOCHS} epochs")
    steps = epochs * spe  # the schedule's length (an explicit --steps is rounded up to whole epochs)
    if config.lr_schedule is None:
        schedule = "cosine" if n_all < SMALL_DATA else "plateau"
        reasons["lr"] = (f"cosine: {n_all} sequences < {SMALL_DATA} (a few validation sequences are too few to "
                         "detect a plateau)" if schedule == "cosine" else
                         f"plateau: {n_all} sequences >= {SMALL_DATA} (halved when the validation loss stalls)")
    else:
        schedule = config.lr_schedule
    if config.patience is None and schedule == "cosine":
        # Stopping early would end a cosine run before its learning rate has decayed (measured: runs
        # stopped at 24-27 of ~60 epochs scored 5-24 points below the same run to the end).
        patience = epochs
        reasons["patience"] = f"{patience}: the whole cosine schedule runs, the best epoch is restored"
    elif config.patience is None:
        patience = max(MIN_PATIENCE, epochs // 4)
        reasons["patience"] = f"{patience}: a quarter of {epochs} epochs, at least {MIN_PATIENCE}"
    else:
        patience = config.patience
    weights, why = choose_class_weights(y, n_classes, config.class_weights)
    reasons["class weights"] = why
    if stack_reason:
        reasons["stack"] = stack_reason
    return TrainPlan(
        epochs=int(epochs), passes_per_epoch=int(passes), steps_per_epoch=int(spe), steps=int(steps), batch_size=int(batch),
        learning_rate=float(config.learning_rate), lr_schedule=schedule, patience=int(patience),
        val_fraction=float(val_fraction), class_weights=weights, stack=int(config.stack), reasons=reasons,
    )
