"""The click group, output conventions and error handling shared by every command.

Conventions (kept by every command):
- results go to stdout; progress and notes go to stderr;
- ``--json`` prints exactly one JSON object on stdout and nothing else there;
- ``--quiet`` silences progress and notes (stderr); results still go to stdout;
- a user error is one line ``error: ...`` on stderr and a non-zero exit; ``--debug`` (on the
  group) shows the traceback instead.
"""

from __future__ import annotations

import functools
import inspect
import json
import sys
from dataclasses import dataclass
from typing import Any, Callable

import click

from .._version import __version__
from ..jsonutil import jsonable


@dataclass
class Output:
    """How a command talks to the user."""

    quiet: bool = False
    json: bool = False

    @property
    def chatty(self) -> bool:
        return not (self.quiet or self.json)

    def note(self, msg: str) -> None:
        """Progress and notes: stderr, silenced by --quiet and --json."""
        if self.chatty:
            click.echo(msg, err=True)

    def result(self, msg: str) -> None:
        """Human-readable results: stdout, silenced only by --json (--quiet silences the notes on
        stderr, not the answer the command was run for)."""
        if not self.json:
            click.echo(msg)

    def emit_json(self, obj: dict[str, Any]) -> None:
        if self.json:
            click.echo(json.dumps(jsonable(obj), indent=None, sort_keys=False, allow_nan=False))

    def progress(self, iterable=None, length: int | None = None, label: str = ""):
        """A progress bar on stderr (hidden with --quiet/--json or when stderr is not a tty)."""
        return click.progressbar(
            iterable,
            length=length,
            label=label,
            file=sys.stderr if self.chatty else _NullFile(),
            show_eta=True,
            show_pos=True,
        )


def default_of(fn: Callable, param: str) -> Any:
    """The default of ``fn``'s parameter ``param``: an option that has no config dataclass behind
    it shows (and passes) the library function's own default, written in one place."""
    default = inspect.signature(fn).parameters[param].default
    if default is inspect.Parameter.empty:
        raise TypeError(f"{fn.__qualname__}() has no default for {param!r}")
    return default


class _NullFile:
    def write(self, *_a):
        return 0

    def flush(self):
        pass

    def isatty(self):
        return False


def output_options(json_option: bool = True):
    """Add --quiet (and --json) to a command; the command receives ``out: Output``."""

    def deco(f: Callable) -> Callable:
        @functools.wraps(f)
        def wrapper(*args, quiet: bool = False, as_json: bool = False, **kwargs):
            return f(*args, out=Output(quiet=quiet, json=as_json), **kwargs)

        wrapper = click.option("--quiet", "-q", is_flag=True, help="No progress or notes on stderr.")(wrapper)
        if json_option:
            wrapper = click.option(
                "--json", "as_json", is_flag=True, help="Print one JSON object on stdout and nothing else."
            )(wrapper)
        return wrapper

    return deco


CONTEXT_SETTINGS = dict(help_option_names=["-h", "--help"], max_content_width=100)


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", "-V", prog_name="edgelstm")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """edgelstm: radar (or any sensor) sequence classifiers, from Keras to bit-exact int8 C.

    \b
    Pipeline:
      edgelstm data radar     -> radar.npz           physically modelled FMCW radar sequences
      edgelstm train          -> model.keras         Keras 3 LSTM/GRU, float
      edgelstm quantize       -> model_int8.tflite   int8, float-vs-int8 accuracy
      edgelstm simulate       -> predictions of the int8 model, bit-exact, in Python
      edgelstm export-c       -> out/                portable C99 library, no malloc
      edgelstm verify         -> compiles the C (host or Cortex-M under QEMU), proves bit-exactness
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
