"""Cross-compiling an exported library for a Cortex-M core, and running it under QEMU.

:func:`build_qemu` compiles the export's library sources with ``arm-none-eabi-gcc`` (the core's
-mcpu / -mthumb / -mfloat-abi flags from edgelstm/codegen/targets.py BOARDS, ``-O2`` by default,
``-std=c99 -Wall -Wextra -Wpedantic -Werror``, ``-fstack-usage -fcallgraph-info=su`` for the
stack analysis) and links them three times with the board template (firmware_templates/boards/:
startup, the board's linker script, semihosting, SysTick): the verify firmware
``edgelstm_board_verify.c`` and the two footprint programs (with and without the float front end).

:meth:`QemuBuild.run` runs the verify firmware in ``qemu-system-arm -M <board> -icount shift=0
-semihosting-config enable=on``: it reads the windows from ``inputs.bin`` (semihosting SYS_OPEN /
SYS_READ, one window at a time, so any number of windows runs even in the micro:bit's 16 KB of
RAM), writes every output byte to ``outputs.bin`` and the SysTick / stack measurements to
``measure.txt``. The input/output format is the host harness' (edgelstm/verify/harness.py).
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
from ..codegen.manifest import ExportManifest
from ..codegen.targets import BOARD_MODEL_HEADER, Board, board_for, board_model_header
from ..codegen.templates import boards_dir
from ..errors import EdgelstmError, ToolError
from . import footprint as fpmod
from .harness import MODE_FRONT_END, MODE_WINDOWS, pack_inputs, unpack_windows
from .toolchain import (ARM_GCC, DEFAULT_OPT, QEMU, find_arm_gcc, find_qemu, find_tool, first_error, normalize_opt,
                        run_tool)

STRICT_CFLAGS = ("-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror")
SECTION_FLAGS = ("-ffunction-sections", "-fdata-sections")
LINK_FLAGS = ("-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections")
BOARD_SOURCES = ("edgelstm_startup.c", "edgelstm_board.c")
VERIFY_MAIN = "edgelstm_board_verify.c"
FOOTPRINT_MAIN = "edgelstm_board_footprint.c"
QEMU_EXIT_HARNESS = 2
QEMU_EXIT_FAULT = 3
# Pessimistic emulation speed for the time limits (QEMU -icount runs 200-500 M instructions/s).
SLOW_INSTRUCTIONS_PER_S = 10e6


@dataclass
class QemuBuild:
    """An export cross-compiled for one core: the verify firmware and the footprint programs."""

    export_dir: Path
    manifest: ExportManifest
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
        work = (m.weights_bytes or 1024) * m.window * 40 * (2 if m.streaming else 1)
        return work / SLOW_INSTRUCTIONS_PER_S

    def run(self, payload: bytes, *, expect_bytes: int | None = None, record_bytes: int = 1,
            timeout: float | None = None, progress: Callable[[int], None] | None = None) -> tuple[bytes, dict]:
        """Run the verify firmware on ``payload`` (inputs.bin): (outputs.bin, measure.txt values).

        A run that writes no output for a while (QEMU stuck, firmware in a loop) is stopped with a
        ToolError, as is one over ``timeout`` seconds; ``progress(records)`` is called as the
        output grows.
        """
        b = self.board
        qemu = find_qemu() if b.qemu_system == QEMU else find_tool(b.qemu_system, "emulator")
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
        cmd = [qemu, "-M", b.qemu_machine, *b.qemu_extra, "-nographic", "-monitor", "none", "-serial", "none",
               "-semihosting-config", "enable=on,target=native", "-icount", "shift=0,sleep=off",
               "-kernel", self.elf.name]
        out_f = open(wd / "qemu.stdout", "wb")
        err_f = open(wd / "qemu.stderr", "wb")
        try:
            try:
                proc = subprocess.Popen(cmd, cwd=wd, stdout=out_f, stderr=err_f, stdin=subprocess.DEVNULL)
            except OSError as e:
                raise ToolError(f"cannot run {b.qemu_system}: {e.strerror or e}") from None
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
            raise ToolError(f"{b.qemu_system} -M {b.qemu_machine} failed (exit code {rc}): {msg}")
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
        C = m.classes
        rec = C + 1 + (C if m.streaming else 0)
        n = len(xq)
        cb = (lambda k: progress(min(k, n), n)) if progress is not None else None
        raw, measure = self.run(pack_inputs(xq, MODE_WINDOWS), expect_bytes=n * rec, record_bytes=rec,
                                timeout=timeout, progress=cb)
        out, classes, stream = unpack_windows(raw, n, C, m.streaming)
        counts = fpmod.instructions_from_measure(measure, self.board.instructions_per_tick, m.window)
        if measure.get("end") != 1:
            raise ToolError("the verify firmware did not write its measurements (measure.txt)")
        if not counts.get("calibration_ok"):
            raise ToolError(f"{self.board.tick_counter} under QEMU does not count instructions as expected on the {self.board.title} "
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
        return fpmod.footprint_report(self, macs_per_frame=macs_per_frame, macs_head=macs_head,
                                measure=measure if measure is not None else self.last_measure)

    def cleanup(self) -> None:
        shutil.rmtree(self.build_dir, ignore_errors=True)


def include_dirs(export_dir: Path, manifest: ExportManifest) -> list[Path]:
    """-I folders: the export's, its include_dirs (src/ of an Arduino library), each source's folder."""
    dirs = [export_dir]
    for d in manifest.include_dirs or []:
        dirs.append(export_dir / d)
    for s in manifest.library_sources:
        parent = (export_dir / s).parent
        if parent not in dirs:
            dirs.append(parent)
    return dirs


def build_qemu(export_dir: str | os.PathLike, manifest: ExportManifest, target: str, *, opt: str | None = DEFAULT_OPT,
               build_dir: str | os.PathLike | None = None, extra_cflags=(), jobs: int | None = None) -> QemuBuild:
    """Cross-compile ``export_dir`` for the core of ``target`` (qemu-cortex-m4, cortex-m0, ...)."""
    board = board_for(target)
    opt = normalize_opt(opt)
    cc_name = board.cross_prefix + "gcc"  # arm-none-eabi-gcc, riscv64-unknown-elf-gcc
    gcc = find_arm_gcc() if cc_name == ARM_GCC else find_tool(cc_name, "cross-compiler")
    d = Path(export_dir)
    bd = boards_dir()
    common = bd / "common"
    own = bd / board.board  # the board's own layer files (Board.board_files) replace common/'s
    own_dir = build_dir is None  # a temporary folder of ours: removed if the build fails
    bdir = Path(build_dir) if build_dir else Path(tempfile.mkdtemp(prefix=f"edgelstm_{board.core}_"))
    try:
        bdir.mkdir(parents=True, exist_ok=True)
        (bdir / "obj").mkdir(exist_ok=True)
        (bdir / "board").mkdir(exist_ok=True)
        (bdir / BOARD_MODEL_HEADER).write_text(board_model_header(manifest.name, __version__), encoding="utf-8")
        sources = []
        for s in manifest.library_sources:
            p = d / s
            if not p.is_file():
                raise EdgelstmError(f"export folder '{d}' lacks {s}", "export again with 'edgelstm export-c'")
            sources.append(p)
        if board.board_files:
            # common/ and the board's own files in one folder, as in an export's board/: a
            # "#include" next to a common file must find the board's header, not common/'s
            staged = bdir / "board_src"
            staged.mkdir(exist_ok=True)
            for f in common.iterdir():
                if f.is_file():
                    shutil.copyfile(f, staged / f.name)
            for f in board.board_files:
                shutil.copyfile(own / f, staged / f)
            common = staged
        incs = [f"-I{bdir}", f"-I{common}"] + [f"-I{x}" for x in include_dirs(d, manifest)]
        cflags = (*board.cpu_flags, *board.libc_flags, opt, *STRICT_CFLAGS, *SECTION_FLAGS, *extra_cflags)
        ver = run_tool([gcc, "-dumpversion"], f"{cc_name} -dumpversion", timeout=60)
        compiler_version = f"{cc_name} {ver.stdout.strip()}" if ver.returncode == 0 else cc_name

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
            return what, run_tool(cmd, f"{cc_name} ({what})")

        with ThreadPoolExecutor(max_workers=jobs or min(8, os.cpu_count() or 2)) as ex:
            results = list(ex.map(compile_one, jobs_list))
        for what, proc in results:
            if proc.returncode != 0:
                raise ToolError(f"{cc_name} failed to compile {what} for {board.core} ({opt}): "
                                f"{first_error(proc.stderr or proc.stdout)}")

        ld = bd / board.board / "linker.ld"

        def link(main_obj: Path, elf: Path) -> None:
            cmd = [gcc, *board.cpu_flags, *board.libc_flags, opt, *board.link_flags, "-T", str(ld), f"-Wl,-Map={elf.with_suffix('.map')}",
                   "-o", str(elf), str(board_objs["edgelstm_startup.c"]), str(board_objs["edgelstm_board.c"]),
                   str(main_obj), *map(str, lib_objs)]
            proc = run_tool(cmd, f"{cc_name} (link)")
            if proc.returncode != 0:
                err = first_error(proc.stderr or proc.stdout)
                if "overflowed" in err or "not enough RAM" in err:
                    raise ToolError(f"{manifest.name} does not fit the {board.title} "
                                    f"({board.flash_bytes >> 10} KB flash, {board.ram_bytes >> 10} KB RAM): {err}")
                raise ToolError(f"{cc_name} failed to link the {board.core} firmware: {err}")

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
