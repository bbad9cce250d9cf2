#!/usr/bin/env bash
# Face verification on an RTSP stream (an IP camera), shown in a window.
#
#   examples/gst-launch/rtsp.sh URL GALLERY     e.g. rtsp://192.168.1.20/stream1
#
# The detector runs on every second frame and a tracked face is identified
# again every 5 frames, to leave room for decoding a live stream;
# decodebin picks the decoder (H.264 needs gstreamer1.0-libav). The
# pipeline it runs:
#
#   gst-launch-1.0 -e rtspsrc location=URL latency=200 ! decodebin ! \
#     videoconvert ! mtcnnfacedetect detection-interval=2 ! \
#     faceverify gallery-file=GALLERY reidentify-interval=5 ! videoconvert ! \
#     faceverifyoverlay ! videoconvert ! autovideosink sync=false
set -euo pipefail
[ $# -ge 2 ] || { sed -n '3,4s/^# \{0,1\}//p' "$0" >&2; exit 2; }
. "$(dirname "$0")/common.sh"

launch rtspsrc "location=$1" latency=200 ! decodebin ! videoconvert ! \
  mtcnnfacedetect detection-interval=2 ! \
  faceverify "gallery-file=$2" reidentify-interval=5 ! videoconvert ! \
  faceverifyoverlay ! videoconvert ! autovideosink sync=false
