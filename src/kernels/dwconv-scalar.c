/* Portable depthwise convolution, any kernel size and stride. */
#include "fv-kernels.h"

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
fv_f32_dwconv_ukernel__scalar (const FvDwconvParams * p, size_t r0,
    size_t r1)
{
  const size_t c = p->c;
  const size_t in_image = p->in_h * p->in_w * c;
  const size_t out_image = p->out_h * p->out_w * c;

  for (size_t r = r0; r < r1; r++) {
    const size_t b = r / p->out_h, oy = r % p->out_h;
    const float *in = p->in + b * in_image;
    float *out = p->out + b * out_image + oy * p->out_w * c;

    for (size_t ox = 0; ox < p->out_w; ox++, out += c) {
      memcpy (out, p->bias, c * sizeof (float));
      for (size_t ky = 0; ky < p->kh; ky++) {
        const ptrdiff_t iy = (ptrdiff_t) (oy * p->stride_h + ky)
            - (ptrdiff_t) p->pad_top;
        if (iy < 0 || iy >= (ptrdiff_t) p->in_h)
          continue;
        for (size_t kx = 0; kx < p->kw; kx++) {
          const ptrdiff_t ix = (ptrdiff_t) (ox * p->stride_w + kx)
              - (ptrdiff_t) p->pad_left;
          const float *src, *w;
          if (ix < 0 || ix >= (ptrdiff_t) p->in_w)
            continue;
          src = in + ((size_t) iy * p->in_w + (size_t) ix) * c;
          w = p->w + (ky * p->kw + kx) * p->c_pad;
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
