"""The report's figures (matplotlib, Agg backend), drawn only from the numbers in report.json.

Each function takes the report dict and a path; ``render_figures`` draws them all.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..plotting import pyplot as _plt
from ..plotting import quiet_plotting

FIGURES = {
    "accuracy": "accuracy.png",
    "confusion": "confusion.png",
    "divergence": "divergence.png",
    "saturation": "saturation.png",
    "state_range": "state_range.png",
    "ranges": "ranges.png",
    "logits": "logits.png",
}

FLOAT_C = "#1f77b4"
INT8_C = "#d62728"
DPI = 100


def _nan(v):
    return np.array([np.nan if x is None else x for x in v], dtype=np.float64)


def _save(fig, path: Path) -> None:
    fig.savefig(path, dpi=DPI, metadata={"Software": None})  # no timestamp: same numbers, same bytes
    _plt().close(fig)


def plot_accuracy(rep: dict, path: Path) -> None:
    f = rep["figures"]["accuracy"]
    plt = _plt()
    names = f["class_names"]
    x = np.arange(len(names))
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), gridspec_kw={"width_ratios": [1, 3, 3]})
    ax = axes[0]
    vals = [f["float_accuracy"] * 100, f["int8_accuracy"] * 100]
    bars = ax.bar(["float", "int8"], vals, color=[FLOAT_C, INT8_C])
    for b, v in zip(bars, vals):
        ax.text(b.get_x() + b.get_width() / 2, v, f"{v:.2f} %", ha="center", va="bottom", fontsize=9)
    ax.set_ylim(0, 105)
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"accuracy ({rep['data']['samples']} {rep['data']['split']} seq.)")
    w = 0.38
    for ax, key, title in ((axes[1], "recall", "recall per class (of each true class, % found)"),
                           (axes[2], "precision", "precision per class (of each predicted class, % right)")):
        fv = _nan(f["float"][key]) * 100
        qv = _nan(f["int8"][key]) * 100
        ax.bar(x - w / 2, np.nan_to_num(fv), w, color=FLOAT_C, label="float")
        ax.bar(x + w / 2, np.nan_to_num(qv), w, color=INT8_C, label="int8")
        for i in range(len(names)):
            d = qv[i] - fv[i]
            if np.isfinite(d) and abs(d) >= 0.05:
                ax.text(i, max(np.nan_to_num(fv[i]), np.nan_to_num(qv[i])) + 1.5, f"{d:+.1f}", ha="center",
                        fontsize=8, color=INT8_C if d < 0 else "green")
        ax.set_xticks(x, names, rotation=30, ha="right")
        ax.set_ylim(0, 112)
        ax.set_title(title, fontsize=10)
        ax.legend(loc="lower right", fontsize=8)
    fig.suptitle("float vs int8: accuracy, per-class recall and precision (numbers: int8 - float, points)",
                 fontsize=11)
    fig.tight_layout()
    _save(fig, path)


def plot_confusion(rep: dict, path: Path) -> None:
    f = rep["figures"]["confusion"]
    plt = _plt()
    names = f["class_names"]
    n = len(names)
    cf = np.array(f["float"])
    cq = np.array(f["int8"])
    size = max(5.0, 0.55 * n + 2.5)
    fig, axes = plt.subplots(1, 3, figsize=(3 * size, size))
    vmax = max(cf.max(), cq.max(), 1)
    diff = cq - cf
    dmax = max(int(np.abs(diff).max()), 1)
    panels = ((axes[0], cf, "float", "Blues", 0, vmax), (axes[1], cq, "int8", "Reds", 0, vmax),
              (axes[2], diff, "int8 - float", "coolwarm", -dmax, dmax))
    for ax, m, title, cmap, lo, hi in panels:
        im = ax.imshow(m, cmap=cmap, vmin=lo, vmax=hi)
        for i in range(n):
            for j in range(n):
                v = int(m[i, j])
                if v == 0 and title.startswith("int8 -"):
                    continue
                light = abs(v - lo) > 0.6 * (hi - lo) if lo == 0 else abs(v) > 0.6 * dmax
                ax.text(j, i, f"{v:+d}" if lo < 0 else str(v), ha="center", va="center", fontsize=8 if n <= 10 else 6,
                        color="white" if light else "black")
        ax.set_xticks(range(n), names, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(n), names, fontsize=8)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true label")
        ax.set_title(title)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.suptitle("confusion matrices (rows: true class, columns: prediction)", fontsize=11)
    fig.tight_layout()
    _save(fig, path)


def plot_divergence(rep: dict, path: Path) -> None:
    f = rep["figures"]["divergence"]
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    t = np.arange(1, f["time_steps"] + 1)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, L in enumerate(f["layers"]):
        c = colors[k % len(colors)]
        axes[0].plot(t, L["mean_abs"], color=c, marker="." if len(t) <= 64 else None, label=L["label"])
        axes[0].axhline(L["rounding_floor"], color=c, ls=":", lw=1)
        axes[1].plot(t, L["mean_abs_lsb"], color=c, marker="." if len(t) <= 64 else None, label=L["label"])
    axes[1].axhline(0.25, color="gray", ls=":", lw=1, label="rounding alone (1/4 LSB)")
    axes[0].set_title("mean |h_float - h_int8| per frame (dotted: 1/4 LSB of each layer)", fontsize=10)
    axes[0].set_ylabel("hidden-state units")
    axes[1].set_title("the same in LSBs of each layer's int8 hidden state", fontsize=10)
    axes[1].set_ylabel("LSB")
    backward = any(L.get("direction") == "backward" for L in f["layers"])
    for ax in axes:
        ax.set_xlabel("frames processed" + (" (backward directions: from the last frame)" if backward else ""))
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("per-time-step divergence of the hidden states: does the int8 error grow with time?", fontsize=11)
    fig.tight_layout()
    _save(fig, path)


def plot_saturation(rep: dict, path: Path) -> None:
    f = rep["figures"]["saturation"]
    plt = _plt()
    layers = f["layers"]
    fig, ax = plt.subplots(figsize=(max(7.0, 2.2 * len(layers) + 3), 4.2))
    gates_all = []
    for L in layers:
        for g in L["gates"]:
            if g not in gates_all:
                gates_all.append(g)
    gate_label = {"i": "input i", "f": "forget f", "g": "cell g", "o": "output o", "z": "update z", "r": "reset r",
                  "h": "candidate h"}
    w = 0.8 / max(len(gates_all), 1)
    x = np.arange(len(layers))
    any_sat = False
    for gi, g in enumerate(gates_all):
        vals = np.array([L["fraction"].get(g, 0.0) for L in layers]) * 100
        any_sat = any_sat or bool(np.any(vals > 0))
        bars = ax.bar(x + (gi - (len(gates_all) - 1) / 2) * w, vals, w, label=gate_label.get(g, g))
        for b, L in zip(bars, layers):
            cnt = L["saturated"].get(g, 0)
            if cnt:
                ax.text(b.get_x() + b.get_width() / 2, b.get_height(), str(cnt), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x, [L["label"] for L in layers])
    ax.set_ylabel("% of gate pre-activations at the int16 rail")
    if not any_sat:
        ax.set_ylim(0, 1)
        ax.text(0.5, 0.5, "no gate pre-activation saturated\n(all within the Q3.12 range [-8, 8))",
                ha="center", va="center", transform=ax.transAxes, fontsize=11, color="green")
    ax.legend(fontsize=8, ncol=2)
    ax.set_title("gate pre-activation saturation per layer and gate (numbers: counts)", fontsize=11)
    fig.tight_layout()
    _save(fig, path)


def plot_state_range(rep: dict, path: Path) -> None:
    f = rep["figures"]["state_range"]
    plt = _plt()
    layers = f["layers"]
    n = len(layers)
    fig, axes = plt.subplots(n, 2, figsize=(13, 2.6 * n + 1.0), squeeze=False,
                             gridspec_kw={"width_ratios": [1.1, 1]})
    for k, L in enumerate(layers):
        ax = axes[k][0]
        lo_a, hi_a = L["available_float"]
        lo_u, hi_u = L["used_float"]
        flo, fhi = L["float_model_range"]
        ax.barh([2], [hi_a - lo_a], left=[lo_a], color="#dddddd", edgecolor="gray", height=0.6)
        ax.barh([1], [hi_u - lo_u], left=[lo_u], color=INT8_C, alpha=0.8, height=0.6)
        if flo is not None and fhi is not None:
            ax.barh([0], [fhi - flo], left=[flo], color=FLOAT_C, alpha=0.8, height=0.6)
        clip = L.get("cell_clip_float")
        if clip:
            for v in (-clip, clip):
                ax.axvline(v, color="black", ls="--", lw=1)
        ax.set_yticks([0, 1, 2], ["float model", "int8 used", "int16 available"], fontsize=8)
        what = "cell state c" if L["kind"] == "cell" else "GRU state h (Q0.15)"
        extra = f", scale 2^{L['cell_scale_power']}" if "cell_scale_power" in L else ""
        pct = 100 * L["used_fraction_of_range"]
        beyond = L.get("float_model_beyond_clip")
        second = ""
        if clip:
            second = f"\ndashed: cell clip +-{clip:.3g}"
            if beyond:
                second += f" ({100 * L['float_model_beyond_clip_fraction']:.2g} % of the float model's values beyond)"
        ax.set_title(f"{L['label']}: {what}{extra}, {pct:.0f} % of the int16 range used{second}", fontsize=9)
        ax.grid(alpha=0.3, axis="x")
        ax2 = axes[k][1]
        h = L["histogram_int16_bins"]
        edges = np.array(h["edges_int16"], dtype=np.float64) * L["scale"]
        counts = np.array(h["counts"], dtype=np.float64)
        ax2.stairs(counts, edges, fill=True, color=INT8_C, alpha=0.8, baseline=0.8)
        ax2.set_yscale("log")
        ax2.set_ylim(bottom=0.8, top=max(2.0, float(counts.max()) * 1.5))
        ax2.set_xlim(edges[0], edges[-1])
        ax2.set_title("histogram of the int8 model's state values (whole int16 range)", fontsize=9)
        ax2.set_ylabel("count", fontsize=8)
        ax2.set_xlabel("float units", fontsize=8)
    fig.suptitle("recurrent state range: used vs available (int16)", fontsize=11)
    fig.tight_layout()
    _save(fig, path)


def plot_ranges(rep: dict, path: Path) -> None:
    f = rep["figures"]["ranges"]
    plt = _plt()
    inp = f["input"]
    hid = f["hidden"]
    fig, axes = plt.subplots(1, 2, figsize=(14, 4.8), gridspec_kw={"width_ratios": [2.2, 1]})
    ax = axes[0]
    names = inp["feature_names"]
    x = np.arange(len(names))
    lo, hi = inp["representable"]
    ax.axhspan(lo, hi, color="#eeeeee", label=f"int8 input range (scale {inp['scale']:.4g}, zp {inp['zero_point']})")
    dmin, dmax = np.array(inp["data_min"]), np.array(inp["data_max"])
    p_lo, p_hi, med = np.array(inp["data_p0_1"]), np.array(inp["data_p99_9"]), np.array(inp["data_median"])
    ax.vlines(x, dmin, dmax, color=FLOAT_C, lw=1, label="data min..max")
    ax.vlines(x, p_lo, p_hi, color=FLOAT_C, lw=5, alpha=0.6, label="0.1..99.9 %")
    ax.plot(x, med, "k_", ms=10, label="median")
    clipped = np.array(inp["clipped_fraction"], dtype=np.float64)
    ci = np.flatnonzero(clipped > 0)
    if len(ci):
        up = ci[dmax[ci] > hi]
        down = ci[dmin[ci] < lo]
        ax.plot(up, np.full(len(up), hi), "v", color=INT8_C, ms=6, label="values clipped at the int8 range")
        ax.plot(down, np.full(len(down), lo), "^", color=INT8_C, ms=6,
                label=None if len(up) else "values clipped at the int8 range")
    ax.set_xticks(x, names, rotation=60, ha="right", fontsize=8)
    top = max(hi, float(np.max(dmax)))
    bottom = min(lo, float(np.min(dmin)))
    ax.set_ylim(bottom - 0.05 * (top - bottom), top + 0.4 * (top - bottom))
    ax.set_ylabel("normalised feature value")
    ax.set_title(f"model input: data vs the calibrated int8 range ({100 * float(np.mean(clipped)):.2g} % of the "
                 f"values clipped; mean |error| {inp['mean_abs_error_lsb']:.2f} LSB)", fontsize=10)
    ax.legend(fontsize=8, loc="upper left", ncol=3)
    ax = axes[1]
    for k, L in enumerate(hid):
        lo_r, hi_r = L["representable"]
        ax.barh([k + 0.18], [hi_r - lo_r], left=[lo_r], height=0.34, color="#cccccc", edgecolor="gray",
                label="int8 range" if k == 0 else None)
        flo, fhi = L["float_model_range"]
        ax.barh([k - 0.18], [fhi - flo], left=[flo], height=0.34, color=FLOAT_C, alpha=0.8,
                label="float model" if k == 0 else None)
    ax.set_yticks(range(len(hid)), [f"{L['label']}\nscale {L['scale']:.3g}\nzp {L['zero_point']}" for L in hid],
                  fontsize=8)
    ext = max([1.0] + [abs(v) for L in hid for v in (*L["representable"], *L["float_model_range"])
                       if v is not None and np.isfinite(v)])
    ax.set_xlim(-1.08 * ext, 1.08 * ext)
    ax.set_ylim(-0.6, len(hid) - 0.4 + 0.5)
    ax.set_xlabel("hidden-state value")
    ax.set_title("hidden states: float range vs int8 range", fontsize=10)
    ax.legend(fontsize=8, loc="upper right", ncol=2)
    fig.suptitle("calibration: the ranges the int8 scales cover", fontsize=11)
    fig.tight_layout()
    _save(fig, path)


def plot_logits(rep: dict, path: Path) -> None:
    f = rep["figures"]["logits"]
    plt = _plt()
    fl = np.array(f["float"], dtype=np.float64)
    q = np.array(f["int8_dequantized"], dtype=np.float64)
    fig, ax = plt.subplots(figsize=(6.2, 5.6))
    if fl.size:
        names = rep["figures"]["accuracy"]["class_names"]
        for c in range(fl.shape[1]):
            ax.scatter(fl[:, c], q[:, c], s=6, alpha=0.5, label=names[c] if c < len(names) else str(c))
        lo = float(min(fl.min(), q.min()))
        hi = float(max(fl.max(), q.max()))
        ax.plot([lo, hi], [lo, hi], color="black", lw=0.8)
    what = "probabilities" if f["softmax_output"] else "logits"
    ax.set_xlabel(f"float model {what}")
    ax.set_ylabel(f"int8 model {what} (dequantized)")
    ax.set_title(f"outputs of {f['sequences']} sequences (mean |error| {f['mean_abs_error']:.3g} over all)",
                 fontsize=10)
    ax.legend(fontsize=7, markerscale=2, loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _save(fig, path)


_DRAW = {
    "accuracy": plot_accuracy,
    "confusion": plot_confusion,
    "divergence": plot_divergence,
    "saturation": plot_saturation,
    "state_range": plot_state_range,
    "ranges": plot_ranges,
    "logits": plot_logits,
}


def render_figures(rep: dict, out_dir: Path) -> list[str]:
    """Draw every figure into ``out_dir``; returns the PNG file names."""
    files = []
    with quiet_plotting():
        for key, fname in FIGURES.items():
            _DRAW[key](rep, Path(out_dir) / fname)
            files.append(fname)
    return files


