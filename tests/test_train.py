"""`edgelstm train`: the Keras 3 model it builds, its metadata, reproducibility, the CLI."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from edgelstm.train import TrainConfig, normalization_stats


def _cfg(**kw) -> TrainConfig:
    base = dict(units=6, epochs=1, batch_size=32, seed=3)
    base.update(kw)
    return TrainConfig(**base)


def test_normalization_stats_handles_constant_features():
    X = np.zeros((10, 5, 3), np.float32)
    X[..., 0] = np.arange(50).reshape(10, 5)
    X[..., 1] = 7.0  # constant feature: variance 1, not 0 (no division by epsilon later)
    X[..., 2] = 1e6 + np.random.default_rng(0).normal(size=(10, 5))
    mean, var = normalization_stats(X)
    assert mean[1] == pytest.approx(7.0) and var[1] == 1.0
    assert var[0] == pytest.approx(np.var(np.arange(50)), rel=1e-5)
    assert 0.5 < var[2] < 2.0


def test_training_is_reproducible_and_stores_normalisation(radar_tiny):
    from edgelstm.data import load_dataset
    from edgelstm.train import train_model

    ds = load_dataset(radar_tiny)
    a = train_model(ds, _cfg())
    b = train_model(ds, _cfg())
    wa, wb = a.model.get_weights(), b.model.get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(wa, wb)), "same seed, different weights"
    c = train_model(ds, _cfg(seed=4))
    assert not all(np.array_equal(x, y) for x, y in zip(wa, c.model.get_weights()))
    meta = a.metadata
    assert meta["class_names"] == list(ds.class_names)
    assert len(meta["normalization"]["mean"]) == ds.n_features
    m = meta["metrics"]
    assert 0.0 <= m["float_test_accuracy"] <= 1.0 and m["epochs_run"] == 1
    # the model normalises raw features itself
    layers = [type(layer).__name__ for layer in a.model.layers]
    assert "Normalization" in layers and layers[-1] == "Dense"


@pytest.mark.parametrize("cfg", [
    dict(cell="gru", layers=2, reset_after=False),
    dict(bidirectional=True, dense_head=[5]),
])
def test_builds_exportable_architectures(radar_tiny, cfg):
    from edgelstm.data import load_dataset
    from edgelstm.quantize.keras_spec import keras_to_spec
    from edgelstm.train import train_model

    res = train_model(load_dataset(radar_tiny), _cfg(epochs=1, **cfg))
    spec = keras_to_spec(res.model, "trained")  # everything train offers must pass the quantizer's checks
    assert spec.norm_mean is not None and spec.n_outputs == 7


def test_train_cli_writes_model_and_metadata(radar_tiny, tmp_path, edgelstm_exe):
    out = tmp_path / "m.keras"
    res = subprocess.run([edgelstm_exe, "train", "--data", str(radar_tiny), "--units", "4", "--epochs", "1",
                          "--out", str(out), "--json"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    rep = json.loads(res.stdout)  # --json: one object on stdout, nothing else
    assert 0.0 <= rep["float_accuracy"] <= 1.0
    assert out.exists() and (tmp_path / "m.json").exists()
    meta = json.loads((tmp_path / "m.json").read_text())
    assert meta["data"]["sha256"] and meta["config"]["units"] == 4
    # without --json: per-epoch progress on stderr, the float test accuracy on stdout
    res = subprocess.run([edgelstm_exe, "train", "--data", str(radar_tiny), "--units", "4", "--epochs", "1",
                          "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "epoch 1/1" in res.stderr and "float test accuracy" in res.stdout


def test_stack_makes_input_of_stacked_steps_and_records_it(radar_tiny, tmp_path):
    from edgelstm.data import load_dataset
    from edgelstm.data.stack import stack_frames
    from edgelstm.train import save_model, train_model

    ds = load_dataset(radar_tiny)
    T, F = ds.window, ds.n_features
    k = 3  # 16 frames: 5 steps of 3 frames, 1 trailing frame unused
    res = train_model(ds, _cfg(stack=k))
    assert tuple(res.model.input_shape[1:]) == (T // k, k * F)
    meta = res.metadata
    assert meta["stack"] == k and meta["window"] == T and meta["n_features"] == F
    assert meta["model_input"] == [T // k, k * F]
    mean = np.asarray(meta["normalization"]["mean"])
    assert mean.shape == (F,)  # per frame feature; the Keras layer holds it tiled K times
    norm = res.model.get_layer("normalize")
    assert np.allclose(np.ravel(norm.mean), np.tile(mean, k))
    # the model's test accuracy is the one on stacked windows
    logits = res.model.predict(stack_frames(ds.X_test, k), verbose=0)
    assert meta["metrics"]["float_test_accuracy"] == pytest.approx(np.mean(np.argmax(logits, -1) == ds.y_test))
    _, meta_file = save_model(res, tmp_path / "s.keras")
    assert json.loads(meta_file.read_text())["stack"] == k
