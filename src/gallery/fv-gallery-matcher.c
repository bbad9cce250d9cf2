/* gst-faceverify: face verification on the CPU
 *
 * fv-gallery-matcher.c: immutable gallery snapshots and open-set matching
 * against them.
 */
#include "fv-config.h"
#include "core/fv-core.h"
#include "gallery/fv-gallery-private.h"

#include <math.h>
#include <string.h>

/* Rows scanned per kernel call: 64 rows of 192 floats (48 KiB) stay in L2
 * while the scores are reduced, and the scores of four queries (1 KiB) fit
 * on the stack. */
#define SCAN_CHUNK 64

#define NO_IDENTITY G_MAXUINT32

/* The scan of the kernel level that models also get (fv_isa_select():
 * the CPU check and FV_CPU_MASK), chosen once. */
static gpointer
choose_scan (gpointer data)
{
  const FvKernelTable *t = fv_kernel_table_get (fv_isa_select ());

  if (t == NULL)
    t = fv_kernel_table_get (FV_ISA_SCALAR);
  return (gpointer) t;
}

FvScanFn
fv_gallery_scan_get (const char **name)
{
  static GOnce once = G_ONCE_INIT;
  const FvKernelTable *t = g_once (&once, choose_scan, NULL);

  if (name)
    *name = t->dotrows_name;
  return t->dotrows;
}

/**
 * fv_gallery_scan_kernel_name:
 *
 * The scan kernel that fv_gallery_snapshot_match() uses on this CPU (the
 * best one that `FV_CPU_MASK` allows), for benchmarks and logs.
 *
 * Returns: (transfer none): the kernel's name, e.g.
 *   "fv_f32_dotrows_ukernel_r4q4__avx512"
 */
const char *
fv_gallery_scan_kernel_name (void)
{
  const char *name;

  fv_gallery_scan_get (&name);
  return name;
}

FvGallerySnapshot *
fv_gallery_snapshot_alloc (guint dim, guint n_identities, guint n_samples)
{
  FvGallerySnapshot *s = g_new0 (FvGallerySnapshot, 1);

  s->ref_count = 1;
  s->dim = dim;
  s->stride = fv_round_up (dim, FV_SCAN_ROW_ALIGN);
  s->n_identities = n_identities;
  s->n_samples = n_samples;
  s->matrix = fv_alloc_floats ((gsize) (n_samples) * s->stride);
  s->row_identity = g_new0 (guint32, MAX (n_samples, 1));
  s->identity_ids = g_new0 (gint64, MAX (n_identities, 1));
  s->labels = g_new0 (const char *, MAX (n_identities, 1));
  s->display_names = g_new0 (const char *, MAX (n_identities, 1));
  s->strings = g_string_chunk_new (4096);
  return s;
}

/**
 * fv_gallery_snapshot_new:
 * @dim: the embedding dimension (at least 1)
 * @n_identities: how many identities
 * @labels: (array length=n_identities): their labels
 * @embeddings: (array): the samples of all identities, identity by
 *   identity, @dim floats each; they are L2-normalised in the copy
 * @n_samples: (array length=n_identities) (nullable): how many samples each
 *   identity has (at least 1), or %NULL for one each
 *
 * Makes a snapshot from vectors in memory, without a gallery file: for
 * benchmarks, tests and applications that keep their own store. The
 * identities get the ids 1, 2, … in order and the generation is 0.
 *
 * Returns: (transfer full): a new snapshot
 */
FvGallerySnapshot *
fv_gallery_snapshot_new (guint dim, guint n_identities,
    const char *const *labels, const float *embeddings, const guint * n_samples)
{
  FvGallerySnapshot *s;
  guint64 total = 0;
  guint i, k, row = 0;

  g_return_val_if_fail (dim >= 1, NULL);
  g_return_val_if_fail (n_identities == 0 || labels != NULL, NULL);
  g_return_val_if_fail (n_identities == 0 || embeddings != NULL, NULL);

  for (i = 0; i < n_identities; i++) {
    g_return_val_if_fail (n_samples == NULL || n_samples[i] >= 1, NULL);
    total += n_samples ? n_samples[i] : 1;
  }
  g_return_val_if_fail (total <= G_MAXUINT32 - 1, NULL);

  s = fv_gallery_snapshot_alloc (dim, n_identities, (guint) total);
  for (i = 0; i < n_identities; i++) {
    guint n = n_samples ? n_samples[i] : 1;

    s->identity_ids[i] = (gint64) i + 1;
    s->labels[i] = g_string_chunk_insert (s->strings, labels[i]);
    for (k = 0; k < n; k++, row++) {
      float *dst = s->matrix + (gsize) (row) * s->stride;

      memcpy (dst, embeddings + (gsize) (row) * dim, dim * sizeof (float));
      fv_l2_normalize (dst, dim);
      s->row_identity[row] = i;
    }
  }
  return s;
}

/**
 * fv_gallery_snapshot_ref:
 * @snapshot: a snapshot
 *
 * Returns: (transfer full): @snapshot, with one more reference
 */
FvGallerySnapshot *
fv_gallery_snapshot_ref (FvGallerySnapshot * snapshot)
{
  g_return_val_if_fail (snapshot != NULL, NULL);
  g_atomic_int_inc (&snapshot->ref_count);
  return snapshot;
}

/**
 * fv_gallery_snapshot_unref:
 * @snapshot: (transfer full): a snapshot
 *
 * Drops one reference; the last one frees the snapshot.
 */
void
fv_gallery_snapshot_unref (FvGallerySnapshot * snapshot)
{
  g_return_if_fail (snapshot != NULL);
  if (!g_atomic_int_dec_and_test (&snapshot->ref_count))
    return;
  fv_free_floats (snapshot->matrix);
  g_free (snapshot->row_identity);
  g_free (snapshot->identity_ids);
  g_free (snapshot->labels);
  g_free (snapshot->display_names);
  g_string_chunk_free (snapshot->strings);
  if (snapshot->skipped)
    g_ptr_array_unref (snapshot->skipped);
  g_free (snapshot);
}

/**
 * fv_gallery_snapshot_get_n_skipped:
 * @snapshot: a snapshot
 *
 * How many damaged rows the load that made @snapshot left out: samples
 * whose embedding is not a valid unit vector of the gallery's dimension
 * (wrong size, non-finite, absurd magnitude), samples of an identity that
 * is not in the gallery, and identities whose label breaks the label rule
 * (with all their samples). Such rows are never matched. The library
 * never prints: the caller reports them (fv_gallery_snapshot_get_skipped()).
 *
 * Returns: the number of rows left out
 */
guint
fv_gallery_snapshot_get_n_skipped (FvGallerySnapshot * snapshot)
{
  g_return_val_if_fail (snapshot != NULL, 0);
  return snapshot->skipped ? snapshot->skipped->len : 0;
}

/**
 * fv_gallery_snapshot_get_skipped:
 * @snapshot: a snapshot
 * @index: below fv_gallery_snapshot_get_n_skipped()
 *
 * Returns: (transfer none): one line naming a row that was left out and
 *   why (e.g. "sample 12 of \"alice\": not a unit vector")
 */
const char *
fv_gallery_snapshot_get_skipped (FvGallerySnapshot * snapshot, guint index)
{
  g_return_val_if_fail (snapshot != NULL, NULL);
  g_return_val_if_fail (index < fv_gallery_snapshot_get_n_skipped (snapshot),
      NULL);
  return snapshot->skipped->pdata[index];
}

/**
 * fv_gallery_snapshot_get_dim:
 * @snapshot: a snapshot
 *
 * Returns: the embedding dimension
 */
guint
fv_gallery_snapshot_get_dim (FvGallerySnapshot * snapshot)
{
  g_return_val_if_fail (snapshot != NULL, 0);
  return snapshot->dim;
}

/**
 * fv_gallery_snapshot_get_n_identities:
 * @snapshot: a snapshot
 *
 * Returns: how many identities it holds (identities without samples are
 *   left out)
 */
guint
fv_gallery_snapshot_get_n_identities (FvGallerySnapshot * snapshot)
{
  g_return_val_if_fail (snapshot != NULL, 0);
  return snapshot->n_identities;
}

/**
 * fv_gallery_snapshot_get_n_samples:
 * @snapshot: a snapshot
 *
 * Returns: how many samples (matrix rows) it holds
 */
guint
fv_gallery_snapshot_get_n_samples (FvGallerySnapshot * snapshot)
{
  g_return_val_if_fail (snapshot != NULL, 0);
  return snapshot->n_samples;
}

/**
 * fv_gallery_snapshot_get_generation:
 * @snapshot: a snapshot
 *
 * The gallery's generation when the snapshot was loaded: a counter stored
 * in the file that every change increments (the `gallery-version` of the
 * metadata). 0 for snapshots made with fv_gallery_snapshot_new().
 *
 * Returns: the generation
 */
guint64
fv_gallery_snapshot_get_generation (FvGallerySnapshot * snapshot)
{
  g_return_val_if_fail (snapshot != NULL, 0);
  return snapshot->generation;
}

/**
 * fv_gallery_snapshot_get_n_fetched:
 * @snapshot: a snapshot
 *
 * How many sample rows the load that made @snapshot read from its store.
 * A full load reads every sample; an incremental one (a PostgreSQL
 * gallery following its change log, see fv_gallery_reload()) reads only
 * the samples of the identities that changed, and 0 when they were only
 * removed. For logs, benchmarks and tests. 0 for snapshots made with
 * fv_gallery_snapshot_new().
 *
 * Returns: the number of sample rows read
 */
guint
fv_gallery_snapshot_get_n_fetched (FvGallerySnapshot * snapshot)
{
  g_return_val_if_fail (snapshot != NULL, 0);
  return snapshot->n_fetched;
}

/**
 * fv_gallery_snapshot_get_label:
 * @snapshot: a snapshot
 * @index: an identity index, less than the number of identities
 *
 * Returns: (transfer none): the label, valid as long as @snapshot
 */
const char *
fv_gallery_snapshot_get_label (FvGallerySnapshot * snapshot, guint index)
{
  g_return_val_if_fail (snapshot != NULL, NULL);
  g_return_val_if_fail (index < snapshot->n_identities, NULL);
  return snapshot->labels[index];
}

/**
 * fv_gallery_snapshot_get_display_name:
 * @snapshot: a snapshot
 * @index: an identity index, less than the number of identities
 *
 * Returns: (transfer none) (nullable): the display name, or %NULL when the
 *   identity has none
 */
const char *
fv_gallery_snapshot_get_display_name (FvGallerySnapshot * snapshot, guint index)
{
  g_return_val_if_fail (snapshot != NULL, NULL);
  g_return_val_if_fail (index < snapshot->n_identities, NULL);
  return snapshot->display_names[index];
}

/**
 * fv_gallery_snapshot_get_identity_id:
 * @snapshot: a snapshot
 * @index: an identity index, less than the number of identities
 *
 * Returns: the identity's database id, or -1 if @index is out of range
 */
gint64
fv_gallery_snapshot_get_identity_id (FvGallerySnapshot * snapshot, guint index)
{
  g_return_val_if_fail (snapshot != NULL, -1);
  g_return_val_if_fail (index < snapshot->n_identities, -1);
  return snapshot->identity_ids[index];
}

typedef struct
{
  guint32 current;              /* identity of the rows being reduced */
  float current_max;
  guint32 best;
  float best_dot;
  float second_dot;
} Reduce;

static inline void
reduce_flush (Reduce * r)
{
  if (r->current == NO_IDENTITY)
    return;
  if (r->current_max > r->best_dot) {
    r->second_dot = r->best_dot;
    r->best_dot = r->current_max;
    r->best = r->current;
  } else if (r->current_max > r->second_dot) {
    r->second_dot = r->current_max;
  }
}

/**
 * fv_gallery_snapshot_match:
 * @snapshot: a snapshot
 * @queries: (array): @n_queries embeddings of the snapshot's dimension, one
 *   after the other; they need not be normalised
 * @n_queries: how many
 * @threshold: the match threshold (cosine similarity)
 * @margin: the match margin
 * @results: (out caller-allocates) (array length=n_queries): one result per
 *   query
 *
 * Finds for each query the identity whose best sample is most similar, its
 * cosine similarity and the margin to the second-best identity, in one pass
 * over the matrix for up to four queries at a time. A query is known when
 * its similarity >= @threshold and its margin >= @margin.
 *
 * Allocates nothing and cannot fail: call it per frame. Any number of
 * threads may call it on the same snapshot at once.
 */
void
fv_gallery_snapshot_match (FvGallerySnapshot * snapshot,
    const float *queries, guint n_queries, float threshold, float margin,
    FvGalleryMatch * results)
{
  FvScanFn scan;
  const gsize dim = snapshot ? snapshot->dim : 0;
  guint q0;

  g_return_if_fail (snapshot != NULL);
  g_return_if_fail (n_queries == 0 || queries != NULL);
  g_return_if_fail (n_queries == 0 || results != NULL);

  scan = fv_gallery_scan_get (NULL);

  for (q0 = 0; q0 < n_queries; q0 += FV_SCAN_MAX_QUERIES) {
    const guint nq = MIN (FV_SCAN_MAX_QUERIES, n_queries - q0);
    const float *qp[FV_SCAN_MAX_QUERIES];
    float inv_norm[FV_SCAN_MAX_QUERIES];
    float scores[FV_SCAN_MAX_QUERIES * SCAN_CHUNK];
    Reduce red[FV_SCAN_MAX_QUERIES];
    guint j, r0;

    for (j = 0; j < nq; j++) {
      double sum = 0.0;
      gsize k;

      qp[j] = queries + (gsize) (q0 + j) * dim;
      for (k = 0; k < dim; k++)
        sum += (double) qp[j][k] * qp[j][k];
      inv_norm[j] = (sum > 1e-20 && isfinite (sum))
          ? (float) (1.0 / sqrt (sum)) : 0.0f;
      red[j].current = NO_IDENTITY;
      red[j].current_max = -INFINITY;
      red[j].best = NO_IDENTITY;
      red[j].best_dot = -INFINITY;
      red[j].second_dot = -INFINITY;
    }

    for (r0 = 0; r0 < snapshot->n_samples; r0 += SCAN_CHUNK) {
      const guint n = MIN (SCAN_CHUNK, snapshot->n_samples - r0);
      const guint32 *ids = snapshot->row_identity + r0;

      scan (n, dim, snapshot->matrix + (gsize) (r0) * snapshot->stride,
          snapshot->stride, nq, qp, scores, SCAN_CHUNK);
      for (j = 0; j < nq; j++) {
        const float *s = scores + j * SCAN_CHUNK;
        Reduce *r = &red[j];
        guint i;

        for (i = 0; i < n; i++) {
          if (ids[i] != r->current) {
            reduce_flush (r);
            r->current = ids[i];
            r->current_max = s[i];
          } else if (s[i] > r->current_max) {
            r->current_max = s[i];
          }
        }
      }
    }

    for (j = 0; j < nq; j++) {
      FvGalleryMatch *m = &results[q0 + j];
      Reduce *r = &red[j];
      float sim, second;

      reduce_flush (r);
      if (r->best == NO_IDENTITY || inv_norm[j] == 0.0f
          || !isfinite (r->best_dot)) {
        m->index = -1;
        m->identity_id = -1;
        m->label = NULL;
        m->similarity = 0.0f;
        m->margin = 0.0f;
        m->known = FALSE;
        continue;
      }
      sim = CLAMP (r->best_dot * inv_norm[j], -1.0f, 1.0f);
      second = isfinite (r->second_dot)
          ? CLAMP (r->second_dot * inv_norm[j], -1.0f, 1.0f) : -1.0f;
      m->index = (gint) r->best;
      m->identity_id = snapshot->identity_ids[r->best];
      m->label = snapshot->labels[r->best];
      m->similarity = sim;
      m->margin = sim - second;
      m->known = sim >= threshold && m->margin >= margin;
    }
  }
}
