/* gst-faceverify: what the plugin benchmarks (bench-*.c in tests/plugin)
 * share: GStreamer pointed at the build's plugins with a registry of its
 * own, the command line, and the default clip and gallery. Each program
 * defines FV_TEST_PLUGIN_PATH and FV_TEST_REGISTRY (meson.build). */
#ifndef FV_PLUGIN_BENCH_H
#define FV_PLUGIN_BENCH_H

#include <gst/gst.h>
#include <stdio.h>

#include "fv-config.h"

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

#endif /* FV_PLUGIN_BENCH_H */
