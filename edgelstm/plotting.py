"""matplotlib, imported only when a figure is drawn, and drawn quietly.

Shared by every stage that draws (report figures, ``data inspect --plot``, the search page), so
none of them imports another stage to get its plotting set-up.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (files only, no display needed)."""
    import matplotlib  # lazy: matplotlib (optional, heavy; only commands that draw import it)

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt  # lazy: matplotlib, after choosing the Agg backend

    return plt


@contextlib.contextmanager
def quiet_plotting():
    """No warnings on the user's terminal from drawing: class names in a script the font lacks
    (emoji: "Glyph ... missing") are drawn as boxes, extreme values clip."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.filterwarnings("ignore", message=r".*Glyph .* missing", category=UserWarning)
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        yield
