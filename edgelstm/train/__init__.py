"""`edgelstm train`: Keras 3 LSTM/GRU classifiers (package; the public API is re-exported here).

- config.py: :class:`TrainConfig` (plain data; ``None`` fields are chosen from the data)
- plan.py:   :func:`plan_training` -> :class:`TrainPlan` (steps, batch, learning-rate schedule,
             patience, class weights) and :func:`choose_stack` (no TensorFlow)
- model.py:  :func:`build_model`, :func:`normalization_stats`, :func:`float_accuracy`
- fit.py:    :func:`train_model` (Dataset + TrainConfig -> TrainResult: model, metadata, plan)
- io.py:     :func:`save_model`, :func:`metadata_path`
"""

from .config import CELLS, CLASS_WEIGHT_MODES, LR_SCHEDULES, MAX_LAYERS, MAX_UNITS, TrainConfig
from .fit import TrainResult, resolved_config, train_model
from .io import metadata_path, save_model
from .model import build_model, float_accuracy, normalization_stats
from .plan import TrainPlan, balanced_class_weights, choose_class_weights, choose_stack, plan_training

__all__ = [
    "CELLS", "CLASS_WEIGHT_MODES", "LR_SCHEDULES", "MAX_LAYERS", "MAX_UNITS", "TrainConfig", "TrainResult",
    "TrainPlan", "balanced_class_weights", "build_model", "choose_class_weights", "choose_stack",
    "float_accuracy", "metadata_path", "normalization_stats", "plan_training", "resolved_config",
    "save_model", "train_model",
]
