"""`edgelstm search` end to end: data -> study -> trials -> outputs (the CLI is a thin shell)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..codegen.targets import BOARDS
from ..data import load_dataset
from ..errors import EdgelstmError
from ..fsutil import check_output_path, require_file, sha256_file
from . import outputs, study as st
from .final import retrain_best
from .footprint_model import coefficients
from .html import write_html
from .objective import SEARCH_DATA, VAL_FRACTION, Limits, TrialSetup, make_objective, search_split, write_search_data
from .space import Space
from ..train import CELLS

OBJECTIVES = ("accuracy", "pareto")


@dataclass
class SearchOptions:
    data: Path
    out_dir: Path
    target: str = "cortex-m4"
    limits: Limits = None  # type: ignore[assignment]
    offline: bool = False
    objective: str = "accuracy"
    pareto: bool = False
    trials: int | None = None
    timeout: float | None = None
    seed: int = 0
    storage: str | None = None
    study: str = st.DEFAULT_STUDY
    epochs: int | None = None      # hidden: short fixed training (tests)
    tiny: bool = False             # hidden: the tiny space (tests)
    cells: tuple[str, ...] = CELLS  # hidden: restrict the cells (tests: gru needs no converter process)
    heartbeat: int = st.HEARTBEAT_SECONDS
    measure: bool = True           # measure the best model on QEMU when the tools are here


def check_options(o: SearchOptions) -> None:
    if o.target not in BOARDS:
        raise EdgelstmError(f"unknown --target '{o.target}'", f"use one of: {', '.join(BOARDS)}")
    coefficients(o.target)  # a target without calibration: one-line error naming the tool
    if o.objective not in OBJECTIVES:
        raise EdgelstmError(f"unknown --objective '{o.objective}'", "use accuracy or pareto")
    if not o.cells or any(c not in CELLS for c in o.cells):
        raise EdgelstmError(f"--cells {','.join(o.cells)} is not a list of cells", f"use {','.join(CELLS)}")
    if o.trials is not None and o.trials < 1:
        raise EdgelstmError(f"--trials must be >= 1, got {o.trials}")
    if o.timeout is not None and not o.timeout > 0:
        raise EdgelstmError(f"--timeout must be > 0 seconds, got {o.timeout}")
    if o.out_dir.exists() and not o.out_dir.is_dir():
        raise EdgelstmError(f"--out '{o.out_dir}' is a file", "give a folder (it is created if missing)")
    for name, v in (("--max-flash", o.limits.flash_bytes), ("--max-ram", o.limits.ram_bytes),
                    ("--max-instructions-per-frame", o.limits.instructions_per_frame)):
        if v is not None and not v > 0:
            raise EdgelstmError(f"{name} must be > 0, got {v}")
    check_output_path(o.out_dir / "search.json", what="search output")


def study_settings(o: SearchOptions, sha256: str) -> dict:
    """What defines a study (stored on it; a resume must repeat it)."""
    return {"data_sha256": sha256, "target": o.target, "limits": o.limits.to_json(), "objective": o.objective,
            "offline": o.offline, "tiny": o.tiny, "epochs": o.epochs, "cells": list(o.cells)}


def run_search(o: SearchOptions, log: Callable[[str], None]) -> dict:
    check_options(o)
    st.require_optuna()
    require_file(o.data, "data file")
    settings = study_settings(o, sha256_file(o.data))
    load_dataset(o.data, seed=o.seed)  # a bad file: one-line error before any study is made
    o.out_dir.mkdir(parents=True, exist_ok=True)
    url = st.storage_url(o.out_dir, o.storage)
    storage = st.open_storage(url, o.heartbeat)
    study = st.open_study(storage, o.study, settings, o.seed, o.heartbeat)
    seed = st.split_seed(study, o.seed)  # every worker: the first worker's test and validation splits
    ds = load_dataset(o.data, seed=seed)
    sds = search_split(ds, seed)
    data_file = st.trials_dir(o.out_dir, o.study) / SEARCH_DATA  # per study: its own split
    write_search_data(sds, data_file)
    setup = TrialSetup(out_dir=o.out_dir, trials_dir=st.trials_dir(o.out_dir, o.study), target=o.target,
                       limits=o.limits, space=(Space.tiny(o.offline, o.cells) if o.tiny
                              else Space(cells=o.cells, offline=o.offline)),
                       seed=o.seed, pareto=o.objective == "pareto", epochs=o.epochs, data=data_file)
    before = len(study.trials)
    first = setup.space.default_params(ds.window)
    if before == 0 and first is not None:  # trial 0: `edgelstm train`'s defaults, the bar to beat
        study.enqueue_trial(first, skip_if_exists=True)
    log(f"search: {len(sds.y_train)} training + {len(sds.y_test)} validation sequences (the test split is not "
        f"used) of {ds.window} frames x {ds.n_features} features, {ds.n_classes} classes; target {o.target}, "
        f"study '{o.study}' ({before} trials so far)")

    def best_of(s):
        recs = [outputs.trial_record(t) for t in s.get_trials(deepcopy=False)]
        ok = outputs.finished(recs, o.out_dir, o.limits)
        return next((t for t in s.get_trials(deepcopy=False) if ok and t.number == ok[0]["number"]), None)

    trials = o.trials if (o.trials is not None or o.timeout is not None) else 20
    # the deadline keeps time for the winner's final training on all training sequences (final.py)
    callbacks = [st.progress_callback(log, best_of),
                 st.deadline_callback(o.timeout, time.time(), reserve=1 / (1 - VAL_FRACTION))]
    st.run(study, make_objective(setup, sds, log), trials=trials, timeout=o.timeout, callbacks=callbacks)

    def final(best: dict) -> dict | None:
        try:
            return retrain_best(best, full=ds, search=sds, trials_dir=setup.trials_dir, out_dir=o.out_dir,
                                seed=o.seed, epochs=o.epochs, log=log)
        except Exception as e:  # noqa: BLE001 - the winner's trial model is still a valid result
            log(f"note: the final training failed ({' '.join(str(e).split())[:200]}); returning trial "
                f"{best['number']}'s model")
            return None

    return write_outputs(o, study, settings, log, final)


def write_outputs(o: SearchOptions, study, settings: dict, log: Callable[[str], None],
                  final: Callable[[dict], dict] | None = None) -> dict:
    records = [outputs.trial_record(t) for t in study.get_trials(deepcopy=False)]
    candidates = outputs.finished(records, o.out_dir, o.limits)
    front = outputs.pareto_front(candidates)
    front_numbers = [r["number"] for r in front]
    best = outputs.choose_best(candidates, o.out_dir, o.target, o.limits, o.measure, log)
    fin = final(best) if best and final else None  # the winner trained on all training sequences
    dest = outputs.copy_model(o.out_dir, (fin or best)["files"], o.out_dir / "best") if best else None
    if o.pareto:
        for r in front:
            outputs.copy_model(o.out_dir, r["files"], o.out_dir / "pareto" / f"trial_{r['number']:05d}")
    summ = outputs.summary(best, dest, records)
    summ["final_model"] = fin
    summ["study"], summ["storage"] = o.study, st.redact_url(st.storage_url(o.out_dir, o.storage))
    settings = settings | {"data": str(o.data), "study": o.study}
    outputs.write_search_json(o.out_dir / "search.json", settings, summ, records, front_numbers)
    write_html(o.out_dir / "search.html", settings, summ, records, front_numbers)
    summ["search_json"], summ["html"] = str(o.out_dir / "search.json"), str(o.out_dir / "search.html")
    summ["pareto_trials"] = front_numbers
    return summ
