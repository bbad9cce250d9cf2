/* Benchmark of many cameras in one process: the shared clip through N
 * pipelines at once,
 *
 *   filesrc ! avidemux ! jpegdec ! videoconvert ! mtcnnfacedetect
 *     ! faceverify ! fakesink sync=false        (N times, one process)
 *
 * for N = 1, 4 and 8. Each N runs in a child process of its own (this
 * program started again with --child N), so that one N's freed memory does
 * not hide the next one's growth. Prints per N the medians over the runs
 * of the process CPU time (getrusage, user + system: on a busy machine
 * wall time also counts other programs) per frame, its ratio to one
 * stream's (N streams cost N times one stream when the ratio is 1.00), the
 * resident memory at the end of the run (all N pipelines still alive),
 * its growth per extra stream against N = 1, the threads of the process
 * and the models loaded (faceverify's loaded-models). A program, not a
 * test.
 *
 *   bench-streams [--streams 1,4,8] [--runs N] [--threads T]
 *                 [--gallery G.db] [--clip clip.avi] [--stage S]
 *                 [--reidentify-interval K]
 *
 * --stage decode runs the pipelines without our elements (what GStreamer's
 * decoding costs per stream), detect without faceverify. 
 */
#include <gst/gst.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "fv-config.h"
#include "fv-bench-util.h"
#include "fv-plugin-bench.h"

#define MAX_STREAMS 64

typedef struct
{
  double cpu_ms_per_frame;
  double rss_mb;
  double frames;
  double threads;
  double models;
} ChildResult;

/* A field "Name:   value kB" of /proc/self/status, or -1. */
static gint64
proc_status (const char *name)
{
  g_autofree gchar *text = NULL;
  const char *p;
  gsize n = strlen (name);

  if (!g_file_get_contents ("/proc/self/status", &text, NULL, NULL))
    return -1;
  for (p = text; p && *p; p = strchr (p, '\n') ? strchr (p, '\n') + 1 : NULL)
    if (strncmp (p, name, n) == 0 && p[n] == ':')
      return g_ascii_strtoll (p + n + 1, NULL, 10);
  return -1;
}

static gint frames_out;

static GstPadProbeReturn
count_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  g_atomic_int_inc (&frames_out);
  return GST_PAD_PROBE_OK;
}

/* Waits for EOS or an error on @p; FALSE on error. */
static gboolean
wait_eos (GstElement * p)
{
  GstBus *bus = gst_element_get_bus (p);
  GstMessage *m = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  gboolean ok = m && GST_MESSAGE_TYPE (m) == GST_MESSAGE_EOS;

  if (m && !ok) {
    GError *err = NULL;
    gst_message_parse_error (m, &err, NULL);
    fprintf (stderr, "bench-streams: %s\n", err->message);
    g_error_free (err);
  }
  if (m)
    gst_message_unref (m);
  gst_object_unref (bus);
  return ok;
}

/* N pipelines in this process; prints one "child:" line. */
static int
run_child (guint n, const char *desc)
{
  GstElement *p[MAX_STREAMS];
  guint64 cpu0, cpu1;
  guint models = 0, i;
  gboolean ok = TRUE;

  for (i = 0; i < n; i++) {
    GError *err = NULL;
    GstElement *fv;
    GstPad *pad;

    p[i] = gst_parse_launch (desc, &err);
    if (err) {
      fprintf (stderr, "bench-streams: %s\n", err->message);
      return 1;
    }
    fv = gst_bin_get_by_name (GST_BIN (p[i]), "fv");
    pad = gst_element_get_static_pad (fv, "src");
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_probe, NULL, NULL);
    gst_object_unref (pad);
    gst_object_unref (fv);
  }
  /* models loaded and the first frame through before the clock starts */
  for (i = 0; i < n; i++)
    gst_element_set_state (p[i], GST_STATE_PAUSED);
  for (i = 0; i < n; i++)
    if (gst_element_get_state (p[i], NULL, NULL, GST_CLOCK_TIME_NONE) ==
        GST_STATE_CHANGE_FAILURE)
      return 1;
  g_atomic_int_set (&frames_out, 0);
  cpu0 = fv_bench_process_cpu_ns ();
  for (i = 0; i < n; i++)
    gst_element_set_state (p[i], GST_STATE_PLAYING);
  for (i = 0; i < n; i++)
    ok &= wait_eos (p[i]);
  cpu1 = fv_bench_process_cpu_ns ();
  {
    GstElement *fv = gst_bin_get_by_name (GST_BIN (p[0]), "fv");
    if (g_object_class_find_property (G_OBJECT_GET_CLASS (fv),
            "loaded-models") != NULL)
      g_object_get (fv, "loaded-models", &models, NULL);
    gst_object_unref (fv);
  }
  printf ("child: frames=%d cpu_ns=%" G_GUINT64_FORMAT " rss_kb=%"
      G_GINT64_FORMAT " threads=%" G_GINT64_FORMAT " models=%u\n",
      g_atomic_int_get (&frames_out), cpu1 - cpu0, proc_status ("VmRSS"),
      proc_status ("Threads"), models);
  for (i = 0; i < n; i++) {
    gst_element_set_state (p[i], GST_STATE_NULL);
    gst_object_unref (p[i]);
  }
  return ok ? 0 : 1;
}

static gboolean
spawn_child (const char *self, guint n, guint threads, const char *gallery,
    const char *clip, const char *stage, gint reid_k, ChildResult * r)
{
  g_autofree gchar *reid = g_strdup_printf ("%d", reid_k);
  g_autofree gchar *ns = g_strdup_printf ("%u", n);
  g_autofree gchar *ts = g_strdup_printf ("%u", threads);
  g_autofree gchar *out = NULL;
  g_autoptr (GError) err = NULL;
  const char *argv[16];
  const char *line;
  gint status = 0, frames = 0, threads_now = 0;
  guint64 cpu = 0;
  gint64 rss = 0;
  guint models = 0, k = 0;

  argv[k++] = self;
  argv[k++] = "--child";
  argv[k++] = ns;
  argv[k++] = "--threads";
  argv[k++] = ts;
  argv[k++] = "--clip";
  argv[k++] = clip;
  argv[k++] = "--stage";
  argv[k++] = stage;
  argv[k++] = "--reidentify-interval";
  argv[k++] = reid;
  if (gallery) {
    argv[k++] = "--gallery";
    argv[k++] = gallery;
  }
  argv[k] = NULL;
  if (!g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_DEFAULT, NULL,
          NULL, &out, NULL, &status, &err)
      || !g_spawn_check_wait_status (status, &err)) {
    fprintf (stderr, "bench-streams: %u streams: %s\n", n, err->message);
    return FALSE;
  }
  line = strstr (out, "child: ");
  if (!line || sscanf (line, "child: frames=%d cpu_ns=%" G_GUINT64_FORMAT
          " rss_kb=%" G_GINT64_FORMAT " threads=%d models=%u", &frames, &cpu,
          &rss, &threads_now, &models) != 5 || frames <= 0) {
    fprintf (stderr, "bench-streams: %u streams: no result\n", n);
    return FALSE;
  }
  r->frames = frames;
  r->cpu_ms_per_frame = cpu / 1e6 / frames;
  r->rss_mb = rss / 1024.0;
  r->threads = threads_now;
  r->models = models;
  return TRUE;
}

int
main (int argc, char **argv)
{
  gint runs = 3, child = 0, threads = 1, reid = 0;
  gchar *gallery = NULL, *clip = NULL, *streams = NULL, *stage = NULL;
  GOptionEntry entries[] = {
    {"streams", 0, 0, G_OPTION_ARG_STRING, &streams,
        "Stream counts to run (default 1,4,8)", "LIST"},
    {"runs", 0, 0, G_OPTION_ARG_INT, &runs, "Runs per stream count", "N"},
    {"threads", 0, 0, G_OPTION_ARG_INT, &threads,
        "threads property of both elements (default 1)", "T"},
    {"reidentify-interval", 0, 0, G_OPTION_ARG_INT, &reid,
        "reidentify-interval of faceverify (default: the element's)", "K"},
    {"gallery", 0, 0, G_OPTION_ARG_FILENAME, &gallery, "Gallery file", "G"},
    {"clip", 0, 0, G_OPTION_ARG_FILENAME, &clip, "Clip (MJPEG AVI)", "F"},
    {"stage", 0, 0, G_OPTION_ARG_STRING, &stage, "How much of the pipeline: "
          "decode (no element of ours), detect, all (default)", "S"},
    {"child", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &child, NULL, NULL},
    {NULL}
  };
  GOptionContext *ctx = g_option_context_new ("- many streams, one process");
  g_auto (GStrv) counts = NULL;
  g_autofree gchar *desc = NULL;
  g_autofree gchar *reid_opt = g_strdup ("");
  double one_cpu = 0, one_rss = 0;
  guint c;

  if (!fv_plugin_bench_parse ("bench-streams", ctx, entries, &argc, &argv))
    return 2;
  runs = MAX (runs, 1);
  threads = MAX (threads, 0);
  fv_plugin_bench_default_inputs (&clip, &gallery);
  if (!stage)
    stage = g_strdup ("all");
  if (reid > 0) {
    g_free (reid_opt);
    reid_opt = g_strdup_printf ("reidentify-interval=%d", reid);
  }
  if (g_str_equal (stage, "decode"))
    desc = g_strdup_printf ("filesrc location=\"%s\" ! avidemux ! jpegdec "
        "! videoconvert ! identity name=fv ! fakesink sync=false", clip);
  else if (g_str_equal (stage, "detect"))
    desc = g_strdup_printf ("filesrc location=\"%s\" ! avidemux ! jpegdec "
        "! videoconvert ! mtcnnfacedetect name=fv threads=%d ! fakesink "
        "sync=false", clip, threads);
  else
    desc = g_strdup_printf ("filesrc location=\"%s\" ! avidemux ! jpegdec "
        "! videoconvert ! mtcnnfacedetect threads=%d ! faceverify name=fv "
        "threads=%d %s%s%s%s ! fakesink sync=false", clip, threads, threads,
        gallery ? "gallery-file=\"" : "", gallery ? gallery : "",
        gallery ? "\" " : "", reid_opt);
  if (child > 0)
    return run_child (MIN ((guint) child, MAX_STREAMS), desc);

  {
    GstPlugin *plugin = gst_registry_find_plugin (gst_registry_get (),
        "faceverify");
    printf ("bench-streams: plugin %s\n", plugin ?
        gst_plugin_get_filename (plugin) : "(not found)");
    if (plugin)
      gst_object_unref (plugin);
  }
  printf ("bench-streams: clip %s, gallery %s, stage %s, threads=%d, %u "
      "processors, %d run(s) per count (medians)\n", clip, gallery ? gallery :
      "(none)", stage, threads, g_get_num_processors (), runs);
  printf ("%7s %7s %14s %13s %8s %16s %8s %7s\n", "streams", "frames",
      "CPU ms/frame", "vs N x one", "RSS MB", "MB/extra stream", "threads",
      "models");
  counts = g_strsplit (streams ? streams : "1,4,8", ",", -1);
  for (c = 0; counts[c]; c++) {
    guint n = (guint) g_ascii_strtoull (counts[c], NULL, 10);
    g_autofree double *cpu = g_new (double, runs);
    g_autofree double *rss = g_new (double, runs);
    ChildResult r = { 0 };
    double mc, mr;
    gint i;

    if (n < 1 || n > MAX_STREAMS)
      continue;
    for (i = 0; i < runs; i++) {
      if (!spawn_child (argv[0], n, threads, gallery, clip, stage, reid, &r))
        return 1;
      cpu[i] = r.cpu_ms_per_frame;
      rss[i] = r.rss_mb;
    }
    mc = fv_bench_stats (cpu, runs).median;
    mr = fv_bench_stats (rss, runs).median;
    if (n == 1) {
      one_cpu = mc;
      one_rss = mr;
    }
    if (n > 1 && one_cpu > 0)
      printf ("%7u %7.0f %14.2f %13.3f %8.1f %16.2f %8.0f %7.0f\n", n,
          r.frames, mc, mc / one_cpu, mr, (mr - one_rss) / (n - 1),
          r.threads, r.models);
    else
      printf ("%7u %7.0f %14.2f %13s %8.1f %16s %8.0f %7.0f\n", n,
          r.frames, mc, n == 1 ? "1.000" : "-", mr, "-", r.threads, r.models);
  }
  g_free (gallery);
  g_free (clip);
  g_free (streams);
  g_free (stage);
  return 0;
}
