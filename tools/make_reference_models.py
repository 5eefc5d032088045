"""Regenerate models/: the reference radar LSTM and GRU, with their model cards.

Runs the real `edgelstm` commands, from the repository root, one after the other:

    data radar (defaults, seed 0) -> train (32 units, seed 0) -> quantize -> export-c (host and
    cortex-m4) -> verify (host gcc, and Cortex-M4 under QEMU when the tools are there) -> report

and writes, for each cell, models/radar_<cell>/:

    radar_<cell>.keras, radar_<cell>.json     the float model and its training metadata
    radar_<cell>_int8.tflite                  the int8 model (edgelstm metadata inside)
    reference.json                            every command's --json output (the card's numbers)
    MODEL_CARD.md                             data settings, commands, accuracies, footprint

The dataset, the exported C folders and the report (HTML + PNGs) stay in --work (default
build/reference_models/, not in git). About 10 minutes on 2 cores, most of it training.

    .venv/bin/python tools/make_reference_models.py [--work build/reference_models] [--cells lstm gru]
    .venv/bin/python tools/make_reference_models.py --keep-trained  # redo quantize..report on the trained models
    .venv/bin/python tools/make_reference_models.py --cards-only    # rewrite the cards from reference.json
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
UNITS = 32
SEED = 0
VERIFY_SAMPLES_HOST = 2000
VERIFY_SAMPLES_QEMU = 300
SCRIPT_CMD = ".venv/bin/python tools/make_reference_models.py"


def sh(cmd: list[str]) -> str:
    return " ".join(shlex.quote(c) for c in cmd)


class Runner:
    def __init__(self, exe: str):
        self.exe = exe
        self.log: list[dict] = []

    def run(self, args: list[str], *, optional: bool = False) -> dict | None:
        """Run `edgelstm ARGS --json` in the repository root; returns its JSON (None if an optional step fails)."""
        cmd = ["edgelstm", *args, "--json"]
        print(f"\n$ {sh(cmd)}", flush=True)
        t0 = time.time()
        proc = subprocess.run([self.exe, *args, "--json"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
        dt = time.time() - t0
        err_lines = [l for l in proc.stderr.splitlines() if l.strip()]
        if proc.returncode != 0:
            try:  # `verify` prints its JSON and exits 1 when something differs: keep the numbers
                res = json.loads(proc.stdout)
            except json.JSONDecodeError:
                res = None
            if isinstance(res, dict):
                print(f"  exit code {proc.returncode} ({dt:.0f} s)", flush=True)
                self.log.append({"command": sh(cmd), "seconds": round(dt, 1), "ok": False,
                                 "exit_code": proc.returncode})
                res["exit_code"] = proc.returncode
                return res
            last = err_lines[-1] if err_lines else f"exit code {proc.returncode}"
            print(f"  failed ({dt:.0f} s): {last}", flush=True)
            self.log.append({"command": sh(cmd), "seconds": round(dt, 1), "ok": False, "error": last})
            if optional:
                return None
            sys.exit(f"make_reference_models: a required step failed: {last}")
        res = json.loads(proc.stdout)
        print(f"  ok ({dt:.0f} s)", flush=True)
        self.log.append({"command": sh(cmd), "seconds": round(dt, 1), "ok": True})
        return res


def git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def provenance() -> dict:
    radar_commit = git("log", "-1", "--format=%H", "--", "edgelstm/data/radar")
    dirty = bool(git("status", "--porcelain", "--", "edgelstm/data/radar"))
    from importlib.metadata import PackageNotFoundError, version

    import numpy as np

    versions = {"python": platform.python_version(), "numpy": np.__version__}
    for dist, key in (("tensorflow", "tensorflow"), ("keras", "keras"), ("tf-keras", "tf_keras")):
        try:
            versions[key] = version(dist)
        except PackageNotFoundError:
            versions[key] = "?"
    from edgelstm import __version__

    return {
        "edgelstm_version": __version__,
        "repo_commit": git("rev-parse", "HEAD"),
        "radar_py_commit": radar_commit,
        "radar_py_modified": dirty,
        "versions": versions,
        "machine": f"{platform.machine()}, {platform.system()}",
        "date": time.strftime("%Y-%m-%d"),
    }


def rel(p: Path | str) -> str:
    """A path as the commands show it: relative to the repository root when inside it."""
    p = Path(p).resolve()
    return str(p.relative_to(REPO)) if p.is_relative_to(REPO) else str(p)


def build_cell(r: Runner, cell: str, data: str, work: Path, out_root: Path, epochs: int | None = None,
               previous: dict | None = None) -> dict:
    name = f"radar_{cell}"
    mdir = out_root / name
    mdir.mkdir(parents=True, exist_ok=True)
    keras_p = rel(mdir / f"{name}.keras")
    tfl_p = rel(mdir / f"{name}_int8.tflite")
    c_host = rel(work / f"{name}_c")
    c_m4 = rel(work / f"{name}_m4")
    report_dir = rel(work / f"{name}_report")
    res: dict = {"name": name, "cell": cell, "commands": {}}

    def step(key: str, args: list[str], optional: bool = False):
        res["commands"][key] = sh(["edgelstm", *args])
        out = r.run(args, optional=optional)
        res[key] = out
        return out

    train_args = ["train", "--data", data, "--cell", cell, "--units", str(UNITS), "--seed", str(SEED),
                  *(["--epochs", str(epochs)] if epochs else []), "--out", keras_p]
    if previous is not None:  # --keep-trained: the float model and its training figures as they are
        res["commands"]["train"] = previous["commands"]["train"]
        res["train"] = previous["train"]
        r.log.append({"command": sh(["edgelstm", *train_args, "--json"]), "reused": True,
                      "note": "kept from the previous run (--keep-trained)"})
    else:
        step("train", train_args)
    step("quantize", ["quantize", keras_p, "--data", data, "--out", tfl_p])
    step("export_host", ["export-c", tfl_p, "--out", c_host, "--name", name, "--data", data])
    step("verify_host", ["verify", c_host, "--data", data, "--samples", str(VERIFY_SAMPLES_HOST)])
    have_arm = shutil.which("arm-none-eabi-gcc") is not None
    have_qemu = shutil.which("qemu-system-arm") is not None
    if have_arm:
        m4 = step("export_m4", ["export-c", tfl_p, "--out", c_m4, "--name", name, "--target", "cortex-m4",
                                "--data", data], optional=True)
        if m4 and m4.get("footprint"):
            # the report reads footprint figures from JSON files in the export folder
            (REPO / c_m4 / "footprint.json").write_text(json.dumps(m4["footprint"], indent=1) + "\n")
        if have_qemu and m4:
            step("verify_m4", ["verify", c_m4, "--data", data, "--target", "qemu-cortex-m4", "--samples",
                               str(VERIFY_SAMPLES_QEMU)], optional=True)
    c_for_report = c_m4 if res.get("export_m4") else c_host
    step("report", ["report", keras_p, tfl_p, "--data", data, "--out", report_dir, "--c-dir", c_for_report])
    rep_full = json.loads((REPO / report_dir / "report.json").read_text())
    res["report_details"] = {
        "layers": [{k: L[k] for k in ("label", "kind", "units", "input_scale", "input_zero_point", "hidden",
                                      "preact_saturated", "elements_per_gate")}
                   | {"state": {k: v for k, v in L["state"].items() if k != "histogram_int16_bins"},
                      "divergence_lsb": {"first": L["divergence"]["mean_abs_lsb"][0],
                                         "last": L["divergence"]["mean_abs_lsb"][-1],
                                         "mean": sum(L["divergence"]["mean_abs_lsb"]) / len(L["divergence"]["mean_abs_lsb"])}}
                   for L in rep_full["layers"]],
        "quantization": rep_full["quantization"],
        "per_class": {"class_names": rep_full["figures"]["accuracy"]["class_names"],
                      "float": rep_full["figures"]["accuracy"]["float"], "int8": rep_full["figures"]["accuracy"]["int8"]},
        "confusion": {"float": rep_full["figures"]["confusion"]["float"], "int8": rep_full["figures"]["confusion"]["int8"]},
        "float_reference": rep_full["float_reference"],
        "tflite_bytes": rep_full["models"]["tflite"]["bytes"],
        "architecture": rep_full["models"]["architecture"],
    }
    for f in (keras_p, tfl_p):
        res.setdefault("files", {})[Path(f).name] = (REPO / f).stat().st_size
    return res


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.2f} %"


def _b(v) -> str:
    return "-" if v is None else f"{int(v):,} B"


def write_card(res: dict, data_res: dict, data_cmd: str, prov: dict, mdir: Path, script_cmd: str) -> None:
    name, cell = res["name"], res["cell"]
    tr, q, rep, det = res["train"], res["quantize"], res["report"], res["report_details"]
    p = data_res["params"]
    cfg = p["config"]
    meta = json.loads((mdir / f"{name}.json").read_text())
    tc = meta["config"]
    vh = res.get("verify_host") or {}
    vm = res.get("verify_m4")
    fp = (res.get("export_m4") or {}).get("footprint") or {}
    L0 = det["layers"][0]
    lines = [
        f"# {name}: reference radar {cell.upper()} classifier",
        "",
        f"A {det['architecture']} classifier of edgelstm's simulated 60 GHz FMCW radar sequences "
        f"(7 classes: {', '.join(data_res['classes'])}), quantized to int8 and exported to C. It is the "
        "reference model of this repository: the numbers below are what the pipeline gives on the built-in "
        "data, and a regression check for anyone changing the data generator, the trainer or the quantizer.",
        "",
        "**Intended use**: examples, tests, benchmarks of the deployment path (simulator, C, Cortex-M). "
        "**Not** a radar product: it was trained on simulated data only (see docs/radar_data.md for what "
        "the simulator models and what it does not) and has not seen a real sensor.",
        "",
        "## Files",
        "",
        "| file | what |",
        "|---|---|",
        f"| `{name}.keras` | float Keras 3 model ({res['files'][name + '.keras']:,} bytes), normalisation inside |",
        f"| `{name}.json` | training metadata (`edgelstm train`) |",
        f"| `{name}_int8.tflite` | int8 model ({res['files'][name + '_int8.tflite']:,} bytes; metadata: normalisation, "
        "classes, calibration, accuracies) |",
        "| `reference.json` | every command's `--json` output, from which this card is written |",
        "",
        "## Data",
        "",
        f"`edgelstm data radar` (seed {p['seed']}): {p['n_train']:,} training and "
        f"{p['n_test']:,} test sequences (equal counts per class), {p['frames']} frames each "
        f"({p['frames'] / cfg['frame_rate_hz']:.1f} s at {cfg['frame_rate_hz']:g} frames/s), `{p['features']}` features "
        f"(F = {data_res['n_features']}: {cfg['doppler_bins']} Doppler bins in dB, range, amplitude).",
        "",
        "| setting | value |",
        "|---|---|",
        f"| carrier, bandwidth | {cfg['carrier_hz'] / 1e9:g} GHz, {cfg['bandwidth_hz'] / 1e9:g} GHz |",
        f"| chirp, chirps per frame | {cfg['chirp_duration_s'] * 1e6:g} us, {cfg['chirps_per_frame']} |",
        f"| SNR per chirp | {cfg['snr_db_range'][0]:g} .. {cfg['snr_db_range'][1]:g} dB |",
        f"| clutter | {cfg['clutter_db_range'][0]:g} .. {cfg['clutter_db_range'][1]:g} dB |",
        f"| interference spikes | p = {cfg['spike_probability']:g} per frame, {cfg['spike_db_range'][0]:g} .. "
        f"{cfg['spike_db_range'][1]:g} dB |",
        f"| start range | {cfg['range_m_range'][0]:g} .. {cfg['range_m_range'][1]:g} m |",
        f"| generator | `edgelstm/data/radar/` at commit `{prov['radar_py_commit'][:12]}`"
        + (" (with uncommitted changes)" if prov["radar_py_modified"] else "") + f", model version {p['model_version']} |",
        "",
        "## Training",
        "",
        f"Keras {prov['versions'].get('keras', '?')} (TensorFlow {prov['versions'].get('tensorflow', '?')}): "
        f"{tc['cell'].upper()}({tc['units']}), {tc['layers']} layer, Dense({len(data_res['classes'])}) logits, per-feature "
        f"normalisation from the training split; Adam lr {tc['learning_rate']:g}, batch {tc['batch_size']}, at most "
        f"{tc['epochs']} epochs with early stopping on the validation loss (patience {tc['patience']}, "
        f"{100 * tc['val_fraction']:.0f} % of the training data held out), seed {tc['seed']}. "
        f"Ran {tr['epochs_run']} epochs in {tr['train_seconds']:.0f} s.",
        "",
        "## Results (test split, 2,000 sequences)" if p["n_test"] == 2000 else f"## Results (test split, {p['n_test']} sequences)",
        "",
        "| | value |",
        "|---|---|",
        f"| float accuracy (Keras) | {_pct(rep['float_accuracy'])} |",
        f"| int8 accuracy (bit-exact simulator = TFLite Micro = C) | {_pct(rep['int8_accuracy'])} |",
        f"| int8 - float | {-100 * rep['accuracy_drop']:+.2f} points |",
        f"| predictions changed by int8 | {rep['changed_predictions']} ({rep['fixed_by_int8']} fixed, "
        f"{rep['broken_by_int8']} broken, "
        f"{rep['changed_predictions'] - rep['fixed_by_int8'] - rep['broken_by_int8']} wrong either way) |",
    ]
    if q.get("tflm"):
        t = q["tflm"]
        lines.append(f"| TFLite Micro vs simulator | {t['mismatched_bytes']} mismatching output bytes over "
                     f"{t['sequences']:,} sequences |")
    else:
        lines.append("| TFLite Micro vs simulator | not applicable (edgelstm's integer GRU is a custom op) |")
    if vh:
        lines.append(f"| host C (gcc) vs simulator | {vh['mismatches']} mismatching bytes of "
                     f"{vh['compared_bytes']:,} ({vh['samples']:,} windows, classify"
                     f"{' + streaming' if vh.get('streaming') else ''}) |")
    if vm:
        lines.append(f"| Cortex-M4 (QEMU, {vm.get('compiler', 'arm-none-eabi-gcc')}) vs simulator | {vm['mismatches']} "
                     f"mismatching bytes of {vm['compared_bytes']:,} ({vm['samples']:,} windows)"
                     + (" **: not bit-exact when this card was made**" if vm["mismatches"] else "") + " |")
    elif "verify_m4" in res["commands"]:
        lines.append("| Cortex-M4 (QEMU) vs simulator | the run failed when this card was made (see reference.json) |")
    lines += [
        "",
        "Per class (recall, float -> int8): " + ", ".join(
            f"{n} {100 * f:.1f} -> {100 * i:.1f} %" for n, f, i in zip(
                det["per_class"]["class_names"], det["per_class"]["float"]["recall"], det["per_class"]["int8"]["recall"])
        ) + ".",
        "",
        "## Quantization",
        "",
        f"Calibration: {det['quantization']['calibration']['samples']} training sequences (stratified, seed "
        f"{det['quantization']['calibration']['seed']}), plain min/max (percentile "
        f"{det['quantization']['calibration']['percentile']:g}). Input: scale {det['quantization']['input']['scale']:.6g}, "
        f"zero point {det['quantization']['input']['zero_point']} (normalised range "
        f"{det['quantization']['input']['representable'][0]:.3g} .. {det['quantization']['input']['representable'][1]:.3g}).",
        "",
    ]
    hid = L0["hidden"]
    st = L0["state"]
    if cell == "lstm":
        lines.append(f"Hidden state: scale {hid['scale']:.6g}, zero point {hid['zero_point']}. Cell state: int16, scale "
                     f"2^{st['cell_scale_power']}, used {st['used_float'][0]:.3g} .. {st['used_float'][1]:.3g} of "
                     f"{st['available_float'][0]:.3g} .. {st['available_float'][1]:.3g}"
                     + (f", clipped at +-{st['cell_clip_float']:.3g} (the converter's cell clip)"
                        if st.get("cell_clip_float") else "")
                     + f". The float model's cell spans {st['float_model_range'][0]:.3g} .. "
                     f"{st['float_model_range'][1]:.3g}"
                     + (f"; {100 * st['float_model_beyond_clip_fraction']:.2g} % of its values lie beyond the clip, "
                        "where tanh(c) is within 5e-9 of +-1 (the clip changes how long such a cell takes to decay, "
                        "not the current output)" if st.get("float_model_beyond_clip") else "")
                     + ".")
    else:
        lines.append(f"State: int16 Q0.15, used {st['used_float'][0]:.3g} .. {st['used_float'][1]:.3g}; int8 output "
                     f"scale 2^-{hid.get('hidden_frac_bits')} (k = {hid.get('hidden_frac_bits')}).")
    sat = ", ".join(f"{g} {c}" for g, c in L0["preact_saturated"].items())
    lines += [
        "",
        f"Saturated gate pre-activations over the test split: {sat} (of {L0['elements_per_gate']:,} per gate). "
        f"Hidden-state divergence from the float model (mean |h_float - h_int8| in LSB of the int8 hidden state): "
        f"{L0['divergence_lsb']['first']:.2f} after the first frame, {L0['divergence_lsb']['last']:.2f} after the "
        f"last (mean {L0['divergence_lsb']['mean']:.2f}).",
        "",
        "## Footprint",
        "",
        "| | value |",
        "|---|---|",
        f"| int8 .tflite | {_b(det['tflite_bytes'])} |",
        f"| C weights (`{name.upper()}_WEIGHTS_BYTES`, const) | {_b(res['export_host']['weights_bytes'])} |",
    ]
    if fp:
        lines += [
            f"| Cortex-M4 flash ({fp.get('compiler', '')} {fp.get('opt', '')}) | {_b(fp.get('flash_bytes'))} = weights "
            f"{_b(fp.get('flash_weights_bytes'))} + code {_b(fp.get('flash_code_bytes'))} |",
            f"| Cortex-M4 RAM | {_b(fp.get('ram_bytes'))} = state {_b(fp.get('ram_state_bytes'))} + scratch "
            f"{_b(fp.get('ram_scratch_bytes'))} + stack {_b(fp.get('ram_stack_bytes'))} |",
            f"| MACs per frame | {fp.get('macs_per_frame', 0):,} |",
        ]
        if fp.get("instructions_per_frame"):
            lines.append(f"| Cortex-M4 instructions per frame (QEMU -icount) | {fp['instructions_per_frame']:,.0f} "
                         f"({fp.get('instructions_per_mac', 0):.2f} per MAC) |")
    else:
        lines.append("| Cortex-M4 | not measured (arm-none-eabi-gcc / QEMU missing when this card was made) |")
    lines += [
        "",
        "## Rebuild",
        "",
        f"`{script_cmd}` runs exactly these commands from the repository root and rewrites this card "
        f"(about 10 minutes on 2 cores, most of it training):",
        "",
        "```sh",
        data_cmd,
        *[res["commands"][k] for k in ("train", "quantize", "export_host", "verify_host", "export_m4", "verify_m4",
                                       "report") if k in res["commands"]],
        "```",
        "",
        "Training is seeded and deterministic on one machine (TensorFlow op determinism); another CPU or "
        "TensorFlow version can give slightly different weights and accuracies. Built with edgelstm "
        f"{prov['edgelstm_version']} at commit `{prov['repo_commit'][:12]}` on {prov['date']} ({prov['machine']}, "
        f"Python {prov['versions']['python']}, numpy {prov['versions']['numpy']}, TensorFlow "
        f"{prov['versions'].get('tensorflow', '?')}, Keras {prov['versions'].get('keras', '?')}, tf-keras "
        f"{prov['versions'].get('tf_keras', '?')}).",
        "",
    ]
    (mdir / "MODEL_CARD.md").write_text("\n".join(lines))


def write_index(out_root: Path, cells: list[str], prov: dict) -> None:
    """models/README.md: one line per reference model (from each reference.json)."""
    rows = []
    dp: dict = {}
    for d in sorted(out_root.glob("radar_*/reference.json")):
        ref = json.loads(d.read_text())
        dp = ref["data"]["params"]
        rep = ref["report"]
        fp = (ref.get("export_m4") or {}).get("footprint") or {}
        flash = f"{fp['flash_bytes']:,} B" if fp.get("flash_bytes") else "-"
        ram = f"{fp['ram_bytes']:,} B" if fp.get("ram_bytes") else "-"
        ipf = f"{fp['instructions_per_frame']:,.0f}" if fp.get("instructions_per_frame") else "-"
        name = d.parent.name
        rows.append(f"| [{name}]({name}/MODEL_CARD.md) | {ref['report_details']['architecture']} | "
                    f"{100 * rep['float_accuracy']:.2f} % | {100 * rep['int8_accuracy']:.2f} % | "
                    f"{ref['report_details']['tflite_bytes']:,} B | {flash} | {ram} | {ipf} |")
    text = "\n".join([
        "# Reference models",
        "",
        f"Radar classifiers trained on edgelstm's built-in radar data (`edgelstm data radar`, seed "
        f"{dp.get('seed')}: {dp.get('n_train', 0):,} training and {dp.get('n_test', 0):,} test sequences of "
        f"{dp.get('frames')} frames, `{dp.get('features')}` features, 7 classes), with their int8 "
        "models and model cards. Accuracies on the test split; flash, RAM and instructions per frame on a "
        "Cortex-M4 (arm-none-eabi-gcc -O2, instructions counted in QEMU).",
        "",
        "| model | layers | float | int8 | .tflite | Cortex-M4 flash | RAM | instructions / frame |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        "Rebuild all of it (about 10 minutes on 2 cores, most of it training): "
        "`.venv/bin/python tools/make_reference_models.py`. "
        "Each card lists the exact commands. See docs/user_guide.md for using them.",
        "",
    ])
    (out_root / "README.md").write_text(text)


def rewrite_cards(out_root: Path, cells: list[str]) -> None:
    prov = {}
    for cell in cells:
        mdir = out_root / f"radar_{cell}"
        ref = json.loads((mdir / "reference.json").read_text())
        prov = ref["provenance"]
        res = {k: v for k, v in ref.items() if k not in ("provenance", "data", "data_command", "log")}
        res["name"] = mdir.name
        write_card(res, ref["data"], ref["data_command"], prov, mdir, SCRIPT_CMD)
        print(f"rewrote {mdir}/MODEL_CARD.md")
    write_index(out_root, cells, prov)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default="build/reference_models", help="Working folder (data, C exports, reports).")
    ap.add_argument("--out", default="models", help="Where the models and cards go (default: models).")
    ap.add_argument("--cells", nargs="+", choices=["lstm", "gru"], default=["lstm", "gru"])
    ap.add_argument("--quick", action="store_true",
                    help="Smoke run: small data, 2 epochs (use another --out; these are not the reference models).")
    ap.add_argument("--keep-trained", action="store_true",
                    help="Keep the trained float models (and their training figures) and redo every later step: "
                         "quantize, export-c, verify, report (after a runtime or quantizer change).")
    ap.add_argument("--cards-only", action="store_true",
                    help="Only rewrite MODEL_CARD.md and README.md from the reference.json files (runs nothing).")
    args = ap.parse_args()
    if args.cards_only:
        rewrite_cards((REPO / args.out).resolve(), args.cells)
        return
    exe = str(Path(sys.executable).parent / "edgelstm")
    work = (REPO / args.work).resolve()
    out_root = (REPO / args.out).resolve()
    work.mkdir(parents=True, exist_ok=True)
    r = Runner(exe)
    t0 = time.time()
    prov = provenance()
    data = rel(work / "radar.npz")
    data_args = ["data", "radar", "--out", data, "--seed", str(SEED)]
    epochs = None
    if args.quick:  # a smoke run of this script, not the reference models
        data_args += ["--train", "700", "--test", "350", "--frames", "32"]
        epochs = 2
    data_res = r.run(data_args)
    data_cmd = sh(["edgelstm", *data_args])
    script_cmd = SCRIPT_CMD
    for cell in args.cells:
        first = len(r.log)
        previous = None
        if args.keep_trained:
            ref_p = out_root / f"radar_{cell}" / "reference.json"
            keras_file = out_root / f"radar_{cell}" / f"radar_{cell}.keras"
            if not (ref_p.is_file() and keras_file.is_file()):
                sys.exit(f"make_reference_models: --keep-trained needs {keras_file} and {ref_p}; run without it first")
            previous = json.loads(ref_p.read_text())
        res = build_cell(r, cell, data, work, out_root, epochs=epochs, previous=previous)
        mdir = out_root / res["name"]
        ref = {"provenance": prov, "data": {k: v for k, v in data_res.items() if k != "out"},
               "data_command": data_cmd, **{k: v for k, v in res.items() if k not in ("name",)}}
        ref["log"] = r.log[:1] + r.log[first:]
        (mdir / "reference.json").write_text(json.dumps(ref, indent=1) + "\n")
        write_card(res, data_res, data_cmd, prov, mdir, script_cmd)
        print(f"\nwrote {mdir.relative_to(REPO) if mdir.is_relative_to(REPO) else mdir}/MODEL_CARD.md: float "
              f"{res['report']['float_accuracy']:.4f}, int8 {res['report']['int8_accuracy']:.4f}; report in "
              f"{res['report']['out']}", flush=True)
    write_index(out_root, args.cells, prov)
    print(f"\ndone in {time.time() - t0:.0f} s; edgelstm/data/radar/ at {prov['radar_py_commit']}"
          + (" (modified)" if prov["radar_py_modified"] else ""))


if __name__ == "__main__":
    main()
