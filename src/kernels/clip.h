/* Where a kernel's window meets the image border, shared by every family
 * (scalar, the templates, NEON): the input image and output row of one
 * output row, the taps of a window that lie inside the image, and the
 * output columns whose taps all do. Needs only libc. */
#ifndef FV_KERNELS_CLIP_H
#define FV_KERNELS_CLIP_H

#include <stddef.h>

/* Output row @r of a batch (the rows of all its images numbered in
 * order): @in is the image it reads, @out the row it writes, @iy0 the
 * input row under the window's first tap (negative above the image). */
typedef struct
{
  const float *in;
  float *out;
  ptrdiff_t iy0;
} FvKernelRow;

/* @in_image: floats per input image; @out_row: floats per output row. */
static inline FvKernelRow
fv_kernel_row (const float *in, float *out, size_t r, size_t out_h,
    size_t in_image, size_t out_row, size_t stride_h, size_t pad_top)
{
  const size_t b = r / out_h, oy = r % out_h;
  FvKernelRow row;

  row.in = in + b * in_image;
  row.out = out + r * out_row;
  row.iy0 = (ptrdiff_t) (oy * stride_h) - (ptrdiff_t) pad_top;
  return row;
}

/* A window of taps that starts at input index @i0 (negative before the
 * image): taps [fv_clip_lo (i0), fv_clip_hi (i0, k, n)) of its @k lie
 * inside an input of @n. The range is empty (hi <= lo) when none do. */
static inline size_t
fv_clip_lo (ptrdiff_t i0)
{
  return i0 < 0 ? (size_t) -i0 : 0;
}

static inline size_t
fv_clip_hi (ptrdiff_t i0, size_t k, size_t n)
{
  const ptrdiff_t hi = (ptrdiff_t) n - i0;

  return hi < 0 ? 0 : ((size_t) hi < k ? (size_t) hi : k);
}

/* Output columns [*lo, *hi) of @out_w whose @k taps (stride @s, @pad
 * columns of padding on the left) all lie inside an input row of @in_w;
 * the columns before and after need bounds checks. */
static inline void
fv_clip_inner_cols (size_t in_w, size_t pad, size_t k, size_t s,
    size_t out_w, size_t *lo, size_t *hi)
{
  *lo = (pad + s - 1) / s;
  *hi = in_w + pad >= k ? (in_w + pad - k) / s + 1 : 0;
  if (*hi > out_w)
    *hi = out_w;
  if (*lo > *hi)
    *lo = *hi;
}

#endif /* FV_KERNELS_CLIP_H */
