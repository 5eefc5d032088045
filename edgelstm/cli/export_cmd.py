"""`edgelstm export-c`: an int8 .tflite -> a self-contained C99 library folder."""

from __future__ import annotations

import click

from .base import Output, cli, output_options


@cli.command("export-c")
@click.argument("model", type=click.Path(dir_okay=True))
@click.option("--out", "-o", "out_dir", required=True, type=click.Path(file_okay=True, dir_okay=True),
              help="Output folder (created; an earlier export there is replaced, anything else is refused).")
@click.option("--name", default=None,
              help="C prefix of every public symbol (NAME_classify, NAME_MODEL_H, ...): a C identifier. "
              "[default: the model file's stem, or 'edgelstm']")
@click.option("--test-vectors", "n_vectors", type=click.IntRange(1, 100_000), default=300, show_default=True,
              help="Input windows (and expected outputs) stored for the self test.")
@click.option("--data", "data_path", type=click.Path(dir_okay=True), default=None,
              help="Dataset (.npz/.csv) whose test split gives the test vectors (quantised by the model); "
              "default: random int8 windows including extreme patterns.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random test vectors.")
@output_options()
def export_c_cmd(model: str, out_dir: str, name: str | None, n_vectors: int, data_path: str | None, seed: int,
                 out: Output) -> None:
    """Write MODEL (an int8 .tflite) as a portable C99 library into --out.

    \b
    The folder holds NAME_model.h/.c (weights as const arrays, multipliers and shifts, the API),
    the static runtime (fixed-point primitives, LSTM step, fully connected, softmax), test vectors
    with the simulator's expected outputs, a self test, a Makefile and a CMakeLists.txt. No malloc,
    no floating point in the inference path, bit-exact with `edgelstm simulate` and TFLite Micro.

    \b
    API (NAME_model.h): NAME_reset / NAME_step / NAME_logits (streaming, one frame at a time, for
    unidirectional models), NAME_classify (whole window), NAME_quantize_feature (float front end).

    \b
    Then:  cd OUT && make test          (host self test: "N passed, 0 failed")
           edgelstm verify OUT --data radar.npz
    """
    from ..codegen import export_c

    res = export_c(model, out_dir, name=name, n_vectors=n_vectors, data_path=data_path, seed=seed, note=out.note)
    kb = res.weights_bytes / 1024
    out.result(f"wrote {res.out}/: {len(res.files)} files, C prefix '{res.name}'")
    out.result(f"  model: {res.window} frames x {res.features} features -> {res.classes} outputs "
               f"(sha256 {res.model_sha256[:12]}...)")
    out.result(f"  weights: {res.weights_bytes} bytes of const data (flash, {kb:.1f} KiB)")
    if res.streaming:
        out.result(f"  streaming: yes ({res.name}_reset / {res.name}_step / {res.name}_logits, and {res.name}_classify)")
    else:
        out.result(f"  streaming: no, {res.streaming_reason}; whole-window {res.name}_classify only")
    out.result(f"  self test: {res.test_vectors} vectors ({res.test_vector_source}); run: make -C {res.out} test")
    out.emit_json(res.to_json())
