#!/usr/bin/env bash
# Type-checks the Windows build (window capture through windows-capture) on Linux: Debian's
# rustc-web with its own std source, built for x86_64-pc-windows-msvc with -Zbuild-std. Nothing
# is linked or run; trait-signature and type errors are caught. Usage: bash scripts/check-windows.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
install_debian_rust

# OpenH264's build script would compile its C++ with the MSVC toolchain; a type check needs no
# objects, so the compiler is `true` and the archiver writes an empty archive.
export CC_x86_64_pc_windows_msvc=true CXX_x86_64_pc_windows_msvc=true
export AR_x86_64_pc_windows_msvc="$PWD/scripts/stub-archiver.sh"
debian_cargo check --lib --quiet -Zbuild-std=std,panic_abort --target x86_64-pc-windows-msvc \
  --target-dir target/wincheck
echo "windows: the library type-checks for x86_64-pc-windows-msvc" >&2
