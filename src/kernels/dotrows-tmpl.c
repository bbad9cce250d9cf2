/* The gallery scan: dot products of matrix rows with up to
 * FV_DOTROWS_QMAX queries per pass, four rows at a time (4 x QMAX
 * accumulators, each row loaded once for all queries of the pass). The
 * rows are float or half float (widened exactly on load: the half scan
 * reads half the bytes of a DRAM-bound pass). Written once against
 * simd/f32-<isa>.h, compiled once per instruction set.
 *
 * A pass over a large matrix waits on DRAM, and the hardware prefetchers
 * alone do not run far enough ahead: on a Zen 5 the half scan read 13 GB/s
 * (no faster than the float scan's 20 GB/s of twice the bytes) and took
 * the same time, at one query or four. So the kernel asks for the rows
 * PREFETCH_BYTES ahead of those it reads, which the rows' half size then
 * turns into half the time. */
#include FV_SIMD_HEADER
#include "fv-ukernel-name.h"
#include "fv-kernels.h"

#include <stdint.h>

#define VL FV_VL

/* How far ahead of the rows being read the kernel prefetches: 6 to 12 KiB
 * measured best at both x86 levels (at 100k rows of 192 dimensions). */
#define PREFETCH_BYTES 8192
#define CACHE_LINE 64

/* One query's four accumulators, one per row. Named variables rather than
 * an array: the compiler keeps them all in registers. */
#define ACC_DECL(j) \
  fv_vf a0##j = fv_vzero (), a1##j = a0##j, a2##j = a0##j, a3##j = a0##j
#define QLOAD(j) \
  (k < full ? fv_vloadu (q##j + k) : fv_vload_mask (q##j + k, tail_mask))
#define ACC_FMA(j)                                                       \
  if (nq > j) {                                                          \
    fv_vf v = QLOAD (j);                                                 \
    a0##j = fv_vfmadd (r0, v, a0##j);                                    \
    a1##j = fv_vfmadd (r1, v, a1##j);                                    \
    a2##j = fv_vfmadd (r2, v, a2##j);                                    \
    a3##j = fv_vfmadd (r3, v, a3##j);                                    \
  }
#define ACC_STORE(j)                                                     \
  if (nq > j)                                                            \
    fv_vstore4 (scores + j * score_stride + i,                           \
        fv_vhsum4 (a0##j, a1##j, a2##j, a3##j))
#define ROW_FMA(j)                                                       \
  if (nq > j)                                                            \
    b##j = fv_vfmadd (rv, QLOAD (j), b##j)
#define ROW_STORE(j)                                                     \
  if (nq > j)                                                            \
    scores[j * score_stride + i] = fv_vhsum (b##j)

/* Row element k of row pointer r (an element offset into the matrix). */
#define RLOAD(off) \
  (f16 ? fv_vload_f16 ((const uint16_t *) rows + (off)) \
      : fv_vload ((const float *) rows + (off)))

/* Asks for the @n bytes at @p. A prefetch never faults: past the end of
 * the matrix it does nothing. */
FV_INLINE void
prefetch (const char *p, size_t n)
{
  size_t b;

  for (b = 0; b < n; b += CACHE_LINE)
    __builtin_prefetch (p + b);
}

/* nq queries, rows of half floats if f16 (both constants after
 * inlining). */
FV_INLINE void
scan_q (const int nq, const int f16, size_t n_rows, size_t dim,
    const void *rows, size_t stride, const float *const *queries,
    float *scores, size_t score_stride)
{
  const size_t full = dim & ~(size_t) (VL - 1);
  const size_t tail = dim - full;
  const fv_vmask tail_mask = fv_vmask_tail (tail);
  const size_t end = full + (tail ? VL : 0);
  const size_t esize = f16 ? sizeof (uint16_t) : sizeof (float);
  const float *q0 = queries[0];
  const float *q1 = nq > 1 ? queries[1] : q0;
  const float *q2 = nq > 2 ? queries[2] : q0;
  const float *q3 = nq > 3 ? queries[3] : q0;
  size_t i, k;

  for (i = 0; i + 4 <= n_rows; i += 4) {
    const size_t r = i * stride;
    ACC_DECL (0);
    ACC_DECL (1);
    ACC_DECL (2);
    ACC_DECL (3);

    for (k = 0; k < end; k += VL) {
      /* Rows are zero-padded to FV_SCAN_ROW_ALIGN floats: only the
       * queries need a mask in the tail. */
      fv_vf r0 = RLOAD (r + k);
      fv_vf r1 = RLOAD (r + stride + k);
      fv_vf r2 = RLOAD (r + 2 * stride + k);
      fv_vf r3 = RLOAD (r + 3 * stride + k);

      /* The four rows are contiguous: the 4 VL elements a step reads,
       * swept PREFETCH_BYTES further on. */
      prefetch ((const char *) rows + (r + 4 * k) * esize + PREFETCH_BYTES,
          4 * VL * esize);
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
    const size_t r = i * stride;
    fv_vf b0 = fv_vzero (), b1 = b0, b2 = b0, b3 = b0;

    for (k = 0; k < end; k += VL) {
      fv_vf rv = RLOAD (r + k);

      ROW_FMA (0);
      ROW_FMA (1);
      ROW_FMA (2);
      ROW_FMA (3);
    }
    ROW_STORE (0);
    ROW_STORE (1);
    ROW_STORE (2);
    ROW_STORE (3);
  }
}

FV_INLINE void
scan (const int f16, size_t n_rows, size_t dim, const void *rows,
    size_t stride, size_t n_queries, const float *const *queries,
    float *scores, size_t score_stride)
{
  size_t j;

  for (j = 0; j < n_queries; j += FV_DOTROWS_QMAX) {
    const float *const *q = queries + j;
    float *s = scores + j * score_stride;

    switch (n_queries - j) {
      case 1:
        scan_q (1, f16, n_rows, dim, rows, stride, q, s, score_stride);
        break;
#if FV_DOTROWS_QMAX > 2
      case 2:
        scan_q (2, f16, n_rows, dim, rows, stride, q, s, score_stride);
        break;
      case 3:
        scan_q (3, f16, n_rows, dim, rows, stride, q, s, score_stride);
        break;
#endif
      default:
        scan_q (FV_DOTROWS_QMAX, f16, n_rows, dim, rows, stride, q, s,
            score_stride);
        break;
    }
  }
}

void
FV_UKERNEL_NAME (f32_dotrows_ukernel_, FV_DOTROWS_TILE) (size_t n_rows,
    size_t dim, const float *rows, size_t stride, size_t n_queries,
    const float *const *queries, float *scores, size_t score_stride)
{
  scan (0, n_rows, dim, rows, stride, n_queries, queries, scores,
      score_stride);
}

void
FV_UKERNEL_NAME (f16_dotrows_ukernel_, FV_DOTROWS_TILE) (size_t n_rows,
    size_t dim, const uint16_t * rows, size_t stride, size_t n_queries,
    const float *const *queries, float *scores, size_t score_stride)
{
  scan (1, n_rows, dim, rows, stride, n_queries, queries, scores,
      score_stride);
}
