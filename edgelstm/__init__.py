"""edgelstm: sequence classifiers (LSTM/GRU) from Keras training to bit-exact int8 C.

    import edgelstm
    m = edgelstm.load_int8_model("model_int8.tflite")
    xq = m.quantize_input(X)      # float (N, T, F) -> int8, the model's own normalisation
    y = m.predict_int8(xq)        # int8 outputs (N, C), bit-exact with TFLite Micro and the C
"""

from ._version import __version__

__all__ = ["__version__", "load_int8_model", "load_dataset", "Int8Model"]


def __getattr__(name):  # lazy: `import edgelstm` stays cheap for the CLI
    if name in ("load_int8_model", "Int8Model"):
        from . import model  # lazy: loads numpy and the simulator; `import edgelstm` stays cheap

        return getattr(model, name)
    if name == "load_dataset":
        from .data import load_dataset  # lazy: as above

        return load_dataset
    raise AttributeError(f"module 'edgelstm' has no attribute {name!r}")
