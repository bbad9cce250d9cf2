/* gst-faceverify: what the plugin benchmarks (bench-*.c in tests/plugin)
 * share: GStreamer pointed at the build's plugins with a registry of its
 * own, the command line, and the default clip and gallery. Each program
 * defines FV_TEST_PLUGIN_PATH and FV_TEST_REGISTRY (meson.build). */
#ifndef FV_PLUGIN_BENCH_H
#define FV_PLUGIN_BENCH_H

#include <gst/gst.h>
#include <stdio.h>

#include "fv-config.h"
#include "fv-bench-util.h"

/* Sets up GStreamer's environment and parses the command line with
 * @entries and GStreamer's own options; takes @ctx. FALSE (said on stderr,
 * as @name) for a bad command line: exit with status 2. */
static inline gboolean
fv_plugin_bench_parse (const char *name, GOptionContext * ctx,
    const GOptionEntry * entries, int *argc, char ***argv)
{
  GError *err = NULL;
  gboolean ok;

  g_setenv ("GST_PLUGIN_SYSTEM_PATH_1_0", "", FALSE);
  g_setenv ("GST_PLUGIN_PATH_1_0", FV_TEST_PLUGIN_PATH, FALSE);
  g_setenv ("GST_REGISTRY_1_0", FV_TEST_REGISTRY, FALSE);
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  ok = g_option_context_parse (ctx, argc, argv, &err);
  if (!ok) {
    fprintf (stderr, "%s: %s\n", name, err->message);
    g_error_free (err);
  }
  g_option_context_free (ctx);
  return ok;
}

/* The shared clip, unless *@clip is set; the e2e test's gallery when it
 * exists, unless *@gallery is set. */
static inline void
fv_plugin_bench_default_inputs (gchar ** clip, gchar ** gallery)
{
  if (!*clip)
    *clip = g_build_filename (g_getenv ("FV_SHARED_DIR") ?
        g_getenv ("FV_SHARED_DIR") : FV_DEFAULT_SHARED_DIR, "data", "video",
        "clip_mjpeg.avi", NULL);
  if (!*gallery) {
    gchar *g = g_build_filename (FV_BUILD_DIR, "test-scratch", "plugin-e2e",
        "deepface.db", NULL);

    if (g_file_test (g, G_FILE_TEST_EXISTS))
      *gallery = g;
    else
      g_free (g);
  }
}

/* The thread CPU time an element spends on buffers: a probe on its sink
 * pad starts the clock (fv_plugin_bench_clock_enter(), with the clock as
 * the probe's data), one on its source pad adds the time since
 * (fv_plugin_bench_clock_leave()). */
typedef struct
{
  gint64 enter_ns;
  gint64 total_ns;
} FvPluginBenchClock;

static inline GstPadProbeReturn
fv_plugin_bench_clock_enter (GstPad * pad, GstPadProbeInfo * info,
    gpointer data)
{
  ((FvPluginBenchClock *) data)->enter_ns = (gint64) fv_bench_thread_cpu_ns ();
  return GST_PAD_PROBE_OK;
}

static inline void
fv_plugin_bench_clock_leave (FvPluginBenchClock * c)
{
  c->total_ns += (gint64) fv_bench_thread_cpu_ns () - c->enter_ns;
}

/* Times the buffers through @e on @clock; @leave (with @data) runs on
 * its source pad and must call fv_plugin_bench_clock_leave(). */
static inline void
fv_plugin_bench_clock_watch (GstElement * e, FvPluginBenchClock * clock,
    GstPadProbeCallback leave, gpointer data)
{
  GstPad *sink = gst_element_get_static_pad (e, "sink");
  GstPad *src = gst_element_get_static_pad (e, "src");

  gst_pad_add_probe (sink, GST_PAD_PROBE_TYPE_BUFFER,
      fv_plugin_bench_clock_enter, clock, NULL);
  gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_BUFFER, leave, data, NULL);
  gst_object_unref (sink);
  gst_object_unref (src);
}

/* Plays @desc (gst-launch syntax) to its end; first hands the element
 * named "watched" (if any) to @watch. Takes nothing; FALSE (said on
 * stderr, as @name) when it does not parse or ends in an error. */
static inline gboolean
fv_plugin_bench_play (const char *name, const char *desc,
    void (*watch) (GstElement * e, gpointer data), gpointer data)
{
  GError *err = NULL;
  GstElement *p = gst_parse_launch (desc, &err), *e;
  GstBus *bus;
  GstMessage *m;
  gboolean ok;

  if (err) {
    fprintf (stderr, "%s: %s\n", name, err->message);
    g_error_free (err);
    if (p)
      gst_object_unref (p);
    return FALSE;
  }
  e = gst_bin_get_by_name (GST_BIN (p), "watched");
  if (e) {
    watch (e, data);
    gst_object_unref (e);
  }
  gst_element_set_state (p, GST_STATE_PLAYING);
  bus = gst_element_get_bus (p);
  m = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  ok = m && GST_MESSAGE_TYPE (m) == GST_MESSAGE_EOS;
  if (m)
    gst_message_unref (m);
  gst_object_unref (bus);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (p);
  return ok;
}

#endif /* FV_PLUGIN_BENCH_H */
