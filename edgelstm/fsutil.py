"""Writing files so that a failure never leaves a half-written output behind.

Every output goes to a temporary name in the destination folder and is renamed into place
(an atomic operation on POSIX) only when it is complete.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

from .errors import EdgelstmError


def _writable_ancestor(p: Path, what: str) -> Path:
    """The nearest existing folder above ``p``, checked to accept new files (nothing is left)."""
    anc = p.parent if str(p.parent) else Path(".")
    while not anc.exists() and anc != anc.parent:
        if anc.is_symlink():  # a dangling symlink: mkdir would fail on it
            raise EdgelstmError(f"cannot write {what} '{p}': '{anc}' is a broken symbolic link")
        anc = anc.parent
    if not anc.is_dir():
        raise EdgelstmError(f"cannot write {what} '{p}': '{anc}' is a file, not a folder")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise EdgelstmError(f"cannot write {what} '{p}': folder '{anc}' is not writable")
    try:
        fd, probe = tempfile.mkstemp(prefix=".edgelstm-probe.", suffix=".tmp", dir=anc)
    except OSError as e:
        raise EdgelstmError(
            f"cannot write {what} '{p}': no file can be created in '{anc}' ({_reason(e)})", "choose another location"
        ) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return anc


def check_output_path(path: str | os.PathLike, *, what: str = "output file") -> Path:
    """Check, before any work, that ``path`` can be written as a file.

    Nothing is created: a missing parent folder is made only when the file is written
    (:func:`atomic_path`), so a command that fails later leaves no empty folder behind. The
    nearest existing folder is probed by creating (and removing) a temporary file in it, because
    ``os.access`` answers yes to root everywhere, including /proc and read-only mounts.
    """
    p = Path(path)
    if p.exists() and p.is_dir():
        raise EdgelstmError(f"{what} '{p}' is a directory", "give a file name")
    _writable_ancestor(p, what)
    return p


def _make_parent(p: Path, what: str) -> tuple[Path, list[Path]]:
    """Create ``p``'s parent folders; returns (parent, the folders created, deepest first)."""
    parent = p.parent if str(p.parent) else Path(".")
    created = []
    d = parent
    while not d.exists() and d != d.parent:
        created.append(d)
        d = d.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        _remove_empty(created)
        raise EdgelstmError(f"cannot create folder '{parent}' for {what} '{p}': {_reason(e)}") from None
    return parent, created


def _remove_empty(folders: list[Path]) -> None:
    """Remove the folders a failed write created (deepest first; only if still empty)."""
    for d in folders:
        with contextlib.suppress(OSError):
            d.rmdir()


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike, *, what: str = "output file", suffix: str = ".tmp"
) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` only on success.

    ``suffix`` lets libraries that insist on a file extension (Keras wants ``.keras``) write
    to the temporary name. On failure nothing is left: neither the temporary file nor the
    parent folders this call created.
    """
    p = check_output_path(path, what=what)
    parent, created = _make_parent(p, what)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=suffix, dir=parent)
    except OSError as e:
        _remove_empty(created)
        raise EdgelstmError(
            f"cannot write {what} '{p}': no file can be created in '{parent}' ({_reason(e)})", "choose another location"
        ) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        try:
            yield tmp_path
            if tmp_path.exists():  # mkstemp makes 0600; give the file the umask's usual permissions
                os.chmod(tmp_path, 0o666 & ~_umask())
            os.replace(tmp_path, p)
        except OSError as e:
            # Writing the output failed (disk full, quota, file system gone): one line, no traceback.
            raise EdgelstmError(f"cannot write {what} '{p}': {_reason(e)}") from e
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        _remove_empty(created)
        raise


def _reason(e: OSError) -> str:
    return e.strerror or " ".join(str(e).split()) or type(e).__name__


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_bytes_atomic(path: str | os.PathLike, data: bytes, *, what: str = "output file") -> Path:
    with atomic_path(path, what=what) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike, text: str, *, what: str = "output file") -> Path:
    with atomic_path(path, what=what) as tmp:
        tmp.write_text(text)
    return Path(path)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, *, what: str = "output folder", carry_except: Iterable[str] | None = None,
               carried: list[str] | None = None) -> Iterator[Path]:
    """Build a folder under a temporary name and move it to ``path`` when complete.

    An existing ``path`` folder is replaced only after the new one is complete. On failure
    nothing is left: neither the temporary folder nor the parent folders this call created.
    With ``carry_except`` (names or glob patterns an earlier run of the tool may have written), every other
    top-level entry of the existing folder that the new one does not have (the user's own files,
    build products) is moved into the new folder instead of being deleted; their names are
    appended to ``carried``.
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise EdgelstmError(f"{what} '{p}' exists and is a file", "give a folder name")
    _writable_ancestor(p, what)
    parent, created = _make_parent(p, what)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{p.name}.", suffix=".tmp", dir=parent))
    except OSError as e:
        _remove_empty(created)
        raise EdgelstmError(
            f"cannot write {what} '{p}': no folder can be created in '{parent}' ({_reason(e)})", "choose another location"
        ) from None
    try:
        try:
            yield tmp
            os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
            if p.exists():
                moved = _carry_over(p, tmp, set(carry_except)) if carry_except is not None else []
                try:
                    old = Path(tempfile.mkdtemp(prefix=f".{p.name}.", suffix=".old", dir=parent))
                    os.rmdir(old)
                    os.replace(p, old)
                except OSError:
                    _move_back(tmp, p, moved)  # the user's files are never lost with the new folder
                    raise
                try:
                    os.replace(tmp, p)
                except OSError:
                    os.replace(old, p)  # the earlier folder back in place, with the user's files
                    _move_back(tmp, p, moved)
                    raise
                shutil.rmtree(old, ignore_errors=True)
                if carried is not None:
                    carried.extend(moved)
            else:
                os.replace(tmp, p)
        except OSError as e:
            raise EdgelstmError(f"cannot write {what} '{p}': {_reason(e)}") from e
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        _remove_empty(created)
        raise


def _carry_over(src: Path, dst: Path, known: set[str]) -> list[str]:
    """Move the entries of ``src`` that are neither in ``known`` nor in ``dst`` into ``dst`` (all or
    none: on an error the moved ones go back)."""
    moved: list[str] = []
    try:
        for entry in sorted(src.iterdir()):
            ours = any(fnmatch.fnmatchcase(entry.name, k) for k in known)
            if ours or (dst / entry.name).exists() or entry.name.startswith(f".{src.name}."):
                continue
            os.replace(entry, dst / entry.name)
            moved.append(entry.name)
    except OSError:
        _move_back(dst, src, moved)
        raise
    return moved


def _move_back(dst: Path, src: Path, names: list[str]) -> None:
    for name in names:
        with contextlib.suppress(OSError):
            os.replace(dst / name, src / name)


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def require_file(path: str | os.PathLike, what: str) -> Path:
    """Check that ``path`` is an existing, non-empty, readable file."""
    p = Path(path)
    if not p.exists():
        raise EdgelstmError(f"{what} '{p}' does not exist")
    if p.is_dir():
        raise EdgelstmError(f"{what} '{p}' is a directory, not a file")
    if not os.access(p, os.R_OK):
        raise EdgelstmError(f"{what} '{p}' is not readable")
    if p.stat().st_size == 0:
        raise EdgelstmError(f"{what} '{p}' is empty")
    return p
