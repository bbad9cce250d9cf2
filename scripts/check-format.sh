#!/usr/bin/env bash
# scripts/check-format.sh: GStreamer's C style, checked with GNU indent.
#
# Usage: scripts/check-format.sh [--fix] [FILE.c...]
#
# Runs GNU indent (Debian package `indent`) with the options of GStreamer's
# gst-indent over every C file that git tracks (or the files named) and
# compares. Without --fix it prints the difference of each file that is not
# formatted and exits 1 when there is one; with --fix it rewrites them.
# C++ (the GoogleTest tests) is not checked: gst-indent is for C.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

fix=0
if [ "${1:-}" = "--fix" ]; then
  fix=1
  shift
fi

# The options of GStreamer's tools/gst-indent: 2-space indent, no tabs,
# space before call parentheses, braces on the if line, 80 columns,
# continuation lines indented by 4.
gst_indent () {
  indent \
    --braces-on-if-line \
    --case-brace-indentation0 \
    --case-indentation2 \
    --braces-after-struct-decl-line \
    --line-length80 \
    --no-tabs \
    --cuddle-else \
    --dont-line-up-parentheses \
    --continuation-indentation4 \
    --honour-newlines \
    --tab-size8 \
    --indent-level2 \
    --leave-preprocessor-space \
    "$@"
}

if ! command -v indent >/dev/null 2>&1; then
  echo "format: GNU indent is missing (apt-get install indent, or scripts/setup.sh)" >&2
  exit 2
fi

if [ $# -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(git ls-files '*.c')
fi

tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
bad=0
for f in "${files[@]}"; do
  if ! gst_indent -st "$f" > "$tmp" 2>/dev/null; then
    echo "format: indent could not read $f" >&2
    bad=$((bad + 1))
    continue
  fi
  if ! cmp -s "$tmp" "$f"; then
    if [ $fix -eq 1 ]; then
      cat "$tmp" > "$f"
      echo "format: fixed $f"
    else
      echo "format: $f is not in GStreamer's C style:"
      diff -u "$f" "$tmp" | sed -n "3,40p" || true
      bad=$((bad + 1))
    fi
  fi
done
if [ $bad -gt 0 ]; then
  echo "format: $bad of ${#files[@]} C files are not formatted (scripts/check-format.sh --fix)"
  exit 1
fi
echo "format: ${#files[@]} C files in GStreamer's C style"
