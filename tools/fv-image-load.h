/* gst-faceverify: face verification on the CPU
 *
 * fv-image-load.h: decoding image files for the command line tool.
 */
#ifndef FV_IMAGE_LOAD_H
#define FV_IMAGE_LOAD_H

#include <glib.h>

G_BEGIN_DECLS

/**
 * FV_IMAGE_LOAD_MAX_PIXELS:
 *
 * The largest image (width x height) that fv_image_load_rgb() decodes;
 * larger ones fail with %FV_IMAGE_ERROR_SIZE before the pixels are decoded.
 */
#define FV_IMAGE_LOAD_MAX_PIXELS (G_GINT64_CONSTANT (1) << 28)

/**
 * fv_image_load_rgb:
 * @path: the image file, in the GLib filename encoding
 * @width: (out): the width in pixels
 * @height: (out): the height in pixels
 * @stride: (out): bytes from one row to the next; always `3 * width` (the
 *   rows are packed)
 * @error: return location for a #GError
 *
 * Decodes an image file of any size with GdkPixbuf (JPEG, PNG, PNM/PGM/PPM,
 * BMP, GIF, TIFF and the other formats it has loaders for; the first frame
 * of an animation) and converts it to 8-bit RGB: grayscale is expanded to
 * three equal channels and an alpha channel is dropped (not composited).
 * The EXIF orientation of JPEG and TIFF files is applied, so the pixels are
 * upright as an image viewer shows them.
 *
 * Errors are in the %FV_IMAGE_ERROR domain: %FV_IMAGE_ERROR_IO when the file
 * cannot be opened or read, %FV_IMAGE_ERROR_DECODE when its contents are not
 * a decodable image (empty, unknown format, corrupt; truncated PNG, PNM,
 * BMP and GIF files are detected, a truncated JPEG is not: libjpeg pads it
 * with grey),
 * %FV_IMAGE_ERROR_SIZE when it has more than %FV_IMAGE_LOAD_MAX_PIXELS
 * pixels, %FV_IMAGE_ERROR_FORMAT for pixel formats other than 8-bit RGB(A).
 * The message does not repeat @path: callers print it as
 * "<path>: <message>".
 *
 * Returns: (transfer full): the pixels, `height` rows of `stride` bytes,
 *   R, G, B for each pixel; free with g_free(). %NULL on error.
 */
guint8 *fv_image_load_rgb (const char *path, int *width, int *height,
    gsize * stride, GError ** error);

G_END_DECLS

#endif /* FV_IMAGE_LOAD_H */
