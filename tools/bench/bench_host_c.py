"""Host C: x86 instructions per inference of the exported library against TFLite Micro.

Same int8 .tflite (the radar LSTM of tools/bench/common.py: 32 units, 18 features, 7-class
head, 64 frames), same int8 input windows:

- edgelstm: the exported C library built as its Makefile builds it (gcc -std=c99 -O2, no
  -march), a driver calling NAME_classify on each window; valgrind --tool=callgrind with
  --toggle-collect=NAME_classify counts the instructions of the inferences only;
- peer: the TFLite Micro Python interpreter (PyPI tflite-micro) on the same windows,
  valgrind --tool=callgrind --toggle-collect='*MicroInterpreter::Invoke*': the instructions of
  tflite::MicroInterpreter::Invoke() only (the reset between windows is not counted).

Outputs of both must be identical byte for byte (asserted); counts never are. Instruction counts
(not wall time) because this machine is shared and noisy.

    .venv/bin/python tools/bench/bench_host_c.py [--quick] [--windows 3] [--opt -O2]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Row, dump_json, print_table, radar_lstm_bytes  # noqa: E402

from edgelstm.codegen import export_c, read_manifest  # noqa: E402
from edgelstm.model import Int8Model  # noqa: E402
from edgelstm.oracles import compare  # noqa: E402
from edgelstm.testing import random_int8_inputs  # noqa: E402
from edgelstm.tflite.reader import load_ir_from_bytes  # noqa: E402

DRIVER_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include "@NAME@_model.h"

int main(int argc, char **argv)
{
    static int8_t frames[@NAME_UPPER@_WINDOW * @NAME_UPPER@_INPUT_SIZE];
    int8_t out[@NAME_UPPER@_NUM_CLASSES];
    FILE *fi = fopen(argv[1], "rb");
    FILE *fo = fopen(argv[2], "wb");
    long n = 0;
    (void)argc;
    if (fi == NULL || fo == NULL) {
        return 2;
    }
    while (fread(frames, 1, sizeof frames, fi) == sizeof frames) {
        @NAME@_classify(frames, @NAME_UPPER@_WINDOW, out);
        fwrite(out, 1, sizeof out, fo);
        ++n;
    }
    fclose(fi);
    fclose(fo);
    printf("%ld windows\n", n);
    return 0;
}
"""

TFLM_DRIVER = r"""
import sys
import numpy as np
from edgelstm.oracles import tflm_predict  # reset + set_input + invoke per window, as the tests run it
np.save(sys.argv[3], tflm_predict(open(sys.argv[1], "rb").read(), np.load(sys.argv[2])))
"""


def _callgrind(cmd: list[str], toggle: str, cwd: Path, timeout: float = 3000) -> int:
    """Instructions (Ir) executed inside ``toggle`` over the whole run of ``cmd``."""
    out = cwd / f"callgrind.{abs(hash(toggle)) % 10**8}.out"
    proc = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", f"--toggle-collect={toggle}",
                           "--dump-instr=no", "--compress-strings=no", *cmd], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"valgrind {' '.join(cmd[:2])} failed: {proc.stderr[-2000:]}")
    m = re.search(r"^(?:summary|totals):\s+(\d+)", out.read_text(errors="replace"), re.M)
    if not m:
        raise RuntimeError(f"no instruction total in {out}")
    return int(m.group(1))


def measure(quick: bool = False, windows: int = 3, opt: str = "-O2", cc: str = "gcc") -> dict:
    for tool in ("valgrind", cc):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not on PATH")
    raw = radar_lstm_bytes(units=8, features=5, window=8, classes=3) if quick else radar_lstm_bytes()
    model = Int8Model(load_ir_from_bytes(raw))
    xq = random_int8_inputs(max(1, windows), model.window, model.n_features, seed=4)
    expected = model.predict_int8(xq)
    with tempfile.TemporaryDirectory(prefix="bench_host_c_") as tmp:
        d = Path(tmp)
        (d / "m.tflite").write_bytes(raw)
        out = d / "out"
        export_c(d / "m.tflite", out, name="radar", n_vectors=1)
        man = read_manifest(out)
        (d / "driver.c").write_text(DRIVER_C.replace("@NAME_UPPER@", "RADAR").replace("@NAME@", "radar"))
        exe = d / "driver"
        srcs = [str(out / s) for s in man["library_sources"]]
        proc = subprocess.run([cc, "-std=c99", opt, "-I", str(out), *srcs, str(d / "driver.c"), "-o", str(exe)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-2000:])
        xq.tofile(d / "in.bin")
        ir_c = _callgrind([str(exe), "in.bin", "out.bin"], "radar_classify", d)
        got_c = np.fromfile(d / "out.bin", dtype=np.int8).reshape(len(xq), -1)

        np.save(d / "in.npy", xq)
        (d / "tflm.py").write_text(TFLM_DRIVER)
        ir_t = _callgrind([sys.executable, "tflm.py", "m.tflite", "in.npy", "tflm_out.npy"], "*MicroInterpreter::Invoke*",
                          d)
        got_t = np.load(d / "tflm_out.npy")
    assert compare(got_c, expected)["mismatched_bytes"] == 0, "the C differs from the simulator"
    assert compare(got_t, expected)["mismatched_bytes"] == 0, "TFLite Micro differs from the simulator"
    assert np.array_equal(got_c, got_t)
    n = len(xq)
    op = model.ir.recurrent_ops()[0]
    return {"edgelstm_per_inference": ir_c / n, "tflm_per_inference": ir_t / n, "windows": n, "opt": opt, "cc": cc,
            "macs_per_inference": model.ir.macs_per_frame() * model.window + model.ir.macs_head(),
            "shape": f"{op.units} units, {model.n_features} features, {model.window} frames, {model.n_outputs} classes"}


def rows_from(r: dict) -> list[Row]:
    e, t = r["edgelstm_per_inference"], r["tflm_per_inference"]
    return [
        Row(f"host x86 instructions per inference ({r['shape']}; {r['cc']} {r['opt']})", float(e), float(t),
            "TFLite Micro MicroInterpreter::Invoke()", t / e, "fewer",
            f"callgrind, {r['windows']} windows, outputs identical"),
        Row("host x86 instructions per MAC (whole inference)", float(e / r["macs_per_inference"]),
            float(t / r["macs_per_inference"]), "TFLite Micro", t / e, "fewer",
            f"{r['macs_per_inference']:,} MACs per inference"),
    ]


def run(quick: bool = False, windows: int = 3, opt: str = "-O2") -> list[Row]:
    return rows_from(measure(quick=quick, windows=windows, opt=opt))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="an 8-unit model, 1 window (CI smoke run, correctness only)")
    ap.add_argument("--windows", type=int, default=3)
    ap.add_argument("--opt", default="-O2", help="optimisation level of the exported C (default -O2, the Makefile's)")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = ap.parse_args()
    rows = run(quick=args.quick, windows=1 if args.quick else args.windows, opt=args.opt)
    print_table(rows, "host C (x86, callgrind instructions)")
    if args.json:
        dump_json(rows, args.json)


if __name__ == "__main__":
    main()
