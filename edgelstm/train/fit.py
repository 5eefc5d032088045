"""The training loop: :func:`train_model` trains a float classifier on a Dataset.

What it runs is the :class:`~edgelstm.train.plan.TrainPlan` (steps, batch, cosine learning rate,
early stopping with the best epoch's weights restored, class weights) resolved from the
TrainConfig and the data; see plan.py for the rules and the reasons they print.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace
from typing import Callable

import numpy as np

from .._tf import import_keras
from .._version import __version__
from ..data.dataset import Dataset
from ..data.split import split_record, stratified_split
from ..data.stack import check_stack, stack_frames
from ..errors import EdgelstmError
from .config import TrainConfig
from .model import build_model, float_accuracy, normalization_stats
from .plan import TrainPlan, plan_training

CLIP_NORM = 1.0  # global gradient-norm clipping: keeps an LSTM's first steps on long windows stable
MAX_PROGRESS_LINES = 40  # a 400-epoch run logs every 10th epoch (and the last)


@dataclass
class TrainResult:
    model: object
    metadata: dict
    history: dict
    plan: TrainPlan | None = None


def seed_everything(keras, seed: int) -> None:
    import tensorflow as tf  # lazy: tensorflow (only train needs it)

    keras.utils.set_random_seed(seed)
    try:
        tf.config.experimental.enable_op_determinism()
    except Exception:  # noqa: BLE001 - older TF: reproducible enough on CPU without it
        pass


def resolved_config(config: TrainConfig, plan: TrainPlan) -> TrainConfig:
    """``config`` with every ``None`` replaced by what the plan chose (what the metadata records)."""
    return replace(config, epochs=plan.epochs, steps=plan.steps, batch_size=plan.batch_size,
                   patience=plan.patience, val_fraction=plan.val_fraction)


def _callbacks(keras, plan: TrainPlan, has_val: bool, log: Callable[[str], None]) -> list:
    every = max(1, math.ceil(plan.epochs / MAX_PROGRESS_LINES))

    class Progress(keras.callbacks.Callback):
        """One line per epoch (every ``every``th on long runs), and the best epoch's weights kept.

        Best = highest validation accuracy, a tie going to the later epoch (a small dataset's
        validation split has a handful of sequences: its accuracy saturates within a few epochs and
        ties often, while the later epoch has trained longer on a decaying learning rate; measured on
        ArrowHead/PickupGesture, keeping the earliest best or the lowest-loss epoch stopped runs
        after ~5% of their steps). Patience counts epochs below the best accuracy.
        """

        def __init__(self):
            super().__init__()
            self.t0 = time.time()
            self.best = None
            self.best_epoch = 0
            self.best_weights = None
            self.wait = 0

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            last = epoch + 1 == plan.epochs
            if has_val:
                score = (logs.get("val_accuracy", 0.0), -logs.get("val_loss", np.inf))
                if self.best is None or score[0] >= self.best[0]:
                    self.best, self.best_epoch, self.wait = score, epoch + 1, 0
                    self.best_weights = self.model.get_weights()
                else:
                    self.wait += 1
                    if self.wait >= plan.patience:
                        self.model.stop_training = True
                        last = True
            if epoch % every == 0 or last:
                parts = [f"epoch {epoch + 1}/{plan.epochs}", f"loss {logs.get('loss', float('nan')):.4f}",
                         f"acc {logs.get('accuracy', float('nan')):.4f}"]
                if "val_loss" in logs:
                    parts.append(f"val_loss {logs['val_loss']:.4f}")
                    parts.append(f"val_acc {logs.get('val_accuracy', float('nan')):.4f}")
                parts.append(f"{time.time() - self.t0:.1f}s")
                log("  ".join(parts))

        def on_train_end(self, logs=None):
            if self.best_weights is not None:
                self.model.set_weights(self.best_weights)
                log(f"restored the weights of epoch {self.best_epoch} (best validation accuracy "
                    f"{self.best[0]:.4f}, loss {-self.best[1]:.4f})")

    callbacks = [Progress(), keras.callbacks.TerminateOnNaN()]
    if plan.lr_schedule == "plateau":  # halve the learning rate when the loss stops improving
        callbacks.insert(0, keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss" if has_val else "loss", factor=0.5, patience=max(2, plan.patience // 3),
            min_lr=plan.learning_rate / 64, verbose=0))
    return callbacks


def train_model(ds: Dataset, config: TrainConfig, *, log: Callable[[str], None] | None = None) -> TrainResult:
    """Train a float classifier on ``ds`` (public API: ``edgelstm train`` and ``edgelstm search``).

    ``config``'s ``None`` fields are chosen from the data (:func:`plan_training`; the chosen plan
    and its reasons are logged and returned in ``TrainResult.plan`` and the metadata's "plan").
    ``config.stack`` K > 1 trains on windows of ``T // K`` steps of ``K*F`` features
    (:func:`edgelstm.data.stack.stack_frames`). The validation split follows
    :mod:`edgelstm.data.split`: every class keeps at least one training sequence, and every class
    with two or more has one in validation. Returns the model (best validation epoch's weights)
    and the metadata that :func:`edgelstm.train.save_model` writes next to it.
    """
    config.validate()
    log = log or (lambda _m: None)
    X, y = ds.X_train, ds.y_train
    n_classes = len(ds.class_names)
    k = check_stack(config.stack, X.shape[1])
    plan = plan_training(config, y, n_classes)
    for line in plan.describe():
        log(line)

    keras = import_keras()
    seed_everything(keras, config.seed)
    # Statistics per frame feature (F values, what the C front end applies to a raw frame before it
    # stacks); the Keras layer sees stacked steps, so it holds them tiled K times.
    mean, var = normalization_stats(X, list(ds.feature_names), log)
    keep, held = stratified_split(y, plan.val_fraction, config.seed)  # fraction 0: nothing held out
    Xs = stack_frames(X, k)
    X_fit, y_fit = Xs[keep], y[keep]
    val = (Xs[held], y[held]) if len(held) >= 2 else None

    model = build_model(
        keras, window=Xs.shape[1], n_features=Xs.shape[2], n_classes=n_classes, config=config,
        mean=np.tile(mean, k), variance=np.tile(var, k),
    )
    lr = plan.learning_rate
    if plan.lr_schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(plan.learning_rate, decay_steps=max(1, plan.steps), alpha=0.0)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=lr, global_clipnorm=CLIP_NORM),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    if plan.passes_per_epoch > 1:  # an epoch = several passes (plan.py: per-epoch overhead)
        X_fit, y_fit = np.tile(X_fit, (plan.passes_per_epoch, 1, 1)), np.tile(y_fit, plan.passes_per_epoch)
    t0 = time.time()
    hist = model.fit(
        X_fit, y_fit, validation_data=val, epochs=plan.epochs, batch_size=plan.batch_size, shuffle=True,
        verbose=0, callbacks=_callbacks(keras, plan, val is not None, log), class_weight=plan.class_weights,
    )
    train_seconds = time.time() - t0
    losses = hist.history.get("loss", [])
    if not losses or not np.all(np.isfinite(losses)):
        raise EdgelstmError(
            "training diverged (loss became NaN or inf)", "check the data for extreme values or lower --lr"
        )

    test_acc = float_accuracy(model, stack_frames(ds.X_test, k), ds.y_test)
    train_acc = float_accuracy(model, Xs[keep], y[keep])
    metadata = {
        "edgelstm_version": __version__,
        "kind": "edgelstm-float-model",
        "config": asdict(resolved_config(config, plan)),
        "plan": plan.as_dict(),
        "class_names": list(ds.class_names),
        "feature_names": list(ds.feature_names),
        "window": int(X.shape[1]),  # frames, as the data has them (before stacking)
        "n_features": int(X.shape[2]),  # per frame
        "stack": k,  # the Keras input is (window // stack, stack * n_features)
        **({"front_end": ds.params["front_end"]} if ds.params.get("front_end") else {}),  # raw radar (issue 16)
        "model_input": [int(Xs.shape[1]), int(Xs.shape[2])],
        # per frame feature (n_features values): normalise each raw frame, then stack
        "normalization": {"mean": mean.tolist(), "variance": var.tolist(), "per": "frame_feature"},
        "data": {"file": str(ds.source), "sha256": ds.sha256, "n_train": int(len(keep)), "n_val": int(len(held)),
                 "n_test": int(len(ds.y_test))} | split_record(ds),
        "metrics": {
            "float_test_accuracy": test_acc,
            "float_train_accuracy": train_acc,
            "epochs_run": int(len(losses)),
            "train_seconds": round(train_seconds, 2),
        },
    }
    history = {key: list(map(float, v)) for key, v in hist.history.items()}
    return TrainResult(model=model, metadata=metadata, history=history, plan=plan)
