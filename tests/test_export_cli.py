"""`edgelstm export-c` and `edgelstm verify`, in-process (CliRunner) and as a real process.

Good paths (summary, --json, the exported folder builds and verifies, --data test vectors) and
every user error as one line without a traceback and without a partial output folder: a bad
--name, a PNG renamed .tflite, a truncated or float model, an output folder that is a file or
holds other files, a missing or mismatching dataset, a folder that is not an export. A tampered
export is caught by verify (non-zero exit, the mismatches listed).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from edgelstm.cli import cli
from edgelstm.errors import EdgelstmError
from edgelstm.tflite.schema import fb
from edgelstm.tflite.writer import ModelBuilder, embed_edgelstm_metadata
from edgelstm.testing import SynthSpec, synth_lstm_tflite

from .conftest import DATA, need_tool, run_cli


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=True)


def assert_one_line_error(proc, *words):
    assert proc.returncode != 0
    err = proc.stderr.strip()
    assert err.startswith("error: "), err
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in proc.stderr + proc.stdout
    for w in words:
        assert w in err, err


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("m") / "gesture.tflite"
    p.write_bytes(synth_lstm_tflite(SynthSpec(units=8, features=4, window=12, classes=3, softmax=True, seed=3)))
    return p


@pytest.fixture(scope="module")
def bi_model_file(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("bi") / "bi.tflite"
    p.write_bytes(synth_lstm_tflite(SynthSpec(bidirectional=True, units=5, features=4, window=12, seed=4)))
    return p


# ----------------------------------------------------------------------------- export-c


def test_export_summary_and_json(model_file, tmp_path):
    out = tmp_path / "out"
    r = invoke("export-c", model_file, "--out", out, "--test-vectors", 25)
    assert r.exit_code == 0, r.output
    assert "gesture" in r.stdout and "streaming: yes" in r.stdout and "bytes of const data" in r.stdout
    out2 = tmp_path / "out2"
    r = invoke("export-c", model_file, "--out", out2, "--name", "radar", "--json")
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout)
    assert obj["out"] == str(out2) and obj["name"] == "radar" and obj["streaming"] is True
    assert obj["weights_bytes"] > 4 * 8 * (4 + 8) and obj["test_vectors"] == 300
    for f in ("radar_model.h", "radar_model.c", "radar_test_vectors.h", "radar_selftest.c", "Makefile",
              "CMakeLists.txt", "radar_model.tflite", "edgelstm_export.json", "edgelstm_fixedpoint.h"):
        assert f in obj["files"] and (out2 / f).is_file(), f
    assert leftovers(tmp_path) == []


def test_export_bidirectional_says_whole_window(bi_model_file, tmp_path):
    r = invoke("export-c", bi_model_file, "--out", tmp_path / "o", "--test-vectors", 5)
    assert r.exit_code == 0, r.output
    assert "streaming: no" in r.stdout and "whole-window" in r.stdout


def test_export_replaces_an_earlier_export_only(model_file, tmp_path):
    out = tmp_path / "out"
    assert invoke("export-c", model_file, "--out", out, "--name", "a", "--test-vectors", 2, "-q").exit_code == 0
    assert invoke("export-c", model_file, "--out", out, "--name", "b", "--test-vectors", 2, "-q").exit_code == 0
    assert (out / "b_model.h").is_file() and not (out / "a_model.h").exists()
    # the user's own files in an earlier export survive a re-export (ours are replaced)
    (out / "my_notes.txt").write_text("mine")
    (out / "app").mkdir()
    (out / "app" / "main.c").write_text("int main(void) { return 0; }\n")
    r = invoke("export-c", model_file, "--out", out, "--name", "c", "--test-vectors", 2)
    assert r.exit_code == 0, r.output
    assert (out / "c_model.h").is_file() and not (out / "b_model.h").exists()
    assert (out / "my_notes.txt").read_text() == "mine" and (out / "app" / "main.c").is_file()
    assert "kept 2 entries of yours" in r.output
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    r = invoke("export-c", model_file, "--out", other)
    assert isinstance(r.exception, EdgelstmError) and "not empty" in str(r.exception)
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]
    assert leftovers(tmp_path) == []


def test_export_subprocess_then_make_test(model_file, tmp_path, edgelstm_exe):
    need_tool("make")
    need_tool("gcc")
    out = tmp_path / "lib"
    proc = run_cli(edgelstm_exe, "export-c", model_file, "--out", out, "--test-vectors", 40, "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    make = subprocess.run(["make", "-s", "-C", str(out), "test"], capture_output=True, text=True, timeout=600)
    assert make.returncode == 0, make.stdout + make.stderr
    assert "40 passed, 0 failed" in make.stdout


def test_export_with_data_uses_the_test_split(tmp_path, radar_tiny):
    from edgelstm.data import load_dataset

    ds = load_dataset(radar_tiny)
    F, T = ds.n_features, ds.window
    raw = synth_lstm_tflite(SynthSpec(units=8, features=F, window=T, classes=ds.n_classes, seed=9))
    mean = ds.X_train.reshape(-1, F).mean(0)
    std = ds.X_train.reshape(-1, F).std(0) + 1e-3
    meta = {"normalization": {"mean": mean.tolist(), "std": std.tolist()}, "class_names": ds.class_names}
    model = tmp_path / "radar_model.tflite"
    model.write_bytes(embed_edgelstm_metadata(raw, meta))
    out = tmp_path / "out"
    r = invoke("export-c", model, "--out", out, "--data", radar_tiny, "--test-vectors", 1000, "--json")
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout)
    assert obj["test_vectors"] == len(ds.X_test)  # fewer windows than asked: all of them
    assert "radar_tiny.npz" in obj["test_vector_source"]
    h = (out / "radar_model_test_vectors.h").read_text()
    from edgelstm.model import load_int8_model

    xq = load_int8_model(model).quantize_input(ds.X_test)
    first = ", ".join(str(int(v)) for v in xq[0].reshape(-1)[:32])
    assert first in h

    # verify with the same data: every window of the test split, zero mismatches.
    need_tool("gcc")
    r = invoke("verify", out, "--data", radar_tiny, "--json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["mismatches"] == 0 and rep["samples"] == len(ds.X_test) and rep["streaming"] is True
    # ... and the float front end on the raw test data gives the same int8 inputs.
    assert rep["front_end_mismatches"] == 0 and rep["front_end_compared_bytes"] == xq.size

    # A dataset with another feature count is one line, for both commands.
    bad = tmp_path / "bad.npz"
    np.savez(bad, X_train=np.zeros((10, T, F + 1), np.float32), y_train=np.arange(10) % 2,
             X_test=np.zeros((4, T, F + 1), np.float32), y_test=np.arange(4) % 2)
    r = invoke("verify", out, "--data", bad)
    assert isinstance(r.exception, EdgelstmError) and "features" in str(r.exception)
    r = invoke("export-c", model, "--out", tmp_path / "o2", "--data", bad)
    assert isinstance(r.exception, EdgelstmError) and "features" in str(r.exception)
    assert not (tmp_path / "o2").exists()


BAD_NAMES = ["1radar", "my-model", "int", "class", "_x", "a__b", "edgelstm_runtime", "x.y"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_name_is_one_line(model_file, tmp_path, name):
    r = invoke("export-c", model_file, "--out", tmp_path / "o", "--name", name)
    assert isinstance(r.exception, EdgelstmError), r.output
    assert "--name" in str(r.exception)
    assert not (tmp_path / "o").exists()


def float_lstm_model() -> bytes:
    """A float32 LSTM classifier graph (as the converter writes without int8 quantisation)."""
    b = ModelBuilder("float")
    x = b.tensor("x", [1, 8, 3], np.float32)
    ins = [-1] * 24
    ins[0] = x
    rng = np.random.default_rng(0)
    for k in range(1, 9):
        ins[k] = b.tensor(f"w{k}", [4, 3] if k <= 4 else [4, 4], np.float32,
                          data=rng.normal(size=(4, 3) if k <= 4 else (4, 4)).astype(np.float32))
    for k in range(12, 16):
        ins[k] = b.tensor(f"b{k}", [4], np.float32, data=np.zeros(4, np.float32))
    ins[18] = b.tensor("h", [1, 4], np.float32, is_variable=True)
    ins[19] = b.tensor("c", [1, 4], np.float32, is_variable=True)
    y = b.tensor("y", [1, 8, 4], np.float32)
    opts = fb.UnidirectionalSequenceLSTMOptionsT()
    opts.fusedActivationFunction = fb.ActivationFunctionType.TANH
    b.op(ins, [y], builtin=fb.BuiltinOperator.UNIDIRECTIONAL_SEQUENCE_LSTM,
         options_type=fb.BuiltinOptions.UnidirectionalSequenceLSTMOptions, options=opts, version=1)
    return b.finish([x], [y])


BAD_MODELS = {
    "png": (b"\x89PNG\r\n\x1a\n" + bytes(200), "PNG"),
    "truncated": (None, "corrupt or truncated"),
    "float": (None, "float"),
    "empty": (b"", "empty"),
    "text": (b"this is not a model at all, just some text\n" * 3, "not a .tflite"),
}


def bad_model_bytes(kind: str) -> bytes:
    raw, _ = BAD_MODELS[kind]
    if kind == "truncated":
        return (DATA / "conv_lstm32_softmax.tflite").read_bytes()[:3000]
    if kind == "float":
        return float_lstm_model()
    return raw


@pytest.mark.parametrize("kind", list(BAD_MODELS))
def test_bad_model_is_one_line_subprocess(kind, tmp_path, edgelstm_exe):
    p = tmp_path / "model.tflite"
    p.write_bytes(bad_model_bytes(kind))
    out = tmp_path / "o"
    proc = run_cli(edgelstm_exe, "export-c", p, "--out", out)
    assert_one_line_error(proc, BAD_MODELS[kind][1])
    assert not out.exists() and leftovers(tmp_path) == []


def test_missing_model_and_directory_model(tmp_path, edgelstm_exe):
    proc = run_cli(edgelstm_exe, "export-c", tmp_path / "nope.tflite", "--out", tmp_path / "o")
    assert_one_line_error(proc, "does not exist")
    proc = run_cli(edgelstm_exe, "export-c", tmp_path, "--out", tmp_path / "o")
    assert_one_line_error(proc, "directory")
    assert not (tmp_path / "o").exists()


def test_out_dir_is_a_file(model_file, tmp_path, edgelstm_exe):
    f = tmp_path / "taken"
    f.write_text("keep me")
    proc = run_cli(edgelstm_exe, "export-c", model_file, "--out", f)
    assert_one_line_error(proc, "is a file")
    assert f.read_text() == "keep me"
    proc = run_cli(edgelstm_exe, "export-c", model_file, "--out", f / "sub")
    assert_one_line_error(proc)
    assert f.read_text() == "keep me" and leftovers(tmp_path) == []


def test_out_dir_is_the_current_folder(model_file, tmp_path, edgelstm_exe):
    (tmp_path / "x.txt").write_text("x")
    proc = run_cli(edgelstm_exe, "export-c", model_file, "--out", ".", cwd=tmp_path)
    assert_one_line_error(proc)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.txt"]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write anywhere")
def test_out_dir_not_writable(model_file, tmp_path, edgelstm_exe):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        proc = run_cli(edgelstm_exe, "export-c", model_file, "--out", ro / "o")
        assert_one_line_error(proc, "not writable")
    finally:
        ro.chmod(0o755)


def test_bad_name_subprocess(model_file, tmp_path, edgelstm_exe):
    proc = run_cli(edgelstm_exe, "export-c", model_file, "--out", tmp_path / "o", "--name", "my model")
    assert_one_line_error(proc, "C identifier")
    proc = run_cli(edgelstm_exe, "export-c", model_file, "--out", tmp_path / "o", "--name", "while")
    assert_one_line_error(proc, "keyword")
    assert not (tmp_path / "o").exists()


def test_failure_while_writing_leaves_nothing(model_file, tmp_path, monkeypatch):
    import edgelstm.codegen.export as ex

    def boom(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ex.shutil, "copyfile", boom)
    r = invoke("export-c", model_file, "--out", tmp_path / "o")
    assert isinstance(r.exception, EdgelstmError) and "No space left" in str(r.exception)
    assert list(tmp_path.iterdir()) == []


def test_help_texts(edgelstm_exe):
    for cmd in ("export-c", "verify"):
        proc = run_cli(edgelstm_exe, cmd, "--help")
        assert proc.returncode == 0
        for opt in (["--out", "--name", "--test-vectors", "--data", "--json", "--quiet"] if cmd == "export-c"
                    else ["--data", "--samples", "--cc", "--json", "--quiet", "--target"]):
            assert opt in proc.stdout, (cmd, opt)


# ----------------------------------------------------------------------------- verify


@pytest.fixture(scope="module")
def exported(model_file, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("exp") / "lib"
    r = invoke("export-c", model_file, "--out", out, "--name", "gest", "--test-vectors", 10, "-q")
    assert r.exit_code == 0, r.output
    return out


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_verify_json(exported, cc):
    need_tool(cc)
    r = invoke("verify", exported, "--cc", cc, "--samples", 1500, "--json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["mismatches"] == 0 and rep["samples"] == 1500 and rep["compiler"] == cc and rep["target"] == "host"
    assert rep["compared_bytes"] == 1500 * 3 * 2  # classify + streaming


def test_verify_human_and_subprocess(exported, edgelstm_exe):
    need_tool("gcc")
    proc = run_cli(edgelstm_exe, "verify", exported, "--samples", 200)
    assert proc.returncode == 0, proc.stderr
    assert "0 mismatching bytes of 1200 compared (classify + streaming)" in proc.stdout
    assert "bit-exact: yes" in proc.stdout


def test_verify_bidirectional(bi_model_file, tmp_path):
    need_tool("gcc")
    out = tmp_path / "bi"
    assert invoke("export-c", bi_model_file, "--out", out, "--test-vectors", 3, "-q").exit_code == 0
    r = invoke("verify", out, "--json", "--samples", 300)
    rep = json.loads(r.stdout)
    assert r.exit_code == 0 and rep["mismatches"] == 0 and rep["streaming"] is False
    assert rep["compared_bytes"] == 300 * 4


def test_verify_detects_a_tampered_library(model_file, tmp_path, edgelstm_exe):
    """Change one weight in the generated C: verify must report mismatches and exit non-zero."""
    need_tool("gcc")
    out = tmp_path / "t"
    assert invoke("export-c", model_file, "--out", out, "--name", "t", "--test-vectors", 3, "-q").exit_code == 0
    c = (out / "t_model.c").read_text()
    # The weights are written in both encodings (#if EDGELSTM_LSTM_PAIRED): tamper with both.
    parts = c.split("static const int8_t t_lstm_0_wh[")
    assert len(parts) >= 2
    for k in range(1, len(parts)):
        size, body = parts[k].split("] = {\n", 1)
        first, tail = body.split(",", 1)
        parts[k] = f"{size}] = {{\n    {127 if int(first) < 0 else -127},{tail}"
    (out / "t_model.c").write_text("static const int8_t t_lstm_0_wh[".join(parts))
    proc = run_cli(edgelstm_exe, "verify", out, "--samples", 300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "bit-exact: NO" in proc.stdout and "expected" in proc.stdout
    r = invoke("verify", out, "--samples", 300, "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)["mismatches"] > 0


def test_verify_removes_its_build_folder_when_the_c_does_not_compile(model_file, tmp_path, edgelstm_exe):
    need_tool("gcc")
    out = tmp_path / "t"
    assert invoke("export-c", model_file, "--out", out, "--name", "t", "--test-vectors", 3, "-q").exit_code == 0
    with open(out / "t_model.c", "a") as f:
        f.write("\n#error boom\n")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = run_cli(edgelstm_exe, "verify", out, "--samples", 5, "-q", env={"TMPDIR": str(tmp)})
    assert_one_line_error(proc, "failed to compile", "boom")
    assert list(tmp.iterdir()) == []  # no edgelstm_verify_* folder left behind


def test_verify_errors_are_one_line(exported, tmp_path, edgelstm_exe):
    proc = run_cli(edgelstm_exe, "verify", tmp_path / "nope")
    assert_one_line_error(proc, "does not exist")
    proc = run_cli(edgelstm_exe, "verify", tmp_path)
    assert_one_line_error(proc, "not an edgelstm export")
    proc = run_cli(edgelstm_exe, "verify", exported, "--data", tmp_path / "missing.npz")
    assert_one_line_error(proc, "does not exist")
    proc = run_cli(edgelstm_exe, "verify", exported, "--cc", "tcc")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr


def test_verify_refuses_a_replaced_model(exported, tmp_path, edgelstm_exe):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(exported, copy)
    (copy / "gest_model.tflite").write_bytes(synth_lstm_tflite(SynthSpec(units=8, features=4, window=12, classes=3,
                                                                         seed=99)))
    proc = run_cli(edgelstm_exe, "verify", copy)
    assert_one_line_error(proc, "sha256")


def test_manifest_round_trip_versions_and_bad_fields(exported, tmp_path, edgelstm_exe):
    """edgelstm_export.json is an ExportManifest: save() writes the bytes export-c wrote; a manifest
    without format_version (as the first ones could be) reads as version 1; a newer version or a
    field of the wrong type is a one-line error naming it, before anything is built."""
    import shutil

    from edgelstm.codegen.manifest import MANIFEST, ExportManifest, read_manifest

    m = read_manifest(exported)
    assert m.format_version == 1 and m.name == "gest" and m["name"] == m.name and m.test_vectors.count == 10
    m.save(tmp_path / "again.json")
    assert (tmp_path / "again.json").read_bytes() == (exported / MANIFEST).read_bytes()
    raw = json.loads((exported / MANIFEST).read_text())
    assert ExportManifest.from_json({k: v for k, v in raw.items() if k != "format_version"}) == m
    for key, value, words in (("format_version", 2, ("newer edgelstm", "format_version 2")),
                              ("classes", "four", ("'classes' must be an integer", '"four"')),
                              ("state_fields", [{"name": "h"}], ("'state_fields' item 0: lacks 'type'",)),
                              ("library_sources", [], ("'library_sources' must be a non-empty list",))):
        copy = tmp_path / f"bad_{key}"
        shutil.copytree(exported, copy)
        (copy / MANIFEST).write_text(json.dumps({**raw, key: value}))
        assert_one_line_error(run_cli(edgelstm_exe, "verify", copy, "--samples", 3), *words)


def test_atomic_dir_carries_the_users_files_and_loses_none_on_failure(tmp_path):
    from edgelstm.fsutil import atomic_dir

    out = tmp_path / "rep"
    out.mkdir()
    for name in ("index.html", "old_fig.png", "mine.md"):
        (out / name).write_text(name)
    kept: list[str] = []
    with atomic_dir(out, carry_except={"index.html", "old_fig.png"}, carried=kept) as tmp:
        (tmp / "index.html").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "mine.md"] and kept == ["mine.md"]
    assert (out / "index.html").read_text() == "new" and (out / "mine.md").read_text() == "mine.md"
    with pytest.raises(RuntimeError):
        with atomic_dir(out, carry_except={"index.html"}) as tmp:
            (tmp / "index.html").write_text("newer")
            raise RuntimeError("the build failed")
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "mine.md"]
    assert (out / "index.html").read_text() == "new" and leftovers(tmp_path) == []
