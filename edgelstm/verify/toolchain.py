"""The Cortex-M tools verify runs: arm-none-eabi-gcc / -size and qemu-system-arm.

Each lookup fails with a one-line error saying how to install the tool; :func:`run_tool` turns a
hang or a missing executable into a ToolError, and :func:`first_error` picks the line of a
compiler's output worth showing.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ..errors import EdgelstmError, ToolError

ARM_GCC = "arm-none-eabi-gcc"
ARM_SIZE = "arm-none-eabi-size"
QEMU = "qemu-system-arm"
OPT_LEVELS = ("-O0", "-O1", "-O2", "-O3", "-Os", "-Oz")
DEFAULT_OPT = "-O2"


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


def first_error(text: str) -> str:
    """The first line of a tool's output that says what went wrong (one line, at most 300 characters)."""
    lines = [ln for ln in (text or "").splitlines() if ln.strip()]
    for key in ("error:", "error", "undefined reference", "overflowed", "not enough RAM"):
        for ln in lines:
            if key in ln:
                return " ".join(ln.split())[:300]
    return " ".join(lines[0].split())[:300] if lines else "no message"


def run_tool(cmd: list[str], what: str, timeout: float = 600.0, cwd: Path | None = None) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired:
        raise ToolError(f"{what} did not finish within {timeout:.0f} s") from None
    except OSError as e:
        raise ToolError(f"cannot run {cmd[0]}: {e.strerror or e}") from None
    return proc


def elf_size(elf: Path, size_tool: str = ARM_SIZE) -> dict[str, int] | None:
    """``arm-none-eabi-size -B`` (or ``size_tool``): {text, data, bss} of an ELF (None without the tool or on failure)."""
    size = shutil.which(size_tool)
    if size is None:
        return None
    proc = run_tool([size, "-B", str(elf)], size_tool, timeout=60)
    if proc.returncode != 0:
        return None
    lines = proc.stdout.strip().splitlines()
    if len(lines) < 2:
        return None
    text, data, bss = (int(v) for v in lines[1].split()[:3])
    return {"text": text, "data": data, "bss": bss}


# Other boards' tools (codegen/targets.py Board.cross_prefix / qemu_system): how to install each.
INSTALL_HINTS = {
    ARM_GCC: "apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi, or the Arm GNU Toolchain from developer.arm.com",
    QEMU: "apt-get install qemu-system-arm",
    "riscv64-unknown-elf-gcc": "apt-get install gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf "
                               "(tools/install_system_deps.sh)",
    "qemu-system-riscv32": "apt-get install qemu-system-misc (tools/install_system_deps.sh)",
}


def find_tool(name: str, what: str = "tool") -> str:
    """The path of ``name`` (a board's cross-compiler or QEMU), or a one-line error saying how to install it."""
    path = shutil.which(name)
    if path is None:
        raise ToolError(f"the {what} '{name}' is not on PATH", f"install it: {INSTALL_HINTS.get(name, name)}")
    return path
