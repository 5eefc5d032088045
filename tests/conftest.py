"""Shared test set-up.

Tools the tests need (TFLite Micro, gcc, clang, arm-none-eabi-gcc, QEMU) are installed by
`.ci/run`. A missing tool fails the test under CI (CI=1) and is skipped with a visible reason
only on a developer machine, so nothing is skipped silently where it matters.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
IN_CI = os.environ.get("CI", "") not in ("", "0", "false")


def run_cli(exe: str, *args, timeout: float = 900, cwd=None, env=None) -> subprocess.CompletedProcess:
    """The installed `edgelstm` console script with ``args`` (stringified), output captured
    (``env``: variables added to this process's environment)."""
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env=None if env is None else {**os.environ, **env})


def assert_one_line_error(res: subprocess.CompletedProcess, *needles: str) -> None:
    """Non-zero exit, no traceback, exactly one `error: ...` line (the last), naming every needle."""
    assert res.returncode != 0
    assert "Traceback" not in res.stderr
    lines = [l for l in res.stderr.strip().splitlines() if l.strip()]
    assert lines and lines[-1].startswith("error: "), res.stderr
    assert len([l for l in lines if l.startswith("error:")]) == 1
    for n in needles:
        assert n.lower() in lines[-1].lower(), (n, lines[-1])


def need(ok: bool, what: str) -> None:
    """Fail under CI, skip (with the reason shown by -ra) elsewhere."""
    if ok:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI but missing (.ci/run installs it)")
    pytest.skip(f"{what} not available on this machine")


def need_tool(exe: str) -> str:
    path = shutil.which(exe)
    need(path is not None, f"tool '{exe}'")
    return path


def need_tflm() -> None:
    from edgelstm.oracles import tflm_available

    need(tflm_available(), "the tflite-micro package")


@pytest.fixture(scope="session")
def converter_models() -> list[Path]:
    """int8 models made by the plain TFLite converter (tools/make_converter_models.py)."""
    files = sorted(DATA.glob("conv_*.tflite"))
    assert files, "tests/data/conv_*.tflite missing: run tools/make_converter_models.py"
    return files


@pytest.fixture(scope="session")
def edgelstm_exe() -> str:
    exe = Path(sys.executable).parent / "edgelstm"
    assert exe.exists(), f"console script not installed next to {sys.executable}"
    return str(exe)


@pytest.fixture(scope="session")
def radar_tiny(tmp_path_factory) -> Path:
    """A small radar dataset (doppler features) generated once per test session."""
    from edgelstm.data import save_dataset
    from edgelstm.data.radar import generate_radar

    p = tmp_path_factory.mktemp("radar") / "radar_tiny.npz"
    ds = generate_radar(n_train=280, n_test=140, frames=16, seed=1)
    save_dataset(ds, p)
    return p


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)
