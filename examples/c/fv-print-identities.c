/* fv-print-identities: print the face identities that faceverify attached
 * to each frame, read from FvFaceIdMeta in a pad probe.
 *
 *   fv-print-identities 'filesrc location=clip.avi ! decodebin ! \
 *       videoconvert ! mtcnnfacedetect ! faceverify gallery-file=team.db'
 *
 * The program appends "! fakesink" to the pipeline description, watches the
 * buffers that reach it and prints one line per face, such as
 *
 *   0:00:01.2 roi 3 track 1: alice (known, similarity 0.91) at 120,80 64x64
 *
 * (the time is printed in full, 0:00:01.200000000).
 *
 * Build it against the installed plugin's meta library:
 *
 *   cc -o fv-print-identities fv-print-identities.c \
 *       $(pkg-config --cflags --libs gstreamer-1.0 gstfaceverifymeta-1.0)
 */
#include <gst/gst.h>
#include <gstfaceverifymeta.h>

#include "fv-example-run.h"

/* Runs in the streaming thread for every buffer that reaches the sink. The
 * meta lives as long as the buffer: copy what you keep. */
static GstPadProbeReturn
on_buffer (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);
  guint *n_frames = user_data;
  gpointer state = NULL;
  FvFaceIdMeta *meta;

  (*n_frames)++;
  while ((meta = fv_buffer_iterate_face_id_meta (buffer, &state))) {
    g_print ("%" GST_TIME_FORMAT " roi %d track %u: %s (%s, similarity %.2f)"
        " at %u,%u %ux%u\n", GST_TIME_ARGS (GST_BUFFER_PTS (buffer)),
        meta->roi_id, meta->track_id, meta->label,
        meta->known ? "known" : "unknown", meta->similarity,
        meta->x, meta->y, meta->w, meta->h);
  }
  return GST_PAD_PROBE_OK;
}

int
main (int argc, char **argv)
{
  guint n_frames = 0;
  int ret;

  gst_init (&argc, &argv);
  if (argc != 2) {
    g_printerr ("usage: %s 'PIPELINE ! ... ! faceverify ...'\n", argv[0]);
    return 2;
  }

  ret = fv_example_run (argv[1], on_buffer, &n_frames);

  g_print ("%u frames\n", n_frames);
  gst_deinit ();
  return ret;
}
