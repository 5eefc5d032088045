"""Training defaults, measured (issue 15): old defaults, new defaults and a hand-tuned run per dataset.

For every NPZ file, the same cell is trained three ways through the CLI, each model is quantized
(`edgelstm quantize`, whose int8 accuracy is the bit-exact simulator's on the test split) and one
table row per run is printed:

- old:  the defaults before issue 15, as explicit flags: --epochs 30 --batch-size 64 --lr 2e-3
        --patience 8 --val-fraction 0.1 --lr-schedule constant --class-weights none --stack 1
- new:  no training flag at all (the plan `train` prints)
- hand: the flags given with --hand NAME='FLAGS' (e.g. a longer run or --stack 10), when given

    .venv/bin/python tools/bench/bench_training.py DATA.npz [DATA.npz ...] [--cell lstm] [--units 32]
        [--hand ArrowHead='--stack 10 --steps 4000'] [--skip-old] [--json out.json] [--workdir DIR]

NAME is the file name without .npz. Every figure is the CLI's own report (`train --json`,
`quantize --json`); the wall time includes TensorFlow's start-up.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXE = Path(sys.executable).parent / "edgelstm"
OLD_FLAGS = ["--epochs", "30", "--batch-size", "64", "--lr", "2e-3", "--patience", "8", "--val-fraction", "0.1",
             "--lr-schedule", "constant", "--class-weights", "none", "--stack", "1"]


def run_json(args: list[str]) -> dict:
    res = subprocess.run([str(EXE), *args, "--json"], capture_output=True, text=True)
    if res.returncode != 0:
        tail = (res.stderr.strip().splitlines() or ["?"])[-1]
        raise RuntimeError(tail)
    return json.loads(res.stdout)


def measure(data: Path, name: str, flags: list[str], cell: str, units: int, workdir: Path) -> dict:
    model = workdir / f"{data.stem}_{name}.keras"
    for p in (model, model.with_suffix(".json"), workdir / f"{data.stem}_{name}_int8.tflite"):
        p.unlink(missing_ok=True)
    row = {"data": data.stem, "run": name, "flags": " ".join(flags)}
    t0 = time.time()
    try:
        tr = run_json(["train", "--data", str(data), "--cell", cell, "--units", str(units), *flags,
                       "--out", str(model), "-q"])
    except RuntimeError as e:
        return row | {"error": f"train: {e}"}
    row |= {"float": tr["float_accuracy"], "stack": tr["stack"], "steps": tr["plan"]["steps"],
            "epochs_run": tr["epochs_run"], "train_s": round(time.time() - t0, 1)}
    try:
        q = run_json(["quantize", str(model), "--data", str(data), "--out",
                      str(workdir / f"{data.stem}_{name}_int8.tflite"), "-q"])
        row |= {"int8": q["int8_accuracy"], "q_float": q["float_accuracy"]}
    except RuntimeError as e:
        row |= {"int8_error": f"quantize: {e}"}
    return row


def fmt(v) -> str:
    return f"{v:.3f}" if isinstance(v, float) else ("-" if v is None else str(v))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="+", type=Path)
    ap.add_argument("--cell", default="lstm")
    ap.add_argument("--units", type=int, default=32)
    ap.add_argument("--hand", action="append", default=[], metavar="NAME=FLAGS",
                    help="hand-tuned train flags for the dataset NAME (file name without .npz)")
    ap.add_argument("--skip-old", action="store_true", help="do not run the old defaults")
    ap.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    ap.add_argument("--workdir", type=Path, help="keep the models here (default: a temporary folder)")
    a = ap.parse_args(argv)
    hand = {}
    for h in a.hand:
        name, _, flags = h.partition("=")
        hand[name] = shlex.split(flags)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = a.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for data in a.data:
            runs = ([] if a.skip_old else [("old", OLD_FLAGS)]) + [("new", [])]
            if data.stem in hand:
                runs.append(("hand", hand[data.stem]))
            for name, flags in runs:
                row = measure(data, name, flags, a.cell, a.units, work)
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    print(f"\n{a.cell.upper()}({a.units}): float and int8 test accuracy (`edgelstm train` then `edgelstm quantize`)\n")
    print("| dataset | run | flags | stack | steps | epochs run | train s | float | int8 | drop |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if "error" in r:
            print(f"| {r['data']} | {r['run']} | {r['flags'] or '(none)'} | | | | | {r['error']} | | |")
            continue
        drop = r["float"] - r["int8"] if "int8" in r else None
        print(f"| {r['data']} | {r['run']} | {r['flags'] or '(none)'} | {r['stack']} | {r['steps']} | "
              f"{r['epochs_run']} | {r['train_s']} | {fmt(r['float'])} | {fmt(r.get('int8', r.get('int8_error')))} | "
              f"{fmt(drop)} |")
    if a.json:
        a.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
