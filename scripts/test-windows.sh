#!/usr/bin/env bash
# Builds the Windows library (classrec.dll, its import library, the static archive) and the record
# example for x86_64-pc-windows-gnu with mingw-w64, then runs them under Wine 8: the unit tests,
# record.exe end to end, the default and a Chinese out_dir, a C++ client linked to the DLL, upload
# to a local S3 server, and crash recovery (tests/wine.rs). Part of scripts/test.sh.
# Usage: bash scripts/test-windows.sh
set -euo pipefail
cd "$(dirname "$0")/.."
step() { echo "== windows [${SECONDS}s] $*" >&2; }
source scripts/deps.sh

step "installing mingw-w64, Wine and Debian's rustc with its std source"
install_debian_rust
apt_install wine64 gcc-mingw-w64-x86-64-posix g++-mingw-w64-x86-64-posix
install_test_deps
install_s3_server

TARGET=x86_64-pc-windows-gnu
OUT=$PWD/target/windows
RELEASE=$OUT/$TARGET/release
MINGW=x86_64-w64-mingw32
# Debian's cargo and rustc build std for this target (scripts/deps.sh).
wincargo() {
  debian_cargo "$@" -Zbuild-std=std,panic_unwind --target "$TARGET" --target-dir "$OUT" --release
}
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=$MINGW-gcc-posix
export CC_x86_64_pc_windows_gnu=$MINGW-gcc-posix CXX_x86_64_pc_windows_gnu=$MINGW-g++-posix
export AR_x86_64_pc_windows_gnu=$MINGW-ar
# fdk-aac's common_fix.h declares SHORT overloads of fMin/fMax for mingw (x86_64 without LP64) that
# collide with its own FIXP_SGL; without __x86_64__ it takes its generic C paths (see DESIGN.md).
export CFLAGS_x86_64_pc_windows_gnu=-U__x86_64__

# Wine: a fresh prefix, removed at the end; no debug chatter.
export CLASSREC_WINE=/usr/lib/wine/wine64
WINE_TMP=$(mktemp -d)
export WINEPREFIX=$WINE_TMP/prefix WINEDEBUG=-all LC_ALL=C.UTF-8
trap '/usr/lib/wine/wineserver -k 2>/dev/null || true; rm -rf "$WINE_TMP"' EXIT

step "building classrec.dll, libclassrec.a and record.exe (mingw-w64, release)"
wincargo build --lib --example record

step "building the Wine-only shims (tests/wine/: never shipped) and the C++ client against classrec.dll"
BIN=$WINE_TMP/bin SHIMS=$WINE_TMP/shims
mkdir -p "$BIN" "$SHIMS"
$MINGW-gcc-posix -O2 -shared -o "$SHIMS/bcryptprimitives.dll" tests/wine/bcryptprimitives.c -ladvapi32
$MINGW-gcc-posix -O2 -shared -o "$SHIMS/coremessaging.dll" tests/wine/coremessaging.c
# The same C++ client and flags as the Linux C ABI test, linked through the DLL's import library.
$MINGW-g++-posix -std=c++17 -Wall -Wextra -Wpedantic -Werror -O1 -Iinclude \
  tests/capi/end_to_end.cpp tests/capi/client.cpp "$RELEASE/libclassrec.dll.a" -o "$BIN/end_to_end.exe"
cp "$RELEASE/classrec.dll" "$RELEASE/examples/record.exe" "$BIN/"
# The mingw runtime DLLs (libstdc++, libgcc_s, winpthread) a mingw build needs beside it.
for dll in libstdc++-6.dll libgcc_s_seh-1.dll libwinpthread-1.dll; do
  cp "$($MINGW-g++-posix -print-file-name=$dll)" "$SHIMS/"
done
export WINEPATH="Z:${SHIMS//\//\\}"
export CLASSREC_WINE_BIN=$BIN CLASSREC_WINEPREFIX=$WINEPREFIX CLASSREC_WINEPATH=$WINEPATH

step "creating the Wine prefix"
# On one fresh CI machine wineboot ended with exit 53 (the low byte of c0000135: Wine's loader
# could not load kernel32.dll) before anything of ours ran; 28 fresh prefixes here never did. So a
# failed boot is shown with Wine's errors and retried on a new prefix, twice at most.
for attempt in 1 2 3; do
  if WINEDEBUG=-all,err+all $CLASSREC_WINE wineboot --init >"$WINE_TMP/wineboot.log" 2>&1 &&
    /usr/lib/wine/wineserver -w; then
    break
  fi
  step "wineboot --init failed (attempt $attempt of 3); what Wine printed:"
  cat "$WINE_TMP/wineboot.log" >&2
  /usr/lib/wine/wineserver -k 2>/dev/null || true
  rm -rf "$WINEPREFIX"
  [ "$attempt" -lt 3 ] || exit 1
done

step "1. unit tests under Wine"
CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=$CLASSREC_WINE wincargo test --lib

step "2-8. record.exe and the C++ client under Wine, checked from Linux (tests/wine.rs)"
cargo test --test wine -- --ignored --test-threads=1 --nocapture

step "done: the Windows build ran under Wine"
