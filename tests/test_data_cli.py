"""`edgelstm data radar` and `edgelstm data inspect`, in-process (CliRunner) and as a real process."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from edgelstm.cli import cli
from edgelstm.data import RadarConfig, load_dataset
from edgelstm.errors import DataError, EdgelstmError

SMALL = ["--train", "70", "--test", "14", "--frames", "16"]


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=True)


@pytest.fixture(scope="module")
def radar_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("cli") / "radar.npz"
    r = invoke("data", "radar", "--out", str(p), *SMALL, "--quiet")
    assert r.exit_code == 0, r.output
    return p


# ----------------------------------------------------------------------------- data radar


def test_radar_writes_dataset_and_summary(tmp_path):
    p = tmp_path / "r.npz"
    r = invoke("data", "radar", "--out", str(p), *SMALL, "--seed", "3")
    assert r.exit_code == 0, r.output
    assert "70 train + 14 test sequences x 16 frames x 18 features" in r.output
    assert "walking" in r.output
    ds = load_dataset(p)
    assert ds.X_train.shape == (70, 16, 18) and ds.params["seed"] == 3
    assert [f.name for f in tmp_path.iterdir()] == ["r.npz"]  # nothing else left behind


def test_radar_json_is_one_object(tmp_path):
    p = tmp_path / "r.npz"
    r = CliRunner().invoke(cli, ["data", "radar", "--out", str(p), *SMALL, "--json"])
    assert r.exit_code == 0
    obj = json.loads(r.stdout)
    assert obj["n_train"] == 70 and obj["n_features"] == 18 and obj["classes"][0] == "empty"
    assert obj["params"]["config"]["doppler_bins"] == 16


def test_radar_options_reach_the_config(tmp_path):
    p = tmp_path / "r.npz"
    r = invoke(
        "data", "radar", "-o", str(p), *SMALL, "--features", "doppler", "--doppler-bins", "32",
        "--carrier-ghz", "77", "--bandwidth-ghz", "1", "--chirps-per-frame", "32", "--chirp-us", "100",
        "--frame-rate", "10", "--snr-db", "0", "10", "--spike-prob", "0.1", "--variable-length", "-q",
    )
    assert r.exit_code == 0, r.output
    ds = load_dataset(p)
    cfg = ds.params["config"]
    assert ds.X_train.shape == (70, 16, 34)
    assert cfg["carrier_hz"] == 77e9 and cfg["bandwidth_hz"] == 1e9 and cfg["chirps_per_frame"] == 32
    assert cfg["chirp_duration_s"] == pytest.approx(100e-6) and cfg["frame_rate_hz"] == 10
    assert cfg["snr_db_range"] == [0.0, 10.0] and cfg["spike_probability"] == 0.1
    assert ds.lengths_train is not None and ds.lengths_train.min() >= 8


def test_radar_defaults_equal_library_defaults(tmp_path):
    """Options left alone give exactly the data of generate_radar with RadarConfig()."""
    from edgelstm.data import generate_radar

    p = tmp_path / "r.npz"
    assert invoke("data", "radar", "-o", str(p), *SMALL, "--features", "track", "-q").exit_code == 0
    ref = generate_radar(n_train=70, n_test=14, frames=16, features="track", seed=0)
    assert np.array_equal(load_dataset(p).X_train, ref.X_train)
    assert load_dataset(p).params["config"] == RadarConfig().to_dict()


@pytest.mark.parametrize(
    "args",
    [
        ["--frames", "0"],
        ["--train", "0"],
        ["--test", "0"],
        ["--doppler-bins", "4"],
        ["--features", "fft"],
        ["--spike-prob", "2"],
    ],
)
def test_radar_bad_options(tmp_path, args):
    p = tmp_path / "r.npz"
    r = invoke("data", "radar", "--out", str(p), *args)
    assert r.exit_code != 0
    assert not p.exists()


def test_radar_bad_combination_is_one_line_error(tmp_path):
    p = tmp_path / "r.npz"
    r = invoke("data", "radar", "--out", str(p), "--chirps-per-frame", "1000")
    assert isinstance(r.exception, EdgelstmError) and "do not fit in one frame" in str(r.exception)
    assert not p.exists()


def test_radar_out_is_a_directory(tmp_path):
    r = invoke("data", "radar", "--out", str(tmp_path), *SMALL)
    assert r.exit_code == 2 and "is a directory" in r.output


# ----------------------------------------------------------------------------- data inspect


def test_inspect_text_and_plot(radar_file, tmp_path):
    png = tmp_path / "sig.png"
    r = invoke("data", "inspect", str(radar_file), "--plot", str(png))
    assert r.exit_code == 0, r.output
    assert "70 train + 14 test sequences x 16 frames x 18 features, 7 classes" in r.stdout
    assert "drone" in r.stdout and "doppler_-8" in r.stdout and "amplitude_db" in r.stdout
    assert "sensor: 60 GHz" in r.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_inspect_json(radar_file):
    r = CliRunner().invoke(cli, ["data", "inspect", str(radar_file), "--json"])
    assert r.exit_code == 0
    s = json.loads(r.stdout)
    assert s["splits"]["train"]["class_counts"]["car"] == 10
    assert s["splits"]["test"]["sequences"] == 14
    assert [f["name"] for f in s["features"]][-2:] == ["range_m", "amplitude_db"]
    f = s["features"][-1]
    assert f["min"] <= f["mean"] <= f["max"]
    assert s["params"]["generator"] == "edgelstm.data.radar"


def test_inspect_track_and_variable_length_plot(tmp_path):
    p, png = tmp_path / "t.npz", tmp_path / "t.png"
    assert invoke("data", "radar", "-o", str(p), *SMALL, "--features", "track", "--variable-length", "-q").exit_code == 0
    r = invoke("data", "inspect", str(p), "--plot", str(png))
    assert r.exit_code == 0, r.output
    assert "pre-padded" in r.stdout and png.stat().st_size > 1000


def test_inspect_csv(tmp_path):
    p = tmp_path / "d.csv"
    rows = [f"s{s},{f},{s * 0.1 + f},{'car' if s % 2 else 'walk'}" for s in range(10) for f in range(3 + s % 2)]
    p.write_text("sequence_id,frame,speed,label\n" + "\n".join(rows) + "\n")
    png = tmp_path / "d.png"
    r = invoke("data", "inspect", str(p), "--plot", str(png), "--test-fraction", "0.4")
    assert r.exit_code == 0, r.output
    assert "6 train + 4 test sequences x 4 frames x 1 features, 2 classes" in r.stdout
    assert "lengths (train): 3..4 frames" in r.stdout
    assert png.exists()


def test_inspect_bad_file_raises_data_error(tmp_path):
    p = tmp_path / "x.npz"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(50))
    r = invoke("data", "inspect", str(p))
    assert isinstance(r.exception, DataError) and "PNG" in str(r.exception)


# ----------------------------------------------------------------------------- real process


def run(exe, *args, cwd):
    return subprocess.run([exe, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_process_good_run(edgelstm_exe, tmp_path):
    r = run(edgelstm_exe, "data", "radar", "--out", "radar.npz", *SMALL, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "radar.npz").exists()
    assert "wrote radar.npz" in r.stdout
    r = run(edgelstm_exe, "data", "inspect", "radar.npz", "--json", cwd=tmp_path)
    assert r.returncode == 0 and json.loads(r.stdout)["n_classes"] == 7


@pytest.mark.parametrize(
    "args",
    [
        ["data", "radar", "--out", "out.npz", "--doppler-bins", "4"],
        ["data", "radar", "--out", "out.npz", "--frames", "0"],
        ["data", "radar", "--out", "out.npz", "--chirps-per-frame", "1000"],
        ["data", "radar", "--out", "out.npz", "--snr-db", "10", "0", *SMALL],
        ["data", "inspect", "missing.npz", "--plot", "out.npz"],
        ["data", "inspect", "picture.npz", "--plot", "out.npz"],
    ],
)
def test_process_bad_input_one_line_error(edgelstm_exe, tmp_path, args):
    (tmp_path / "picture.npz").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(50))
    r = run(edgelstm_exe, *args, cwd=tmp_path)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert not (tmp_path / "out.npz").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["picture.npz"]  # no temporary files


def test_quiet_silences_notes_not_results(tmp_path):
    from tests.test_bad_inputs import run_main

    p = tmp_path / "r.npz"
    r = run_main("data", "radar", "-o", p, "--train", 14, "--test", 7, "--frames", 8, "-q")
    assert r.code == 0 and r.stderr == "" and f"wrote {p}" in r.stdout
    r = run_main("data", "inspect", p, "-q")
    assert r.code == 0 and r.stderr == "" and "14 train + 7 test sequences" in r.stdout
    r = run_main("data", "inspect", p, "--json", "-q")
    assert r.code == 0 and json.loads(r.stdout)["splits"]["train"]["sequences"] == 14


def test_a_group_alone_prints_its_help():
    from tests.test_bad_inputs import run_main

    for args in ((), ("data",)):
        r = run_main(*args)
        assert r.code == 2 and r.stdout == ""
        assert "Usage: edgelstm" in r.stderr and "Commands:" in r.stderr and len(r.stderr.splitlines()) > 5


def test_inspect_plot_prints_no_warnings(tmp_path, edgelstm_exe):
    """Emoji class names (glyphs the font lacks) and values near float32's limit plot quietly
    (a real process: pytest would capture the warnings of an in-process run)."""
    from tests.conftest import run_cli

    rng = np.random.default_rng(0)
    p = tmp_path / "e.npz"
    np.savez(p, X_train=(rng.normal(size=(12, 6, 3)) * 1e30).astype(np.float32), y_train=np.arange(12) % 2,
             X_test=rng.normal(size=(4, 6, 3)).astype(np.float32), y_test=np.arange(4) % 2,
             class_names=np.array(["Fußgänger 🚶", "car"]))
    r = run_cli(edgelstm_exe, "data", "inspect", p, "--plot", tmp_path / "e.png", "-q")
    assert r.returncode == 0 and r.stderr == "" and (tmp_path / "e.png").stat().st_size > 0
