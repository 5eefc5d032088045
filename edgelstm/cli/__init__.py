"""Command-line entry point: ``edgelstm``.

The commands live one module per pipeline stage; this module assembles them and turns every
exception into a one-line message (``--debug`` shows the traceback).
"""

from __future__ import annotations

import os
import sys

import click

from ..errors import EdgelstmError
from .base import cli

# Registering the commands (each module adds its own to the group).
from . import data_cmd  # noqa: F401,E402
from . import train_cmd  # noqa: F401,E402
from . import quantize_cmd  # noqa: F401,E402
from . import simulate_cmd  # noqa: F401,E402
from . import export_cmd  # noqa: F401,E402
from . import verify_cmd  # noqa: F401,E402
from . import report_cmd  # noqa: F401,E402
from . import search_cmd  # noqa: F401,E402


def _debug_requested(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get("EDGELSTM_DEBUG") == "1"


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; never show a traceback unless --debug is given."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_requested(argv)
    try:
        cli.main(args=argv, prog_name="edgelstm", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        click.echo("error: aborted", err=True)
        sys.exit(130)
    except click.exceptions.NoArgsIsHelpError as e:
        # 'edgelstm' or 'edgelstm data' alone: the group's help, as written (exit 2, like click)
        click.echo(e.ctx.get_help(), err=True)
        sys.exit(e.exit_code)
    except click.ClickException as e:
        # Usage errors (bad option, missing argument, bad value): one line plus where to look.
        msg = " ".join(e.format_message().split())
        cmd = getattr(getattr(e, "ctx", None), "command_path", "edgelstm")
        click.echo(f"error: {msg} (see '{cmd} --help')", err=True)
        sys.exit(e.exit_code)
    except EdgelstmError as e:
        if debug:
            raise
        click.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("error: interrupted", err=True)
        sys.exit(130)
    except MemoryError:
        if debug:
            raise
        click.echo("error: out of memory (use fewer samples or a smaller --batch-size)", err=True)
        sys.exit(1)
    except Exception as e:  # noqa: BLE001 - the last line of defence against tracebacks
        if debug:
            raise
        msg = " ".join(str(e).split()) or type(e).__name__
        click.echo(
            f"error: internal error ({type(e).__name__}: {msg[:300]}); "
            "run again with --debug for the traceback and report it",
            err=True,
        )
        sys.exit(1)
