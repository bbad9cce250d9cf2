/* Depthwise convolution (multiplier 1), NHWC, with fused bias and PReLU.
 * Also serves the global depthwise 7x7 (GDConv) of MobileFaceNet. */
#ifndef FV_KERNEL_DWCONV_H
#define FV_KERNEL_DWCONV_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct
{
  size_t in_h, in_w, c;
  size_t out_h, out_w;
  size_t kh, kw, stride_h, stride_w;
  size_t pad_top, pad_left;     /* TensorFlow SAME: may differ from bottom */
  const float *in;              /* first image; images follow densely */
  float *out;
  const float *w;               /* [kh * kw][c_pad] */
  const float *bias;            /* [c_pad] */
  const float *alpha;           /* [c_pad] PReLU slopes, or NULL */
  size_t c_pad;
} FvDwconvParams;

/* Computes output rows [r0, r1), counted over batch * out_h. */
typedef void (*FvDwconvFn) (const FvDwconvParams * p, size_t r0, size_t r1);

/* Packs TFLite [1][kh][kw][c] weights into [kh*kw][c_pad]. */
void fv_f32_dwconv_pack (size_t kh, size_t kw, size_t c, size_t c_pad,
    const float *w, const float *bias, float *packed_w, float *packed_bias);

#ifdef __cplusplus
}
#endif

#endif /* FV_KERNEL_DWCONV_H */
