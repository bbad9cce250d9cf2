/* fv-example-run.h: what the C examples do around their pad probe. Both
 * include it; it is found beside them, so their build lines need nothing
 * more than the .c file.
 *
 * fv_example_run() appends "! fakesink" to the pipeline @description,
 * calls @on_buffer (with @user_data) in the streaming thread for every
 * buffer that reaches the sink, and plays the pipeline until the end of
 * the stream or an error. Returns 0, or 1 after printing what went wrong.
 */
#ifndef FV_EXAMPLE_RUN_H
#define FV_EXAMPLE_RUN_H

#include <gst/gst.h>

static int
fv_example_run (const char *description, GstPadProbeCallback on_buffer,
    gpointer user_data)
{
  GstElement *pipeline, *sink;
  GstPad *pad;
  GstBus *bus;
  GstMessage *msg;
  GError *error = NULL;
  gchar *desc;
  int ret = 0;

  desc = g_strdup_printf ("%s ! fakesink name=fv_sink sync=false",
      description);
  pipeline = gst_parse_launch (desc, &error);
  g_free (desc);
  if (!pipeline) {
    g_printerr ("bad pipeline: %s\n", error->message);
    g_error_free (error);
    return 1;
  }

  sink = gst_bin_get_by_name (GST_BIN (pipeline), "fv_sink");
  pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, user_data,
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
  return ret;
}

#endif /* FV_EXAMPLE_RUN_H */
