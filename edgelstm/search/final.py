"""The returned model of `edgelstm search`: the winning params retrained on the WHOLE training split.

Every trial trains on 80 % of the training sequences and is scored on the other 20 % (the
validation split, edgelstm/search/objective.py): on a small dataset that costs the trial a fifth
of its data, and the validation score of a few dozen sequences is noisy. So, once the study has
picked its winner (on the validation score, footprint measured), its params are trained again on
all the training sequences exactly as `edgelstm train` would (same TrainConfig, its own
early-stopping split, same seed), and that model, quantized with `edgelstm quantize`'s pipeline,
is the returned best model. Its shape is the winner's, so its flash, RAM and instructions per
frame are the winner's (measured or predicted): it stays within the limits.

The test split is still never read: the final model's quantize run calibrates on the training
sequences and reports its accuracy on the validation sequences, which it has now trained on;
those figures are recorded (``fit_*``: accuracy on seen data, not an estimate) beside the
winner's validation score, which stays the search's score (``best_int8_accuracy``).

The final model is cached in DIR/trials/<study>/final/ by trial number: a resumed search whose
winner has not changed does not train it again.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from ..data import Dataset, save_dataset
from ..fsutil import write_text_atomic
from ..quantize.pipeline import quantize_model
from ..train import save_model, train_model
from .objective import clear_keras_session, trial_files
from .space import train_config

FINAL_DIR = "final"
FINAL_DATA = "final_data.npz"


def final_dataset(full: Dataset, search: Dataset) -> Dataset:
    """All training sequences to train on; the validation sequences (seen) as the scoring part."""
    return Dataset(X_train=full.X_train, y_train=full.y_train, X_test=search.X_test, y_test=search.y_test,
                   class_names=list(full.class_names), feature_names=list(full.feature_names),
                   params=dict(full.params) | {"search_final": {"trained_on": "whole training split",
                                                                "scored_on": "validation split (seen)"}})


def retrain_best(best: dict, *, full: Dataset, search: Dataset, trials_dir: Path, out_dir: Path, seed: int,
                 epochs: int | None, log: Callable[[str], None]) -> dict:
    """Train ``best``'s params on the whole training split; return the final model's record.

    The record: ``files`` (relative to ``out_dir``, as a trial's), ``fit_int8_accuracy``,
    ``fit_float_accuracy``, ``training_sequences``. Cached by trial number.
    """
    final_dir = trials_dir / FINAL_DIR
    files = trial_files(final_dir, best["number"])
    data = final_dir / FINAL_DATA
    final_dir.mkdir(parents=True, exist_ok=True)
    if not data.is_file():
        save_dataset(final_dataset(full, search), data)
    record_path = files["keras"].with_suffix(".fit.json")
    rel = {k: str(p.relative_to(out_dir)) for k, p in files.items()}
    if record_path.is_file() and all(p.is_file() for p in files.values()):
        return json.loads(record_path.read_text()) | {"files": rel}
    log(f"search: training the winner (trial {best['number']}) again on all {len(full.y_train)} training "
        f"sequences, as `edgelstm train` would")
    # staged in a folder of this process, then moved into place: workers sharing DIR (the same
    # SQLite study) may train the same winner at the same time; each move is atomic
    stage = Path(tempfile.mkdtemp(prefix=f"stage-{os.getpid()}-", dir=final_dir))
    staged = trial_files(stage, best["number"])
    try:
        result = train_model(final_dataset(full, search), train_config(best["params"], seed=seed, epochs=epochs))
        save_model(result, staged["keras"])
        q = quantize_model(staged["keras"], data, staged["tflite"], tflm_samples=0)
        for k in ("json", "keras", "tflite"):
            os.replace(staged[k], files[k])
    finally:
        clear_keras_session()
        shutil.rmtree(stage, ignore_errors=True)
    rec = {"trial": best["number"], "training_sequences": int(len(full.y_train)),
           "fit_int8_accuracy": float(q.int8_accuracy), "fit_float_accuracy": float(q.float_accuracy)}
    write_text_atomic(record_path, json.dumps(rec) + "\n", what="final model record")
    return rec | {"files": rel}
