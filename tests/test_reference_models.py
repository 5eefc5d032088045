"""The reference radar models (models/) on the default radar data, regenerated here.

- float vs int8 test accuracy of the 32-unit LSTM and GRU: the int8 drop is at most 1 point
  (re-quantizing the committed float model now, through the converter / the integer GRU);
- the committed int8 files still give the figures their model cards state (a regression check
  for the data generator, the quantizer and the simulator), and TFLite Micro agrees with the
  simulator on the LSTM.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from .conftest import REPO, need_tflm

MODELS = REPO / "models"
MAX_DROP = 0.01  # one percentage point


@pytest.fixture(scope="module")
def radar_default(tmp_path_factory) -> Path:
    """`edgelstm data radar --seed 0` with every default (what the reference models saw)."""
    from edgelstm.data import save_dataset
    from edgelstm.data.radar import generate_radar

    p = tmp_path_factory.mktemp("radar_default") / "radar.npz"
    save_dataset(generate_radar(seed=0), p)
    return p


def _reference(name: str) -> dict:
    return json.loads((MODELS / name / "reference.json").read_text())


@pytest.mark.parametrize("name", ["radar_lstm", "radar_gru"])
def test_int8_drop_at_most_one_point(name, radar_default, tmp_path):
    from edgelstm.quantize.pipeline import quantize_model

    ref = _reference(name)
    if name == "radar_lstm":
        need_tflm()  # quantize checks the LSTM against TFLite Micro; a missing package must not drop that
    res = quantize_model(MODELS / name / f"{name}.keras", radar_default, tmp_path / "q.tflite", tflm_samples=300)
    print(f"{name}: float {res.float_accuracy:.4f}, int8 {res.int8_accuracy:.4f}, "
          f"drop {100 * (res.float_accuracy - res.int8_accuracy):+.2f} points")
    assert res.float_accuracy - res.int8_accuracy <= MAX_DROP
    assert 0.85 <= res.float_accuracy <= 0.97  # realistic difficulty of the default radar data
    # deterministic data + committed float model: the card's float accuracy, exactly
    assert res.float_accuracy == pytest.approx(ref["train"]["float_accuracy"], abs=1e-12)
    if name == "radar_lstm":
        assert res.tflm is not None and res.tflm["mismatched_bytes"] == 0, res.tflm
    else:
        assert res.tflm is None  # TFLite Micro has no kernel for the GRU custom op


@pytest.mark.parametrize("name", ["radar_lstm", "radar_gru"])
def test_committed_int8_model_reproduces_its_card(name, radar_default):
    from edgelstm.data import load_dataset
    from edgelstm.model import load_int8_model

    ref = _reference(name)
    m = load_int8_model(MODELS / name / f"{name}_int8.tflite")
    ds = load_dataset(radar_default)
    y = m.predict_int8(m.quantize_input(ds.X_test))
    acc = float(np.mean(np.argmax(y, -1) == ds.y_test))
    assert acc == pytest.approx(ref["quantize"]["int8_accuracy"], abs=1e-12)
    if name == "radar_lstm":
        need_tflm()
        from edgelstm.oracles import tflm_predict

        xq = m.quantize_input(ds.X_test[:500])
        raw = (MODELS / name / f"{name}_int8.tflite").read_bytes()
        assert int(np.count_nonzero(tflm_predict(raw, xq) != y[:500])) == 0
