"""`edgelstm search` on a tiny real dataset (tests/data/italy_power.npz, UCR ItalyPowerDemand).

Three trials of tiny models (--tiny-space, --epochs 2: hidden test options) under flash, RAM and
instructions-per-frame limits: a trial whose predicted footprint exceeds a limit is pruned
before training (no model files) and never returned; the best model is within the limits (its
footprint measured on QEMU Cortex-M4 in the resumed run); the outputs exist and load; the
same command resumes the study (more trials, finished ones not retrained); --json has the
documented keys.
"""

from __future__ import annotations

import json
import shutil
import zipfile

import numpy as np
from click.testing import CliRunner

from edgelstm.cli import cli
from edgelstm.data import load_dataset
from edgelstm.model import load_int8_model
from edgelstm.search.footprint_model import predict
from edgelstm.search.objective import Limits
from edgelstm.search.shape import ModelShape

from .conftest import DATA, need_tool

DATASET = DATA / "italy_power.npz"
LIMITS = Limits(flash_bytes=16 * 1024, ram_bytes=2000, instructions_per_frame=900)
JSON_KEYS = ("best_int8_accuracy", "best_float_accuracy", "best_params", "best_model", "best_tflite", "flash_bytes",
             "ram_bytes", "instructions_per_frame", "trials", "pruned", "failed")


def search(out, *extra):
    args = ["search", "--data", DATASET, "--out", out, "--tiny-space", "--epochs", "2", "--seed", "0",
            "--max-flash", "16", "--max-ram", "2000", "--max-instructions-per-frame", "900", "--json", *extra]
    res = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return json.loads(res.output.strip().splitlines()[-1])


def shape_of(params: dict, ds) -> ModelShape:
    return ModelShape(cell=params["cell"], units=tuple(params["units"]), features=ds.n_features, window=ds.window,
                      classes=ds.n_classes, dense=tuple(params["dense_head"]), bidirectional=params["bidirectional"],
                      stack=params["stack"])


def test_search_limits_outputs_resume(tmp_path):
    out = tmp_path / "s"
    summ = search(out, "--trials", "3", "--no-measure")
    for k in JSON_KEYS:
        assert k in summ, k
    assert summ["trials"] == 3 and summ["pruned"] >= 1  # --max-instructions-per-frame 900 prunes K=1 LSTMs
    assert summ["pruned"] + summ["failed"] + summ["complete"] == 3

    ds = load_dataset(DATASET)
    doc = json.loads((out / "search.json").read_text())
    assert len(doc["trials"]) == 3
    for t in doc["trials"]:
        fp = predict(shape_of(t["params"], ds), "cortex-m4").to_json()
        if t["state"] == "pruned":  # pruned exactly when the prediction exceeds a limit, before training
            assert LIMITS.violations(fp) and t["files"] is None
            assert not list(out.glob(f"trials/*/trial_{t['number']:05d}*"))
        elif t["state"] == "complete":
            assert not LIMITS.violations(t["footprint"]) and t["footprint"] == fp
            assert 0.0 <= t["int8_accuracy"] <= 1.0 and 0.0 <= t["float_accuracy"] <= 1.0
    assert summ["best_trial"] in [t["number"] for t in doc["trials"] if t["state"] == "complete"]
    assert not LIMITS.violations(summ)

    # the returned model: the winner trained again on all the training sequences (search/final.py)
    fin = summ["final_model"]
    assert fin["trial"] == summ["best_trial"] and fin["training_sequences"] == len(ds.y_train)
    assert (out / "best_int8.tflite").read_bytes() == (out / fin["files"]["tflite"]).read_bytes()

    # the outputs exist and load
    assert summ["best_model"] == str(out / "best.keras") and zipfile.is_zipfile(out / "best.keras")
    meta = json.loads((out / "best.json").read_text())
    assert meta["config"]["cell"] == summ["best_params"]["cell"]
    m = load_int8_model(summ["best_tflite"])
    pred = m.predict_int8(m.quantize_input(ds.X_test[:5]))
    assert pred.shape == (5, ds.n_classes)
    assert "<table" in (out / "search.html").read_text() and "data:image/png;base64," in (out / "search.html").read_text()

    # the same command resumes: one more trial, the finished ones are not trained again
    done = {p: p.stat().st_mtime_ns for p in out.glob("trials/*/*.keras")}
    shutil.copy(out / "search.json", tmp_path / "first.json")
    need_tool("arm-none-eabi-gcc")
    need_tool("qemu-system-arm")
    summ2 = search(out, "--trials", "1", "--pareto")  # best measured on QEMU Cortex-M4; Pareto models
    assert summ2["trials"] == 4
    assert {p: p.stat().st_mtime_ns for p in done} == done
    doc2 = json.loads((out / "search.json").read_text())
    assert [t["number"] for t in doc2["trials"]] == [0, 1, 2, 3]
    assert [t["state"] for t in doc2["trials"][:3]] == [t["state"] for t in doc["trials"]]
    assert summ2["footprint_source"] == "qemu-cortex-m4"
    assert not LIMITS.violations(summ2)  # measured, within the limits
    assert summ2["best_int8_accuracy"] >= summ["best_int8_accuracy"]
    assert np.isfinite(summ2["instructions_per_frame"])
    assert summ2["best_trial"] in summ2["pareto_trials"]  # the most accurate is never dominated
    for n in summ2["pareto_trials"]:  # every model of the front: complete, within the limits, loadable
        rec = doc2["trials"][n]
        assert rec["state"] == "complete" and not LIMITS.violations(rec["footprint"])
        assert load_int8_model(out / "pareto" / f"trial_{n:05d}_int8.tflite").n_outputs == ds.n_classes
        assert (out / "pareto" / f"trial_{n:05d}.keras").is_file()


def test_search_bad_options(tmp_path):
    res = CliRunner().invoke(cli, ["search", "--data", str(DATASET), "--out", str(tmp_path / "x"),
                                   "--max-ram", "0"])
    assert res.exit_code != 0 and "--max-ram" in str(res.exception or res.output)
    assert not (tmp_path / "x" / "search.db").exists()


def test_search_without_optuna(tmp_path, monkeypatch):
    """No Optuna: one line naming the extra to install, nothing written."""
    import sys

    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna -> ImportError
    res = CliRunner().invoke(cli, ["search", "--data", str(DATASET), "--out", str(tmp_path / "x")])
    assert res.exit_code != 0
    assert "pip install 'edgelstm[search]'" in str(res.exception)
    assert not (tmp_path / "x").exists()
