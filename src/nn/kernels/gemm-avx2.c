/* GEMM for 1x1 convolutions, AVX2 + FMA: tiles of 6 rows x 16 columns.
 * Twelve accumulators hide the FMA latency (two FMA pipes x 4 cycles) and
 * leave room for two weight vectors and one broadcast in 16 registers. */
#include "gemm.h"

#include <immintrin.h>

#define MR 6
#define NR 16

#define FV_INLINE static inline __attribute__((always_inline))

static const int tail_mask_bits[16] = {
  -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0
};

/* Lanes [0, n) set, n in 0..8. */
FV_INLINE __m256i
tail_mask (size_t n)
{
  return _mm256_loadu_si256 ((const __m256i *) (tail_mask_bits + 8 - n));
}

FV_INLINE __m256
prelu (__m256 v, __m256 alpha)
{
  return _mm256_blendv_ps (v, _mm256_mul_ps (v, alpha), v);
}

FV_INLINE void
store_row (const FvGemmParams * p, size_t m, size_t col0, size_t ncols,
    __m256 v0, __m256 v1, __m256 al0, __m256 al1)
{
  float *c = p->c + m * p->c_stride + col0;

  if (p->alpha) {
    v0 = prelu (v0, al0);
    v1 = prelu (v1, al1);
  }
  if (ncols == NR) {
    if (p->res) {
      const float *r = p->res + m * p->res_stride + col0;
      v0 = _mm256_add_ps (v0, _mm256_loadu_ps (r));
      v1 = _mm256_add_ps (v1, _mm256_loadu_ps (r + 8));
    }
    _mm256_storeu_ps (c, v0);
    _mm256_storeu_ps (c + 8, v1);
  } else {
    const __m256i m0 = tail_mask (ncols < 8 ? ncols : 8);
    const __m256i m1 = tail_mask (ncols > 8 ? ncols - 8 : 0);
    if (p->res) {
      const float *r = p->res + m * p->res_stride + col0;
      v0 = _mm256_add_ps (v0, _mm256_maskload_ps (r, m0));
      v1 = _mm256_add_ps (v1, _mm256_maskload_ps (r + 8, m1));
    }
    _mm256_maskstore_ps (c, m0, v0);
    _mm256_maskstore_ps (c + 8, m1, v1);
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
  __m256 acc0[MR], acc1[MR];
  __m256 al0 = _mm256_setzero_ps (), al1 = _mm256_setzero_ps ();

#pragma GCC unroll 8
  for (size_t i = 0; i < mr; i++) {
    a[i] = p->a + (m + i) * p->a_stride;
    acc0[i] = _mm256_loadu_ps (w);
    acc1[i] = _mm256_loadu_ps (w + 8);
  }
  w += NR;
  for (size_t kk = 0; kk < k; kk++, w += NR) {
    const __m256 w0 = _mm256_loadu_ps (w);
    const __m256 w1 = _mm256_loadu_ps (w + 8);
#pragma GCC unroll 8
    for (size_t i = 0; i < mr; i++) {
      const __m256 av = _mm256_broadcast_ss (a[i] + kk);
      acc0[i] = _mm256_fmadd_ps (av, w0, acc0[i]);
      acc1[i] = _mm256_fmadd_ps (av, w1, acc1[i]);
    }
  }
  if (p->alpha) {
    al0 = _mm256_loadu_ps (p->alpha + col0);
    al1 = _mm256_loadu_ps (p->alpha + col0 + 8);
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
fv_f32_gemm_ukernel_6x16__avx2 (const FvGemmParams * p, size_t m0, size_t m1)
{
  size_t m = m0;

  for (; m + MR <= m1; m += MR)
    rows (p, m, MR);
  switch (m1 - m) {
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
