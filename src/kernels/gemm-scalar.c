/* Portable GEMM for 1x1 convolutions; written so that the compiler can
 * vectorise the nr-wide inner loops. It is the reference for the SIMD
 * variants in the kernel tests. */
#include "fv-kernels.h"

#include <string.h>

#define MR 4
#define NR 8

size_t
fv_f32_gemm_packed_size (size_t k, size_t n, size_t nr)
{
  size_t panels = (n + nr - 1) / nr;
  return panels * nr * (k + 1);
}

void
fv_f32_gemm_pack (size_t k, size_t n, size_t nr, const float *w,
    const float *bias, float *packed)
{
  size_t panels = (n + nr - 1) / nr;

  memset (packed, 0, fv_f32_gemm_packed_size (k, n, nr) * sizeof (float));
  for (size_t p = 0; p < panels; p++) {
    float *dst = packed + p * nr * (k + 1);
    for (size_t j = 0; j < nr && p * nr + j < n; j++) {
      size_t col = p * nr + j;
      dst[j] = bias ? bias[col] : 0.0f;
      for (size_t kk = 0; kk < k; kk++)
        dst[nr + kk * nr + j] = w[col * k + kk];
    }
  }
}

static inline void
store_row (const FvGemmParams * p, size_t m, size_t col0, size_t ncols,
    const float *acc)
{
  float *c = p->c + m * p->c_stride + col0;
  const float *res = p->res ? p->res + m * p->res_stride + col0 : NULL;

  if (p->c2) {
    fv_gemm_store_split (p, m, col0, ncols, acc);
    return;
  }
  for (size_t j = 0; j < ncols; j++) {
    float v = acc[j];
    if (p->alpha)
      v = v >= 0.0f ? v : v * p->alpha[col0 + j];
    if (res)
      v += res[j];
    c[j] = v;
  }
}

void
fv_f32_gemm_ukernel_4x8__scalar (const FvGemmParams * p, size_t m0, size_t m1)
{
  const size_t k = p->k;
  const size_t panels = (p->n + NR - 1) / NR;

  for (size_t m = m0; m < m1; m += MR) {
    const size_t mr = m1 - m < MR ? m1 - m : MR;
    for (size_t pn = 0; pn < panels; pn++) {
      const float *w = p->w + pn * NR * (k + 1);
      const size_t col0 = pn * NR;
      const size_t ncols = p->n - col0 < NR ? p->n - col0 : NR;
      float acc[MR][NR];

      for (size_t i = 0; i < MR; i++)
        for (size_t j = 0; j < NR; j++)
          acc[i][j] = w[j];
      w += NR;
      for (size_t kk = 0; kk < k; kk++, w += NR) {
        for (size_t i = 0; i < mr; i++) {
          const float a = p->a[(m + i) * p->a_stride + kk];
          for (size_t j = 0; j < NR; j++)
            acc[i][j] += a * w[j];
        }
      }
      for (size_t i = 0; i < mr; i++)
        store_row (p, m + i, col0, ncols, acc[i]);
    }
  }
}
