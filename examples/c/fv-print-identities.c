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
  GstElement *pipeline, *sink;
  GstPad *pad;
  GstBus *bus;
  GstMessage *msg;
  GError *error = NULL;
  gchar *desc;
  guint n_frames = 0;
  int ret = 0;

  gst_init (&argc, &argv);
  if (argc != 2) {
    g_printerr ("usage: %s 'PIPELINE ! ... ! faceverify ...'\n", argv[0]);
    return 2;
  }

  desc = g_strdup_printf ("%s ! fakesink name=fv_sink sync=false", argv[1]);
  pipeline = gst_parse_launch (desc, &error);
  g_free (desc);
  if (!pipeline) {
    g_printerr ("bad pipeline: %s\n", error->message);
    g_error_free (error);
    return 1;
  }

  sink = gst_bin_get_by_name (GST_BIN (pipeline), "fv_sink");
  pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, &n_frames,
      NULL);
  gst_object_unref (pad);
  gst_object_unref (sink);

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  bus = gst_element_get_bus (pipeline);
  msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
      GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    gchar *dbg = NULL;

    gst_message_parse_error (msg, &error, &dbg);
    g_printerr ("error from %s: %s (%s)\n", GST_OBJECT_NAME (msg->src),
        error->message, dbg ? dbg : "");
    g_clear_error (&error);
    g_free (dbg);
    ret = 1;
  }
  gst_message_unref (msg);
  gst_object_unref (bus);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);

  g_print ("%u frames\n", n_frames);
  gst_deinit ();
  return ret;
}
