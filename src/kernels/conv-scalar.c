/* Portable direct convolution, any kernel size, stride and padding. */
#include "fv-kernels.h"

#include <string.h>

#define OC_BLOCK 64

void
fv_f32_conv_pack (size_t oc, size_t kh, size_t kw, size_t ic, size_t oc_pad,
    const float *w, const float *bias, float *packed_w, float *packed_bias)
{
  memset (packed_w, 0, kh * kw * ic * oc_pad * sizeof (float));
  memset (packed_bias, 0, oc_pad * sizeof (float));
  for (size_t o = 0; o < oc; o++)
    for (size_t t = 0; t < kh * kw * ic; t++)
      packed_w[t * oc_pad + o] = w[o * kh * kw * ic + t];
  if (bias)
    memcpy (packed_bias, bias, oc * sizeof (float));
}

void
fv_f32_conv_ukernel__scalar (const FvConvParams * p, size_t r0, size_t r1)
{
  const size_t in_image = p->in_h * p->in_w * p->in_c;
  const size_t out_image = p->out_h * p->out_w * p->out_c;

  for (size_t r = r0; r < r1; r++) {
    const size_t b = r / p->out_h, oy = r % p->out_h;
    const float *in = p->in + b * in_image;
    float *out = p->out + b * out_image + oy * p->out_w * p->out_c;

    for (size_t ox = 0; ox < p->out_w; ox++, out += p->out_c) {
      for (size_t o0 = 0; o0 < p->out_c; o0 += OC_BLOCK) {
        const size_t on = p->out_c - o0 < OC_BLOCK ? p->out_c - o0 : OC_BLOCK;
        float acc[OC_BLOCK];

        memcpy (acc, p->bias + o0, on * sizeof (float));
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
            src = in + ((size_t) iy * p->in_w + (size_t) ix) * p->in_c;
            w = p->w + ((ky * p->kw + kx) * p->in_c) * p->oc_pad + o0;
            for (size_t ic = 0; ic < p->in_c; ic++, w += p->oc_pad) {
              const float v = src[ic];
              for (size_t o = 0; o < on; o++)
                acc[o] += v * w[o];
            }
          }
        }
        if (p->alpha)
          for (size_t o = 0; o < on; o++)
            acc[o] = acc[o] >= 0.0f ? acc[o] : acc[o] * p->alpha[o0 + o];
        memcpy (out + o0, acc, on * sizeof (float));
      }
    }
  }
}
