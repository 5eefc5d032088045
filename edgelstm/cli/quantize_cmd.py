"""`edgelstm quantize`: float Keras model -> int8 .tflite, with float and int8 accuracy."""

from __future__ import annotations

import click

from ..quantize.pipeline import CalibrationConfig, quantize_model
from .base import Output, cli, output_options

# The calibration options' defaults are CalibrationConfig's (one place); --help shows them.
_CALIB = CalibrationConfig()


@cli.command("quantize")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--data", "data_path", required=True, type=click.Path(dir_okay=False),
              help="Dataset (.npz/.csv): training split for calibration, test split for accuracy.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Output model, e.g. model_int8.tflite.")
@click.option("--calib-samples", type=int, default=_CALIB.samples, show_default=True, help="Calibration sequences from the training split.")
@click.option("--calib-percentile", type=float, default=_CALIB.percentile, show_default=True,
              help="Clip calibration inputs to this percentile (100 = plain min/max).")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=_CALIB.seed, show_default=True,
              help="Seed for drawing the calibration set.")
@click.option("--tflm-samples", type=click.IntRange(min=0), default=None,
              help="Test sequences checked against TFLite Micro (default all; 0 skips the check).")
@click.option("--stack", type=int, default=None,
              help="Frames per cell step (K frames of F features = one step of K*F), for a model whose "
                   "training metadata does not say (ONNX, a foreign Keras model). Default: the metadata's, else 1.")
@output_options()
def quantize_command(model, data_path, out_path, calib_samples, calib_percentile, seed, tflm_samples, stack,
                     out: Output):
    """Quantize MODEL (.keras from `edgelstm train`, or .onnx from PyTorch & co.) to an int8 .tflite.

    LSTM layers become TFLite Micro's fused UNIDIRECTIONAL_SEQUENCE_LSTM (via the TFLite
    converter, run in a child process); GRU layers become edgelstm's integer GRU custom op.
    Prints the float accuracy, the int8 accuracy (bit-exact simulator) and, when the
    tflite-micro package is installed, the agreement with the TFLite Micro interpreter.
    """
    res = quantize_model(
        model, data_path, out_path,
        calib=CalibrationConfig(samples=calib_samples, percentile=calib_percentile, seed=seed),
        tflm_samples=tflm_samples, log=out.note, stack=stack,
    )
    drop = (res.float_accuracy - res.int8_accuracy) * 100
    out.result(f"float accuracy: {res.float_accuracy:.4f}")
    out.result(f"int8 accuracy:  {res.int8_accuracy:.4f} (drop {drop:+.2f} points; bit-exact simulator)")
    if res.tflm is not None:
        t = res.tflm
        out.result(
            f"TFLite Micro:   {t['mismatched_bytes']} mismatching output bytes over {t['sequences']} sequences "
            f"(prediction agreement {t['prediction_agreement']:.4f})"
        )
    else:
        out.result("TFLite Micro:   not checked (GRU custom op, or the tflite-micro package is not installed)")
    size = res.out.stat().st_size
    out.result(f"wrote {res.out} ({size} bytes): {res.model.ir.describe()}")
    out.emit_json({
        "out": str(res.out),
        "float_accuracy": res.float_accuracy,
        "int8_accuracy": res.int8_accuracy,
        "accuracy_drop": res.float_accuracy - res.int8_accuracy,
        "tflm": res.tflm,
        "model_bytes": size,
        "architecture": res.model.ir.describe(),
        "stack": res.model.stack,
        "seconds": {k: round(v, 2) for k, v in res.seconds.items()},
    })
