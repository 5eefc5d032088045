"""Writing the report folder: ``index.html``, the figures and ``report.json``, atomically.

An earlier report in the folder is replaced (its page, JSON and figures); any other file of the
user's is kept, and a folder that is not a report is refused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

from ..errors import EdgelstmError
from ..fsutil import atomic_dir
from ..jsonutil import jsonable
from .compute import REPORT_FORMAT, REPORT_JSON, compute_report
from .deployment import deployment_summary
from .html import render_html
from .plots import FIGURES, render_figures


def _check_out_dir(out: Path) -> None:
    """Refuse to replace a folder that is not an earlier report (as export-c does)."""
    if out.exists():
        if not out.is_dir():
            raise EdgelstmError(f"--out '{out}' exists and is a file", "give a folder name, e.g. --out report")
        entries = list(out.iterdir())
        if entries:
            rj = out / REPORT_JSON
            ok = False
            if rj.is_file():
                try:
                    ok = json.loads(rj.read_text(encoding="utf-8")).get("format") == REPORT_FORMAT
                except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
                    ok = False
            if not ok:
                raise EdgelstmError(f"--out '{out}' is a folder that is not an edgelstm report; not replacing it",
                                    "give a new or empty folder")


def make_report(
    keras_path: str | Path,
    tflite_path: str | Path,
    data_path: str | Path,
    out: str | Path,
    *,
    split: str = "test",
    samples: int | None = None,
    c_dir: str | Path | None = None,
    note: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Compute the report and write ``out/`` (index.html, PNGs, report.json) atomically.

    Returns the summary (what ``edgelstm report --json`` prints).
    """
    out = Path(out)
    note = note or (lambda _m: None)
    _check_out_dir(out)
    rep = compute_report(keras_path, tflite_path, data_path, split=split, samples=samples, c_dir=c_dir, note=note,
                         progress=progress)
    note("drawing the figures...")
    kept: list[str] = []  # an earlier report (its page, JSON and figures) is replaced, the user's other files kept
    with atomic_dir(out, what="report folder", carry_except={"index.html", REPORT_JSON, "*.png"},
                    carried=kept) as tmp:
        _chmod_like_mkdir(tmp)
        pngs = render_figures(rep, tmp)
        (tmp / "index.html").write_text(render_html(rep), encoding="utf-8")
        (tmp / REPORT_JSON).write_text(json.dumps(jsonable(rep), indent=1, allow_nan=False) + "\n",
                                       encoding="utf-8")
    if kept:
        note(f"note: kept {len(kept)} entr{'y' if len(kept) == 1 else 'ies'} of yours in {out}/ that the report "
             f"did not write: {', '.join(kept)[:200]}")
    files = ["index.html", REPORT_JSON, *pngs]
    assert set(pngs) <= set(FIGURES.values())
    s = rep["summary"]
    return {
        "float_accuracy": s["float_accuracy"],
        "int8_accuracy": s["int8_accuracy"],
        "accuracy_drop": s["accuracy_drop"],
        "changed_predictions": s["changed_predictions"],
        "fixed_by_int8": s["fixed_by_int8"],
        "broken_by_int8": s["broken_by_int8"],
        "split": rep["data"]["split"],
        "samples": rep["data"]["samples"],
        "architecture": rep["models"]["architecture"],
        "divergence_last_step": {d["label"]: d["mean_abs"][-1] for d in rep["figures"]["divergence"]["layers"]},
        "float_reference_max_abs_logit_diff": rep["float_reference"]["max_abs_logit_diff"],
        "deployment": deployment_summary(rep.get("deployment")),
        "out": str(out),
        "html": str(out / "index.html"),
        "json": str(out / REPORT_JSON),
        "files": files,
    }


def _chmod_like_mkdir(path: Path) -> None:
    """mkdtemp makes a 0700 folder; a report folder gets the usual permissions (umask applied)."""
    mask = os.umask(0)
    os.umask(mask)
    try:
        os.chmod(path, 0o777 & ~mask)
    except OSError:
        pass
