// main() of the plugin tests: an isolated GStreamer registry (only the
// build's plugin, plus the stock plugins the end-to-end tests need), then
// GoogleTest, then gst_deinit() so leak checkers see a clean exit.
#include <gtest/gtest.h>
#include <gst/gst.h>

#include "fv-plugin-test.h"

// Removes a folder and what it holds.
static void
RemoveTree (const std::string &dir)
{
  GDir *d = g_dir_open (dir.c_str (), 0, NULL);
  if (d) {
    const char *n;
    while ((n = g_dir_read_name (d))) {
      std::string p = dir + "/" + n;
      if (g_file_test (p.c_str (), G_FILE_TEST_IS_DIR)
          && !g_file_test (p.c_str (), G_FILE_TEST_IS_SYMLINK))
        RemoveTree (p);
      else
        g_unlink (p.c_str ());
    }
    g_dir_close (d);
  }
  g_rmdir (dir.c_str ());
}

int
main (int argc, char **argv)
{
  // meson sets these; the defaults let the binary run by hand too
  g_setenv ("GST_PLUGIN_SYSTEM_PATH_1_0", "", FALSE);
  g_setenv ("GST_PLUGIN_PATH_1_0", FV_TEST_PLUGIN_PATH, FALSE);
  g_setenv ("GST_REGISTRY_1_0", FV_TEST_REGISTRY, FALSE);
  // scan in this process: a sanitized plugin cannot load in the scanner
  g_setenv ("GST_REGISTRY_FORK", "no", FALSE);

  gst_init (&argc, &argv);
  testing::InitGoogleTest (&argc, argv);
  int ret = RUN_ALL_TESTS ();
  RemoveTree (fvplug::PluginScratch ());
  gst_deinit ();
  return ret;
}
