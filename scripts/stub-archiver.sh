#!/bin/sh
# A stand-in for MSVC's lib.exe during the Windows type check (scripts/check-windows.sh): creates
# the empty archive cc-rs expects at /OUT: (or -out:), so build scripts finish without a toolchain.
for arg in "$@"; do
  case "$arg" in
    /OUT:*|-out:*|-OUT:*) : > "${arg#*:}" ;;
  esac
done
