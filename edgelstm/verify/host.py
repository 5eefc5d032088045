"""Building an exported C library on the host and running it on int8 inputs.

The build+run step is pluggable by target: :func:`build_and_run` dispatches on ``target``
("host" here; the Cortex-M targets under QEMU live in ``edgelstm/verify/qemu*.py`` and plug in
through :data:`TARGET_MODULES`). Everything else of ``edgelstm verify`` (inputs, the simulator,
the comparison) is target-independent (``edgelstm/verify/__init__.py``).
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..codegen.manifest import ExportManifest, read_manifest
from ..errors import EdgelstmError, ToolError
from .harness import MODE_FRONT_END, MODE_STREAM, MODE_WINDOWS, harness_source, pack_inputs, unpack_stream, unpack_windows

COMPILERS = ("gcc", "clang")
STRICT_CFLAGS = ("-std=c99", "-O2", "-Wall", "-Wextra", "-Wpedantic", "-Werror")
TARGETS = ("host",)
# target name prefix -> module (relative to edgelstm.verify) providing build_and_run(...)
TARGET_MODULES = {"qemu-": ".qemu"}


def find_compiler(cc: str) -> str:
    path = shutil.which(cc)
    if path is None:
        raise ToolError(f"C compiler '{cc}' not found on PATH", "install it or choose another with --cc")
    return path


@dataclass
class HostBuild:
    """A compiled verify harness linked with an export's library."""

    export_dir: Path
    manifest: ExportManifest
    exe: Path
    build_dir: Path
    compiler: str
    cflags: tuple[str, ...]

    def _run(self, payload: bytes, timeout: float) -> bytes:
        inp = self.build_dir / "inputs.bin"
        outp = self.build_dir / "outputs.bin"
        inp.write_bytes(payload)
        if outp.exists():
            outp.unlink()
        try:
            proc = subprocess.run([str(self.exe), str(inp), str(outp)], capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ToolError(f"the compiled library did not finish within {timeout:.0f} s") from None
        if proc.returncode != 0:
            msg = " ".join((proc.stderr or proc.stdout or "").split())[:400]
            raise ToolError(f"the compiled verify program failed (exit code {proc.returncode}): {msg}")
        return outp.read_bytes()

    def run_windows(self, xq: np.ndarray, timeout: float = 600.0):
        """(classify outputs (N, C), returned classes (N,), streaming outputs (N, C) or None)."""
        xq = np.asarray(xq, dtype=np.int8)
        m = self.manifest
        raw = self._run(pack_inputs(xq, MODE_WINDOWS), timeout)
        return unpack_windows(raw, len(xq), m.classes, m.streaming)

    def run_front_end(self, X: np.ndarray, timeout: float = 600.0) -> np.ndarray:
        """NAME_quantize_frame on float frames X (..., F): int8 of the same shape."""
        X = np.asarray(X, dtype=np.float32)
        F = X.shape[-1]
        raw = self._run(pack_inputs(X.reshape(-1, F), MODE_FRONT_END), timeout)
        return np.frombuffer(raw, dtype=np.int8).reshape(X.shape).copy()

    def run_stream(self, frames: np.ndarray, every: int, timeout: float = 600.0):
        """Stream one (T, F) sequence without reset: (logits at checkpoints (K, C), final state)."""
        m = self.manifest
        if not m.streaming:
            raise EdgelstmError(f"model '{m.name}' does not stream")
        frames = np.asarray(frames, dtype=np.int8)
        T = frames.shape[0]
        k = len(stream_checkpoints(T, every))
        raw = self._run(pack_inputs(frames, MODE_STREAM, every), timeout)
        return unpack_stream(raw, k, m.classes, m.state_fields)

    def cleanup(self) -> None:
        shutil.rmtree(self.build_dir, ignore_errors=True)


def stream_checkpoints(n_frames: int, every: int) -> list[int]:
    every = max(int(every), 1)
    return [t for t in range(n_frames) if (t + 1) % every == 0 or t == n_frames - 1]


def build_host(export_dir: str | os.PathLike, manifest: ExportManifest, *, cc: str = "gcc", cflags=STRICT_CFLAGS,
               extra_cflags=(), build_dir: str | os.PathLike | None = None, lang: str = "c") -> HostBuild:
    """Compile the export's library sources and the verify harness into one host program."""
    d = Path(export_dir)
    compiler = find_compiler(cc)
    own_dir = build_dir is None  # a temporary folder of ours: removed if the build fails
    bdir = Path(build_dir) if build_dir else Path(tempfile.mkdtemp(prefix="edgelstm_verify_"))
    try:
        bdir.mkdir(parents=True, exist_ok=True)
        harness = bdir / "verify_main.c"
        harness.write_text(harness_source(manifest), encoding="utf-8")
        sources = []
        for s in manifest.library_sources:
            p = d / s
            if not p.is_file():
                raise EdgelstmError(f"export folder '{d}' lacks {s}", "export again with 'edgelstm export-c'")
            sources.append(str(p))
        exe = bdir / "verify_main"
        flags = list(cflags) + list(extra_cflags)
        lang_flags = ["-x", "c++"] if lang == "c++" else []
        cmd = [compiler, *lang_flags, *flags, "-I", str(d), *sources, str(harness), "-o", str(exe)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            raise ToolError(f"{cc} did not finish compiling within 600 s") from None
        if proc.returncode != 0:
            lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
            first = next((ln for ln in lines if "error" in ln), lines[0] if lines else "no message")
            raise ToolError(f"{cc} failed to compile the exported library: {' '.join(first.split())[:300]}")
        return HostBuild(export_dir=d, manifest=manifest, exe=exe, build_dir=bdir, compiler=cc, cflags=tuple(flags))
    except BaseException:
        if own_dir:
            shutil.rmtree(bdir, ignore_errors=True)
        raise


def build_and_run(export_dir: str | os.PathLike, inputs: np.ndarray, target: str = "host", *, cc: str = "gcc",
                  manifest: ExportManifest | None = None, extra_cflags=(), float_inputs: np.ndarray | None = None) -> dict:
    """Build the export for ``target``, run it on int8 windows ``inputs`` (N, T, F).

    Returns {"classify": (N, C) int8, "classes": (N,), "stream": (N, C) int8 or None,
    "front_end": int8 like ``float_inputs`` (NAME_quantize_frame) or None, "compiler": str,
    "target": str}.
    """
    manifest = manifest or read_manifest(export_dir)
    if target != "host":
        for prefix, module in TARGET_MODULES.items():
            if target.startswith(prefix):
                try:
                    mod = importlib.import_module(module, __package__)
                except ImportError:
                    break
                return mod.build_and_run(export_dir, inputs, target, cc=cc, manifest=manifest,
                                         float_inputs=float_inputs)
        raise EdgelstmError(f"unknown verify target '{target}'",
                            "use host, qemu-cortex-m4, qemu-cortex-m0, qemu-cortex-m33 or qemu-riscv32")
    build = build_host(export_dir, manifest, cc=cc, extra_cflags=extra_cflags)
    try:
        out, classes, stream = build.run_windows(inputs)
        front = build.run_front_end(float_inputs) if float_inputs is not None else None
    finally:
        build.cleanup()
    return {"classify": out, "classes": classes, "stream": stream, "front_end": front, "compiler": cc,
            "target": target}
