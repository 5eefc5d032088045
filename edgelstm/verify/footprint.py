"""Flash, RAM and instruction counts of an exported model on a Cortex-M core.

How every number is measured (docs/boards.md says the same for users):

- **Flash** comes from the linker map of a minimal program (firmware_templates/boards/common/
  edgelstm_board_footprint.c) that calls the integer API (NAME_reset / NAME_step / NAME_logits
  and NAME_classify; NAME_classify_ws for whole-window models), linked with
  ``-ffunction-sections -fdata-sections -Wl,--gc-sections``: every input section the linker kept
  is attributed to the object it came from.

    flash_weights_bytes   .rodata/.data of NAME_model.o: weights, biases, parameter tables
    flash_code_bytes      .text of NAME_model.o and of the runtime (edgelstm_*.o), the runtime's
                          constant tables (the 512-byte sigmoid table), and the libgcc / libc
                          routines the library calls (64-bit multiply on Cortex-M0, memset, ...)
    flash_front_end_bytes what NAME_quantize_frame (float front end, soft-float on Cortex-M0)
                          adds when it is used (a second link)

  ``arm-none-eabi-size`` of the same program gives the whole-firmware totals (``size_elf``).

- **RAM** is what the caller provides plus the deepest stack:

    ram_state_bytes       the recurrent state kept between frames (NAME_state_t without its
                          gate work buffer; 0 for whole-window models)
    ram_scratch_bytes     work buffers: the state's gate_scratch, or NAME_workspace_t of a
                          whole-window model (the sizes are the objects' sizes in the map)
    ram_stack_bytes       worst-case stack of the streaming API (max of NAME_reset, NAME_step,
                          NAME_logits) or of NAME_classify_ws, from the compiler's own frame
                          sizes (-fstack-usage, as -fcallgraph-info=su) summed along the
                          deepest path of the static call graph; a libgcc / libc routine
                          (no .su of its own) counts EXTERNAL_STACK_BOUND bytes
    ram_static_bytes      .data + .bss of the library objects (0: the library has no globals)
    ram_bytes             the sum of the four

  QEMU cross-checks the static stack: the verify firmware paints the stack and reports what each
  API call really touched (``ram_stack_measured_bytes``), never more than the static bound.

- **Instructions** are counted in QEMU with ``-icount shift=0`` (virtual time advances 1 ns per
  executed instruction) by reading SysTick (processor clock) around the calls on the board:
  ``instructions = ticks * 1e9 / SysTick Hz``, checked on every run against a loop of known
  length. ``instructions_per_frame`` is NAME_step averaged over every frame of the windows run
  (NAME_classify / frames for whole-window models), ``instructions_per_window`` is NAME_classify,
  ``instructions_per_mac`` divides by ``macs_per_frame`` (QuantModel.macs_per_frame(): the
  recurrent layers' input + recurrent multiply-accumulates per frame). The resolution is one
  tick (40 instructions on the AN386, 62.5 on the micro:bit, 50 on the AN505) per measured
  interval, i.e. under one instruction per frame.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .toolchain import elf_size

# Stack counted for a libgcc / newlib routine the library calls (their objects have no .su):
# they are leaves that push at most a few registers (e.g. __aeabi_lmul, memset: <= 24 bytes).
EXTERNAL_STACK_BOUND = 32

FLASH_OUTPUT_SECTIONS = (".isr_vector", ".text", ".rodata", ".ARM.extab", ".ARM.exidx", ".data")
RAM_OUTPUT_SECTIONS = (".data", ".bss")


@dataclass
class MapSection:
    output: str      # output section (.text, .rodata, .data, .bss, ...)
    name: str        # input section (.text.radar_step, *fill*, ...)
    size: int
    origin: str      # object file, archive(member), or "" for fill


_OUT_RE = re.compile(r"^(\.[\w.]+)\s+0x[0-9a-fA-F]+\s+0x([0-9a-fA-F]+)")
_OUT_NAME_ONLY = re.compile(r"^(\.[\w.]+)\s*$")
_IN_RE = re.compile(r"^ (\S+)\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)\s*(.*)$")
_IN_NAME_ONLY = re.compile(r"^ (\S+)\s*$")
_IN_CONT = re.compile(r"^\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)\s+(\S.*)$")
_FILL_RE = re.compile(r"^ \*fill\*\s+0x[0-9a-fA-F]+\s+0x([0-9a-fA-F]+)")


def parse_map(text: str) -> list[MapSection]:
    """Input sections of a GNU ld map file (the part after "Linker script and memory map")."""
    i = text.find("Linker script and memory map")
    lines = text[i:].splitlines() if i >= 0 else text.splitlines()
    out: list[MapSection] = []
    current = ""
    pending: str | None = None
    for ln in lines:
        if not ln.strip():
            continue
        if not ln.startswith(" "):
            m = _OUT_RE.match(ln) or _OUT_NAME_ONLY.match(ln)
            current = m.group(1) if m else ""
            pending = None
            continue
        m = _FILL_RE.match(ln)
        if m:
            out.append(MapSection(current, "*fill*", int(m.group(1), 16), ""))
            pending = None
            continue
        if pending is not None:
            m = _IN_CONT.match(ln)
            if m:
                out.append(MapSection(current, pending, int(m.group(2), 16), m.group(3).strip()))
            pending = None
            continue
        m = _IN_RE.match(ln)
        if m and not m.group(1).startswith("*") and m.group(4) and not m.group(4).startswith("0x"):
            out.append(MapSection(current, m.group(1), int(m.group(3), 16), m.group(4).strip()))
            continue
        m = _IN_NAME_ONLY.match(ln)
        if m and m.group(1).startswith(".") and not m.group(1).startswith("*("):
            pending = m.group(1)
    return out


def _is_archive_member(origin: str) -> bool:
    return "(" in origin and origin.endswith(")")


@dataclass
class FlashSplit:
    weights: int = 0           # model data (.rodata/.data of NAME_model.o)
    model_code: int = 0        # .text of NAME_model.o
    runtime_code: int = 0      # .text of edgelstm_*.o
    runtime_tables: int = 0    # .rodata of edgelstm_*.o (sigmoid table)
    support: int = 0           # libgcc / libc members
    library_ram: int = 0       # .data + .bss of library objects
    support_members: list[str] = field(default_factory=list)
    by_object: dict[str, int] = field(default_factory=dict)

    @property
    def code(self) -> int:
        return self.model_code + self.runtime_code + self.runtime_tables + self.support

    @property
    def total(self) -> int:
        return self.weights + self.code


def split_flash(sections: list[MapSection], model_object: str, library_objects: set[str]) -> FlashSplit:
    """Attribute the kept input sections of a link to weights / code / support.

    ``model_object`` and ``library_objects`` are object file names (NAME_model.o, edgelstm_*.o);
    archive members (libgcc.a(x.o), libc_nano.a(y.o)) count as support code of the library (the
    footprint program itself calls none). Alignment fill goes with the section before it.
    """
    fs = FlashSplit()
    last = None
    for s in sections:
        if s.output not in FLASH_OUTPUT_SECTIONS and s.output not in RAM_OUTPUT_SECTIONS:
            continue
        if s.name == "*fill*":
            cat = last
            size = s.size
        else:
            base = Path(s.origin.split("(")[0]).name if not _is_archive_member(s.origin) else ""
            if _is_archive_member(s.origin):
                cat = "support"
                member = s.origin[s.origin.rfind("(") + 1 : -1]
                lib = Path(s.origin[: s.origin.rfind("(")]).name
                if s.size and f"{lib}({member})" not in fs.support_members:
                    fs.support_members.append(f"{lib}({member})")
            elif base == model_object:
                cat = "model_text" if s.output == ".text" else "model_data"
            elif base in library_objects:
                cat = "runtime_text" if s.output == ".text" else "runtime_data"
            else:
                cat = None
            size = s.size
            if cat is not None and s.size:
                key = base or s.origin
                fs.by_object[key] = fs.by_object.get(key, 0) + s.size
        last = cat
        if cat is None or not size:
            continue
        if s.output == ".bss":
            if cat in ("model_data", "runtime_data", "model_text", "runtime_text"):
                fs.library_ram += size
            continue
        if s.output == ".data" and cat in ("model_data", "runtime_data"):
            fs.library_ram += size
        if cat == "model_data":
            fs.weights += size
        elif cat == "model_text":
            fs.model_code += size
        elif cat == "runtime_text":
            fs.runtime_code += size
        elif cat == "runtime_data":
            fs.runtime_tables += size
        elif cat == "support":
            fs.support += size
    return fs


def symbol_size(sections: list[MapSection], section_name: str) -> int | None:
    """Size of one input section (e.g. ".bss.eb_state": sizeof the object) or None."""
    for s in sections:
        if s.name == section_name:
            return s.size
    return None


# ----------------------------------------------------------------------------- call graph


@dataclass
class CallGraph:
    frames: dict[str, int] = field(default_factory=dict)       # function -> own frame (bytes)
    qualifiers: dict[str, str] = field(default_factory=dict)   # static / dynamic / dynamic,bounded
    edges: dict[str, set[str]] = field(default_factory=dict)

    def add_ci(self, text: str) -> None:
        for m in re.finditer(r'node: \{ title: "([^"]+)" label: "([^"]*)"', text):
            title, label = m.group(1), m.group(2)
            sm = re.search(r"(\d+) bytes \(([\w,]+)\)", label)
            if sm:
                self.frames[title] = int(sm.group(1))
                self.qualifiers[title] = sm.group(2)
        for m in re.finditer(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"', text):
            self.edges.setdefault(m.group(1), set()).add(m.group(2))

    def worst(self, fn: str) -> tuple[int | None, list[str], set[str]]:
        """(worst-case stack of fn in bytes or None if unbounded, deepest path, external callees)."""
        externals: set[str] = set()
        memo: dict[str, tuple[int | None, list[str]]] = {}

        def visit(f: str, stack: tuple[str, ...]) -> tuple[int | None, list[str]]:
            if f in stack:
                return None, [*stack, f]  # recursion: no static bound
            if f in memo:
                return memo[f]
            if f not in self.frames:
                externals.add(f)
                res: tuple[int | None, list[str]] = (EXTERNAL_STACK_BOUND, [f])
                memo[f] = res
                return res
            own = self.frames[f]
            if self.qualifiers.get(f, "static") == "dynamic":
                memo[f] = (None, [f])
                return memo[f]
            best, path = 0, []
            for c in sorted(self.edges.get(f, ())):
                v, p = visit(c, (*stack, f))
                if v is None:
                    memo[f] = (None, [f, *p])
                    return memo[f]
                if v > best:
                    best, path = v, p
            memo[f] = (own + best, [f, *path])
            return memo[f]

        total, path = visit(fn, ())
        return total, path, externals


def load_callgraph(ci_files: list[Path]) -> CallGraph:
    g = CallGraph()
    for p in ci_files:
        g.add_ci(p.read_text(encoding="utf-8", errors="replace"))
    return g


def parse_measure(text: str) -> dict[str, int]:
    """measure.txt of the verify firmware: "key value" lines."""
    out: dict[str, int] = {}
    for ln in text.splitlines():
        parts = ln.split()
        if len(parts) == 2 and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    return out


def instructions_from_measure(m: dict[str, int], instructions_per_tick: float, frames: int) -> dict:
    """Instruction counts from the SysTick ticks of measure.txt (see the module docstring)."""
    res: dict = {"measured_windows": int(m.get("classify_ticks_count", 0))}
    n = m.get("classify_ticks_count", 0)
    cal_i, cal_t = m.get("calibration_instructions", 0), m.get("calibration_ticks", 0)
    if cal_i and cal_t:
        res["calibration_instructions_per_tick"] = round(cal_i / cal_t, 3)
        # one tick of resolution at either end of the calibration interval
        res["calibration_ok"] = abs(cal_t * instructions_per_tick - cal_i) <= 2 * instructions_per_tick + 0.002 * cal_i
    else:
        res["calibration_ok"] = False
    if not n:
        return res
    ipt = instructions_per_tick
    per_window = m["classify_ticks_sum"] / n * ipt
    res["instructions_per_window"] = int(round(per_window))
    res["instructions_per_window_min"] = int(round(m["classify_ticks_min"] * ipt))
    res["instructions_per_window_max"] = int(round(m["classify_ticks_max"] * ipt))
    if m.get("streaming") and m.get("steps_ticks_count"):
        steps = m["steps_ticks_count"] * frames
        res["instructions_per_frame"] = round(m["steps_ticks_sum"] / steps * ipt, 1)
        res["instructions_logits"] = int(round(m["logits_ticks_sum"] / m["logits_ticks_count"] * ipt))
        res["instructions_reset"] = int(round(m["reset_ticks_sum"] / m["reset_ticks_count"] * ipt))
    else:
        res["instructions_per_frame"] = round(per_window / max(frames, 1), 1)
    stacks = {k[len("stack_"):]: v for k, v in m.items() if k.startswith("stack_") and v}
    if stacks:
        res["ram_stack_measured_bytes"] = stacks
    return res


# ------------------------------------------------------------------------------- the report


def footprint_report(build, *, macs_per_frame: int | None = None, macs_head: int | None = None,
                     measure: dict | None = None) -> dict[str, Any]:
    """The footprint of a :class:`~edgelstm.verify.qemu_build.QemuBuild`'s library on its core
    (the module docstring says how each number is measured)."""
    m = build.manifest
    name = m.name
    model_obj = f"{Path(m.library_sources[0]).stem}.o"
    lib_names = {p.name for p in build.library_objects}
    runtime_names = lib_names - {model_obj}
    secs = parse_map(build.footprint_elf.with_suffix(".map").read_text(errors="replace"))
    split = split_flash(secs, model_obj, runtime_names)
    secs_fe = parse_map(build.footprint_front_elf.with_suffix(".map").read_text(errors="replace"))
    split_fe = split_flash(secs_fe, model_obj, runtime_names)

    graph = load_callgraph(sorted(build.build_dir.glob("obj/*.ci")))
    streaming = m.streaming
    api = [f"{name}_reset", f"{name}_step", f"{name}_logits"] if streaming else [f"{name}_classify_ws"]
    stacks: dict[str, int | None] = {}
    paths: dict[str, list[str]] = {}
    externals: set[str] = set()
    for fn in [*api, f"{name}_classify"]:
        v, path, ext = graph.worst(fn)
        stacks[fn] = v
        paths[fn] = path
        externals |= ext
    api_stacks = [stacks[f] for f in api]
    stack = None if any(v is None for v in api_stacks) else max(api_stacks)

    if streaming:
        state_size = symbol_size(secs, ".bss.eb_state")
        scratch = sum(f.count * (1 if f.type == "int8_t" else 2) for f in m.state_fields if f.name == "gate_scratch")
        if state_size is None:
            state_size = sum(f.count * (1 if f.type == "int8_t" else 2) for f in m.state_fields)
        state = state_size - scratch
    else:
        ws = symbol_size(secs, ".bss.eb_workspace")
        scratch = int(ws if ws is not None else m.workspace_bytes or 0)
        state = 0
    ram = None if stack is None else state + scratch + stack + split.library_ram

    rep: dict[str, Any] = {
        "core": build.board.core,
        "board": build.board.board,
        "qemu_machine": build.board.qemu_machine,
        "compiler": build.compiler_version,
        "opt": build.opt,
        "cpu_flags": list(build.board.cpu_flags),
        "flash_bytes": split.total,
        "flash_weights_bytes": split.weights,
        "flash_code_bytes": split.code,
        "flash_code_detail": {"model_text": split.model_code, "runtime_text": split.runtime_code,
                              "runtime_tables": split.runtime_tables, "support_routines": split.support},
        "support_routines": split.support_members,
        "flash_front_end_bytes": max(split_fe.total - split.total, 0),
        "ram_bytes": ram,
        "ram_state_bytes": state,
        "ram_scratch_bytes": scratch,
        "ram_stack_bytes": stack,
        "ram_static_bytes": split.library_ram,
        "stack_by_function": stacks,
        "stack_deepest_path": paths[api[int(np.argmax([v or 0 for v in api_stacks]))]] if api else [],
        "stack_external_bound": {"functions": sorted(externals), "bytes_each": EXTERNAL_STACK_BOUND},
        "weights_bytes_declared": m.weights_bytes,
        "size_elf": elf_size(build.footprint_elf, build.board.cross_prefix + "size"),
        "macs_per_frame": macs_per_frame,
        "macs_head": macs_head,
    }
    for k in ("instructions_per_frame", "instructions_per_window", "instructions_per_window_min",
              "instructions_per_window_max", "instructions_logits", "instructions_reset", "measured_windows",
              "ram_stack_measured_bytes"):
        rep[k] = (measure or {}).get(k)
    measured = rep["ram_stack_measured_bytes"] or {}
    api_keys = ("reset", "step", "logits") if streaming else ("classify_ws",)
    api_measured = [measured[k] for k in api_keys if k in measured]
    rep["ram_stack_measured_api_bytes"] = max(api_measured) if api_measured else None
    ipf = rep["instructions_per_frame"]
    rep["instructions_per_mac"] = round(ipf / macs_per_frame, 3) if ipf and macs_per_frame else None
    return rep
