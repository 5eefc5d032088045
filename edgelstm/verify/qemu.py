"""Cross-compiling an exported library for a Cortex-M core and running it under QEMU.

``edgelstm verify DIR --target qemu-cortex-m4|qemu-cortex-m0|qemu-cortex-m33``:

1. compiles the export's library sources with ``arm-none-eabi-gcc`` (the core's -mcpu / -mthumb /
   -mfloat-abi flags from edgelstm/codegen/targets.py, ``-O2`` by default, ``-std=c99 -Wall
   -Wextra -Wpedantic -Werror``, ``-fstack-usage -fcallgraph-info=su`` for the stack analysis);
2. links them with the board template (firmware_templates/boards/: startup, the board's linker
   script, semihosting, SysTick) and the verify firmware ``edgelstm_board_verify.c``;
3. runs it in ``qemu-system-arm -M <board> -icount shift=0 -semihosting-config enable=on``:
   the firmware reads the windows from ``inputs.bin`` (semihosting SYS_OPEN / SYS_READ, one
   window at a time, so any number of the user's windows runs even in the micro:bit's 16 KB of
   RAM), writes every output byte to ``outputs.bin`` and the SysTick / stack measurements to
   ``measure.txt``;
4. the outputs are compared with the simulator byte for byte (edgelstm/verify/__init__.py
   compare_outputs), and the footprint (flash / RAM / instructions, edgelstm/verify/footprint.py)
   is reported for that core.

The input/output file format is the host harness' (edgelstm/verify/harness.py), so both
targets are checked by the same comparison.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .._version import __version__
from ..codegen.targets import BOARD_MODEL_HEADER, Board, board_for, board_model_header, boards_dir
from ..errors import EdgelstmError, ToolError
from . import footprint as fpmod
from .harness import MODE_FRONT_END, MODE_WINDOWS, pack_inputs, unpack_windows

ARM_GCC = "arm-none-eabi-gcc"
ARM_SIZE = "arm-none-eabi-size"
QEMU = "qemu-system-arm"
OPT_LEVELS = ("-O0", "-O1", "-O2", "-O3", "-Os", "-Oz")
DEFAULT_OPT = "-O2"
STRICT_CFLAGS = ("-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror")
SECTION_FLAGS = ("-ffunction-sections", "-fdata-sections")
LINK_FLAGS = ("-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections")
BOARD_SOURCES = ("edgelstm_startup.c", "edgelstm_board.c")
VERIFY_MAIN = "edgelstm_board_verify.c"
FOOTPRINT_MAIN = "edgelstm_board_footprint.c"
QEMU_EXIT_HARNESS = 2
QEMU_EXIT_FAULT = 3
# Pessimistic emulation speed for the time limits (QEMU -icount runs 200-500 M instructions/s).
_SLOW_INSTRUCTIONS_PER_S = 10e6


def find_arm_gcc() -> str:
    path = shutil.which(ARM_GCC)
    if path is None:
        raise ToolError(f"the Cortex-M cross-compiler '{ARM_GCC}' is not on PATH",
                        "install it: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi, "
                        "or the Arm GNU Toolchain from developer.arm.com")
    return path


def find_qemu() -> str:
    path = shutil.which(QEMU)
    if path is None:
        raise ToolError(f"'{QEMU}' is not on PATH", "install it: apt-get install qemu-system-arm")
    return path


def normalize_opt(opt: str | None) -> str:
    """'-O2', 'O2', '2', 's' -> '-O2' / '-Os' (one-line error otherwise)."""
    o = (opt or DEFAULT_OPT).strip()
    if not o.startswith("-"):
        o = "-" + (o if o.startswith("O") else "O" + o)
    if o not in OPT_LEVELS:
        raise EdgelstmError(f"optimisation level '{opt}' is not one of {', '.join(OPT_LEVELS)}")
    return o


def _first_error(text: str) -> str:
    lines = [ln for ln in (text or "").splitlines() if ln.strip()]
    for key in ("error:", "error", "undefined reference", "overflowed", "not enough RAM"):
        for ln in lines:
            if key in ln:
                return " ".join(ln.split())[:300]
    return " ".join(lines[0].split())[:300] if lines else "no message"


def _run_tool(cmd: list[str], what: str, timeout: float = 600.0, cwd: Path | None = None) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired:
        raise ToolError(f"{what} did not finish within {timeout:.0f} s") from None
    except OSError as e:
        raise ToolError(f"cannot run {cmd[0]}: {e.strerror or e}") from None
    return proc


@dataclass
class QemuBuild:
    """An export cross-compiled for one core: the verify firmware and the footprint programs."""

    export_dir: Path
    manifest: dict
    board: Board
    opt: str
    build_dir: Path
    elf: Path
    footprint_elf: Path
    footprint_front_elf: Path
    library_objects: list[Path]
    cflags: tuple[str, ...]
    compiler_version: str = ""
    last_measure: dict = field(default_factory=dict)

    # ------------------------------------------------------------------------------- running

    def _estimated_window_seconds(self) -> float:
        m = self.manifest
        work = int(m.get("weights_bytes") or 1024) * int(m["window"]) * 40 * (2 if m.get("streaming") else 1)
        return work / _SLOW_INSTRUCTIONS_PER_S

    def run(self, payload: bytes, *, expect_bytes: int | None = None, record_bytes: int = 1,
            timeout: float | None = None, progress: Callable[[int], None] | None = None) -> tuple[bytes, dict]:
        """Run the verify firmware on ``payload`` (inputs.bin): (outputs.bin, measure.txt values).

        A run that writes no output for a while (QEMU stuck, firmware in a loop) is stopped with a
        ToolError, as is one over ``timeout`` seconds; ``progress(records)`` is called as the
        output grows.
        """
        qemu = find_qemu()
        b = self.board
        wd = self.build_dir
        inp, outp, meas = wd / "inputs.bin", wd / "outputs.bin", wd / "measure.txt"
        inp.write_bytes(payload)
        for p in (outp, meas):
            if p.exists():
                p.unlink()
        est = self._estimated_window_seconds()
        stall = max(60.0, 20 * est)
        n_records = max(1, (expect_bytes or record_bytes) // max(record_bytes, 1))
        if timeout is None:
            timeout = 120.0 + 5 * est * n_records
        cmd = [qemu, "-M", b.qemu_machine, "-nographic", "-monitor", "none", "-serial", "none",
               "-semihosting-config", "enable=on,target=native", "-icount", "shift=0,sleep=off",
               "-kernel", self.elf.name]
        out_f = open(wd / "qemu.stdout", "wb")
        err_f = open(wd / "qemu.stderr", "wb")
        try:
            try:
                proc = subprocess.Popen(cmd, cwd=wd, stdout=out_f, stderr=err_f, stdin=subprocess.DEVNULL)
            except OSError as e:
                raise ToolError(f"cannot run {QEMU}: {e.strerror or e}") from None
            t0 = last_change = time.monotonic()
            last_size = -1
            try:
                while True:
                    try:
                        rc = proc.wait(timeout=0.2)
                        break
                    except subprocess.TimeoutExpired:
                        pass
                    now = time.monotonic()
                    size = outp.stat().st_size if outp.exists() else 0
                    if size != last_size:
                        last_size, last_change = size, now
                        if progress is not None:
                            progress(size // max(record_bytes, 1))
                    if now - last_change > stall:
                        raise ToolError(f"QEMU ({b.qemu_machine}) made no progress for {stall:.0f} s and was stopped "
                                        "(the firmware hangs or QEMU is stuck)")
                    if now - t0 > timeout:
                        raise ToolError(f"QEMU ({b.qemu_machine}) did not finish within {timeout:.0f} s and was stopped")
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        finally:
            out_f.close()
            err_f.close()
        console = ((wd / "qemu.stderr").read_text(errors="replace") + (wd / "qemu.stdout").read_text(errors="replace"))
        if rc != 0:
            msg = " ".join(console.split())[:300] or "no message"
            if rc == QEMU_EXIT_FAULT:
                raise ToolError(f"the firmware faulted on the {b.title} under QEMU: {msg}")
            if rc == QEMU_EXIT_HARNESS:
                raise ToolError(f"the verify firmware stopped under QEMU: {msg}")
            raise ToolError(f"{QEMU} -M {b.qemu_machine} failed (exit code {rc}): {msg}")
        if progress is not None and outp.exists():
            progress(outp.stat().st_size // max(record_bytes, 1))
        raw = outp.read_bytes() if outp.exists() else b""
        if expect_bytes is not None and len(raw) != expect_bytes:
            raise ToolError(f"the firmware wrote {len(raw)} output bytes under QEMU, expected {expect_bytes}")
        measure = fpmod.parse_measure(meas.read_text(errors="replace")) if meas.exists() else {}
        return raw, measure

    def run_windows(self, xq: np.ndarray, *, timeout: float | None = None,
                    progress: Callable[[int, int], None] | None = None):
        """(classify outputs (N, C), returned classes (N,), streaming outputs (N, C) or None,
        instruction counts and measured stack of these windows)."""
        xq = np.asarray(xq, dtype=np.int8)
        m = self.manifest
        C = int(m["classes"])
        rec = C + 1 + (C if m["streaming"] else 0)
        n = len(xq)
        cb = (lambda k: progress(min(k, n), n)) if progress is not None else None
        raw, measure = self.run(pack_inputs(xq, MODE_WINDOWS), expect_bytes=n * rec, record_bytes=rec,
                                timeout=timeout, progress=cb)
        out, classes, stream = unpack_windows(raw, n, C, bool(m["streaming"]))
        counts = fpmod.instructions_from_measure(measure, self.board.instructions_per_tick, int(m["window"]))
        if measure.get("end") != 1:
            raise ToolError("the verify firmware did not write its measurements (measure.txt)")
        if not counts.get("calibration_ok"):
            raise ToolError(f"SysTick under QEMU does not count instructions as expected on the {self.board.title} "
                            f"(calibration: {measure.get('calibration_ticks')} ticks for "
                            f"{measure.get('calibration_instructions')} instructions)")
        self.last_measure = counts
        return out, classes, stream, counts

    def run_front_end(self, X: np.ndarray, *, timeout: float | None = None) -> np.ndarray:
        """NAME_quantize_frame on the board for float frames X (..., F): int8 of the same shape."""
        X = np.asarray(X, dtype=np.float32)
        F = X.shape[-1]
        flat = X.reshape(-1, F)
        raw, _ = self.run(pack_inputs(flat, MODE_FRONT_END), expect_bytes=flat.size, record_bytes=F, timeout=timeout)
        return np.frombuffer(raw, dtype=np.int8).reshape(X.shape).copy()

    # ------------------------------------------------------------------------------ footprint

    def footprint(self, macs_per_frame: int | None = None, macs_head: int | None = None,
                  measure: dict | None = None) -> dict[str, Any]:
        """Flash / RAM of the library on this core (+ instruction counts from ``measure``)."""
        return footprint_report(self, macs_per_frame=macs_per_frame, macs_head=macs_head,
                                measure=measure if measure is not None else self.last_measure)

    def cleanup(self) -> None:
        shutil.rmtree(self.build_dir, ignore_errors=True)


def _include_dirs(export_dir: Path, manifest: dict) -> list[Path]:
    dirs = [export_dir]
    for d in manifest.get("include_dirs") or []:
        dirs.append(export_dir / d)
    for s in manifest["library_sources"]:
        parent = (export_dir / s).parent
        if parent not in dirs:
            dirs.append(parent)
    return dirs


def build_qemu(export_dir: str | os.PathLike, manifest: dict, target: str, *, opt: str | None = DEFAULT_OPT,
               build_dir: str | os.PathLike | None = None, extra_cflags=(), jobs: int | None = None) -> QemuBuild:
    """Cross-compile ``export_dir`` for the core of ``target`` (qemu-cortex-m4, cortex-m0, ...)."""
    board = board_for(target)
    opt = normalize_opt(opt)
    gcc = find_arm_gcc()
    d = Path(export_dir)
    bd = boards_dir()
    common = bd / "common"
    own_dir = build_dir is None  # a temporary folder of ours: removed if the build fails
    bdir = Path(build_dir) if build_dir else Path(tempfile.mkdtemp(prefix=f"edgelstm_{board.core}_"))
    try:
        bdir.mkdir(parents=True, exist_ok=True)
        (bdir / "obj").mkdir(exist_ok=True)
        (bdir / "board").mkdir(exist_ok=True)
        (bdir / BOARD_MODEL_HEADER).write_text(board_model_header(manifest["name"], __version__), encoding="utf-8")
        sources = []
        for s in manifest["library_sources"]:
            p = d / s
            if not p.is_file():
                raise EdgelstmError(f"export folder '{d}' lacks {s}", "export again with 'edgelstm export-c'")
            sources.append(p)
        incs = [f"-I{bdir}", f"-I{common}"] + [f"-I{x}" for x in _include_dirs(d, manifest)]
        cflags = (*board.cpu_flags, opt, *STRICT_CFLAGS, *SECTION_FLAGS, *extra_cflags)
        ver = _run_tool([gcc, "-dumpversion"], f"{ARM_GCC} -dumpversion", timeout=60)
        compiler_version = f"{ARM_GCC} {ver.stdout.strip()}" if ver.returncode == 0 else ARM_GCC

        jobs_list: list[tuple[list[str], str]] = []
        lib_objs: list[Path] = []
        seen: set[str] = set()
        for p in sources:
            stem = p.stem
            if stem in seen:
                raise EdgelstmError(f"export folder '{d}' has two library sources named {stem}.c")
            seen.add(stem)
            obj = bdir / "obj" / f"{stem}.o"
            lib_objs.append(obj)
            jobs_list.append(([gcc, *cflags, "-fstack-usage", "-fcallgraph-info=su", *incs, "-c", str(p), "-o", str(obj)],
                              f"{p.name}"))
        board_objs: dict[str, Path] = {}
        for f in (*BOARD_SOURCES, VERIFY_MAIN, FOOTPRINT_MAIN):
            obj = bdir / "board" / (Path(f).stem + ".o")
            board_objs[f] = obj
            jobs_list.append(([gcc, *cflags, *incs, "-c", str(common / f), "-o", str(obj)], f))
        front_obj = bdir / "board" / "edgelstm_board_footprint_fe.o"
        jobs_list.append(([gcc, *cflags, *incs, "-DEB_FOOTPRINT_FRONT_END=1", "-c", str(common / FOOTPRINT_MAIN), "-o",
                           str(front_obj)], FOOTPRINT_MAIN))

        def compile_one(job: tuple[list[str], str]) -> tuple[str, subprocess.CompletedProcess]:
            cmd, what = job
            return what, _run_tool(cmd, f"{ARM_GCC} ({what})")

        with ThreadPoolExecutor(max_workers=jobs or min(8, os.cpu_count() or 2)) as ex:
            results = list(ex.map(compile_one, jobs_list))
        for what, proc in results:
            if proc.returncode != 0:
                raise ToolError(f"{ARM_GCC} failed to compile {what} for {board.core} ({opt}): "
                                f"{_first_error(proc.stderr or proc.stdout)}")

        ld = bd / board.board / "linker.ld"

        def link(main_obj: Path, elf: Path) -> None:
            cmd = [gcc, *board.cpu_flags, opt, *LINK_FLAGS, "-T", str(ld), f"-Wl,-Map={elf.with_suffix('.map')}",
                   "-o", str(elf), str(board_objs["edgelstm_startup.c"]), str(board_objs["edgelstm_board.c"]),
                   str(main_obj), *map(str, lib_objs)]
            proc = _run_tool(cmd, f"{ARM_GCC} (link)")
            if proc.returncode != 0:
                err = _first_error(proc.stderr or proc.stdout)
                if "overflowed" in err or "not enough RAM" in err:
                    raise ToolError(f"{manifest['name']} does not fit the {board.title} "
                                    f"({board.flash_bytes >> 10} KB flash, {board.ram_bytes >> 10} KB RAM): {err}")
                raise ToolError(f"{ARM_GCC} failed to link the {board.core} firmware: {err}")

        elf = bdir / "firmware.elf"
        fp_elf = bdir / "footprint.elf"
        fp_fe_elf = bdir / "footprint_front_end.elf"
        link(board_objs[VERIFY_MAIN], elf)
        link(board_objs[FOOTPRINT_MAIN], fp_elf)
        link(front_obj, fp_fe_elf)
        return QemuBuild(export_dir=d, manifest=manifest, board=board, opt=opt, build_dir=bdir, elf=elf,
                         footprint_elf=fp_elf, footprint_front_elf=fp_fe_elf, library_objects=lib_objs,
                         cflags=tuple(cflags), compiler_version=compiler_version)
    except BaseException:
        if own_dir:
            shutil.rmtree(bdir, ignore_errors=True)
        raise


# ----------------------------------------------------------------------------------- footprint


def _elf_size(elf: Path) -> dict[str, int] | None:
    size = shutil.which(ARM_SIZE)
    if size is None:
        return None
    proc = _run_tool([size, "-B", str(elf)], ARM_SIZE, timeout=60)
    if proc.returncode != 0:
        return None
    lines = proc.stdout.strip().splitlines()
    if len(lines) < 2:
        return None
    text, data, bss = (int(v) for v in lines[1].split()[:3])
    return {"text": text, "data": data, "bss": bss}


def footprint_report(build: QemuBuild, *, macs_per_frame: int | None = None, macs_head: int | None = None,
                     measure: dict | None = None) -> dict[str, Any]:
    """The footprint of ``build``'s library on its core (see edgelstm/verify/footprint.py)."""
    m = build.manifest
    name = m["name"]
    model_obj = f"{Path(m['library_sources'][0]).stem}.o"
    lib_names = {p.name for p in build.library_objects}
    runtime_names = lib_names - {model_obj}
    secs = fpmod.parse_map(build.footprint_elf.with_suffix(".map").read_text(errors="replace"))
    split = fpmod.split_flash(secs, model_obj, runtime_names)
    secs_fe = fpmod.parse_map(build.footprint_front_elf.with_suffix(".map").read_text(errors="replace"))
    split_fe = fpmod.split_flash(secs_fe, model_obj, runtime_names)

    graph = fpmod.load_callgraph(sorted(build.build_dir.glob("obj/*.ci")))
    streaming = bool(m["streaming"])
    api = [f"{name}_reset", f"{name}_step", f"{name}_logits"] if streaming else [f"{name}_classify_ws"]
    stacks: dict[str, int | None] = {}
    paths: dict[str, list[str]] = {}
    externals: set[str] = set()
    for fn in [*api, f"{name}_classify"]:
        v, path, ext = graph.worst(fn)
        stacks[fn] = v
        paths[fn] = path
        externals |= ext
    api_stacks = [stacks[f] for f in api]
    stack = None if any(v is None for v in api_stacks) else max(api_stacks)

    if streaming:
        state_size = fpmod.symbol_size(secs, ".bss.eb_state")
        scratch = sum(int(f["count"]) * (1 if f["type"] == "int8_t" else 2)
                      for f in m.get("state_fields") or [] if f["name"] == "gate_scratch")
        if state_size is None:
            state_size = sum(int(f["count"]) * (1 if f["type"] == "int8_t" else 2) for f in m.get("state_fields") or [])
        state = state_size - scratch
    else:
        ws = fpmod.symbol_size(secs, ".bss.eb_workspace")
        scratch = int(ws if ws is not None else m.get("workspace_bytes") or 0)
        state = 0
    ram = None if stack is None else state + scratch + stack + split.library_ram

    rep: dict[str, Any] = {
        "core": build.board.core,
        "board": build.board.board,
        "qemu_machine": build.board.qemu_machine,
        "compiler": build.compiler_version,
        "opt": build.opt,
        "cpu_flags": list(build.board.cpu_flags),
        "flash_bytes": split.total,
        "flash_weights_bytes": split.weights,
        "flash_code_bytes": split.code,
        "flash_code_detail": {"model_text": split.model_code, "runtime_text": split.runtime_code,
                              "runtime_tables": split.runtime_tables, "support_routines": split.support},
        "support_routines": split.support_members,
        "flash_front_end_bytes": max(split_fe.total - split.total, 0),
        "ram_bytes": ram,
        "ram_state_bytes": state,
        "ram_scratch_bytes": scratch,
        "ram_stack_bytes": stack,
        "ram_static_bytes": split.library_ram,
        "stack_by_function": stacks,
        "stack_deepest_path": paths[api[int(np.argmax([v or 0 for v in api_stacks]))]] if api else [],
        "stack_external_bound": {"functions": sorted(externals), "bytes_each": fpmod.EXTERNAL_STACK_BOUND},
        "weights_bytes_declared": m.get("weights_bytes"),
        "size_elf": _elf_size(build.footprint_elf),
        "macs_per_frame": macs_per_frame,
        "macs_head": macs_head,
    }
    for k in ("instructions_per_frame", "instructions_per_window", "instructions_per_window_min",
              "instructions_per_window_max", "instructions_logits", "instructions_reset", "measured_windows",
              "ram_stack_measured_bytes"):
        rep[k] = (measure or {}).get(k)
    measured = rep["ram_stack_measured_bytes"] or {}
    api_keys = ("reset", "step", "logits") if streaming else ("classify_ws",)
    api_measured = [measured[k] for k in api_keys if k in measured]
    rep["ram_stack_measured_api_bytes"] = max(api_measured) if api_measured else None
    ipf = rep["instructions_per_frame"]
    rep["instructions_per_mac"] = round(ipf / macs_per_frame, 3) if ipf and macs_per_frame else None
    return rep


def measure_footprint(export_dir: str | os.PathLike, target: str, *, opt: str | None = DEFAULT_OPT,
                      model=None, windows: int = 4, seed: int = 0, run: bool = True,
                      manifest: dict | None = None) -> dict[str, Any]:
    """Build ``export_dir`` for ``target``'s core and report its footprint; with ``run`` also the
    instruction counts of ``windows`` random int8 windows under QEMU."""
    from ..codegen import read_manifest
    from ..synth import random_int8_inputs

    manifest = manifest or read_manifest(export_dir)
    if model is None:
        from . import load_export_model

        model = load_export_model(export_dir, manifest)
    build = build_qemu(export_dir, manifest, target, opt=opt)
    try:
        measure = None
        if run:
            xq = random_int8_inputs(max(int(windows), 1), int(manifest["window"]), int(manifest["features"]), seed=seed)
            *_, measure = build.run_windows(xq)
        return build.footprint(macs_per_frame=model.ir.macs_per_frame(), macs_head=model.ir.macs_head(),
                               measure=measure)
    finally:
        build.cleanup()


# ------------------------------------------------------------------------------------ verify


def build_and_run(export_dir: str | os.PathLike, inputs: np.ndarray, target: str, *, cc: str = "gcc",
                  manifest: dict | None = None, float_inputs: np.ndarray | None = None,
                  opt: str | None = DEFAULT_OPT, progress: Callable[[int, int], None] | None = None) -> dict:
    """The qemu-* side of :func:`edgelstm.verify.host.build_and_run` (same result keys, plus
    "measure" and "footprint" for this core). ``cc`` is ignored: the compiler is arm-none-eabi-gcc."""
    from ..codegen import read_manifest

    del cc
    manifest = manifest or read_manifest(export_dir)
    build = build_qemu(export_dir, manifest, target, opt=opt)
    try:
        out, classes, stream, counts = build.run_windows(inputs, progress=progress)
        front = build.run_front_end(float_inputs) if float_inputs is not None else None
        fp = build.footprint(measure=counts)
    finally:
        build.cleanup()
    return {"classify": out, "classes": classes, "stream": stream, "front_end": front,
            "compiler": f"{fp['compiler']} {fp['opt']}", "target": target, "measure": counts, "footprint": fp}


FOOTPRINT_KEYS = ("flash_bytes", "flash_weights_bytes", "flash_code_bytes", "flash_front_end_bytes", "ram_bytes",
                  "ram_state_bytes", "ram_scratch_bytes", "ram_stack_bytes", "ram_static_bytes", "macs_per_frame",
                  "instructions_per_frame", "instructions_per_window", "instructions_per_mac")


def verify_qemu(export_dir: str | os.PathLike, *, target: str, data: str | os.PathLike | None = None,
                samples: int = 1000, seed: int = 0, opt: str | None = DEFAULT_OPT,
                note: Callable[[str], None] | None = None) -> dict[str, Any]:
    """``edgelstm verify DIR --target qemu-...``: bit-exactness on the core + its footprint.

    The report has the keys of :func:`edgelstm.verify.verify_export` (mismatches, samples,
    compared_bytes, first_mismatches, front_end_mismatches, ...) and, measured on this core, the
    footprint (flash_weights_bytes, flash_code_bytes, ram_bytes, macs_per_frame,
    instructions_per_frame, ... and "footprint" with the details).
    """
    from ..codegen import read_manifest
    from . import _report, _simulated_inputs

    note = note or (lambda _m: None)
    board = board_for(target)
    opt = normalize_opt(opt)
    if samples < 1:
        raise EdgelstmError(f"--samples must be at least 1, got {samples}")
    t0 = time.perf_counter()
    manifest = read_manifest(export_dir)
    find_arm_gcc()
    find_qemu()
    model, xq, source, X, expected = _simulated_inputs(export_dir, manifest, data, samples, seed, note)
    note(f"cross-compiling {manifest['name']} for {board.core} ({ARM_GCC} {opt})")
    build = build_qemu(export_dir, manifest, target, opt=opt)
    try:
        n = len(xq)
        state = {"last": time.monotonic(), "shown": -1}

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if done != state["shown"] and (now - state["last"] >= 5.0 or (done == total and state["shown"] >= 0)):
                state["last"], state["shown"] = now, done
                note(f"  {target}: {done}/{total} windows ({time.perf_counter() - t0:.0f} s)")

        note(f"running {n} windows on the {board.title} in QEMU ({QEMU} -M {board.qemu_machine} -icount shift=0)")
        out, classes, stream, counts = build.run_windows(xq, progress=progress)
        front = None
        if X is not None:
            note("running the float front end on the raw data in QEMU")
            front = build.run_front_end(X)
        fp = build.footprint(macs_per_frame=model.ir.macs_per_frame(), macs_head=model.ir.macs_head(), measure=counts)
    finally:
        build.cleanup()
    report = _report(expected, {"classify": out, "classes": classes, "stream": stream, "front_end": front}, xq,
                     export_dir, manifest, source, compiler=f"{fp['compiler']} {fp['opt']}", target=target,
                     core=board.core, qemu_machine=board.qemu_machine, opt=opt)
    for k in FOOTPRINT_KEYS:
        report[k] = fp.get(k)
    report["footprint"] = fp
    report["seconds"] = round(time.perf_counter() - t0, 3)
    return report
