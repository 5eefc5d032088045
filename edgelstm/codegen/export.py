"""``edgelstm export-c``: an int8 .tflite -> a self-contained C99 library folder.

The folder (written atomically: complete or not at all) holds

    NAME_model.h / NAME_model.c    generated: weights, parameters, the public API
    edgelstm_*.c / edgelstm_*.h    the static runtime (firmware_templates/runtime)
    NAME_test_vectors.h            inputs and the simulator's expected outputs
    NAME_selftest.c                host / on-target self test ("N passed, M failed")
    Makefile, CMakeLists.txt       host builds of the library and the self test
    NAME_model.tflite              the exported model, so that `edgelstm verify DIR` needs nothing else
    edgelstm_export.json           what was exported (name, sha256, shapes, streaming, files, ...)

``target`` (``--target``) changes the layout around the same library (edgelstm/codegen/targets.py):
"host" is the folder above; "cortex-m4" / "cortex-m0" / "cortex-m33" add board/ (startup,
linker script, semihosting self test), a cross-compiling Makefile and CMakeLists.txt, cmake/ and
zephyr/; "arduino" is an Arduino library (library.properties, src/, examples/, extras/).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .._version import __version__
from ..data import load_for_model, random_int8_inputs
from ..errors import EdgelstmError
from ..fsutil import atomic_dir, require_file, sha256_file
from ..model import Int8Model, load_int8_model
from .cwriter import C_KEYWORDS, is_c_identifier, to_c_identifier
from .frontend_c import add_front_end
from .graph import check_supported, stream_plan
from .manifest import MANIFEST, ExportManifest, StateField, TestVectors, listed_files
from .model_c import HeaderInfo, generate_model_source
from .project import cmakelists, makefile, selftest_source, test_vectors_header
from .targets import HOST, Layout, apply_target, check_target, check_vectors_fit, default_test_vectors
from .templates import runtime_files

DEFAULT_NAME = "edgelstm"
DEFAULT_TEST_VECTORS = 300
MAX_NAME_LENGTH = 48


@dataclass
class ExportResult:
    out: Path
    name: str
    files: list[str]
    streaming: bool
    streaming_reason: str
    weights_bytes: int
    model_sha256: str
    window: int
    features: int
    classes: int
    test_vectors: int
    test_vector_source: str
    manifest: ExportManifest | None = None
    target: str = HOST
    kept: list[str] = field(default_factory=list)  # files of the user's kept in the re-exported folder

    def to_json(self) -> dict:
        return {
            "out": str(self.out),
            "name": self.name,
            "files": self.files,
            "streaming": self.streaming,
            "streaming_reason": self.streaming_reason or None,
            "weights_bytes": self.weights_bytes,
            "model_sha256": self.model_sha256,
            "window": self.window,
            "features": self.features,
            "classes": self.classes,
            "test_vectors": self.test_vectors,
            "test_vector_source": self.test_vector_source,
            "target": self.target,
        }


def check_name(name: str) -> str:
    """Validate --name: a C identifier usable as the prefix of every public symbol."""
    if not isinstance(name, str) or not name:
        raise EdgelstmError("--name is empty", "give a C identifier such as 'radar'")
    if len(name) > MAX_NAME_LENGTH:
        raise EdgelstmError(f"--name '{name[:60]}' is longer than {MAX_NAME_LENGTH} characters")
    if name in C_KEYWORDS:
        raise EdgelstmError(f"--name '{name}' is a C/C++ keyword", "choose another name, e.g. 'radar'")
    if not is_c_identifier(name):
        raise EdgelstmError(
            f"--name '{name}' is not a C identifier",
            "use letters, digits and single underscores, starting with a letter, e.g. 'radar_lstm'",
        )
    if name.lower().startswith("edgelstm_"):
        raise EdgelstmError(f"--name '{name}' starts with 'edgelstm_', the runtime's prefix", "choose another name")
    return name


def default_name(model_path: str | os.PathLike) -> str:
    """The model file's stem as a C identifier ("edgelstm" when that gives nothing usable)."""
    stem = to_c_identifier(Path(model_path).stem)
    try:
        return check_name(stem)
    except EdgelstmError:
        return DEFAULT_NAME


def _check_out_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise EdgelstmError(f"output folder '{out}' exists and is a file", "give a folder name with --out")
    # The nearest existing ancestor must be a writable folder (checked before any work is done).
    anc = out.parent if str(out.parent) else Path(".")
    while not anc.exists() and anc != anc.parent:
        anc = anc.parent
    if anc.exists() and not anc.is_dir():
        raise EdgelstmError(f"cannot create output folder '{out}': '{anc}' is a file")
    if anc.exists() and not os.access(anc, os.W_OK):
        raise EdgelstmError(f"cannot create output folder '{out}': folder '{anc}' is not writable")
    try:
        resolved = out.resolve()
        cwd = Path.cwd().resolve()
    except OSError:
        return
    if resolved == cwd or resolved in cwd.parents:
        raise EdgelstmError(f"--out '{out}' is the current folder or one of its parents", "give a new folder, e.g. --out out_c")
    if out.is_dir():
        entries = [p.name for p in out.iterdir()]
        if entries and MANIFEST not in entries:
            raise EdgelstmError(
                f"output folder '{out}' is not empty and is not an edgelstm export",
                "give a new or empty folder (an earlier export is replaced)",
            )
        if not os.access(out, os.W_OK):
            raise EdgelstmError(f"output folder '{out}' is not writable")


def _test_vectors(model, n: int, data_path: str | None, seed: int) -> tuple[np.ndarray, str]:
    """int8 input windows: the data's test split (quantised by the model) or random patterns."""
    if data_path:
        ds = load_for_model(data_path, model)  # train's test split, if it made one
        X = ds.X_test if ds.X_test is not None and len(ds.X_test) else ds.X_train
        X = X[:n]
        xq = model.quantize_input(X)
        return xq, f"{len(xq)} windows of the test split of '{Path(data_path).name}', quantised by the model"
    T, F = model.window, model.n_features
    n_ext = n // 2
    a = random_int8_inputs(n - n_ext, T, F, seed=seed, kind="uniform")
    b = random_int8_inputs(n_ext, T, F, seed=seed + 1, kind="extremes") if n_ext else np.zeros((0, T, F), np.int8)
    return np.concatenate([a, b]), (f"random int8, seed {seed}: {n - n_ext} uniform, {n_ext} from the extreme set "
                                    "(in quarters: all -128, all 127, alternating, uniform)")


def load_model_for_export(model_path: str | os.PathLike) -> Int8Model:
    return load_int8_model(require_file(model_path, "model file"))


def export_c(
    model_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    name: str | None = None,
    n_vectors: int | None = DEFAULT_TEST_VECTORS,
    data_path: str | os.PathLike | None = None,
    seed: int = 0,
    note: Callable[[str], None] | None = None,
    target: str = HOST,
) -> ExportResult:
    """Write the C library for ``model_path`` into ``out_dir`` (atomically).

    ``n_vectors`` None: 300 on the host, fewer on a board (what fits a small share of its flash).
    """
    name = check_name(name) if name is not None else default_name(model_path)
    check_target(target)
    _check_n_vectors(n_vectors)
    _check_out_dir(Path(out_dir))
    model = load_model_for_export(model_path)
    return export_model(model, out_dir, name=name, n_vectors=n_vectors, data_path=data_path, seed=seed, note=note,
                        model_path=model_path, target=target)


def _check_n_vectors(n_vectors) -> None:
    if n_vectors is None:
        return
    if isinstance(n_vectors, bool) or not isinstance(n_vectors, (int, np.integer)) or n_vectors < 1:
        raise EdgelstmError(f"--test-vectors must be at least 1, got {n_vectors}")


def export_model(
    model,
    out_dir: str | os.PathLike,
    *,
    name: str = DEFAULT_NAME,
    n_vectors: int | None = DEFAULT_TEST_VECTORS,
    data_path: str | os.PathLike | None = None,
    seed: int = 0,
    note: Callable[[str], None] | None = None,
    model_path: str | os.PathLike | None = None,
    target: str = HOST,
) -> ExportResult:
    """Write the C library of an :class:`~edgelstm.model.Int8Model` (its IR) into ``out_dir``.

    ``model_path`` is the .tflite the IR was read from (copied into the folder for `verify`);
    without it (an IR built or edited in Python) the folder has no model copy.
    """
    note = note or (lambda _m: None)
    out = Path(out_dir)
    name = check_name(name)
    check_target(target)
    _check_n_vectors(n_vectors)
    _check_out_dir(out)
    runtime = runtime_files()
    qm = model.ir
    check_supported(qm)
    plan, reason = stream_plan(qm)
    sha = (qm.source_sha256 or sha256_file(model_path)) if model_path is not None else ""

    info = HeaderInfo(
        model_file=Path(model_path).name if model_path is not None else "(in-memory IR)", model_sha256=sha or "-",
        version=__version__,
        float_accuracy=qm.info.float_accuracy, int8_accuracy=qm.info.int8_accuracy,
        describe=qm.describe(), streaming_reason=reason,
    )
    src = generate_model_source(qm, name, plan, info)

    # test vectors, NAME_WINDOW and the manifest are in frames (a stacked graph takes window // stack steps)
    frames, frame_features = model.window, model.n_features
    if n_vectors is None:
        n_vectors = default_test_vectors(target, frames, frame_features, qm.n_outputs, DEFAULT_TEST_VECTORS)
    check_vectors_fit(target, int(n_vectors), frames, frame_features, qm.n_outputs, src.weights_bytes)
    xq, vec_source = _test_vectors(model, int(n_vectors), str(data_path) if data_path else None, seed)
    note(f"computing the expected outputs of {len(xq)} test vectors with the simulator")
    expected = model.predict_int8(xq)

    lib_sources = [f"{name}_model.c"] + [p.name for p in runtime if p.suffix == ".c"]
    headers = [f"{name}_model.h"] + [p.name for p in runtime if p.suffix == ".h"]
    model_copy = f"{name}_model.tflite"
    generated = {
        f"{name}_model.h": src.header,
        f"{name}_model.c": src.source,
        f"{name}_test_vectors.h": test_vectors_header(name, xq, expected, vec_source, __version__),
        f"{name}_selftest.c": selftest_source(name, plan is not None, __version__),
        "Makefile": makefile(name, lib_sources, headers, __version__),
        "CMakeLists.txt": cmakelists(name, lib_sources, __version__),
    }
    front_end = add_front_end(model, name, plan is not None, generated, lib_sources)  # raw radar front end (issue 16)
    if front_end is not None:
        generated["Makefile"] = makefile(name, lib_sources, headers, __version__)
        generated["CMakeLists.txt"] = cmakelists(name, lib_sources, __version__)
    host = Layout(
        texts=generated,
        copies={**{p.name: p for p in runtime}, **({model_copy: Path(model_path)} if model_path is not None else {})},
        library_sources=lib_sources, headers=headers, selftest=f"{name}_selftest.c",
        test_vectors_file=f"{name}_test_vectors.h", model_file=model_copy if model_path is not None else None,
    )
    layout = apply_target(target, host, name=name, version=__version__)
    files = sorted(layout.files() + [MANIFEST])
    manifest = ExportManifest(
        name=name,
        edgelstm_version=__version__,
        model_file=layout.model_file,
        model_sha256=sha,
        source_model=str(model_path) if model_path is not None else None,
        layers=qm.describe(),
        window=frames,
        features=frame_features,
        classes=qm.n_outputs,
        class_names=model.class_names,
        streaming=plan is not None,
        streaming_reason=reason or None,
        input_scale=float(qm.input_tensor.scale),
        input_zero_point=int(qm.input_tensor.zero_point),
        output_scale=float(qm.output_tensor.scale),
        output_zero_point=int(qm.output_tensor.zero_point),
        has_normalization=qm.info.norm_mean is not None,
        float_accuracy=qm.info.float_accuracy,
        int8_accuracy=qm.info.int8_accuracy,
        weights_bytes=src.weights_bytes,
        workspace_bytes=src.workspace_bytes,
        state_fields=[StateField(name=f, type=t, count=int(c)) for f, t, c in src.state_fields],
        library_sources=layout.library_sources,
        headers=layout.headers,
        selftest=layout.selftest,
        test_vectors=TestVectors(file=layout.test_vectors_file, count=int(len(xq)), source=vec_source),
        files=files,
        target=target,
        board=layout.board,
        arduino=layout.arduino,
        include_dirs=layout.include_dirs,
        stack=model.stack,
        front_end=front_end,
    )
    # An earlier export's own files are replaced; anything else in the folder (the user's files,
    # build products) is kept.
    earlier = _earlier_files(Path(out))
    kept: list[str] = []
    try:
        with atomic_dir(out, what="output folder", carry_except=earlier, carried=kept) as tmp:
            for fname, text in layout.texts.items():
                (tmp / fname).parent.mkdir(parents=True, exist_ok=True)
                (tmp / fname).write_text(text, encoding="utf-8")
            for fname, src_path in layout.copies.items():
                (tmp / fname).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src_path, tmp / fname)
            manifest.save(tmp / MANIFEST)
    except OSError as e:
        raise EdgelstmError(f"cannot write output folder '{out}': {e.strerror or e}") from None
    return ExportResult(
        out=out, name=name, files=files, streaming=plan is not None, streaming_reason=reason,
        weights_bytes=src.weights_bytes, model_sha256=sha, window=frames, features=frame_features,
        classes=qm.n_outputs, test_vectors=int(len(xq)), test_vector_source=vec_source, manifest=manifest,
        target=target, kept=kept,
    )


FOOTPRINT = "footprint.json"  # written next to a board export by `edgelstm export-c --target cortex-*`


def _earlier_files(out: Path) -> set[str] | None:
    """Top-level names an earlier export in ``out`` wrote (None when there is none): these are
    replaced; everything else in the folder is the user's and is kept."""
    listed = listed_files(out)
    return None if listed is None else listed | {FOOTPRINT}
