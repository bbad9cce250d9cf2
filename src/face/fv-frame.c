/* Frame access: checks frame descriptions and converts regions of them to
 * RGB with libyuv, a row segment at a time, so that only the pixels that
 * are asked for are ever converted. */
#include "fv-face-private.h"

#include <string.h>

#include <libyuv.h>

/* Pixels converted per libyuv call; the temporary row lives on the stack. */
#define ROW_CHUNK 512

static const struct
{
  FvPixelFormat format;
  const char *name;
  guint n_planes;
  guint bpp;                    /* bytes per pixel of plane 0 */
} formats[] = {
  {FV_PIXEL_FORMAT_I420, "I420", 3, 1},
  {FV_PIXEL_FORMAT_NV12, "NV12", 2, 1},
  {FV_PIXEL_FORMAT_RGB, "RGB", 1, 3},
  {FV_PIXEL_FORMAT_BGR, "BGR", 1, 3},
  {FV_PIXEL_FORMAT_RGBx, "RGBx", 1, 4},
  {FV_PIXEL_FORMAT_BGRx, "BGRx", 1, 4},
  {FV_PIXEL_FORMAT_xRGB, "xRGB", 1, 4},
  {FV_PIXEL_FORMAT_xBGR, "xBGR", 1, 4},
  {FV_PIXEL_FORMAT_RGBA, "RGBA", 1, 4},
  {FV_PIXEL_FORMAT_BGRA, "BGRA", 1, 4},
  {FV_PIXEL_FORMAT_ARGB, "ARGB", 1, 4},
  {FV_PIXEL_FORMAT_ABGR, "ABGR", 1, 4},
  {FV_PIXEL_FORMAT_GRAY8, "GRAY8", 1, 1},
};

static int
format_index (FvPixelFormat format)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (formats); i++)
    if (formats[i].format == format)
      return i;
  return -1;
}

/**
 * fv_pixel_format_to_string:
 * @format: a pixel format
 *
 * Returns: (transfer none) (nullable): the GStreamer name of @format
 *   ("I420", "RGBx", ...), or %NULL for an unknown value
 */
const char *
fv_pixel_format_to_string (FvPixelFormat format)
{
  int i = format_index (format);

  return i < 0 ? NULL : formats[i].name;
}

/**
 * fv_pixel_format_from_string:
 * @name: a GStreamer video format name, e.g. "NV12"
 *
 * Returns: the format, or %FV_PIXEL_FORMAT_UNKNOWN if it is not supported
 */
FvPixelFormat
fv_pixel_format_from_string (const char *name)
{
  guint i;

  g_return_val_if_fail (name != NULL, FV_PIXEL_FORMAT_UNKNOWN);
  for (i = 0; i < G_N_ELEMENTS (formats); i++)
    if (strcmp (formats[i].name, name) == 0)
      return formats[i].format;
  return FV_PIXEL_FORMAT_UNKNOWN;
}

/**
 * fv_pixel_format_n_planes:
 * @format: a pixel format
 *
 * Returns: the number of planes of @format (1, 2 or 3), 0 if unknown
 */
guint
fv_pixel_format_n_planes (FvPixelFormat format)
{
  int i = format_index (format);

  return i < 0 ? 0 : formats[i].n_planes;
}

gboolean
fv_frame_check_size (guint width, guint height, GError ** error)
{
  if (width >= 1 && height >= 1 && width <= FV_FRAME_MAX_SIZE
      && height <= FV_FRAME_MAX_SIZE)
    return TRUE;
  g_set_error (error, FV_IMAGE_ERROR, FV_IMAGE_ERROR_SIZE,
      "frame size %ux%u is out of range (1 to %d)", width, height,
      FV_FRAME_MAX_SIZE);
  return FALSE;
}

/**
 * fv_frame_init:
 * @frame: (out caller-allocates): the frame to fill
 * @format: the pixel format
 * @width: width in pixels
 * @height: height in pixels
 * @planes: (array): the plane pointers, as many as the format has
 * @strides: (array): the bytes per row of each plane
 * @error: return location for an %FV_IMAGE_ERROR
 *
 * Describes a frame whose memory stays owned by the caller and must stay
 * valid while the frame is used. Checks that the format is supported
 * (%FV_IMAGE_ERROR_FORMAT), that the size is 1 to %FV_FRAME_MAX_SIZE and
 * that every stride holds a row (%FV_IMAGE_ERROR_SIZE). The matrix is set
 * to %FV_COLOR_MATRIX_BT601; change @frame->matrix afterwards if needed.
 *
 * Returns: %TRUE if @frame is usable
 */
gboolean
fv_frame_init (FvFrame * frame, FvPixelFormat format, guint width,
    guint height, const guint8 * const *planes, const gint * strides,
    GError ** error)
{
  int fi = format_index (format);
  guint i, n;

  g_return_val_if_fail (frame != NULL, FALSE);
  memset (frame, 0, sizeof *frame);
  if (fi < 0) {
    g_set_error (error, FV_IMAGE_ERROR, FV_IMAGE_ERROR_FORMAT,
        "unsupported pixel format %d", (int) format);
    return FALSE;
  }
  if (!fv_frame_check_size (width, height, error))
    return FALSE;
  g_return_val_if_fail (planes != NULL && strides != NULL, FALSE);
  n = formats[fi].n_planes;
  for (i = 0; i < n; i++) {
    gint64 need = i == 0 ? (gint64) (width) * formats[fi].bpp
        : format == FV_PIXEL_FORMAT_NV12 ? ((gint64) width + 1) / 2 * 2
        : ((gint64) width + 1) / 2;
    if (planes[i] == NULL) {
      g_set_error (error, FV_IMAGE_ERROR, FV_IMAGE_ERROR_FORMAT,
          "%s frame: plane %u is missing", formats[fi].name, i);
      return FALSE;
    }
    if (strides[i] < need) {
      g_set_error (error, FV_IMAGE_ERROR, FV_IMAGE_ERROR_SIZE,
          "%s frame %ux%u: stride %d of plane %u is smaller than a row "
          "(%" G_GINT64_FORMAT " bytes)", formats[fi].name, width, height,
          strides[i], i, need);
      return FALSE;
    }
    frame->planes[i] = planes[i];
    frame->strides[i] = strides[i];
  }
  frame->format = format;
  frame->matrix = FV_COLOR_MATRIX_BT601;
  frame->width = width;
  frame->height = height;
  return TRUE;
}

static const struct YuvConstants *
yuv_constants (FvColorMatrix matrix)
{
  switch (matrix) {
    case FV_COLOR_MATRIX_BT709:
      return &kYuvH709Constants;
    case FV_COLOR_MATRIX_BT601_FULL:
      return &kYuvJPEGConstants;
    case FV_COLOR_MATRIX_BT709_FULL:
      return &kYuvF709Constants;
    case FV_COLOR_MATRIX_BT601:
    default:
      return &kYuvI601Constants;
  }
}

/* The packed formats that libyuv converts to ARGB row by row: bytes per
 * pixel and the converter. libyuv names formats by 32-bit word order, the
 * reverse of the memory order used by GStreamer and here. */
typedef struct
{
  FvPixelFormat format;
  guint bpp;
  int (*to_argb) (const uint8_t * src, int src_stride, uint8_t * dst,
      int dst_stride, int width, int height);
} PackedFormat;

static const PackedFormat packed_formats[] = {
  {FV_PIXEL_FORMAT_RGB, 3, RAWToARGB},
  {FV_PIXEL_FORMAT_BGR, 3, RGB24ToARGB},
  {FV_PIXEL_FORMAT_RGBx, 4, ABGRToARGB},
  {FV_PIXEL_FORMAT_RGBA, 4, ABGRToARGB},
  {FV_PIXEL_FORMAT_xRGB, 4, BGRAToARGB},
  {FV_PIXEL_FORMAT_ARGB, 4, BGRAToARGB},
  {FV_PIXEL_FORMAT_xBGR, 4, RGBAToARGB},
  {FV_PIXEL_FORMAT_ABGR, 4, RGBAToARGB},
  {FV_PIXEL_FORMAT_GRAY8, 1, J400ToARGB},
};

static const PackedFormat *
find_packed_format (FvPixelFormat format)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (packed_formats); i++)
    if (packed_formats[i].format == format)
      return &packed_formats[i];
  return NULL;
}

/* Converts @n pixels of row @y from column @x (all inside the frame, n <=
 * ROW_CHUNK) to libyuv ARGB (bytes B, G, R, A). @tmp has room for
 * ROW_CHUNK + 1 pixels. Returns the first converted pixel, which may point
 * into the frame itself when no conversion is needed. */
static const guint8 *
read_argb_row (const FvFrame * f, guint x, guint y, guint n, guint8 * tmp)
{
  const guint8 *p0 = f->planes[0] + (gsize) (y) * f->strides[0];

  switch (f->format) {
    case FV_PIXEL_FORMAT_I420:{
      /* Chroma pairs start at even columns. */
      guint x0 = x & ~1u;
      I420ToARGBMatrix (p0 + x0, 0,
          f->planes[1] + (gsize) (y / 2) * f->strides[1] + x0 / 2, 0,
          f->planes[2] + (gsize) (y / 2) * f->strides[2] + x0 / 2, 0,
          tmp, 0, yuv_constants (f->matrix), n + (x - x0), 1);
      return tmp + 4 * (x - x0);
    }
    case FV_PIXEL_FORMAT_NV12:{
      guint x0 = x & ~1u;
      NV12ToARGBMatrix (p0 + x0, 0,
          f->planes[1] + (gsize) (y / 2) * f->strides[1] + x0, 0,
          tmp, 0, yuv_constants (f->matrix), n + (x - x0), 1);
      return tmp + 4 * (x - x0);
    }
    case FV_PIXEL_FORMAT_BGRx:
    case FV_PIXEL_FORMAT_BGRA:
      return p0 + 4 * x;
    default:{
      const PackedFormat *pf = find_packed_format (f->format);
      if (pf == NULL) {
        memset (tmp, 0, 4 * n);
        return tmp;
      }
      pf->to_argb (p0 + pf->bpp * x, 0, tmp, 0, n, 1);
      return tmp;
    }
  }
}

/* Row @y of @frame's luma, @frame->width bytes: the Y plane itself for
 * I420, NV12 and GRAY8, else converted (libyuv's BT.601 Y) into @scratch,
 * which only grows. */
const guint8 *
fv_frame_luma_row (const FvFrame * frame, guint y, FvScratch * scratch)
{
  const guint8 *p0 = frame->planes[0] + (gsize) y * frame->strides[0];
  guint8 tmp[4 * (ROW_CHUNK + 1)];
  guint8 *dst;
  guint x, n;

  switch (frame->format) {
    case FV_PIXEL_FORMAT_I420:
    case FV_PIXEL_FORMAT_NV12:
    case FV_PIXEL_FORMAT_GRAY8:
      return p0;
    default:
      break;
  }
  dst = fv_scratch_ensure (scratch, frame->width);
  for (x = 0; x < frame->width; x += n) {
    n = MIN (ROW_CHUNK, frame->width - x);
    ARGBToI400 (read_argb_row (frame, x, y, n, tmp), 0, dst + x, 0, n, 1);
  }
  return dst;
}

/**
 * fv_frame_read_rgb:
 * @frame: a frame
 * @x: left column of the region; may be negative
 * @y: top row of the region; may be negative
 * @width: width of the region
 * @height: height of the region
 * @rgb: (out caller-allocates): @height rows of @width packed R, G, B
 *   bytes
 * @rgb_stride: bytes per row of @rgb
 *
 * Converts a region of @frame to packed 8-bit RGB. Pixels of the region
 * outside the frame are black. Only the region is converted. Allocates
 * nothing.
 */
void
fv_frame_read_rgb (const FvFrame * frame, gint x, gint y, guint width,
    guint height, guint8 * rgb, gsize rgb_stride)
{
  guint8 tmp[4 * (ROW_CHUNK + 1)];
  gint64 ix0, ix1;
  guint r;

  g_return_if_fail (frame != NULL && rgb != NULL);
  g_return_if_fail (rgb_stride >= (gsize) (width) * 3);
  ix0 = CLAMP ((gint64) x, 0, (gint64) frame->width);
  ix1 = CLAMP ((gint64) x + width, 0, (gint64) frame->width);
  for (r = 0; r < height; r++) {
    gint64 fy = (gint64) y + r;
    guint8 *dst = rgb + r * rgb_stride;
    guint64 done;

    if (fy < 0 || fy >= frame->height || ix1 <= ix0) {
      memset (dst, 0, (gsize) (width) * 3);
      continue;
    }
    memset (dst, 0, (gsize) (ix0 - x) * 3);
    for (done = ix0; done < (guint64) ix1;) {
      guint n = MIN (ROW_CHUNK, (guint) (ix1 - done));
      const guint8 *argb = read_argb_row (frame, done, fy, n, tmp);
      ARGBToRAW (argb, 0, dst + (done - x) * 3, 0, n, 1);
      done += n;
    }
    memset (dst + (ix1 - x) * 3, 0, (gsize) ((gint64) x + width - ix1) * 3);
  }
}

static void
read_planar_rows (const FvFrame * f, guint x, guint y, guint w, guint h,
    guint8 * r, guint8 * g, guint8 * b, gsize stride)
{
  guint8 tmp[4 * (ROW_CHUNK + 1)];
  guint row, done;

  for (row = 0; row < h; row++) {
    gsize o = row * stride;
    for (done = 0; done < w;) {
      guint n = MIN (ROW_CHUNK, w - done);
      const guint8 *argb = read_argb_row (f, x + done, y + row, n, tmp);
      SplitARGBPlane (argb, 0, r + o + done, 0, g + o + done, 0,
          b + o + done, 0, NULL, 0, n, 1);
      done += n;
    }
  }
}

/* When downscaling, the frame is processed in bands of output rows: the
 * band's source rows are converted to planar RGB in scratch memory, then
 * box-filtered. A band covers at most about 64 source rows, which bounds
 * the scratch memory whatever the scale. */
static guint
band_rows (guint h, guint dh)
{
  return (guint) CLAMP ((guint64) (64) * dh / h, 1, 16);
}

gsize
fv_frame_planar_scratch_size (guint w, guint h, guint dw, guint dh)
{
  if (dw == w && dh == h)
    return 0;
  return (gsize) (3) * w * ((guint64) band_rows (h, dh) * h / dh + 2)
      + fv_scale_scratch_size (w, dw);
}

void
fv_frame_read_planar (const FvFrame * frame, guint x, guint y, guint w,
    guint h, const FvPlanes * dst, guint dw, guint dh, FvScratch * scratch)
{
  guint8 *s, *rows;
  guint oy0, band;

  g_return_if_fail ((guint64) x + w <= frame->width
      && (guint64) y + h <= frame->height);
  g_return_if_fail (dw >= 1 && dh >= 1 && dw <= w && dh <= h);

  if (dw == w && dh == h) {
    read_planar_rows (frame, x, y, w, h, dst->p[0], dst->p[1], dst->p[2],
        dst->stride);
    return;
  }

  s = fv_scratch_ensure (scratch, fv_frame_planar_scratch_size (w, h, dw, dh));
  band = band_rows (h, dh);
  /* the scaler's row buffer after the band */
  rows = s + fv_frame_planar_scratch_size (w, h, dw, dh)
      - fv_scale_scratch_size (w, dw);
  for (oy0 = 0; oy0 < dh; oy0 += band) {
    guint oy1 = MIN (oy0 + band, dh);
    guint sy0 = (guint) ((guint64) (oy0) * h / dh);
    guint sy1 = oy1 == dh ? h : (guint) ((guint64) (oy1) * h / dh);
    gsize plane = (gsize) (w) * (sy1 - sy0);
    guint c;

    read_planar_rows (frame, x, y + sy0, w, sy1 - sy0, s, s + plane,
        s + 2 * plane, w);
    for (c = 0; c < 3; c++)
      fv_scale_plane (s + c * plane, w, w, sy1 - sy0,
          dst->p[c] + oy0 * dst->stride, dst->stride, dw, oy1 - oy0, TRUE,
          rows);
  }
}

guint8 *
fv_scratch_ensure (FvScratch * scratch, gsize size)
{
  if (size > scratch->size) {
    g_free (scratch->data);
    scratch->data = g_malloc (size);
    scratch->size = size;
  }
  return scratch->data;
}

void
fv_scratch_clear (FvScratch * scratch)
{
  g_clear_pointer (&scratch->data, g_free);
  scratch->size = 0;
}
