"""Importing TensorFlow / Keras quietly and only when a command needs them.

`simulate`, `export-c`, `verify` and `data` never import TensorFlow (it costs seconds and
hundreds of megabytes); `train` and `quantize` call these helpers.
"""

from __future__ import annotations

import logging
import os
import warnings

from .errors import ToolError


def _quiet_env() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # bit-reproducible CPU kernels
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")  # no GPU probing noise on CPU machines
    warnings.filterwarnings("ignore", module="tensorflow")
    warnings.filterwarnings("ignore", module="keras")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    try:  # absl prints "WARNING: All log messages before absl::InitializeLog()..." otherwise
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:
        pass


def import_tf():
    _quiet_env()
    try:
        import tensorflow as tf
    except ImportError:
        raise ToolError(
            "TensorFlow is not installed", "install the training extras: pip install 'edgelstm[train]'"
        ) from None
    tf.get_logger().setLevel("ERROR")
    return tf


def import_keras():
    """Keras 3 (the trainer's framework)."""
    import_tf()
    try:
        import keras
    except ImportError:
        raise ToolError("Keras is not installed", "pip install 'edgelstm[train]'") from None
    if int(keras.__version__.split(".")[0]) < 3:
        raise ToolError(f"Keras {keras.__version__} found; edgelstm needs Keras 3", "pip install -U keras")
    return keras


def import_tf_keras():
    """tf-keras (Keras 2), used only for the batch-size-1 twin the TFLite converter can fuse."""
    import_tf()
    try:
        import tf_keras
    except ImportError:
        raise ToolError("tf-keras is not installed", "pip install 'edgelstm[train]'") from None
    return tf_keras
