"""`edgelstm report`: float vs int8, as an HTML page with figures and a JSON of every number."""

from __future__ import annotations

import click

from ..errors import EdgelstmError
from ..report import make_report
from .base import Output, cli, default_of, output_options


@cli.command("report")
@click.argument("keras_model", metavar="MODEL", type=click.Path(dir_okay=False))
@click.argument("int8_model", metavar="MODEL_int8.tflite", type=click.Path(dir_okay=False))
@click.option("--data", "data_path", required=True, type=click.Path(dir_okay=False), help="Dataset (.npz or .csv).")
@click.option("--out", "-o", "out_dir", required=True, type=click.Path(file_okay=True, dir_okay=True),
              help="Output folder (created; an earlier report there is replaced, your other files in it kept; a folder that is not a report is refused).")
@click.option("--c-dir", "c_dir", type=click.Path(file_okay=True, dir_okay=True), default=None,
              help="An `edgelstm export-c` folder of this model: adds its deployment figures.")
@click.option("--split", type=click.Choice(["test", "train"]), default=default_of(make_report, "split"), show_default=True)
@click.option("--samples", type=int, default=None, help="Only the first N sequences of the split.")
@output_options()
def report_command(keras_model, int8_model, data_path, out_dir, c_dir, split, samples, out: Output):
    """Compare the float MODEL (.keras or .onnx) with its int8 MODEL_int8.tflite: what int8 costs, and where.

    \b
    Writes OUT/index.html (self-contained, figures alongside), the figures as PNGs and
    OUT/report.json (every number of every figure):
      - float vs int8 accuracy, per-class precision/recall, both confusion matrices, and the
        sequences whose prediction changed;
      - per-time-step divergence of every recurrent layer's hidden state (float vs int8);
      - per-layer and per-gate quantization figures: saturated gate pre-activations, cell/state
        range used vs available, calibrated ranges and scales;
      - with --c-dir, the deployment figures of the exported C (weights, state, footprint).
    The int8 accuracy is exactly `edgelstm simulate`'s, the float accuracy exactly Keras' (onnxruntime's for .onnx).
    """
    if samples is not None and samples < 1:
        raise EdgelstmError(f"--samples must be >= 1, got {samples}")
    bar = _LazyBar(out)
    try:
        summary = make_report(keras_model, int8_model, data_path, out_dir, split=split, samples=samples,
                              c_dir=c_dir, note=out.note, progress=bar)
    finally:
        bar.close()
    s = summary
    dep = s.get("deployment") or {}
    if dep and dep.get("same_model") is False:
        out.note(f"note: the export in '{c_dir}' was made from another .tflite than {int8_model} (sha256 differs): "
                 "its deployment figures are not this model's")
    out.result(f"float accuracy: {s['float_accuracy']:.4f}")
    out.result(f"int8 accuracy:  {s['int8_accuracy']:.4f} (drop {100 * s['accuracy_drop']:+.2f} points; "
               f"{s['samples']} {s['split']} sequences)")
    out.result(f"changed predictions: {s['changed_predictions']} ({s['fixed_by_int8']} fixed, "
               f"{s['broken_by_int8']} broken by int8)")
    for label, v in s["divergence_last_step"].items():
        out.result(f"  {label}: mean |h_float - h_int8| after the last frame {v:.4g}")
    out.result(f"wrote {s['html']} ({len(s['files'])} files)")
    out.emit_json(s)


class _LazyBar:
    """A progress bar on stderr created at the first update (the number of sequences is known late)."""

    def __init__(self, out: Output):
        self.out = out
        self.bar = None
        self.done = 0

    def __call__(self, n: int, total: int) -> None:
        if self.bar is None:
            self.bar = self.out.progress(length=total, label=f"float and int8 models, {total} sequences")
            self.bar.__enter__()
        self.bar.update(n)
        self.done += n
        if self.done >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None
