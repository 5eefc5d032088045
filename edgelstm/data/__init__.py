"""Datasets: the radar simulator, NPZ/CSV loaders and format checks."""
