/* gst-faceverify: face verification on the CPU
 *
 * fv-gallery-private.h: what the gallery's store, matcher and JSON code
 * share inside the library.
 */
#ifndef FV_GALLERY_PRIVATE_H
#define FV_GALLERY_PRIVATE_H

#include "fv.h"
#include "gallery/fv-gallery-scan.h"

G_BEGIN_DECLS

struct _FvGallerySnapshot
{
  gint ref_count;
  guint dim;
  guint stride;                 /* floats per matrix row */
  guint n_identities;
  guint n_samples;
  /* n_samples rows, grouped by identity, read and written only through
   * the functions below (fv-gallery-rows.c): either floats (matrix) or,
   * for large snapshots, half floats (matrix16, what the half scan
   * reads) with a residual per element and a sorted list of exceptions
   * that give back the floats exactly; the other pointers are NULL. */
  float *matrix;
  guint16 *matrix16;
  gint16 *residual;
  GArray *exceptions;           /* FvGalleryException, by index */
  guint32 *row_identity;        /* identity index of each row */
  gint64 *identity_ids;
  const char **labels;
  const char **display_names;   /* entries may be NULL */
  GStringChunk *strings;
  guint64 generation;
  double default_threshold;     /* the calibrated one, NAN: none */
  guint n_fetched;              /* sample rows read from the store for it */
  GPtrArray *skipped;           /* damaged rows left out (strings), or NULL */
};

/* An element that the half + residual form cannot hold, kept whole. */
typedef struct
{
  guint64 index;                /* row * stride + column */
  float value;
} FvGalleryException;

/* A snapshot with room for the given sizes: the rows are zeroed (so the
 * padding of each row is zero), the other arrays are to be filled. */
FvGallerySnapshot *fv_gallery_snapshot_alloc (guint dim, guint n_identities,
    guint n_samples);

/* The rows' storage (fv_gallery_snapshot_alloc() and _unref() call
 * these): the float form below 2 MiB of floats or with
 * FV_GALLERY_SCAN=float, else the half + residual form. */
void fv_gallery_snapshot_alloc_rows (FvGallerySnapshot * snapshot);
void fv_gallery_snapshot_free_rows (FvGallerySnapshot * snapshot);

/* Writes the @dim floats of row @row (each row once, before seal). */
void fv_gallery_snapshot_set_row (FvGallerySnapshot * snapshot, guint row,
    const float *values);
/* Row @row as floats, bit for bit what was written: the row itself (float
 * form) or @scratch (stride floats) filled with it. Allocates nothing. */
const float *fv_gallery_snapshot_get_row (FvGallerySnapshot * snapshot,
    guint row, float *scratch);
/* @n rows from @row into @out (n * stride floats, padding included). */
void fv_gallery_snapshot_get_rows (FvGallerySnapshot * snapshot, guint row,
    guint n, float *out);
/* Copies @n rows of @src (sealed) from @src_row to @dst at @dst_row, in
 * ascending order of @dst_row over the calls; the same stride. */
void fv_gallery_snapshot_copy_rows (FvGallerySnapshot * dst, guint dst_row,
    FvGallerySnapshot * src, guint src_row, guint n);
/* Moves row i to @new_row[i] (ascending, <= i) or drops it (G_MAXUINT). */
void fv_gallery_snapshot_pack_rows (FvGallerySnapshot * snapshot,
    const guint * new_row);
/* Ends the writing of rows; every way of making a snapshot ends with it. */
void fv_gallery_snapshot_seal (FvGallerySnapshot * snapshot);

/* A float-form copy of @snapshot (tests and benchmarks: the reference). */
FvGallerySnapshot *fv_gallery_snapshot_copy_float (FvGallerySnapshot *
    snapshot);

/* One element in the half + residual form: FALSE (residual G_MININT16)
 * when it needs an exception entry. */
gboolean fv_gallery_residual_encode (float value, guint16 * half,
    gint16 * residual);
float fv_gallery_residual_decode (guint16 half, gint16 residual);

/* Whether FV_GALLERY_SCAN=float asks for float rows and scans (read once). */
gboolean fv_gallery_keep_float (void);

/* Rows the half scans re-ranked in float and queries scanned again in
 * float since the process started (benchmarks). */
void fv_gallery_rerank_stats (guint64 * rows, guint64 * rescans);

/* The kernels for this CPU and FV_CPU_MASK (the scans), chosen once. */
const FvKernelTable *fv_gallery_kernels (void);

/* The scan FV_GALLERY_SCAN_AUTO means for @snapshot. */
FvGalleryScan fv_gallery_scan_default (FvGallerySnapshot * snapshot);

G_END_DECLS

#endif /* FV_GALLERY_PRIVATE_H */
