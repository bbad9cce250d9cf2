/* gst-faceverify: face verification on the CPU
 *
 * fv-gallery-scan-avx512.c: the scan with AVX-512F (built with
 * -mavx512f -mavx512vl -mavx512dq -mavx512bw -mfma). Four rows by up to
 * four queries at a time: sixteen accumulators, each row loaded once for
 * all queries of the batch.
 */
#include "fv-gallery-scan.h"

#include <immintrin.h>

static inline __m256
fold (__m512 a)
{
  return _mm256_add_ps (_mm512_castps512_ps256 (a),
      _mm512_extractf32x8_ps (a, 1));
}

/* Sums of four vectors, in one vector [sum a, sum b, sum c, sum d]. */
static inline __m128
hsum4 (__m512 a, __m512 b, __m512 c, __m512 d)
{
  __m256 t = _mm256_hadd_ps (_mm256_hadd_ps (fold (a), fold (b)),
      _mm256_hadd_ps (fold (c), fold (d)));

  return _mm_add_ps (_mm256_castps256_ps128 (t), _mm256_extractf128_ps (t, 1));
}

/* One query's four accumulators, one per row. Named variables rather than
 * an array: the compiler keeps them all in registers. */
#define ACC_DECL(j) \
  __m512 a0##j = _mm512_setzero_ps (), a1##j = a0##j, a2##j = a0##j, \
      a3##j = a0##j
#define ACC_FMA(j)                                                       \
  if (nq > j) {                                                          \
    __m512 v = k < full ? _mm512_loadu_ps (q##j + k)                     \
        : _mm512_maskz_loadu_ps (tail_mask, q##j + k);                   \
    a0##j = _mm512_fmadd_ps (r0, v, a0##j);                              \
    a1##j = _mm512_fmadd_ps (r1, v, a1##j);                              \
    a2##j = _mm512_fmadd_ps (r2, v, a2##j);                              \
    a3##j = _mm512_fmadd_ps (r3, v, a3##j);                              \
  }
#define ACC_STORE(j)                                                     \
  if (nq > j)                                                            \
    _mm_storeu_ps (scores + j * score_stride + i,                        \
        hsum4 (a0##j, a1##j, a2##j, a3##j))

static inline __attribute__((always_inline))
     void scan_q (const int nq, size_t n_rows, size_t dim, const float *rows,
    size_t stride, const float *const *queries, float *scores,
    size_t score_stride)
{
  const size_t full = dim & ~(size_t) 15;
  const size_t tail = dim - full;
  const __mmask16 tail_mask = (__mmask16) ((1u << tail) - 1u);
  const size_t end = full + (tail ? 16 : 0);
  const float *q0 = queries[0];
  const float *q1 = nq > 1 ? queries[1] : q0;
  const float *q2 = nq > 2 ? queries[2] : q0;
  const float *q3 = nq > 3 ? queries[3] : q0;
  size_t i, k;

  for (i = 0; i + 4 <= n_rows; i += 4) {
    const float *r = rows + i * stride;
    ACC_DECL (0);
    ACC_DECL (1);
    ACC_DECL (2);
    ACC_DECL (3);

    for (k = 0; k < end; k += 16) {
      /* Rows are zero-padded to 16 floats: only the queries need a mask
       * in the tail. */
      __m512 r0 = _mm512_load_ps (r + k);
      __m512 r1 = _mm512_load_ps (r + stride + k);
      __m512 r2 = _mm512_load_ps (r + 2 * stride + k);
      __m512 r3 = _mm512_load_ps (r + 3 * stride + k);

      ACC_FMA (0);
      ACC_FMA (1);
      ACC_FMA (2);
      ACC_FMA (3);
    }
    ACC_STORE (0);
    ACC_STORE (1);
    ACC_STORE (2);
    ACC_STORE (3);
  }

  for (; i < n_rows; i++) {
    const float *r = rows + i * stride;
    __m512 b0 = _mm512_setzero_ps (), b1 = b0, b2 = b0, b3 = b0;

    for (k = 0; k < end; k += 16) {
      __m512 rv = _mm512_load_ps (r + k);

#define ROW_FMA(j)                                                       \
      if (nq > j)                                                        \
        b##j = _mm512_fmadd_ps (rv, k < full ? _mm512_loadu_ps (q##j + k)  \
            : _mm512_maskz_loadu_ps (tail_mask, q##j + k), b##j)
      ROW_FMA (0);
      ROW_FMA (1);
      ROW_FMA (2);
      ROW_FMA (3);
#undef ROW_FMA
    }
    scores[i] = _mm512_reduce_add_ps (b0);
    if (nq > 1)
      scores[score_stride + i] = _mm512_reduce_add_ps (b1);
    if (nq > 2)
      scores[2 * score_stride + i] = _mm512_reduce_add_ps (b2);
    if (nq > 3)
      scores[3 * score_stride + i] = _mm512_reduce_add_ps (b3);
  }
}

#undef ACC_DECL
#undef ACC_FMA
#undef ACC_STORE

void
fv_f32_dotrows_ukernel_r4q4__avx512 (size_t n_rows, size_t dim,
    const float *rows, size_t stride, size_t n_queries,
    const float *const *queries, float *scores, size_t score_stride)
{
  switch (n_queries) {
    case 1:
      scan_q (1, n_rows, dim, rows, stride, queries, scores, score_stride);
      break;
    case 2:
      scan_q (2, n_rows, dim, rows, stride, queries, scores, score_stride);
      break;
    case 3:
      scan_q (3, n_rows, dim, rows, stride, queries, scores, score_stride);
      break;
    default:
      scan_q (4, n_rows, dim, rows, stride, queries, scores, score_stride);
      break;
  }
}
