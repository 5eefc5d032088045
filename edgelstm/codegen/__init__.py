"""C code generation: an int8 model (the IR) -> a portable C99 library.

    from edgelstm.codegen import export_c, read_manifest
    result = export_c("model_int8.tflite", "out_c", name="radar")
    manifest = read_manifest("out_c")       # ExportManifest (edgelstm_export.json, checked)

The generated ``NAME_model.c`` holds only data (weights, multipliers, shifts) and straight-line
calls into the static runtime copied from ``firmware_templates/runtime`` (located with
:func:`templates_dir`, codegen/templates.py). The C output is bit-exact with the simulator
(``edgelstm.sim``): ``edgelstm verify DIR`` proves it on the host.
"""

from __future__ import annotations

from .export import DEFAULT_NAME, DEFAULT_TEST_VECTORS, ExportResult, check_name, default_name, export_c, export_model
from .graph import StreamPlan, arena_plan, check_supported, stream_plan
from .manifest import MANIFEST, ExportManifest, read_manifest
from .templates import runtime_files, templates_dir

__all__ = [
    "DEFAULT_NAME",
    "DEFAULT_TEST_VECTORS",
    "MANIFEST",
    "ExportManifest",
    "ExportResult",
    "StreamPlan",
    "arena_plan",
    "check_name",
    "check_supported",
    "default_name",
    "export_c",
    "export_model",
    "read_manifest",
    "runtime_files",
    "stream_plan",
    "templates_dir",
]
