"""Raw radar front ends: raw ADC frames (chirps x samples int16) -> per-frame features.

One spec (:class:`FrontEndSpec`, stored as JSON with the features and the model), executed as
a fixed-point numpy reference (:func:`features_fixed`, the bit-exact spec of the generated C),
in float64 (:func:`features_float`, the accuracy reference), and as C (``NAME_frontend.c``,
edgelstm/codegen/frontend_c.py + firmware_templates/runtime/edgelstm_frontend_*.c).

- :mod:`.spec`: the spec and its integer tables; :mod:`.fixed`: q15 FFT, log2, shifts;
- :mod:`.doppler`: the ``doppler`` chain; :mod:`.quant`: features -> the model's int8 input;
- :mod:`.rawio`: reading and checking raw recordings; :mod:`.extract`: ``data features``.
"""

from .doppler import features_fixed, features_float, to_float_features
from .extract import FRONT_ENDS, extract_dataset, spec_of_params
from .quant import InputMap, input_map, input_map_for_model, quantize_features
from .rawio import check_frames, read_raw, select_antenna
from .spec import FrontEndSpec, tables

__all__ = [
    "FRONT_ENDS",
    "FrontEndSpec",
    "InputMap",
    "check_frames",
    "extract_dataset",
    "features_fixed",
    "features_float",
    "input_map",
    "input_map_for_model",
    "quantize_features",
    "read_raw",
    "select_antenna",
    "spec_of_params",
    "tables",
    "to_float_features",
]
