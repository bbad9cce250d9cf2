// gst-faceverify tests: images decoded for the face tests (GdkPixbuf).
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>

#include <string>
#include <vector>

namespace fvtest {

// Decodes an image file to packed RGB (3 bytes a pixel, rows of w * 3),
// upright (EXIF orientation applied). False if it cannot be read.
inline bool
LoadRgb (const std::string &path, int *w, int *h, std::vector<guint8> *rgb)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkPixbuf) raw = gdk_pixbuf_new_from_file (path.c_str (),
      &error);
  if (!raw)
    return false;
  g_autoptr (GdkPixbuf) pb = gdk_pixbuf_apply_embedded_orientation (raw);
  *w = gdk_pixbuf_get_width (pb);
  *h = gdk_pixbuf_get_height (pb);
  const int nch = gdk_pixbuf_get_n_channels (pb);
  const int stride = gdk_pixbuf_get_rowstride (pb);
  const guint8 *px = gdk_pixbuf_read_pixels (pb);
  rgb->resize ((size_t) *w * *h * 3);
  for (int y = 0; y < *h; y++)
    for (int x = 0; x < *w; x++)
      for (int c = 0; c < 3; c++)
        (*rgb)[((size_t) y * *w + x) * 3 + c] =
            px[(size_t) y * stride + x * nch + c];
  return true;
}

}  // namespace fvtest
