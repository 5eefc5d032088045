"""edgelstm: sequence classifiers (LSTM/GRU) from Keras training to bit-exact int8 C."""

from ._version import __version__

__all__ = ["__version__"]
