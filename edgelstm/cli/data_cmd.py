"""`edgelstm data ...`: generate the radar dataset and inspect datasets."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ..data import load_dataset, save_dataset
from ..data.inspect import format_summary, plot_examples, summarize
from ..data.radar import FEATURE_SETS, RadarConfig, generate_radar
from ..data.radar.raw import RawConfig, generate_raw_radar, save_raw
from ..frontend import FRONT_ENDS, extract_dataset
from ..data.split import DEFAULT_TEST_FRACTION
from ..errors import EdgelstmError
from ..fsutil import check_output_path
from .base import Output, cli, default_of, output_options

_DEFAULT = RadarConfig()  # the sensor options' defaults; the others are generate_radar's

# Sensor options: (option, RadarConfig attribute, unit scale, click type, help). Their defaults
# are the RadarConfig values (in the option's unit); a value left at its default keeps the
# RadarConfig value exactly.
_SENSOR = [
    ("--doppler-bins", "doppler_bins", 1, click.IntRange(16, 512), "Doppler bins per frame."),
    ("--carrier-ghz", "carrier_hz", 1e9, click.FloatRange(1, 300), "Carrier frequency f_c; wavelength c/f_c."),
    ("--bandwidth-ghz", "bandwidth_hz", 1e9, click.FloatRange(min=0.001), "Chirp bandwidth B; range resolution c/(2B)."),
    ("--chirp-us", "chirp_duration_s", 1e-6, click.FloatRange(min=1),
     "Chirp repetition time T_chirp; v_max = lambda/(4 T_chirp)."),
    ("--chirps-per-frame", "chirps_per_frame", 1, click.IntRange(4, 1024), "Chirps per frame (slow-time FFT length)."),
    ("--frame-rate", "frame_rate_hz", 1, click.FloatRange(0.1, 1000), "Frames per second."),
    ("--snr-db", "snr_db_range", 1, (float, float), "Per-sequence SNR range (dB per chirp, before the class RCS offset)."),
    ("--spike-prob", "spike_probability", 1, click.FloatRange(0, 1), "Probability of an interference spike per frame."),
]


def _option_key(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def _sensor_default(attr: str, scale: float):
    value = getattr(_DEFAULT, attr)
    return value if scale == 1 else value / scale


def _sensor_options(f):
    for flag, attr, scale, typ, text in reversed(_SENSOR):
        metavar = "MIN MAX" if isinstance(typ, tuple) else None
        f = click.option(
            flag, type=typ, default=_sensor_default(attr, scale), show_default=True, metavar=metavar, help=text
        )(f)
    return f


def _radar_config(opts: dict) -> RadarConfig:
    """RadarConfig from the sensor options; options left at their default keep the exact value."""
    cfg = RadarConfig()
    for flag, attr, scale, _typ, _text in _SENSOR:
        value = opts[_option_key(flag)]
        if isinstance(value, (list, tuple)):
            value = tuple(value)
        if value != _sensor_default(attr, scale):
            setattr(cfg, attr, value if scale == 1 else value * scale)
    return cfg


@cli.group("data")
def data_group() -> None:
    """Generate (radar) and inspect sequence datasets."""


@data_group.command("radar")
@click.option("--out", "-o", "out_path", required=True, type=click.Path(dir_okay=False), help="Output .npz file.")
@click.option("--train", "n_train", type=click.IntRange(min=7), default=default_of(generate_radar, "n_train"),
              show_default=True, help="Training sequences (balanced over the 7 classes).")
@click.option("--test", "n_test", type=click.IntRange(min=1), default=default_of(generate_radar, "n_test"),
              show_default=True, help="Test sequences.")
@click.option("--frames", type=click.IntRange(1, 100_000), default=default_of(generate_radar, "frames"),
              show_default=True, help="Frames per sequence (T).")
@click.option("--features", type=click.Choice(FEATURE_SETS + ("raw",)), default=default_of(generate_radar, "features"),
              show_default=True,
              help="doppler: micro-Doppler spectrum (dB) + range + amplitude per frame; "
              "track: amplitude (dB) and range (m) per frame; raw: the int16 ADC samples (N, T, chirps, samples) "
              "for 'edgelstm data features' (docs/raw_radar.md).")
@_sensor_options
@click.option("--samples-per-chirp", type=click.IntRange(8, 1024), default=RawConfig.samples_per_chirp,
              show_default=True, help="ADC samples per chirp (--features raw; a power of two).")
@click.option("--variable-length", is_flag=True,
              help="Random true lengths in [T/2, T], pre-padded with 0.0.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=default_of(generate_radar, "seed"),
              show_default=True, help="Random seed (same seed, same data).")
@output_options()
def radar_cmd(out: Output, **opts) -> None:
    """Simulate a 60 GHz FMCW radar dataset: 7 classes of micro-Doppler sequences.

    \b
    Classes: empty, walking, running, bicycle, car, drone, bird. Targets are point scatterers
    with micro-motion (limbs, wheels, rotor blades, wings), random trajectory, aspect, speed,
    RCS fluctuation and SNR, plus clutter, noise and interference spikes (docs/radar_data.md).
    """
    if Path(opts["out_path"]).suffix.lower() != ".npz":
        raise EdgelstmError(f"--out '{opts['out_path']}' must be a file name ending in .npz (the dataset is an NPZ "
                            "archive)", "e.g. --out radar.npz")
    check_output_path(opts["out_path"], what="dataset file")
    cfg = _radar_config(opts)
    cfg.validate()  # before the progress bar: bad settings are one line, nothing written
    if opts["features"] == "raw":
        _raw_radar(out, cfg, opts)
        return

    n_total = opts["n_train"] + opts["n_test"]
    t0 = time.perf_counter()
    with out.progress(length=n_total, label="simulating radar") as bar:
        ds = generate_radar(
            n_train=opts["n_train"],
            n_test=opts["n_test"],
            frames=opts["frames"],
            features=opts["features"],
            config=cfg,
            seed=opts["seed"],
            variable_length=opts["variable_length"],
            progress=bar.update,
        )
    save_dataset(ds, opts["out_path"])
    seconds = time.perf_counter() - t0
    d = ds.params["derived"]
    out.result(
        f"wrote {opts['out_path']}: {len(ds.X_train)} train + {len(ds.X_test)} test sequences x {ds.window} frames x "
        f"{ds.n_features} features ({opts['features']}) in {seconds:.1f} s"
    )
    out.result(f"  classes: {', '.join(ds.class_names)}")
    out.result(
        f"  sensor: {cfg.carrier_hz / 1e9:g} GHz, range resolution {d['range_resolution_m'] * 100:.2f} cm, "
        f"{cfg.chirps_per_frame} chirps x {cfg.chirp_duration_s * 1e6:g} us (v_max {d['max_velocity_mps']:.2f} m/s), "
        f"{cfg.frame_rate_hz:g} frames/s, {ds.window / cfg.frame_rate_hz:g} s per sequence"
    )
    out.emit_json(
        {
            "out": str(opts["out_path"]),
            "n_train": len(ds.X_train),
            "n_test": len(ds.X_test),
            "frames": ds.window,
            "n_features": ds.n_features,
            "features": opts["features"],
            "feature_names": ds.feature_names,
            "classes": ds.class_names,
            "seconds": round(seconds, 3),
            "params": ds.params,
        }
    )


def _raw_radar(out: Output, cfg: RadarConfig, opts: dict) -> None:
    """--features raw: the ADC samples themselves (edgelstm/data/radar/raw.py)."""
    if opts["variable_length"]:
        raise EdgelstmError("--variable-length is not available with --features raw", "drop --variable-length")
    raw = RawConfig(samples_per_chirp=opts["samples_per_chirp"])
    raw.validate()
    n_total = opts["n_train"] + opts["n_test"]
    t0 = time.perf_counter()
    with out.progress(length=n_total, label="simulating raw radar") as bar:
        ds = generate_raw_radar(n_train=opts["n_train"], n_test=opts["n_test"], frames=opts["frames"], config=cfg,
                                raw=raw, seed=opts["seed"], progress=bar.update)
    save_raw(ds, opts["out_path"])
    seconds = time.perf_counter() - t0
    shape = ds.X_train.shape
    out.result(f"wrote {opts['out_path']}: {shape[0]} train + {len(ds.X_test)} test sequences x {shape[1]} frames x "
               f"{shape[2]} chirps x {shape[3]} samples (int16 ADC) in {seconds:.1f} s")
    out.result(f"  range bin {raw.range_bin_m:g} m, ADC noise {raw.adc_noise_lsb:g} LSB, {raw.adc_bits}-bit; "
               f"extract features with: edgelstm data features {opts['out_path']} --front-end doppler --out FEATS.npz")
    out.emit_json({"out": str(opts["out_path"]), "n_train": int(shape[0]), "n_test": int(len(ds.X_test)),
                   "frames": int(shape[1]), "chirps": int(shape[2]), "samples": int(shape[3]), "features": "raw",
                   "classes": ds.class_names, "seconds": round(seconds, 3), "params": ds.params})


@data_group.command("features")
@click.argument("raw_file", type=click.Path(dir_okay=False))
@click.option("--front-end", "front_end", type=click.Choice(FRONT_ENDS), required=True,
              help="The feature chain (doppler: range FFT, gate, Doppler FFT, dB, range, amplitude).")
@click.option("--out", "-o", "out_path", required=True, type=click.Path(dir_okay=False), help="Output feature .npz.")
@click.option("--float", "use_float", is_flag=True,
              help="Compute the features in float64 (the accuracy reference) instead of the fixed-point chain "
              "that the exported C runs.")
@click.option("--antenna", default=None, metavar="INDEX|sum",
              help="For (N, T, chirps, samples, antennas) recordings: the antenna to use, or 'sum'. [default: 0]")
@click.option("--doppler-bins", type=int, default=None, help="Doppler bins (power of two) [default: the file's, or 16].")
@click.option("--range-bin-m", type=float, default=None,
              help="Metres per range bin [default: the file's radar parameters, else 1].")
@click.option("--noise-lsb", type=float, default=None,
              help="ADC noise (LSB) referred to as 0 dB [default: the file's, else 1].")
@click.option("--gate-chirps", type=int, default=None,
              help="Chirps whose summed range power locates the range gate [default: 4].")
@click.option("--min-gate", type=int, default=None, help="Lowest range bin of the gate [default: 1, skips DC].")
@click.option("--max-gate", type=int, default=None, help="Highest range bin of the gate [default: samples/2 - 1].")
@output_options()
def features_cmd(out: Output, raw_file: str, front_end: str, out_path: str, use_float: bool, antenna, **overrides) -> None:
    """Raw ADC frames (N, T, chirps, samples[, antennas]) int16 -> a feature dataset (docs/raw_radar.md).

    \b
    The features are those of 'data radar --features doppler' (Doppler bins in dB, range_m,
    amplitude_db), computed by the integer front end that export-c emits as NAME_frontend.c
    (bit for bit), or in float64 with --float. The front-end spec is stored in the file and
    travels through train and quantize into the .tflite.
    """
    if Path(out_path).suffix.lower() != ".npz":
        raise EdgelstmError(f"--out '{out_path}' must be a file name ending in .npz", "e.g. --out feats.npz")
    check_output_path(out_path, what="dataset file")
    if antenna is not None and antenna != "sum" and not str(antenna).isdigit():
        raise EdgelstmError(f"--antenna '{antenna}' is neither an index nor 'sum'", "e.g. --antenna 0 or --antenna sum")
    ant = antenna if antenna in (None, "sum") else int(antenna)
    t0 = time.perf_counter()
    ds = extract_dataset(raw_file, front_end=front_end, use_float=use_float, antenna=ant, **overrides)
    save_dataset(ds, out_path)
    seconds = time.perf_counter() - t0
    fe = ds.params["front_end"]
    out.result(f"wrote {out_path}: {len(ds.X_train)} train + {len(ds.X_test)} test sequences x {ds.window} frames x "
               f"{ds.n_features} features ({front_end}, {ds.params['front_end_arithmetic']}) in {seconds:.1f} s")
    out.result(f"  front end: {fe['chirps']} chirps x {fe['samples']} samples, {fe['doppler_bins']} Doppler bins, "
               f"range bin {fe['range_bin_m']:g} m, gate from {fe['gate_chirps']} chirps in bins "
               f"{fe['min_gate']}..{fe['max_gate']}")
    out.emit_json({"out": str(out_path), "n_train": len(ds.X_train), "n_test": len(ds.X_test), "frames": ds.window,
                   "n_features": ds.n_features, "feature_names": ds.feature_names, "classes": ds.class_names,
                   "front_end": fe, "arithmetic": ds.params["front_end_arithmetic"], "seconds": round(seconds, 3)})


@data_group.command("inspect")
@click.argument("file", type=click.Path(dir_okay=True))
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Save a PNG with an example of each class (micro-Doppler spectrogram or traces).")
@click.option("--test-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None,
              help=f"Split used when the file has no test split [default: {DEFAULT_TEST_FRACTION}].")
@output_options()
def inspect_cmd(out: Output, file: str, plot: str | None, test_fraction: float | None) -> None:
    """Show shapes, classes, feature ranges and generation parameters of a dataset (.npz or .csv)."""
    if plot:
        if Path(plot).suffix.lower() != ".png":
            raise EdgelstmError(f"--plot '{plot}' must be a file name ending in .png", "e.g. --plot radar.png")
        check_output_path(plot, what="plot file")  # before any work: a bad path is one line, nothing written
    ds = load_dataset(file, test_fraction=test_fraction)
    summary = summarize(ds)
    out.result(format_summary(summary))
    if plot:
        plot_examples(ds, plot)
        out.note(f"wrote plot {plot}")
        summary["plot"] = str(plot)
    out.emit_json(summary)
