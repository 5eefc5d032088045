"""The float model a stage starts from: a Keras 3 ``.keras`` file or an ONNX ``.onnx`` file.

Both give ``(model, spec)``: ``model.predict(X, batch_size=..., verbose=...)`` returns the float
logits (Keras itself, or onnxruntime), ``spec`` the plain layer spec the quantizer reads.
"""

from __future__ import annotations

from pathlib import Path

from .keras_spec import ModelSpec, keras_to_spec, load_keras_model
from .onnx_model import load_onnx_model
from .onnx_spec import is_onnx_file


def load_float_model(path: str | Path) -> tuple[object, ModelSpec]:
    if is_onnx_file(path):
        return load_onnx_model(path)
    model = load_keras_model(path)
    return model, keras_to_spec(model, str(path))
