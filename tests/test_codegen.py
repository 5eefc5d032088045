"""The C code generator and the static runtime, piece by piece.

- every primitive of edgelstm_fixedpoint.h against edgelstm/fixedpoint.py (exhaustively over
  int16 for the LUT activations, at the int32 edges for the rounding primitives), built with
  -fsanitize=undefined so that no input hits undefined behaviour;
- the softmax kernel against edgelstm/sim/softmax.py over every possible difference, for many
  input scales and row lengths (up to 1,000 classes);
- NAME_quantize_feature against Int8Model.quantize_input (normalisation on, rounding ties,
  huge values, infinities, NaN);
- names, the streaming decision, the memory plan, the generated header, the runtime's
  discipline (no floating point, no writable globals, no malloc).
"""

from __future__ import annotations

import json
import re
import struct
import subprocess

import numpy as np
import pytest

from edgelstm import fixedpoint as fp
from edgelstm import ir
from edgelstm._version import __version__
from edgelstm.codegen import (
    arena_plan,
    check_name,
    check_supported,
    default_name,
    export_c,
    read_manifest,
    runtime_files,
    stream_plan,
    templates_dir,
)
from edgelstm.codegen.c_ops import C_OPS
from edgelstm.codegen.cwriter import c_float
from edgelstm.codegen.graph import PLAN_RULES
from edgelstm.errors import EdgelstmError
from edgelstm.ir import MulParams, SoftmaxOp
from edgelstm.model import normalize_f32
from edgelstm.prepare import calculate_input_radius as _calculate_input_radius
from edgelstm.prepare import preprocess_softmax_scaling as _preprocess_softmax_scaling
from edgelstm.sim import SIM_OPS
from edgelstm.sim.kernels import mul_elementwise
from edgelstm.sim.softmax import run_softmax
from edgelstm.testing import SynthSpec, synth_lstm_tflite
from edgelstm.tflite.reader import load_ir, load_ir_from_bytes
from edgelstm.tflite.writer import embed_edgelstm_metadata
from edgelstm.verify import load_export_model
from edgelstm.verify.harness import pack_inputs

from .conftest import DATA, REPO, need_tool

I32_MIN, I32_MAX = -(2**31), 2**31 - 1

PRIM_MAIN = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "edgelstm_fixedpoint.h"
#include "edgelstm_runtime.h"

int main(int argc, char **argv)
{
    FILE *fi, *fo;
    long n, k;
    int32_t *v;
    if (argc != 4) return 2;
    fi = fopen(argv[2], "rb");
    fo = fopen(argv[3], "wb");
    if (!fi || !fo) return 2;
    fseek(fi, 0, SEEK_END);
    n = ftell(fi) / 4;
    fseek(fi, 0, SEEK_SET);
    v = (int32_t *)malloc((size_t)(n + 1) * 4);
    if (fread(v, 4, (size_t)n, fi) != (size_t)n) return 2;
    if (!strcmp(argv[1], "srdhm")) {
        for (k = 0; k + 1 < n; k += 2) { int32_t r = edgelstm_saturating_rounding_doubling_high_mul(v[k], v[k + 1]); fwrite(&r, 4, 1, fo); }
    } else if (!strcmp(argv[1], "rdbp")) {
        for (k = 0; k + 1 < n; k += 2) { int32_t r = edgelstm_rounding_divide_by_pot(v[k], v[k + 1]); fwrite(&r, 4, 1, fo); }
    } else if (!strcmp(argv[1], "mbqm")) {
        for (k = 0; k + 2 < n; k += 3) { int32_t r = edgelstm_multiply_by_quantized_multiplier(v[k], v[k + 1], v[k + 2]); fwrite(&r, 4, 1, fo); }
    } else if (!strcmp(argv[1], "mbqm_gt1")) {
        for (k = 0; k + 2 < n; k += 3) { int32_t r = edgelstm_multiply_by_quantized_multiplier_greater_than_one(v[k], v[k + 1], v[k + 2]); fwrite(&r, 4, 1, fo); }
    } else if (!strcmp(argv[1], "sigmoid")) {
        for (k = 0; k < n; ++k) { int32_t r = edgelstm_sigmoid_int16((int16_t)v[k]); fwrite(&r, 4, 1, fo); }
    } else if (!strcmp(argv[1], "tanh")) {
        for (k = 0; k + 2 < n; k += 3) { int32_t r = edgelstm_tanh_int16((int16_t)v[k], v[k + 1], v[k + 2]); fwrite(&r, 4, 1, fo); }
    } else if (!strcmp(argv[1], "mul")) {
        for (k = 0; k + 6 < n; k += 7) { int32_t r = edgelstm_mul_requantize(v[k], v[k + 1], v[k + 2], v[k + 3], v[k + 4], v[k + 5], v[k + 6]); fwrite(&r, 4, 1, fo); }
    } else if (!strcmp(argv[1], "softmax")) {
        edgelstm_softmax_params_s8_t p;
        int32_t rows = v[3], depth = v[4];
        int8_t *x = (int8_t *)malloc((size_t)(rows * depth));
        int8_t *y = (int8_t *)malloc((size_t)(rows * depth));
        p.input_multiplier = v[0]; p.input_left_shift = v[1]; p.diff_min = v[2];
        for (k = 0; k < (long)rows * depth; ++k) x[k] = (int8_t)v[5 + k];
        edgelstm_softmax_s8(&p, x, rows, depth, y);
        fwrite(y, 1, (size_t)(rows * depth), fo);
        free(x); free(y);
    } else {
        return 2;
    }
    free(v);
    fclose(fi);
    return fclose(fo) == 0 ? 0 : 2;
}
"""


@pytest.fixture(scope="module")
def prim(tmp_path_factory):
    """Run one primitive of the C runtime (built with UBSan, no recovery) on int32 arguments."""
    need_tool("gcc")
    d = tmp_path_factory.mktemp("prim")
    rt = templates_dir() / "runtime"
    (d / "prim_main.c").write_text(PRIM_MAIN)
    exe = d / "prim"
    cmd = ["gcc", "-std=c99", "-O1", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-fsanitize=undefined",
           "-fno-sanitize-recover=all", "-I", str(rt), str(d / "prim_main.c"), str(rt / "edgelstm_softmax_s8.c"),
           str(rt / "edgelstm_tables.c"), "-o", str(exe)]
    subprocess.run(cmd, check=True, capture_output=True)

    def run(mode: str, args, out_dtype=np.int32) -> np.ndarray:
        a = np.asarray(args, dtype=np.int64)
        assert a.min() >= I32_MIN and a.max() <= I32_MAX
        (d / "in.bin").write_bytes(a.astype("<i4").tobytes())
        proc = subprocess.run([str(exe), mode, str(d / "in.bin"), str(d / "out.bin")], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return np.frombuffer((d / "out.bin").read_bytes(), dtype=out_dtype).astype(np.int64)

    return run


EDGES = np.array([I32_MIN, I32_MIN + 1, -(2**30) - 1, -(2**30), -65536, -32769, -32768, -257, -256, -255, -3, -2, -1,
                  0, 1, 2, 3, 255, 256, 32767, 32768, 65535, 2**30 - 1, 2**30, 2**30 + 1, I32_MAX - 1, I32_MAX],
                 dtype=np.int64)


def _rand_i32(rng, n):
    return rng.integers(I32_MIN, I32_MAX, size=n, endpoint=True)


def test_srdhm_matches_python(prim):
    rng = np.random.default_rng(0)
    a = np.concatenate([np.repeat(EDGES, len(EDGES)), _rand_i32(rng, 20000)])
    b = np.concatenate([np.tile(EDGES, len(EDGES)), _rand_i32(rng, 20000)])
    got = prim("srdhm", np.stack([a, b], 1))
    assert np.array_equal(got, fp.saturating_rounding_doubling_high_mul(a, b))


def test_rounding_divide_by_pot_matches_python(prim):
    rng = np.random.default_rng(1)
    x = np.concatenate([np.repeat(EDGES, 32), _rand_i32(rng, 32000)])
    e = np.concatenate([np.tile(np.arange(32), len(EDGES)), rng.integers(0, 32, 32000)])
    got = prim("rdbp", np.stack([x, e], 1))
    assert np.array_equal(got, fp.rounding_divide_by_pot(x, e))


@pytest.mark.parametrize("mode", ["mbqm", "mbqm_gt1"])
def test_multiply_by_quantized_multiplier_matches_python(prim, mode):
    rng = np.random.default_rng(2)
    mults = np.array([0, 1 << 30, (1 << 30) + 1, I32_MAX - 1, I32_MAX, 1518500250], dtype=np.int64)
    shifts = np.arange(-31, 32) if mode == "mbqm" else np.arange(0, 32)
    grid = np.array([(x, m, s) for x in EDGES for m in mults for s in shifts], dtype=np.int64)
    n = 30000
    rnd = np.stack([_rand_i32(rng, n), rng.integers(1 << 30, I32_MAX, n, endpoint=True),
                    rng.choice(shifts, n)], 1)
    args = np.concatenate([grid, rnd])
    got = prim(mode, args)
    x, m, s = args.T
    if mode == "mbqm":
        want = fp.multiply_by_quantized_multiplier(x, m, s)
    else:
        want = fp.multiply_by_quantized_multiplier_greater_than_one(x, m, s)
    assert np.array_equal(got, want)


def test_sigmoid_int16_exhaustive(prim):
    x = np.arange(-32768, 32768)
    assert np.array_equal(prim("sigmoid", x), fp.sigmoid_int16(x))


@pytest.mark.parametrize("csp", [None, -20, -16, -15, -13, -12, -11, -10, -9, -5, 0, 6])
def test_tanh_int16_exhaustive(prim, csp):
    x = np.arange(-32768, 32768)
    mult, shift = (0, 0) if csp is None else fp.tanh_params_for_scale_power(csp)
    args = np.stack([x, np.full_like(x, mult), np.full_like(x, shift)], 1)
    assert np.array_equal(prim("tanh", args), fp.tanh_int16(x, mult, shift))


def test_mul_requantize_matches_simulator(prim):
    rng = np.random.default_rng(3)
    n = 40000
    a = np.concatenate([rng.integers(-32768, 32768, n), [-32768, -32768, 32767]])
    b = np.concatenate([rng.integers(-32768, 32768, n), [-32768, 32767, 32767]])
    for eff, off, lo, hi in ((2.0**-15, 0, -32768, 32767), (2.0**-19, 0, -32768, 32767),
                             (2.0**-30 / 0.0071, -37, -128, 127), (2.0**-30 / 0.0039, 90, -128, 127)):
        m, s = fp.quantize_multiplier(eff)
        mp = MulParams(multiplier=m, shift=s, output_offset=off, act_min=lo, act_max=hi)
        args = np.stack([a, b, *(np.full_like(a, v) for v in (m, s, off, lo, hi))], 1)
        assert np.array_equal(prim("mul", args), mul_elementwise(a, b, mp))


@pytest.mark.parametrize("depth", [1, 3, 7, 40, 1000])
def test_softmax_matches_simulator_every_difference(prim, depth):
    """Every difference to the row maximum (0 .. -255) for 12 input scales, plus random rows."""
    rng = np.random.default_rng(depth)
    for scale in np.float32(np.geomspace(1 / 1024, 2.0, 12)):
        mult, left = _preprocess_softmax_scaling(1.0, float(scale), 5)
        op = SoftmaxOp(name="sm", input="x", output="y", input_multiplier=mult, input_left_shift=left,
                       diff_min=-_calculate_input_radius(5, left, 31))
        diffs = np.arange(256)
        if depth == 1:
            x = rng.integers(-128, 128, size=(64, 1))
        else:
            # Each row holds the maximum 127 and depth-1 other values; together the rows cover
            # every difference 0..255.
            n_rows = -(-256 // (depth - 1)) + 32
            x = rng.integers(-128, 128, size=(n_rows, depth))
            x[:, 0] = 127
            flat = np.resize(127 - diffs, (n_rows - 32) * (depth - 1))
            x[: n_rows - 32, 1:] = flat.reshape(n_rows - 32, depth - 1)
            x[-1, :] = 5  # all equal: the largest sum of exponentials
        x = x.astype(np.int64)
        header = np.array([op.input_multiplier, op.input_left_shift, op.diff_min, x.shape[0], depth])
        got = prim("softmax", np.concatenate([header, x.reshape(-1)]), out_dtype=np.int8).reshape(x.shape)
        want = run_softmax(op, x)
        assert np.array_equal(got, want), f"scale {scale}"


# --------------------------------------------------------------------------------------------
# The generated model file


META = {
    "class_names": ["empty", "walk\"ing */ x", "run??/", "bïke"],
    "feature_names": [f"f{i}" for i in range(5)],
    "normalization": {"mean": [0.5, -1.25, 3.0e3, 0.0, -7.75], "std": [2.0, 0.125, 1.0e3, 1.0e-3, 3.3]},
    "accuracy": {"float": 0.9125, "int8": 0.905},
}


@pytest.fixture(scope="module")
def meta_export(tmp_path_factory):
    """A streaming model with normalisation, class names (quotes, a comment end, a trigraph, UTF-8)
    and accuracies (the strict builds below compile the comments that list them)."""
    d = tmp_path_factory.mktemp("meta")
    raw = synth_lstm_tflite(SynthSpec(units=6, features=5, window=9, classes=4, seed=5, input_scale=0.037,
                                      input_zero_point=-11))
    model = d / "radar-v2.tflite"
    model.write_bytes(embed_edgelstm_metadata(raw, META))
    out = d / "out"
    res = export_c(model, out, n_vectors=10)
    return res, out


def test_default_name_and_files(meta_export):
    res, out = meta_export
    assert res.name == "radar_v2"
    m = read_manifest(out)
    for f in m["files"]:
        assert (out / f).is_file(), f
    assert sorted(p.name for p in out.iterdir()) == sorted(m["files"])
    assert m["model_sha256"] == res.model_sha256 and len(res.model_sha256) == 64
    assert (out / "radar_v2_model.tflite").is_file()
    assert m["edgelstm_version"] == __version__
    assert m["streaming"] is True and m["has_normalization"] is True
    assert m["class_names"] == META["class_names"]
    names = {p.name for p in runtime_files()}
    assert {"edgelstm_fixedpoint.h", "edgelstm_runtime.h", "edgelstm_lstm_step_s8_s16.c",
            "edgelstm_fully_connected_s8.c", "edgelstm_softmax_s8.c"} <= names
    assert names <= set(m["files"])


def test_header_declares_the_api(meta_export):
    res, out = meta_export
    h = (out / "radar_v2_model.h").read_text()
    for decl in (
        "#define RADAR_V2_INPUT_SIZE 5", "#define RADAR_V2_NUM_CLASSES 4", "#define RADAR_V2_WINDOW 9",
        f"#define RADAR_V2_INPUT_SCALE {c_float(np.float32(0.037))}", "#define RADAR_V2_INPUT_ZERO_POINT -11",
        "#define RADAR_V2_STREAMING 1", "} radar_v2_state_t;", "void radar_v2_reset(radar_v2_state_t *s);",
        "void radar_v2_step(radar_v2_state_t *s, const int8_t x[RADAR_V2_INPUT_SIZE]);",
        "void radar_v2_logits(const radar_v2_state_t *s, int8_t out[RADAR_V2_NUM_CLASSES]);",
        "int radar_v2_classify(const int8_t *frames, int n_frames, int8_t out[RADAR_V2_NUM_CLASSES]);",
        "int8_t radar_v2_quantize_feature(float value, int feature);",
        f"sha256:       {res.model_sha256}", f"edgelstm {__version__}", "float 0.9125, int8 0.9050",
    ):
        assert decl in h, decl
    c = (out / "radar_v2_model.c").read_text()
    assert 'const int8_t radar_v2_lstm_0_wx[' in c and "static const edgelstm_lstm_params_s8_s16_t" in c
    assert r'"walk\"ing */ x"' in c and r'"run\?\?/"' in c and r'"b\303\257ke"' in c
    assert "run? ?/" in h and "walk\"ing * / x" in h  # the Classes: comment, made safe


def test_accuracy_unknown_without_metadata(tmp_path):
    model = tmp_path / "plain.tflite"
    model.write_bytes(synth_lstm_tflite(SynthSpec(seed=1)))
    export_c(model, tmp_path / "o", name="plain", n_vectors=2)
    h = (tmp_path / "o" / "plain_model.h").read_text()
    assert "Accuracy:     float unknown, int8 unknown" in h
    assert "#define PLAIN_HAS_NORMALIZATION 0" in h


QF_MAIN = r"""
#include <stdio.h>
#include "radar_v2_model.h"
int main(int argc, char **argv)
{
    FILE *fi = fopen(argv[1], "rb");
    FILE *fo = fopen(argv[2], "wb");
    float v;
    int32_t f;
    (void)argc;
    while (fread(&v, 4, 1, fi) == 1 && fread(&f, 4, 1, fi) == 1) {
        int8_t q = radar_v2_quantize_feature(v, (int)f);
        fwrite(&q, 1, 1, fo);
    }
    fclose(fi);
    return fclose(fo);
}
"""


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_quantize_feature_is_quantize_input(meta_export, tmp_path, cc):
    need_tool(cc)
    _res, out = meta_export
    m = read_manifest(out)
    model = load_export_model(out, m)
    info = model.ir.info
    F, scale, zp = model.n_features, np.float32(model.input_scale), model.input_zero_point
    rng = np.random.default_rng(0)
    vals, feats = [], []
    for f in range(F):
        mean, std = info.norm_mean[f], info.norm_std[f]
        # Values whose quantised position lands on and around every .5 tie.
        q = (np.arange(-300, 301) + np.float32(0.5)).astype(np.float32)
        x = (q * scale * std + mean).astype(np.float32)
        ties = np.concatenate([x, np.nextafter(x, np.float32(np.inf)), np.nextafter(x, np.float32(-np.inf))])
        rand = np.concatenate([rng.normal(mean, std * s, 3000) for s in (1e-3, 0.1, 1, 10, 1e3, 1e8)])
        special = np.array([0.0, -0.0, 1e-45, -1e-45, 1e-38, 3.4028235e38, -3.4028235e38, 1e30, -1e30,
                            np.inf, -np.inf, mean, np.nextafter(mean, np.float32(np.inf))])
        v = np.concatenate([ties, rand, special]).astype(np.float32)
        vals.append(v)
        feats.append(np.full(v.size, f, np.int32))
    v = np.concatenate(vals)
    f = np.concatenate(feats)
    with np.errstate(over="ignore", invalid="ignore"):
        want = fp.quantize_f32(normalize_f32(v[:, None] * np.ones((1, F), np.float32), info.norm_mean,
                                             info.norm_std)[np.arange(v.size), f], scale, zp)
    # NaN and out-of-range features give the zero point.
    v = np.concatenate([v, np.float32([np.nan, -np.nan, 1.0, 1.0])])
    f = np.concatenate([f, np.int32([0, 1, -1, F])])
    want = np.concatenate([want, [zp, zp, zp, zp]])
    rec = np.zeros(v.size, dtype=[("v", "<f4"), ("f", "<i4")])
    rec["v"], rec["f"] = v, f
    (tmp_path / "in.bin").write_bytes(rec.tobytes())
    (tmp_path / "qf.c").write_text(QF_MAIN)
    exe = tmp_path / "qf"
    srcs = [str(out / s) for s in m["library_sources"]]
    subprocess.run([cc, "-std=c99", "-O2", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-fsanitize=undefined",
                    "-fno-sanitize-recover=all", "-I", str(out), *srcs, str(tmp_path / "qf.c"), "-o", str(exe)],
                   check=True, capture_output=True)
    proc = subprocess.run([str(exe), str(tmp_path / "in.bin"), str(tmp_path / "out.bin")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    got = np.frombuffer((tmp_path / "out.bin").read_bytes(), dtype=np.int8).astype(np.int64)
    assert got.shape == want.shape
    assert int((got != want).sum()) == 0
    # And on windows of finite data, the model's own quantize_input.
    fin = np.isfinite(v[:-4]) & (np.abs(v[:-4]) < 1e30)
    n = (fin.sum() // (9 * F)) * 9 * F
    X = np.stack([v[:-4][fin & (f[:-4] == k)][: n // F] for k in range(F)], -1).reshape(-1, 9, F)
    Xq = model.quantize_input(X)
    idx = {k: np.nonzero(fin & (f[:-4] == k))[0][: n // F] for k in range(F)}
    got_w = np.stack([got[idx[k]] for k in range(F)], -1).reshape(-1, 9, F)
    assert np.array_equal(got_w, Xq.astype(np.int64))


def test_every_op_kind_has_one_entry_per_executor():
    """The simulator, the C emission and the C planning know the same op kinds: those of the IR's op classes."""
    classes = [c for c in vars(ir).values() if isinstance(c, type) and issubclass(c, ir.OpBase) and "kind" in vars(c)]
    kinds = {c.kind for c in classes}
    assert len(kinds) == len(classes) == 9
    assert kinds == set(SIM_OPS) == set(C_OPS) == set(PLAN_RULES)
    recurrent = {c.kind for c in classes if c.recurrent}
    assert recurrent == {"lstm", "gru"}
    assert {k for k, e in C_OPS.items() if e.cell is not None} == recurrent
    assert {k for k, h in SIM_OPS.items() if h.final_state is not None} == recurrent


# --------------------------------------------------------------------------------------------
# Names, decisions, plans


@pytest.mark.parametrize("name", ["radar", "Radar_LSTM2", "m", "x1_y2"])
def test_good_names(name):
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "1radar", "my-model", "a b", "int", "class", "static", "_radar", "a__b",
                                  "radar.v2", "edgelstm_x", "x" * 60, "naïve"])
def test_bad_names(name):
    with pytest.raises(EdgelstmError) as e:
        check_name(name)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("path,name", [("model_int8.tflite", "model_int8"), ("radar-v2.tflite", "radar_v2"),
                                       ("2024 model.tflite", "m_2024_model"), ("int.tflite", "edgelstm"),
                                       ("__.tflite", "edgelstm"), ("edgelstm_x.tflite", "edgelstm")])
def test_default_name(path, name):
    assert default_name(path) == name


def test_templates_dir_is_the_repository_folder():
    assert templates_dir() == (REPO / "firmware_templates").resolve()


@pytest.mark.parametrize("spec,streams", [
    (SynthSpec(), True),
    (SynthSpec(layers=3, units=[4, 5, 6]), True),
    (SynthSpec(softmax=True, dense=[7]), True),
    (SynthSpec(window=1), True),
    (SynthSpec(bidirectional=True), False),
    (SynthSpec(bidirectional=True, layers=2), False),
])
def test_stream_plan(spec, streams):
    qm = load_ir_from_bytes(synth_lstm_tflite(spec))
    plan, reason = stream_plan(qm)
    assert (plan is not None) == streams, reason
    if plan is not None:
        assert [op.kind for op in plan.lstm_ops] == ["lstm"] * spec.layers
        assert plan.head_ops[-1].output == qm.output
    else:
        assert "bidirectional" in reason


def test_stream_plan_converter_models():
    kinds = {}
    for p in sorted(DATA.glob("conv_*.tflite")):
        plan, _ = stream_plan(load_ir(p))
        kinds[p.stem] = plan is not None
    assert kinds and all(v == ("bi" not in k) for k, v in kinds.items()), kinds


def test_stream_plan_rejects_a_slice_that_is_not_the_last_step():
    qm = load_ir_from_bytes(synth_lstm_tflite(SynthSpec(window=10)))
    sl = next(op for op in qm.ops if op.kind == "slice_time")
    sl.index = 3
    plan, reason = stream_plan(qm)
    assert plan is None and "step 3" in reason


@pytest.mark.parametrize("spec", [SynthSpec(bidirectional=True, layers=2, dense=[5], softmax=True),
                                  SynthSpec(bidirectional=True, layers=3, units=[3, 4, 5], window=7),
                                  SynthSpec(layers=2)])
def test_arena_plan_never_overlaps_live_tensors(spec):
    qm = load_ir_from_bytes(synth_lstm_tflite(spec))
    offsets, size = arena_plan(qm)
    born, dies = {}, {}
    for i, op in enumerate(qm.ops):
        born[op.output] = dies[op.output] = i
        for k in op.inputs:
            if k in dies:
                dies[k] = max(dies[k], i)
    dies[qm.output] = len(qm.ops)
    keys = list(offsets)
    for a in keys:
        sa = int(np.prod(qm.tensors[a].shape))
        assert offsets[a] + sa <= size
        for b in keys:
            if a == b:
                continue
            sb = int(np.prod(qm.tensors[b].shape))
            live_together = not (dies[a] < born[b] or dies[b] < born[a])
            overlap = offsets[a] < offsets[b] + sb and offsets[b] < offsets[a] + sa
            assert not (live_together and overlap), (a, b)
    total = sum(int(np.prod(qm.tensors[k].shape)) for k in keys)
    assert size < total  # buffers are reused


def test_op_without_c_kernel_is_refused_with_one_line(tmp_path):
    """(GRU layers are exported now; tests/test_c_gru.py covers them and their refusals.)"""
    qm = load_ir_from_bytes(synth_lstm_tflite(SynthSpec()))
    qm.ops[0].kind = "conv1d"  # instance attribute shadows the class constant
    with pytest.raises(EdgelstmError, match="no C kernel") as e:
        check_supported(qm)
    assert "\n" not in str(e.value)


# --------------------------------------------------------------------------------------------
# Runtime discipline


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def test_runtime_has_no_float_malloc_or_mutable_statics():
    for p in runtime_files():
        code = _strip_comments(p.read_text())
        for word in ("float", "double", "malloc", "free(", "alloca", "printf", "<math.h>", "<stdlib.h>"):
            assert word not in code, f"{p.name}: {word}"
        for line in code.splitlines():
            if re.match(r"^static\s", line) and "(" not in line:
                assert "const" in line, f"{p.name}: mutable static: {line}"


def test_inference_code_is_integer_only_and_has_no_writable_globals(meta_export, tmp_path):
    """The runtime compiles with -mgeneral-regs-only (no FP/SIMD registers at all); no object of
    the library has writable data (nm: no B/b/D/d/C symbols); only the front end uses float."""
    need_tool("gcc")
    _res, out = meta_export
    m = read_manifest(out)
    c = (out / "radar_v2_model.c").read_text()
    inference = _strip_comments(c[: c.index("float front end (the only floating-point code)")])
    assert "radar_v2_step" in inference and "radar_v2_norm_mean" not in inference
    assert "float" not in inference and "double" not in inference
    for s in m["library_sources"]:
        flags = ["-std=c99", "-O2", "-fno-pie", "-fno-pic", "-c", "-I", str(out)]
        if s != "radar_v2_model.c":
            flags.append("-mgeneral-regs-only")
        obj = tmp_path / (s + ".o")
        subprocess.run(["gcc", *flags, str(out / s), "-o", str(obj)], check=True, capture_output=True)
        nm = subprocess.run(["nm", str(obj)], check=True, capture_output=True, text=True).stdout
        kinds = {ln.split()[-2] for ln in nm.splitlines() if len(ln.split()) >= 2}
        assert not kinds & {"B", "b", "D", "d", "C", "G", "g", "S", "s"}, (s, nm)


def test_manifest_is_json_with_the_contract_keys(meta_export):
    _res, out = meta_export
    m = json.loads((out / "edgelstm_export.json").read_text())
    for k in ("name", "model_sha256", "window", "features", "classes", "streaming", "files", "model_file",
              "library_sources", "weights_bytes", "edgelstm_version"):
        assert k in m, k


def test_c_float_literals_round_trip():
    rng = np.random.default_rng(0)
    vals = np.concatenate([rng.normal(0, 1, 2000), np.geomspace(1e-30, 1e30, 200), [1.0, 0.1, 2.0**-20]])
    for v in np.float32(vals):
        lit = c_float(v)
        assert lit.endswith("f") and ("." in lit or "e" in lit)
        assert np.float32(float(lit[:-1])) == v


def test_pack_inputs_header():
    b = pack_inputs(np.zeros((2, 3, 4), np.int8))
    assert b[:4] == b"ELV1" and struct.unpack("<5I", b[4:24]) == (0, 2, 3, 4, 1) and len(b) == 24 + 24
