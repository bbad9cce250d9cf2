/* Portable direct convolution, any kernel size, stride and padding. */
#include "fv-kernels.h"
#include "clip.h"

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

  for (size_t r = r0; r < r1; r++) {
    const FvKernelRow row = fv_kernel_row (p->in, p->out, r, p->out_h,
        in_image, p->out_w * p->out_c, p->stride_h, p->pad_top);
    const size_t ky0 = fv_clip_lo (row.iy0);
    const size_t ky1 = fv_clip_hi (row.iy0, p->kh, p->in_h);
    float *out = row.out;

    for (size_t ox = 0; ox < p->out_w; ox++, out += p->out_c) {
      const ptrdiff_t ix0 = (ptrdiff_t) (ox * p->stride_w)
          - (ptrdiff_t) p->pad_left;
      const size_t kx0 = fv_clip_lo (ix0);
      const size_t kx1 = fv_clip_hi (ix0, p->kw, p->in_w);

      for (size_t o0 = 0; o0 < p->out_c; o0 += OC_BLOCK) {
        const size_t on = p->out_c - o0 < OC_BLOCK ? p->out_c - o0 : OC_BLOCK;
        float acc[OC_BLOCK];

        memcpy (acc, p->bias + o0, on * sizeof (float));
        for (size_t ky = ky0; ky < ky1; ky++) {
          const size_t iy = (size_t) (row.iy0 + (ptrdiff_t) ky);
          for (size_t kx = kx0; kx < kx1; kx++) {
            const size_t ix = (size_t) (ix0 + (ptrdiff_t) kx);
            const float *src = row.in + (iy * p->in_w + ix) * p->in_c;
            const float *w = p->w + ((ky * p->kw + kx) * p->in_c) * p->oc_pad
                + o0;
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
