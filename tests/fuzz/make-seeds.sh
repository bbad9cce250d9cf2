#!/usr/bin/env bash
# tests/fuzz/make-seeds.sh OUTDIR: writes the seed corpus of fuzz-tflite
# into OUTDIR (in the build folder; model bytes are never committed).
#
# Seeds, all made from the fetched models (models/fetch.sh, or $FV_MODEL_DIR):
#   - pnet.tflite and rnet.tflite as they are (32 KB and 400 KB: small
#     enough for libFuzzer to mutate whole);
#   - mini-mobilefacenet.tflite: MobileFaceNet's graph (every op, the
#     PReLU-by-ABS spelling, residual adds, the 7x7 global depthwise,
#     RESHAPE) re-serialised by make-mini-model.py with all channel counts
#     divided by 16 and weights cut to fit, about 120 KB;
#   - a few truncated and shortened copies, which fail at different
#     places in the reader.
# The real MobileFaceNet (5 MB) and onet are not seeds: the fuzzer would
# spend its time copying weights. Safe to run again; exits 0 with a note
# when no model is there.
set -euo pipefail

out="${1:?usage: make-seeds.sh OUTDIR}"
here="$(cd "$(dirname "$0")" && pwd)"
models="${FV_MODEL_DIR:-$here/../../models}"

mkdir -p "$out"
n=0
seed () {  # seed NAME SOURCE [BYTES]: copy SOURCE, or its first BYTES
  if [ $# -ge 3 ]; then
    head -c "$3" "$2" >"$out/$1"
  else
    cp "$2" "$out/$1"
  fi
  n=$((n + 1))
}

for m in pnet rnet; do
  f="$models/$m.tflite"
  [ -f "$f" ] || { echo "make-seeds: $f not found, skipped" >&2; continue; }
  seed "$m.tflite" "$f"
  size=$(stat -c %s "$f")
  seed "$m-head-8.tflite" "$f" 8
  seed "$m-head-1k.tflite" "$f" 1024
  seed "$m-half.tflite" "$f" $((size / 2))
  seed "$m-minus-4.tflite" "$f" $((size - 4))
done

mfn="$models/MobileFaceNet.tflite"
if [ -f "$mfn" ]; then
  if command -v python3 >/dev/null 2>&1 \
      && python3 "$here/make-mini-model.py" "$mfn" "$out/mini-mobilefacenet.tflite"; then
    n=$((n + 1))
  else
    echo "make-seeds: could not make mini-mobilefacenet.tflite" >&2
  fi
  seed "mobilefacenet-head-64k.tflite" "$mfn" 65536
else
  echo "make-seeds: $mfn not found, skipped" >&2
fi
echo "make-seeds: $n seeds in $out"
