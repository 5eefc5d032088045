"""Packaging hook: ship firmware_templates/ inside the wheel as edgelstm/_firmware.

The C runtime and board templates live at the top of the repository (firmware_templates/);
an installed (non-editable) edgelstm finds them at edgelstm/_firmware
(edgelstm/codegen/templates.py looks in both places). MANIFEST.in puts firmware_templates/ in
the sdist so a wheel built from it has them too. Everything else is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithFirmware(build_py):
    def run(self):
        super().run()
        src = Path(__file__).resolve().parent / "firmware_templates"
        if not (src / "runtime").is_dir():
            # a wheel without the C runtime would install but fail at the first export-c
            raise RuntimeError(f"{src}/runtime missing: the wheel would not carry the C runtime")
        shutil.copytree(src, Path(self.build_lib) / "edgelstm" / "_firmware", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.py[co]"))


setup(cmdclass={"build_py": BuildPyWithFirmware})
