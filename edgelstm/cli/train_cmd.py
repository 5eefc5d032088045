"""`edgelstm train`: a Keras 3 LSTM/GRU classifier on an NPZ/CSV dataset."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from ..data import load_dataset
from ..errors import EdgelstmError
from ..fsutil import check_output_path
from ..train import (
    CELLS, CLASS_WEIGHT_MODES, LR_SCHEDULES, TrainConfig, choose_stack, metadata_path, save_model, train_model,
)
from ..train.plan import (
    BASE_EPOCHS, IMBALANCE_RATIO, MAX_BATCH, MIN_BATCH, MIN_STEPS, SMALL_DATA, STACK_ABOVE, STACK_TARGET_STEPS,
)
from .base import Output, cli, output_options

# The options' defaults are TrainConfig's (one place); --help shows them.
_DEFAULT = TrainConfig()


def parse_dense_head(text: str | None) -> list[int]:
    """``"64,32"`` -> [64, 32]; empty or "none" -> []."""
    if text is None or text.strip().lower() in ("", "none", "0"):
        return []
    out = []
    for part in text.replace(" ", "").split(","):
        try:
            v = int(part)
        except ValueError:
            raise EdgelstmError(
                f"--dense-head '{text}' is not a list of layer widths", "use e.g. --dense-head 32 or 64,32"
            ) from None
        if v < 1:
            raise EdgelstmError(f"--dense-head widths must be >= 1, got {v}")
        out.append(v)
    return out


def parse_stack(text) -> int | None:
    """``"auto"`` -> None (chosen from the window), else the integer K >= 1."""
    if text is None or str(text).strip().lower() == "auto":
        return None
    try:
        k = int(str(text).strip())
    except ValueError:
        raise EdgelstmError(f"--stack '{text}' is not a number of frames", "use e.g. --stack 10, or --stack auto") from None
    if k < 1:
        raise EdgelstmError(f"--stack must be an integer >= 1 or auto, got {k}")
    return k


@cli.command("train")
@click.option("--data", "data_path", required=True, type=click.Path(dir_okay=False), help="Dataset (.npz or .csv).")
@click.option("--cell", type=click.Choice(CELLS), default=_DEFAULT.cell, show_default=True, help="Recurrent cell.")
@click.option("--units", type=int, default=_DEFAULT.units, show_default=True, help="Units per recurrent layer.")
@click.option("--layers", type=int, default=_DEFAULT.layers, show_default=True, help="Stacked recurrent layers.")
@click.option("--bidirectional", is_flag=True, help="Bidirectional layers (whole-window inference only).")
@click.option("--dense-head", default=",".join(map(str, _DEFAULT.dense_head)),
              help="Hidden Dense (ReLU) widths before the logits, e.g. 32 or 64,32.")
@click.option(
    "--reset-after/--no-reset-after", default=_DEFAULT.reset_after, show_default=True,
    help="GRU formulation (Keras' default on).",
)
@click.option("--epochs", type=int, default=None, show_default="auto",
              help="Maximum epochs (early stopping may end sooner); auto: enough for the planned steps.")
@click.option("--steps", type=int, default=None, show_default="auto",
              help=f"Optimizer steps to plan for (rounded up to whole epochs); auto: at least {MIN_STEPS}, "
                   f"and never fewer than {BASE_EPOCHS} epochs.")
@click.option("--batch-size", type=int, default=None, show_default="auto",
              help=f"auto: training sequences / 8 within {MIN_BATCH}..{MAX_BATCH}.")
@click.option("--lr", "learning_rate", type=float, default=_DEFAULT.learning_rate, show_default=True,
              help="Adam (peak) learning rate.")
@click.option("--lr-schedule", type=click.Choice(LR_SCHEDULES), default=None, show_default="auto",
              help=f"cosine: decay to 0 over the planned steps; plateau: halve when the validation loss stalls; "
                   f"auto: cosine below {SMALL_DATA} sequences, else plateau.")
@click.option("--patience", type=int, default=None, show_default="auto",
              help="Early-stopping patience (epochs below the best validation accuracy; the best epoch is restored); "
                   "auto: a quarter of the epochs.")
@click.option("--val-fraction", type=float, default=None, show_default="auto",
              help=f"Training data held out for early stopping; auto: 0.2 below {SMALL_DATA} sequences, else 0.1.")
@click.option("--class-weights", type=click.Choice(CLASS_WEIGHT_MODES), default=_DEFAULT.class_weights,
              show_default=True, help=f"auto: balanced weights when a class has > {IMBALANCE_RATIO}x another's sequences.")
@click.option("--stack", default="auto", show_default=True,
              help="Frames per cell step: K consecutive frames become one step of K*F features (the cell runs "
                   f"every Kth frame; trailing window % K frames unused); auto: 1 up to {STACK_ABOVE} frames, "
                   f"else about window/{STACK_TARGET_STEPS}.")
@click.option("--test-fraction", type=float, default=None, help="Split a dataset that has no test split.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=_DEFAULT.seed, show_default=True,
              help="Random seed (training is reproducible).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Output model, e.g. model.keras.")
@output_options()
def train_command(data_path, cell, units, layers, bidirectional, dense_head, reset_after, epochs, steps, batch_size,
                  learning_rate, lr_schedule, patience, val_fraction, class_weights, stack, test_fraction, seed,
                  out_path, out: Output):
    """Train a float LSTM/GRU classifier; writes MODEL.keras and MODEL.json (metadata).

    The per-feature normalisation is learned from the training split and stored in the model.
    Settings left at auto are chosen from the data (printed as "plan:" and "why:" lines); an
    explicit flag wins. Prints per-epoch progress and the final float test accuracy.
    """
    k = parse_stack(stack)
    config = TrainConfig(
        cell=cell, units=units, layers=layers, bidirectional=bidirectional, dense_head=parse_dense_head(dense_head),
        reset_after=reset_after, epochs=epochs, steps=steps, batch_size=batch_size, learning_rate=learning_rate,
        lr_schedule=lr_schedule, patience=patience, val_fraction=val_fraction, class_weights=class_weights,
        seed=seed, stack=k or 1,
    )
    config.validate()
    if Path(out_path).suffix != ".keras":  # ".keras" alone has no suffix: it is a hidden file's name
        raise EdgelstmError(f"--out '{out_path}' must be a file name ending in .keras", "e.g. --out model.keras")
    check_output_path(out_path, what="model file")
    check_output_path(metadata_path(out_path), what="metadata file")
    ds = load_dataset(data_path, test_fraction=test_fraction, seed=seed)
    if test_fraction is not None and "split" not in ds.params:
        out.note(f"note: '{data_path}' has its own test split (X_test/y_test); --test-fraction is ignored")
    empty = [name for i, name in enumerate(ds.class_names) if not np.any(ds.y_train == i)]
    if empty:
        out.note(f"note: class(es) {', '.join(empty)[:120]} have no training sequences; the model still gets "
                 f"{ds.n_classes} outputs (integer labels are class indices 0..C-1: renumber them to drop unused ones)")
    if k is None:  # --stack auto
        k, why = choose_stack(ds.window)
        config.stack = k
        out.note(f"stack {why}")
    config.validate()
    if ds.window < config.stack:
        raise EdgelstmError(f"--stack {config.stack} is longer than the window ({ds.window} frames)",
                            f"use --stack <= {ds.window}")
    out.note(
        f"training {'Bi' if bidirectional else ''}{cell.upper()} {layers}x{units} on {len(ds.y_train)} sequences "
        f"of {ds.window} frames x {ds.n_features} features, {ds.n_classes} classes"
    )
    result = train_model(ds, config, log=out.note)
    model_file, meta_file = save_model(result, out_path)
    m = result.metadata["metrics"]
    out.result(f"float test accuracy: {m['float_test_accuracy']:.4f} ({len(ds.y_test)} sequences)")
    out.result(f"wrote {model_file} and {meta_file} ({m['epochs_run']} epochs, {m['train_seconds']:.1f} s)")
    out.emit_json({
        "model": str(model_file),
        "metadata": str(meta_file),
        "float_accuracy": m["float_test_accuracy"],
        "float_train_accuracy": m["float_train_accuracy"],
        "epochs_run": m["epochs_run"],
        "train_seconds": m["train_seconds"],
        "stack": result.metadata["stack"],
        "plan": result.metadata["plan"],
    })
