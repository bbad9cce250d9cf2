/* Portable depthwise convolution, any kernel size and stride. */
#include "fv-kernels.h"
#include "clip.h"

#include <string.h>

void
fv_f32_dwconv_pack (size_t kh, size_t kw, size_t c, size_t c_pad,
    const float *w, const float *bias, float *packed_w, float *packed_bias)
{
  memset (packed_w, 0, kh * kw * c_pad * sizeof (float));
  memset (packed_bias, 0, c_pad * sizeof (float));
  for (size_t t = 0; t < kh * kw; t++)
    memcpy (packed_w + t * c_pad, w + t * c, c * sizeof (float));
  if (bias)
    memcpy (packed_bias, bias, c * sizeof (float));
}

void
fv_f32_dwconv_ukernel__scalar (const FvDwconvParams * p, size_t r0, size_t r1)
{
  const size_t c = p->c;
  const size_t in_image = p->in_h * p->in_w * c;

  for (size_t r = r0; r < r1; r++) {
    const FvKernelRow row = fv_kernel_row (p->in, p->out, r, p->out_h,
        in_image, p->out_w * c, p->stride_h, p->pad_top);
    const size_t ky0 = fv_clip_lo (row.iy0);
    const size_t ky1 = fv_clip_hi (row.iy0, p->kh, p->in_h);
    float *out = row.out;

    for (size_t ox = 0; ox < p->out_w; ox++, out += c) {
      const ptrdiff_t ix0 = (ptrdiff_t) (ox * p->stride_w)
          - (ptrdiff_t) p->pad_left;
      const size_t kx0 = fv_clip_lo (ix0);
      const size_t kx1 = fv_clip_hi (ix0, p->kw, p->in_w);

      memcpy (out, p->bias, c * sizeof (float));
      for (size_t ky = ky0; ky < ky1; ky++) {
        const size_t iy = (size_t) (row.iy0 + (ptrdiff_t) ky);
        for (size_t kx = kx0; kx < kx1; kx++) {
          const size_t ix = (size_t) (ix0 + (ptrdiff_t) kx);
          const float *src = row.in + (iy * p->in_w + ix) * c;
          const float *w = p->w + (ky * p->kw + kx) * p->c_pad;
          for (size_t ch = 0; ch < c; ch++)
            out[ch] += src[ch] * w[ch];
        }
      }
      if (p->alpha)
        for (size_t ch = 0; ch < c; ch++)
          out[ch] = out[ch] >= 0.0f ? out[ch] : out[ch] * p->alpha[ch];
    }
  }
}
