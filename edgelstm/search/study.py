"""The Optuna study of `edgelstm search`: storage, resume, the run loop and its progress lines.

Storage: an embedded SQLite file DIR/search.db by default, or any Optuna RDB URL (--storage
postgresql://...) shared by several workers. Every worker runs a heartbeat (Optuna's
RDBStorage heartbeat): a trial whose worker died (killed, machine lost) stops beating and is
marked FAIL by the next worker that starts a trial, so it is neither counted nor left RUNNING.
A worker killed before its first heartbeat leaves a trial Optuna never calls stale: the
next worker's start-up fails it too (:func:`fail_orphans`).
Re-running the same command resumes the study: finished trials are read back, never retrained.
The settings that define a study (data, target, limits, objective) are stored on it; a re-run
with other settings is refused instead of mixing incomparable trials.
"""

from __future__ import annotations

import datetime
import importlib.util
import statistics
import warnings
import time
from pathlib import Path
from typing import Callable

from ..errors import EdgelstmError

DEFAULT_STUDY = "edgelstm-search"
DB_FILE = "search.db"
HEARTBEAT_SECONDS = 10


def require_optuna():
    try:
        import optuna  # lazy: optuna (the search extra)
    except ImportError:
        raise EdgelstmError("edgelstm search needs Optuna", "pip install 'edgelstm[search]'") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # heartbeats and fail_stale_trials are "experimental" in Optuna 4/5: used on purpose
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


def storage_url(out_dir: Path, storage: str | None) -> str:
    return storage or f"sqlite:///{(out_dir / DB_FILE).resolve()}"


def open_storage(url: str, heartbeat: int = HEARTBEAT_SECONDS):
    """The RDB storage at ``url`` (workers starting together may race to create the tables:
    the loser retries once)."""
    try:
        return _open_storage(url, heartbeat)
    except EdgelstmError:
        time.sleep(1.0)
        return _open_storage(url, heartbeat)


def driver_url(url: str) -> str:
    """``postgresql://`` with the driver edgelstm[search] installs (psycopg2): newer SQLAlchemy
    would otherwise look for psycopg 3. An explicit ``postgresql+driver://`` is kept."""
    if url.startswith(("postgresql://", "postgres://")):
        if importlib.util.find_spec("psycopg") is None and importlib.util.find_spec("psycopg2") is not None:
            return "postgresql+psycopg2://" + url.split("://", 1)[1]
    return url


def _open_storage(url: str, heartbeat: int):
    optuna = require_optuna()
    url = driver_url(url)
    engine = {"connect_args": {"timeout": 120}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    try:
        return optuna.storages.RDBStorage(url, engine_kwargs=engine, heartbeat_interval=int(heartbeat),
                                          grace_period=int(3 * heartbeat))
    except ImportError as e:  # e.g. postgresql:// without psycopg2
        raise EdgelstmError(f"--storage '{redact_url(url)}' needs a database driver ({e.name or e})",
                            "pip install 'edgelstm[search]'") from None
    except Exception as e:  # noqa: BLE001 - bad URL, server down, wrong password: one line
        msg = " ".join(str(e).split())[:200]
        raise EdgelstmError(f"cannot open --storage '{redact_url(url)}': {msg}",
                            "check the URL (e.g. postgresql://user@host/db) and that the server runs") from None


def redact_url(url: str) -> str:
    """The URL without its password (it goes into error messages)."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        cred, host = rest.rsplit("@", 1)
        return f"{scheme}://{cred.split(':', 1)[0]}@{host}"
    return url


def fail_orphans(study, grace: float) -> None:
    """FAIL the RUNNING trials of workers that died before their first heartbeat.

    Optuna's stale-trial check skips a trial without any heartbeat (a worker killed between
    creating the trial and its heartbeat thread's first beat). Such a trial never got to the
    objective's first line, which records its params within milliseconds: RUNNING, no params,
    started more than ``grace`` seconds ago means its worker is gone.
    """
    optuna = require_optuna()
    now = datetime.datetime.now()
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        if "params" in t.user_attrs or t.datetime_start is None:
            continue
        if (now - t.datetime_start).total_seconds() > grace:
            try:
                study.tell(t.number, state=optuna.trial.TrialState.FAIL)
            except Exception:  # noqa: BLE001 - another worker finished or failed it first
                pass


def open_study(storage, name: str, settings: dict, seed: int, heartbeat: int = HEARTBEAT_SECONDS):
    """Create or load study ``name``; refuse one whose stored settings differ.

    The first worker's ``seed`` becomes the study's ``split_seed`` (the validation split every
    worker scores on). The sampler is seeded with ``seed`` plus the number of trials already in
    the study, so a resumed run draws new points instead of repeating its first ones (a single
    worker's sequence of runs stays reproducible; give parallel workers different --seed).
    """
    optuna = require_optuna()
    directions = ["maximize", "minimize", "minimize"] if settings["objective"] == "pareto" else ["maximize"]
    try:
        study = optuna.create_study(storage=storage, study_name=name, directions=directions, load_if_exists=True)
    except Exception:  # noqa: BLE001 - another worker created it at the same moment: load it
        time.sleep(1.0)
        study = optuna.load_study(storage=storage, study_name=name)
    stored = study.user_attrs.get("settings")
    if stored is None:
        study.set_user_attr("settings", settings)
        study.set_user_attr("split_seed", int(seed))
    elif stored != settings:
        diff = sorted(k for k in set(stored) | set(settings) if stored.get(k) != settings.get(k))
        raise EdgelstmError(
            f"study '{name}' was run with other settings ({', '.join(diff)} differ)",
            "repeat the first command's options to resume it, or use another --study / --out",
        )
    optuna.storages.fail_stale_trials(study)  # a dead worker's RUNNING trial: FAIL, not counted
    fail_orphans(study, 3 * heartbeat)
    n = len(study.get_trials(deepcopy=False))
    study.sampler = optuna.samplers.TPESampler(seed=(int(seed) + 7919 * n) % 2**32, n_startup_trials=8,
                                               multivariate=True, group=True)
    return study


def split_seed(study, default: int) -> int:
    v = study.user_attrs.get("split_seed")
    return int(v) if isinstance(v, int) else int(default)


def describe_params(p: dict) -> str:
    bi = "Bi" if p.get("bidirectional") else ""
    head = f" dense {p['dense_head'][0]}" if p.get("dense_head") else ""
    return (f"{bi}{p['cell'].upper()} {p['layers']}x{p['units'][0]} K{p.get('stack', 1)}{head} "
            f"lr {p['learning_rate']:.2g}")


def progress_callback(log: Callable[[str], None], best_of: Callable[[object], object | None]):
    """One line per finished trial (complete, pruned or failed), with the best so far."""

    def cb(study, trial) -> None:
        a = trial.user_attrs
        what = describe_params(a["params"]) if "params" in a else ""
        state = trial.state.name.lower()
        if state == "complete":
            fp = a.get("footprint", {})
            info = (f"int8 {a['int8_accuracy']:.4f} float {a['float_accuracy']:.4f} | flash {fp['flash_bytes']:,} B "
                    f"RAM {fp['ram_bytes']:,} B {fp['instructions_per_frame']:,.0f} instr/frame | {a.get('seconds', 0)} s")
        elif state == "pruned":
            info = a.get("pruned_reason", "pruned")
        else:
            info = a.get("error", "failed")
        best = best_of(study)
        tail = f" | best {best.user_attrs['int8_accuracy']:.4f} (trial {best.number})" if best is not None else ""
        log(f"trial {trial.number} [{state}] {what}: {info}{tail}")

    return cb


def deadline_callback(timeout: float | None, t0: float, reserve: float = 0.0):
    """Stop before a trial that would not finish within ``timeout`` (median trial length), keeping
    ``reserve`` median trials of time for the work after the study (the final training)."""
    durations: list[float] = []

    def cb(study, trial) -> None:
        if timeout is None or trial.datetime_start is None or trial.datetime_complete is None:
            return
        if trial.state.name == "COMPLETE":
            durations.append((trial.datetime_complete - trial.datetime_start).total_seconds())
        if durations and time.time() - t0 + (1 + reserve) * statistics.median(durations) > timeout:
            study.stop()

    return cb


def run(study, objective, *, trials: int | None, timeout: float | None, callbacks: list) -> None:
    study.optimize(objective, n_trials=trials, timeout=timeout, catch=(Exception,), callbacks=callbacks,
                   gc_after_trial=True, show_progress_bar=False)


def study_dir_name(name: str) -> str:
    """A folder name for the study's trial files (the study name may hold anything)."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
    return safe.strip(".") or "study"


def trials_dir(out_dir: Path, name: str) -> Path:
    return out_dir / "trials" / study_dir_name(name)
