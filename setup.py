"""Packaging hook: ship firmware_templates/ inside the wheel as edgelstm/_firmware.

The C runtime and board templates live at the top of the repository (firmware_templates/);
an installed (non-editable) edgelstm finds them at edgelstm/_firmware
(edgelstm.codegen.templates_dir looks in both places). Everything else is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithFirmware(build_py):
    def run(self):
        super().run()
        src = Path(__file__).resolve().parent / "firmware_templates"
        if src.is_dir():
            shutil.copytree(src, Path(self.build_lib) / "edgelstm" / "_firmware", dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildPyWithFirmware})
