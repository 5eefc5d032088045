"""Fixtures for the tests and benchmarks: synthetic int8 models with random weights.

Production code does not import this package. The random int8 input windows the tests use with
these models are production's own recipe (:func:`edgelstm.data.random_int8_inputs`, used by
export-c's test vectors and verify), re-exported here for convenience.

    from edgelstm.testing import SynthSpec, random_int8_inputs, synth_lstm_tflite
"""

from ..data.random_inputs import random_int8_inputs
from .synth import SynthSpec, synth_lstm_tflite
from .synth_gru import GruSynthSpec, synth_gru_tflite

__all__ = ["GruSynthSpec", "SynthSpec", "random_int8_inputs", "synth_gru_tflite", "synth_lstm_tflite"]
