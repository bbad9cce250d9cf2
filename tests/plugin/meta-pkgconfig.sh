#!/bin/sh
# Builds and runs a small program against the meta library the way an
# application would: only through `pkg-config gstfaceverifymeta-1.0`
# (the uninstalled variant in the build tree).
# Usage: meta-pkgconfig.sh CC OUTDIR [EXTRA_CFLAGS]
set -eu
cc="$1"
out="$2/meta-consumer"
extra="${3:-}"
cat > "$out.c" <<'CEOF'
#include <gstfaceverifymeta.h>

int
main (void)
{
  GstBuffer *buf;
  FvFaceIdMeta *m;
  int ok;

  gst_init (NULL, NULL);
  buf = gst_buffer_new ();
  m = fv_buffer_add_face_id_meta (buf, 4, "alice");
  m->known = TRUE;
  m = fv_buffer_get_face_id_meta (buf, 4);
  ok = m && m->known && g_strcmp0 (m->label, "alice") == 0;
  gst_buffer_unref (buf);
  return ok ? 0 : 1;
}
CEOF
# shellcheck disable=SC2046  # the flags are meant to split
"$cc" $extra -o "$out" "$out.c" $(pkg-config --cflags --libs gstfaceverifymeta-1.0)
libdir="$(pkg-config --variable=prefix gstfaceverifymeta-1.0)/plugin"
LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$out"
