"""C code generation: an int8 model (the IR) -> a portable C99 library.

    from edgelstm.codegen import export_c
    result = export_c("model_int8.tflite", "out_c", name="radar")

The generated ``NAME_model.c`` holds only data (weights, multipliers, shifts) and straight-line
calls into the static runtime copied from ``firmware_templates/runtime`` (located with
:func:`templates_dir`). The C output is bit-exact with the simulator (``edgelstm.sim``):
``edgelstm verify DIR`` proves it on the host.
"""

from __future__ import annotations

from .export import (
    DEFAULT_NAME,
    DEFAULT_TEST_VECTORS,
    MANIFEST,
    ExportResult,
    check_name,
    default_name,
    export_c,
    export_model,
    read_manifest,
    runtime_files,
    templates_dir,
)
from .graph import StreamPlan, arena_plan, check_supported, stream_plan

__all__ = [
    "DEFAULT_NAME",
    "DEFAULT_TEST_VECTORS",
    "MANIFEST",
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
