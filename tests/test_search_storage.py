"""`edgelstm search` workers sharing one study: PostgreSQL (a server this test starts) and SQLite.

Two worker processes on one study run their trials without counting any twice; a worker killed
with SIGKILL in the middle of a trial leaves the study usable: its RUNNING trial is marked FAIL
by the next worker (Optuna heartbeat, --heartbeat 1: stale after 3 s) and never counted as
complete. Tiny GRU models (--tiny-space --cells gru --epochs 1: quantized in-process) on tests/data/italy_power.npz.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import optuna
import pytest

from edgelstm.search.study import driver_url

from .conftest import DATA, need, need_tool

DATASET = DATA / "italy_power.npz"
TINY = ("--tiny-space", "--cells", "gru", "--epochs", "1", "--heartbeat", "1", "--no-measure", "--quiet")


def worker(exe: str, out: Path, *extra: str) -> subprocess.Popen:
    args = [exe, "search", "--data", str(DATASET), "--out", str(out), *TINY, *extra]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(p: subprocess.Popen, timeout: float = 300) -> str:
    out, err = p.communicate(timeout=timeout)
    assert p.returncode == 0, err
    return out


def check_study(url: str, name: str, expected: int) -> list:
    study = optuna.load_study(study_name=name, storage=driver_url(url))
    trials = study.get_trials(deepcopy=False)
    numbers = [t.number for t in trials]
    assert sorted(numbers) == list(range(len(trials))), numbers  # every trial once
    assert len(trials) == expected
    assert not [t for t in trials if t.state.name == "RUNNING"]
    return trials


# ------------------------------------------------------------------------------- PostgreSQL


def pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else Path(need_tool("initdb")).parent


def as_postgres_user() -> list[str]:
    """initdb/postgres refuse to run as root: run them as the 'postgres' system user then."""
    if os.geteuid() != 0:
        return []
    need(shutil.which("runuser") is not None, "tool 'runuser' (to start PostgreSQL as a non-root user)")
    return ["runuser", "-u", "postgres", "--"]


@pytest.fixture
def postgres():
    """A PostgreSQL server on a Unix socket in a temporary folder (no TCP), stopped at teardown."""
    bin_dir = pg_bin()
    pre = as_postgres_user()
    root = Path(tempfile.mkdtemp(prefix="edgelstm-pg-"))  # short: a socket path has <= 107 bytes
    data = root / "data"
    if pre:
        shutil.chown(root, "postgres", "postgres")
    try:
        subprocess.run([*pre, str(bin_dir / "initdb"), "-D", str(data), "-U", "edgelstm", "--auth=trust",
                        "-E", "UTF8", "--no-sync"], check=True, capture_output=True, timeout=120)
        opts = f"-k {root} -c listen_addresses='' -c fsync=off"
        subprocess.run([*pre, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "log"),
                        "-w", "start"], check=True, capture_output=True, timeout=120)
        try:
            subprocess.run([*pre, str(bin_dir / "createdb"), "-h", str(root), "-U", "edgelstm", "search"],
                           check=True, capture_output=True, timeout=60)
            yield f"postgresql://edgelstm@/search?host={root}"
        finally:
            subprocess.run([*pre, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                           capture_output=True, timeout=60)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_two_workers_postgresql(postgres, tmp_path, edgelstm_exe):
    """Two workers (each its own folder, as on two machines) share one PostgreSQL study."""
    a = worker(edgelstm_exe, tmp_path / "a", "--storage", postgres, "--study", "shared", "--trials", "2", "--seed", "1")
    b = worker(edgelstm_exe, tmp_path / "b", "--storage", postgres, "--study", "shared", "--trials", "2", "--seed", "2")
    finish(a)
    finish(b)
    trials = check_study(postgres, "shared", 4)
    # each worker wrote the files of its own trials only: together every finished trial once
    mine = {d: {int(p.stem.split("_")[1]) for p in (tmp_path / d).glob("trials/shared/trial_*.keras")}
            for d in ("a", "b")}
    assert not (mine["a"] & mine["b"])
    done = {t.number for t in trials if t.state.name == "COMPLETE"}
    assert mine["a"] | mine["b"] == done
    assert not (tmp_path / "a" / "search.db").exists()  # the study lives in PostgreSQL


# ----------------------------------------------------------------------------------- SQLite


def test_two_workers_sqlite_and_killed_worker(tmp_path, edgelstm_exe):
    """Two workers on the default SQLite file of one folder; then a worker killed mid-trial."""
    out = tmp_path / "s"
    a = worker(edgelstm_exe, out, "--trials", "1", "--seed", "3")
    b = worker(edgelstm_exe, out, "--trials", "1", "--seed", "4")
    finish(a)
    finish(b)
    url = f"sqlite:///{out / 'search.db'}"
    check_study(url, "edgelstm-search", 2)

    # a worker killed while its trial runs (the trial files appear only when training is done)
    c = worker(edgelstm_exe, out, "--trials", "5", "--seed", "3")
    deadline = time.time() + 120
    while time.time() < deadline:
        study = optuna.load_study(study_name="edgelstm-search", storage=url)
        if any(t.state.name == "RUNNING" for t in study.get_trials(deepcopy=False)):
            break
        time.sleep(0.2)
    c.send_signal(signal.SIGKILL)
    c.wait(timeout=30)
    study = optuna.load_study(study_name="edgelstm-search", storage=url)
    killed = [t.number for t in study.get_trials(deepcopy=False) if t.state.name == "RUNNING"]
    assert len(killed) == 1, "the killed worker left no RUNNING trial to recover"
    time.sleep(3.5)  # older than the grace period (3 heartbeats of 1 s)

    d = worker(edgelstm_exe, out, "--trials", "1", "--seed", "3", "--json")
    summ = json.loads(finish(d))
    trials = check_study(url, "edgelstm-search", summ["trials"])
    states = {t.number: t.state.name for t in trials}
    assert states[killed[0]] == "FAIL"
    assert summ["failed"] >= 1 and summ["trials"] == len(trials)
    assert summ["complete"] == sum(s == "COMPLETE" for s in states.values())
    assert summ["complete"] >= 3  # 2 + the one after the kill (+ any the killed worker finished)


def test_orphan_trial_without_heartbeat_fails_on_start(tmp_path):
    """A worker killed before its first heartbeat: Optuna never calls its trial stale; the next
    worker's start-up marks it FAIL (RUNNING, no params, older than the grace period)."""
    from edgelstm.search.study import open_storage, open_study

    url = f"sqlite:///{tmp_path / 'o.db'}"
    settings = {"objective": "accuracy"}
    study = open_study(open_storage(url, 1), "o", settings, 0, heartbeat=1)
    orphan = study.ask()  # RUNNING, no heartbeat, no params: its worker "died" here
    live = study.ask()
    live.set_user_attr("params", {"cell": "gru"})  # a live worker's trial is left alone
    time.sleep(3.3)
    study = open_study(open_storage(url, 1), "o", settings, 1, heartbeat=1)
    states = {t.number: t.state.name for t in study.get_trials(deepcopy=False)}
    assert states == {orphan.number: "FAIL", live.number: "RUNNING"}
