"""``edgelstm_export.json``: what an export folder holds, as one typed, versioned record.

`export-c` writes it (:meth:`ExportManifest.save`); `verify`, `report --c-dir` and a re-export
read it back (:func:`read_manifest` / :meth:`ExportManifest.load`), which checks every field's
type, so a hand-edited or damaged file is a one-line error naming the field, never an internal
error deep in a build. The JSON is the dataclass fields in declaration order, after
``"format": "edgelstm-c-export"`` and ``"format_version"``; the optional target blocks
(``board``, ``arduino``, ``include_dirs``) are written only for the targets that have them.

Versions: ``format_version`` is 1 since the first release (a manifest without it is read as 1).
A reader refuses a larger version in one line (written by a newer edgelstm); a change that old
readers could misread increments :data:`MANIFEST_VERSION`.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable

from ..errors import EdgelstmError, ModelError

MANIFEST = "edgelstm_export.json"
MANIFEST_FORMAT = "edgelstm-c-export"
MANIFEST_VERSION = 1
_REEXPORT = "export again with 'edgelstm export-c'"


class _Bad(Exception):
    """A field of the JSON with the wrong type or value (the message says which)."""


# ------------------------------------------------------------------------------ field checks
# Each check takes the JSON value and returns the field's value or raises _Bad("must be ...").


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise _Bad("must be a string")
    return v


def _name(v: Any) -> str:
    if not isinstance(v, str) or not v:
        raise _Bad("must be a non-empty string")
    return v


def _opt_str(v: Any) -> str | None:
    return None if v is None else _str(v)


def _int(minimum: int) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if not _is_int(v) or v < minimum:
            raise _Bad(f"must be an integer >= {minimum}")
        return v
    return check


def _zero_point(v: Any) -> int:
    if not _is_int(v) or not -128 <= v <= 127:
        raise _Bad("must be an integer in [-128, 127]")
    return v


def _number(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _Bad("must be a number")
    return v


def _opt_number(v: Any) -> float | None:
    return None if v is None else _number(v)


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise _Bad("must be true or false")
    return v


def _str_list(v: Any) -> list[str]:
    if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
        raise _Bad("must be a list of strings")
    return list(v)


def _nonempty_str_list(v: Any) -> list[str]:
    out = _str_list(v)
    if not out:
        raise _Bad("must be a non-empty list of strings")
    return out


def _opt_str_list(v: Any) -> list[str] | None:
    return None if v is None else _str_list(v)


def _record(cls) -> Callable[[Any], Any]:
    """A nested JSON object as the dataclass ``cls`` (its CHECKS say each key's type)."""
    def check(v: Any):
        if not isinstance(v, dict):
            raise _Bad("must be an object")
        kw = {}
        for f in fields(cls):
            if f.name not in v:
                raise _Bad(f"lacks '{f.name}'")
            try:
                kw[f.name] = cls.CHECKS[f.name](v[f.name])
            except _Bad as e:
                raise _Bad(f"'{f.name}' {e}") from None
        return cls(**kw)
    return check


def _list_of(check: Callable[[Any], Any]) -> Callable[[Any], list]:
    def check_list(v: Any) -> list:
        if not isinstance(v, list):
            raise _Bad("must be a list")
        out = []
        for i, item in enumerate(v):
            try:
                out.append(check(item))
            except _Bad as e:
                raise _Bad(f"item {i}: {e}") from None
        return out
    return check_list


def _json_object(v: Any) -> dict:
    if not isinstance(v, dict):
        raise _Bad("must be an object")
    return v


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda v: None if v is None else check(v)


# --------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class StateField:
    """One field of NAME_state_t (the harness dumps them; the footprint sums them)."""

    name: str
    type: str  # "int8_t" | "int16_t" | ...
    count: int

    CHECKS = {"name": _name, "type": _name, "count": _int(0)}


@dataclass(frozen=True)
class TestVectors:
    """The compiled-in test vectors (NAME_test_vectors.h)."""

    __test__ = False  # not a pytest class

    file: str
    count: int
    source: str

    CHECKS = {"file": _name, "count": _int(0), "source": _str}


@dataclass(frozen=True)
class BoardEntry:
    """A Cortex-M export's board (from codegen/targets.py BOARDS)."""

    core: str
    board: str
    title: str
    qemu_machine: str
    cpu_flags: list[str]
    systick_hz: int
    flash_bytes: int
    ram_bytes: int
    firmware: str

    CHECKS = {"core": _name, "board": _name, "title": _str, "qemu_machine": _name, "cpu_flags": _str_list,
              "systick_hz": _int(1), "flash_bytes": _int(0), "ram_bytes": _int(0), "firmware": _str}


@dataclass(frozen=True)
class ArduinoEntry:
    """An Arduino library export: its name, example sketch and include folders."""

    library: str
    sketch: str
    include_dirs: list[str]

    CHECKS = {"library": _name, "sketch": _str, "include_dirs": _str_list}


@dataclass(frozen=True)
class ExportManifest:
    """Everything `export-c` says about an export folder (the fields of edgelstm_export.json)."""

    name: str                      # the C prefix (NAME_classify, ...)
    edgelstm_version: str
    model_file: str | None         # the .tflite copy in the folder (None: exported from an in-memory IR)
    model_sha256: str              # "" without a model file
    source_model: str | None       # the path export-c read
    layers: str                    # QuantModel.describe()
    window: int
    features: int
    classes: int
    class_names: list[str]
    streaming: bool
    streaming_reason: str | None
    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int
    has_normalization: bool
    float_accuracy: float | None
    int8_accuracy: float | None
    weights_bytes: int
    workspace_bytes: int
    state_fields: list[StateField]
    library_sources: list[str]     # relative to the folder; the first is NAME_model.c
    headers: list[str]
    selftest: str
    test_vectors: TestVectors
    files: list[str]               # every file the export wrote (a re-export replaces only these)
    target: str                    # codegen/targets.py EXPORT_TARGETS
    board: BoardEntry | None = None          # Cortex-M targets
    arduino: ArduinoEntry | None = None      # the Arduino target
    include_dirs: list[str] | None = None    # extra -I folders (relative), when the sources are not at the top
    stack: int = 1                           # frames per cell step (--stack; NAME_STACK); window/features are per frame
    front_end: dict | None = None            # raw radar front end: {source, spec, flash_bytes, ram_bytes} (issue 16)
    format_version: int = MANIFEST_VERSION

    CHECKS = {
        "name": _name, "edgelstm_version": _str, "model_file": _opt_str, "model_sha256": _str,
        "source_model": _opt_str, "layers": _str, "window": _int(1), "features": _int(1), "classes": _int(1),
        "class_names": _str_list, "streaming": _bool, "streaming_reason": _opt_str, "input_scale": _number,
        "input_zero_point": _zero_point, "output_scale": _number, "output_zero_point": _zero_point,
        "has_normalization": _bool, "float_accuracy": _opt_number, "int8_accuracy": _opt_number,
        "weights_bytes": _int(0), "workspace_bytes": _int(0), "state_fields": _list_of(_record(StateField)),
        "library_sources": _nonempty_str_list, "headers": _str_list, "selftest": _str,
        "test_vectors": _record(TestVectors), "files": _str_list, "target": _name,
        "board": _optional(_record(BoardEntry)), "arduino": _optional(_record(ArduinoEntry)),
        "include_dirs": _opt_str_list, "stack": _int(1),
        "front_end": _optional(_json_object),
    }
    OPTIONAL = ("board", "arduino", "include_dirs", "front_end")  # absent from the JSON when None
    DEFAULTED = {"stack": 1}  # absent from the JSON at this value (older manifests lack them: read as it)

    # ---------------------------------------------------------------------------- JSON

    def to_json(self) -> dict[str, Any]:
        """The JSON object, keys in the order export-c has always written them."""
        out: dict[str, Any] = {"format": MANIFEST_FORMAT, "format_version": self.format_version}
        for f in fields(self):
            if f.name == "format_version":
                continue
            v = getattr(self, f.name)
            if v is None and f.name in self.OPTIONAL:
                continue
            if f.name in self.DEFAULTED and v == self.DEFAULTED[f.name]:
                continue
            if isinstance(v, list):
                v = [asdict(x) if isinstance(x, StateField) else x for x in v]
            elif isinstance(v, (TestVectors, BoardEntry, ArduinoEntry)):
                v = asdict(v)
            out[f.name] = v
        return out

    def save(self, path: str | os.PathLike) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def from_json(cls, obj: Any, where: str = MANIFEST) -> ExportManifest:
        """Check every field of a parsed manifest (one-line ModelError naming the first bad one)."""
        if not isinstance(obj, dict) or obj.get("format") != MANIFEST_FORMAT:
            raise ModelError(f"'{where}' is not an edgelstm export manifest", _REEXPORT)
        version = obj.get("format_version", 1)  # the first manifests may lack it: version 1
        if not _is_int(version) or version < 1:
            raise ModelError(f"'{where}' is corrupt: 'format_version' must be an integer >= 1", _REEXPORT)
        if version > MANIFEST_VERSION:
            raise ModelError(f"'{where}' was written by a newer edgelstm (manifest format_version {version}; this "
                             f"edgelstm reads up to {MANIFEST_VERSION})",
                             "upgrade edgelstm, or export again with this one's 'edgelstm export-c'")
        kw: dict[str, Any] = {"format_version": version}
        for f in fields(cls):
            if f.name == "format_version":
                continue
            if f.name not in obj:
                if f.name in cls.OPTIONAL or f.name in cls.DEFAULTED:
                    continue
                raise ModelError(f"'{where}' lacks '{f.name}'", _REEXPORT)
            try:
                kw[f.name] = cls.CHECKS[f.name](obj[f.name])
            except _Bad as e:
                got = json.dumps(obj[f.name])
                got = got if len(got) <= 40 else got[:37] + "..."
                raise ModelError(f"'{where}' is corrupt: '{f.name}' {e} (it is {got})", _REEXPORT) from None
        return cls(**kw)

    @classmethod
    def load(cls, path: str | os.PathLike) -> ExportManifest:
        p = Path(path)
        try:
            obj = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            raise ModelError(f"'{p}' is corrupt", _REEXPORT) from None
        return cls.from_json(obj, str(p))

    # ------------------------------------------------------------ the dict it used to be

    def __getitem__(self, key: str) -> Any:
        """``manifest["name"]``: the JSON value of a key (read_manifest returned the JSON dict
        before it was a dataclass; scripts and tests index it that way)."""
        return self.to_json()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.to_json().get(key, default)

    # ------------------------------------------------------------------------ derived

    def state_bytes(self) -> int | None:
        """sizeof the fields of NAME_state_t (None when a field has a type of unknown size)."""
        sizes = {"int8_t": 1, "uint8_t": 1, "int16_t": 2, "uint16_t": 2, "int32_t": 4, "uint32_t": 4}
        if not all(f.type in sizes for f in self.state_fields):
            return None
        return sum(sizes[f.type] * f.count for f in self.state_fields)


def read_manifest(export_dir: str | os.PathLike) -> ExportManifest:
    """The manifest of an export folder (one-line errors when the folder is not one)."""
    d = Path(export_dir)
    if not d.exists():
        raise EdgelstmError(f"export folder '{d}' does not exist", "create it with 'edgelstm export-c'")
    if not d.is_dir():
        raise EdgelstmError(f"'{d}' is a file, not an export folder")
    mf = d / MANIFEST
    if not mf.is_file():
        raise EdgelstmError(f"'{d}' is not an edgelstm export (no {MANIFEST})", "create it with 'edgelstm export-c'")
    return ExportManifest.load(mf)


def listed_files(export_dir: str | os.PathLike) -> set[str] | None:
    """Top-level names an earlier export in ``export_dir`` wrote, read leniently (None when there
    is no manifest): a re-export replaces these and keeps everything else in the folder. A
    damaged manifest lists nothing, so the new export overwrites only its own names."""
    mf = Path(export_dir) / MANIFEST
    if not mf.is_file():
        return None
    known = {MANIFEST}
    try:
        files = json.loads(mf.read_text(encoding="utf-8")).get("files") or []
        known |= {Path(str(f)).parts[0] for f in files if str(f) and not Path(str(f)).is_absolute()}
    except (OSError, UnicodeDecodeError, ValueError, AttributeError, TypeError, IndexError):
        pass  # a damaged manifest: keep whatever the new export does not overwrite
    return known
