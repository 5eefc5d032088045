"""User-facing errors.

Every problem a user can cause (a missing file, a wrong shape, a layer edgelstm cannot quantize)
is raised as :class:`EdgelstmError` with a one-line message that names the problem and, where
there is one, the fix. The CLI prints it as ``error: <message>`` and exits non-zero; only
``--debug`` shows a traceback.
"""

from __future__ import annotations


class EdgelstmError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None):
        message = " ".join(str(message).split())  # keep it on one line
        if hint:
            message = f"{message} ({' '.join(hint.split())})"
        super().__init__(message)


class DataError(EdgelstmError):
    """Dataset file missing, corrupt, or not in the expected format."""


class ModelError(EdgelstmError):
    """Model file missing, corrupt, or using something edgelstm cannot handle."""


class UnsupportedError(ModelError):
    """A layer, op or option that edgelstm does not support."""


class ToolError(EdgelstmError):
    """An external tool (compiler, QEMU, converter) is missing or failed."""

    exit_code = 3
