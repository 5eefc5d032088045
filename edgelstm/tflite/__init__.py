"""The ``.tflite`` file layer: reading a model into the IR, writing models, edgelstm's metadata.

    schema      the TFLite flatbuffer schema (generated Python, object API) from an installed runtime
    graph       TfliteGraph: checked access to a parsed file's tensors, quantization and data
    reader      parse_flatbuffer, load_ir / load_ir_from_bytes; OP_READERS, the op kind -> reader table
    ir_builder  IrBuilder: the IR under construction, shared by the op readers
    lstm_op     UNIDIRECTIONAL_SEQUENCE_LSTM -> LstmOp
    dense_ops   FULLY_CONNECTED, SOFTMAX, QUANTIZE, DEQUANTIZE
    copy_ops    STRIDED_SLICE, REVERSE_V2, CONCATENATION, RESHAPE/SQUEEZE
    gru_op      edgelstm's EDGELSTM_GRU custom op: its layout, writer and reader
    metadata    the 'edgelstm' metadata JSON (normalisation, names, accuracies)
    writer      pack/unpack, metadata embedding, ModelBuilder / GraphWriter

The scale -> multiplier arithmetic (TFLM's Prepare) lives in :mod:`edgelstm.prepare`. Nothing is
re-exported here: import from the module that does the job (``edgelstm.tflite.reader.load_ir``).
"""
