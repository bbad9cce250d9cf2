/* gst-faceverify: face verification on the CPU
 *
 * fv-gallery-scan-avx2.c: the scan with AVX2 + FMA (built with -mavx2
 * -mfma). Four rows by up to two queries at a time: eight independent FMA
 * chains hide the FMA latency, and each row is loaded once per pair of
 * queries.
 */
#include "fv-gallery-scan.h"

#include <immintrin.h>

/* Sums of four vectors, in one vector [sum a, sum b, sum c, sum d]. */
static inline __m128
hsum4 (__m256 a, __m256 b, __m256 c, __m256 d)
{
  __m256 t = _mm256_hadd_ps (_mm256_hadd_ps (a, b), _mm256_hadd_ps (c, d));

  return _mm_add_ps (_mm256_castps256_ps128 (t), _mm256_extractf128_ps (t, 1));
}

static inline float
hsum1 (__m256 a)
{
  __m128 s = _mm_add_ps (_mm256_castps256_ps128 (a),
      _mm256_extractf128_ps (a, 1));

  s = _mm_add_ps (s, _mm_movehl_ps (s, s));
  s = _mm_add_ss (s, _mm_movehdup_ps (s));
  return _mm_cvtss_f32 (s);
}

static inline __attribute__((always_inline))
     void scan_q (const int nq, size_t n_rows, size_t dim, const float *rows,
    size_t stride, const float *const *queries, float *scores,
    size_t score_stride)
{
  static const int mask_table[16] = {
    -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0
  };
  const size_t full = dim & ~(size_t) 7;
  const size_t tail = dim - full;
  const __m256i tail_mask =
      _mm256_loadu_si256 ((const __m256i *) (mask_table + 8 - tail));
  const float *q0 = queries[0];
  const float *q1 = nq > 1 ? queries[1] : queries[0];
  size_t i, k;

  for (i = 0; i + 4 <= n_rows; i += 4) {
    const float *r = rows + i * stride;
    __m256 a00 = _mm256_setzero_ps (), a10 = a00, a20 = a00, a30 = a00;
    __m256 a01 = a00, a11 = a00, a21 = a00, a31 = a00;

    for (k = 0; k < full + (tail ? 8 : 0); k += 8) {
      /* The rows are zero-padded to 16 floats, so only the queries need a
       * masked load in the tail. */
      __m256 v0 = k < full ? _mm256_loadu_ps (q0 + k)
          : _mm256_maskload_ps (q0 + k, tail_mask);
      __m256 r0 = _mm256_load_ps (r + k);
      __m256 r1 = _mm256_load_ps (r + stride + k);
      __m256 r2 = _mm256_load_ps (r + 2 * stride + k);
      __m256 r3 = _mm256_load_ps (r + 3 * stride + k);

      a00 = _mm256_fmadd_ps (r0, v0, a00);
      a10 = _mm256_fmadd_ps (r1, v0, a10);
      a20 = _mm256_fmadd_ps (r2, v0, a20);
      a30 = _mm256_fmadd_ps (r3, v0, a30);
      if (nq > 1) {
        __m256 v1 = k < full ? _mm256_loadu_ps (q1 + k)
            : _mm256_maskload_ps (q1 + k, tail_mask);

        a01 = _mm256_fmadd_ps (r0, v1, a01);
        a11 = _mm256_fmadd_ps (r1, v1, a11);
        a21 = _mm256_fmadd_ps (r2, v1, a21);
        a31 = _mm256_fmadd_ps (r3, v1, a31);
      }
    }
    _mm_storeu_ps (scores + i, hsum4 (a00, a10, a20, a30));
    if (nq > 1)
      _mm_storeu_ps (scores + score_stride + i, hsum4 (a01, a11, a21, a31));
  }

  for (; i < n_rows; i++) {
    const float *r = rows + i * stride;
    __m256 a0 = _mm256_setzero_ps (), a1 = a0;

    for (k = 0; k < full + (tail ? 8 : 0); k += 8) {
      __m256 rv = _mm256_load_ps (r + k);

      a0 = _mm256_fmadd_ps (rv, k < full ? _mm256_loadu_ps (q0 + k)
          : _mm256_maskload_ps (q0 + k, tail_mask), a0);
      if (nq > 1)
        a1 = _mm256_fmadd_ps (rv, k < full ? _mm256_loadu_ps (q1 + k)
            : _mm256_maskload_ps (q1 + k, tail_mask), a1);
    }
    scores[i] = hsum1 (a0);
    if (nq > 1)
      scores[score_stride + i] = hsum1 (a1);
  }
}

void
fv_f32_dotrows_ukernel_r4q2__avx2 (size_t n_rows, size_t dim,
    const float *rows, size_t stride, size_t n_queries,
    const float *const *queries, float *scores, size_t score_stride)
{
  size_t j;

  for (j = 0; j < n_queries; j += 2) {
    if (n_queries - j >= 2)
      scan_q (2, n_rows, dim, rows, stride, queries + j,
          scores + j * score_stride, score_stride);
    else
      scan_q (1, n_rows, dim, rows, stride, queries + j,
          scores + j * score_stride, score_stride);
  }
}
