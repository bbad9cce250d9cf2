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
  float *matrix;                /* n_samples rows, grouped by identity */
  guint16 *matrix16;            /* the same in half floats, or NULL */
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

/* A snapshot with room for the given sizes: the matrix is zeroed (so the
 * padding of each row is zero), the other arrays are to be filled. */
FvGallerySnapshot *fv_gallery_snapshot_alloc (guint dim, guint n_identities,
    guint n_samples);

/* Makes the half-float copy of a finished snapshot's matrix (large
 * snapshots only); every way of making a snapshot ends with it. */
void fv_gallery_snapshot_seal (FvGallerySnapshot * snapshot);
/* The two halves of seal, for a snapshot made from another's rows: room
 * for the half copy (FALSE: too small to need one), and the half copy of
 * @n rows from @row. */
gboolean fv_gallery_snapshot_alloc_half (FvGallerySnapshot * snapshot);
void fv_gallery_snapshot_half_rows (FvGallerySnapshot * snapshot, guint row,
    guint n);

/* The kernels for this CPU and FV_CPU_MASK (the scans), chosen once. */
const FvKernelTable *fv_gallery_kernels (void);

/* The scan FV_GALLERY_SCAN_AUTO means for @snapshot. */
FvGalleryScan fv_gallery_scan_default (FvGallerySnapshot * snapshot);

G_END_DECLS

#endif /* FV_GALLERY_PRIVATE_H */
