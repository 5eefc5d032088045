"""Keras float classifier -> full-integer int8 ``.tflite`` (`edgelstm quantize`).

    pipeline.py        quantize_model and CalibrationConfig: the stage the CLI runs
    keras_spec.py      a Keras 3 model read into a plain layer spec (architecture + float weights)
    convert_worker.py  the child process running the TFLite converter on a tf-keras twin (LSTM)
    fixups.py          repairs of the converter's quantization parameters
    gru_quant.py       edgelstm's own integer GRU (the converter crashes on int8 GRUs)

Nothing is imported here: the submodules pull in tensorflow lazily, and the .tflite file layer
they write through lives in :mod:`edgelstm.tflite`.
"""
