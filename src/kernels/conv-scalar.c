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

/* Channels [o0, o0 + on) of output pixel (oy, ox) of one image, after
 * the PReLU. */
static void
conv_pixel (const FvConvParams * p, const float *in, size_t oy, size_t ox,
    size_t o0, size_t on, float *acc)
{
  const ptrdiff_t iy0 = (ptrdiff_t) (oy * p->stride_h)
      - (ptrdiff_t) p->pad_top;
  const ptrdiff_t ix0 = (ptrdiff_t) (ox * p->stride_w)
      - (ptrdiff_t) p->pad_left;
  const size_t ky0 = fv_clip_lo (iy0), ky1 = fv_clip_hi (iy0, p->kh, p->in_h);
  const size_t kx0 = fv_clip_lo (ix0), kx1 = fv_clip_hi (ix0, p->kw, p->in_w);

  memcpy (acc, p->bias + o0, on * sizeof (float));
  for (size_t ky = ky0; ky < ky1; ky++) {
    const size_t iy = (size_t) (iy0 + (ptrdiff_t) ky);
    for (size_t kx = kx0; kx < kx1; kx++) {
      const size_t ix = (size_t) (ix0 + (ptrdiff_t) kx);
      const float *src = in + (iy * p->in_w + ix) * p->in_c;
      const float *w = p->w + ((ky * p->kw + kx) * p->in_c) * p->oc_pad + o0;
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
}

/* Output pixel (oy, ox) of one image; with a fused pool, the maximum over
 * its 2x2 window of convolution pixels (clipped to the map). */
static void
out_pixel (const FvConvParams * p, const float *in, size_t oy, size_t ox,
    float *out)
{
  for (size_t o0 = 0; o0 < p->out_c; o0 += OC_BLOCK) {
    const size_t on = p->out_c - o0 < OC_BLOCK ? p->out_c - o0 : OC_BLOCK;
    float acc[OC_BLOCK], m[OC_BLOCK];

    if (!p->pool_h) {
      conv_pixel (p, in, oy, ox, o0, on, acc);
      memcpy (out + o0, acc, on * sizeof (float));
      continue;
    }
    for (size_t y = 2 * oy; y < 2 * oy + 2 && y < p->out_h; y++)
      for (size_t x = 2 * ox; x < 2 * ox + 2 && x < p->out_w; x++) {
        conv_pixel (p, in, y, x, o0, on, acc);
        for (size_t o = 0; o < on; o++)
          m[o] = (y == 2 * oy && x == 2 * ox) || acc[o] > m[o] ? acc[o] : m[o];
      }
    memcpy (out + o0, m, on * sizeof (float));
  }
}

void
fv_f32_conv_ukernel__scalar (const FvConvParams * p, size_t r0, size_t r1)
{
  const size_t in_image = p->in_h * p->in_w * p->in_c;
  const size_t rows = p->pool_h ? p->pool_h : p->out_h;
  const size_t cols = p->pool_h ? p->pool_w : p->out_w;

  for (size_t r = r0; r < r1; r++) {
    const float *in = p->in + r / rows * in_image;
    float *out = p->out + r * cols * p->out_c;

    for (size_t ox = 0; ox < cols; ox++, out += p->out_c)
      out_pixel (p, in, r % rows, ox, out);
  }
}
