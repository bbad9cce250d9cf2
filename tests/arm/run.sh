#!/usr/bin/env bash
# tests/arm/run.sh: the ARM check. Cross-compiles the kernels (scalar and
# NEON) with the libc-only kernel harness tests/kernels/check-kernels.c
# for aarch64, statically, and runs it under qemu-user: every NEON kernel
# against the scalar one over shape sweeps (see the harness for what is
# checked). No GLib or other arm64 libraries are needed.
#
#   tests/arm/run.sh            build in build-aarch64/ and run
#   tests/arm/run.sh -v         also list every case
#
# Three builds, each run under qemu: gcc -O2 static (the one that
# matters), gcc with -fsanitize=undefined, and clang -O2 when clang is
# installed. Installs what is missing with apt-get when run as root
# (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, qemu-user). Takes about
# 15 s on the 2-core x86 machines (plus the install on a fresh one). The
# last line is "arm: PASS ..." or "arm: FAIL ..."; the exit status is 0
# only on PASS.
#
# Environment:
#   FV_ARM_BUILD_DIR  build folder (default: build-aarch64 in the checkout)
#   FV_ARM_CPU        CPU that qemu emulates (default: cortex-a53, a plain
#                     ARMv8.0 core, so the kernels must not need more)
#   CROSS_CC          cross compiler (default: aarch64-linux-gnu-gcc)
set -uo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${FV_ARM_BUILD_DIR:-$root/build-aarch64}"
cross_cc="${CROSS_CC:-aarch64-linux-gnu-gcc}"
cpu="${FV_ARM_CPU:-cortex-a53}"
kdir="$root/src/kernels"
start=$(date +%s)

fail () {
  echo "arm: FAIL: $*"
  exit 1
}

# --- tools -----------------------------------------------------------------
qemu=""
find_qemu () {
  qemu="$(command -v qemu-aarch64 || command -v qemu-aarch64-static || true)"
}
have_libc () {
  [ -f /usr/aarch64-linux-gnu/lib/libc.a ] \
    && [ -f /usr/aarch64-linux-gnu/include/stdio.h ]
}

find_qemu
missing=()
command -v "$cross_cc" >/dev/null 2>&1 || missing+=(gcc-aarch64-linux-gnu)
have_libc || missing+=(libc6-dev-arm64-cross)
[ -n "$qemu" ] || missing+=(qemu-user)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    fail "missing ${missing[*]}; install them (apt-get install ${missing[*]}) or run as root"
  fi
  echo "arm: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get update >/dev/null 2>&1 \
      && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; } \
    || fail "apt-get install ${missing[*]} failed"
  find_qemu
fi
command -v "$cross_cc" >/dev/null 2>&1 || fail "no $cross_cc"
have_libc || fail "no aarch64 libc (libc6-dev-arm64-cross)"
[ -n "$qemu" ] || fail "no qemu-aarch64 (qemu-user)"

# --- build -----------------------------------------------------------------
# The kernels and the harness need only libc: FV_LIBC_ONLY keeps GLib out
# of src/fv-prelude.h. fv-kernels.c needs no configured header.
mkdir -p "$build" || fail "cannot create $build"

# Every kernel source, the templates built against the NEON vector
# header (as meson.build does on an aarch64 host), and the one CPU check.
sources=()
for f in "$kdir"/*.c; do
  case "$(basename "$f")" in
    *-avx*.c | *-sse*.c | *-x86*.c) ;;
    *) sources+=("$f") ;;
  esac
done
sources+=("$root/src/core/fv-cpu.c" "$root/tests/kernels/check-kernels.c")

common=(-std=c11 -g -Wall -Wextra -Wno-unused-parameter -Wmissing-prototypes
  -Wdeclaration-after-statement -D_GNU_SOURCE -DFV_HAVE_NEON -DFV_LIBC_ONLY
  '-DFV_SIMD_HEADER="simd/f32-neon.h"' -I"$root/src")
echo "arm: $cross_cc $("$cross_cc" -dumpversion), qemu $("$qemu" --version | head -n 1 | awk '{print $3}'), emulated CPU $cpu"
echo "arm: sources: $(for f in "${sources[@]}"; do printf '%s ' "${f#"$root"/}"; done)"

# build NAME COMPILER FLAG...: builds $build/check-kernels-NAME.
build () {
  local name="$1" compiler="$2" rc
  shift 2
  "$compiler" "${common[@]}" "$@" -o "$build/check-kernels-$name" \
    "${sources[@]}" -lm >"$build/build-$name.log" 2>&1
  rc=$?
  cat "$build/build-$name.log"
  [ "$rc" -eq 0 ] || fail "the aarch64 build ($name) failed (log: $build/build-$name.log)"
}

# run NAME [QEMU OPTION...]: runs it under qemu; counts the NEON cases.
passes=()
run () {
  local name="$1" rc n
  shift
  echo "arm: --- $name: qemu-aarch64 -cpu $cpu $* check-kernels-$name $harness_args"
  # shellcheck disable=SC2086
  "$qemu" -cpu "$cpu" "$@" "$build/check-kernels-$name" $harness_args 2>&1 \
    | tee "$build/check-kernels-$name.log"
  rc=${PIPESTATUS[0]}
  [ "$rc" -eq 0 ] || fail "check-kernels ($name) exited with status $rc under qemu (log: $build/check-kernels-$name.log)"
  grep -q '^neon .* ok ' "$build/check-kernels-$name.log" \
    || fail "no NEON kernels were checked ($name; log: $build/check-kernels-$name.log)"
  n=$(awk '/^neon / && / cases / { for (i = 1; i < NF; i++) if ($(i + 1) == "cases") n += $i } END { print n + 0 }' \
    "$build/check-kernels-$name.log")
  passes+=("$name: $n cases")
}
harness_args="$*"

# 1. The build that CI relies on: gcc -O2, static (no arm64 libraries).
build gcc-O2 "$cross_cc" -O2 -static
# Advanced SIMD must actually be there: a build that silently dropped the
# NEON table would pass the harness with nothing checked.
neon_insns=$(aarch64-linux-gnu-objdump -d "$build/check-kernels-gcc-O2" 2>/dev/null \
  | awk '/<fv_f32_[a-z0-9_]*__neon>:/ { on = 1; next } /^$/ { on = 0 }
         on && /\tfmla\t/ && /\.4s/ { n++ } END { print n + 0 }')
echo "arm: $neon_insns vector fmla instructions in the NEON kernels"
[ "$neon_insns" -gt 0 ] || fail "the NEON kernels contain no vector fmla: not vectorised?"
run gcc-O2

# 2. Undefined-behaviour sanitizer (dynamic: the arm64 cross libubsan).
if [ -n "$(find /usr/aarch64-linux-gnu/lib /usr/lib/gcc-cross/aarch64-linux-gnu \
    -name 'libubsan.so*' 2>/dev/null | head -n 1)" ]; then
  build gcc-ubsan "$cross_cc" -O1 -fsanitize=undefined -fno-sanitize-recover=all
  UBSAN_OPTIONS=print_stacktrace=1 run gcc-ubsan -L /usr/aarch64-linux-gnu
else
  echo "arm: --- gcc-ubsan: skipped (no arm64 libubsan)"
fi

# 3. A second compiler, when clang is installed (it contracts a*b+c into
#    fused multiply-adds in the scalar kernels too).
if command -v clang >/dev/null 2>&1 && command -v aarch64-linux-gnu-ld >/dev/null 2>&1; then
  build clang-O2 clang --target=aarch64-linux-gnu -O2 -static \
    --ld-path=/usr/bin/aarch64-linux-gnu-ld
  run clang-O2
else
  echo "arm: --- clang-O2: skipped (no clang)"
fi

secs=$(($(date +%s) - start))
summary="$(printf '%s; ' "${passes[@]}")"
echo "arm: PASS: NEON kernels equal the scalar kernels under qemu-aarch64 ($cpu): ${summary%; }; ${secs} s"
