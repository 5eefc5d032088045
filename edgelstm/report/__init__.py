"""`edgelstm report`: what int8 costs against the float model, and where.

    compute.py   the numbers (accuracies, confusion, per-time-step divergence of the hidden
                 states, saturation, cell-state and calibration ranges, deployment figures)
    plots.py     matplotlib figures (Agg backend) from those numbers
    html.py      the self-contained index.html

``make_report(...)`` runs all three and writes the output folder atomically.
"""

from __future__ import annotations

from .compute import REPORT_FORMAT, compute_report, make_report

__all__ = ["REPORT_FORMAT", "compute_report", "make_report"]
