"""Keras 3 LSTM/GRU classifier: model builder and training loop.

The model is built so that every later stage can handle it:

    Input (T, F) -> Normalization (per feature, from the training split)
                 -> 1..N LSTM or GRU layers (optionally Bidirectional), tanh/sigmoid, no
                    recurrent dropout, the last one returning only its final output
                 -> Dense hidden layers (ReLU), optional
                 -> Dense(C) logits

The per-feature normalisation is a Keras ``Normalization`` layer with fixed mean/variance, so the
``.keras`` file alone carries it; `quantize` strips it from the int8 graph and stores the numbers
in the ``.tflite`` metadata, and the C front end applies the very same numbers to a raw frame.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ._tf import import_keras
from ._version import __version__
from .data.dataset import Dataset
from .data.split import split_record, stratified_split
from .data.stack import check_stack, stack_frames
from .errors import DataError, EdgelstmError
from .fsutil import atomic_path, check_output_path, write_text_atomic

CELLS = ("lstm", "gru")
MAX_UNITS = 1024
MAX_LAYERS = 16  # a 100-layer stack takes minutes just to build, and no microcontroller runs it


@dataclass
class TrainConfig:
    """Everything that defines a training run (plain data; stored in the metadata JSON)."""

    cell: str = "lstm"
    units: int = 32
    layers: int = 1
    bidirectional: bool = False
    dense_head: list[int] = field(default_factory=list)
    reset_after: bool = True  # GRU only: Keras' default (separate input/recurrent biases)
    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 2e-3
    patience: int = 8
    val_fraction: float = 0.1
    seed: int = 0
    stack: int = 1  # K frames -> one cell step of K*F features (edgelstm.data.stack); 1 = none

    def validate(self) -> None:
        if self.cell not in CELLS:
            raise EdgelstmError(f"unknown cell '{self.cell}'", "use lstm or gru")
        for name, lo in (("units", 1), ("layers", 1), ("epochs", 1), ("batch_size", 1), ("patience", 1)):
            v = getattr(self, name)
            if not isinstance(v, int) or v < lo:
                raise EdgelstmError(f"--{name.replace('_', '-')} must be an integer >= {lo}, got {v}")
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
        if not (0.0 <= self.val_fraction < 0.9):
            raise EdgelstmError(f"--val-fraction must be in [0, 0.9), got {self.val_fraction}")
        check_stack(self.stack)
        if not (self.learning_rate > 0 and np.isfinite(self.learning_rate)):
            raise EdgelstmError(f"--lr must be a positive number, got {self.learning_rate}")


@dataclass
class TrainResult:
    model: object
    metadata: dict
    history: dict


_F32_MAX = float(np.finfo(np.float32).max)


def normalization_stats(
    X: np.ndarray, feature_names: list[str] | None = None, log: Callable[[str], None] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and variance over all frames of the training split.

    A feature with (numerically) zero variance gets variance 1, so that it normalises to zero
    instead of being divided by epsilon and exploding on unseen data; ``log`` gets a note when
    such a feature is not exactly constant (its spread is too small to be told from rounding).
    A variance beyond float32 (values spread over more than ~1e19) cannot be stored in the
    model's float32 normalisation: that is a one-line error asking to rescale the feature.
    """
    flat = X.reshape(-1, X.shape[-1]).astype(np.float64)
    mean = flat.mean(axis=0)
    var = flat.var(axis=0)
    names = feature_names or [f"f{i}" for i in range(len(mean))]
    big = np.flatnonzero(~(var < _F32_MAX))
    if big.size:
        i = int(big[0])
        raise DataError(
            f"feature '{names[i]}' spreads too widely for float32 normalisation (std {np.sqrt(var[i]):.3g})",
            "rescale it, e.g. divide it by a power of ten, so its values stay below about 1e18",
        )
    scale = np.maximum(np.abs(mean), 1.0)
    constant = var <= (1e-6 * scale) ** 2
    if log is not None:
        spread = flat.max(axis=0) - flat.min(axis=0)
        for i in np.flatnonzero(constant & (spread > 0)):
            log(f"note: feature '{names[i]}' varies by only {np.sqrt(var[i]):.3g} (std) around {mean[i]:.6g}; "
                "it is treated as constant (ignored): rescale it if it carries information")
    var = np.where(constant, 1.0, var)
    return mean.astype(np.float32), var.astype(np.float32)


def build_model(
    keras,
    *,
    window: int,
    n_features: int,
    n_classes: int,
    config: TrainConfig,
    mean: np.ndarray | None = None,
    variance: np.ndarray | None = None,
):
    """The Keras 3 classifier (see the module docstring for its shape)."""
    L = keras.layers
    inp = keras.Input(shape=(window, n_features), name="frames")
    x = inp
    if mean is not None:
        x = L.Normalization(mean=mean, variance=variance, name="normalize")(x)
    for i in range(config.layers):
        last = i == config.layers - 1
        name = f"{config.cell}_{i}"
        if config.cell == "lstm":
            rnn = L.LSTM(config.units, return_sequences=not last, name=name)
        else:
            rnn = L.GRU(config.units, return_sequences=not last, reset_after=config.reset_after, name=name)
        if config.bidirectional:
            rnn = L.Bidirectional(rnn, name=f"bi_{name}")
        x = rnn(x)
    for j, width in enumerate(config.dense_head):
        x = L.Dense(width, activation="relu", name=f"dense_{j}")(x)
    out = L.Dense(n_classes, name="logits")(x)
    return keras.Model(inp, out, name=f"edgelstm_{config.cell}")


def float_accuracy(model, X: np.ndarray, y: np.ndarray, batch_size: int = 256) -> float:
    if len(X) == 0:
        return float("nan")
    logits = model.predict(X, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(logits, axis=-1) == y))


def _seed_everything(keras, seed: int) -> None:
    import tensorflow as tf  # lazy: tensorflow (only train needs it)

    keras.utils.set_random_seed(seed)
    try:
        tf.config.experimental.enable_op_determinism()
    except Exception:  # noqa: BLE001 - older TF: reproducible enough on CPU without it
        pass


def train_model(ds: Dataset, config: TrainConfig, *, log: Callable[[str], None] | None = None) -> TrainResult:
    """Train a float classifier on ``ds``.

    The validation split (``config.val_fraction`` of the training sequences) follows
    :mod:`edgelstm.data.split`: every class keeps at least one training sequence, and every class
    with two or more has one in validation.
    """
    config.validate()
    log = log or (lambda _m: None)
    keras = import_keras()
    _seed_everything(keras, config.seed)

    X, y = ds.X_train, ds.y_train
    n_classes = len(ds.class_names)
    k = check_stack(config.stack, X.shape[1])
    # Statistics per frame feature (F values, what the C front end applies to a raw frame before it
    # stacks); the Keras layer sees stacked steps, so it holds them tiled K times.
    mean, var = normalization_stats(X, list(ds.feature_names), log)
    keep, held = stratified_split(y, config.val_fraction, config.seed)  # val_fraction 0: nothing held out
    Xs = stack_frames(X, k)
    X_fit, y_fit = Xs[keep], y[keep]
    val = (Xs[held], y[held]) if len(held) >= 2 else None

    model = build_model(
        keras, window=Xs.shape[1], n_features=Xs.shape[2], n_classes=n_classes, config=config,
        mean=np.tile(mean, k), variance=np.tile(var, k),
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )

    class _Progress(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.t0 = time.time()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            parts = [f"epoch {epoch + 1}/{config.epochs}", f"loss {logs.get('loss', float('nan')):.4f}"]
            parts.append(f"acc {logs.get('accuracy', float('nan')):.4f}")
            if "val_loss" in logs:
                parts.append(f"val_loss {logs['val_loss']:.4f}")
                parts.append(f"val_acc {logs.get('val_accuracy', float('nan')):.4f}")
            parts.append(f"{time.time() - self.t0:.1f}s")
            log("  ".join(parts))

    callbacks = [_Progress(), keras.callbacks.TerminateOnNaN()]
    if val is not None:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=config.patience, restore_best_weights=True, verbose=0
            )
        )
    t0 = time.time()
    hist = model.fit(
        X_fit,
        y_fit,
        validation_data=val,
        epochs=config.epochs,
        batch_size=config.batch_size,
        shuffle=True,
        verbose=0,
        callbacks=callbacks,
    )
    train_seconds = time.time() - t0
    losses = hist.history.get("loss", [])
    if not losses or not np.all(np.isfinite(losses)):
        raise EdgelstmError(
            "training diverged (loss became NaN or inf)", "check the data for extreme values or lower --lr"
        )

    test_acc = float_accuracy(model, stack_frames(ds.X_test, k), ds.y_test)
    train_acc = float_accuracy(model, X_fit, y_fit)
    metadata = {
        "edgelstm_version": __version__,
        "kind": "edgelstm-float-model",
        "config": asdict(config),
        "class_names": list(ds.class_names),
        "feature_names": list(ds.feature_names),
        "window": int(X.shape[1]),  # frames, as the data has them (before stacking)
        "n_features": int(X.shape[2]),  # per frame
        "stack": k,  # the Keras input is (window // stack, stack * n_features)
        "model_input": [int(Xs.shape[1]), int(Xs.shape[2])],
        # per frame feature (n_features values): normalise each raw frame, then stack
        "normalization": {"mean": mean.tolist(), "variance": var.tolist(), "per": "frame_feature"},
        "data": {"file": str(ds.source), "sha256": ds.sha256, "n_train": int(len(y_fit)), "n_val": int(len(held)),
                 "n_test": int(len(ds.y_test))} | split_record(ds),
        "metrics": {
            "float_test_accuracy": test_acc,
            "float_train_accuracy": train_acc,
            "epochs_run": int(len(losses)),
            "train_seconds": round(train_seconds, 2),
        },
    }
    return TrainResult(model=model, metadata=metadata, history={k: list(map(float, v)) for k, v in hist.history.items()})


def metadata_path(model_path: str | Path) -> Path:
    """``model.keras`` -> ``model.json`` (the metadata written next to the model)."""
    p = Path(model_path)
    return p.with_suffix(".json")


def save_model(result: TrainResult, out: str | Path) -> tuple[Path, Path]:
    """Write ``out`` (.keras) and its metadata JSON, each atomically."""
    out = Path(out)
    if out.suffix != ".keras":
        raise EdgelstmError(f"model file '{out}' must be a file name ending in .keras", "e.g. --out model.keras")
    check_output_path(out, what="model file")
    check_output_path(metadata_path(out), what="metadata file")  # both or neither
    with atomic_path(out, what="model file", suffix=".keras") as tmp:
        result.model.save(tmp)
    meta = metadata_path(out)
    write_text_atomic(meta, json.dumps(result.metadata, indent=2) + "\n", what="metadata file")
    return out, meta
