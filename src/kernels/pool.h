/* Max pooling, NHWC, TensorFlow semantics: a window that hangs over the
 * edge (SAME padding) only looks at the pixels inside; a window with none
 * inside gives -FLT_MAX. Optional fused ReLU. Serves MTCNN. */
#ifndef FV_KERNEL_POOL_H
#define FV_KERNEL_POOL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C"
{
#endif

  typedef struct
  {
    size_t in_h, in_w, c;
    size_t out_h, out_w;
    size_t kh, kw, stride_h, stride_w;
    size_t pad_top, pad_left;
    int relu;
    const float *in;
    float *out;
  } FvPoolParams;

/* Computes output rows [r0, r1), counted over batch * out_h. */
  typedef void (*FvPoolFn) (const FvPoolParams * p, size_t r0, size_t r1);

#ifdef __cplusplus
}
#endif

#endif                          /* FV_KERNEL_POOL_H */
