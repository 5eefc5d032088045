"""Where an export runs: the host (today's library folder), a Cortex-M board, or Arduino.

``edgelstm export-c --target`` chooses the layout of the folder; ``edgelstm verify --target
qemu-...`` chooses the core the library is cross-compiled for and the QEMU machine it runs on.
Both use the :data:`BOARDS` table below, the single place that knows a core's compiler flags,
its QEMU machine, its SysTick clock and its memory.

    target       board (firmware_templates/boards/)   qemu-system-arm -M   SysTick clock in QEMU
    cortex-m4    mps2-an386  (Cortex-M4F)             mps2-an386           25 MHz
    cortex-m0    microbit    (nRF51822, Cortex-M0)    microbit             16 MHz
    cortex-m33   mps2-an505  (Cortex-M33)             mps2-an505           20 MHz
    cortex-m55   mps3-an547  (Cortex-M55, Helium)     mps3-an547           32 MHz

The SysTick clocks are those QEMU 7.2 gives the machines (mps2.c SYSCLK_FRQ, nrf51_soc.c
HCLK_FRQ, mps2-tz.c sysclk_frq); the board firmware checks them on every run with a loop of
known length (``eb_spin``), and edgelstm/verify/qemu.py refuses measurements that disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import EdgelstmError
from .manifest import ArduinoEntry, BoardEntry
from .project import cmake_library
from .templates import arduino_dir, boards_dir, cmake_dir

HOST = "host"
ARDUINO = "arduino"


@dataclass(frozen=True)
class Board:
    """A Cortex-M core, the board template it runs on and the QEMU machine that emulates it."""

    core: str                 # "cortex-m4": the export-c target name
    board: str                # template folder under firmware_templates/boards/
    title: str
    qemu_machine: str
    cpu_flags: tuple[str, ...]
    systick_hz: int           # SysTick clock (CLKSOURCE = processor) in QEMU
    flash_bytes: int
    ram_bytes: int
    vector_budget_bytes: int  # default room for compiled-in test vectors
    # The toolchain, the emulator and the board layer; the defaults are the Cortex-M boards'
    # (arm-none-eabi-gcc + newlib nano, qemu-system-arm, boards/common/ as it is).
    arch: str = "arm"                          # CMAKE_SYSTEM_PROCESSOR family: "arm" | "riscv"
    cross_prefix: str = "arm-none-eabi-"       # <prefix>gcc, <prefix>size, <prefix>objdump
    qemu_system: str = "qemu-system-arm"
    qemu_extra: tuple[str, ...] = ()           # QEMU options after -M (e.g. -bios none)
    libc_flags: tuple[str, ...] = ()           # compile and link (e.g. --specs=picolibc.specs)
    link_flags: tuple[str, ...] = ("-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections")
    board_files: tuple[str, ...] = ()          # files of boards/<board>/ that replace boards/common/'s
    tick_counter: str = "SysTick"              # what EB_SYSTICK_HZ counts (ticks * 1e9 / Hz = instructions)

    @property
    def qemu_target(self) -> str:
        return f"qemu-{self.core}"

    @property
    def instructions_per_tick(self) -> float:
        """Instructions per SysTick tick under ``-icount shift=0`` (1 ns per instruction)."""
        return 1e9 / self.systick_hz


BOARDS: dict[str, Board] = {
    "cortex-m4": Board(
        core="cortex-m4", board="mps2-an386", title="Arm MPS2+ AN386 (Cortex-M4F)", qemu_machine="mps2-an386",
        cpu_flags=("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"),
        systick_hz=25_000_000, flash_bytes=4 << 20, ram_bytes=4 << 20, vector_budget_bytes=64 << 10,
    ),
    "cortex-m0": Board(
        core="cortex-m0", board="microbit", title="BBC micro:bit v1, nRF51822 (Cortex-M0)", qemu_machine="microbit",
        cpu_flags=("-mcpu=cortex-m0", "-mthumb", "-mfloat-abi=soft"),
        systick_hz=16_000_000, flash_bytes=256 << 10, ram_bytes=16 << 10, vector_budget_bytes=16 << 10,
    ),
    "cortex-m33": Board(
        core="cortex-m33", board="mps2-an505", title="Arm MPS2+ AN505 (Cortex-M33)", qemu_machine="mps2-an505",
        cpu_flags=("-mcpu=cortex-m33", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"),
        systick_hz=20_000_000, flash_bytes=4 << 20, ram_bytes=4 << 20, vector_budget_bytes=64 << 10,
    ),
    # Helium (MVE): __ARM_FEATURE_MVE selects EDGELSTM_PATH_MVE (runtime edgelstm_config.h).
    # QEMU 7.2 mps2-tz.c: sysclk 32 MHz; code in the 512 KB ITCM (boots there), data in the DTCM.
    "cortex-m55": Board(
        core="cortex-m55", board="mps3-an547", title="Arm MPS3 AN547 (Cortex-M55, Helium)", qemu_machine="mps3-an547",
        cpu_flags=("-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard", "-mfpu=auto"),
        systick_hz=32_000_000, flash_bytes=512 << 10, ram_bytes=512 << 10, vector_budget_bytes=64 << 10,
    ),
    # rv32imc / ilp32 (the ESP32-C3 class of cores). The Debian toolchain's 32-bit picolibc is
    # built for rv32im(a)c / ilp32, which links with rv32imc code. The tick counter is minstret:
    # under -icount shift=0 it counts executed instructions, 1e9 "Hz" makes ticks = instructions.
    "riscv32": Board(
        core="riscv32", board="riscv32-virt", title="QEMU virt (RISC-V rv32imc)", qemu_machine="virt",
        cpu_flags=("-march=rv32imc", "-mabi=ilp32"),
        systick_hz=1_000_000_000, flash_bytes=4 << 20, ram_bytes=384 << 10, vector_budget_bytes=64 << 10,
        arch="riscv", cross_prefix="riscv64-unknown-elf-", qemu_system="qemu-system-riscv32",
        qemu_extra=("-bios", "none"), libc_flags=("--specs=picolibc.specs",),
        link_flags=("-nostartfiles", "-Wl,--gc-sections"),
        board_files=("edgelstm_board.h", "edgelstm_board.c", "edgelstm_startup.c"), tick_counter="minstret",
    ),
}

EXPORT_TARGETS = (HOST, "cortex-m4", "cortex-m0", "cortex-m33", "cortex-m55", "riscv32", ARDUINO)
QEMU_TARGETS = tuple(b.qemu_target for b in BOARDS.values())

# The board layer shipped with every Cortex-M export (firmware_templates/boards/common/).
BOARD_COMMON_FILES = ("edgelstm_board.h", "edgelstm_board.c", "edgelstm_startup.c", "edgelstm_board_selftest.c",
                      "edgelstm_board_verify.c")
BOARD_MODEL_HEADER = "edgelstm_board_model.h"


def board_for(target: str) -> Board:
    """The Board of ``cortex-m4`` or ``qemu-cortex-m4`` (one-line error otherwise)."""
    core = target[len("qemu-"):] if target.startswith("qemu-") else target
    if core not in BOARDS:
        raise EdgelstmError(f"unknown Cortex-M target '{target}'",
                            f"use one of: {', '.join(BOARDS)} (export-c) or {', '.join(QEMU_TARGETS)} (verify)")
    return BOARDS[core]


def check_target(target: str) -> str:
    if target not in EXPORT_TARGETS:
        raise EdgelstmError(f"unknown --target '{target}'", f"use one of: {', '.join(EXPORT_TARGETS)}")
    return target


def default_test_vectors(target: str, window: int, features: int, classes: int, host_default: int) -> int:
    """Compiled-in test vectors by default: ``host_default`` on the host, what fits a small
    share of the board's flash on a Cortex-M (the full data goes through `edgelstm verify`)."""
    if target in BOARDS:
        per = window * features + classes
        return int(max(1, min(host_default, BOARDS[target].vector_budget_bytes // max(per, 1))))
    if target == ARDUINO:
        per = window * features + classes
        return int(max(1, min(host_default, BOARDS["cortex-m0"].vector_budget_bytes // max(per, 1))))
    return host_default


def check_vectors_fit(target: str, n: int, window: int, features: int, classes: int, weights_bytes: int) -> None:
    """Refuse --test-vectors that cannot fit the board's flash next to the model."""
    if target not in BOARDS:
        return
    b = BOARDS[target]
    need = n * (window * features + classes) + weights_bytes + (32 << 10)
    if need > b.flash_bytes:
        per = window * features + classes
        fit = max((b.flash_bytes - weights_bytes - (32 << 10)) // per, 0)
        raise EdgelstmError(
            f"{n} test vectors ({n * per} bytes) do not fit the {b.flash_bytes >> 10} KB flash of the {b.title} "
            f"next to {weights_bytes} bytes of weights",
            f"use --test-vectors {fit} or fewer; 'edgelstm verify --target {b.qemu_target} --data ...' streams any "
            "number of windows from a file instead",
        )


# ----------------------------------------------------------------------------------- text


def board_model_header(name: str, version: str) -> str:
    """edgelstm_board_model.h: the names the static board templates use for this model."""
    NAME = name.upper()
    return f"""/*
 * {BOARD_MODEL_HEADER} - generated by edgelstm {version} (edgelstm export-c). Do not edit.
 *
 * The static board templates (edgelstm_board_selftest.c, edgelstm_board_verify.c) call the
 * model through these names, so they are the same files for every model.
 */
#ifndef EDGELSTM_BOARD_MODEL_H
#define EDGELSTM_BOARD_MODEL_H

#include "{name}_model.h"

#define EB_MODEL_NAME "{name}"
#define EB_MODEL_INPUT_SIZE {NAME}_INPUT_SIZE
#define EB_MODEL_NUM_CLASSES {NAME}_NUM_CLASSES
#define EB_MODEL_WINDOW {NAME}_WINDOW
#define EB_MODEL_STREAMING {NAME}_STREAMING
#define eb_model_classify {name}_classify
#define eb_model_quantize_frame {name}_quantize_frame
#if {NAME}_STREAMING
#define eb_model_state_t {name}_state_t
#define eb_model_reset {name}_reset
#define eb_model_step {name}_step
#define eb_model_logits {name}_logits
#else
#define eb_model_workspace_t {name}_workspace_t
#define eb_model_classify_ws {name}_classify_ws
#endif

/* Test vectors (edgelstm_board_selftest.c only). */
#define EB_MODEL_TEST_VECTORS "{name}_test_vectors.h"
#define EB_MODEL_TV_COUNT {NAME}_TV_COUNT
#define EB_MODEL_TV_FRAMES {NAME}_TV_FRAMES
#define eb_model_tv_inputs {name}_tv_inputs
#define eb_model_tv_expected {name}_tv_expected

#endif /* EDGELSTM_BOARD_MODEL_H */
"""


def _qemu_cmd(b: Board, elf: str) -> str:
    return (f"$(QEMU) -M {' '.join((b.qemu_machine, *b.qemu_extra))} -nographic -monitor none -serial none "
            f"-semihosting-config enable=on,target=native -icount shift=0,sleep=off -kernel {elf}")


def firmware_makefile(name: str, lib_sources: list[str], headers: list[str], b: Board, version: str) -> str:
    srcs = " \\\n    ".join(lib_sources)
    hdrs = " \\\n    ".join(headers)
    cpu = " ".join((*b.cpu_flags, *b.libc_flags))
    other_cross = "/opt/gcc-arm/bin/arm-none-eabi-" if b.arch == "arm" else "/opt/riscv/bin/riscv32-esp-elf-"
    return f"""# Generated by edgelstm {version} (edgelstm export-c --target {b.core}): the {name} int8 model as a
# C99 library plus a bare-metal self test for the {b.title}.
#
#   make              build/{name}_firmware.elf (library + board/ self test) and build/lib{name}.a
#   make test         run the self test under QEMU ({b.qemu_system} -M {b.qemu_machine}, semihosting):
#                     "N passed, M failed" and the instructions per frame and per window
#   make size         flash and RAM of the firmware ({b.cross_prefix}size)
#   make host-test    the host self test ({name}_selftest.c) with the host compiler
#   make OPT=-Os      another optimisation level;  make CROSS={other_cross}  another toolchain
#   make clean
#
# On a real {b.core} board: link build/lib{name}.a (or the .c files) into your firmware, or flash
# build/{name}_firmware.elf with a debugger that has semihosting on (see docs/boards.md).

CROSS   ?= {b.cross_prefix}
CC      = $(CROSS)gcc
AR      = $(CROSS)ar
SIZE    = $(CROSS)size
QEMU    ?= {b.qemu_system}
HOSTCC  ?= cc
CPU     ?= {cpu}
OPT     ?= -O2
CFLAGS  ?= -std=c99 $(OPT) -Wall -Wextra -Wpedantic -ffunction-sections -fdata-sections
LDFLAGS ?= {' '.join(b.link_flags)}
BUILD   ?= build

LIB_SRCS := \\
    {srcs}
LIB_HDRS := \\
    {hdrs}
BOARD_SRCS := board/edgelstm_startup.c board/edgelstm_board.c board/edgelstm_board_selftest.c
BOARD_HDRS := board/edgelstm_board.h board/{BOARD_MODEL_HEADER}

LIB_OBJS   := $(addprefix $(BUILD)/,$(LIB_SRCS:.c=.o))
BOARD_OBJS := $(addprefix $(BUILD)/,$(BOARD_SRCS:.c=.o))
ELF        := $(BUILD)/{name}_firmware.elf
LIB        := $(BUILD)/lib{name}.a

.PHONY: all lib test run size host-test clean

all: $(ELF) $(LIB)

lib: $(LIB)

$(BUILD)/%.o: %.c $(LIB_HDRS) $(BOARD_HDRS)
\t@mkdir -p $(dir $@)
\t$(CC) $(CPU) $(CFLAGS) -DEB_SYSTICK_HZ={b.systick_hz} -I. -Iboard -c $< -o $@

$(LIB): $(LIB_OBJS)
\t$(AR) rcs $@ $(LIB_OBJS)

$(ELF): $(LIB_OBJS) $(BOARD_OBJS) board/linker.ld
\t$(CC) $(CPU) $(CFLAGS) $(LDFLAGS) -T board/linker.ld -Wl,-Map=$(BUILD)/{name}_firmware.map -o $@ $(BOARD_OBJS) $(LIB_OBJS)
\t$(SIZE) $@

test run: $(ELF)
\t{_qemu_cmd(b, '$(ELF)')}

size: $(ELF)
\t$(SIZE) -A $(ELF)

host-test:
\t@mkdir -p $(BUILD)/host
\t$(HOSTCC) -std=c99 -O2 -Wall -Wextra -I. -o $(BUILD)/host/{name}_selftest $(LIB_SRCS) {name}_selftest.c
\t$(BUILD)/host/{name}_selftest

clean:
\trm -rf $(BUILD)
"""


def firmware_cmakelists(name: str, lib_sources: list[str], b: Board, version: str) -> str:
    NAME = name.upper()
    cpu = " ".join((*b.cpu_flags, *b.libc_flags))
    if b.arch == "arm":
        cross_how = (f"#   {b.core}:   cmake -S . -B build-arm -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake "
                     f"-DEDGELSTM_CPU={b.core}\n"
                     f"#                cmake --build build-arm          (-> {name}_firmware.elf; run it with 'make test')")
        link_opts = "-nostartfiles --specs=nano.specs -Wl,--gc-sections"
        flags_use = "used by cmake/arm-none-eabi.cmake"
    else:  # no toolchain file shipped: any CMake toolchain file for {b.cross_prefix}gcc with these flags
        cross_how = (f"#   {b.core}:   cmake -S . -B build-{b.arch} -DCMAKE_SYSTEM_NAME=Generic "
                     f"-DCMAKE_SYSTEM_PROCESSOR={b.arch} -DCMAKE_C_COMPILER={b.cross_prefix}gcc \\\n"
                     f"#                -DCMAKE_TRY_COMPILE_TARGET_TYPE=STATIC_LIBRARY \"-DCMAKE_C_FLAGS={cpu}\"\n"
                     f"#                cmake --build build-{b.arch}        (-> {name}_firmware.elf; run it with 'make test')")
        link_opts = " ".join(b.link_flags)
        flags_use = "give them in CMAKE_C_FLAGS"
    return f"""# Generated by edgelstm {version} (edgelstm export-c --target {b.core}): the {name} int8 model as a
# C99 library, plus the bare-metal self test when cross-compiling.
#
#   host:        cmake -S . -B build && cmake --build build && ctest --test-dir build
{cross_how}
#   your project: add_subdirectory(<this folder>) and link the target `{name}`;
#   Zephyr:      list this folder in ZEPHYR_EXTRA_MODULES (zephyr/module.yml, CONFIG_EDGELSTM_MODEL=y).
{cmake_library(name, lib_sources)}
if(CMAKE_CROSSCOMPILING AND CMAKE_SYSTEM_PROCESSOR MATCHES "{b.arch}")
    # Bare-metal self test for the {b.title} (board/): startup, semihosting, {b.tick_counter}.
    option({NAME}_BUILD_FIRMWARE "Build the {name} bare-metal self test" ON)
    if({NAME}_BUILD_FIRMWARE)
        add_executable({name}_firmware.elf
            board/edgelstm_startup.c
            board/edgelstm_board.c
            board/edgelstm_board_selftest.c
        )
        target_include_directories({name}_firmware.elf PRIVATE board)
        target_compile_definitions({name}_firmware.elf PRIVATE EB_SYSTICK_HZ={b.systick_hz})
        target_link_libraries({name}_firmware.elf PRIVATE {name})
        set_target_properties({name}_firmware.elf PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
        target_link_options({name}_firmware.elf PRIVATE {link_opts}
            -T${{CMAKE_CURRENT_SOURCE_DIR}}/board/linker.ld -Wl,-Map=${{CMAKE_CURRENT_BINARY_DIR}}/{name}_firmware.map)
    endif()
else()
    option({NAME}_BUILD_SELFTEST "Build the {name} host self test" ON)
    if({NAME}_BUILD_SELFTEST)
        add_executable({name}_selftest {name}_selftest.c)
        target_link_libraries({name}_selftest PRIVATE {name})
        set_target_properties({name}_selftest PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
        enable_testing()
        add_test(NAME {name}_selftest COMMAND {name}_selftest)
    endif()
endif()
# CPU flags of this export's core, {flags_use}: {cpu}
"""


def arduino_makefile(name: str, lib_sources: list[str], version: str) -> str:
    srcs = " \\\n    ".join(lib_sources)
    return f"""# Generated by edgelstm {version} (edgelstm export-c --target arduino).
#
# The Arduino IDE / arduino-cli only compiles src/; this Makefile runs the host self test
# (extras/{name}_selftest.c) on this computer:   make test
CC      ?= cc
CFLAGS  ?= -std=c99 -O2 -Wall -Wextra -Wpedantic

LIB_SRCS := \\
    {srcs}

.PHONY: test clean
test: extras/{name}_selftest
\t./extras/{name}_selftest

extras/{name}_selftest: $(LIB_SRCS) extras/{name}_selftest.c extras/{name}_test_vectors.h
\t$(CC) $(CFLAGS) -Isrc -o $@ $(LIB_SRCS) extras/{name}_selftest.c

clean:
\trm -f extras/{name}_selftest
"""


def substitute(text: str, name: str, version: str, **extra: str) -> str:
    """Fill the @NAME@ / @NAME_UPPER@ / @VERSION@ (and @KEY@ for ``extra``) placeholders."""
    out = text.replace("@NAME_UPPER@", name.upper()).replace("@NAME@", name).replace("@VERSION@", version)
    for k, v in extra.items():
        out = out.replace(f"@{k}@", v)
    return out


# --------------------------------------------------------------------------------- layout


@dataclass
class Layout:
    """What an export folder holds: texts to write and files to copy (relative paths)."""

    texts: dict[str, str]
    copies: dict[str, Path]
    library_sources: list[str]
    headers: list[str]
    selftest: str
    test_vectors_file: str
    model_file: str | None
    # the target's own entries of the manifest (edgelstm_export.json)
    board: BoardEntry | None = None
    arduino: ArduinoEntry | None = None
    include_dirs: list[str] | None = None

    def files(self) -> list[str]:
        return sorted(set(self.texts) | set(self.copies))


def apply_target(target: str, host: Layout, *, name: str, version: str) -> Layout:
    """Turn the host layout (today's folder) into the layout of ``target``."""
    check_target(target)
    if target == HOST:
        return host
    if target == ARDUINO:
        return _arduino_layout(host, name=name, version=version)
    return _board_layout(BOARDS[target], host, name=name, version=version)


def _board_layout(b: Board, host: Layout, *, name: str, version: str) -> Layout:
    bd = boards_dir()
    texts = dict(host.texts)
    copies = dict(host.copies)
    for f in BOARD_COMMON_FILES:
        copies[f"board/{f}"] = bd / "common" / f
    for f in b.board_files:  # the board's own startup / board layer (another architecture)
        copies[f"board/{f}"] = bd / b.board / f
    copies["board/linker.ld"] = bd / b.board / "linker.ld"
    texts[f"board/{BOARD_MODEL_HEADER}"] = board_model_header(name, version)
    texts["Makefile"] = firmware_makefile(name, host.library_sources, host.headers, b, version)
    texts["CMakeLists.txt"] = firmware_cmakelists(name, host.library_sources, b, version)
    cd = cmake_dir()
    for p in sorted(cd.rglob("*")):
        if p.is_file():
            rel = p.relative_to(cd).as_posix()
            if rel.startswith("zephyr/"):
                copies[rel] = p          # zephyr/module.yml must sit at the module root
            else:
                copies[f"cmake/{rel}"] = p
    entry = BoardEntry(core=b.core, board=b.board, title=b.title, qemu_machine=b.qemu_machine,
                       cpu_flags=list(b.cpu_flags), systick_hz=b.systick_hz, flash_bytes=b.flash_bytes,
                       ram_bytes=b.ram_bytes, firmware=f"build/{name}_firmware.elf")
    return Layout(texts=texts, copies=copies, library_sources=list(host.library_sources), headers=list(host.headers),
                  selftest=host.selftest, test_vectors_file=host.test_vectors_file, model_file=host.model_file,
                  board=entry)


def _arduino_layout(host: Layout, *, name: str, version: str) -> Layout:
    ad = arduino_dir()
    lib_files = set(host.library_sources) | set(host.headers)
    texts: dict[str, str] = {}
    copies: dict[str, Path] = {}
    for rel, text in host.texts.items():
        if rel in lib_files:
            texts[f"src/{rel}"] = text
        elif rel in (host.selftest, host.test_vectors_file):
            texts[f"extras/{rel}"] = text
        # the host Makefile and CMakeLists.txt are replaced below
    for rel, src in host.copies.items():
        if rel in lib_files:
            copies[f"src/{rel}"] = src
        elif rel == host.model_file:
            copies[f"extras/{rel}"] = src
        else:
            copies[rel] = src
    lib_sources = [f"src/{s}" for s in host.library_sources]
    headers = [f"src/{h}" for h in host.headers]
    texts["Makefile"] = arduino_makefile(name, lib_sources, version)
    # Builds outside the Arduino IDE (edgelstm verify, the Makefile) include "NAME_model.h" from
    # the folder itself: a one-line forwarding header (the IDE only compiles src/).
    texts[f"{name}_model.h"] = (f"/* Forwarding header for builds outside the Arduino IDE (edgelstm verify, make test);\n"
                                f" * the library is in src/. Generated by edgelstm {version}. */\n"
                                f"#include \"src/{name}_model.h\"\n")
    sketch = f"{name}_serial"
    for p in sorted(ad.rglob("*")):
        if not p.is_file() or p.name.startswith("."):
            continue
        rel = p.relative_to(ad).as_posix()
        if rel.startswith("src/"):
            continue  # the template's src/ only documents what export-c puts there
        if rel.startswith("examples/serial_classifier/"):
            rel = rel.replace("examples/serial_classifier/serial_classifier.ino", f"examples/{sketch}/{sketch}.ino")
            rel = rel.replace("examples/serial_classifier/", f"examples/{sketch}/")
        texts[rel] = substitute(p.read_text(encoding="utf-8"), name, version)
    model_file = f"extras/{host.model_file}" if host.model_file else None
    entry = ArduinoEntry(library=name, sketch=f"examples/{sketch}/{sketch}.ino", include_dirs=["src"])
    return Layout(texts=texts, copies=copies, library_sources=lib_sources, headers=headers,
                  selftest=f"extras/{host.selftest}", test_vectors_file=f"extras/{host.test_vectors_file}",
                  model_file=model_file, arduino=entry, include_dirs=["src"])
