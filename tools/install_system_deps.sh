#!/usr/bin/env bash
# Install the system tools edgelstm's tests and demo use, if any is missing (Debian/Ubuntu):
# host C compilers (gcc, clang + libFuzzer runtime), the Cortex-M cross compiler with newlib,
# QEMU for the Cortex-M boards, the RISC-V cross compiler with picolibc and QEMU for riscv32,
# PostgreSQL (the tests start their own server for `edgelstm search --storage`), valgrind, cmake
# and Python's venv module.
set -euo pipefail

missing=0
for exe in gcc g++ clang make cmake valgrind arm-none-eabi-gcc qemu-system-arm \
           riscv64-unknown-elf-gcc qemu-system-riscv32; do
  command -v "$exe" >/dev/null 2>&1 || { echo "install_system_deps: $exe not found"; missing=1; }
done
# newlib (arm-none-eabi's C library) and clang's fuzzer runtime are files, not commands.
if command -v arm-none-eabi-gcc >/dev/null 2>&1; then
  [ -f "$(arm-none-eabi-gcc -print-file-name=libc.a)" ] || { echo "install_system_deps: newlib missing"; missing=1; }
fi
if command -v clang >/dev/null 2>&1; then
  ls "$(clang -print-resource-dir)"/lib/linux/libclang_rt.fuzzer-*.a >/dev/null 2>&1 \
    || { echo "install_system_deps: clang's libFuzzer runtime missing"; missing=1; }
fi
# picolibc (the RISC-V C library) is a file; PostgreSQL's initdb is not on PATH on Debian.
[ -f /usr/lib/picolibc/riscv64-unknown-elf/picolibc.specs ] || { echo "install_system_deps: picolibc-riscv64-unknown-elf missing"; missing=1; }
command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
  || { echo "install_system_deps: PostgreSQL (initdb) missing"; missing=1; }
python3 -c "import venv, ensurepip" >/dev/null 2>&1 || { echo "install_system_deps: python3 venv missing"; missing=1; }
[ "$missing" -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install_system_deps: not root and no sudo; install the packages above by hand" >&2; exit 0
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_system_deps: no apt-get; install the tools above with your package manager" >&2; exit 0
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
clang_rt="libclang-rt-dev"
apt-cache show libclang-rt-14-dev >/dev/null 2>&1 && clang_rt="libclang-rt-14-dev"
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential clang "$clang_rt" cmake valgrind \
  gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm \
  gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc postgresql \
  python3 python3-venv python3-dev >/dev/null
echo "install_system_deps: done"
