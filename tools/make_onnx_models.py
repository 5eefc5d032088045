"""PyTorch classifiers exported with torch.onnx.export: the test models and real-data runs.

PyTorch is not an edgelstm dependency (its wheels bring gigabytes of GPU libraries), so this
script runs in a separate environment with torch, onnx and numpy only, for example::

    python3 -m venv /tmp/torchvenv
    /tmp/torchvenv/bin/pip install torch --index-url https://download.pytorch.org/whl/cpu
    /tmp/torchvenv/bin/pip install onnx onnxscript numpy

Sub-commands:

  tests   trains the small models tests/test_onnx_torch.py reads, on the radar data the
          tests generate (window 16, 18 features, 7 classes), exports them with both
          exporters (TorchScript and dynamo) into tests/data/torch_*.onnx and writes
          tests/data/torch_reference.npz (PyTorch's own logits on a few windows)::

              edgelstm data radar --train 280 --test 140 --frames 16 --seed 1 -o /tmp/radar_tiny.npz
              /tmp/torchvenv/bin/python tools/make_onnx_models.py tests --data /tmp/radar_tiny.npz

  train   trains one classifier on an edgelstm dataset (.npz) and exports it::

              /tmp/torchvenv/bin/python tools/make_onnx_models.py train --data radar.npz --cell lstm \\
                  --units 16 --steps 3000 --out radar_lstm.onnx

  ts2npz  converts a univariate, equal-length .ts file pair (the UCR/UEA archive format, e.g.
          ItalyPowerDemand_TRAIN.ts / _TEST.ts) into an edgelstm .npz (numpy only)::

              python3 tools/make_onnx_models.py ts2npz ItalyPowerDemand_TRAIN.ts ItalyPowerDemand_TEST.ts \\
                  --out italy_power.npz
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------------------------------
# Data


def load_npz(path: str | Path) -> dict:
    """An edgelstm dataset file as arrays (labels as integers 0..C-1)."""
    with np.load(path, allow_pickle=False) as z:
        d = {k: z[k] for k in z.files}
    names = [str(c) for c in d["class_names"]] if "class_names" in d else None
    for split in ("train", "test"):
        y = d[f"y_{split}"]
        if y.dtype.kind in "US":
            names = names or sorted({str(v) for v in y})
            y = np.array([names.index(str(v)) for v in y])
        d[f"y_{split}"] = y.astype(np.int64)
        d[f"X_{split}"] = d[f"X_{split}"].astype(np.float32)
    return d


def read_ts(path: str | Path) -> tuple[np.ndarray, list[str]]:
    """A univariate equal-length .ts file: (N, T) values and N labels."""
    rows, labels, data = [], [], False
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.lower() == "@data":
            data = True
            continue
        if data:
            *values, label = line.split(":")
            if len(values) != 1:
                raise SystemExit(f"{path}: only univariate .ts files are supported")
            rows.append([float(v) for v in values[0].split(",")])
            labels.append(label.strip())
    return np.asarray(rows, dtype=np.float32), labels


def ts2npz(train: str, test: str, out: str) -> None:
    Xtr, ytr = read_ts(train)
    Xte, yte = read_ts(test)
    names = sorted(set(ytr) | set(yte), key=lambda s: (len(s), s))
    np.savez(out, X_train=Xtr[:, :, None], y_train=np.array([names.index(v) for v in ytr]),
             X_test=Xte[:, :, None], y_test=np.array([names.index(v) for v in yte]),
             class_names=np.array([f"class_{n}" for n in names]), feature_names=np.array(["value"]),
             params_json=np.array(json.dumps({"source": Path(train).name.replace("_TRAIN.ts", ""), "format": "ts"})))
    print(f"wrote {out}: train {Xtr.shape}, test {Xte.shape}, classes {names}")


# ------------------------------------------------------------------------------------------
# Models (torch imported here only: ts2npz needs numpy alone)


def make_classifier(features: int, classes: int, mean: np.ndarray, std: np.ndarray, cell: str = "lstm",
                    units: int = 16, layers: int = 1, bidirectional: bool = False, hidden: int = 0,
                    batch_first: bool = True, last: str = "h_n", softmax: bool = False):
    import torch
    from torch import nn

    torch.manual_seed(0)  # the same initial weights on every run

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
            self.register_buffer("std", torch.tensor(std, dtype=torch.float32))
            rnn = nn.LSTM if cell == "lstm" else nn.GRU
            self.rnn = rnn(features, units, num_layers=layers, batch_first=batch_first, bidirectional=bidirectional)
            width = units * (2 if bidirectional else 1)
            self.hidden = nn.Sequential(nn.Linear(width, hidden), nn.ReLU()) if hidden else nn.Identity()
            self.fc = nn.Linear(hidden or width, classes)

        def forward(self, x):
            out, h = self.rnn((x - self.mean) / self.std)
            h = h[0] if isinstance(h, tuple) else h  # LSTM: (h_n, c_n)
            if last == "out":  # the last time step of the output sequence (unidirectional only)
                z = out[:, -1] if batch_first else out[-1]
            elif bidirectional:  # the last layer's forward and backward final states
                z = torch.cat([h[-2], h[-1]], dim=1)
            else:
                z = h[-1]
            y = self.fc(self.hidden(z))
            return torch.softmax(y, dim=-1) if softmax else y

    return Classifier()


def train(model, d: dict, steps: int, lr: float = 1e-2, batch: int = 64, seed: int = 0, batch_first: bool = True):
    import torch

    torch.set_num_threads(1)  # small models: threads cost more than they give
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    X, y = torch.tensor(d["X_train"]), torch.tensor(d["y_train"])
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    for _ in range(steps):
        idx = torch.tensor(rng.integers(0, len(X), min(batch, len(X))))
        xb = X[idx] if batch_first else X[idx].transpose(0, 1)
        opt.zero_grad()
        loss = loss_fn(model(xb), y[idx])
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    return model


def predict(model, X: np.ndarray, batch_first: bool = True) -> np.ndarray:
    import torch

    with torch.no_grad():
        x = torch.tensor(X)
        return model(x if batch_first else x.transpose(0, 1)).numpy()


def export(model, path: Path, window: int, features: int, dynamo: bool, batch_first: bool = True) -> None:
    import torch

    x = torch.zeros((1, window, features) if batch_first else (window, 1, features))
    kw = {} if dynamo else {"dynamic_axes": {"x": {0 if batch_first else 1: "batch"}}}
    torch.onnx.export(model, (x,), str(path), input_names=["x"], output_names=["logits"], dynamo=dynamo, **kw)
    data = path.with_name(path.name + ".data")
    if data.exists():  # the dynamo exporter writes the weights beside the graph: keep one file
        import onnx

        onnx.save(onnx.load(str(path)), str(path))
        data.unlink()


def _norm(d: dict) -> tuple[np.ndarray, np.ndarray]:
    flat = d["X_train"].reshape(-1, d["X_train"].shape[2])
    return flat.mean(0), flat.std(0) + 1e-6


# The committed test models: (file, classifier settings, exporter, training steps).
TEST_MODELS = [
    ("torch_lstm8", dict(cell="lstm", units=8, last="out"), False),
    ("torch_bilstm6x2", dict(cell="lstm", units=6, layers=2, bidirectional=True, hidden=16), True),
    ("torch_gru8", dict(cell="gru", units=8, softmax=True), True),
    ("torch_bigru6x2_tm", dict(cell="gru", units=6, layers=2, bidirectional=True, batch_first=False), False),
]


def make_tests(data: str, out: str, steps: int) -> None:
    d = load_npz(data)
    _, T, F = d["X_train"].shape
    C = int(max(d["y_train"].max(), d["y_test"].max()) + 1)
    mean, std = _norm(d)
    out_dir = Path(out)
    ref = {"x": d["X_test"][:8]}
    for name, kw, dynamo in TEST_MODELS:
        bf = kw.get("batch_first", True)
        model = train(make_classifier(F, C, mean, std, **kw), d, steps, batch_first=bf)
        acc = float(np.mean(np.argmax(predict(model, d["X_test"], bf), -1) == d["y_test"]))
        export(model, out_dir / f"{name}.onnx", T, F, dynamo, bf)
        ref[f"logits_{name}"] = predict(model, ref["x"], bf)
        size = (out_dir / f"{name}.onnx").stat().st_size
        print(f"{name}: test accuracy {acc:.3f} (PyTorch), {size} bytes, {'dynamo' if dynamo else 'TorchScript'} exporter")
    np.savez(out_dir / "torch_reference.npz", **ref)
    print(f"wrote {out_dir / 'torch_reference.npz'}")


def make_one(a) -> None:
    d = load_npz(a.data)
    _, T, F = d["X_train"].shape
    C = int(max(d["y_train"].max(), d["y_test"].max()) + 1)
    mean, std = _norm(d)
    model = make_classifier(F, C, mean, std, cell=a.cell, units=a.units, layers=a.layers,
                            bidirectional=a.bidirectional, hidden=a.hidden)
    model = train(model, d, a.steps, lr=a.lr, batch=a.batch, seed=a.seed)
    acc = float(np.mean(np.argmax(predict(model, d["X_test"]), -1) == d["y_test"]))
    export(model, Path(a.out), T, F, a.dynamo)
    print(f"{a.out}: PyTorch test accuracy {acc:.4f} ({len(d['y_test'])} sequences)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("tests", help="the committed test models")
    t.add_argument("--data", required=True)
    t.add_argument("--out", default=str(REPO / "tests" / "data"))
    t.add_argument("--steps", type=int, default=300)
    o = sub.add_parser("train", help="train and export one classifier")
    o.add_argument("--data", required=True)
    o.add_argument("--out", required=True)
    o.add_argument("--cell", choices=["lstm", "gru"], default="lstm")
    o.add_argument("--units", type=int, default=16)
    o.add_argument("--layers", type=int, default=1)
    o.add_argument("--bidirectional", action="store_true")
    o.add_argument("--hidden", type=int, default=0)
    o.add_argument("--steps", type=int, default=3000)
    o.add_argument("--lr", type=float, default=1e-2)
    o.add_argument("--batch", type=int, default=64)
    o.add_argument("--seed", type=int, default=0)
    o.add_argument("--dynamo", action="store_true", help="the dynamo exporter (default: TorchScript)")
    s = sub.add_parser("ts2npz", help="a .ts file pair -> edgelstm .npz")
    s.add_argument("train_ts")
    s.add_argument("test_ts")
    s.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    if a.cmd == "tests":
        make_tests(a.data, a.out, a.steps)
    elif a.cmd == "train":
        make_one(a)
    else:
        ts2npz(a.train_ts, a.test_ts, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
