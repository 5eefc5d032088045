"""`edgelstm search`: an Optuna model search for the most accurate int8 model that fits a device.

    shape.py            ModelShape: the plain description of a candidate (cell, widths, K, head)
    footprint_model.py  predicted flash / RAM / instructions per frame of a shape on a target
    footprint_coeffs.py the per-target coefficients (tools/calibrate_footprint.py writes them)
    calibration.py      a shape measured on QEMU (the calibration tool and the tests)
    space.py            the search space (Optuna suggestions -> TrainConfig + shape)
    objective.py        one trial: predict -> prune, train, quantize, score on validation
    study.py            storage, resume, the run loop and its progress lines
    outputs.py          search.json, the best (and Pareto) models, the summary
    html.py             the HTML page: Pareto plot and trial table
    runner.py           the command end to end (the CLI is a thin shell)

Nothing heavy is imported here: Optuna, TensorFlow and matplotlib are imported where used.
"""
