/* Direct KxK convolution, NHWC, with fused bias and PReLU: the 3x3
 * stride-2 stem of MobileFaceNet and the MTCNN convolutions. */
#ifndef FV_KERNEL_CONV_H
#define FV_KERNEL_CONV_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct
{
  size_t in_h, in_w, in_c;
  size_t out_h, out_w, out_c;
  size_t kh, kw, stride_h, stride_w;
  size_t pad_top, pad_left;
  const float *in;
  float *out;
  const float *w;               /* [kh][kw][in_c][oc_pad] */
  const float *bias;            /* [oc_pad] */
  const float *alpha;           /* [oc_pad] or NULL */
  size_t oc_pad;
  /* 0, or the output size of a 2x2 stride-2 max pool fused after the
   * PReLU (MTCNN's pool1): @out then holds the pooled map, pool_h x
   * pool_w, each window clipped to the convolution's output, and rows
   * are counted over batch * pool_h. Needs a convolution without
   * padding. */
  size_t pool_h, pool_w;
} FvConvParams;

/* Computes output rows [r0, r1), counted over batch * out_h (batch *
 * pool_h with a fused pool). */
typedef void (*FvConvFn) (const FvConvParams * p, size_t r0, size_t r1);

/* Packs TFLite OHWI weights into [kh][kw][in_c][oc_pad]. */
void fv_f32_conv_pack (size_t oc, size_t kh, size_t kw, size_t ic,
    size_t oc_pad, const float *w, const float *bias, float *packed_w,
    float *packed_bias);

#ifdef __cplusplus
}
#endif

#endif /* FV_KERNEL_CONV_H */
