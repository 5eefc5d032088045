"""edgelstm's metadata inside a ``.tflite``: a JSON object stored under the name ``edgelstm``.

It carries what the int8 graph does not: normalisation (mean, std per feature), class and
feature names, the float and int8 accuracies, the training split. ``encode_metadata`` is the
byte form the writer stores (``writer.embed_edgelstm_metadata``, ``ModelBuilder.finish``);
``read_metadata`` / ``model_info_from_metadata`` read it back with its types checked.
"""

from __future__ import annotations

import json

import numpy as np

from ..errors import ModelError
from ..ir import ModelInfo

METADATA_NAME = "edgelstm"


def encode_metadata(meta: dict) -> bytes:
    """The stored form: compact JSON, UTF-8."""
    return json.dumps(meta, separators=(",", ":")).encode("utf-8")


def read_metadata(model) -> dict:
    """The ``edgelstm`` metadata JSON of a model written by edgelstm ({} otherwise)."""
    for md in model.metadata or []:
        name = md.name.decode(errors="replace") if isinstance(md.name, bytes) else str(md.name)
        if name == METADATA_NAME and md.buffer is not None and 0 <= md.buffer < len(model.buffers or []):
            data = model.buffers[md.buffer].data
            if data is None:
                return {}
            try:
                return json.loads(np.asarray(data, dtype=np.uint8).tobytes().decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise ModelError("the edgelstm metadata inside the .tflite is corrupt") from None
    return {}


def corrupt_metadata(what: str) -> ModelError:
    """The one-line error for metadata that parses but does not hold what edgelstm wrote."""
    return ModelError(f"the edgelstm metadata inside the .tflite is corrupt ({what})", "quantize the model again")


def _float_vector(v, what: str) -> np.ndarray:
    if not isinstance(v, list) or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
        raise corrupt_metadata(f"{what} is not a list of numbers")
    a = np.asarray(v, dtype=np.float64)
    if not np.all(np.isfinite(a)) or np.any(np.abs(a) > np.finfo(np.float32).max):
        raise corrupt_metadata(f"{what} has non-finite values")
    return a.astype(np.float32)


def model_info_from_metadata(meta: dict) -> ModelInfo:
    """ModelInfo from the metadata JSON, its types checked (a hand-edited file gets one line)."""
    if not isinstance(meta, dict):
        raise corrupt_metadata("not a JSON object")
    info = ModelInfo(extra=dict(meta))
    _check_stack(meta)
    for key in ("class_names", "feature_names"):
        v = meta.get(key)
        if v is not None and not (isinstance(v, list) and all(isinstance(x, str) for x in v)):
            raise corrupt_metadata(f"{key} is not a list of names")
    info.class_names = meta.get("class_names")
    info.feature_names = meta.get("feature_names")
    norm = meta.get("normalization")
    if norm:
        if not isinstance(norm, dict):
            raise corrupt_metadata("normalization is not an object")
        info.norm_mean = _float_vector(norm.get("mean"), "normalization mean")
        info.norm_std = _float_vector(norm.get("std"), "normalization std")
        if len(info.norm_mean) != len(info.norm_std):
            raise corrupt_metadata("normalization mean and std differ in length")
        if np.any(info.norm_std <= 0):
            raise corrupt_metadata("normalization std is not positive")
    acc = meta.get("accuracy") or {}
    if not isinstance(acc, dict):
        raise corrupt_metadata("accuracy is not an object")
    num = (int, float)
    info.float_accuracy = acc.get("float") if isinstance(acc.get("float"), num) else None
    info.int8_accuracy = acc.get("int8") if isinstance(acc.get("int8"), num) else None
    return info


def stack_of(info: ModelInfo) -> int:
    """Frames per cell step (``"stack"`` in the metadata; 1 when absent: an unstacked model)."""
    k = info.extra.get("stack", 1) if isinstance(info.extra, dict) else 1
    return int(k)


def frame_layout(qm) -> tuple[int, int, int]:
    """(K frames per step, frames per window, features per frame) of a QuantModel.

    The int8 graph of a stacked model takes ``(steps, K * F)``; the window in frames is the
    metadata's ``"window"`` (it may hold ``T % K`` trailing frames no step uses, see
    ``edgelstm.data.stack``). Unstacked: (1, graph window, graph features).
    """
    k = stack_of(qm.info)
    if k == 1:
        return 1, qm.window, qm.n_features
    frames = qm.info.extra.get("window")
    return k, int(frames) if isinstance(frames, int) else qm.window * k, qm.n_features // k


def _check_stack(meta: dict) -> None:
    """``"stack"`` (frames per step) is an integer >= 1; with it, ``"window"`` counts frames."""
    k = meta.get("stack", 1)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise corrupt_metadata("stack is not an integer >= 1")
    w = meta.get("window")
    if k > 1 and w is not None and (isinstance(w, bool) or not isinstance(w, int) or w < k):
        raise corrupt_metadata("window is not a number of frames >= stack")


def check_info_matches(info: ModelInfo, n_features: int, n_outputs: int, path: str, classifier: bool,
                       window: int | None = None) -> None:
    """The metadata's per-feature and per-class lists fit the model's input and output.

    For a stacked model (``"stack": K``) the graph's input holds K frames per step: the lists
    are per frame (``n_features / K``) and the window of frames gives ``window`` steps.
    """
    k = stack_of(info)
    if k > 1:
        if n_features % k:
            raise corrupt_metadata(f"stack {k} does not divide the model's {n_features} input features per step")
        frames = info.extra.get("window")
        if window is not None and isinstance(frames, int) and frames // k != window:
            raise corrupt_metadata(f"a window of {frames} frames stacked by {k} is not the model's {window} steps")
        n_features //= k
    if info.norm_mean is not None and len(info.norm_mean) != n_features:
        raise ModelError(f"'{path}': metadata normalisation has {len(info.norm_mean)} features, model input {n_features}")
    names = info.class_names
    if classifier and names is not None and len(names) != n_outputs:
        raise corrupt_metadata(f"{len(names)} class names for {n_outputs} outputs")
    if info.feature_names is not None and len(info.feature_names) != n_features:
        raise corrupt_metadata(f"{len(info.feature_names)} feature names for {n_features} input features")
