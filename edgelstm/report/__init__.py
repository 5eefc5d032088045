"""`edgelstm report`: what int8 costs against the float model, and where.

    compute.py     the numbers, assembled into report.json's dict (compute_report)
    pairing.py     the two files belong together; which Keras layer is which int8 op
    shadow.py      the float shadow: the int8 graph executed in float64 (one handler per op kind)
    stats.py       confusion, per-class figures, per-op divergence / saturation / state ranges
    deployment.py  what an export folder (report --c-dir) says about the deployed model
    plots.py       matplotlib figures (Agg backend) from those numbers
    html.py        the self-contained index.html
    folder.py      make_report: all of the above, written to the output folder atomically
"""

from __future__ import annotations

from .compute import REPORT_FORMAT, compute_report
from .folder import make_report

__all__ = ["REPORT_FORMAT", "compute_report", "make_report"]
