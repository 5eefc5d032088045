"""The main job on the built-in radar data: data -> train -> quantize -> export-c -> verify.

Runs the real `edgelstm` commands one after the other (printing each), stops at the first
failure, and ends with a short table of the figures and the time each stage took.

    .venv/bin/python tools/demo.py [--out demo_out] [--cell lstm|gru] [--quick]
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from edgelstm.train import CELLS, TrainConfig


def run(cmd: list[str], log) -> dict | None:
    """Run one edgelstm command (with --json appended when asked) and return its JSON."""
    print(f"\n$ {' '.join(shlex.quote(c) for c in cmd)}", flush=True)
    t0 = time.time()
    wants_json = "--json" in cmd
    proc = subprocess.run(cmd, stdout=subprocess.PIPE if wants_json else None, text=True)
    dt = time.time() - t0
    if proc.returncode != 0:
        print(f"demo: step failed with exit code {proc.returncode}", file=sys.stderr)
        sys.exit(proc.returncode)
    log.append((cmd[1] if cmd[1] != "data" else "data radar", dt))
    if wants_json:
        res = json.loads(proc.stdout)
        print(json.dumps(res, indent=2))
        return res
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="demo_out", help="Working folder (default: demo_out).")
    ap.add_argument("--cell", choices=CELLS, default=TrainConfig.cell)
    ap.add_argument("--units", type=int, default=TrainConfig.units)
    ap.add_argument("--quick", action="store_true", help="Small data and few epochs (a smoke run).")
    ap.add_argument("--qemu", action="store_true", help="Also verify on Cortex-M4 under QEMU (if available).")
    args = ap.parse_args()
    exe = str(Path(sys.executable).parent / "edgelstm")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data, model, q = out / "radar.npz", out / f"{args.cell}.keras", out / f"{args.cell}_int8.tflite"
    cdir = out / f"{args.cell}_c"
    log: list[tuple[str, float]] = []
    size = ["--train", "1400", "--test", "700", "--frames", "32"] if args.quick else []
    epochs = ["--epochs", "4"] if args.quick else []

    run([exe, "data", "radar", "--out", str(data), "--seed", "0", *size], log)
    tr = run([exe, "train", "--data", str(data), "--cell", args.cell, "--units", str(args.units), "--seed", "0",
              *epochs, "--out", str(model), "--json"], log)
    qz = run([exe, "quantize", str(model), "--data", str(data), "--out", str(q), "--json"], log)
    ex = run([exe, "export-c", str(q), "--out", str(cdir), "--name", "radar", "--data", str(data), "--json"], log)
    vf = run([exe, "verify", str(cdir), "--data", str(data), "--json"], log)
    vq = None
    missing = [t for t in ("qemu-system-arm", "arm-none-eabi-gcc") if shutil.which(t) is None]
    if args.qemu and missing:
        print(f"demo: --qemu skipped: {', '.join(missing)} not found (tools/install_system_deps.sh)", file=sys.stderr)
    elif args.qemu:
        vq = run([exe, "verify", str(cdir), "--data", str(data), "--target", "qemu-cortex-m4", "--samples", "300",
                  "--json"], log)

    print("\n== edgelstm demo summary ==")
    print(f"float test accuracy      {tr['float_accuracy']:.4f}")
    print(f"int8 test accuracy       {qz['int8_accuracy']:.4f} (simulator)")
    if qz.get("tflm"):
        print(f"TFLite Micro mismatches  {qz['tflm']['mismatched_bytes']} bytes over {qz['tflm']['sequences']} sequences")
    print(f"C library                {cdir}/ ({ex.get('weights_bytes', '?')} bytes of weights)")
    print(f"host C vs simulator      {vf['mismatches']} mismatching bytes over {vf['samples']} windows")
    if vq is not None:
        print(f"Cortex-M4 (QEMU)         {vq['mismatches']} mismatching bytes, "
              f"{vq.get('instructions_per_frame', '?')} instructions/frame")
    total = sum(t for _, t in log)
    for stage, t in log:
        print(f"  {stage:<10} {t:6.1f} s")
    print(f"  {'total':<10} {total:6.1f} s")


if __name__ == "__main__":
    main()
