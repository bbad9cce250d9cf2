/* GEMM for 1x1 convolutions, AVX-512: tiles of 7 rows x 32 columns.
 * Fourteen accumulators and two weight vectors; the row broadcasts fold
 * into the FMAs. Seven rows divide every spatial size of MobileFaceNet
 * (56x56, 28x28, 14x14, 7x7), so no layer ends in a partial tile. */
#include "gemm.h"

#include <immintrin.h>
#include <stdint.h>

#define MR 7
#define NR 32

#define FV_INLINE static inline __attribute__((always_inline))

FV_INLINE __m512
prelu (__m512 v, __m512 alpha)
{
  const __mmask16 neg = _mm512_cmp_ps_mask (v, _mm512_setzero_ps (),
      _CMP_LT_OQ);
  return _mm512_mask_mul_ps (v, neg, v, alpha);
}

FV_INLINE void
store_row (const FvGemmParams * p, size_t m, size_t col0, size_t ncols,
    __m512 v0, __m512 v1, __m512 al0, __m512 al1)
{
  float *c = p->c + m * p->c_stride + col0;

  if (p->alpha) {
    v0 = prelu (v0, al0);
    v1 = prelu (v1, al1);
  }
  if (ncols == NR) {
    if (p->res) {
      const float *r = p->res + m * p->res_stride + col0;
      v0 = _mm512_add_ps (v0, _mm512_loadu_ps (r));
      v1 = _mm512_add_ps (v1, _mm512_loadu_ps (r + 16));
    }
    _mm512_storeu_ps (c, v0);
    _mm512_storeu_ps (c + 16, v1);
  } else {
    const __mmask32 all = (__mmask32) (((uint64_t) 1 << ncols) - 1);
    const __mmask16 m0 = (__mmask16) all, m1 = (__mmask16) (all >> 16);
    if (p->res) {
      const float *r = p->res + m * p->res_stride + col0;
      v0 = _mm512_add_ps (v0, _mm512_maskz_loadu_ps (m0, r));
      v1 = _mm512_add_ps (v1, _mm512_maskz_loadu_ps (m1, r + 16));
    }
    _mm512_mask_storeu_ps (c, m0, v0);
    _mm512_mask_storeu_ps (c + 16, m1, v1);
  }
}

/* One tile of mr (a constant after inlining) rows and one panel. */
FV_INLINE void
tile (const FvGemmParams * p, size_t m, const size_t mr, size_t pn)
{
  const size_t k = p->k;
  const size_t col0 = pn * NR;
  const size_t ncols = p->n - col0 < NR ? p->n - col0 : NR;
  const float *w = p->w + pn * NR * (k + 1);
  const float *a[MR];
  __m512 acc0[MR], acc1[MR];
  __m512 al0 = _mm512_setzero_ps (), al1 = _mm512_setzero_ps ();

#pragma GCC unroll 8
  for (size_t i = 0; i < mr; i++) {
    a[i] = p->a + (m + i) * p->a_stride;
    acc0[i] = _mm512_loadu_ps (w);
    acc1[i] = _mm512_loadu_ps (w + 16);
  }
  w += NR;
  for (size_t kk = 0; kk < k; kk++, w += NR) {
    const __m512 w0 = _mm512_loadu_ps (w);
    const __m512 w1 = _mm512_loadu_ps (w + 16);
#pragma GCC unroll 8
    for (size_t i = 0; i < mr; i++) {
      const __m512 av = _mm512_set1_ps (a[i][kk]);
      acc0[i] = _mm512_fmadd_ps (av, w0, acc0[i]);
      acc1[i] = _mm512_fmadd_ps (av, w1, acc1[i]);
    }
  }
  if (p->alpha) {
    al0 = _mm512_loadu_ps (p->alpha + col0);
    al1 = _mm512_loadu_ps (p->alpha + col0 + 16);
  }
#pragma GCC unroll 8
  for (size_t i = 0; i < mr; i++)
    store_row (p, m + i, col0, ncols, acc0[i], acc1[i], al0, al1);
}

FV_INLINE void
rows (const FvGemmParams * p, size_t m, const size_t mr)
{
  const size_t panels = (p->n + NR - 1) / NR;

  for (size_t pn = 0; pn < panels; pn++)
    tile (p, m, mr, pn);
}

void
fv_f32_gemm_ukernel_7x32__avx512 (const FvGemmParams * p, size_t m0,
    size_t m1)
{
  size_t m = m0;

  for (; m + MR <= m1; m += MR)
    rows (p, m, MR);
  switch (m1 - m) {
    case 6:
      rows (p, m, 6);
      break;
    case 5:
      rows (p, m, 5);
      break;
    case 4:
      rows (p, m, 4);
      break;
    case 3:
      rows (p, m, 3);
      break;
    case 2:
      rows (p, m, 2);
      break;
    case 1:
      rows (p, m, 1);
      break;
    default:
      break;
  }
}
