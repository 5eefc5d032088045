"""Datasets: the radar simulator, NPZ/CSV loaders and format checks.

Importing this package is light (numpy only); the simulator and the inspection helpers are
loaded on first use.
"""

from .dataset import Dataset, check_features, load_dataset, save_dataset

__all__ = [
    "Dataset",
    "RADAR_CLASSES",
    "RadarConfig",
    "check_features",
    "generate_radar",
    "load_dataset",
    "save_dataset",
]


def __getattr__(name: str):
    if name in ("RADAR_CLASSES", "RadarConfig", "generate_radar"):
        from . import radar

        return getattr(radar, name)
    raise AttributeError(f"module 'edgelstm.data' has no attribute '{name}'")
