/* gst-faceverify: face verification on the CPU
 *
 * fv-image-load.c: decoding image files with GdkPixbuf into packed RGB.
 */
#include "fv-image-load.h"

#include <fv.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>

/* The file is fed to the loader in chunks, so that a file of unknown length
 * (a pipe) works and an image that is too large is refused after its
 * header, before its pixels are decoded. */
#define CHUNK_SIZE (64 * 1024)

typedef struct
{
  int width;
  int height;
  gboolean too_large;
  /* One bit per row of the pixbuf that the loader reported as decoded. */
  guint8 *rows_done;
  int rows_height;
} LoadState;

/* Loaders that accept a truncated file without an error and leave the
 * missing rows blank, but report every row they decode with
 * "area-updated", in any order (BMP is bottom-up; RLE BMP reports the rows
 * it skips). For them a missing row means a truncated file. The JPEG loader
 * fills missing rows itself (libjpeg's "premature end of file" is only a
 * warning) and the GIF loader reports truncation, so neither is listed. */
static const char *const row_checked_formats[] = { "png", "pnm", "bmp" };

static void
on_size_prepared (GdkPixbufLoader * loader, int width, int height,
    gpointer user_data)
{
  LoadState *state = user_data;

  state->width = width;
  state->height = height;
  if ((gint64) (width) * height > FV_IMAGE_LOAD_MAX_PIXELS) {
    GdkPixbufFormat *format = gdk_pixbuf_loader_get_format (loader);
    g_autofree char *name =
        format != NULL ? gdk_pixbuf_format_get_name (format) : NULL;

    state->too_large = TRUE;
    /* A size of 0x0 makes the loaders stop with an error before they
     * allocate the pixels (as gdk_pixbuf_get_file_info() does). The signal
     * may come from any write or from the close. The PNM loader fails
     * without an error message then (GdkPixbuf warns about the "bug"): it
     * is stopped by not writing more, and the rows decoded from the current
     * chunk are cheap. */
    if (g_strcmp0 (name, "pnm") != 0)
      gdk_pixbuf_loader_set_size (loader, 0, 0);
  }
}

static void
on_area_updated (GdkPixbufLoader * loader, int x, int y, int width,
    int height, gpointer user_data)
{
  LoadState *state = user_data;
  int row, end;

  if (state->rows_done == NULL) {
    GdkPixbuf *pixbuf = gdk_pixbuf_loader_get_pixbuf (loader);

    if (pixbuf == NULL)
      return;
    state->rows_height = gdk_pixbuf_get_height (pixbuf);
    state->rows_done = g_malloc0 ((state->rows_height + 7) / 8);
  }

  end = MIN (y + height, state->rows_height);
  for (row = MAX (y, 0); row < end; row++)
    state->rows_done[row / 8] |= 1 << (row % 8);
}

/* Returns the number of rows of @pixbuf that were never decoded, or 0 when
 * the format is not checked. */
static int
count_missing_rows (GdkPixbufLoader * loader, GdkPixbuf * pixbuf,
    const LoadState * state)
{
  GdkPixbufFormat *format = gdk_pixbuf_loader_get_format (loader);
  g_autofree char *name = NULL;
  gboolean checked = FALSE;
  int height = gdk_pixbuf_get_height (pixbuf);
  int row, missing = 0;
  gsize i;

  if (format == NULL)
    return 0;
  name = gdk_pixbuf_format_get_name (format);
  for (i = 0; i < G_N_ELEMENTS (row_checked_formats); i++)
    checked |= g_strcmp0 (name, row_checked_formats[i]) == 0;
  if (!checked)
    return 0;
  if (state->rows_done == NULL || state->rows_height != height)
    return height;

  for (row = 0; row < height; row++) {
    if (!(state->rows_done[row / 8] & (1 << (row % 8))))
      missing++;
  }
  return missing;
}

static void
set_too_large_error (const LoadState * state, GError ** error)
{
  g_set_error (error, FV_IMAGE_ERROR, FV_IMAGE_ERROR_SIZE,
      "image too large (%dx%d; at most %" G_GINT64_FORMAT " pixels)",
      state->width, state->height, (gint64) FV_IMAGE_LOAD_MAX_PIXELS);
}

/* Feeds the whole file to @loader and closes it. Returns FALSE with @error
 * set on failure; the loader is closed in every case. */
static gboolean
feed_loader (GdkPixbufLoader * loader, int fd, const LoadState * state,
    GError ** error)
{
  g_autofree guint8 *buf = g_malloc (CHUNK_SIZE);
  g_autoptr (GError) local_error = NULL;
  gsize total = 0;

  for (;;) {
    ssize_t n = read (fd, buf, CHUNK_SIZE);

    if (n < 0) {
      int saved_errno = errno;

      if (saved_errno == EINTR)
        continue;
      gdk_pixbuf_loader_close (loader, NULL);
      g_set_error (error, FV_IMAGE_ERROR, FV_IMAGE_ERROR_IO,
          "cannot read: %s", g_strerror (saved_errno));
      return FALSE;
    }
    if (n == 0)
      break;
    total += n;
    /* A loader that fails a write closes itself. */
    if (!gdk_pixbuf_loader_write (loader, buf, n, &local_error)) {
      if (state->too_large)
        set_too_large_error (state, error);
      else
        g_set_error (error, FV_IMAGE_ERROR, FV_IMAGE_ERROR_DECODE,
            "cannot decode image: %s", local_error->message);
      return FALSE;
    }
    if (state->too_large) {
      gdk_pixbuf_loader_close (loader, NULL);
      set_too_large_error (state, error);
      return FALSE;
    }
  }

  if (total == 0) {
    gdk_pixbuf_loader_close (loader, NULL);
    g_set_error (error, FV_IMAGE_ERROR, FV_IMAGE_ERROR_DECODE,
        "cannot decode image: the file is empty");
    return FALSE;
  }
  if (!gdk_pixbuf_loader_close (loader, &local_error) || state->too_large) {
    if (state->too_large)
      set_too_large_error (state, error);
    else
      g_set_error (error, FV_IMAGE_ERROR, FV_IMAGE_ERROR_DECODE,
          "cannot decode image: %s", local_error->message);
    return FALSE;
  }
  return TRUE;
}

static guint8 *
pixbuf_to_rgb (GdkPixbuf * pixbuf, int *width, int *height, gsize * stride,
    GError ** error)
{
  int w = gdk_pixbuf_get_width (pixbuf);
  int h = gdk_pixbuf_get_height (pixbuf);
  int n_channels = gdk_pixbuf_get_n_channels (pixbuf);
  gsize src_stride = gdk_pixbuf_get_rowstride (pixbuf);
  const guint8 *src = gdk_pixbuf_read_pixels (pixbuf);
  gsize dst_stride, size;
  guint8 *rgb;
  int x, y;

  if (gdk_pixbuf_get_colorspace (pixbuf) != GDK_COLORSPACE_RGB
      || gdk_pixbuf_get_bits_per_sample (pixbuf) != 8
      || (n_channels != 3 && n_channels != 4) || w <= 0 || h <= 0) {
    g_set_error (error, FV_IMAGE_ERROR, FV_IMAGE_ERROR_FORMAT,
        "unsupported pixel format (%d channels of %d bits)", n_channels,
        gdk_pixbuf_get_bits_per_sample (pixbuf));
    return NULL;
  }

  dst_stride = 3 * (gsize) w;
  size = dst_stride * h;
  rgb = g_try_malloc (size);
  if (rgb == NULL) {
    g_set_error (error, FV_IMAGE_ERROR, FV_IMAGE_ERROR_SIZE,
        "image too large (%dx%d): out of memory", w, h);
    return NULL;
  }

  for (y = 0; y < h; y++) {
    const guint8 *s = src + (gsize) (y) * src_stride;
    guint8 *d = rgb + (gsize) (y) * dst_stride;

    if (n_channels == 3) {
      memcpy (d, s, dst_stride);
    } else {
      for (x = 0; x < w; x++, s += 4, d += 3) {
        d[0] = s[0];
        d[1] = s[1];
        d[2] = s[2];
      }
    }
  }

  *width = w;
  *height = h;
  *stride = dst_stride;
  return rgb;
}

/* The whole picture that @loader decoded, turned upright by its EXIF
 * orientation (a new reference), or NULL with @error set (missing or
 * truncated picture, impossible orientation). */
static GdkPixbuf *
decoded_picture (GdkPixbufLoader * loader, LoadState * state, GError ** error)
{
  GdkPixbuf *pixbuf = gdk_pixbuf_loader_get_pixbuf (loader);
  GdkPixbuf *oriented = NULL;
  g_autofree char *problem = NULL;
  int missing;

  if (pixbuf == NULL)
    problem = g_strdup ("no picture in the file");
  else if ((missing = count_missing_rows (loader, pixbuf, state)) > 0)
    problem = g_strdup_printf ("the file is truncated (%d of %d rows "
        "missing)", missing, gdk_pixbuf_get_height (pixbuf));
  else if ((oriented = gdk_pixbuf_apply_embedded_orientation (pixbuf)) == NULL)
    problem = g_strdup ("cannot apply its EXIF orientation");
  if (problem)
    g_set_error (error, FV_IMAGE_ERROR, FV_IMAGE_ERROR_DECODE,
        "cannot decode image: %s", problem);
  return oriented;
}

guint8 *
fv_image_load_rgb (const char *path, int *width, int *height, gsize * stride,
    GError ** error)
{
  g_autoptr (GdkPixbufLoader) loader = NULL;
  g_autoptr (GdkPixbuf) oriented = NULL;
  LoadState state = { 0, 0, FALSE, NULL, 0 };
  guint8 *rgb = NULL;
  struct stat st;
  gboolean ok;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (width != NULL && height != NULL && stride != NULL,
      NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    int saved_errno = errno;

    g_set_error (error, FV_IMAGE_ERROR, FV_IMAGE_ERROR_IO, "cannot open: %s",
        g_strerror (saved_errno));
    return NULL;
  }
  if (fstat (fd, &st) == 0 && S_ISDIR (st.st_mode)) {
    close (fd);
    g_set_error (error, FV_IMAGE_ERROR, FV_IMAGE_ERROR_IO,
        "cannot read: %s", g_strerror (EISDIR));
    return NULL;
  }

  loader = gdk_pixbuf_loader_new ();
  g_signal_connect (loader, "size-prepared", G_CALLBACK (on_size_prepared),
      &state);
  g_signal_connect (loader, "area-updated", G_CALLBACK (on_area_updated),
      &state);
  ok = feed_loader (loader, fd, &state, error);
  close (fd);
  if (!ok)
    goto out;

  oriented = decoded_picture (loader, &state, error);
  if (oriented)
    rgb = pixbuf_to_rgb (oriented, width, height, stride, error);

out:
  g_free (state.rows_done);
  return rgb;
}
