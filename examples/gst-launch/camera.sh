#!/usr/bin/env bash
# Face verification on a live camera, shown in a window (Ctrl-C stops).
#
#   examples/gst-launch/camera.sh GALLERY [DEVICE]      (default /dev/video0)
#
# Faces smaller than 60 pixels are not looked for: at a desk, people are
# close, and the detector is faster. The pipeline it runs:
#
#   gst-launch-1.0 -e v4l2src device=DEVICE ! videoconvert ! \
#     mtcnnfacedetect min-face-size=60 ! faceverify gallery-file=GALLERY ! \
#     videoconvert ! faceverifyoverlay ! videoconvert ! autovideosink sync=false
set -euo pipefail
[ $# -ge 1 ] || { sed -n '3,4s/^# \{0,1\}//p' "$0" >&2; exit 2; }
. "$(dirname "$0")/common.sh"

launch v4l2src "device=${2:-/dev/video0}" ! videoconvert ! \
  mtcnnfacedetect min-face-size=60 ! faceverify "gallery-file=$1" ! \
  videoconvert ! faceverifyoverlay ! videoconvert ! autovideosink sync=false
