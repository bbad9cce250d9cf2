/* The gallery scan: dot products of the rows of the gallery matrix with a
 * few queries (the matcher's inner loop). */
#ifndef FV_KERNEL_DOTROWS_H
#define FV_KERNEL_DOTROWS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Rows of the gallery matrix are padded with zeros to a multiple of this
 * many floats and start on a 64-byte boundary. */
#define FV_SCAN_ROW_ALIGN 16

/* The most queries one call of a scan kernel takes. */
#define FV_SCAN_MAX_QUERIES 4

/* scores[j * score_stride + i] = dot (rows + i * stride, queries[j]) over
 * dim elements, for i < n_rows and j < n_queries (1..FV_SCAN_MAX_QUERIES).
 * @rows: 64-byte aligned, @stride a multiple of FV_SCAN_ROW_ALIGN and
 * >= dim, with zeros from dim to stride; the queries have dim floats and
 * any alignment. */
typedef void (*FvScanFn) (size_t n_rows, size_t dim, const float *rows,
    size_t stride, size_t n_queries, const float *const *queries,
    float *scores, size_t score_stride);

/* The same over rows of IEEE half floats (fv_f32_to_f16() in f16.h),
 * widened exactly: @stride counts halves, rows are 32-byte aligned. */
typedef void (*FvScanF16Fn) (size_t n_rows, size_t dim,
    const uint16_t * rows, size_t stride, size_t n_queries,
    const float *const *queries, float *scores, size_t score_stride);

#ifdef __cplusplus
}
#endif

#endif /* FV_KERNEL_DOTROWS_H */
