/* Max pooling, written once against simd/f32-<isa>.h and compiled once
 * per instruction set: per output pixel, up to four vectors of channels
 * are kept in registers while the window's taps stream through (MTCNN
 * pools 10 to 64 channels), the last vector masked. */
#include FV_SIMD_HEADER
#include "fv-ukernel-name.h"
#include "fv-kernels.h"
#include "clip.h"

#include <float.h>

#define VL FV_VL
#define NV_MAX 4

FV_INLINE void
pool_block (const FvPoolParams * p, const float *in, size_t ky0, size_t ky1,
    ptrdiff_t iy0, size_t kx0, size_t kx1, ptrdiff_t ix0, float *out,
    const size_t nv, fv_vmask last)
{
  fv_vf m[NV_MAX];
#pragma GCC unroll 4

  for (size_t v = 0; v < nv; v++)
    m[v] = fv_vset1 (-FLT_MAX);
  for (size_t ky = ky0; ky < ky1; ky++) {
    const float *src = in + ((size_t) (iy0 + (ptrdiff_t) ky) * p->in_w
        + (size_t) (ix0 + (ptrdiff_t) kx0)) * p->c;
    for (size_t kx = kx0; kx < kx1; kx++, src += p->c) {
#pragma GCC unroll 4
      for (size_t v = 0; v + 1 < nv; v++)
        m[v] = fv_vmax (m[v], fv_vloadu (src + v * VL));
      m[nv - 1] = fv_vmax (m[nv - 1], FV_VMASK_FULL (last)
          ? fv_vloadu (src + (nv - 1) * VL)
          : fv_vload_mask (src + (nv - 1) * VL, last));
    }
  }
#pragma GCC unroll 4
  for (size_t v = 0; v < nv; v++) {
    fv_vf x = p->relu ? fv_vmax (m[v], fv_vzero ()) : m[v];
    if (v + 1 < nv || FV_VMASK_FULL (last))
      fv_vstoreu (out + v * VL, x);
    else
      fv_vstore_mask (out + v * VL, last, x);
  }
}

void
FV_UKERNEL_NAME (f32_maxpool_ukernel_, FV_DWCONV_CTILE) (const FvPoolParams *
    p, size_t r0, size_t r1)
{
  const size_t in_image = p->in_h * p->in_w * p->c;

  for (size_t r = r0; r < r1; r++) {
    const FvKernelRow kr = fv_kernel_row (p->in, p->out, r, p->out_h,
        in_image, p->out_w * p->c, p->stride_h, p->pad_top);
    const size_t ky0 = fv_clip_lo (kr.iy0);
    const size_t ky1 = fv_clip_hi (kr.iy0, p->kh, p->in_h);

    for (size_t ox = 0; ox < p->out_w; ox++) {
      const ptrdiff_t ix0 = (ptrdiff_t) (ox * p->stride_w)
          - (ptrdiff_t) p->pad_left;
      const size_t kx0 = fv_clip_lo (ix0);
      const size_t kx1 = fv_clip_hi (ix0, p->kw, p->in_w);
      float *out = kr.out + ox * p->c;

      for (size_t c0 = 0; c0 < p->c; c0 += NV_MAX * VL) {
        const size_t left = p->c - c0;
        const size_t nv = left >= NV_MAX * VL ? NV_MAX : (left + VL - 1) / VL;
        const size_t in_last = left - (nv - 1) * VL;
        const fv_vmask last = fv_vmask_tail (in_last < VL ? in_last : VL);
        const float *in = kr.in + c0;

        switch (nv) {
          case 4:
            pool_block (p, in, ky0, ky1, kr.iy0, kx0, kx1, ix0, out + c0, 4,
                last);
            break;
          case 3:
            pool_block (p, in, ky0, ky1, kr.iy0, kx0, kx1, ix0, out + c0, 3,
                last);
            break;
          case 2:
            pool_block (p, in, ky0, ky1, kr.iy0, kx0, kx1, ix0, out + c0, 2,
                last);
            break;
          default:
            pool_block (p, in, ky0, ky1, kr.iy0, kx0, kx1, ix0, out + c0, 1,
                last);
            break;
        }
      }
    }
  }
}
