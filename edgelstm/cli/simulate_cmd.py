"""`edgelstm simulate`: the bit-exact int8 simulator over a whole data split."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click
import numpy as np

from ..data import labels_for_model, load_for_model
from ..errors import EdgelstmError
from ..fsutil import atomic_path, check_output_path
from ..model import load_int8_model
from .base import Output, cli, output_options


@cli.command("simulate")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--data", "data_path", required=True, type=click.Path(dir_okay=False), help="Dataset (.npz or .csv).")
@click.option("--split", type=click.Choice(["test", "train"]), default="test", show_default=True)
@click.option("--samples", type=int, default=None, help="Only the first N sequences of the split.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None,
              help="Write predictions (.npz: logits, pred, y).")
@output_options()
def simulate_command(model, data_path, split, samples, out_path, out: Output):
    """Run the bit-exact int8 simulator of MODEL (.tflite) over a data split.

    Inputs are quantized with the model's own normalisation, scale and zero point (as the C
    front end does). Writes logits (int8, the model's output tensor) and pred (argmax).
    """
    if samples is not None and samples < 1:
        raise EdgelstmError(f"--samples must be >= 1, got {samples}")
    if out_path is not None:
        if Path(out_path).suffix != ".npz":
            raise EdgelstmError(f"--out '{out_path}' must be a file name ending in .npz", "e.g. --out preds.npz")
        for what, other in (("dataset", data_path), ("model", model)):
            if _same_file(out_path, other):
                raise EdgelstmError(f"--out '{out_path}' is the {what} file itself", "give another file name")
        check_output_path(out_path, what="predictions file")
    m = load_int8_model(model)
    ds = load_for_model(data_path, m)  # the test split train made, if any
    X, y, _lengths = ds.split(split)
    # String labels are numbered per file: match them to the model's classes by name.
    y, note = labels_for_model(y, ds.class_names, m.class_names)
    if note:
        out.note(note)
    if samples is not None:
        X, y = X[:samples], y[:samples]
    if len(X) == 0:
        raise EdgelstmError(f"the {split} split of '{data_path}' has no sequences")
    xq = m.quantize_input(X)
    t0 = time.time()
    with out.progress(length=len(xq), label=f"simulating {len(xq)} sequences") as bar:
        logits = m.predict_int8(xq, progress=bar.update)
    seconds = time.time() - t0
    pred = np.argmax(logits, axis=-1)
    acc = float(np.mean(pred == y))
    if out_path is not None:
        with atomic_path(out_path, what="predictions file", suffix=".npz") as tmp:
            np.savez_compressed(tmp, logits=logits.astype(np.int8), pred=pred.astype(np.int64), y=np.asarray(y, np.int64),
                                class_names=np.array(m.class_names))
    out.result(f"int8 accuracy on {split}: {acc:.4f} ({len(y)} sequences, {seconds:.2f} s)")
    if out_path is not None:
        out.result(f"wrote {out_path}")
    out.emit_json({"accuracy": acc, "split": split, "samples": int(len(y)), "seconds": round(seconds, 3),
                   "out": out_path})


def _same_file(a, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
