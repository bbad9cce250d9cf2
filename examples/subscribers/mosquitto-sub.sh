#!/usr/bin/env bash
# Prints the events of faceverifypublish as they arrive on an MQTT broker:
# one line per event, the topic then the JSON object.
#
#   examples/subscribers/mosquitto-sub.sh [HOST] [PORT] [TOPIC]
#
# Defaults: 127.0.0.1, 1883, "faceverify/#" (the element's default topic
# template is faceverify/{camera}/{event}). It runs, with Debian's
# mosquitto-clients:
#
#   mosquitto_sub -h HOST -p PORT -q 1 -v -t TOPIC
#
# The retained "presence" message of each camera arrives first: who is in
# view now. A publisher to try it with (a video file, a gallery):
#
#   GST_PLUGIN_PATH=$PWD/build/plugin gst-launch-1.0 filesrc location=VIDEO \
#     ! decodebin ! videoconvert ! mtcnnfacedetect ! faceverify gallery-file=G.db \
#     ! faceverifypublish camera=door location=mqtt://127.0.0.1:1883/faceverify/{camera}/{event} \
#     ! fakesink
set -euo pipefail
host="${1:-127.0.0.1}"
port="${2:-1883}"
topic="${3:-faceverify/#}"
[ "${FV_PRINT_PIPELINE:-0}" = 1 ] && { echo "mosquitto_sub -h $host -p $port -q 1 -v -t '$topic'"; exit 0; }
exec mosquitto_sub -h "$host" -p "$port" -q 1 -v -t "$topic"
