/* gst-faceverify: the RTSP "cameras" of the multi-node test and benchmark.
 *
 *   fv-rtsp-server CLIP.avi MOUNT...
 *
 * Serves the Motion-JPEG clip, decoded and re-encoded as H.264 (x264enc
 * tune=zerolatency), in a loop, at every rtsp://127.0.0.1:PORT/MOUNT. The
 * port is chosen by the system and printed on the first line of standard
 * output, "port PORT epoch EPOCH", with EPOCH the monotonic time
 * (g_get_monotonic_time) of the server's start: the cameras are live and
 * show clip frame n modulo the clip's length at EPOCH + n / fps, all the
 * same frame at the same time, so a test knows which one. The
 * clip's JPEG frames are read once, with avidemux, and decoded in each
 * client's media with jpegdec. SIGTERM or SIGINT stops the server; so does
 * the death of the parent process.
 */
#include <glib-unix.h>
#include <gst/app/gstappsrc.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <signal.h>

typedef struct
{
  GPtrArray *frames;            /* GstBuffer (JPEG), in clip order */
  GstCaps *caps;                /* image/jpeg with the clip's framerate */
  GstClockTime frame_duration;
  gint64 epoch_us;
} Clip;

/* One client's stream: the next frame number since the epoch. */
typedef struct
{
  const Clip *clip;
  gint64 next;
  gboolean started;
} Feed;

static gboolean
read_clip (const char *path, Clip * clip)
{
  GError *err = NULL;
  gchar *desc = g_strdup_printf ("filesrc location=\"%s\" ! avidemux "
      "! image/jpeg ! appsink name=sink sync=false", path);
  GstElement *p = gst_parse_launch (desc, &err);
  GstElement *sink;
  GstSample *sample;
  gint num = 0, den = 1;

  g_free (desc);
  if (!p) {
    g_printerr ("fv-rtsp-server: %s\n", err->message);
    g_error_free (err);
    return FALSE;
  }
  sink = gst_bin_get_by_name (GST_BIN (p), "sink");
  gst_element_set_state (p, GST_STATE_PLAYING);
  clip->frames = g_ptr_array_new_with_free_func ((GDestroyNotify)
      gst_buffer_unref);
  while ((sample = gst_app_sink_pull_sample (GST_APP_SINK (sink)))) {
    if (!clip->caps)
      clip->caps = gst_caps_copy (gst_sample_get_caps (sample));
    g_ptr_array_add (clip->frames,
        gst_buffer_ref (gst_sample_get_buffer (sample)));
    gst_sample_unref (sample);
  }
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (p);
  if (clip->frames->len == 0 || !clip->caps) {
    g_printerr ("fv-rtsp-server: no JPEG frames in %s\n", path);
    return FALSE;
  }
  gst_structure_get_fraction (gst_caps_get_structure (clip->caps, 0),
      "framerate", &num, &den);
  if (num <= 0 || den <= 0) {
    num = 10;
    den = 1;
  }
  clip->frame_duration = gst_util_uint64_scale_int (GST_SECOND, den, num);
  gst_caps_set_simple (clip->caps, "framerate", GST_TYPE_FRACTION, num, den,
      NULL);
  return TRUE;
}

/* A live source, as a camera: frame n (clip frame n modulo its length) is
 * pushed at EPOCH + n / fps and timestamped with the running time then. The
 * first is the one due when the client starts playing; then one after the
 * other, none skipped, so a client can count them. */
static void
need_data (GstElement * src, guint length, Feed * feed)
{
  const Clip *clip = feed->clip;
  gint64 frame_us = (gint64) (clip->frame_duration / GST_USECOND);
  gint64 now = g_get_monotonic_time (), due;
  GstBuffer *buf;

  if (!feed->started) {
    feed->next = (now - clip->epoch_us + frame_us - 1) / frame_us;
    feed->started = TRUE;
  }
  due = clip->epoch_us + feed->next * frame_us;
  if (due > now)
    g_usleep (due - now);
  buf = gst_buffer_copy (g_ptr_array_index (clip->frames,
          feed->next % clip->frames->len));
  GST_BUFFER_PTS (buf) = GST_BUFFER_DTS (buf) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DURATION (buf) = clip->frame_duration;
  feed->next++;
  gst_app_src_push_buffer (GST_APP_SRC (src), buf);
}

static void
media_configure (GstRTSPMediaFactory * factory, GstRTSPMedia * media,
    const Clip * clip)
{
  GstElement *bin = gst_rtsp_media_get_element (media);
  GstElement *src = gst_bin_get_by_name (GST_BIN (bin), "src");
  Feed *feed = g_new0 (Feed, 1);

  feed->clip = clip;
  g_object_set (src, "caps", clip->caps, "format", GST_FORMAT_TIME,
      "is-live", TRUE, "do-timestamp", TRUE, NULL);
  g_signal_connect (src, "need-data", G_CALLBACK (need_data), feed);
  g_object_set_data_full (G_OBJECT (media), "fv-feed", feed, g_free);
  gst_object_unref (src);
  gst_object_unref (bin);
}

static gboolean
quit (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  Clip clip = { 0 };
  GstRTSPServer *server;
  GstRTSPMountPoints *mounts;
  GMainLoop *loop;
  int i;

  prctl (PR_SET_PDEATHSIG, SIGTERM);
  gst_init (&argc, &argv);
  if (argc < 3) {
    g_printerr ("usage: fv-rtsp-server CLIP.avi MOUNT...\n");
    return 2;
  }
  clip.epoch_us = g_get_monotonic_time ();
  if (!read_clip (argv[1], &clip))
    return 1;

  loop = g_main_loop_new (NULL, FALSE);
  server = gst_rtsp_server_new ();
  gst_rtsp_server_set_address (server, "127.0.0.1");
  gst_rtsp_server_set_service (server, "0");
  mounts = gst_rtsp_server_get_mount_points (server);
  for (i = 2; i < argc; i++) {
    GstRTSPMediaFactory *f = gst_rtsp_media_factory_new ();
    gchar *path = g_strdup_printf ("/%s", argv[i]);

    /* every client its own stream, from the frame the clock points at */
    gst_rtsp_media_factory_set_launch (f, "( appsrc name=src ! jpegdec "
        "! videoconvert ! video/x-raw,format=I420 ! x264enc tune=zerolatency "
        "speed-preset=ultrafast key-int-max=10 threads=1 "
        "! rtph264pay name=pay0 pt=96 config-interval=-1 )");
    gst_rtsp_media_factory_set_shared (f, FALSE);
    g_signal_connect (f, "media-configure", G_CALLBACK (media_configure),
        &clip);
    gst_rtsp_mount_points_add_factory (mounts, path, f);
    g_free (path);
  }
  g_object_unref (mounts);
  if (gst_rtsp_server_attach (server, NULL) == 0) {
    g_printerr ("fv-rtsp-server: cannot listen on 127.0.0.1\n");
    return 1;
  }
  printf ("port %d epoch %" G_GINT64_FORMAT "\n",
      gst_rtsp_server_get_bound_port (server), clip.epoch_us);
  fflush (stdout);

  g_unix_signal_add (SIGTERM, quit, loop);
  g_unix_signal_add (SIGINT, quit, loop);
  g_main_loop_run (loop);

  g_object_unref (server);
  g_main_loop_unref (loop);
  g_ptr_array_unref (clip.frames);
  gst_caps_unref (clip.caps);
  return 0;
}
