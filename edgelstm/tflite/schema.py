"""The TFLite flatbuffer schema (generated Python, object API) from an installed runtime.

The generated module ships with ``ai-edge-litert`` (a dependency of edgelstm); the copies in
``tflite-micro`` and TensorFlow are used if it is missing. Reading and writing ``.tflite`` files
goes through ``ModelT`` (unpack, edit, pack) so that nothing here hand-parses flatbuffers.
"""

from __future__ import annotations

from ..errors import ToolError


def _load():
    try:
        from ai_edge_litert import schema_py_generated as fb  # type: ignore  # lazy: optional runtime, first found wins

        return fb
    except ImportError:
        pass
    try:
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb  # type: ignore  # lazy: optional

        return fb
    except ImportError:
        pass
    try:
        from tensorflow.lite.python import schema_py_generated as fb  # type: ignore  # lazy: tensorflow

        return fb
    except ImportError:
        pass
    raise ToolError("no TFLite flatbuffer schema found", "pip install ai-edge-litert")


fb = _load()

BUILTIN_NAMES: dict[int, str] = {
    v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_") and isinstance(v, int)
}
TENSOR_TYPE_NAMES: dict[int, str] = {
    v: k for k, v in vars(fb.TensorType).items() if not k.startswith("_") and isinstance(v, int)
}
ACTIVATION_NAMES: dict[int, str] = {
    v: k for k, v in vars(fb.ActivationFunctionType).items() if not k.startswith("_") and isinstance(v, int)
}


def builtin_code(opcode) -> int:
    """The builtin op code (the larger of the deprecated 8-bit field and the 32-bit one)."""
    return max(int(opcode.builtinCode or 0), int(opcode.deprecatedBuiltinCode or 0))


def op_name(model, op) -> str:
    opcode = model.operatorCodes[op.opcodeIndex]
    code = builtin_code(opcode)
    if code == fb.BuiltinOperator.CUSTOM:
        cc = opcode.customCode
        return (cc.decode() if isinstance(cc, bytes) else str(cc)) or "CUSTOM"
    return BUILTIN_NAMES.get(code, f"BUILTIN_{code}")
