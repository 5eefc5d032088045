"""What `edgelstm search` leaves in DIR: search.json, the best (and Pareto) models, the summary.

    best.keras, best.json, best_int8.tflite   the most accurate int8 model within the limits
    pareto/trial_NNNNN{.keras,.json,_int8.tflite}   with --pareto: every model of the Pareto
                                              front (int8 accuracy vs flash vs instructions)
    search.json                               every trial: params, accuracies, footprint, state
    search.html                               the Pareto plot and the trial table
    trials/<study>/                           every finished trial's model (resume reads them)

The best model is the highest validation int8 accuracy (ties: less flash, then fewer
instructions) among the finished trials whose files this DIR holds (a worker on another
machine keeps its own). When the target's cross-compiler and QEMU are installed, the best
model's footprint is measured as `verify --target qemu-<core>` does; a model over a limit
there is passed over for the next one.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from ..codegen import export_c
from ..errors import EdgelstmError
from ..fsutil import atomic_path, write_text_atomic
from .objective import Limits
from ..verify.qemu import measure_footprint

FOOTPRINT_KEYS = ("flash_bytes", "ram_bytes", "instructions_per_frame")


def trial_record(t) -> dict:
    a = t.user_attrs
    return {
        "number": t.number,
        "state": t.state.name.lower(),
        "params": a.get("params"),
        "int8_accuracy": a.get("int8_accuracy"),
        "float_accuracy": a.get("float_accuracy"),
        "footprint": a.get("footprint"),
        "footprint_source": "predicted",
        "seconds": a.get("seconds"),
        "files": a.get("files"),
        "pruned_reason": a.get("pruned_reason"),
        "error": a.get("error"),
        "started": t.datetime_start.isoformat() if t.datetime_start else None,
    }


def finished(records: list[dict], out_dir: Path, limits: Limits) -> list[dict]:
    """Complete trials within the limits whose model files are in ``out_dir``, best first."""
    ok = [r for r in records if r["state"] == "complete" and r["int8_accuracy"] is not None and r["files"]
          and all((out_dir / f).is_file() for f in r["files"].values()) and not limits.violations(r["footprint"])]
    return sorted(ok, key=lambda r: (-r["int8_accuracy"], r["footprint"]["flash_bytes"],
                                     r["footprint"]["instructions_per_frame"], r["number"]))


def pareto_front(records: list[dict]) -> list[dict]:
    """The non-dominated records: higher int8 accuracy, less flash, fewer instructions per frame."""
    def key(r):
        return (-r["int8_accuracy"], r["footprint"]["flash_bytes"], r["footprint"]["instructions_per_frame"])

    front = []
    for r in records:
        k = key(r)
        dominated = any(all(a <= b for a, b in zip(key(o), k)) and key(o) != k for o in records)
        if not dominated:
            front.append(r)
    return sorted(front, key=lambda r: r["footprint"]["flash_bytes"])


def measure_model(tflite: Path, target: str) -> dict | None:
    """The footprint of ``tflite`` on ``target`` measured under QEMU, or None without the tools."""
    try:
        with tempfile.TemporaryDirectory(prefix="edgelstm-search-") as d:
            out = Path(d) / "c"
            export_c(tflite, out, name="model", n_vectors=1)
            fp = measure_footprint(out, f"qemu-{target}", windows=2)
    except EdgelstmError:  # no cross-compiler / QEMU for this target here: keep the prediction
        return None
    return {"flash_bytes": fp["flash_weights_bytes"] + fp["flash_code_bytes"],
            "flash_weights_bytes": fp["flash_weights_bytes"], "flash_code_bytes": fp["flash_code_bytes"],
            "ram_bytes": fp["ram_bytes"], "instructions_per_frame": fp["instructions_per_frame"]}


def choose_best(candidates: list[dict], out_dir: Path, target: str, limits: Limits, measure: bool,
                log: Callable[[str], None]) -> dict | None:
    """The first candidate whose measured footprint (when measurable) is within the limits."""
    for r in candidates:
        if not measure:
            return r
        m = measure_model(out_dir / r["files"]["tflite"], target)
        if m is None:
            log(f"note: the {target} footprint is predicted (no cross-compiler/QEMU for it here)")
            return r
        r["footprint_predicted"] = r["footprint"]
        r["footprint"], r["footprint_source"] = m, f"qemu-{target}"
        over = limits.violations(m)
        if not over:
            return r
        log(f"trial {r['number']}: measured {', '.join(over)} on QEMU; taking the next best")
    return None


def copy_model(out_dir: Path, files: dict, dest_stem: Path) -> dict[str, Path]:
    """Copy a trial's three files to ``dest_stem``.keras/.json/_int8.tflite (each atomically)."""
    dest = {"keras": dest_stem.with_suffix(".keras"), "json": dest_stem.with_suffix(".json"),
            "tflite": dest_stem.parent / f"{dest_stem.name}_int8.tflite"}
    for k, p in dest.items():
        with atomic_path(p, what="search output", suffix=p.suffix) as tmp:
            shutil.copyfile(out_dir / files[k], tmp)
    return dest


def summary(best: dict | None, dest: dict[str, Path] | None, records: list[dict]) -> dict:
    states = [r["state"] for r in records]
    fp = best["footprint"] if best else {}
    return {
        "best_int8_accuracy": best["int8_accuracy"] if best else None,
        "best_float_accuracy": best["float_accuracy"] if best else None,
        "best_params": best["params"] if best else None,
        "best_model": str(dest["keras"]) if dest else None,
        "best_tflite": str(dest["tflite"]) if dest else None,
        "flash_bytes": fp.get("flash_bytes"),
        "ram_bytes": fp.get("ram_bytes"),
        "instructions_per_frame": fp.get("instructions_per_frame"),
        "trials": len(records),
        "pruned": states.count("pruned"),
        "failed": states.count("fail"),
        "complete": states.count("complete"),
        "running": states.count("running"),
        "best_trial": best["number"] if best else None,
        "footprint_source": best["footprint_source"] if best else None,
    }


def write_search_json(path: Path, settings: dict, summ: dict, records: list[dict], pareto: list[int]) -> None:
    doc = {"kind": "edgelstm-search", "settings": settings, "summary": summ, "pareto_trials": pareto,
           "trials": records}
    write_text_atomic(path, json.dumps(doc, indent=1, allow_nan=False) + "\n", what="search.json")
