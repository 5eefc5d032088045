"""Writing a trained model: MODEL.keras and its metadata MODEL.json, each atomically."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import EdgelstmError
from ..fsutil import atomic_path, check_output_path, write_text_atomic
from .fit import TrainResult


def metadata_path(model_path: str | Path) -> Path:
    """``model.keras`` -> ``model.json`` (the metadata written next to the model)."""
    p = Path(model_path)
    return p.with_suffix(".json")


def save_model(result: TrainResult, out: str | Path) -> tuple[Path, Path]:
    """Write ``out`` (.keras) and its metadata JSON, each atomically."""
    out = Path(out)
    if out.suffix != ".keras":
        raise EdgelstmError(f"model file '{out}' must be a file name ending in .keras", "e.g. --out model.keras")
    check_output_path(out, what="model file")
    check_output_path(metadata_path(out), what="metadata file")  # both or neither
    with atomic_path(out, what="model file", suffix=".keras") as tmp:
        result.model.save(tmp)
    meta = metadata_path(out)
    write_text_atomic(meta, json.dumps(result.metadata, indent=2) + "\n", what="metadata file")
    return out, meta
