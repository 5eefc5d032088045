"""`edgelstm search`: an Optuna search for the most accurate int8 model that fits a device."""

from __future__ import annotations

from pathlib import Path

import click

from ..codegen.targets import BOARDS
from ..search.objective import Limits
from ..search.runner import OBJECTIVES, SearchOptions, run_search
from ..search.study import DEFAULT_STUDY, HEARTBEAT_SECONDS
from .base import Output, cli, default_of, output_options

_DEFAULT = SearchOptions(data=Path(), out_dir=Path())


@cli.command("search")
@click.option("--data", "data_path", required=True, type=click.Path(dir_okay=False),
              help="Dataset (.npz/.csv). Trials train on its training split and are scored on a validation "
              "split carved from it; the test split is never used.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for the study (search.db), search.json, search.html and best.keras/.json/_int8.tflite.")
@click.option("--target", type=click.Choice(list(BOARDS)), default=_DEFAULT.target, show_default=True,
              help="Device whose footprint the limits apply to.")
@click.option("--max-flash", type=float, default=None, help="Flash limit in KB (weights + code, 1 KB = 1024 B).")
@click.option("--max-ram", type=int, default=None, help="RAM limit in bytes (state + scratch + stack).")
@click.option("--max-instructions-per-frame", type=float, default=None, help="Instructions per frame limit.")
@click.option("--offline", is_flag=True, help="Whole-window inference: allows Bidirectional layers.")
@click.option("--objective", type=click.Choice(OBJECTIVES), default=_DEFAULT.objective, show_default=True,
              help="accuracy: the most accurate int8 model; pareto: the front of accuracy vs flash vs instructions.")
@click.option("--pareto", is_flag=True, help="Also write every Pareto-front model to DIR/pareto/.")
@click.option("--trials", type=int, default=None, help="Trials in this run [default: 20 without --timeout].")
@click.option("--timeout", type=float, default=None, help="Seconds for this run (no trial is started that would "
              "not finish in time).")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=_DEFAULT.seed, show_default=True,
              help="Seed of the sampler, the validation split and the training.")
@click.option("--storage", default=None, help="Optuna RDB storage URL shared by several workers, e.g. "
              "postgresql://user@host/db [default: sqlite:///DIR/search.db].")
@click.option("--study", "study_name", default=DEFAULT_STUDY, show_default=True, help="Study name in the storage.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, hidden=True,
              help="Fixed training epochs per trial (tests; default: the trainer's own plan).")
@click.option("--tiny-space", is_flag=True, hidden=True, help="Tiny models only (tests).")
@click.option("--cells", default=",".join(_DEFAULT.cells), hidden=True, help="Cells searched, e.g. gru (tests).")
@click.option("--heartbeat", type=click.IntRange(min=1), default=HEARTBEAT_SECONDS, hidden=True,
              help="Seconds between worker heartbeats (a dead worker's trial fails after 3).")
@click.option("--measure/--no-measure", default=default_of(SearchOptions, "measure"), show_default=True,
              help="Measure the best model's footprint on QEMU when the cross tools are installed.")
@output_options()
def search_command(data_path, out_dir, target, max_flash, max_ram, max_instructions_per_frame, offline, objective,
                   pareto, trials, timeout, seed, storage, study_name, epochs, tiny_space, cells, heartbeat, measure,
                   out: Output):
    """Search cell, units, layers, frame stacking K, dense head and learning rate for the most
    accurate int8 model that fits the device's flash, RAM and instructions per frame.

    \b
    Every trial's footprint is predicted from its shape first (calibrated on QEMU) and a trial
    that cannot fit is pruned before it is trained; the others are trained, quantized and
    scored by int8 accuracy (bit-exact simulator) on the validation split. One line per trial.
    Re-running the same command resumes the study. Several workers (other machines too) share
    one study with --storage URL --study NAME.
    """
    limits = Limits(flash_bytes=None if max_flash is None else int(max_flash * 1024),
                    ram_bytes=max_ram, instructions_per_frame=max_instructions_per_frame)
    opts = SearchOptions(data=Path(data_path), out_dir=Path(out_dir), target=target, limits=limits, offline=offline,
                         objective=objective, pareto=pareto, trials=trials, timeout=timeout, seed=seed,
                         storage=storage, study=study_name, epochs=epochs, tiny=tiny_space,
                         cells=tuple(c.strip() for c in cells.split(",") if c.strip()), heartbeat=heartbeat,
                         measure=measure)
    summ = run_search(opts, out.note)
    if summ["best_model"] is None:
        out.result(f"no finished trial within the limits yet ({summ['trials']} trials: {summ['pruned']} pruned, "
                   f"{summ['failed']} failed); wrote {summ['search_json']}")
    else:
        out.result(f"best: trial {summ['best_trial']} {summ['best_params']}")
        out.result(f"int8 accuracy {summ['best_int8_accuracy']:.4f} (float {summ['best_float_accuracy']:.4f}) on the "
                   f"validation split; flash {summ['flash_bytes']:,} B, RAM {summ['ram_bytes']:,} B, "
                   f"{summ['instructions_per_frame']:,.0f} instructions/frame on {target} ({summ['footprint_source']})")
        out.result(f"wrote {summ['best_model']}, {summ['best_tflite']}, {summ['search_json']}, {summ['html']}")
        out.result(f"{summ['trials']} trials: {summ['complete']} complete, {summ['pruned']} pruned, "
                   f"{summ['failed']} failed")
    out.emit_json(summ)
