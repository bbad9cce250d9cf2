// main() of the end-to-end tests: an isolated GStreamer registry with the
// build's plugin and only the stock plugins that the demo and the examples
// use (linked into FV_E2E_STOCK_DIR), then GoogleTest.
//
// The list says what a user needs installed, and keeps the registry scan
// short.
#include <gtest/gtest.h>
#include <glib/gstdio.h>
#include <gst/gst.h>

#include <errno.h>
#include <string>
#include <unistd.h>

// In the sanitizer build: when a process has made 2048 GQuarks (a registry
// scan does), GLib replaces its first quark block, allocated in its library
// constructor, and drops the old one on purpose. LeakSanitizer reports it;
// it is suppressed by its origin, a library constructor, which needs full
// stacks (glib has no frame pointers). Only this process: the programs the
// tests start keep the fast default.
extern "C" const char *
__asan_default_options ()
{
  return "fast_unwind_on_malloc=0";
}

extern "C" const char *
__lsan_default_suppressions ()
{
  return "leak:_dl_init\n";
}

static const char *kStockPlugins[] = {
  "coreelements", "app", "playback", "typefindfunctions", "autodetect",
  "videoconvertscale", "videofilter", "jpeg", "png", "avi", "multifile",
  "video4linux2", "rtsp", "rtpmanager", "rtp", "udp", "ximagesink",
  "xvimagesink",
};

int
main (int argc, char **argv)
{
  g_mkdir_with_parents (FV_E2E_STOCK_DIR, 0755);
  for (const char *name : kStockPlugins) {
    std::string file = std::string ("libgst") + name + ".so";
    g_autofree char *target = g_build_filename (FV_GST_SYSTEM_PLUGIN_DIR,
        file.c_str (), NULL);
    g_autofree char *link = g_build_filename (FV_E2E_STOCK_DIR, file.c_str (),
        NULL);
    if (g_file_test (target, G_FILE_TEST_EXISTS)
        && !g_file_test (link, G_FILE_TEST_EXISTS)) {
      g_unlink (link);            // a dangling link from an older system
      if (symlink (target, link) != 0)
        g_printerr ("cannot link %s: %s\n", link, g_strerror (errno));
    }
  }

  // meson sets these; the defaults let the binary run by hand too
  g_setenv ("GST_PLUGIN_SYSTEM_PATH_1_0", "", FALSE);
  g_setenv ("GST_PLUGIN_PATH_1_0", FV_TEST_PLUGIN_PATH, FALSE);
  g_setenv ("GST_REGISTRY_1_0", FV_TEST_REGISTRY, FALSE);
  g_setenv ("GST_REGISTRY_FORK", "no", FALSE);

  gst_init (&argc, &argv);
  testing::InitGoogleTest (&argc, argv);
  int ret = RUN_ALL_TESTS ();
  gst_deinit ();
  return ret;
}
