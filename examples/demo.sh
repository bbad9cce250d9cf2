#!/usr/bin/env bash
# examples/demo.sh: the demo command of the README.
#
#   1. scripts/setup.sh: the Debian packages, the models, build/;
#   2. the demo photos (examples/demo/fetch-photos.sh: six group photos of
#      the npm package @vladmandic/face-api@1.7.15, cached, never committed);
#   3. examples/demo/demo.py: enrolls some of the people into a gallery, plays
#      a video of the photos in changed views (mirrored, smaller and darker,
#      brighter and paler, grey) through
#        mtcnnfacedetect ! faceverify ! videoscale ! faceverifyoverlay
#      and prints a summary table. Outputs go to build/demo-out/:
#      annotated.avi, frames/*.png (one per shot), faces.jsonl (one record
#      per face per frame), summary.json, gallery.db.
#
# Usage: examples/demo.sh [--camera /dev/videoN [--enroll NAME]] [--out DIR]
#                         [--build DIR] [--no-setup]
#
#   --camera DEV   run on a live camera in a window instead (Ctrl-C stops);
#                  the gallery is the photos demo's (made first if missing)
#   --enroll NAME  with --camera: enroll the person in front of the camera
#   --out DIR      output folder (default build/demo-out)
#   --build DIR    the build tree with the plugin and the CLI (default build)
#   --no-setup     skip scripts/setup.sh (the tests use this)
#
# The exit status is 0 when every enrolled face found in the changed views
# was recognised as the right person and no other face was called known.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

usage () {
  sed -n '/^# Usage:/,/^#   --no-setup/s/^# \{0,1\}//p' "$0"
}

out="$root/build/demo-out"
build="$root/build"
setup=1
pyargs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --camera) pyargs+=(--camera "${2:?--camera needs a device}"); shift ;;
    --enroll) pyargs+=(--enroll "${2:?--enroll needs a name}"); shift ;;
    --out) out="${2:?--out needs a folder}"; shift ;;
    --build) build="${2:?--build needs a folder}"; shift ;;
    --no-setup) setup=0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "demo: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

start=$(date +%s)
if [ $setup -eq 1 ]; then
  bash scripts/setup.sh
fi
setup_done=$(date +%s)

mkdir -p "$out"
out="$(cd "$out" && pwd)"
build="$(cd "$build" && pwd)"
bash examples/demo/fetch-photos.sh "$out/photos"

# The plugin of this build, the fetched models. Debian's python3 (it has
# the GObject bindings) even when another python3 comes first in PATH.
export GST_PLUGIN_PATH="$build/plugin${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
export FV_MODEL_DIR="${FV_MODEL_DIR:-$root/models}"
python="${FV_PYTHON:-/usr/bin/python3}"

status=0
"$python" examples/demo/demo.py --photos "$out/photos" --out "$out" \
  --faceverify "$build/tools/faceverify" ${pyargs[@]+"${pyargs[@]}"} || status=$?
end=$(date +%s)
echo "demo: set-up $((setup_done - start)) s, demo $((end - setup_done)) s"
exit $status
