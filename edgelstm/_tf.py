"""Importing TensorFlow / Keras quietly and only when a command needs them.

`simulate`, `export-c`, `verify` and `data` never import TensorFlow (it costs seconds and
hundreds of megabytes); `train` and `quantize` call these helpers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
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
        import absl.logging  # lazy: ships with tensorflow (optional, heavy)

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:
        pass


@contextlib.contextmanager
def _stderr_silenced():
    """Silence fd 2 while TensorFlow's C++ runtime loads.

    TensorFlow's native code prints CUDA probing and absl start-up lines straight to file
    descriptor 2, before any Python-level setting can stop it; edgelstm's stderr is for the
    user's progress and errors, so those lines are dropped for the duration of the import.
    """
    if os.environ.get("EDGELSTM_DEBUG") == "1":
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tf():
    _quiet_env()
    try:
        with _stderr_silenced():
            import tensorflow as tf  # lazy: optional, heavy (seconds, hundreds of MB)
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
        with _stderr_silenced():
            import keras  # lazy: optional, imports tensorflow
    except ImportError:
        raise ToolError("Keras is not installed", "pip install 'edgelstm[train]'") from None
    if int(keras.__version__.split(".")[0]) < 3:
        raise ToolError(f"Keras {keras.__version__} found; edgelstm needs Keras 3", "pip install -U keras")
    return keras


def import_tf_keras():
    """tf-keras (Keras 2), used only for the batch-size-1 twin the TFLite converter can fuse."""
    import_tf()
    try:
        with _stderr_silenced():
            import tf_keras  # lazy: optional, imports tensorflow
    except ImportError:
        raise ToolError("tf-keras is not installed", "pip install 'edgelstm[train]'") from None
    return tf_keras
