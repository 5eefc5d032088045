"""Child process: rebuild the model as a batch-size-1 tf-keras twin and run the TFLite converter.

Run as ``python -m edgelstm.quantize.convert_worker JOB_DIR``. The parent (``convert.py``)
writes ``spec.json``, ``weights.npz``, ``calib.npy`` (normalised calibration sequences) and
``check_x.npy`` / ``check_y.npy`` (the Keras 3 model's outputs on a few inputs); this process
writes ``model.tflite`` or exits non-zero with one line on stderr. A converter crash (it does
crash on some inputs) kills only this process.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

from edgelstm._tf import import_tf, import_tf_keras


def build_twin(tf_keras, spec: dict, weights: dict[str, np.ndarray]):
    """The tf-keras (Keras 2) model with batch_size=1 and the Keras 3 weights."""
    L = tf_keras.layers
    inp = tf_keras.Input((spec["window"], spec["features"]), batch_size=1, name="frames")
    x = inp
    for i, l in enumerate(spec["layers"]):
        w = [weights[f"l{i}_w{j}"] for j in range(l["n_weights"])]
        if l["kind"] in ("lstm", "gru"):
            if l["kind"] == "lstm":
                cell = L.LSTM(l["units"], return_sequences=l["return_sequences"], name=l["name"] + "_cell")
            else:
                cell = L.GRU(l["units"], return_sequences=l["return_sequences"], reset_after=l["reset_after"],
                             name=l["name"] + "_cell")
            layer = L.Bidirectional(cell, name=l["name"]) if l["bidirectional"] else cell
        else:
            act = {"linear": None, "relu": "relu", "softmax": "softmax", "relu6": tf_keras.activations.relu}[l["activation"]]
            if l["activation"] == "relu6":
                act = lambda t: tf_keras.activations.relu(t, max_value=6.0)  # noqa: E731
            layer = L.Dense(l["units"], activation=act, use_bias=l["use_bias"], name=l["name"])
        x = layer(x)
        layer.set_weights(w)
    return tf_keras.Model(inp, x)


def main(job: Path) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    tf = import_tf()
    tf_keras = import_tf_keras()
    spec = json.loads((job / "spec.json").read_text())
    with np.load(job / "weights.npz") as z:
        weights = {k: z[k] for k in z.files}
    calib = np.load(job / "calib.npy")
    twin = build_twin(tf_keras, spec, weights)

    # The twin must compute what the Keras 3 model computes (same architecture, same weights).
    check_x = np.load(job / "check_x.npy")
    check_y = np.load(job / "check_y.npy")
    # One traced graph, not eager calls: an eager LSTM takes milliseconds per time step (40 s for
    # 8 sequences of 2,000 frames), the traced one the same outputs in a fraction of that.
    run_twin = tf.function(lambda t: twin(t, training=False))
    got = np.concatenate([run_twin(check_x[i : i + 1]).numpy() for i in range(len(check_x))])
    diff = float(np.max(np.abs(got - check_y))) if len(got) else 0.0
    tol = 1e-3 * max(1.0, float(np.max(np.abs(check_y))) if len(check_y) else 1.0)
    if not diff <= tol:
        print(f"the tf-keras twin does not reproduce the Keras 3 model (max difference {diff:.3g})", file=sys.stderr)
        return 3

    def representative():
        for i in range(len(calib)):
            yield [calib[i : i + 1].astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(twin)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    try:
        raw = conv.convert()
    except Exception as e:  # noqa: BLE001
        msg = " ".join(str(e).split())[:300]
        print(f"the TFLite converter failed: {type(e).__name__}: {msg}", file=sys.stderr)
        return 4
    (job / "model.tflite").write_bytes(raw)
    (job / "twin_check.json").write_text(json.dumps({"max_abs_diff": diff}))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
