"""Every command refuses bad input with one clear line and writes nothing.

Each bad input runs through the real entry point, ``edgelstm.cli.main`` (what the ``edgelstm``
console script calls: it turns errors into ``error: ...`` lines), in this process so that
TensorFlow is imported once; a few run as a real ``edgelstm`` process, and ``--debug`` is checked
to show the traceback. For every bad input:

- the exit code is non-zero;
- stderr ends with exactly one line ``error: ...`` that names the problem (the needles), with no
  traceback, no warning and no ``internal error`` (which would be a bug);
- nothing is written: the working folder is byte-for-byte what it was (no output file, no
  half-written file, no ``.name.*.tmp`` left behind, inputs untouched), nor is anything created
  in /proc or under a regular file.

Unwritable outputs are simulated without relying on permissions (CI runs as root): a path under
a regular file, a path in /proc (where no file can be created), a directory where a file is
expected.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from edgelstm.testing import SynthSpec, synth_lstm_tflite

T, F, C = 8, 2, 4  # the valid dataset and models: 8 frames x 2 features, 4 classes


# --------------------------------------------------------------------------------------------
# Running the entry point


@dataclass
class Run:
    code: int | str
    stdout: str
    stderr: str


def run_main(*args) -> Run:
    """``edgelstm ARGS`` through edgelstm.cli.main in this process."""
    from edgelstm.cli import main

    out, err = io.StringIO(), io.StringIO()
    code: int | str = 0
    env_debug = os.environ.pop("EDGELSTM_DEBUG", None)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main([str(a) for a in args])
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException as e:  # noqa: BLE001 - anything escaping main() is a bug; report it
        code = f"raised {type(e).__name__}: {e}"
    finally:
        if env_debug is not None:
            os.environ["EDGELSTM_DEBUG"] = env_debug
    return Run(code, out.getvalue(), err.getvalue())


def one_line_problem(r: Run, needles: tuple[str, ...]) -> str | None:
    """None when ``r`` is a proper refusal naming ``needles``; otherwise what is wrong."""
    if isinstance(r.code, str):
        return r.code
    if r.code == 0:
        return "exit code 0"
    if "Traceback" in r.stderr or "Traceback" in r.stdout:
        return "traceback shown"
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    if not lines or not lines[-1].startswith("error: "):
        return f"last stderr line is not 'error: ...': {lines[-1:]!r}"
    if sum(ln.startswith("error:") for ln in lines) != 1:
        return f"more than one error line: {lines!r}"
    if any("Warning" in ln for ln in lines):
        return f"warning printed: {lines!r}"
    if r.stdout.strip():
        return f"stdout not empty: {r.stdout.strip()[:200]!r}"
    msg = lines[-1]
    if "internal error" in msg:
        return f"internal error (a bug): {msg}"
    missing = [n for n in needles if n.lower() not in msg.lower()]
    if missing:
        return f"message lacks {missing}: {msg}"
    return None


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``root`` (hidden ones too) with its size and mtime."""
    snap = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            st = p.lstat()
            snap[str(p.relative_to(root))] = (st.st_size if n in filenames else -1, st.st_mtime_ns)
    return snap


def diff_snapshots(before: dict, after: dict) -> str | None:
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k] and before[k][0] != -1)
    if added or removed or changed:
        return f"files changed: added {added[:5]}, removed {removed[:5]}, modified {changed[:5]}"
    return None


# --------------------------------------------------------------------------------------------
# Bad inputs


@dataclass
class Case:
    command: str  # the command counted ("data radar", "train", ...)
    label: str
    args: tuple  # after "edgelstm"; "{w}" is replaced by the work folder
    needles: tuple[str, ...] = ()
    outside: tuple[str, ...] = field(default_factory=tuple)  # paths outside {w} that must not appear


def _cases() -> list[Case]:
    cs: list[Case] = []

    def add(command, label, args, *needles, outside=()):
        cs.append(Case(command, label, tuple(args), tuple(needles), tuple(outside)))

    # ---- data radar
    small = ("--train", "7", "--test", "1", "--frames", "2")
    add("data radar", "output under a regular file", ["data", "radar", "--out", "{w}/afile/x.npz", *small],
        "afile", "is a file")
    add("data radar", "output in /proc (not writable)", ["data", "radar", "--out", "/proc/edgelstm_x.npz", *small],
        "/proc", outside=("/proc/edgelstm_x.npz",))
    add("data radar", "output is a directory", ["data", "radar", "--out", "{w}/adir", *small], "directory")
    add("data radar", "output not .npz", ["data", "radar", "--out", "{w}/x.csv", *small], ".npz")
    add("data radar", "zero training sequences", ["data", "radar", "--out", "{w}/x.npz", "--train", "0"], "--train")
    add("data radar", "zero frames", ["data", "radar", "--out", "{w}/x.npz", "--frames", "0"], "--frames")
    add("data radar", "SNR range min > max", ["data", "radar", "--out", "{w}/x.npz", "--snr-db", "10", "0", *small],
        "snr")
    add("data radar", "negative seed", ["data", "radar", "--out", "{w}/x.npz", "--seed", "-1", *small], "--seed")
    add("data radar", "NaN carrier frequency", ["data", "radar", "--out", "{w}/x.npz", "--carrier-ghz", "nan", *small],
        "carrier")

    # ---- data inspect
    def inspect(label, name, *needles):
        add("data inspect", label, ["data", "inspect", f"{{w}}/{name}"], *needles)

    inspect("missing file", "missing.npz", "does not exist")
    inspect("empty file", "empty.npz", "empty")
    inspect("truncated .npz", "trunc.npz", "truncated or corrupt")
    inspect("PNG renamed .npz", "png.npz", "PNG")
    inspect("a .tflite given as data", "model.tflite", "TFLite model", "not a dataset")
    inspect("a .keras given as data", "model.keras", "Keras model")
    inspect("NaN in X_train", "nan.npz", "NaN", "sequence 0")
    inspect("inf in X_train", "inf.npz", "inf")
    inspect("NaN in X_test", "nan_test.npz", "X_test", "NaN")
    inspect("wrong rank (N, T)", "rank2.npz", "(N, T, F)")
    inspect("wrong rank (N, T, F, 1)", "rank4.npz", "rank 4")
    inspect("zero sequences", "zero.npz", "zero sequences")
    inspect("zero frames per sequence", "T0.npz", "at least one frame")
    inspect("a single class", "oneclass.npz", "1 class")
    inspect("51 classes", "51class.npz", "51 class")
    inspect("labels stored as Python objects (pickle)", "objlabels.npz", "pickle")
    inspect("labels do not match sequences", "labelmismatch.npz", "40 sequences", "30 labels")
    inspect("negative labels", "neglabel.npz", "label -1")
    inspect("one-hot labels", "onehot.npz", "one-hot")
    inspect("string feature values", "strX.npz", "not numbers")
    inspect("values beyond float32 (1e41)", "huge.npz", "inf", "float32")
    inspect("CSV with a non-numeric value", "bad.csv", "line 3", "abc")
    inspect("CSV with a header only", "hdronly.csv", "zero sequences")
    inspect("CSV with a NaN frame number", "nanframe.csv", "line 6", "frame number")
    inspect("integer labels up to 5e9 (was a hang)", "biglabel.npz", "5000000001 class")
    add("data inspect", "plot under a regular file", ["data", "inspect", "{w}/data.npz", "--plot", "{w}/afile/p.png"],
        "afile", "is a file")
    add("data inspect", "plot in /proc", ["data", "inspect", "{w}/data.npz", "--plot", "/proc/edgelstm_p.png"], "/proc",
        outside=("/proc/edgelstm_p.png",))
    add("data inspect", "plot not a .png", ["data", "inspect", "{w}/data.npz", "--plot", "{w}/p.npz"], ".png")

    # ---- train (every one of these is refused before any training)
    def train(label, extra, *needles, data="data.npz", out="t.keras", outside=()):
        args = ["train", "--data", f"{{w}}/{data}", "--units", "2", "--epochs", "1", *extra]
        if out is not None:
            args += ["--out", out if out.startswith("/") else f"{{w}}/{out}"]
        add("train", label, args, *needles, outside=outside)

    train("missing data file", [], "does not exist", data="missing.npz")
    train("truncated data file", [], "truncated", data="trunc.npz")
    train("NaN in the data", [], "NaN", data="nan.npz")
    train("a single class", [], "1 class", data="oneclass.npz")
    train("zero sequences", [], "zero sequences", data="zero.npz")
    train("values spread beyond float32 normalisation (1e20)", [], "spreads too widely", "rescale", data="e20.npz")
    train("--units 0", ["--units", "0"], "--units", ">= 1")
    train("--units too large", ["--units", "100000"], "--units", "1024")
    train("negative epochs", ["--epochs", "-1"], "--epochs", ">= 1")
    train("--layers 0", ["--layers", "0"], "--layers")
    train("--layers 100", ["--layers", "100"], "--layers", "16")
    train("--batch-size 0", ["--batch-size", "0"], "--batch-size")
    train("--lr nan", ["--lr", "nan"], "--lr")
    train("--lr negative", ["--lr", "-0.1"], "--lr")
    train("--val-fraction 2", ["--val-fraction", "2"], "--val-fraction")
    train("--test-fraction 1.5", ["--test-fraction", "1.5"], "test fraction")
    train("--dense-head not numbers", ["--dense-head", "a,b"], "--dense-head")
    train("--dense-head negative", ["--dense-head", "4,-1"], "--dense-head")
    train("--patience 0", ["--patience", "0"], "--patience")
    train("negative seed", ["--seed", "-1"], "--seed")
    train("output not .keras", [], ".keras", out="t.h5")
    train("output named just '.keras'", [], "file name ending in .keras", out=".keras")
    train("output under a regular file", [], "afile", "is a file", out="afile/t.keras")
    train("output in /proc", [], "/proc", out="/proc/edgelstm_t.keras", outside=("/proc/edgelstm_t.keras",))
    train("output is a directory", [], "directory", out="adir")
    train("metadata file m.json is a directory", [], "metadata", "directory", out="blocked.keras")
    train("a .tflite given as data", [], "TFLite model", data="model.tflite")
    train("unknown cell", ["--cell", "rnn"], "--cell")

    # ---- quantize (refused before the converter runs)
    def quantize(label, model, *needles, data="data.npz", out="q.tflite", extra=(), outside=()):
        out_arg = out if out.startswith("/") else f"{{w}}/{out}"
        add("quantize", label, ["quantize", f"{{w}}/{model}", "--data", f"{{w}}/{data}", "--out", out_arg,
                                "--calib-samples", "20", *extra], *needles, outside=outside)

    quantize("Conv1D layer", "conv1d.keras", "Conv1D", "not supported")
    quantize("SimpleRNN layer", "simplernn.keras", "SimpleRNN")
    quantize("LSTM with relu activation", "relu.keras", "relu", "tanh")
    quantize("stateful LSTM", "stateful.keras", "stateful")
    quantize("LSTM with return_state", "retstate.keras", "return_state")
    quantize("Masking layer", "masking.keras", "Masking")
    quantize("LSTM with go_backwards", "gobackwards.keras", "go_backwards", "Bidirectional")
    quantize("last LSTM returns sequences", "seqout.keras", "return_sequences")
    quantize("LSTM followed by GRU", "mixed.keras", "mixes LSTM and GRU")
    quantize("Dense with tanh", "dense_tanh.keras", "tanh")
    quantize("variable sequence length", "varT.keras", "variable sequence length")
    quantize("Normalization with infinite variance", "norminf.keras", "non-finite", "retrain")
    quantize("missing model", "missing.keras", "does not exist")
    quantize("empty .keras", "empty.keras", "empty")
    quantize("truncated .keras", "trunc.keras", "corrupt or truncated")
    quantize("PNG renamed .keras", "png.keras", "PNG")
    quantize("a .tflite given as the Keras model", "model.tflite", ".tflite", ".keras")
    quantize("data with other feature count", "model.keras", "5 features", "expects 2", data="f5.npz")
    quantize("data with other window", "model.keras", "3 frames", "8", data="t3.npz")
    quantize("model outputs != classes", "out3.keras", "3 outputs", "4 classes")
    quantize("NaN in the data", "model.keras", "NaN", data="nan.npz")
    quantize("--calib-samples 0", "model.keras", "--calib-samples", extra=("--calib-samples", "0"))
    quantize("--calib-percentile 10", "model.keras", "--calib-percentile", extra=("--calib-percentile", "10"))
    quantize("--tflm-samples negative", "model.keras", "--tflm-samples", extra=("--tflm-samples", "-1"))
    quantize("negative seed", "model.keras", "--seed", extra=("--seed", "-1"))
    quantize("output not .tflite", "model.keras", ".tflite", out="q.bin")
    quantize("output under a regular file", "model.keras", "afile", "is a file", out="afile/q.tflite")
    quantize("output in /proc", "model.keras", "/proc", out="/proc/edgelstm_q.tflite",
             outside=("/proc/edgelstm_q.tflite",))

    # ---- simulate
    def simulate(label, model, *needles, data="data.npz", extra=(), outside=()):
        add("simulate", label, ["simulate", f"{{w}}/{model}", "--data", f"{{w}}/{data}", *extra], *needles,
            outside=outside)

    simulate("missing model", "missing.tflite", "does not exist")
    simulate("empty .tflite", "empty.tflite", "empty")
    simulate("truncated .tflite", "trunc.tflite", "corrupt or truncated")
    simulate(".tflite cut to 100 bytes", "trunc100.tflite", "corrupt or truncated")
    simulate("PNG renamed .tflite", "png.tflite", "PNG")
    simulate("random bytes named .tflite", "garbage.tflite", "not a .tflite")
    simulate("a .keras given as the model", "model.keras", "not a .tflite")
    simulate("float .tflite", "float.tflite", "float model", "int8")
    simulate("int8 model with float32 LSTM weights", "floatw.tflite", "not a full-integer int8", "float32")
    simulate("int8 model without LSTM/GRU", "dense_only.tflite", "no LSTM/GRU")
    simulate("data with other feature count", "model.tflite", "5 features", "expects 2", data="f5.npz")
    simulate("data with other window", "model.tflite", "3 frames", "8", data="t3.npz")
    simulate("NaN in the test split", "model.tflite", "X_test", "NaN", data="nan_test.npz")
    simulate("--samples 0", "model.tflite", "--samples", extra=("--samples", "0"))
    simulate("--out is the dataset itself", "model.tflite", "dataset file itself", extra=("--out", "{w}/data.npz"))
    simulate("--out not .npz", "model.tflite", ".npz", extra=("--out", "{w}/p.txt"))
    simulate("--out under a regular file", "model.tflite", "afile", "is a file", extra=("--out", "{w}/afile/p.npz"))
    simulate("--out in /proc", "model.tflite", "/proc", extra=("--out", "/proc/edgelstm_p.npz"),
             outside=("/proc/edgelstm_p.npz",))
    simulate("unknown split", "model.tflite", "--split", extra=("--split", "validation"))

    # ---- export-c
    def export(label, model, *needles, out="o", extra=(), outside=()):
        out_arg = out if out.startswith("/") else f"{{w}}/{out}"
        add("export-c", label, ["export-c", f"{{w}}/{model}", "--out", out_arg, *extra], *needles, outside=outside)

    export("name starting with a digit", "model.tflite", "not a C identifier", extra=("--name", "1abc"))
    export("name with a dash", "model.tflite", "not a C identifier", extra=("--name", "a-b"))
    export("name is a C keyword", "model.tflite", "keyword", extra=("--name", "int"))
    export("empty name", "model.tflite", "--name", extra=("--name", ""))
    export("output is a regular file", "model.tflite", "afile", "file", out="afile")
    export("output under a regular file", "model.tflite", "afile", out="afile/sub")
    export("output in /proc", "model.tflite", "/proc", out="/proc/edgelstm_o", outside=("/proc/edgelstm_o",))
    export("truncated .tflite", "trunc.tflite", "corrupt or truncated")
    export("float .tflite", "float.tflite", "float model")
    export("PNG renamed .tflite", "png.tflite", "PNG")
    export("test data with other features", "model.tflite", "5 features", extra=("--data", "{w}/f5.npz"))
    export("--test-vectors 0", "model.tflite", "--test-vectors", extra=("--test-vectors", "0"))

    # ---- verify
    add("verify", "missing folder", ["verify", "{w}/missing_dir"], "does not exist")
    add("verify", "a regular file", ["verify", "{w}/afile"], "is a file")
    add("verify", "a folder that is not an export", ["verify", "{w}/adir"], "not an edgelstm export")
    add("verify", "corrupt manifest", ["verify", "{w}/v_badjson"], "corrupt")
    add("verify", "manifest not an object", ["verify", "{w}/v_listjson"], "not an edgelstm export manifest")
    add("verify", "model copy missing", ["verify", "{w}/v_nomodel"], "lacks its model copy")
    add("verify", "model copy replaced", ["verify", "{w}/v_badsha"], "sha256 differs")
    add("verify", "a library source missing", ["verify", "{w}/v_missingc"], "lacks", ".c")
    add("verify", "data with other features", ["verify", "{w}/good", "--data", "{w}/f5.npz"], "5 features")
    add("verify", "data with NaN", ["verify", "{w}/good", "--data", "{w}/nan_test.npz"], "NaN")
    add("verify", "--samples 0", ["verify", "{w}/good", "--samples", "0"], "--samples")

    # ---- report (gru.keras and gru_int8.tflite belong together)
    def report(label, keras_model, int8_model, *needles, data="data.npz", out="rep", extra=(), outside=()):
        out_arg = out if out.startswith("/") else f"{{w}}/{out}"
        add("report", label, ["report", f"{{w}}/{keras_model}", f"{{w}}/{int8_model}", "--data", f"{{w}}/{data}",
                              "--out", out_arg, *extra], *needles, outside=outside)

    report("missing .keras", "missing.keras", "gru_int8.tflite", "does not exist")
    report("truncated .tflite", "gru.keras", "trunc.tflite", "corrupt or truncated")
    report("the two models swapped", "gru_int8.tflite", "gru.keras", ".tflite model", "Keras")
    report("models that do not belong together", "model.keras", "gru_int8.tflite", "do not belong together")
    report("unsupported layer in the .keras", "conv1d.keras", "gru_int8.tflite", "Conv1D")
    report("NaN in the data", "gru.keras", "gru_int8.tflite", "NaN", data="nan_test.npz")
    report("data with other feature count", "gru.keras", "gru_int8.tflite", "5 features", data="f5.npz")
    report("--samples 0", "gru.keras", "gru_int8.tflite", "--samples", extra=("--samples", "0"))
    report("output is a regular file", "gru.keras", "gru_int8.tflite", "afile", "file", out="afile")
    report("output under a regular file", "gru.keras", "gru_int8.tflite", "afile", "is a file", out="afile/rep")
    report("output in /proc", "gru.keras", "gru_int8.tflite", "/proc", out="/proc/edgelstm_rep",
           outside=("/proc/edgelstm_rep",))
    report("--c-dir is a file", "gru.keras", "gru_int8.tflite", "is a file", extra=("--c-dir", "{w}/afile"))
    report("--c-dir is not an export", "gru.keras", "gru_int8.tflite", "not an edgelstm export",
           extra=("--c-dir", "{w}/adir"))
    return cs


CASES = _cases()
COMMANDS = ["data radar", "data inspect", "train", "quantize", "simulate", "export-c", "verify", "report"]

# Negative seeds once reached numpy (ValueError in the random-input recipe, now data.random_inputs) as an internal error.
CASES += [
    Case("export-c", "negative --seed",
         ("export-c", "{w}/model.tflite", "--out", "{w}/o", "--seed", "-1"), ("--seed",)),
    Case("verify", "negative --seed",
         ("verify", "{w}/good", "--seed", "-1"), ("--seed",)),
]


# --------------------------------------------------------------------------------------------
# The files the bad inputs are made of


def _float_lstm_tflite(io_dtype, weight_dtype) -> bytes:
    """A structurally complete LSTM classifier whose tensors are float32 (where asked)."""
    from edgelstm.tflite.schema import fb
    from edgelstm.tflite.writer import ModelBuilder

    b = ModelBuilder("float test model")
    r = np.random.default_rng(0)
    U = 3
    q = (lambda s, z=0: dict(scale=s, zero_point=z)) if io_dtype == np.int8 else (lambda s, z=0: {})
    qw = (lambda: dict(scale=0.01, zero_point=0)) if weight_dtype == np.int8 else (lambda: {})
    x = b.tensor("x", [1, T, F], io_dtype, **q(0.05, 3))
    ins = [-1] * 24
    ins[0] = x
    for i in (1, 2, 3, 4):
        ins[i] = b.tensor(f"wx{i}", [U, F], weight_dtype, data=r.integers(-50, 50, (U, F)), **qw())
    for i in (5, 6, 7, 8):
        ins[i] = b.tensor(f"wh{i}", [U, U], weight_dtype, data=r.integers(-50, 50, (U, U)), **qw())
    for i in (12, 13, 14, 15):
        ins[i] = b.tensor(f"b{i}", [U], np.int32 if weight_dtype == np.int8 else np.float32, data=np.zeros(U),
                          **({"scale": 0.0005, "zero_point": 0} if weight_dtype == np.int8 else {}))
    ins[18] = b.tensor("h", [1, U], io_dtype, is_variable=True, **q(1 / 128, 0))
    ins[19] = b.tensor("c", [1, U], np.int16 if io_dtype == np.int8 else np.float32, is_variable=True,
                       **(q(2.0**-11) if io_dtype == np.int8 else {}))
    seq = b.tensor("seq", [1, T, U], io_dtype, **q(1 / 128, 0))
    opts = fb.UnidirectionalSequenceLSTMOptionsT()
    opts.fusedActivationFunction = fb.ActivationFunctionType.TANH
    opts.cellClip = 10.0
    b.op(ins, [seq], builtin=fb.BuiltinOperator.UNIDIRECTIONAL_SEQUENCE_LSTM,
         options_type=fb.BuiltinOptions.UnidirectionalSequenceLSTMOptions, options=opts, version=3)
    last = b.tensor("last", [1, U], io_dtype, **q(1 / 128, 0))
    consts = [b.tensor(f"s{i}", [3], np.int32, data=np.array(v)) for i, v in enumerate(([0, -1, 0], [0, 0, 0], [1, 1, 1]))]
    so = fb.StridedSliceOptionsT()
    so.beginMask, so.endMask, so.shrinkAxisMask = 5, 5, 2
    b.op([seq, *consts], [last], builtin=fb.BuiltinOperator.STRIDED_SLICE,
         options_type=fb.BuiltinOptions.StridedSliceOptions, options=so)
    w = b.tensor("fc_w", [C, U], weight_dtype, data=r.integers(-50, 50, (C, U)), **qw())
    y = b.tensor("y", [1, C], io_dtype, **q(0.1, 0))
    b.op([last, w, -1], [y], builtin=fb.BuiltinOperator.FULLY_CONNECTED, version=4)
    return b.finish([x], [y])


def _dense_only_tflite() -> bytes:
    from edgelstm.tflite.writer import GraphWriter

    g = GraphWriter("no recurrent layer")
    x = g.act([T * F], 0.05, 3, "x")
    y = g.dense(x, np.ones((C, T * F), np.int8), np.full(C, 0.01, np.float32), np.zeros(C, np.int32), 0.05, 0.1, 0,
                False)
    return g.finish([x], [y])


def _make_data(w: Path) -> None:
    from edgelstm.data import Dataset, save_dataset

    r = np.random.default_rng(0)

    def X(n, t=T, f=F):
        return r.normal(size=(n, t, f)).astype(np.float32)

    y, yt = np.arange(40) % C, np.arange(12) % C
    save_dataset(Dataset(X(40), y, X(12), yt, [f"c{i}" for i in range(C)], ["a", "b"]), w / "data.npz")
    np.savez(w / "nan.npz", X_train=np.where(r.random((40, T, F)) < 0.01, np.nan, X(40)), y_train=y)
    a = X(40)
    a[3, 2, 1] = np.inf
    np.savez(w / "inf.npz", X_train=a, y_train=y)
    b = X(12)
    b[0, 0, 0] = np.nan
    np.savez(w / "nan_test.npz", X_train=X(40), y_train=y, X_test=b, y_test=yt)
    np.savez(w / "rank2.npz", X_train=r.normal(size=(40, T)), y_train=y)
    np.savez(w / "rank4.npz", X_train=r.normal(size=(40, T, F, 1)), y_train=y)
    np.savez(w / "f5.npz", X_train=X(40, T, 5), y_train=y, X_test=X(12, T, 5), y_test=yt)
    np.savez(w / "t3.npz", X_train=X(40, 3, F), y_train=y, X_test=X(12, 3, F), y_test=yt)
    np.savez(w / "oneclass.npz", X_train=X(40), y_train=np.zeros(40, int))
    np.savez(w / "zero.npz", X_train=np.zeros((0, T, F), np.float32), y_train=np.zeros(0, int))
    np.savez(w / "T0.npz", X_train=np.zeros((40, 0, F), np.float32), y_train=y)
    np.savez(w / "51class.npz", X_train=X(102), y_train=np.arange(102) % 51)
    np.savez(w / "objlabels.npz", X_train=X(40), y_train=np.array([{"a": 1}] * 40, dtype=object))
    np.savez(w / "labelmismatch.npz", X_train=X(40), y_train=y[:30])
    np.savez(w / "neglabel.npz", X_train=X(40), y_train=y - 1)
    np.savez(w / "onehot.npz", X_train=X(40), y_train=np.eye(C)[y])
    np.savez(w / "strX.npz", X_train=np.full((40, T, F), "a"), y_train=y)
    np.savez(w / "huge.npz", X_train=X(40).astype(np.float64) * 1e41, y_train=y)
    np.savez(w / "e20.npz", X_train=X(40) * np.float32(1e20), y_train=y, X_test=X(12) * np.float32(1e20), y_test=yt)
    (w / "bad.csv").write_text("sequence_id,frame,a,label\n1,0,1.0,x\n1,1,abc,x\n")
    (w / "hdronly.csv").write_text("sequence_id,frame,a,label\n")
    rows = [f"{s},{'nan' if (s, t) == (1, 1) else t},{t * 0.5},{s % 2}" for s in range(6) for t in range(3)]
    (w / "nanframe.csv").write_text("sequence_id,frame,a,label\n" + "\n".join(rows) + "\n")
    np.savez(w / "biglabel.npz", X_train=X(10), y_train=np.array([0, 5_000_000_000] * 5))
    z = (w / "data.npz").read_bytes()
    (w / "trunc.npz").write_bytes(z[: len(z) // 2])


def _make_keras_models(w: Path) -> None:
    from edgelstm._tf import import_keras

    keras = import_keras()
    L = keras.layers

    def save(name, build, window=T, batch=None):
        inp = keras.Input((window, F), batch_size=batch)
        keras.Model(inp, build(inp)).save(w / f"{name}.keras")

    save("model", lambda i: L.Dense(C)(L.LSTM(2)(i)))
    save("conv1d", lambda i: L.Dense(C)(L.LSTM(2)(L.Conv1D(2, 3)(i))))
    save("simplernn", lambda i: L.Dense(C)(L.SimpleRNN(2)(i)))
    save("relu", lambda i: L.Dense(C)(L.LSTM(2, activation="relu")(i)))
    save("stateful", lambda i: L.Dense(C)(L.LSTM(2, stateful=True)(i)), batch=1)
    save("retstate", lambda i: L.Dense(C)(L.LSTM(2, return_state=True)(i)[0]))
    save("masking", lambda i: L.Dense(C)(L.LSTM(2)(L.Masking()(i))))
    save("gobackwards", lambda i: L.Dense(C)(L.LSTM(2, go_backwards=True)(i)))
    save("seqout", lambda i: L.Dense(C)(L.LSTM(2, return_sequences=True)(i)))
    save("mixed", lambda i: L.Dense(C)(L.GRU(2)(L.LSTM(2, return_sequences=True)(i))))
    save("dense_tanh", lambda i: L.Dense(C, activation="tanh")(L.LSTM(2)(i)))
    save("out3", lambda i: L.Dense(3)(L.LSTM(2)(i)))
    inp = keras.Input((None, F))
    keras.Model(inp, L.Dense(C)(L.LSTM(2)(inp))).save(w / "varT.keras")
    inf_var = L.Normalization(mean=[0.0] * F, variance=[np.inf] + [1.0] * (F - 1))
    save("norminf", lambda i: L.Dense(C)(L.LSTM(2)(inf_var(i))))
    k = (w / "model.keras").read_bytes()
    (w / "trunc.keras").write_bytes(k[: len(k) // 2])
    # a float/int8 pair that belongs together, for `report` (edgelstm's GRU: no converter process)
    from edgelstm.quantize.pipeline import CalibrationConfig, quantize_model

    save("gru", lambda i: L.Dense(C)(L.GRU(2)(i)))
    quantize_model(w / "gru.keras", w / "data.npz", w / "gru_int8.tflite", calib=CalibrationConfig(samples=20))


def _make_exports(w: Path) -> None:
    from edgelstm.codegen import export_c

    export_c(w / "model.tflite", w / "good", name="good", n_vectors=4)
    for v in ("v_badjson", "v_listjson", "v_nomodel", "v_badsha", "v_missingc"):
        shutil.copytree(w / "good", w / v)
    (w / "v_badjson" / "edgelstm_export.json").write_text("{not json")
    (w / "v_listjson" / "edgelstm_export.json").write_text("[1, 2]")
    (w / "v_nomodel" / "good_model.tflite").unlink()
    (w / "v_badsha" / "good_model.tflite").write_bytes(synth_lstm_tflite(SynthSpec(window=T, features=F, classes=C,
                                                                                   seed=99)))
    (w / "v_missingc" / "good_model.c").unlink()


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    w = tmp_path_factory.mktemp("bad_inputs")
    _make_data(w)
    raw = synth_lstm_tflite(SynthSpec(window=T, features=F, units=3, classes=C, seed=1))
    (w / "model.tflite").write_bytes(raw)
    (w / "trunc.tflite").write_bytes(raw[: len(raw) // 2])
    (w / "trunc100.tflite").write_bytes(raw[:100])
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 2
    for n in ("png.tflite", "png.npz", "png.keras"):
        (w / n).write_bytes(png)
    for n in ("empty.tflite", "empty.npz", "empty.keras"):
        (w / n).write_bytes(b"")
    (w / "garbage.tflite").write_bytes(np.random.default_rng(5).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    (w / "float.tflite").write_bytes(_float_lstm_tflite(np.float32, np.float32))
    (w / "floatw.tflite").write_bytes(_float_lstm_tflite(np.int8, np.float32))
    (w / "dense_only.tflite").write_bytes(_dense_only_tflite())
    (w / "afile").write_text("a regular file\n")
    (w / "adir").mkdir()
    (w / "blocked.json").mkdir()  # where `train --out blocked.keras` would write its metadata
    _make_keras_models(w)
    _make_exports(w)
    return w


# --------------------------------------------------------------------------------------------
# The tests


def _args(case: Case, w: Path) -> list[str]:
    return [str(a).replace("{w}", str(w)) for a in case.args]


def _check(case: Case, w: Path) -> str | None:
    before = snapshot(w)
    r = run_main(*_args(case, w))
    problem = one_line_problem(r, case.needles)
    if problem is None:
        problem = diff_snapshots(before, snapshot(w))
    if problem is None:
        made = [p for p in case.outside if os.path.lexists(p)]
        if made:
            problem = f"created {made}"
    return problem


def _report(capsys, command: str, n: int) -> None:
    with capsys.disabled():
        print(f"\n[bad inputs] {command}: {n} bad inputs, each a one-line error, no traceback, nothing written")


@pytest.mark.parametrize("command", COMMANDS)
def test_bad_inputs_give_one_line_errors_and_write_nothing(command, work, capsys):
    cases = [c for c in CASES if c.command == command]
    failures = []
    for case in cases:
        problem = _check(case, work)
        if problem:
            failures.append(f"{case.label}: {problem}")
    _report(capsys, command, len(cases))
    assert not failures, f"{len(failures)} of {len(cases)} bad inputs of `{command}` misbehave:\n" + "\n".join(failures)


def test_bad_input_counts(capsys):
    counts = Counter(c.command for c in CASES)
    with capsys.disabled():
        print("\n[bad inputs] per command: " + ", ".join(f"{k} {counts[k]}" for k in COMMANDS)
              + f"; total {len(CASES)}")
    assert set(counts) == set(COMMANDS)
    assert len(CASES) >= 40
    assert len({(c.command, c.label) for c in CASES}) == len(CASES)


# ---- the real console script


def _run_exe(exe: str, *args, env=None) -> subprocess.CompletedProcess:
    e = dict(os.environ)
    e.pop("EDGELSTM_DEBUG", None)
    e.update(env or {})
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, timeout=300, env=e)


def test_console_script_one_line_errors(work, edgelstm_exe):
    """The installed `edgelstm` script itself (not only main()): one line, nothing else."""
    for args, needle in [
        (("simulate", work / "png.tflite", "--data", work / "data.npz"), "PNG"),
        (("data", "inspect", work / "nan.npz"), "NaN"),
        (("simulate", work / "model.tflite", "--data", work / "data.npz", "--out", "/proc/edgelstm_p.npz"), "/proc"),
        (("export-c", work / "model.tflite", "--out", work / "o", "--name", "9lives"), "C identifier"),
    ]:
        before = snapshot(work)
        r = _run_exe(edgelstm_exe, *args)
        assert r.returncode != 0, args
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], r.stderr
        assert r.stdout == "" and "Traceback" not in r.stderr
        assert diff_snapshots(before, snapshot(work)) is None


HEAVY = ("tensorflow", "keras", "tf_keras", "matplotlib", "tflite_micro")
HELP_SHOWS = {  # a default of each command's --help (read from the config dataclasses / functions)
    (): "export-c", ("data", "radar"): "[default: 8000;", ("data", "inspect"): "[default: 0.2]",
    ("train",): "[default: 0.002]", ("quantize",): "[default: 500]", ("simulate",): "[default: test]",
    ("export-c",): "[default: host]", ("verify",): "[default: 1000;", ("report",): "[default: test]",
}


@pytest.mark.parametrize("command", sorted(HELP_SHOWS))
def test_help_shows_defaults_without_heavy_imports(command):
    """`edgelstm [COMMAND] --help` starts fast: no TensorFlow, Keras or matplotlib imported."""
    code = ("import sys\nfrom edgelstm.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            f"print('heavy:', [m for m in {HEAVY!r} if m in sys.modules])")
    r = subprocess.run([sys.executable, "-c", code, *command, "--help"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and HELP_SHOWS[command] in r.stdout, r.stdout + r.stderr
    assert r.stdout.strip().splitlines()[-1] == "heavy: []", r.stdout


def test_debug_shows_the_traceback(work, edgelstm_exe):
    r = _run_exe(edgelstm_exe, "--debug", "simulate", work / "trunc.tflite", "--data", work / "data.npz")
    assert r.returncode != 0
    assert "Traceback (most recent call last)" in r.stderr
    assert "ModelError" in r.stderr and "corrupt or truncated" in r.stderr
    # the same through the environment variable
    r = _run_exe(edgelstm_exe, "simulate", work / "trunc.tflite", "--data", work / "data.npz",
                 env={"EDGELSTM_DEBUG": "1"})
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_json_mode_errors_keep_stdout_clean(work):
    """--json: an error prints nothing on stdout (a script parsing stdout sees no half object)."""
    r = run_main("simulate", work / "trunc.tflite", "--data", work / "data.npz", "--json")
    assert one_line_problem(r, ("corrupt",)) is None
    r = run_main("data", "inspect", work / "zero.npz", "--json")
    assert one_line_problem(r, ("zero sequences",)) is None


def test_manifest_json_edit_keeps_verify_clean(work):
    """A hand-edited manifest with wrong types is a one-line error, not an internal error."""
    d = work / "v_types"
    if d.exists():
        shutil.rmtree(d)
    shutil.copytree(work / "good", d)
    m = json.loads((d / "edgelstm_export.json").read_text())
    m["classes"] = "four"
    (d / "edgelstm_export.json").write_text(json.dumps(m))
    try:
        r = run_main("verify", d)
        # an internal error (a traceback, not one `error:` line) fails here: never an xfail
        problem = one_line_problem(r, ())
        assert problem is None, problem
    finally:
        shutil.rmtree(d)
