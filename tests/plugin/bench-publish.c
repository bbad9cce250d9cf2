/* Benchmark of faceverifypublish, with a real mosquitto broker that it
 * starts itself (127.0.0.1, a free port, its files in the build tree):
 *
 * 1. the time it adds per frame in the clip pipeline
 *      filesrc ! avidemux ! jpegdec ! videoconvert ! mtcnnfacedetect
 *        ! faceverify ! faceverifypublish ! fakesink sync=false
 *    (wall and thread CPU time between its sink and src pads, median and
 *    99th percentile over every frame of every run), to a file, to the
 *    broker, and with the broker absent;
 * 2. the gaps between output buffers while the broker is stopped for 3 s
 *    in the middle of the clip played in real time (10 fps);
 * 3. sustained events per second to the broker (synthetic frames with one
 *    face each and a `frame` event per frame, until the broker has
 *    acknowledged every one).
 *
 * A program, not a test: it prints numbers and asserts nothing.
 *
 *   bench-publish [--runs N] [--gallery G.db] [--clip clip.avi]
 *                 [--events N]
 */
#include <gst/gst.h>
#include <glib/gstdio.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fv-bench-util.h"
#include "fv-plugin-bench.h"
#include "fv-config.h"
#include "gstfaceverifymeta.h"

/* --- the broker ----------------------------------------------------------- */

typedef struct
{
  gchar *dir;
  gint port;
  GPid pid;
} Broker;

static gboolean
port_open (gint port)
{
  int s = socket (AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { 0 };
  gboolean ok;

  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  a.sin_port = htons (port);
  ok = connect (s, (struct sockaddr *) &a, sizeof (a)) == 0;
  close (s);
  return ok;
}

static gint
free_port (void)
{
  int s = socket (AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { 0 };
  socklen_t len = sizeof (a);
  gint port = 0;

  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (bind (s, (struct sockaddr *) &a, sizeof (a)) == 0
      && getsockname (s, (struct sockaddr *) &a, &len) == 0)
    port = ntohs (a.sin_port);
  close (s);
  return port;
}

static gboolean
broker_start (Broker * b)
{
  gchar *conf = g_build_filename (b->dir, "mosquitto.conf", NULL);
  gchar *text = g_strdup_printf ("listener %d 127.0.0.1\n"
      "allow_anonymous true\npersistence true\npersistence_location %s/\n"
      "log_dest file %s/mosquitto.log\n%s", b->port, b->dir, b->dir,
      getuid () == 0 ? "user root\n" : "");
  const gchar *argv[] = { "mosquitto", "-c", conf, NULL };
  gboolean ok;
  gint i;

  g_mkdir_with_parents (b->dir, 0755);
  ok = g_file_set_contents (conf, text, -1, NULL)
      && g_spawn_async (NULL, (gchar **) argv, NULL, G_SPAWN_SEARCH_PATH |
      G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
      G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &b->pid, NULL);
  for (i = 0; ok && i < 3000 && !port_open (b->port); i++)
    g_usleep (10000);
  g_free (conf);
  g_free (text);
  return ok && port_open (b->port);
}

static void
broker_stop (Broker * b)
{
  gint i;

  if (b->pid <= 0)
    return;
  kill (b->pid, SIGTERM);
  for (i = 0; i < 3000; i++) {
    if (waitpid (b->pid, NULL, WNOHANG) == b->pid) {
      b->pid = 0;
      return;
    }
    g_usleep (10000);
  }
  kill (b->pid, SIGKILL);
  waitpid (b->pid, NULL, 0);
  b->pid = 0;
}

/* --- time in the element -------------------------------------------------- */

typedef struct
{
  gint64 enter_cpu, enter_wall;
  GArray *cpu_us;               /* per frame */
  GArray *wall_us;
  GArray *out_us;               /* when each buffer left the element */
} Timing;

static GstPadProbeReturn
enter_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Timing *t = data;

  t->enter_wall = g_get_monotonic_time ();
  t->enter_cpu = (gint64) fv_bench_thread_cpu_ns ();
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
leave_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Timing *t = data;
  gdouble cpu = ((gint64) fv_bench_thread_cpu_ns () - t->enter_cpu) / 1e3;
  gint64 now = g_get_monotonic_time ();
  gdouble wall = now - t->enter_wall;

  g_array_append_val (t->cpu_us, cpu);
  g_array_append_val (t->wall_us, wall);
  g_array_append_val (t->out_us, now);
  return GST_PAD_PROBE_OK;
}

static void
timing_init (Timing * t)
{
  t->cpu_us = g_array_new (FALSE, FALSE, sizeof (gdouble));
  t->wall_us = g_array_new (FALSE, FALSE, sizeof (gdouble));
  t->out_us = g_array_new (FALSE, FALSE, sizeof (gint64));
}

static void
timing_clear (Timing * t)
{
  g_array_free (t->cpu_us, TRUE);
  g_array_free (t->wall_us, TRUE);
  g_array_free (t->out_us, TRUE);
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
percentile (GArray * v, double p)
{
  guint i;

  if (v->len == 0)
    return 0;
  qsort (v->data, v->len, sizeof (double), cmp_double);
  i = (guint) (p * (v->len - 1) + 0.5);
  return g_array_index (v, double, i);
}

typedef void (*TickFunc) (gint64 since_first_us, gpointer data);

/* Runs @desc (with elements "pub" and, optionally, "tag") to the end. */
static gboolean
run_pipeline (const gchar * desc, Timing * t, TickFunc tick, gpointer data,
    GstStructure ** stats)
{
  GError *err = NULL;
  GstElement *p = gst_parse_launch (desc, &err), *pub;
  GstPad *sink, *src;
  GstBus *bus;
  gboolean ok = FALSE;

  if (p == NULL || err) {
    fprintf (stderr, "bench-publish: %s\n", err->message);
    g_error_free (err);
    return FALSE;
  }
  pub = gst_bin_get_by_name (GST_BIN (p), "pub");
  sink = gst_element_get_static_pad (pub, "sink");
  src = gst_element_get_static_pad (pub, "src");
  gst_pad_add_probe (sink, GST_PAD_PROBE_TYPE_BUFFER, enter_probe, t, NULL);
  gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_BUFFER, leave_probe, t, NULL);
  gst_object_unref (sink);
  gst_object_unref (src);
  bus = gst_element_get_bus (p);
  gst_element_set_state (p, GST_STATE_PLAYING);
  for (;;) {
    GstMessage *m = gst_bus_timed_pop_filtered (bus, 20 * GST_MSECOND,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    if (tick)
      tick (t->out_us->len ? g_get_monotonic_time () -
          g_array_index (t->out_us, gint64, 0) : -1, data);
    if (m == NULL)
      continue;
    ok = GST_MESSAGE_TYPE (m) == GST_MESSAGE_EOS;
    if (!ok) {
      gst_message_parse_error (m, &err, NULL);
      fprintf (stderr, "bench-publish: %s\n", err->message);
      g_clear_error (&err);
    }
    gst_message_unref (m);
    break;
  }
  if (stats)
    g_object_get (pub, "stats", stats, NULL);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pub);
  gst_object_unref (p);
  return ok;
}

/* --- 1. time per frame ---------------------------------------------------- */

static gboolean
bench_per_frame (const gchar * clip, const gchar * gallery, gint runs,
    const gchar * name, const gchar * publish)
{
  Timing t;
  gchar *desc = g_strdup_printf ("filesrc location=\"%s\" ! avidemux ! "
      "jpegdec ! videoconvert ! mtcnnfacedetect ! faceverify %s%s%s ! "
      "faceverifypublish name=pub %s ! fakesink sync=false", clip,
      gallery ? "gallery-file=\"" : "", gallery ? gallery : "",
      gallery ? "\"" : "", publish);
  GstStructure *stats = NULL;
  guint64 events = 0;
  gint r;

  timing_init (&t);
  for (r = 0; r < runs; r++) {
    if (!run_pipeline (desc, &t, NULL, NULL, &stats))
      return FALSE;
    gst_structure_get_uint64 (stats, "events", &events);
    gst_structure_free (stats);
  }
  printf ("per frame  %-34s frames %4u  events/run %3" G_GUINT64_FORMAT
      "  wall median %6.1f us  p99 %7.1f us  CPU median %6.1f us  "
      "p99 %7.1f us\n", name, t.cpu_us->len, events,
      percentile (t.wall_us, 0.5), percentile (t.wall_us, 0.99),
      percentile (t.cpu_us, 0.5), percentile (t.cpu_us, 0.99));
  timing_clear (&t);
  g_free (desc);
  return TRUE;
}

/* --- 2. gaps during an outage --------------------------------------------- */

typedef struct
{
  Broker *b;
  gint64 down, up;
} OutageCtl;

static void
outage_tick (gint64 since_first, gpointer data)
{
  OutageCtl *c = data;

  if (since_first > 2 * G_USEC_PER_SEC && c->down == 0) {
    broker_stop (c->b);
    c->down = g_get_monotonic_time ();
  } else if (c->down && c->up == 0
      && g_get_monotonic_time () - c->down > 3 * G_USEC_PER_SEC) {
    broker_start (c->b);
    c->up = g_get_monotonic_time ();
  }
}

static gboolean
bench_outage (const gchar * clip, const gchar * gallery, Broker * b)
{
  OutageCtl c = { b, 0, 0 };
  Timing t;
  gchar *desc = g_strdup_printf ("filesrc location=\"%s\" ! avidemux ! "
      "jpegdec ! videoconvert ! mtcnnfacedetect ! faceverify %s%s%s ! "
      "faceverifypublish name=pub frame-interval=1 mqtt-qos=1 "
      "flush-timeout=30000 location=mqtt://127.0.0.1:%d/bench/{event} ! "
      "fakesink sync=true", clip, gallery ? "gallery-file=\"" : "",
      gallery ? gallery : "", gallery ? "\"" : "", b->port);
  gdouble longest = 0, longest_down = 0;
  guint i, during = 0;
  gboolean ok;

  timing_init (&t);
  ok = run_pipeline (desc, &t, outage_tick, &c, NULL);
  for (i = 1; i < t.out_us->len; i++) {
    gint64 a = g_array_index (t.out_us, gint64, i - 1);
    gint64 z = g_array_index (t.out_us, gint64, i);
    longest = MAX (longest, (z - a) / 1e3);
    if (z > c.down && z < c.up) {
      longest_down = MAX (longest_down, (z - a) / 1e3);
      during++;
    }
  }
  printf ("outage     broker stopped %.1f s in the middle of the clip "
      "(10 fps, real time): %u frames out while it was down; longest gap "
      "between output buffers %.1f ms while down, %.1f ms in the whole run "
      "(frame period 100 ms); CPU in the element: median %.1f us, max "
      "%.1f us\n", (c.up - c.down) / 1e6, during, longest_down, longest,
      percentile (t.cpu_us, 0.5), percentile (t.cpu_us, 1.0));
  timing_clear (&t);
  g_free (desc);
  return ok;
}

/* --- 3. events per second ------------------------------------------------- */

static GstPadProbeReturn
add_face_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  GstBuffer *buf = gst_buffer_make_writable (GST_PAD_PROBE_INFO_BUFFER (info));
  guint *n = data;
  FvFaceIdMeta *m = fv_buffer_add_face_id_meta (buf, 1, "person01");

  /* a new track every 50 frames: appeared, identified, left */
  m->track_id = *n / 50 + 1;
  m->label_id = 1;
  m->known = TRUE;
  m->similarity = 0.9;
  m->x = 10;
  m->y = 10;
  m->w = 20;
  m->h = 20;
  (*n)++;
  GST_PAD_PROBE_INFO_DATA (info) = buf;
  return GST_PAD_PROBE_OK;
}

static gboolean
bench_rate (Broker * b, guint n_frames, guint qos)
{
  gchar *desc = g_strdup_printf ("fakesrc num-buffers=%u sizetype=fixed "
      "sizemax=3072 filltype=zero ! video/x-raw,format=GRAY8,width=64,"
      "height=48,framerate=1000/1 ! identity name=tag "
      "! faceverifypublish name=pub frame-interval=1 left-after=1 "
      "mqtt-qos=%u max-queue=%u flush-timeout=600000 "
      "location=mqtt://127.0.0.1:%d/rate/{event} ! fakesink sync=false",
      n_frames, qos, 4 * n_frames, b->port);
  GError *err = NULL;
  GstElement *p = gst_parse_launch (desc, &err), *tag, *pub;
  GstPad *pad;
  GstBus *bus;
  GstMessage *m;
  guint n = 0;
  guint64 events = 0, sent = 0;
  gint64 t0, t_eos, t_all;

  g_free (desc);
  if (p == NULL || err) {
    fprintf (stderr, "bench-publish: %s\n", err ? err->message : "?");
    g_clear_error (&err);
    return FALSE;
  }
  tag = gst_bin_get_by_name (GST_BIN (p), "tag");
  pub = gst_bin_get_by_name (GST_BIN (p), "pub");
  pad = gst_element_get_static_pad (tag, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, add_face_probe, &n, NULL);
  gst_object_unref (pad);
  bus = gst_element_get_bus (p);
  gst_element_set_state (p, GST_STATE_PAUSED);
  gst_element_get_state (p, NULL, NULL, GST_CLOCK_TIME_NONE);
  g_usleep (200000);            /* connected */
  t0 = g_get_monotonic_time ();
  gst_element_set_state (p, GST_STATE_PLAYING);
  m = gst_bus_timed_pop_filtered (bus, 600 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  t_eos = g_get_monotonic_time ();
  if (m)
    gst_message_unref (m);
  /* until the broker acknowledged (QoS 1) or took (QoS 0) every event */
  for (t_all = t_eos; t_all - t_eos < 600 * G_USEC_PER_SEC;) {
    GstStructure *s = NULL;
    g_object_get (pub, "stats", &s, NULL);
    gst_structure_get_uint64 (s, "events", &events);
    gst_structure_get_uint64 (s, "sent", &sent);
    gst_structure_free (s);
    t_all = g_get_monotonic_time ();
    if (sent >= events)
      break;
    g_usleep (2000);
  }
  printf ("rate       mqtt-qos=%u: %" G_GUINT64_FORMAT " events of %u frames "
      "sent in %.2f s = %.0f events/s (frames pushed in %.2f s)\n", qos,
      sent, n, (t_all - t0) / 1e6, sent / ((t_all - t0) / 1e6),
      (t_eos - t0) / 1e6);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (tag);
  gst_object_unref (pub);
  gst_object_unref (p);
  return sent == events;
}

static const gchar *
cpu_name (void)
{
  static gchar name[256] = "unknown CPU";
  gchar *info = NULL, *at;

  if (g_file_get_contents ("/proc/cpuinfo", &info, NULL, NULL)
      && (at = strstr (info, "model name"))
      && (at = strchr (at, ':')))
    sscanf (at + 1, " %255[^\n]", name);
  g_free (info);
  return name;
}

int
main (int argc, char **argv)
{
  gint runs = 5, n_events = 20000;
  gchar *gallery = NULL, *clip = NULL, *file;
  GOptionEntry entries[] = {
    {"runs", 0, 0, G_OPTION_ARG_INT, &runs, "Runs per configuration", "N"},
    {"gallery", 0, 0, G_OPTION_ARG_FILENAME, &gallery, "Gallery file", "G"},
    {"clip", 0, 0, G_OPTION_ARG_FILENAME, &clip, "Clip (MJPEG AVI)", "F"},
    {"events", 0, 0, G_OPTION_ARG_INT, &n_events, "Frames of the rate run",
        "N"},
    {NULL}
  };
  GOptionContext *ctx = g_option_context_new ("- faceverifypublish bench");
  Broker b = { 0 };
  gchar *with, *with_frames, *without, *to_file;
  gboolean ok = TRUE;

  if (!fv_plugin_bench_parse ("bench-publish", ctx, entries, &argc, &argv))
    return 2;
  runs = MAX (runs, 1);
  fv_plugin_bench_default_inputs (&clip, &gallery);
  printf ("bench-publish: %s, %u processors; load average at start: ",
      cpu_name (), g_get_num_processors ());
  {
    gchar *load = NULL;
    g_file_get_contents ("/proc/loadavg", &load, NULL, NULL);
    printf ("%s", load ? load : "?\n");
    g_free (load);
  }
  printf ("bench-publish: clip %s, gallery %s\n", clip, gallery ? gallery :
      "(none: every face unknown; run the e2e test to make one)");

  b.dir = g_build_filename (FV_BUILD_DIR, "test-scratch", "bench-publish",
      NULL);
  b.port = free_port ();
  if (!broker_start (&b)) {
    fprintf (stderr, "bench-publish: cannot start mosquitto\n");
    return 1;
  }
  file = g_build_filename (b.dir, "events.jsonl", NULL);
  to_file = g_strdup_printf ("location=\"file://%s\"", file);
  with = g_strdup_printf ("location=mqtt://127.0.0.1:%d/bench/{event}", b.port);
  with_frames = g_strdup_printf ("frame-interval=1 %s", with);
  without = g_strdup_printf ("frame-interval=1 flush-timeout=0 "
      "location=mqtt://127.0.0.1:%d/bench/{event}", free_port ());

  ok &= bench_per_frame (clip, gallery, runs, "file", to_file);
  ok &= bench_per_frame (clip, gallery, runs, "mqtt, broker up", with);
  ok &= bench_per_frame (clip, gallery, runs,
      "mqtt, broker up, frame-interval=1", with_frames);
  ok &= bench_per_frame (clip, gallery, runs,
      "mqtt, no broker, frame-interval=1", without);
  ok &= bench_outage (clip, gallery, &b);
  ok &= bench_rate (&b, n_events, 0);
  ok &= bench_rate (&b, n_events, 1);

  broker_stop (&b);
  g_unlink (file);
  g_free (file);
  g_free (to_file);
  g_free (with);
  g_free (with_frames);
  g_free (without);
  g_free (b.dir);
  g_free (gallery);
  g_free (clip);
  gst_deinit ();
  return ok ? 0 : 1;
}
