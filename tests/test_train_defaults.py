"""`edgelstm train` defaults (issue 15): a plan in optimizer steps that reaches the cell's accuracy
on small real data, class weights, a class of 2 sequences, --stack, the printed plan, overrides.

The real dataset is tests/data/italy_power.npz (UCR ItalyPowerDemand: 67 training sequences of 24
hourly electricity demands, 2 classes; the archive's own train/test split).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgelstm.data import Dataset, load_dataset
from edgelstm.train import TrainConfig, balanced_class_weights, choose_stack, plan_training, train_model
from edgelstm.train.plan import BASE_EPOCHS, MIN_STEPS

from .conftest import DATA, run_cli

ITALY = DATA / "italy_power.npz"
# The defaults before issue 15 (what `train` ran without flags), as explicit settings.
OLD_DEFAULTS = dict(epochs=30, batch_size=64, learning_rate=2e-3, patience=8, val_fraction=0.1,
                    lr_schedule="constant", class_weights="none")


def _subset(ds: Dataset, per_class: dict[int, int], n_test: int, seed: int = 0) -> Dataset:
    """The first ``per_class[c]`` training sequences of each class c, and ``n_test`` test ones."""
    idx = np.concatenate([np.flatnonzero(ds.y_train == c)[:n] for c, n in per_class.items()])
    rng = np.random.default_rng(seed)
    t = np.sort(rng.permutation(len(ds.y_test))[:n_test])
    return Dataset(X_train=ds.X_train[idx], y_train=ds.y_train[idx], X_test=ds.X_test[t], y_test=ds.y_test[t],
                   class_names=list(ds.class_names), feature_names=list(ds.feature_names), source=str(ITALY))


def test_plan_counts_steps_and_keeps_large_data_as_before():
    y_small = np.repeat([0, 1, 2, 3], 10)  # 40 sequences, 4 classes (the motion-sensor case)
    p = plan_training(TrainConfig(), y_small, 4)
    assert p.steps >= MIN_STEPS and p.batch_size < 64 and p.epochs * p.steps_per_epoch == p.steps
    assert p.class_weights is None and p.val_fraction == 0.2 and p.lr_schedule == "cosine"
    y_big = np.repeat(np.arange(7), 8000 // 7)  # the radar data: the old 30 epochs of batch 64
    p = plan_training(TrainConfig(), y_big, 7)
    assert (p.epochs, p.batch_size, p.val_fraction, p.lr_schedule) == (BASE_EPOCHS, 64, 0.1, "plateau")
    assert p.passes_per_epoch == 1
    # explicit settings win, and say nothing about why
    p = plan_training(TrainConfig(epochs=3, batch_size=5, patience=2, val_fraction=0.0), y_small, 4)
    assert (p.epochs, p.batch_size, p.patience, p.val_fraction) == (3, 5, 2, 0.0)
    assert not {"epochs", "batch", "patience", "validation"} & set(p.reasons)
    p = plan_training(TrainConfig(steps=100, batch_size=10), y_small, 4)  # 32 fit sequences
    assert 100 <= p.steps < 100 + p.steps_per_epoch and p.steps == p.epochs * p.steps_per_epoch
    # a small dataset is passed over several times per epoch (one validation check per epoch)
    assert p.passes_per_epoch > 1 and p.steps_per_epoch >= 25
    assert plan_training(TrainConfig(epochs=3), y_small, 4).passes_per_epoch == 1  # explicit epochs: passes


def test_class_weights_for_imbalanced_labels():
    y = np.array([0] * 30 + [1] * 6 + [2] * 4)
    w = plan_training(TrainConfig(), y, 3).class_weights
    assert w == pytest.approx({0: 40 / 90, 1: 40 / 18, 2: 40 / 12})
    assert w == pytest.approx(balanced_class_weights(y, 3))
    assert plan_training(TrainConfig(class_weights="none"), y, 3).class_weights is None
    balanced = np.repeat([0, 1], [10, 12])
    assert plan_training(TrainConfig(), balanced, 2).class_weights is None
    assert plan_training(TrainConfig(class_weights="balanced"), balanced, 2).class_weights == pytest.approx(
        {0: 22 / 20, 1: 22 / 24})


def test_choose_stack_only_for_long_windows():
    assert choose_stack(64)[0] == 1  # the radar window is never stacked
    for t in (150, 427, 1460):
        k, why = choose_stack(t)
        assert k > 1 and 8 <= t // k <= 64 and str(t) in why


def test_new_defaults_beat_old_defaults_on_a_small_real_dataset():
    """12 sequences per class: the old 30 epochs of batch 64 are 30 optimizer steps."""
    ds = _subset(load_dataset(ITALY), {0: 12, 1: 12}, n_test=400)
    old = train_model(ds, TrainConfig(units=8, seed=1, **OLD_DEFAULTS)).metadata["metrics"]["float_test_accuracy"]
    new = train_model(ds, TrainConfig(units=8, seed=1, steps=600)).metadata["metrics"]["float_test_accuracy"]
    print(f"old defaults {old:.4f}, new defaults {new:.4f}")
    assert new >= 0.85 and new >= old + 0.05, (old, new)


def test_a_class_of_two_sequences_still_trains_with_class_weights():
    ds = _subset(load_dataset(ITALY), {0: 12, 1: 2}, n_test=100)
    res = train_model(ds, TrainConfig(units=4, steps=40, seed=2))
    meta = res.metadata
    assert meta["data"]["n_val"] >= 2 and meta["data"]["n_train"] + meta["data"]["n_val"] == 14
    # each class keeps a training sequence; class 1 (2 of 14) gets the larger weight
    w = {int(k): v for k, v in meta["plan"]["class_weights"].items()}
    assert w == pytest.approx({0: 14 / 24, 1: 14 / 4})
    assert 0.0 <= meta["metrics"]["float_test_accuracy"] <= 1.0


def test_cli_prints_the_plan_and_explicit_flags_override(tmp_path, edgelstm_exe):
    out = tmp_path / "m.keras"
    res = run_cli(edgelstm_exe, "train", "--data", ITALY, "--units", "4", "--steps", "20", "--out", out, timeout=300)
    assert res.returncode == 0, res.stderr
    err = res.stderr
    plan = [ln for ln in err.splitlines() if ln.startswith("plan: ")]
    why = [ln for ln in err.splitlines() if ln.startswith("why: ")]
    assert len(plan) == 1 and len(why) == 1, err
    for word in ("steps", "epochs", "batch", "lr", "cosine", "patience", "class weights", "stack 1"):
        assert word in plan[0], (word, plan[0])
    assert "batch" in why[0] and "stack 1: window of 24 frames" in err
    meta = json.loads((tmp_path / "m.json").read_text())
    assert meta["stack"] == 1 and meta["config"]["steps"] == meta["plan"]["steps"] >= 20

    out2 = tmp_path / "o.keras"
    res = run_cli(edgelstm_exe, "train", "--data", ITALY, "--units", "4", "--epochs", "2", "--batch-size", "16",
                  "--lr", "0.01", "--patience", "1", "--val-fraction", "0.3", "--lr-schedule", "constant",
                  "--class-weights", "balanced", "--stack", "4", "--out", out2, "--json", timeout=300)
    assert res.returncode == 0, res.stderr
    rep = json.loads(res.stdout)
    p = rep["plan"]
    assert (p["epochs"], p["batch_size"], p["learning_rate"], p["patience"], p["val_fraction"]) == (2, 16, 0.01, 1, 0.3)
    assert p["lr_schedule"] == "constant" and p["class_weights"] and rep["stack"] == 4
    assert rep["epochs_run"] <= 2
    meta = json.loads((tmp_path / "o.json").read_text())
    assert meta["stack"] == 4 and meta["model_input"] == [24 // 4, 4 * 1] and meta["config"]["batch_size"] == 16
    assert p["reasons"] == {"class weights": "balanced (--class-weights balanced)"}  # nothing else chosen
