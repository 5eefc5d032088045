"""``edgelstm verify DIR --data RAW.npz``: raw radar frames through NAME_frontend and the model.

For an export with a raw front end (manifest ``front_end``) and a raw ADC file, the C library
runs every raw frame through ``NAME_frontend`` (every int8 byte compared with the numpy reference
edgelstm/frontend/) and every window through ``NAME_classify_raw`` and, for a streaming model,
``NAME_reset`` + ``NAME_step_raw`` + ``NAME_logits`` (every output byte compared with the
simulator on the reference's int8 frames). On a QEMU target the instructions of NAME_frontend
per frame are measured (SysTick under ``-icount shift=0``, calibrated like the model's).

The C program is generated per run (it needs NAME), in the build folder: protocol

    inputs.bin   "ELR1", u32 count, u32 n_frames, u32 chirps, u32 samples, int16 frames (LE)
    outputs.bin  per window: n_frames x F front-end bytes, classify_raw's C bytes + its return
                 value (one byte), for a streaming model the C bytes of step_raw/logits
    measure.txt  (board) calibration and NAME_frontend tick statistics
"""

from __future__ import annotations

import dataclasses
import struct
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..codegen.manifest import ExportManifest, read_manifest
from ..codegen.templates import boards_dir
from ..errors import DataError, EdgelstmError, ToolError
from ..frontend import FrontEndSpec, features_fixed, input_map_for_model, quantize_features, read_raw, select_antenna
from .compare import load_export_model
from .host import STRICT_CFLAGS, find_compiler
from .qemu_build import STRICT_CFLAGS as BOARD_CFLAGS
from .qemu_build import build_qemu, include_dirs
from .toolchain import ARM_SIZE, DEFAULT_OPT, find_arm_gcc, first_error, run_tool

MAGIC = b"ELR1"
FRONT_END_SOURCES = ("edgelstm_frontend_doppler_s16", "edgelstm_frontend_quantize_s8", "edgelstm_fft_q15",
                     "edgelstm_log2_q16")


def is_raw_data(path) -> bool:
    """A .npz whose X_train has 4 or 5 axes (raw ADC frames), read without loading the arrays."""
    if path is None or not str(path).lower().endswith(".npz") or not Path(path).is_file():
        return False
    try:
        with np.load(path, allow_pickle=False, mmap_mode="r") as z:
            if "X_train" not in z.files:
                return False
            with z.zip.open("X_train.npy") as f:
                fmt = np.lib.format
                read = fmt.read_array_header_1_0 if fmt.read_magic(f) == (1, 0) else fmt.read_array_header_2_0
                shape = read(f)[0]
            return len(shape) in (4, 5)
    except Exception:  # not an archive we can peek into: the feature path reports it
        return False


def raw_windows(path, samples: int, antenna=None) -> tuple[np.ndarray, str]:
    """The first ``samples`` windows of the test split (else train) of a raw file, int16 (N, T, M, S)."""
    raw = read_raw(path)
    key = "X_test" if "X_test" in raw else "X_train"
    X = select_antenna(raw[key], antenna, key, raw["where"])
    return X[:samples], f"{'test' if key == 'X_test' else 'training'} split of '{Path(path).name}' (raw ADC)"


def reference(model, spec: FrontEndSpec, adc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(int8 input frames (N, T, F), the simulator's outputs (N, C)) of raw windows."""
    q = quantize_features(features_fixed(adc, spec), input_map_for_model(spec, model))
    return q, model.predict_int8(q)


# ------------------------------------------------------------------------------ the C program

def pack(adc: np.ndarray) -> bytes:
    a = np.ascontiguousarray(adc, dtype="<i2")
    n, t, m, s = a.shape
    return MAGIC + struct.pack("<4I", n, t, m, s) + a.tobytes()


def _core(manifest: ExportManifest, read: str, write: str, tick: str, add: str) -> str:
    name, NAME = manifest.name, manifest.name.upper()
    stream = f"""
        {name}_reset(&s);
        for (t = 0; t < n_frames; ++t) {{
            (void){name}_step_raw(&s, adc + t * FRAME);
        }}
        {name}_logits(&s, out);
        if (!{write}(out, {NAME}_NUM_CLASSES)) return 2;""" if manifest.streaming else ""
    state = f"{name}_state_t s;" if manifest.streaming else ""
    return f"""
#define FRAME ({NAME}_FRONTEND_CHIRPS * {NAME}_FRONTEND_SAMPLES)
static int16_t adc[{manifest.window} * FRAME];

static int run(uint32_t count, uint32_t n_frames)
{{
    uint32_t i;
    uint32_t t;
    int8_t q[{NAME}_INPUT_SIZE];
    int8_t out[{NAME}_NUM_CLASSES];
    int8_t cls;
    {state}
    for (i = 0; i < count; ++i) {{
        if (!{read}(adc, (uint32_t)(n_frames * FRAME * 2u))) return 2;
        for (t = 0; t < n_frames; ++t) {{
            uint64_t t0 = {tick}();
            (void){name}_frontend(adc + t * FRAME, q);
            {add}({tick}() - t0);
            if (!{write}(q, {NAME}_INPUT_SIZE)) return 2;
        }}
        cls = (int8_t){name}_classify_raw(adc, (int)n_frames, out);
        if (!{write}(out, {NAME}_NUM_CLASSES) || !{write}(&cls, 1)) return 2;{stream}
    }}
    return 0;
}}
"""


def _header_check(manifest: ExportManifest) -> str:
    NAME = manifest.name.upper()
    return (f"(n_frames == 0u || n_frames > {manifest.window}u || m != (uint32_t){NAME}_FRONTEND_CHIRPS || "
            f"s != (uint32_t){NAME}_FRONTEND_SAMPLES)")


def host_source(manifest: ExportManifest) -> str:
    core = _core(manifest, "rd", "wr", "tick", "(void)")
    return f"""/* edgelstm raw front-end verify harness for {manifest.name} (generated). */
#include <stdio.h>
#include <stdint.h>
#include "{manifest.name}_model.h"
static FILE *fi;
static FILE *fo;
static int rd(void *p, uint32_t n) {{ return fread(p, 1, n, fi) == n; }}
static int wr(const void *p, uint32_t n) {{ return fwrite(p, 1, n, fo) == n; }}
static uint64_t tick(void) {{ return 0u; }}
{core}
static uint32_t u32(const unsigned char *b)
{{
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}}
int main(int argc, char **argv)
{{
    unsigned char h[20];
    uint32_t n_frames, m, s;
    int rc;
    if (argc != 3 || (fi = fopen(argv[1], "rb")) == 0 || (fo = fopen(argv[2], "wb")) == 0) return 2;
    if (fread(h, 1, 20, fi) != 20 || h[0] != 'E' || h[1] != 'L' || h[2] != 'R' || h[3] != '1') return 2;
    n_frames = u32(h + 8); m = u32(h + 12); s = u32(h + 16);
    if {_header_check(manifest)} return 3;
    rc = run(u32(h + 4), n_frames);
    fclose(fi);
    return (fclose(fo) == 0) ? rc : 2;
}}
"""


def board_source(manifest: ExportManifest) -> str:
    core = _core(manifest, "rd", "wr", "eb_ticks", "stat")
    return f"""/* edgelstm raw front-end verify firmware for {manifest.name} (generated). */
#include <stdint.h>
#include "edgelstm_board.h"
#include "{manifest.name}_model.h"
static int32_t fi;
static int32_t fo;
static uint64_t fe_sum, fe_min, fe_max;
static uint32_t fe_count;
static int rd(void *p, uint32_t n) {{ return eb_read(fi, p, n) == (int32_t)n; }}
static int wr(const void *p, uint32_t n) {{ return eb_write(fo, p, n) == (int32_t)n; }}
static void stat(uint64_t v)
{{
    if (fe_count == 0u || v < fe_min) fe_min = v;
    if (fe_count == 0u || v > fe_max) fe_max = v;
    fe_sum += v;
    fe_count += 1u;
}}
{core}
static uint32_t u32(const uint8_t *b)
{{
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}}
int main(void)
{{
    uint8_t h[20];
    uint32_t n_frames, m, s;
    uint64_t t0, t1, t2;
    int32_t fm;
    int rc;
    fi = eb_open("inputs.bin", EB_OPEN_RB);
    fo = eb_open("outputs.bin", EB_OPEN_WB);
    if (fi < 0 || fo < 0 || eb_read(fi, h, 20u) != 20 || h[0] != 'E' || h[3] != '1') return 2;
    n_frames = u32(h + 8); m = u32(h + 12); s = u32(h + 16);
    if {_header_check(manifest)} return 2;
    rc = run(u32(h + 4), n_frames);
    (void)eb_close(fi);
    (void)eb_close(fo);
    fm = eb_open("measure.txt", EB_OPEN_WB);
    if (fm < 0) return 2;
    t0 = eb_ticks();
    eb_spin(1u);
    t1 = eb_ticks();
    eb_spin(100001u);
    t2 = eb_ticks();
    eb_fput_kv(fm, "calibration_instructions", 200000u);
    eb_fput_kv(fm, "calibration_ticks", (t2 - t1) - (t1 - t0));
    eb_fput_kv(fm, "frontend_ticks_sum", fe_sum);
    eb_fput_kv(fm, "frontend_ticks_min", fe_min);
    eb_fput_kv(fm, "frontend_ticks_max", fe_max);
    eb_fput_kv(fm, "frontend_ticks_count", fe_count);
    eb_fput_kv(fm, "end", 1u);
    (void)eb_close(fm);
    return rc;
}}
"""


def _unpack(raw: bytes, manifest: ExportManifest, n: int, T: int) -> dict:
    F, C = manifest.features, manifest.classes
    rec = T * F + C + 1 + (C if manifest.streaming else 0)
    if len(raw) != n * rec:
        raise ToolError(f"the raw front-end harness wrote {len(raw)} bytes, expected {n * rec}")
    a = np.frombuffer(raw, dtype=np.int8).reshape(n, rec)
    return {"front_end": a[:, : T * F].reshape(n, T, F).copy(), "classify": a[:, T * F : T * F + C].copy(),
            "classes": a[:, T * F + C].astype(np.int64),
            "stream": a[:, T * F + C + 1 :].copy() if manifest.streaming else None}


def run_host(export_dir, manifest: ExportManifest, adc: np.ndarray, cc: str = "gcc", extra_cflags=(),
             build_dir=None) -> dict:
    """Compile the export + the host harness with ``cc`` and run the raw windows."""
    d = Path(export_dir)
    bdir = Path(build_dir or tempfile.mkdtemp(prefix="edgelstm_raw_"))
    bdir.mkdir(parents=True, exist_ok=True)
    harness = bdir / "raw_main.c"
    harness.write_text(host_source(manifest), encoding="utf-8")
    exe = bdir / "raw_main"
    cmd = [find_compiler(cc), *STRICT_CFLAGS, *extra_cflags, "-I", str(d), *[str(d / s) for s in manifest.library_sources],
           str(harness), "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise ToolError(f"{cc} failed to compile the raw front-end harness: {first_error(proc.stderr or proc.stdout)}")
    (bdir / "inputs.bin").write_bytes(pack(adc))
    run = subprocess.run([str(exe), str(bdir / "inputs.bin"), str(bdir / "outputs.bin")], capture_output=True,
                         text=True, timeout=600)
    if run.returncode != 0:
        raise ToolError(f"the raw front-end harness failed (exit code {run.returncode}): {run.stderr.strip()[:200]}")
    return _unpack((bdir / "outputs.bin").read_bytes(), manifest, len(adc), adc.shape[1])


def run_qemu(export_dir, manifest: ExportManifest, adc: np.ndarray, target: str, opt: str | None = DEFAULT_OPT,
             model=None) -> dict:
    """Cross-compile for ``target``'s core, run the raw windows under QEMU, measure NAME_frontend."""
    build = build_qemu(export_dir, manifest, target, opt=opt)
    try:
        gcc = find_arm_gcc()
        bdir = build.build_dir
        src = bdir / "raw_board_main.c"
        src.write_text(board_source(manifest), encoding="utf-8")
        common = boards_dir() / "common"
        incs = [f"-I{bdir}", f"-I{common}"] + [f"-I{x}" for x in include_dirs(Path(export_dir), manifest)]
        obj = bdir / "board" / "raw_board_main.o"
        proc = run_tool([gcc, *build.cflags, *incs, "-c", str(src), "-o", str(obj)], "arm-none-eabi-gcc (raw main)")
        if proc.returncode != 0:
            raise ToolError(f"arm-none-eabi-gcc failed on the raw front-end firmware: {first_error(proc.stderr)}")
        elf = bdir / "raw_firmware.elf"
        ld = boards_dir() / build.board.board / "linker.ld"
        board_objs = [bdir / "board" / "edgelstm_startup.o", bdir / "board" / "edgelstm_board.o"]
        proc = run_tool([gcc, *build.board.cpu_flags, build.opt, "-nostartfiles", "--specs=nano.specs",
                         "-Wl,--gc-sections", "-T", str(ld), "-o", str(elf), *map(str, board_objs), str(obj),
                         *map(str, build.library_objects)], "arm-none-eabi-gcc (raw link)")
        if proc.returncode != 0:
            raise ToolError(f"arm-none-eabi-gcc failed to link the raw front-end firmware: {first_error(proc.stderr)}")
        raw_build = dataclasses.replace(build, elf=elf)
        n, T = adc.shape[:2]
        rec = T * manifest.features + manifest.classes + 1 + (manifest.classes if manifest.streaming else 0)
        out, measure = raw_build.run(pack(adc), expect_bytes=n * rec, record_bytes=rec)
        got = _unpack(out, manifest, n, T)
        ipt = build.board.instructions_per_tick
        cal_i, cal_t = measure.get("calibration_instructions", 0), measure.get("calibration_ticks", 0)
        if not cal_t or abs(cal_t * ipt - cal_i) > 2 * ipt + 0.002 * cal_i:
            raise ToolError(f"SysTick under QEMU does not count instructions as expected on the {build.board.title}")
        cnt = measure.get("frontend_ticks_count", 0)
        got["front_end_instructions_per_frame"] = round(measure["frontend_ticks_sum"] / cnt * ipt, 1) if cnt else None
        got["front_end_instructions_max"] = int(round(measure.get("frontend_ticks_max", 0) * ipt))
        got["front_end_flash_bytes"], got["front_end_ram_bytes"] = _object_sizes(build, manifest)
        macs = {} if model is None else {"macs_per_frame": model.ir.macs_per_frame(), "macs_head": model.ir.macs_head()}
        got["footprint"] = build.footprint(measure={}, **macs)
        got["compiler"] = f"{build.compiler_version} {build.opt}"
        return got
    finally:
        build.cleanup()


def _object_sizes(build, manifest: ExportManifest) -> tuple[int, int]:
    """Flash (text + data) and static RAM (data + bss) of the front end's objects on this core."""
    names = {f"{manifest.name}_frontend", *FRONT_END_SOURCES}
    objs = [str(o) for o in build.library_objects if o.stem in names]
    proc = run_tool([ARM_SIZE, "-A", *objs], ARM_SIZE)
    flash = ram = 0
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) < 2 or not parts[1].isdigit():
            continue
        sec, n = parts[0], int(parts[1])
        if sec.startswith((".text", ".rodata")):
            flash += n
        elif sec.startswith(".data"):
            flash += n
            ram += n
        elif sec.startswith(".bss"):
            ram += n
    return flash, ram


# ------------------------------------------------------------------------------------ verify

def verify_raw(export_dir, data, *, samples: int = 100, target: str = "host", cc: str = "gcc", adc=None,
               opt: str | None = DEFAULT_OPT, note: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Raw windows (``adc`` or the file ``data``) through the C front end + model vs the reference."""
    note = note or (lambda _m: None)
    t0 = time.perf_counter()
    manifest = read_manifest(export_dir)
    if manifest.front_end is None:
        raise EdgelstmError(f"'{export_dir}' has no raw front end, so raw data cannot be verified",
                            "export a model trained on 'edgelstm data features' output, or pass feature data")
    spec = FrontEndSpec.from_dict(manifest.front_end["spec"])
    model = load_export_model(export_dir, manifest)
    if adc is None:
        adc, source = raw_windows(data, samples)
    else:
        source = "raw int16 windows given by the caller"
    adc = np.asarray(adc)
    if adc.ndim != 4 or adc.shape[2:] != (spec.chirps, spec.samples) or adc.dtype != np.int16:
        raise DataError(f"raw windows of shape {adc.shape} ({adc.dtype}) do not fit the front end "
                        f"(N, T, {spec.chirps}, {spec.samples}) int16")
    if adc.shape[1] != manifest.window:
        raise DataError(f"raw windows have {adc.shape[1]} frames, the model takes {manifest.window}",
                        "record windows of the model's length")
    note(f"front end + simulator on {len(adc)} raw windows")
    q, expected = reference(model, spec, adc)
    if target == "host":
        note(f"building {manifest.name} with {cc} and running {len(adc)} raw windows")
        got = run_host(export_dir, manifest, adc, cc=cc)
        got["compiler"] = cc
    else:
        note(f"building {manifest.name} for {target} and running {len(adc)} raw windows in QEMU")
        got = run_qemu(export_dir, manifest, adc, target, opt=opt, model=model)
    fe_mism = int(np.count_nonzero(got["front_end"] != q))
    out_mism = int(np.count_nonzero(got["classify"] != expected))
    stream_mism = int(np.count_nonzero(got["stream"] != expected)) if got["stream"] is not None else 0
    report = {
        "mismatches": out_mism + stream_mism + fe_mism,
        "output_mismatches": out_mism + stream_mism,
        "mismatches_by_path": {"classify_raw": out_mism, **({"step_raw": stream_mism} if got["stream"] is not None else {})},
        "compared_bytes": int(expected.size * (2 if got["stream"] is not None else 1)),
        "argmax_mismatches": int(np.count_nonzero(got["classes"] != np.argmax(expected, axis=1))),
        "first_mismatches": _first(got, q, expected),
        "front_end_mismatches": fe_mism,
        "front_end_compared_bytes": int(q.size),
        "front_end": "raw",
        "samples": int(len(adc)), "frames": int(adc.shape[1]), "chirps": spec.chirps, "samples_per_chirp": spec.samples,
        "target": target, "compiler": got.get("compiler"), "streaming": bool(manifest.streaming),
        "name": manifest.name, "dir": str(export_dir), "inputs": source,
    }
    for k in ("front_end_instructions_per_frame", "front_end_instructions_max", "front_end_flash_bytes",
              "front_end_ram_bytes"):
        if k in got:
            report[k] = got[k]
    if got.get("footprint"):  # the model's footprint on this core, plus the front end's objects
        fp = got["footprint"]
        report["footprint"] = fp
        for k in ("flash_bytes", "ram_bytes"):
            if fp.get(k) is not None:
                report[k] = fp[k] + got[f"front_end_{k}"]
    report["seconds"] = round(time.perf_counter() - t0, 3)
    return report


def _first(got: dict, q: np.ndarray, expected: np.ndarray, limit: int = 5) -> list[dict]:
    """The first mismatching bytes, front end first (window, frame/output index, expected, got)."""
    first: list[dict] = []
    checks = [("frontend", got["front_end"].reshape(len(q), -1), q.reshape(len(q), -1)),
              ("classify_raw", got["classify"], expected)]
    if got["stream"] is not None:
        checks.append(("step_raw", got["stream"], expected))
    for label, arr, ref in checks:
        for s, k in zip(*np.nonzero(arr != ref)):
            if len(first) >= limit:
                return first
            first.append({"path": label, "sample": int(s), "index": int(k), "expected": int(ref[s, k]),
                          "got": int(arr[s, k])})
    return first


def random_raw_windows(n: int, frames: int, chirps: int, samples: int, seed: int = 0) -> np.ndarray:
    """int16 windows for bit-exactness: uniform full scale, 12-bit noise, all zero, full-scale
    constants, alternating +-full scale, and frames with saturated chirps."""
    rng = np.random.default_rng(seed)
    shape = (n, frames, chirps, samples)
    kinds = [
        lambda: rng.integers(-32768, 32768, shape),
        lambda: rng.integers(-2048, 2048, shape),
        lambda: np.zeros(shape),
        lambda: np.full(shape, 32767),
        lambda: np.full(shape, -32768),
        lambda: np.tile(np.array([32767, -32768]), shape[:-1] + (samples // 2,)),
    ]
    out = np.concatenate([k() for k in kinds]).astype(np.int16)
    sat = rng.integers(-8, 8, shape).astype(np.int16)
    sat[:, :, ::3] = np.where(rng.random((n, frames, len(range(0, chirps, 3)), samples)) < 0.5, 32767, -32768)
    return np.concatenate([out, sat])


def add_random_front_end(report: dict, export_dir, *, target: str = "host", cc: str = "gcc",
                         opt: str | None = DEFAULT_OPT, seed: int = 0) -> dict:
    """Without --data, an export with a raw front end also runs random and extreme int16 windows
    (random_raw_windows) through NAME_frontend / NAME_classify_raw / NAME_step_raw; their counts
    join the report (front_end_* keys, mismatches, mismatches_by_path)."""
    manifest = read_manifest(export_dir)
    if manifest.front_end is None:
        return report
    spec = FrontEndSpec.from_dict(manifest.front_end["spec"])
    adc = random_raw_windows(1, manifest.window, spec.chirps, spec.samples, seed=seed)
    raw = verify_raw(export_dir, None, adc=adc, target=target, cc=cc, opt=opt)
    report["mismatches"] += raw["output_mismatches"]
    report["compared_bytes"] += raw["compared_bytes"]
    report.setdefault("mismatches_by_path", {}).update(raw["mismatches_by_path"])
    report["argmax_mismatches"] += raw["argmax_mismatches"]
    report["first_mismatches"] = report.get("first_mismatches", []) + raw["first_mismatches"]
    for k in ("front_end", "front_end_mismatches", "front_end_compared_bytes", "chirps", "samples_per_chirp",
              "front_end_instructions_per_frame", "front_end_instructions_max", "front_end_flash_bytes",
              "front_end_ram_bytes"):
        if k in raw:
            report[k] = raw[k]
    for k in ("flash_bytes", "ram_bytes"):  # a core's footprint: the front end's objects on top
        if report.get(k) is not None and raw.get(f"front_end_{k}") is not None:
            report[k] += raw[f"front_end_{k}"]
    report["front_end_inputs"] = f"{len(adc)} random/extreme int16 windows"
    return report
