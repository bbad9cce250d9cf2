#!/usr/bin/env bash
# Face verification on a video file.
#
#   examples/gst-launch/file.sh VIDEO GALLERY [OUT.avi]
#
# Without OUT.avi the annotated video is shown in a window; with it, it is
# written as Motion-JPEG in AVI (any player opens it) as fast as the CPU
# allows. The pipeline it runs:
#
#   gst-launch-1.0 -e filesrc location=VIDEO ! decodebin ! videoconvert ! \
#     mtcnnfacedetect ! faceverify gallery-file=GALLERY ! videoconvert ! \
#     faceverifyoverlay draw-landmarks=true ! videoconvert ! autovideosink
set -euo pipefail
[ $# -ge 2 ] || { sed -n '3,4s/^# \{0,1\}//p' "$0" >&2; exit 2; }
. "$(dirname "$0")/common.sh"

if [ $# -ge 3 ]; then
  sink=(jpegenc ! avimux ! filesink "location=$3")
else
  sink=(autovideosink)
fi
launch filesrc "location=$1" ! decodebin ! videoconvert ! \
  mtcnnfacedetect ! faceverify "gallery-file=$2" ! videoconvert ! \
  faceverifyoverlay draw-landmarks=true ! videoconvert ! "${sink[@]}"
