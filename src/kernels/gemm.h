/* 1x1 convolution and fully connected layers as a GEMM with a fused
 * epilogue: c[m][n] = act (sum_k a[m][k] * w[k][n] + bias[n]) + res[m][n]. */
#ifndef FV_KERNEL_GEMM_H
#define FV_KERNEL_GEMM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct
{
  size_t k;                     /* input channels */
  size_t n;                     /* output channels */
  const float *a;               /* rows of k inputs */
  size_t a_stride;              /* floats between rows of a */
  /* Packed weights: for each panel of nr output channels, nr biases then
   * k rows of nr weights; the last panel is zero-padded. */
  const float *w;
  const float *alpha;           /* PReLU slopes, padded to panels; or NULL */
  const float *res;             /* residual rows added last; or NULL */
  size_t res_stride;
  float *c;
  size_t c_stride;
  /* Two layers that read the same rows, as one GEMM (MTCNN's 1x1 heads):
   * with c2 set, columns from n_split on go to c2 instead of c. Only
   * without alpha and res. */
  float *c2;
  size_t c2_stride, n_split;
} FvGemmParams;

/* Row @m of columns [col0, col0 + ncols), values @v, split between c and
 * c2 at n_split. */
static inline void
fv_gemm_store_split (const FvGemmParams * p, size_t m, size_t col0,
    size_t ncols, const float *v)
{
  for (size_t j = 0; j < ncols; j++) {
    const size_t col = col0 + j;
    if (col < p->n_split)
      p->c[m * p->c_stride + col] = v[j];
    else
      p->c2[m * p->c2_stride + col - p->n_split] = v[j];
  }
}

/* Computes rows [m0, m1) of the output. */
typedef void (*FvGemmFn) (const FvGemmParams * p, size_t m0, size_t m1);

/* Packs OI weights w[n][k] and bias[n] into panels of nr columns.
 * packed must hold fv_f32_gemm_packed_size (k, n, nr) floats. */
size_t fv_f32_gemm_packed_size (size_t k, size_t n, size_t nr);
void fv_f32_gemm_pack (size_t k, size_t n, size_t nr, const float *w,
    const float *bias, float *packed);

#ifdef __cplusplus
}
#endif

#endif /* FV_KERNEL_GEMM_H */
