"""Keras 3 LSTM/GRU classifier: the model builder and its normalisation statistics.

The model is built so that every later stage can handle it:

    Input (T // K, K*F) -> Normalization (per feature, from the training split; with stacking
                           K > 1 the F per-frame statistics tiled K times)
                 -> 1..N LSTM or GRU layers (optionally Bidirectional), tanh/sigmoid, no
                    recurrent dropout, the last one returning only its final output
                 -> Dense hidden layers (ReLU), optional
                 -> Dense(C) logits

The per-feature normalisation is a Keras ``Normalization`` layer with fixed mean/variance, so the
``.keras`` file alone carries it; `quantize` strips it from the int8 graph and stores the numbers
in the ``.tflite`` metadata, and the C front end applies the very same numbers to a raw frame.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import DataError
from .config import TrainConfig

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
