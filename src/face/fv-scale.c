/* Plane scaling for the detector and the frame reader, allocation-free.
 *
 * libyuv's ScalePlane() is what we want (the nets were trained on
 * area-averaged images, which its box filter gives), but three of its
 * paths, the box filter for ratios below 1/2 and the bilinear filter up
 * and down for other ratios, malloc() a row buffer in every call; its API
 * takes no scratch memory. Its other paths (copy, vertical only, 3/4,
 * 1/2, 3/8, 1/4, 2x) allocate nothing. So we take ScalePlane()'s choice
 * of path (same ScaleFilterReduce(), same tests in the same order) and
 * run the three allocating paths ourselves with the caller's buffer,
 * through libyuv's exported row functions chosen as libyuv chooses them
 * (x86 and NEON; elsewhere the C rows): the pixels are the ones
 * ScalePlane() writes (tests/unit/test-face-scale.cc compares them), at
 * the same speed, and we write no scaling kernel. */
#include "fv-face-private.h"

#include <string.h>

#include <libyuv.h>
#include <libyuv/row.h>
#include <libyuv/scale_row.h>

#define ALIGN 64

gsize
fv_scale_scratch_size (guint src_width, guint dst_width)
{
  /* box: a row of 16-bit sums; bilinear down: one source row; bilinear
   * up: two destination rows of 32-byte multiples. Then room to align
   * and for the SIMD tails. */
  gsize box = (gsize) src_width * 2;
  gsize up = (((gsize) dst_width + 31) & ~(gsize) 31) * 2;

  return MAX (box, up) + 2 * ALIGN;
}

static inline guint8 *
align_up (guint8 * p)
{
  return (guint8 *) (((guintptr) p + ALIGN - 1) & ~(guintptr) (ALIGN - 1));
}

typedef void (*AddRowFunc) (const uint8_t * src, uint16_t * dst, int width);
typedef void (*InterpolateFunc) (uint8_t * dst, const uint8_t * src,
    ptrdiff_t src_stride, int width, int fraction);
typedef void (*FilterColsFunc) (uint8_t * dst, const uint8_t * src,
    int dst_width, int x, int dx);

static AddRowFunc
pick_add_row (int width)
{
  AddRowFunc f = ScaleAddRow_C;

#if defined(HAS_SCALEADDROW_SSE2)
  if (TestCpuFlag (kCpuHasSSE2))
    f = (width % 16) ? ScaleAddRow_Any_SSE2 : ScaleAddRow_SSE2;
#endif
#if defined(HAS_SCALEADDROW_AVX2)
  if (TestCpuFlag (kCpuHasAVX2))
    f = (width % 32) ? ScaleAddRow_Any_AVX2 : ScaleAddRow_AVX2;
#endif
#if defined(HAS_SCALEADDROW_NEON)
  if (TestCpuFlag (kCpuHasNEON))
    f = (width % 16) ? ScaleAddRow_Any_NEON : ScaleAddRow_NEON;
#endif
  (void) width;
  return f;
}

static InterpolateFunc
pick_interpolate (int width)
{
  InterpolateFunc f = InterpolateRow_C;

#if defined(HAS_INTERPOLATEROW_SSSE3)
  if (TestCpuFlag (kCpuHasSSSE3))
    f = (width % 16) ? InterpolateRow_Any_SSSE3 : InterpolateRow_SSSE3;
#endif
#if defined(HAS_INTERPOLATEROW_AVX2)
  if (TestCpuFlag (kCpuHasAVX2))
    f = (width % 32) ? InterpolateRow_Any_AVX2 : InterpolateRow_AVX2;
#endif
#if defined(HAS_INTERPOLATEROW_NEON)
  if (TestCpuFlag (kCpuHasNEON))
    f = (width % 16) ? InterpolateRow_Any_NEON : InterpolateRow_NEON;
#endif
  (void) width;
  return f;
}

static FilterColsFunc
pick_filter_cols (int src_width, int dst_width)
{
  FilterColsFunc f = src_width >= 32768 ? ScaleFilterCols64_C :
      ScaleFilterCols_C;

#if defined(HAS_SCALEFILTERCOLS_SSSE3)
  if (TestCpuFlag (kCpuHasSSSE3) && src_width < 32768)
    f = ScaleFilterCols_SSSE3;
#endif
#if defined(HAS_SCALEFILTERCOLS_NEON)
  if (TestCpuFlag (kCpuHasNEON) && src_width < 32768)
    f = (dst_width % 8) ? ScaleFilterCols_Any_NEON : ScaleFilterCols_NEON;
#endif
  (void) dst_width;
  return f;
}

/* One output row of the box filter from @sums, the column sums of
 * @box_h source rows: each output pixel averages the columns it covers
 * (in 16.16 fixed point from @x by @dx), by multiplying with a reciprocal
 * as libyuv does, so that the pixels are libyuv's. */
static void
box_cols (const guint16 * sums, int dst_width, int box_h, int x, int dx,
    guint8 * dst)
{
  int min_w = MAX (dx >> 16, 1), i;
  guint32 inv[2];

  inv[0] = 65536 / (min_w * box_h);
  inv[1] = 65536 / ((min_w + 1) * box_h);
  for (i = 0; i < dst_width; i++) {
    int ix = x >> 16, w, k;
    guint32 sum = 0;

    x += dx;
    w = MAX ((x >> 16) - ix, 1);
    for (k = 0; k < w; k++)
      sum += sums[ix + k];
    dst[i] = (guint8) ((sum * (w == min_w ? inv[0] :
                (w == min_w + 1 ? inv[1] : 65536u / (w * box_h)))) >> 16);
  }
}

static void
scale_box (const guint8 * src, int src_stride, int sw, int sh, guint8 * dst,
    int dst_stride, int dw, int dh, guint8 * rows)
{
  int x = 0, y = 0, dx = 0, dy = 0, j, k;
  const int max_y = sh << 16;
  guint16 *sums = (guint16 *) rows;
  AddRowFunc add_row = pick_add_row (sw);

  ScaleSlope (sw, sh, dw, dh, kFilterBox, &x, &y, &dx, &dy);
  for (j = 0; j < dh; j++) {
    int iy = y >> 16, box_h;
    const guint8 *s = src + (gint64) iy * src_stride;

    y = MIN (y + dy, max_y);
    box_h = MAX ((y >> 16) - iy, 1);
    memset (sums, 0, (gsize) sw * 2);
    for (k = 0; k < box_h; k++, s += src_stride)
      add_row (s, sums, sw);
    box_cols (sums, dw, box_h, x, dx, dst + (gint64) j * dst_stride);
  }
}

static void
scale_bilinear_down (const guint8 * src, int src_stride, int sw, int sh,
    guint8 * dst, int dst_stride, int dw, int dh, enum FilterMode filter,
    guint8 * row)
{
  int x = 0, y = 0, dx = 0, dy = 0, j;
  const int max_y = (sh - 1) << 16;
  InterpolateFunc interpolate = pick_interpolate (sw);
  FilterColsFunc cols = pick_filter_cols (sw, dw);

  ScaleSlope (sw, sh, dw, dh, filter, &x, &y, &dx, &dy);
  y = MIN (y, max_y);
  for (j = 0; j < dh; j++) {
    const guint8 *s = src + (gint64) (y >> 16) * src_stride;
    guint8 *d = dst + (gint64) j * dst_stride;

    if (filter == kFilterLinear) {
      cols (d, s, dw, x, dx);
    } else {
      interpolate (row, s, src_stride, sw, (y >> 8) & 255);
      cols (d, row, dw, x, dx);
    }
    y = MIN (y + dy, max_y);
  }
}

/* Keeps the two source rows around y scaled horizontally in @rows and
 * interpolates each output row between them. */
static void
scale_bilinear_up (const guint8 * src, int src_stride, int sw, int sh,
    guint8 * dst, int dst_stride, int dw, int dh, enum FilterMode filter,
    guint8 * rows)
{
  int x = 0, y = 0, dx = 0, dy = 0, j, last_y;
  const int max_y = (sh - 1) << 16;
  const int row_size = (dw + 31) & ~31;
  int row_stride = row_size;
  guint8 *row = rows;
  InterpolateFunc interpolate = pick_interpolate (dw);
  FilterColsFunc cols = pick_filter_cols (sw, dw);
  const guint8 *s;

  ScaleSlope (sw, sh, dw, dh, filter, &x, &y, &dx, &dy);
  y = MIN (y, max_y);
  last_y = y >> 16;
  s = src + (gint64) (last_y) * src_stride;
  cols (row, s, dw, x, dx);
  if (sh > 1)
    s += src_stride;
  cols (row + row_stride, s, dw, x, dx);
  s += src_stride;

  for (j = 0; j < dh; j++, y += dy) {
    guint8 *d = dst + (gint64) j * dst_stride;

    if (y >> 16 != last_y) {
      if (y > max_y) {
        y = max_y;
        s = src + (gint64) (y >> 16) * src_stride;
      }
      if (y >> 16 != last_y) {
        cols (row, s, dw, x, dx);
        row += row_stride;
        row_stride = -row_stride;
        last_y = y >> 16;
        s += src_stride;
      }
    }
    if (filter == kFilterLinear)
      interpolate (d, row, 0, dw, 0);
    else
      interpolate (d, row, row_stride, dw, (y >> 8) & 255);
  }
}

/* TRUE when ScalePlane() takes one of its paths that allocate nothing
 * for these sizes and the reduced @filter (the tests of ScalePlane() up
 * to its box and bilinear paths, in its order). */
static gboolean
libyuv_path_allocates_nothing (int sw, int sh, int dw, int dh,
    enum FilterMode filter)
{
  if (dw == sw && (dh == sh || filter != kFilterBox))
    return TRUE;
  if (dw <= sw && dh <= sh) {
    if ((4 * dw == 3 * sw && 4 * dh == 3 * sh)
        || (2 * dw == sw && 2 * dh == sh)
        || (8 * dw == 3 * sw && 8 * dh == 3 * sh)
        || (4 * dw == sw && 4 * dh == sh && (filter == kFilterBox
                || filter == kFilterNone)))
      return TRUE;
  }
  if (filter == kFilterBox && dh * 2 < sh)
    return FALSE;
  if ((dw + 1) / 2 == sw && filter == kFilterLinear)
    return TRUE;
  if ((dh + 1) / 2 == sh && (dw + 1) / 2 == sw
      && (filter == kFilterBilinear || filter == kFilterBox))
    return TRUE;
  return filter == kFilterNone;
}

void
fv_scale_plane (const guint8 * src, gsize src_stride, guint src_width,
    guint src_height, guint8 * dst, gsize dst_stride, guint dst_width,
    guint dst_height, gboolean box, guint8 * scratch)
{
  int sw = (int) src_width, sh = (int) src_height;
  int dw = (int) dst_width, dh = (int) dst_height;
  int ss = (int) src_stride, ds = (int) dst_stride;
  enum FilterMode filter = ScaleFilterReduce (sw, sh, dw, dh,
      box ? kFilterBox : kFilterBilinear);
  guint8 *rows = align_up (scratch);

  g_return_if_fail (sw >= 1 && sh >= 1 && dw >= 1 && dh >= 1);

  if (libyuv_path_allocates_nothing (sw, sh, dw, dh, filter))
    ScalePlane (src, ss, sw, sh, dst, ds, dw, dh, filter);
  else if (filter == kFilterBox)
    scale_box (src, ss, sw, sh, dst, ds, dw, dh, rows);
  else if (dh > sh)
    scale_bilinear_up (src, ss, sw, sh, dst, ds, dw, dh, filter, rows);
  else
    scale_bilinear_down (src, ss, sw, sh, dst, ds, dw, dh, filter, rows);
}
