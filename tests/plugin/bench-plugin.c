/* Benchmark of the plugin on the shared clip:
 *
 *   filesrc ! avidemux ! jpegdec ! videoconvert ! mtcnnfacedetect
 *     ! faceverify ! fakesink sync=false
 *
 * Prints, per configuration, the median over several runs of the frames
 * per second (wall clock) and of the CPU time spent in detection and in
 * verification (thread CPU time between each element's sink and src pad),
 * and their ratio. A program, not a test.
 *
 *   bench-plugin [--runs N] [--gallery G.db] [--clip clip.avi]
 */
#include <gst/gst.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fv-config.h"
#include "fv.h"
#include "fv-bench-util.h"
#include "fv-plugin-bench.h"

typedef struct
{
  FvPluginBenchClock clock;
  guint frames;
} ElementTime;

static GstPadProbeReturn
leave_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  ElementTime *t = data;
  fv_plugin_bench_clock_leave (&t->clock);
  t->frames++;
  return GST_PAD_PROBE_OK;
}

static void
watch (GstElement * pipeline, const char *name, ElementTime * t)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (pipeline), name);

  fv_plugin_bench_clock_watch (e, &t->clock, leave_probe, t);
  gst_object_unref (e);
}

typedef struct
{
  double fps;
  double det_ms;                /* per frame */
  double ver_ms;
  guint frames;
} RunStats;

static gboolean
run_once (const char *desc, RunStats * out)
{
  GError *err = NULL;
  GstElement *p = gst_parse_launch (desc, &err);
  ElementTime det = { 0 }, ver = { 0 };
  GstBus *bus;
  GstMessage *m;
  gint64 t0, t1;
  gboolean ok;

  if (!p) {
    fprintf (stderr, "bench-plugin: %s\n", err->message);
    g_error_free (err);
    return FALSE;
  }
  watch (p, "det", &det);
  watch (p, "fv", &ver);
  /* load the models before the clock starts */
  gst_element_set_state (p, GST_STATE_PAUSED);
  gst_element_get_state (p, NULL, NULL, GST_CLOCK_TIME_NONE);
  t0 = g_get_monotonic_time ();
  gst_element_set_state (p, GST_STATE_PLAYING);
  bus = gst_element_get_bus (p);
  m = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  t1 = g_get_monotonic_time ();
  ok = m && GST_MESSAGE_TYPE (m) == GST_MESSAGE_EOS;
  if (m && !ok) {
    gst_message_parse_error (m, &err, NULL);
    fprintf (stderr, "bench-plugin: %s\n", err->message);
    g_error_free (err);
  }
  if (m)
    gst_message_unref (m);
  gst_object_unref (bus);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (p);

  /* frames counted on the verifier's src pad (the first one includes
   * pre-roll, which the clock started after) */
  out->frames = ver.frames;
  out->fps = ver.frames / ((t1 - t0) / 1e6);
  out->det_ms = det.frames ? det.clock.total_ns / 1e6 / det.frames : 0;
  out->ver_ms = ver.frames ? ver.clock.total_ns / 1e6 / ver.frames : 0;
  return ok;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
median (double *v, guint n)
{
  qsort (v, n, sizeof (double), cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int
main (int argc, char **argv)
{
  gint runs = 5;
  gchar *gallery = NULL, *clip = NULL;
  GOptionEntry entries[] = {
    {"runs", 0, 0, G_OPTION_ARG_INT, &runs, "Runs per configuration", "N"},
    {"gallery", 0, 0, G_OPTION_ARG_FILENAME, &gallery, "Gallery file", "G"},
    {"clip", 0, 0, G_OPTION_ARG_FILENAME, &clip, "Clip (MJPEG AVI)", "F"},
    {NULL}
  };
  const char *configs[][2] = {
    {"default", ""},
    {"reidentify-interval=10", "reidentify-interval=10"},
    {"detection-interval=2", "DETECT detection-interval=2"},
  };
  GOptionContext *ctx = g_option_context_new ("- plugin benchmark");
  guint c;

  if (!fv_plugin_bench_parse ("bench-plugin", ctx, entries, &argc, &argv))
    return 2;
  if (runs < 1)
    runs = 1;
  fv_plugin_bench_default_inputs (&clip, &gallery);

  {
    gchar *mf = fv_find_model ("MobileFaceNet.tflite");
    FvModel *m = mf ? fv_model_new_from_file (mf, NULL) : NULL;
    printf ("bench-plugin: clip %s\n", clip);
    printf ("bench-plugin: gallery %s\n", gallery ? gallery :
        "(none: every face unknown; run the e2e test to make one)");
    printf ("bench-plugin: CPU level %s, %u processors; MobileFaceNet "
        "kernels: %s\n", fv_isa_name (fv_isa_best ()),
        g_get_num_processors (), m ? fv_model_describe_kernels (m) : "?");
    if (m)
      fv_model_unref (m);
    g_free (mf);
  }

  for (c = 0; c < G_N_ELEMENTS (configs); c++) {
    double *fps = g_new (double, runs), *det = g_new (double, runs),
        *ver = g_new (double, runs);
    const char *opt = configs[c][1];
    gboolean det_opt = g_str_has_prefix (opt, "DETECT ");
    gchar *desc;
    guint frames = 0;
    gint r;

    desc = g_strdup_printf ("filesrc location=\"%s\" ! avidemux ! jpegdec ! "
        "videoconvert ! mtcnnfacedetect name=det %s ! faceverify name=fv "
        "%s%s%s %s ! fakesink sync=false", clip, det_opt ? opt + 7 : "",
        gallery ? "gallery-file=\"" : "", gallery ? gallery : "",
        gallery ? "\"" : "", det_opt ? "" : opt);
    for (r = 0; r < runs; r++) {
      RunStats s;
      if (!run_once (desc, &s))
        return 1;
      fps[r] = s.fps;
      det[r] = s.det_ms;
      ver[r] = s.ver_ms;
      frames = s.frames;
    }
    {
      double mf = median (fps, runs), md = median (det, runs),
          mv = median (ver, runs);
      printf ("config %-24s frames %u  fps %.1f  detection %.2f ms/frame  "
          "verification %.2f ms/frame  detection share %.0f%%\n",
          configs[c][0], frames, mf, md, mv, 100.0 * md / (md + mv));
      if (c == 0)
        printf ("bench: fps=%.1f det_ms=%.2f ver_ms=%.2f\n", mf, md, mv);
    }
    g_free (desc);
    g_free (fps);
    g_free (det);
    g_free (ver);
  }
  g_free (gallery);
  g_free (clip);
  gst_deinit ();
  return 0;
}
