/* gst-faceverify: face verification on the CPU
 *
 * dotrows-scalar.c: the portable gallery scan, and the reference that the
 * SIMD versions are tested against.
 */
#include "fv-kernels.h"
#include "f16.h"

void
fv_f32_dotrows_ukernel__scalar (size_t n_rows, size_t dim,
    const float *rows, size_t stride, size_t n_queries,
    const float *const *queries, float *scores, size_t score_stride)
{
  size_t i, j, k;

  for (j = 0; j < n_queries; j++) {
    const float *q = queries[j];

    for (i = 0; i < n_rows; i++) {
      const float *r = rows + i * stride;
      /* Four partial sums: the order the SIMD versions add in is closer to
       * this than to one running sum. */
      float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;

      for (k = 0; k + 4 <= dim; k += 4) {
        s0 += r[k] * q[k];
        s1 += r[k + 1] * q[k + 1];
        s2 += r[k + 2] * q[k + 2];
        s3 += r[k + 3] * q[k + 3];
      }
      for (; k < dim; k++)
        s0 += r[k] * q[k];
      scores[j * score_stride + i] = (s0 + s1) + (s2 + s3);
    }
  }
}

void
fv_f16_dotrows_ukernel__scalar (size_t n_rows, size_t dim,
    const uint16_t * rows, size_t stride, size_t n_queries,
    const float *const *queries, float *scores, size_t score_stride)
{
  size_t i, j, k;

  for (j = 0; j < n_queries; j++) {
    const float *q = queries[j];

    for (i = 0; i < n_rows; i++) {
      const uint16_t *r = rows + i * stride;
      float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;

      for (k = 0; k + 4 <= dim; k += 4) {
        s0 += fv_f16_to_f32 (r[k]) * q[k];
        s1 += fv_f16_to_f32 (r[k + 1]) * q[k + 1];
        s2 += fv_f16_to_f32 (r[k + 2]) * q[k + 2];
        s3 += fv_f16_to_f32 (r[k + 3]) * q[k + 3];
      }
      for (; k < dim; k++)
        s0 += fv_f16_to_f32 (r[k]) * q[k];
      scores[j * score_stride + i] = (s0 + s1) + (s2 + s3);
    }
  }
}
