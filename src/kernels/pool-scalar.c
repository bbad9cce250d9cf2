/* Portable max pooling, any window, stride and padding. */
#include "fv-kernels.h"
#include "clip.h"

#include <float.h>

void
fv_f32_maxpool_ukernel__scalar (const FvPoolParams * p, size_t r0, size_t r1)
{
  const size_t in_image = p->in_h * p->in_w * p->c;

  for (size_t r = r0; r < r1; r++) {
    const FvKernelRow row = fv_kernel_row (p->in, p->out, r, p->out_h,
        in_image, p->out_w * p->c, p->stride_h, p->pad_top);
    const size_t ky0 = fv_clip_lo (row.iy0);
    const size_t ky1 = fv_clip_hi (row.iy0, p->kh, p->in_h);
    float *out = row.out;

    for (size_t ox = 0; ox < p->out_w; ox++, out += p->c) {
      const ptrdiff_t ix0 = (ptrdiff_t) (ox * p->stride_w)
          - (ptrdiff_t) p->pad_left;
      const size_t kx0 = fv_clip_lo (ix0);
      const size_t kx1 = fv_clip_hi (ix0, p->kw, p->in_w);

      for (size_t ch = 0; ch < p->c; ch++)
        out[ch] = -FLT_MAX;
      for (size_t ky = ky0; ky < ky1; ky++)
        for (size_t kx = kx0; kx < kx1; kx++) {
          const float *src = row.in + ((size_t) (row.iy0 + (ptrdiff_t) ky)
              * p->in_w + (size_t) (ix0 + (ptrdiff_t) kx)) * p->c;
          for (size_t ch = 0; ch < p->c; ch++)
            out[ch] = out[ch] > src[ch] ? out[ch] : src[ch];
        }
      if (p->relu)
        for (size_t ch = 0; ch < p->c; ch++)
          out[ch] = out[ch] > 0.0f ? out[ch] : 0.0f;
    }
  }
}
