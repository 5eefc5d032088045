"""Where the C templates are: ``firmware_templates/`` of the source tree, or the copy a wheel
ships as ``edgelstm/_firmware`` (setup.py), and the checked folders inside it.

    runtime/    the static C runtime copied into every export (runtime_files)
    boards/     the Cortex-M board layer and one linker script per board (boards_dir)
    arduino/    the Arduino library skeleton (arduino_dir)
    cmake/      the arm-none-eabi toolchain file and the Zephyr module (cmake_dir)

Every lookup fails with a one-line "reinstall edgelstm" error when a folder is missing, so an
incomplete installation is named before any work is done.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import EdgelstmError

# edgelstm/ (this file is edgelstm/codegen/templates.py)
_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def templates_dir() -> Path:
    """firmware_templates/ of the source tree, or the copy packaged as edgelstm/_firmware."""
    for cand in (_PACKAGE_DIR.parent / "firmware_templates", _PACKAGE_DIR / "_firmware"):
        if (cand / "runtime").is_dir():
            return cand
    raise EdgelstmError(
        "the C runtime templates are missing (neither firmware_templates/ next to the package nor edgelstm/_firmware)",
        "reinstall edgelstm",
    )


def runtime_files() -> list[Path]:
    """Every .c and .h of the static runtime (all copied into an export; the .c files compiled)."""
    rt = templates_dir() / "runtime"
    files = sorted(p for p in rt.iterdir() if p.is_file() and p.suffix in (".c", ".h"))
    if not any(p.name == "edgelstm_runtime.h" for p in files):
        raise EdgelstmError(f"the C runtime in '{rt}' is incomplete (no edgelstm_runtime.h)", "reinstall edgelstm")
    return files


def _checked(sub: str, marker: str, what: str) -> Path:
    d = templates_dir() / sub
    if not (d / marker).is_file():
        raise EdgelstmError(f"the {what} templates in '{d}' are missing or incomplete", "reinstall edgelstm")
    return d


def boards_dir() -> Path:
    """boards/: common/ (startup, semihosting, self test and verify firmware) + one folder per board."""
    return _checked("boards", "common/edgelstm_board.h", "board")


def arduino_dir() -> Path:
    return _checked("arduino", "library.properties", "Arduino")


def cmake_dir() -> Path:
    return _checked("cmake", "arm-none-eabi.cmake", "CMake")
