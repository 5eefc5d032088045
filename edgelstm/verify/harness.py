"""The verify harness: a small C program that feeds an exported library from a binary file.

It is generated per export (it needs NAME and the state fields) into a build folder, never
into the export itself. Protocol (little-endian, written by :func:`pack_inputs`):

    input file   "ELV1", u32 mode, u32 count, u32 n_frames, u32 features, u32 every, int8 data
    mode 0 (windows)  count windows of n_frames x features. For each window the program writes
                      NAME_classify's C output bytes, its return value (one signed byte) and,
                      for a streaming model, the C bytes of NAME_reset/NAME_step.../NAME_logits.
    mode 1 (stream)   one sequence of n_frames frames, streamed through NAME_step without reset;
                      after frame t (0-based) with (t + 1) % every == 0 or t == n_frames - 1 the
                      program writes NAME_logits (C bytes); at the end every state field (int8
                      as bytes, int16 as two little-endian bytes).
    mode 2 (front end) count frames of features float32 values (little-endian) instead of int8;
                      the program writes NAME_quantize_frame's int8 values for each.

The program reads one window (or frame) at a time into a static buffer (no malloc), so the same
source runs under QEMU semihosting later.
"""

from __future__ import annotations

import struct

import numpy as np

from ..codegen.manifest import ExportManifest, StateField

MAGIC = b"ELV1"
MODE_WINDOWS = 0
MODE_STREAM = 1
MODE_FRONT_END = 2


def pack_inputs(xq: np.ndarray, mode: int = MODE_WINDOWS, every: int = 1) -> bytes:
    if mode == MODE_FRONT_END:
        x = np.ascontiguousarray(np.asarray(xq, dtype="<f4"))
        if x.ndim != 2:
            raise ValueError("front-end mode takes (frames, F) float32 values")
        return MAGIC + struct.pack("<5I", mode, x.shape[0], 1, x.shape[1], 1) + x.tobytes()
    xq = np.ascontiguousarray(np.asarray(xq, dtype=np.int8))
    if mode == MODE_STREAM:
        if xq.ndim != 2:
            raise ValueError("stream mode takes one (T, F) sequence")
        count, T, F = 1, xq.shape[0], xq.shape[1]
    else:
        if xq.ndim != 3:
            raise ValueError("windows mode takes (N, T, F) windows")
        count, T, F = xq.shape
    return MAGIC + struct.pack("<5I", mode, count, T, F, max(int(every), 1)) + xq.tobytes()


def harness_source(manifest: ExportManifest) -> str:
    name = manifest.name
    NAME = name.upper()
    streaming = manifest.streaming
    dump = []
    for f in manifest.state_fields:
        if f.name == "gate_scratch":
            continue
        if f.type == "int8_t":
            dump.append(f"        put_s8(fo, s.{f.name}, {f.count});")
        else:
            dump.append(f"        put_s16(fo, s.{f.name}, {f.count});")
    dump_code = "\n".join(dump)
    stream_window = f"""
#if {NAME}_STREAMING
        {{
            {name}_state_t s;
            uint32_t t;
            {name}_reset(&s);
            for (t = 0; t < n_frames; ++t) {{
                {name}_step(&s, window + t * {NAME}_INPUT_SIZE);
            }}
            {name}_logits(&s, out);
            put_s8(fo, out, {NAME}_NUM_CLASSES);
        }}
#endif""" if streaming else ""
    stream_mode = f"""
    if (mode == 1u) {{
#if {NAME}_STREAMING
        {name}_state_t s;
        int8_t out[{NAME}_NUM_CLASSES];
        uint32_t t;
        {name}_reset(&s);
        for (t = 0; t < n_frames; ++t) {{
            if (fread(window, 1, {NAME}_INPUT_SIZE, fi) != (size_t){NAME}_INPUT_SIZE) {{
                return fail("short input file (stream)");
            }}
            {name}_step(&s, window);
            if ((t + 1u) % every == 0u || t + 1u == n_frames) {{
                {name}_logits(&s, out);
                put_s8(fo, out, {NAME}_NUM_CLASSES);
            }}
        }}
{dump_code}
        fclose(fi);
        return fclose(fo) == 0 ? 0 : fail("cannot write output");
#else
        return fail("the model does not stream");
#endif
    }}""" if streaming else """
    if (mode == 1u) {
        return fail("the model does not stream");
    }"""
    return f"""/* edgelstm verify harness for {name} (generated; not part of the library). */
#include <stdio.h>
#include <stdint.h>

#include "{name}_model.h"

static int8_t window[{NAME}_WINDOW * {NAME}_INPUT_SIZE];

static int fail(const char *msg)
{{
    fprintf(stderr, "verify harness: %s\\n", msg);
    return 2;
}}

static uint32_t get_u32(const unsigned char *b)
{{
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}}

static void put_s8(FILE *fo, const int8_t *v, int n)
{{
    fwrite(v, 1, (size_t)n, fo);
}}

static void put_s16(FILE *fo, const int16_t *v, int n)
{{
    int k;
    for (k = 0; k < n; ++k) {{
        const uint16_t u = (uint16_t)v[k];
        fputc((int)(u & 0xFFu), fo);
        fputc((int)(u >> 8), fo);
    }}
}}

int main(int argc, char **argv)
{{
    FILE *fi;
    FILE *fo;
    unsigned char head[24];
    uint32_t mode, count, n_frames, features, every, i;
    (void)put_s16;
    if (argc != 3) {{
        return fail("usage: verify_main INPUT OUTPUT");
    }}
    fi = fopen(argv[1], "rb");
    if (fi == 0) {{
        return fail("cannot open input");
    }}
    fo = fopen(argv[2], "wb");
    if (fo == 0) {{
        return fail("cannot open output");
    }}
    if (fread(head, 1, sizeof head, fi) != sizeof head || head[0] != 'E' || head[1] != 'L' || head[2] != 'V' ||
        head[3] != '1') {{
        return fail("bad input header");
    }}
    mode = get_u32(head + 4);
    count = get_u32(head + 8);
    n_frames = get_u32(head + 12);
    features = get_u32(head + 16);
    every = get_u32(head + 20);
    if (features != (uint32_t){NAME}_INPUT_SIZE || every == 0u) {{
        return fail("input does not match the model");
    }}
    if (mode == 2u) {{
        float raw[{NAME}_INPUT_SIZE];
        int8_t q[{NAME}_INPUT_SIZE];
        for (i = 0; i < count; ++i) {{
            if (fread(raw, sizeof raw[0], {NAME}_INPUT_SIZE, fi) != (size_t){NAME}_INPUT_SIZE) {{
                return fail("short input file (front end)");
            }}
            {name}_quantize_frame(raw, q);
            put_s8(fo, q, {NAME}_INPUT_SIZE);
        }}
        fclose(fi);
        return fclose(fo) == 0 ? 0 : fail("cannot write output");
    }}{stream_mode}
    if (n_frames != (uint32_t){NAME}_WINDOW) {{
        return fail("windows must have NAME_WINDOW frames");
    }}
    for (i = 0; i < count; ++i) {{
        int8_t out[{NAME}_NUM_CLASSES];
        int8_t cls;
        if (fread(window, 1, sizeof window, fi) != sizeof window) {{
            return fail("short input file");
        }}
        cls = (int8_t){name}_classify(window, (int)n_frames, out);
        put_s8(fo, out, {NAME}_NUM_CLASSES);
        put_s8(fo, &cls, 1);{stream_window}
    }}
    fclose(fi);
    return fclose(fo) == 0 ? 0 : fail("cannot write output");
}}
"""


def unpack_windows(raw: bytes, count: int, classes: int, streaming: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(classify outputs (N, C), returned classes (N,), streaming outputs (N, C) or None)."""
    rec = classes + 1 + (classes if streaming else 0)
    if len(raw) != count * rec:
        raise ValueError(f"harness wrote {len(raw)} bytes, expected {count * rec}")
    a = np.frombuffer(raw, dtype=np.int8).reshape(count, rec)
    stream = a[:, classes + 1 :].copy() if streaming else None
    return a[:, :classes].copy(), a[:, classes].astype(np.int64), stream


def unpack_stream(raw: bytes, n_checkpoints: int, classes: int,
                  fields: list[StateField]) -> tuple[np.ndarray, dict]:
    """(logits at the checkpoints (K, C), {field: values}) of a mode-1 run."""
    n_log = n_checkpoints * classes
    logits = np.frombuffer(raw[:n_log], dtype=np.int8).reshape(n_checkpoints, classes).copy()
    pos = n_log
    state = {}
    for f in fields:
        if f.name == "gate_scratch":
            continue
        n = f.count
        if f.type == "int8_t":
            state[f.name] = np.frombuffer(raw[pos : pos + n], dtype=np.int8).copy()
            pos += n
        else:
            state[f.name] = np.frombuffer(raw[pos : pos + 2 * n], dtype="<i2").astype(np.int16)
            pos += 2 * n
    if pos != len(raw):
        raise ValueError(f"harness wrote {len(raw)} bytes, expected {pos}")
    return logits, state
