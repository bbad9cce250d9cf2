/* Direct convolution: blocks of up to four vectors of output channels
 * times several output pixels, written once against simd/f32-<isa>.h
 * and compiled once per instruction set. A block of four vectors takes
 * FV_CONV_PX pixels per step; narrower blocks (the small channel counts of
 * MTCNN: 10, 16, 28, 32) take more pixels, FV_CONV_ACC / vectors up to 12,
 * so that every step has at least eight independent FMA chains to hide
 * the FMA latency. For a pixel whose taps are all
 * inside the input, the kw x in_c values of one kernel row are contiguous
 * in the NHWC input and in the packed weights, so the inner loop is one
 * flat run of broadcast-FMAs. Serves the MobileFaceNet stem and the MTCNN
 * convs. */
#include FV_SIMD_HEADER
#include "fv-ukernel-name.h"
#include "fv-kernels.h"
#include "clip.h"

#include <stdint.h>

#define VL FV_VL
/* Vectors per block: FV_CONV_NV where the header sets it (AVX2). */
#ifdef FV_CONV_NV
#define NV_MAX FV_CONV_NV
#else
#define NV_MAX 4
#endif
#define PX_MAX 12
/* Pixels per step for a block of nv vectors (a constant where nv is). */
#define PX_FOR(nv) ((nv) == NV_MAX ? FV_CONV_PX \
    : FV_CONV_ACC / (nv) < PX_MAX ? FV_CONV_ACC / (nv) : PX_MAX)

/* Stores nv vectors; the last one holds `last` channels (1..VL). */
FV_INLINE void
store_px (const FvConvParams * p, float *o, fv_vf acc[NV_MAX],
    const size_t nv, size_t o0, fv_vmask last)
{
#pragma GCC unroll 4
  for (size_t v = 0; v < nv; v++) {
    fv_vf x = acc[v];
    if (p->alpha)
      x = fv_vprelu (x, fv_vloadu (p->alpha + o0 + v * VL));
    if (v + 1 < nv || FV_VMASK_FULL (last))
      fv_vstoreu (o + v * VL, x);
    else
      fv_vstore_mask (o + v * VL, last, x);
  }
}

/* One pixel with bounds checks on every tap. */
FV_INLINE void
edge_pixel (const FvConvParams * p, const float *in, size_t ky0, size_t ky1,
    ptrdiff_t iy0, size_t ox, float *out, const size_t nv, size_t o0,
    fv_vmask last)
{
  const ptrdiff_t ix0 = (ptrdiff_t) (ox * p->stride_w)
      - (ptrdiff_t) p->pad_left;
  const size_t kx0 = fv_clip_lo (ix0);
  const size_t kx1 = fv_clip_hi (ix0, p->kw, p->in_w);
  fv_vf acc[NV_MAX];
#pragma GCC unroll 4

  for (size_t v = 0; v < nv; v++)
    acc[v] = fv_vloadu (p->bias + o0 + v * VL);
  for (size_t ky = ky0; ky < ky1; ky++)
    for (size_t kx = kx0; kx < kx1; kx++) {
      const size_t ix = (size_t) (ix0 + (ptrdiff_t) kx);
      const float *src = in + ((size_t) (iy0 + (ptrdiff_t) ky) * p->in_w
          + ix) * p->in_c;
      const float *w = p->w + (ky * p->kw + kx) * p->in_c * p->oc_pad + o0;
      for (size_t ic = 0; ic < p->in_c; ic++, w += p->oc_pad) {
        const fv_vf x = fv_vset1 (src[ic]);
#pragma GCC unroll 4
        for (size_t v = 0; v < nv; v++)
          acc[v] = fv_vfmadd (x, fv_vloadu (w + v * VL), acc[v]);
      }
    }
  store_px (p, out + ox * p->out_c + o0, acc, nv, o0, last);
}

/* The accumulators of npx (a constant) interior pixels starting at ox. */
FV_INLINE void
accumulate (const FvConvParams * p, const float *in, size_t ky0, size_t ky1,
    ptrdiff_t iy0, size_t ox, const size_t npx, fv_vf acc[PX_MAX][NV_MAX],
    const size_t nv, size_t o0)
{
  const size_t run = p->kw * p->in_c;
  const size_t px_step = p->stride_w * p->in_c;
  const float *src = in + (ox * p->stride_w - p->pad_left) * p->in_c;
#pragma GCC unroll 4

  for (size_t v = 0; v < nv; v++) {
    const fv_vf b = fv_vloadu (p->bias + o0 + v * VL);
#pragma GCC unroll 12
    for (size_t j = 0; j < npx; j++)
      acc[j][v] = b;
  }
  for (size_t ky = ky0; ky < ky1; ky++) {
    const float *s = src + (size_t) (iy0 + (ptrdiff_t) ky) * p->in_w * p->in_c;
    const float *w = p->w + ky * run * p->oc_pad + o0;
    for (size_t t = 0; t < run; t++, w += p->oc_pad) {
      fv_vf wv[NV_MAX];
#pragma GCC unroll 4
      for (size_t v = 0; v < nv; v++)
        wv[v] = fv_vloadu (w + v * VL);
#pragma GCC unroll 12
      for (size_t j = 0; j < npx; j++) {
        const fv_vf x = fv_vset1 (s[j * px_step + t]);
#pragma GCC unroll 4
        for (size_t v = 0; v < nv; v++)
          acc[j][v] = fv_vfmadd (x, wv[v], acc[j][v]);
      }
    }
  }
}

/* npx (a constant) interior pixels starting at ox. */
FV_INLINE void
interior_pixels (const FvConvParams * p, const float *in, size_t ky0,
    size_t ky1, ptrdiff_t iy0, size_t ox, const size_t npx, float *out,
    const size_t nv, size_t o0, fv_vmask last)
{
  fv_vf acc[PX_MAX][NV_MAX];

  accumulate (p, in, ky0, ky1, iy0, ox, npx, acc, nv, o0);
#pragma GCC unroll 12
  for (size_t j = 0; j < npx; j++)
    store_px (p, out + (ox + j) * p->out_c + o0, acc[j], nv, o0, last);
}

/* Fused pool: npx (a constant) pixels of one convolution row from ox
 * (even), PReLU, the maximum of each pair (a last odd pixel alone) into
 * the pooled row @out; @first: the window's first row (else the maximum
 * with what the row above left there). */
FV_INLINE void
pooled_pixels (const FvConvParams * p, const float *in, ptrdiff_t iy0,
    size_t ox, const size_t npx, float *out, int first, const size_t nv,
    size_t o0, fv_vmask last)
{
  fv_vf acc[PX_MAX][NV_MAX];

  accumulate (p, in, 0, p->kh, iy0, ox, npx, acc, nv, o0);
#pragma GCC unroll 12
  for (size_t j = 0; j < npx; j += 2) {
    float *o = out + (ox + j) / 2 * p->out_c + o0;
#pragma GCC unroll 4
    for (size_t v = 0; v < nv; v++) {
      const int full = v + 1 < nv || FV_VMASK_FULL (last);
      fv_vf x = acc[j][v];
      if (p->alpha)
        x = fv_vprelu (x, fv_vloadu (p->alpha + o0 + v * VL));
      if (j + 1 < npx) {
        fv_vf y = acc[j + 1][v];
        if (p->alpha)
          y = fv_vprelu (y, fv_vloadu (p->alpha + o0 + v * VL));
        x = fv_vmax (x, y);
      }
      if (full) {
        if (!first)
          x = fv_vmax (x, fv_vloadu (o + v * VL));
        fv_vstoreu (o + v * VL, x);
      } else {
        if (!first)
          x = fv_vmax (x, fv_vload_mask (o + v * VL, last));
        fv_vstore_mask (o + v * VL, last, x);
      }
    }
  }
}

/* One convolution row (input rows from iy0) into pooled row @out, over
 * the columns that the pooled row covers. */
FV_INLINE void
pooled_row_block (const FvConvParams * p, const float *in, ptrdiff_t iy0,
    float *out, int first, const size_t nv, size_t o0, fv_vmask last)
{
  const size_t px = PX_FOR (nv) & ~(size_t) 1;
  const size_t cols = 2 * p->pool_w < p->out_w ? 2 * p->pool_w : p->out_w;
  size_t ox;

  for (ox = 0; ox + px <= cols; ox += px)
    pooled_pixels (p, in, iy0, ox, px, out, first, nv, o0, last);
  for (; ox + 2 <= cols; ox += 2)
    pooled_pixels (p, in, iy0, ox, 2, out, first, nv, o0, last);
  if (ox < cols)
    pooled_pixels (p, in, iy0, ox, 1, out, first, nv, o0, last);
}

/* Rows [r0, r1) of the pooled map: each from the one or two convolution
 * rows under it, the full-resolution map never written. */
static void
pooled_rows (const FvConvParams * p, size_t r0, size_t r1)
{
  const size_t in_image = p->in_h * p->in_w * p->in_c;

  for (size_t r = r0; r < r1; r++) {
    const size_t b = r / p->pool_h, py = r % p->pool_h;
    const float *in = p->in + b * in_image;
    float *out = p->out + r * p->pool_w * p->out_c;
    const size_t y1 = 2 * py + 2 < p->out_h ? 2 * py + 2 : p->out_h;

    for (size_t y = 2 * py; y < y1; y++) {
      const ptrdiff_t iy0 = (ptrdiff_t) (y * p->stride_h);
      const int first = y == 2 * py;
      for (size_t o0 = 0; o0 < p->out_c; o0 += NV_MAX * VL) {
        const size_t left = p->out_c - o0;
        const size_t nv = left >= NV_MAX * VL ? NV_MAX : (left + VL - 1) / VL;
        const size_t in_last = left - (nv - 1) * VL;
        const fv_vmask last = fv_vmask_tail (in_last < VL ? in_last : VL);
        switch (nv) {
#if NV_MAX > 3
          case 4:
            pooled_row_block (p, in, iy0, out, first, 4, o0, last);
            break;
          case 3:
            pooled_row_block (p, in, iy0, out, first, 3, o0, last);
            break;
#endif
          case 2:
            pooled_row_block (p, in, iy0, out, first, 2, o0, last);
            break;
          default:
            pooled_row_block (p, in, iy0, out, first, 1, o0, last);
            break;
        }
      }
    }
  }
}

FV_INLINE void
row_block (const FvConvParams * p, const float *in, size_t ky0, size_t ky1,
    ptrdiff_t iy0, size_t ox_lo, size_t ox_hi, float *out, const size_t nv,
    size_t o0, fv_vmask last)
{
  const size_t px = PX_FOR (nv);
  size_t ox;

  for (ox = 0; ox < ox_lo; ox++)
    edge_pixel (p, in, ky0, ky1, iy0, ox, out, nv, o0, last);
  for (; ox + px <= ox_hi; ox += px)
    interior_pixels (p, in, ky0, ky1, iy0, ox, px, out, nv, o0, last);
  if (px >= 4 && ox + px / 2 <= ox_hi) {
    interior_pixels (p, in, ky0, ky1, iy0, ox, px / 2, out, nv, o0, last);
    ox += px / 2;
  }
  for (; ox < ox_hi; ox++)
    interior_pixels (p, in, ky0, ky1, iy0, ox, 1, out, nv, o0, last);
  for (; ox < p->out_w; ox++)
    edge_pixel (p, in, ky0, ky1, iy0, ox, out, nv, o0, last);
}

void
FV_UKERNEL_NAME (f32_conv_prelu_ukernel_, FV_CONV_TILE) (const FvConvParams * p,
    size_t r0, size_t r1)
{
  const size_t in_image = p->in_h * p->in_w * p->in_c;
  size_t ox_lo, ox_hi;

  if (p->pool_h) {
    pooled_rows (p, r0, r1);
    return;
  }
  fv_clip_inner_cols (p->in_w, p->pad_left, p->kw, p->stride_w, p->out_w,
      &ox_lo, &ox_hi);
  for (size_t r = r0; r < r1; r++) {
    const FvKernelRow kr = fv_kernel_row (p->in, p->out, r, p->out_h,
        in_image, p->out_w * p->out_c, p->stride_h, p->pad_top);
    const float *in = kr.in;
    const ptrdiff_t iy0 = kr.iy0;
    const size_t ky0 = fv_clip_lo (iy0);
    const size_t ky1 = fv_clip_hi (iy0, p->kh, p->in_h);
    float *out = kr.out;

    for (size_t o0 = 0; o0 < p->out_c; o0 += NV_MAX * VL) {
      const size_t left = p->out_c - o0;
      const size_t nv = left >= NV_MAX * VL ? NV_MAX : (left + VL - 1) / VL;
      const size_t in_last = left - (nv - 1) * VL;
      const fv_vmask last = fv_vmask_tail (in_last < VL ? in_last : VL);
      switch (nv) {
#if NV_MAX > 3
        case 4:
          row_block (p, in, ky0, ky1, iy0, ox_lo, ox_hi, out, 4, o0, last);
          break;
        case 3:
          row_block (p, in, ky0, ky1, iy0, ox_lo, ox_hi, out, 3, o0, last);
          break;
#endif
        case 2:
          row_block (p, in, ky0, ky1, iy0, ox_lo, ox_hi, out, 2, o0, last);
          break;
        default:
          row_block (p, in, ky0, ky1, iy0, ox_lo, ox_hi, out, 1, o0, last);
          break;
      }
    }
  }
}
