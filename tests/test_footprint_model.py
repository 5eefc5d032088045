"""The footprint model of `edgelstm search` against QEMU: within 5 % on shapes not calibrated.

Four shapes outside tools/calibrate_footprint.py's grid (an LSTM with a Dense head, two stacked
GRU layers, a frame-stacked LSTM with K = 3, a small GRU of 6 units) are exported and measured on QEMU Cortex-M4 as
`edgelstm verify --target qemu-cortex-m4` does; flash (weights + code), RAM and instructions
per frame predicted from the shape alone must be within 5 %.
"""

from __future__ import annotations

import pytest

from edgelstm.errors import EdgelstmError
from edgelstm.search.calibration import measure_shape
from edgelstm.search.footprint_model import calibrated_targets, predict
from edgelstm.search.shape import ModelShape

from .conftest import need_tool

HELD_OUT = {
    "lstm20_dense10": ModelShape("lstm", (20,), features=5, window=16, classes=3, dense=(10,)),
    "gru14x2": ModelShape("gru", (14, 14), features=3, window=12, classes=4),
    "lstm10_k3": ModelShape("lstm", (10,), features=2, window=30, classes=2, stack=3),
    # a small GRU: its partial groups of 4 rows (3U, 2U, U rows) weigh most in small cells
    "gru6": ModelShape("gru", (6,), features=3, window=20, classes=3),
}


@pytest.mark.parametrize("name", list(HELD_OUT))
def test_prediction_within_5_percent_of_qemu(name):
    need_tool("arm-none-eabi-gcc")
    need_tool("qemu-system-arm")
    shape = HELD_OUT[name]
    m = measure_shape(shape, "cortex-m4")
    p = predict(shape, "cortex-m4")
    measured = {"flash_bytes": m["flash_weights_bytes"] + m["flash_code_bytes"], "ram_bytes": m["ram_bytes"],
                "instructions_per_frame": m["instructions_per_frame"]}
    got = p.to_json()
    err = {k: (got[k] - v) / v for k, v in measured.items()}
    print(f"{name}: measured {measured}, predicted {got}, error "
          + ", ".join(f"{k} {100 * e:+.2f} %" for k, e in err.items()))
    for k, e in err.items():
        assert abs(e) <= 0.05, (k, measured[k], got[k])


def test_every_target_is_calibrated_and_monotone():
    assert {"cortex-m0", "cortex-m4", "cortex-m33"} <= set(calibrated_targets())
    for target in calibrated_targets():
        small = predict(ModelShape("lstm", (8,), 4, 32, 3), target)
        big = predict(ModelShape("lstm", (32,), 4, 32, 3), target)
        stacked = predict(ModelShape("lstm", (32,), 4, 32, 3, stack=4), target)
        assert big.flash_weights_bytes > small.flash_weights_bytes
        assert big.instructions_per_frame > small.instructions_per_frame > 0
        assert stacked.instructions_per_frame < big.instructions_per_frame / 2
        assert min(small.flash_code_bytes, small.ram_bytes) > 0
    with pytest.raises(EdgelstmError, match="calibrate_footprint"):
        predict(ModelShape("gru", (8,), 4, 32, 3), "cortex-m99")
