"""Measuring a model shape on QEMU: the data tools/calibrate_footprint.py fits and the tests check.

A shape is built as a random-weight int8 model (edgelstm.testing's synthetic LSTM/GRU, the
converter's and edgelstm's own layouts), exported, cross-compiled and run on the target's QEMU
machine by :func:`edgelstm.verify.qemu.measure_footprint`: the numbers `edgelstm verify
--target qemu-<core> --json` reports for it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..codegen import export_c
from ..testing import GruSynthSpec, SynthSpec, synth_gru_tflite, synth_lstm_tflite
from ..tflite.writer import embed_edgelstm_metadata
from ..verify.qemu import measure_footprint
from .shape import ModelShape

MEASURED_KEYS = ("flash_weights_bytes", "flash_code_bytes", "ram_bytes", "instructions_per_frame")


def synth_model(shape: ModelShape, seed: int = 0) -> bytes:
    """A random-weight int8 ``.tflite`` of ``shape``; a stacked one (K > 1) is the graph of
    (T // K steps, K * F features) with the metadata a trained stacked model carries."""
    kw = dict(window=shape.steps, features=shape.step_features, units=list(shape.units), layers=len(shape.units),
              bidirectional=shape.bidirectional, dense=list(shape.dense), classes=shape.classes, seed=seed)
    raw = synth_lstm_tflite(SynthSpec(**kw)) if shape.cell == "lstm" else synth_gru_tflite(GruSynthSpec(**kw))
    if shape.stack == 1:
        return raw
    return embed_edgelstm_metadata(raw, {"kind": "edgelstm-int8-model", "stack": shape.stack, "window": shape.window})


def measure_shape(shape: ModelShape, target: str, *, windows: int = 2, seed: int = 0) -> dict:
    """The footprint `verify --target qemu-<target>` measures for a model of ``shape``."""
    with tempfile.TemporaryDirectory(prefix="edgelstm-calib-") as d:
        model = Path(d) / "m.tflite"
        model.write_bytes(synth_model(shape, seed))
        out = Path(d) / "out"
        export_c(model, out, name="calib", n_vectors=1)
        fp = measure_footprint(out, f"qemu-{target}", windows=windows, seed=seed)
    return {k: fp[k] for k in MEASURED_KEYS}
