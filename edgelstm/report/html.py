"""The report page: one self-contained index.html (inline CSS, PNGs alongside by relative
links, no scripts, no network resources), written from the report dict."""

from __future__ import annotations

import html
import math
from typing import Any

CHANGED_MAX_ROWS = 200

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1180px;color:#222;
line-height:1.45;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}th,td{border:1px solid #ccc;padding:.25em .6em;
text-align:right}th{background:#f3f3f3}td.l,th.l{text-align:left}img{max-width:100%;border:1px solid #eee}
.small{color:#666;font-size:.88em}.warn{background:#fff4e5;border-left:4px solid #f0a020;padding:.5em .8em}
.good{color:#1a7f37}.bad{color:#c62828}code{background:#f6f6f6;padding:0 .2em}
.kpi{display:inline-block;margin:.3em 1.2em .3em 0;padding:.5em .9em;border:1px solid #ddd;border-radius:6px}
.kpi b{font-size:1.4em;display:block}
"""


def _e(v: Any) -> str:
    return html.escape(str(v))


def _pct(v: Any, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{100 * v:.{digits}f} %"


def _num(v: Any, fmt: str = "{:.4g}") -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and not math.isfinite(v):
        return "-"
    if isinstance(v, (int,)) and not isinstance(v, bool):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.1f}" if abs(v) >= 1000 else fmt.format(v)
    return _e(v)


def _table(header: list[str], rows: list[list[Any]], left: int = 1) -> str:
    h = "".join(f"<th class='l'>{_e(c)}</th>" if i < left else f"<th>{_e(c)}</th>" for i, c in enumerate(header))
    body = []
    for r in rows:
        body.append("<tr>" + "".join(
            f"<td class='l'>{c}</td>" if i < left else f"<td>{c}</td>" for i, c in enumerate(r)) + "</tr>")
    return f"<table><tr>{h}</tr>{''.join(body)}</table>"


def _img(name: str, alt: str) -> str:
    return f"<p><a href='{_e(name)}'><img src='{_e(name)}' alt='{_e(alt)}'></a></p>"


def render_html(rep: dict) -> str:
    s = rep["summary"]
    figs = rep["figures"]
    models = rep["models"]
    data = rep["data"]
    names = data["class_names"]
    parts: list[str] = []
    a = parts.append
    a("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>")
    a("<meta name='viewport' content='width=device-width, initial-scale=1'>")
    a(f"<title>edgelstm report: {_e(models['architecture'])}</title><style>{_CSS}</style></head><body>")
    a("<h1>Float vs int8: what int8 costs, and where</h1>")
    a(f"<p class='small'>float model <code>{_e(models['keras']['file'])}</code>, int8 model "
      f"<code>{_e(models['tflite']['file'])}</code> ({_num(models['tflite']['bytes'])} bytes), data "
      f"<code>{_e(data['file'])}</code> ({_e(data['split'])} split, {_num(data['samples'])} sequences of "
      f"{models['window']} frames x {models['features']} features"
      + (f", {models['stack']} frames per cell step" if models.get("stack", 1) > 1 else "") + "). Architecture: "
      f"<b>{_e(models['architecture'])}</b>. edgelstm {_e(rep['edgelstm_version'])}.</p>")
    if models.get("keras_is_quantized_source") is False:
        a("<p class='warn'>The .keras file is not byte for byte the one this .tflite was quantized from (its "
          "sha256 differs from the one recorded in the .tflite); its weights do match the int8 weights, so it is "
          "probably a re-saved copy.</p>")
    if not rep["float_reference"]["ok"]:
        a(f"<p class='warn'>The float reference of the hidden states does not reproduce the Keras outputs "
          f"(max |logit difference| {rep['float_reference']['max_abs_logit_diff']:.3g}); the divergence curves "
          f"are not trustworthy for this model.</p>")

    # -- summary ---------------------------------------------------------------------------
    drop = s["accuracy_drop"] * 100
    cls = "bad" if drop > 0.5 else "good"
    a("<h2>Summary</h2><div>")
    a(f"<span class='kpi'>float accuracy<b>{_pct(s['float_accuracy'])}</b></span>")
    a(f"<span class='kpi'>int8 accuracy<b>{_pct(s['int8_accuracy'])}</b></span>")
    a(f"<span class='kpi'>int8 - float<b class='{cls}'>{-drop:+.2f} points</b></span>")
    a(f"<span class='kpi'>predictions changed<b>{_num(s['changed_predictions'])}</b>"
      f"{s['fixed_by_int8']} fixed, {s['broken_by_int8']} broken</span></div>")
    a(f"<p>The float accuracy is the Keras model's own (<code>model.predict</code>); the int8 accuracy is the "
      f"bit-exact simulator's on the model's own input quantisation, i.e. exactly what <code>edgelstm simulate"
      f"</code>, TensorFlow Lite Micro and the exported C compute. The two models agree on "
      f"{_pct(s['prediction_agreement'])} of the sequences.</p>")

    # -- accuracy --------------------------------------------------------------------------
    acc = figs["accuracy"]
    a("<h2>Accuracy per class</h2>")
    a(_img("accuracy.png", "float vs int8 accuracy, recall and precision per class"))
    rows = []
    for i, n in enumerate(names):
        rf, rq = acc["float"]["recall"][i], acc["int8"]["recall"][i]
        pf, pq = acc["float"]["precision"][i], acc["int8"]["precision"][i]
        rows.append([_e(n), _num(acc["float"]["support"][i]), _pct(rf, 1), _pct(rq, 1), _delta(rf, rq),
                     _pct(pf, 1), _pct(pq, 1), _delta(pf, pq)])
    a(_table(["class", "sequences", "recall float", "recall int8", "change", "precision float", "precision int8",
              "change"], rows))
    a("<h2>Confusion matrices</h2>")
    a(_img("confusion.png", "confusion matrices of the float and the int8 model and their difference"))

    # -- changed predictions ---------------------------------------------------------------
    ch = figs["changed_predictions"]
    a(f"<h2>Sequences whose prediction changed ({ch['count']})</h2>")
    if ch["count"] == 0:
        a("<p class='good'>None: the int8 model predicts the same class as the float model for every sequence.</p>")
    else:
        rows = []
        for it in ch["items"][:CHANGED_MAX_ROWS]:
            verdict = ("int8 right" if it["int8_pred"] == it["label"] else
                       "float right" if it["float_pred"] == it["label"] else "both wrong")
            rows.append([_num(it["index"]), _e(it["label"]), _e(it["float_pred"]), _e(it["int8_pred"]), verdict])
        a(_table(["index in the split", "label", "float prediction", "int8 prediction", ""], rows, left=5))
        if ch["count"] > CHANGED_MAX_ROWS:
            a(f"<p class='small'>First {CHANGED_MAX_ROWS} of {ch['count']}; report.json lists "
              f"{ch['listed']}.</p>")

    # -- divergence ------------------------------------------------------------------------
    dv = figs["divergence"]
    a("<h2>Hidden states over time: does the int8 error grow?</h2>")
    a(_img("divergence.png", "per-time-step divergence of the hidden states"))
    a("<p>For every recurrent layer (and direction), the mean absolute difference between the float model's "
      "hidden state and the int8 model's (dequantized with the layer output's scale and zero point) after each "
      "frame, over all sequences and units. Each layer is fed the float model's own activations. A flat curve "
      "near 1/4 LSB is rounding alone; a curve that climbs means the quantization error accumulates in the "
      "recurrent state.</p>")
    rows = []
    for L in dv["layers"]:
        lsb = L["mean_abs_lsb"]
        rows.append([_e(L["label"]), L["kind"].upper(), _num(L["hidden_scale"]), f"{lsb[0]:.2f}",
                     f"{lsb[len(lsb) // 2]:.2f}", f"{lsb[-1]:.2f}", f"{max(L['max_abs']) / L['hidden_scale']:.1f}"])
    a(_table(["layer", "cell", "hidden LSB", "mean error, frame 1 (LSB)", "middle frame (LSB)", "last frame (LSB)",
              "worst single value (LSB)"], rows))

    # -- per layer ------------------------------------------------------------------------
    a("<h2>Per layer and gate</h2>")
    rows = []
    for L in rep["layers"]:
        st, hd = L["state"], L["hidden"]
        sat = ", ".join(f"{g}: {L['preact_saturated'][g]}" for g in L["gate_names"])
        rows.append([
            _e(L["label"]), f"{L['kind'].upper()}({L['units']})",
            f"{_num(L['input_scale'])} / {L['input_zero_point']}",
            f"{_num(hd['scale'])} / {hd['zero_point']}",
            (f"2^{st['cell_scale_power']}" if "cell_scale_power" in st
             else f"2^-{hd.get('hidden_frac_bits', '?')} (h8)"),
            f"{st['used_float'][0]:.3g} .. {st['used_float'][1]:.3g}",
            f"{st['available_float'][0]:.3g} .. {st['available_float'][1]:.3g}",
            _pct(st["used_fraction_of_range"], 0),
            f"{st['float_model_range'][0]:.3g} .. {st['float_model_range'][1]:.3g}",
            (_pct(st["float_model_beyond_clip_fraction"], 3) if st.get("cell_clip_float") else "no clip"),
            sat, _pct(hd["float_model_outside_fraction"], 3),
        ])
    a(_table(["layer", "cell", "input scale / zp", "hidden scale / zp", "state scale", "state used (int8 model)",
              "state available (int16)", "of range", "float model's state", "float state beyond the cell clip",
              "saturated pre-activations",
              "float h outside int8 range"], rows))
    for L in rep["layers"]:
        hd = L["hidden"]
        if hd.get("state_output_params_differ"):
            a(f"<p class='warn'><b>{_e(L['label'])}</b>: the converter gave this LSTM's hidden-state tensor "
              f"scale {hd['state_tensor_scale']:.6g} / zero point {hd['state_tensor_zero_point']} but its output "
              f"tensor scale {hd['scale']:.6g} / zero point {hd['zero_point']}. TensorFlow Lite Micro (and so "
              f"the simulator and the C) writes h with the former and the next op reads it with the latter: every "
              f"value the next op reads is off by {hd['state_output_offset_lsb']:+.0f} LSB and scaled by "
              f"{hd['state_output_scale_ratio']:.4f}, which shows in the divergence curve. "
              f"It comes from the TFLite converter's handling of Bidirectional layers.</p>")
    a(_img("saturation.png", "gate pre-activation saturation per layer and gate"))
    a("<p>A gate pre-activation (Q3.12, int16) saturates when the gate's input is beyond [-8, 8): the sigmoid "
      "or tanh is then flat anyway, so a few saturations cost little; many mean the weights or inputs are too "
      "large for the fixed format.</p>")
    a(_img("state_range.png", "recurrent state range used vs available"))
    a("<p>The LSTM cell state is int16 with a power-of-two scale chosen from calibration: a range used far "
      "below the available one wastes resolution (coarser cell, larger error); values at the rail or the "
      "cell clip mean the float model goes beyond what int8 can hold.</p>")

    # -- calibration ----------------------------------------------------------------------
    q = rep["quantization"]
    a("<h2>Calibration and scales</h2>")
    a(_img("ranges.png", "data ranges vs the calibrated int8 ranges"))
    cal = q.get("calibration") or {}
    rows = [["input", f"{q['input']['scale']:.6g}", str(q["input"]["zero_point"]),
             f"{q['input']['representable'][0]:.4g} .. {q['input']['representable'][1]:.4g}"],
            ["output", f"{q['output']['scale']:.6g}", str(q["output"]["zero_point"]), ""]]
    for L in rep["layers"]:
        hd = L["hidden"]
        rows.append([_e(L["label"]) + " h", f"{hd['scale']:.6g}", str(hd["zero_point"]),
                     f"{hd['representable'][0]:.4g} .. {hd['representable'][1]:.4g}"])
    a(_table(["tensor", "scale", "zero point", "float range"], rows))
    if cal:
        a(f"<p>Calibration (from the .tflite metadata): {_num(cal.get('samples'))} training sequences, "
          f"percentile {_e(cal.get('percentile'))}, seed {_e(cal.get('seed'))}. Input normalisation stored in the "
          f"model: {'yes' if q.get('normalization') else 'no'}.</p>")
    else:
        a("<p class='small'>No calibration settings recorded in the .tflite (not written by edgelstm quantize).</p>")
    tf = q.get("tflm_agreement")
    if tf:
        a(f"<p>At quantisation time, TensorFlow Lite Micro and the simulator differed in "
          f"{_num(tf.get('mismatched_bytes'))} output bytes over {_num(tf.get('sequences'))} sequences.</p>")

    a("<h2>Model outputs</h2>")
    a(_img("logits.png", "float vs int8 model outputs"))

    # -- deployment -----------------------------------------------------------------------
    dep = rep.get("deployment")
    a("<h2>Deployment</h2>")
    if not dep:
        a("<p class='small'>No exported C folder given (<code>--c-dir</code>).</p>")
    else:
        if not dep.get("same_model"):
            a("<p class='warn'>The export folder holds a different model (its sha256 differs from this "
              ".tflite's): its figures below are for that model.</p>")
        rows = [["C prefix", _e(dep.get("name"))], ["layers", _e(dep.get("layers"))],
                ["streaming API", "yes" if dep.get("streaming") else "no (whole window)"]]
        for k, label in (("weights_bytes", "weights (const, flash), bytes"),
                         ("header_weights_bytes", "NAME_WEIGHTS_BYTES in the header"),
                         ("state_bytes", "state struct (RAM per stream), bytes"),
                         ("workspace_bytes", "whole-window workspace, bytes"),
                         ("macs_per_frame_model", "MACs per frame (recurrent layers, from the model)"),
                         ("macs_head", "MACs of the head (once per classification)")):
            if dep.get(k) is not None:
                rows.append([label, _num(dep[k])])
        for k, v in (dep.get("footprint") or {}).items():
            rows.append([_e(k), _num(v)])
        a(_table(["", ""], rows))
        if dep.get("footprint_sources"):
            a(f"<p class='small'>Measured footprint from: {_e(', '.join(dep['footprint_sources']))}.</p>")
        else:
            a("<p class='small'>No measured footprint (flash/RAM/instructions per frame) in the export folder yet; "
              "see docs/user_guide.md for measuring it on a Cortex-M target.</p>")

    fr = rep["float_reference"]
    a("<h2>How these numbers were made</h2>")
    a(f"<p class='small'>Float hidden states: a float64 shadow of the int8 graph (same op order; each LSTM/GRU "
      f"op run with its Keras layer's float weights, fed the float activations). Its outputs equal Keras' to "
      f"{fr['max_abs_logit_diff']:.2g} (max |difference|), same prediction on {_pct(fr['prediction_agreement'])} "
      f"of the sequences. Every number of this page is in report.json. Generated in "
      f"{rep['seconds'].get('total', 0):.1f} s.</p>")
    a("</body></html>\n")
    return "\n".join(parts)


def _delta(f: Any, q: Any) -> str:
    if f is None or q is None or not (math.isfinite(f) and math.isfinite(q)):
        return "-"
    d = 100 * (q - f)
    if abs(d) < 0.05:
        return "0"
    return f"<span class='{'bad' if d < 0 else 'good'}'>{d:+.1f}</span>"
