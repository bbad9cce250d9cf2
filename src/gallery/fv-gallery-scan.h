/* gst-faceverify: face verification on the CPU
 *
 * fv-gallery-scan.h: the dot-product scan of the matcher, one version per
 * instruction set (fv-gallery-scan-<isa>.c, each built with its own flags).
 */
#ifndef FV_GALLERY_SCAN_H
#define FV_GALLERY_SCAN_H

#include <stddef.h>

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

void fv_f32_dotrows_ukernel__scalar (size_t n_rows, size_t dim,
    const float *rows, size_t stride, size_t n_queries,
    const float *const *queries, float *scores, size_t score_stride);
void fv_f32_dotrows_ukernel_r4q2__avx2 (size_t n_rows, size_t dim,
    const float *rows, size_t stride, size_t n_queries,
    const float *const *queries, float *scores, size_t score_stride);
void fv_f32_dotrows_ukernel_r4q4__avx512 (size_t n_rows, size_t dim,
    const float *rows, size_t stride, size_t n_queries,
    const float *const *queries, float *scores, size_t score_stride);

#endif /* FV_GALLERY_SCAN_H */
