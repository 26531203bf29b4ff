#!/usr/bin/env bash
# The long-class check (issue 16): records past 4 GiB (full motion, 1080p, 50 Mbit/s, as fast as
# it encodes) and checks co64, the 64-bit mdat size, ffprobe's duration and a silent
# `ffmpeg -v error` decode. Needs ~4.5 GiB free in the temp folder; minutes on 2 cores.
# Not part of scripts/test.sh. Usage: bash scripts/long-class.sh
set -euo pipefail
cd "$(dirname "$0")/.."
time cargo test --all-features --test long -- --ignored --nocapture
