#!/usr/bin/env bash
# Installs classrec as a C library with cargo-c into a temporary prefix, then uses only what was
# installed, as a C/C++ team would: the SONAME and exported symbols, the header as C11 and C++17
# (static and shared), a pkg-config build and a CMake project (find_package), each linked shared
# and static and recording 2 s, and the static link flags of the README and the CMake package
# against classrec.pc's Libs.private (which cargo-c takes from `rustc --print native-static-libs`).
# Part of scripts/test.sh. Usage: bash scripts/test-package.sh
set -euo pipefail
cd "$(dirname "$0")/.."
step() { echo "== package [${SECONDS}s] $*" >&2; }
fail() { echo "test-package: $*" >&2; exit 1; }
source scripts/deps.sh

step "installing cargo-c, cmake and ffmpeg"
install_build_deps
install_cargo_c
apt_install ffmpeg

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
PREFIX=$TMP/prefix
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)

step "cargo cinstall --release --prefix $PREFIX"
cargo cinstall --release --prefix "$PREFIX"
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$(find "$PREFIX" -name classrec.pc)")
LIBDIR=$(pkg-config --variable=libdir classrec)
INCLUDE=$PREFIX/include/classrec
find "$PREFIX" -type f -o -type l | sed "s|$PREFIX/||" | sort >&2

step "the installed files: header, SONAME, exported symbols, version"
cmp include/classrec.h "$INCLUDE/classrec.h" || fail "the installed header differs from include/classrec.h"
soname=$(readelf -d "$LIBDIR/libclassrec.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libclassrec.so.0 ] || fail "SONAME is '$soname', expected libclassrec.so.0"
[ -e "$LIBDIR/libclassrec.so.0" ] && [ -e "$LIBDIR/libclassrec.a" ] || fail "libclassrec.so.0 or libclassrec.a missing"
others=$(nm -D --defined-only "$LIBDIR/libclassrec.so" | awk '{print $3}' | grep -v '^classrec_' || true)
[ -z "$others" ] || fail "the shared library exports more than classrec_*: $others"
echo "SONAME $soname; $(nm -D --defined-only "$LIBDIR/libclassrec.so" | grep -c ' classrec_') symbols, all classrec_*" >&2
[ "$(pkg-config --modversion classrec)" = "$VERSION" ] || fail "classrec.pc says $(pkg-config --modversion classrec), Cargo.toml $VERSION"
grep -q "set(PACKAGE_VERSION \"$VERSION\")" "$PREFIX/share/cmake/classrec/classrecConfigVersion.cmake" \
  || fail "cmake/classrecConfigVersion.cmake does not say $VERSION (Cargo.toml)"

step "the header compiles as C11 and C++17, with and without CLASSREC_STATIC"
for static in "" -DCLASSREC_STATIC; do
  echo '#include "classrec.h"' | gcc -std=c11 -Wall -Wextra -Wpedantic -Werror $static -I"$INCLUDE" -x c -fsyntax-only -
  echo '#include "classrec.h"' | g++ -std=c++17 -Wall -Wextra -Wpedantic -Werror $static -I"$INCLUDE" -x c++ -fsyntax-only -
done

step "static link flags: README and CMake package against classrec.pc (rustc --print native-static-libs)"
private=$(pkg-config --libs-only-l --static classrec | tr ' ' '\n' | grep -v '^-lclassrec$' | grep . | sort -u | tr '\n' ' ')
echo "Libs.private: $private" >&2
readme=$(grep -o 'libclassrec\.a -l[^`]*' README.md | head -1 | cut -d' ' -f2- | tr ' ' '\n' | grep '^-l' | sort -u | tr '\n' ' ')
[ "$readme" = "$private" ] || fail "the README's static link line has '$readme', classrec.pc '$private'"
cmake_deps=$(sed -n '/^else()/,/^endif()/s/^ *set(_classrec_static_deps \(.*\))/\1/p' cmake/classrecConfig.cmake \
  | tr ' ' '\n' | sed 's/^/-l/' | sort -u | tr '\n' ' ')
[ "$cmake_deps" = "$private" ] || fail "cmake/classrecConfig.cmake links '$cmake_deps' statically, classrec.pc '$private'"

# Runs a client built from examples/c/minimal_client.cpp: 2 s of the synthetic classroom, checked
# by ffprobe (duration) and ffmpeg (decodes clean).
record_2s() {
  local client=$1 out=$TMP/out-$(basename "$1")
  local saved
  saved=$("$client" "$out" 2 | sed -n 's/^saved \(.*\) (.*/\1/p')
  [ -f "$saved" ] || fail "$client saved no recording"
  local duration
  duration=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$saved")
  awk -v d="$duration" 'BEGIN { exit !(d > 1.8 && d < 2.6) }' || fail "$client recorded $duration s, not 2 s"
  [ -z "$(ffmpeg -nostdin -v error -i "$saved" -f null - 2>&1)" ] || fail "ffmpeg reports errors in $saved"
  echo "$client: $duration s, decodes clean" >&2
}

step "pkg-config: a C++ client linked shared and static, recording 2 s"
g++ -std=c++17 -Wall -Wextra -Wpedantic -Werror examples/c/minimal_client.cpp $(pkg-config --cflags --libs classrec) \
  -Wl,-rpath,"$LIBDIR" -o "$TMP/pc_shared"
# Both libraries sit in one folder: -l:libclassrec.a picks the archive.
g++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -DCLASSREC_STATIC examples/c/minimal_client.cpp \
  $(pkg-config --cflags classrec) $(pkg-config --static --libs classrec | sed 's/-lclassrec\b/-l:libclassrec.a/') \
  -o "$TMP/pc_static"
# ldd's output is read whole before grep looks at it: `ldd | grep -q` under pipefail fails when
# grep exits at the first match and ldd, still writing, dies of SIGPIPE.
loaded=$(ldd "$TMP/pc_shared")
grep -q "libclassrec.so.0 => $LIBDIR" <<<"$loaded" || fail "pc_shared does not load $LIBDIR/libclassrec.so.0: $loaded"
loaded=$(ldd "$TMP/pc_static")
! grep -q libclassrec <<<"$loaded" || fail "pc_static loads libclassrec.so: $loaded"
record_2s "$TMP/pc_shared"
record_2s "$TMP/pc_static"

step "CMake: find_package(classrec 0.2) and classrec::classrec / classrec::classrec_static, recording 2 s"
cmake -S tests/package -B "$TMP/cmake" -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$TMP/cmake" --parallel 2 >/dev/null
record_2s "$TMP/cmake/client_shared"
record_2s "$TMP/cmake/client_static"
if cmake -S tests/package -B "$TMP/cmake-newer" -DCMAKE_PREFIX_PATH="$PREFIX" -DCLASSREC_WANT=99.0 >/dev/null 2>&1; then
  fail "find_package(classrec 99.0) accepted version $VERSION"
fi

step "done: the installed package works from pkg-config and CMake"
