"""`edgelstm data ...`: dataset generation and inspection (placeholder, filled by the data stage)."""

from __future__ import annotations

import click

from .base import cli


@cli.group("data")
def data_group() -> None:
    """Generate (radar) and inspect sequence datasets."""
