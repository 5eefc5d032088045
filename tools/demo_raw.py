"""Raw radar to a class on the board: data radar --features raw -> data features -> train ->
quantize -> export-c -> verify (host and QEMU Cortex-M4) on the raw ADC frames (`make demo-raw`).

Runs the real `edgelstm` commands one after the other (printing each), stops at the first
failure, and ends with the figures: the fixed-point features against --float (mean absolute dB
error above the noise floor), the accuracies, the C front end's mismatching bytes and its
Cortex-M4 instructions per frame. --compare-float also trains the same model on the --float
features (the accuracy reference) and evaluates the float-trained model on the fixed-point
features.

    .venv/bin/python tools/demo_raw.py [--out demo_raw_out] [--quick] [--compare-float]
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from edgelstm.frontend import FrontEndSpec, features_fixed, features_float, read_raw, to_float_features

ABOVE_NOISE_DB = 3.0  # "above the noise floor": the float reference's bin is > 3 dB over the noise


def run(cmd: list[str], log: list) -> dict | None:
    print(f"\n$ {' '.join(shlex.quote(str(c)) for c in cmd)}", flush=True)
    t0 = time.time()
    wants_json = "--json" in cmd
    proc = subprocess.run([str(c) for c in cmd], stdout=subprocess.PIPE if wants_json else None, text=True)
    dt = time.time() - t0
    if proc.returncode != 0:
        print(f"demo-raw: step failed with exit code {proc.returncode}", file=sys.stderr)
        sys.exit(proc.returncode)
    label = f"{cmd[1]} {cmd[2]}" if cmd[1] == "data" else str(cmd[1])
    log.append((label + (" --float" if "--float" in cmd else ""), dt))
    if wants_json:
        res = json.loads(proc.stdout)
        short = {k: v for k, v in res.items() if not isinstance(v, (dict, list))}
        print(json.dumps(short, indent=2))
        return res
    return None


def feature_error(raw_path: Path, spec: FrontEndSpec, n: int = 200) -> dict:
    """Fixed point vs float64 on the first n test windows: gate agreement, MAE above the noise."""
    raw = read_raw(raw_path)
    X = raw["X_test"][:n]
    d1, d2 = {}, {}
    fx = to_float_features(features_fixed(X, spec, detail=d1), spec).astype(np.float64)
    ff = features_float(X, spec, detail=d2)
    B = spec.doppler_bins
    agree = d1["gate"] == d2["gate"]
    a, b = fx[..., :B][agree], ff[..., :B][agree]
    above = b > ABOVE_NOISE_DB
    return {"frames": int(agree.size), "gate_agreement": float(agree.mean()),
            "doppler_mae_db_above_noise": float(np.abs(a - b)[above].mean()),
            "doppler_max_abs_db_above_noise": float(np.abs(a - b)[above].max()),
            "doppler_mae_db_all_bins": float(np.abs(a - b).mean()),
            "amplitude_mae_db": float(np.abs(fx[..., B + 1][agree] - ff[..., B + 1][agree]).mean())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="demo_raw_out", help="Working folder (default: demo_raw_out).")
    ap.add_argument("--quick", action="store_true", help="Small data and few epochs (a smoke run).")
    ap.add_argument("--compare-float", action="store_true",
                    help="Also train on the --float features and cross-evaluate (about twice the time).")
    ap.add_argument("--units", type=int, default=24)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--samples", type=int, default=100, help="Raw windows verified on the host and on QEMU.")
    args = ap.parse_args()
    exe = Path(sys.executable).parent / "edgelstm"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    raw, feats, featsf = out / "raw.npz", out / "feats.npz", out / "feats_float.npz"
    model, q, cdir = out / "lstm.keras", out / "lstm_int8.tflite", out / "radar_c"
    log: list = []
    size = ["--train", "700", "--test", "350", "--frames", "16"] if args.quick else \
        ["--train", "2800", "--test", "1400", "--frames", "32"]
    epochs = ["--epochs", str(args.epochs or 3)] if (args.quick or args.epochs) else []  # else train's own plan

    run([exe, "data", "radar", "--features", "raw", "--out", raw, "--seed", "0", "--chirps-per-frame", "16",
         "--samples-per-chirp", "64", *size], log)
    fe = run([exe, "data", "features", raw, "--front-end", "doppler", "--out", feats, "--json"], log)
    run([exe, "data", "features", raw, "--front-end", "doppler", "--out", featsf, "--float", "--json"], log)
    spec = FrontEndSpec.from_dict(fe["front_end"])
    err = feature_error(raw, spec)
    print("\nfixed point vs --float features:", json.dumps(err, indent=2))

    train = [exe, "train", "--cell", "lstm", "--units", str(args.units), "--seed", "0", *epochs]
    run([*train, "--data", feats, "--out", model, "--json"], log)
    qz = run([exe, "quantize", model, "--data", feats, "--out", q, "--json"], log)
    run([exe, "export-c", q, "--out", cdir, "--name", "radar", "--json"], log)
    vh = run([exe, "verify", cdir, "--data", raw, "--samples", str(args.samples), "--json"], log)
    vq = run([exe, "verify", cdir, "--data", raw, "--samples", str(min(args.samples, 50)), "--target",
              "qemu-cortex-m4", "--json"], log)

    cmp = {}
    if args.compare_float:
        fmodel = out / "lstm_float_features.keras"
        run([*train, "--data", featsf, "--out", fmodel, "--json"], log)
        qf = run([exe, "quantize", fmodel, "--data", featsf, "--out", out / "lstm_float_features.tflite", "--json"], log)
        qx = run([exe, "quantize", fmodel, "--data", feats, "--out", out / "lstm_float_on_fixed.tflite", "--json"], log)
        cmp = {"trained_on_float_features": {"float": qf["float_accuracy"], "int8": qf["int8_accuracy"]},
               "float_model_on_fixed_features": {"float": qx["float_accuracy"], "int8": qx["int8_accuracy"]}}

    print("\n==== demo-raw figures ====")
    print(f"front end: {spec.chirps} chirps x {spec.samples} samples -> {spec.n_features} features; fixed vs float: "
          f"gate agreement {err['gate_agreement']:.4f}, Doppler MAE {err['doppler_mae_db_above_noise']:.3f} dB above the "
          f"noise floor ({err['doppler_mae_db_all_bins']:.3f} dB over all bins)")
    print(f"model trained on fixed-point features: float {qz['float_accuracy']:.4f}, int8 {qz['int8_accuracy']:.4f}")
    for k, v in cmp.items():
        print(f"  {k.replace('_', ' ')}: float {v['float']:.4f}, int8 {v['int8']:.4f}")
    for v in (vh, vq):
        ipf = v.get("front_end_instructions_per_frame")
        print(f"verify {v['target']}: front end {v['front_end_mismatches']} / {v['front_end_compared_bytes']} "
              f"mismatching bytes, outputs {v['output_mismatches']} / {v['compared_bytes']}"
              + (f"; front end {ipf:,.0f} instructions per frame, {v['front_end_flash_bytes']} B flash, "
                 f"{v['front_end_ram_bytes']} B RAM" if ipf else ""))
    print("time: " + ", ".join(f"{k} {t:.0f} s" for k, t in log) + f"; total {sum(t for _, t in log):.0f} s")
    summary = {"feature_error": err, "accuracy": {"float": qz["float_accuracy"], "int8": qz["int8_accuracy"]},
               "compare_float": cmp, "verify_host": {k: vh.get(k) for k in ("mismatches", "front_end_mismatches")},
               "verify_m4": {k: vq.get(k) for k in ("mismatches", "front_end_mismatches",
                                                     "front_end_instructions_per_frame", "front_end_flash_bytes",
                                                     "front_end_ram_bytes")},
               "seconds": {k: round(t, 1) for k, t in log}}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if vh["mismatches"] or vq["mismatches"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
