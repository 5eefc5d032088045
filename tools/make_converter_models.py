"""Regenerate tests/data/conv_*.tflite: int8 LSTM classifiers made by the plain TFLite converter.

These files are what a user gets from the standard converter on a tf-keras model (not from
edgelstm), so the tests check that `simulate` and `export-c` accept them and stay bit-exact
with TFLite Micro on them. Weights are Keras' random initialisation (seeded), calibration is
random normal data: the point is the converter's layout and quantization, not accuracy.

    .venv/bin/python tools/make_converter_models.py [--out tests/data]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

MODELS = {
    # name: (T, F, builder)
    "conv_lstm32_softmax": (20, 16, "lstm32_softmax"),
    "conv_stack2_lstm8": (20, 16, "stack"),
    "conv_bilstm8": (20, 16, "bi"),
    "conv_bistack2_lstm8": (20, 16, "bistack"),
    "conv_lstm12_f2_t100": (100, 2, "long"),
}


def build(tf_keras, kind: str, T: int, F: int):
    L = tf_keras.layers
    inp = tf_keras.Input((T, F), batch_size=1)
    if kind == "lstm32_softmax":
        x = L.LSTM(32)(inp)
        out = L.Dense(7, activation="softmax")(x)
    elif kind == "stack":
        x = L.LSTM(8, return_sequences=True)(inp)
        x = L.LSTM(8)(x)
        x = L.Dense(12, activation="relu")(x)
        out = L.Dense(5)(x)
    elif kind == "bi":
        x = L.Bidirectional(L.LSTM(8))(inp)
        x = L.Dense(12, activation="relu")(x)
        out = L.Dense(5)(x)
    elif kind == "bistack":
        x = L.Bidirectional(L.LSTM(8, return_sequences=True))(inp)
        x = L.Bidirectional(L.LSTM(8))(x)
        x = L.Dense(12, activation="relu")(x)
        out = L.Dense(5)(x)
    elif kind == "long":
        x = L.LSTM(12)(inp)
        out = L.Dense(3)(x)
    else:
        raise ValueError(kind)
    model = tf_keras.Model(inp, out)
    # Non-zero biases, as after training (the converter drops all-zero bias tensors).
    rng = np.random.default_rng(7)
    model.set_weights([w + (0.1 * rng.normal(size=w.shape)).astype(np.float32) if w.ndim == 1 else w
                       for w in model.get_weights()])
    return model


def convert(tf, model, T: int, F: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)

    def rep():
        for _ in range(30):
            yield [rng.normal(size=(1, T, F)).astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return conv.convert()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "tests" / "data"))
    args = ap.parse_args()
    from edgelstm._tf import import_tf, import_tf_keras

    tf = import_tf()
    tf_keras = import_tf_keras()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for i, (name, (T, F, kind)) in enumerate(MODELS.items()):
        tf_keras.utils.set_random_seed(i)
        raw = convert(tf, build(tf_keras, kind, T, F), T, F, seed=i)
        (out / f"{name}.tflite").write_bytes(raw)
        print(f"{name}.tflite: {len(raw)} bytes")


if __name__ == "__main__":
    main()
