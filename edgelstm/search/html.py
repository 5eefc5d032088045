"""search.html: the Pareto plot (int8 accuracy vs flash, colour = instructions per frame) and the
trial table, one self-contained page (the plot is an inline PNG)."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from ..fsutil import write_text_atomic


def pareto_png(records: list[dict], front: list[int], limits: dict) -> bytes:
    import matplotlib  # lazy: matplotlib (only the HTML page draws)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # lazy: matplotlib

    done = [r for r in records if r["state"] == "complete" and r["int8_accuracy"] is not None]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    if done:
        xs = [r["footprint"]["flash_bytes"] / 1024 for r in done]
        ys = [r["int8_accuracy"] for r in done]
        cs = [r["footprint"]["instructions_per_frame"] for r in done]
        sc = ax.scatter(xs, ys, c=cs, cmap="viridis", s=28, label="trials")
        fig.colorbar(sc, ax=ax, label="instructions per frame")
        fr = sorted((r for r in done if r["number"] in front), key=lambda r: r["footprint"]["flash_bytes"])
        if fr:
            ax.plot([r["footprint"]["flash_bytes"] / 1024 for r in fr], [r["int8_accuracy"] for r in fr],
                    "r-o", mfc="none", ms=9, lw=1, label="Pareto front")
    if limits.get("flash_bytes"):
        ax.axvline(limits["flash_bytes"] / 1024, color="grey", ls="--", lw=1, label="--max-flash")
    ax.set_xlabel("flash (KB, weights + code)")
    ax.set_ylabel("int8 accuracy (validation split)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _fmt(v, spec: str = "") -> str:
    if v is None:
        return ""
    return format(v, spec) if spec else str(v)


def write_html(path: Path, settings: dict, summ: dict, records: list[dict], front: list[int]) -> None:
    png = base64.b64encode(pareto_png(records, front, settings.get("limits", {}))).decode()
    rows = []
    for r in records:
        p, fp = r["params"] or {}, r["footprint"] or {}
        note = r["pruned_reason"] or r["error"] or ""
        cells = [
            str(r["number"]) + (" *" if r["number"] in front else ""), r["state"], p.get("cell", ""),
            _fmt(p.get("layers")), _fmt((p.get("units") or [None])[0]), _fmt(p.get("stack")),
            ",".join(map(str, p.get("dense_head") or [])), _fmt(p.get("learning_rate"), ".2g"),
            _fmt(p.get("bidirectional")), _fmt(r["int8_accuracy"], ".4f"), _fmt(r["float_accuracy"], ".4f"),
            _fmt(fp.get("flash_bytes"), ","), _fmt(fp.get("ram_bytes"), ","),
            _fmt(fp.get("instructions_per_frame"), ",.0f"), _fmt(r["seconds"]), note,
        ]
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    head = ["trial", "state", "cell", "layers", "units", "K", "dense", "lr", "bi", "int8 acc", "float acc",
            "flash B", "RAM B", "instr/frame", "s", "note"]
    s = settings
    text = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>edgelstm search</title>
<style>body{{font-family:sans-serif;margin:1.5em}} table{{border-collapse:collapse;font-size:13px}}
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}} th{{background:#eee}}</style></head>
<body><h1>edgelstm search</h1>
<p>data {html.escape(str(s.get('data')))}, target {html.escape(str(s.get('target')))}, objective
{html.escape(str(s.get('objective')))}, limits {html.escape(str(s.get('limits')))}</p>
<p>best: trial {summ['best_trial']}, int8 accuracy {_fmt(summ['best_int8_accuracy'], '.4f')} (validation split of
the training data), flash {_fmt(summ['flash_bytes'], ',')} B, RAM {_fmt(summ['ram_bytes'], ',')} B,
{_fmt(summ['instructions_per_frame'], ',.0f')} instructions per frame ({html.escape(str(summ['footprint_source']))});
{summ['trials']} trials: {summ['complete']} complete, {summ['pruned']} pruned, {summ['failed']} failed.
Footprints are predicted by the calibrated footprint model unless marked qemu.</p>
<img alt="Pareto plot" src="data:image/png;base64,{png}">
<h2>Trials (* = Pareto front)</h2>
<table><tr>{''.join(f'<th>{h}</th>' for h in head)}</tr>
{chr(10).join(rows)}
</table></body></html>
"""
    write_text_atomic(path, text, what="search.html")
