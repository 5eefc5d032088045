"""Datasets: the radar simulator, NPZ/CSV loaders and format checks, the stratified splitter.

- :mod:`.dataset`: :class:`Dataset` (labelled sequences in memory) and its checks;
- :mod:`.files`: :func:`load_dataset`, :func:`save_dataset`, :func:`load_for_model`;
- :mod:`.readers`: NPZ and long-form CSV parsing; :mod:`.labels`: label encoding and matching;
- :mod:`.split`: the one stratified splitter (test, validation and calibration sets);
- :mod:`.random_inputs`: random int8 input windows (test vectors);
- :mod:`.radar`: the simulated FMCW radar dataset; :mod:`.inspect`: summaries and plots.

Importing this package is light (numpy only).
"""

from .dataset import Dataset, check_features
from .files import load_dataset, load_for_model, save_dataset
from .labels import labels_for_model
from .radar import RADAR_CLASSES, RadarConfig, generate_radar
from .random_inputs import random_int8_inputs
from .split import split_record, split_settings, stratified_sample, stratified_split

__all__ = [
    "Dataset",
    "RADAR_CLASSES",
    "RadarConfig",
    "check_features",
    "generate_radar",
    "labels_for_model",
    "load_dataset",
    "load_for_model",
    "random_int8_inputs",
    "save_dataset",
    "split_record",
    "split_settings",
    "stratified_sample",
    "stratified_split",
]
