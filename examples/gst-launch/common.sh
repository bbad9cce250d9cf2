# Sourced by the example pipelines: finds the plugin of a build tree when it
# is not installed, and runs or prints a gst-launch-1.0 command line.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [ -d "$root/build/plugin" ]; then
  export GST_PLUGIN_PATH="$root/build/plugin${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
fi
if [ -z "${FV_MODEL_DIR:-}" ] && [ -f "$root/models/MobileFaceNet.tflite" ]; then
  export FV_MODEL_DIR="$root/models"
fi

# launch ARG...: run gst-launch-1.0 with the arguments, or with
# FV_PRINT_PIPELINE=1 print them as one pipeline description instead.
launch () {
  if [ -n "${FV_PRINT_PIPELINE:-}" ]; then
    echo "$*"
  else
    echo "+ gst-launch-1.0 -e $*" >&2
    exec gst-launch-1.0 -e "$@"
  fi
}
