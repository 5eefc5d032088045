"""One trial of `edgelstm search`: predict the footprint (prune if it cannot fit), train, quantize,
score the int8 model on the validation split.

The validation split is carved from the TRAINING sequences (edgelstm.data.split.stratified_split,
every class with two or more sequences keeps one there); the test split is never read. It is
written once as DIR/trials/<study>/search_data.npz (X_train = the sequences trials train on, X_test = the
validation sequences), so that the public pipeline functions score on it as they would on a
test split: train_model (float accuracy), quantize_model (calibration on the training part,
int8 accuracy from the bit-exact simulator on the validation part).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .._tf import import_keras
from ..data import Dataset, save_dataset, stratified_split
from ..errors import DataError
from ..quantize.pipeline import quantize_model
from ..train import save_model, train_model
from .footprint_model import Footprint, predict
from .space import Space, suggest, train_config

VAL_FRACTION = 0.2
SEARCH_DATA = "search_data.npz"


@dataclass
class Limits:
    flash_bytes: int | None = None
    ram_bytes: int | None = None
    instructions_per_frame: float | None = None

    def violations(self, fp: Footprint | dict) -> list[str]:
        """What ``fp`` exceeds, as readable phrases (empty: it fits)."""
        d = fp.to_json() if isinstance(fp, Footprint) else fp
        out = []
        if self.flash_bytes is not None and d["flash_bytes"] > self.flash_bytes:
            out.append(f"flash {d['flash_bytes']:,} B > {self.flash_bytes:,} B")
        if self.ram_bytes is not None and d["ram_bytes"] > self.ram_bytes:
            out.append(f"RAM {d['ram_bytes']:,} B > {self.ram_bytes:,} B")
        if self.instructions_per_frame is not None and d["instructions_per_frame"] > self.instructions_per_frame:
            out.append(f"{d['instructions_per_frame']:,.0f} instructions/frame > {self.instructions_per_frame:,.0f}")
        return out

    def to_json(self) -> dict:
        return {"flash_bytes": self.flash_bytes, "ram_bytes": self.ram_bytes,
                "instructions_per_frame": self.instructions_per_frame}


@dataclass
class TrialSetup:
    out_dir: Path
    trials_dir: Path
    target: str
    limits: Limits
    space: Space
    seed: int
    pareto: bool                      # objective: (accuracy, flash, instructions) instead of accuracy
    epochs: int | None = None         # hidden test option: a fixed, short training
    data: Path = field(default=Path())  # DIR/trials/<study>/search_data.npz


def search_split(ds: Dataset, seed: int) -> Dataset:
    """The search's own split of the training sequences: X_train to train on, X_test to score on."""
    keep, held = stratified_split(ds.y_train, VAL_FRACTION, seed)
    if len(held) < 2 or len(np.unique(ds.y_train[keep])) < len(np.unique(ds.y_train)):
        raise DataError(f"{len(ds.y_train)} training sequences are too few for a validation split",
                        "give at least two sequences per class")
    return Dataset(X_train=ds.X_train[keep], y_train=ds.y_train[keep], X_test=ds.X_train[held],
                   y_test=ds.y_train[held], class_names=list(ds.class_names), feature_names=list(ds.feature_names),
                   # "split" (when edgelstm made the file's test split) goes into every trial's metadata,
                   # so later stages on the original file hold out the same test sequences
                   params=dict(ds.params) | {"search_split": {"val_fraction": VAL_FRACTION, "seed": int(seed),
                                                              "source_sha256": ds.sha256}})


def write_search_data(ds: Dataset, path: Path) -> Dataset:
    """The study's search_data.npz (once; the split is the study's, so a re-run writes the same)."""
    if not path.is_file():
        save_dataset(ds, path)
    return ds


def trial_files(trials_dir: Path, number: int) -> dict[str, Path]:
    stem = trials_dir / f"trial_{number:05d}"
    return {"keras": stem.with_suffix(".keras"), "json": stem.with_suffix(".json"),
            "tflite": stem.parent / f"{stem.name}_int8.tflite"}


def make_objective(setup: TrialSetup, ds: Dataset, log: Callable[[str], None]):
    """The Optuna objective of a search over ``ds`` (already the search split)."""
    import optuna  # lazy: optuna (the search extra)

    window, features, classes = ds.window, ds.n_features, ds.n_classes

    def objective(trial):
        t0 = time.time()
        params, shape = suggest(trial, setup.space, window=window, features=features, classes=classes)
        fp = predict(shape, setup.target)
        trial.set_user_attr("params", params)
        trial.set_user_attr("footprint", fp.to_json())
        over = setup.limits.violations(fp)
        if over:
            trial.set_user_attr("pruned_reason", "predicted " + ", ".join(over))
            raise optuna.TrialPruned("predicted " + ", ".join(over))
        files = trial_files(setup.trials_dir, trial.number)
        try:
            config = train_config(params, seed=setup.seed, epochs=setup.epochs)
            result = train_model(ds, config)
            for p in files.values():  # a killed worker's trial number is never reused, but be safe
                p.unlink(missing_ok=True)
            save_model(result, files["keras"])
            q = quantize_model(files["keras"], setup.data, files["tflite"], tflm_samples=0)
        except Exception as e:  # noqa: BLE001 - recorded on the trial; the search goes on
            trial.set_user_attr("error", " ".join(str(e).split())[:300] or type(e).__name__)
            raise
        finally:
            clear_keras_session()
        trial.set_user_attr("float_accuracy", float(q.float_accuracy))
        trial.set_user_attr("int8_accuracy", float(q.int8_accuracy))
        trial.set_user_attr("files", {k: str(p.relative_to(setup.out_dir)) for k, p in files.items()})
        trial.set_user_attr("seconds", round(time.time() - t0, 1))
        if setup.pareto:
            return float(q.int8_accuracy), float(fp.flash_bytes), float(fp.instructions_per_frame)
        return float(q.int8_accuracy)

    return objective


def clear_keras_session() -> None:
    """Free the finished trial's Keras graph (a long search would otherwise grow)."""
    try:
        import_keras().backend.clear_session()
    except Exception:  # noqa: BLE001 - only memory hygiene
        pass
