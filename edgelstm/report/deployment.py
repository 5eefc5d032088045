"""Deployment figures of ``report --c-dir``: what an export folder says about the deployed model.

Its manifest (edgelstm_export.json: name, layers, weights and workspace bytes, state fields,
target), ``NAME_WEIGHTS_BYTES`` from the generated header, and any footprint figures found in
the JSON files of the folder (footprint.json of `export-c --target cortex-*`, or a measurement
another tool wrote there).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..codegen.manifest import MANIFEST, read_manifest

# footprint figures other tools may add to an export folder (shown when present)
FOOTPRINT_NUMBERS = ("flash_bytes", "flash_weights_bytes", "flash_code_bytes", "flash_front_end_bytes", "ram_bytes",
                     "ram_state_bytes", "ram_scratch_bytes", "ram_stack_bytes", "ram_stack_measured_api_bytes",
                     "ram_static_bytes", "stack_bytes", "macs_per_frame", "instructions_per_frame",
                     "instructions_per_window", "instructions_per_mac", "cycles_per_frame")
FOOTPRINT_LABELS = ("core", "target", "cpu", "compiler", "opt")
SUMMARY_KEYS = ("name", "weights_bytes", "header_weights_bytes", "workspace_bytes", "state_bytes", "same_model")


def _json_file(p: Path) -> Any:
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def find_footprint(d: Path) -> tuple[dict, list[str]]:
    """Footprint figures from the manifest and the other JSON files of an export folder.

    Any dict (at any depth up to 3) holding one of FOOTPRINT_NUMBERS contributes them, keyed by
    the path of dict keys leading to it ("cortex-m4.flash_code_bytes"); dicts called
    "footprint", "size", "sizes" or "measurements" add no prefix. Descriptive keys (target,
    cpu, compiler) are taken only next to a number.
    """
    found: dict[str, Any] = {}
    sources: list[str] = []

    def take(obj: Any, src: str, prefix: str, depth: int, max_depth: int = 3) -> None:
        if not isinstance(obj, dict) or depth > max_depth:
            return
        nums = {k: obj[k] for k in FOOTPRINT_NUMBERS
                if isinstance(obj.get(k), (int, float)) and not isinstance(obj.get(k), bool)}
        if nums:
            for k, v in nums.items():
                found.setdefault(prefix + k, v)
            for k in FOOTPRINT_LABELS:
                if isinstance(obj.get(k), str):
                    found.setdefault(prefix + k, obj[k])
            if src not in sources:
                sources.append(src)
        for k, v in obj.items():
            if isinstance(v, dict) and k not in ("board", "boards"):  # a board's capacities, not a footprint
                sub = prefix if k in ("footprint", "size", "sizes", "measurements") else f"{prefix}{k}."
                take(v, src, sub, depth + 1, max_depth)

    # the manifest first, as JSON (a tool may have added figures to it): its top level and its
    # "footprint" entry only (the rest describes the export)
    manifest = _json_file(d / MANIFEST)
    if isinstance(manifest, dict):
        take({k: v for k, v in manifest.items() if not isinstance(v, dict) or k == "footprint"},
             MANIFEST, "", 0, max_depth=1)
    for p in sorted(d.glob("*.json")):
        if p.name == MANIFEST or p.stat().st_size > 2_000_000:
            continue
        obj = _json_file(p)
        if obj is not None:
            take(obj, p.name, "", 0)
    return found, sources


def deployment_figures(c_dir: str | Path, tflite_sha256: str) -> dict:
    """What an export folder says about the deployed model (see the module docstring)."""
    d = Path(c_dir)
    man = read_manifest(d)
    name = man.name
    out: dict[str, Any] = {"dir": str(d), "name": name, "layers": man.layers, "streaming": man.streaming,
                           "model_sha256": man.model_sha256, "same_model": man.model_sha256 == tflite_sha256,
                           "weights_bytes": man.weights_bytes, "workspace_bytes": man.workspace_bytes,
                           "target": man.target}
    state_bytes = man.state_bytes()
    if man.state_fields and state_bytes is not None:
        out["state_bytes"] = state_bytes
    header = d / f"{name}_model.h"
    if header.is_file():
        m = re.search(rf"#define\s+{re.escape(name.upper())}_WEIGHTS_BYTES\s+(\d+)", header.read_text(errors="replace"))
        if m:
            out["header_weights_bytes"] = int(m.group(1))
    fp, sources = find_footprint(d)
    out["footprint"] = fp
    out["footprint_sources"] = sources
    return out


def deployment_summary(dep: dict | None) -> dict | None:
    """The deployment entry of ``edgelstm report --json``."""
    if not dep:
        return None
    d = {k: dep[k] for k in SUMMARY_KEYS if k in dep}
    d["footprint"] = dep.get("footprint") or {}
    return d
