/* gst-faceverify: face verification on the CPU
 *
 * fv-gallery-matcher.c: immutable gallery snapshots and open-set matching
 * against them.
 */
#include "fv-config.h"
#include "core/fv-core.h"
#include "gallery/fv-gallery-private.h"

#include "kernels/f16.h"

#include <math.h>
#include <stdatomic.h>
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

const FvKernelTable *
fv_gallery_kernels (void)
{
  static GOnce once = G_ONCE_INIT;

  return g_once (&once, choose_scan, NULL);
}

/* FV_GALLERY_SCAN=float keeps every scan in float (read once). */
static gpointer
read_scan_env (gpointer data)
{
  const char *env = g_getenv ("FV_GALLERY_SCAN");

  return GINT_TO_POINTER (env && g_ascii_strcasecmp (env, "float") == 0
      ? FV_GALLERY_SCAN_FLOAT : FV_GALLERY_SCAN_HALF);
}

static FvGalleryScan
scan_env (void)
{
  static GOnce once = G_ONCE_INIT;

  return GPOINTER_TO_INT (g_once (&once, read_scan_env, NULL));
}

gboolean
fv_gallery_keep_float (void)
{
  return scan_env () == FV_GALLERY_SCAN_FLOAT;
}

FvGalleryScan
fv_gallery_scan_default (FvGallerySnapshot * snapshot)
{
  return snapshot->matrix16 ? scan_env () : FV_GALLERY_SCAN_FLOAT;
}

/* Per thread, the rows the scans rebuild from the half + residual form
 * (FV_SCAN_R rows): allocated on a thread's first such scan, and again
 * only for a larger dimension. */
#define FV_SCAN_R 4

typedef struct
{
  gsize n_floats;
  float *rows;
} Scratch;

static void
scratch_free (gpointer data)
{
  Scratch *s = data;

  fv_free_floats (s->rows);
  g_free (s);
}

static GPrivate scratch_key = G_PRIVATE_INIT (scratch_free);

static float *
scratch_rows (const FvGallerySnapshot * snapshot)
{
  const gsize n = (gsize) (FV_SCAN_R) * snapshot->stride;
  Scratch *s = g_private_get (&scratch_key);

  if (s == NULL || s->n_floats < n) {
    s = g_new (Scratch, 1);
    s->n_floats = n;
    s->rows = fv_alloc_floats (n);
    g_private_replace (&scratch_key, s);
  }
  return s->rows;
}

static atomic_uint_fast64_t rerank_rows, rerank_rescans;

void
fv_gallery_rerank_stats (guint64 * rows, guint64 * rescans)
{
  *rows = atomic_load_explicit (&rerank_rows, memory_order_relaxed);
  *rescans = atomic_load_explicit (&rerank_rescans, memory_order_relaxed);
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
  return fv_gallery_kernels ()->dotrows_name;
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
  fv_gallery_snapshot_alloc_rows (s);
  s->row_identity = g_new0 (guint32, MAX (n_samples, 1));
  s->identity_ids = g_new0 (gint64, MAX (n_identities, 1));
  s->labels = g_new0 (const char *, MAX (n_identities, 1));
  s->display_names = g_new0 (const char *, MAX (n_identities, 1));
  s->strings = g_string_chunk_new (4096);
  s->default_threshold = NAN;
  return s;
}

/**
 * fv_gallery_snapshot_has_half:
 * @snapshot: a snapshot
 *
 * Whether @snapshot keeps its matrix in half floats for
 * %FV_GALLERY_SCAN_HALF (snapshots whose float matrix would take 2 MiB or
 * more: about 4,000 samples of 128 dimensions, unless
 * `FV_GALLERY_SCAN=float` is set). Such a snapshot keeps with each half
 * float a 16-bit residual that gives the float back exactly, instead of
 * the float matrix: 4 bytes per element in all
 * (fv_gallery_snapshot_get_matrix_bytes()).
 *
 * Returns: %TRUE if it has
 */
gboolean
fv_gallery_snapshot_has_half (FvGallerySnapshot * snapshot)
{
  g_return_val_if_fail (snapshot != NULL, FALSE);
  return snapshot->matrix16 != NULL;
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
  g_autofree float *v = NULL;
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
  v = g_new (float, dim);
  for (i = 0; i < n_identities; i++) {
    guint n = n_samples ? n_samples[i] : 1;

    s->identity_ids[i] = (gint64) i + 1;
    s->labels[i] = g_string_chunk_insert (s->strings, labels[i]);
    for (k = 0; k < n; k++, row++) {
      memcpy (v, embeddings + (gsize) (row) * dim, dim * sizeof (float));
      fv_l2_normalize (v, dim);
      fv_gallery_snapshot_set_row (s, row, v);
      s->row_identity[row] = i;
    }
  }
  fv_gallery_snapshot_seal (s);
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
  fv_gallery_snapshot_free_rows (snapshot);
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
 * fv_gallery_snapshot_get_default_threshold:
 * @snapshot: a snapshot
 * @threshold: (out) (optional): where to store the threshold
 *
 * The match threshold calibrated for the gallery when the snapshot was
 * loaded (fv_gallery_set_default_threshold(), `faceverify calibrate`):
 * the default of those who match against it without a threshold of
 * their own. Snapshots made with fv_gallery_snapshot_new() have none.
 *
 * Returns: %TRUE if the gallery has one (then *@threshold is set, in
 *   [-1, 1]); %FALSE if not (*@threshold is left alone)
 */
gboolean
fv_gallery_snapshot_get_default_threshold (FvGallerySnapshot * snapshot,
    double *threshold)
{
  g_return_val_if_fail (snapshot != NULL, FALSE);
  if (isnan (snapshot->default_threshold))
    return FALSE;
  if (threshold)
    *threshold = snapshot->default_threshold;
  return TRUE;
}

/**
 * fv_gallery_snapshot_choose_threshold:
 * @snapshot: (nullable): the snapshot matched against, or %NULL when
 *   there is none yet
 * @given: the caller's own threshold (a property or an option that was
 *   set), or NAN when it has none
 * @source: (out) (optional): where the result comes from
 *
 * The match threshold to use, by the one rule of the faceverify element
 * and the `faceverify` command: @given when the caller has one, else the
 * gallery's calibrated threshold
 * (fv_gallery_snapshot_get_default_threshold()), else
 * %FV_GALLERY_DEFAULT_MATCH_THRESHOLD. Allocation-free, for every frame.
 *
 * Returns: the threshold
 */
float
fv_gallery_snapshot_choose_threshold (FvGallerySnapshot * snapshot,
    double given, FvGalleryThresholdSource * source)
{
  FvGalleryThresholdSource from = FV_GALLERY_THRESHOLD_GIVEN;
  double t = given;

  if (isnan (given)) {
    from = FV_GALLERY_THRESHOLD_CALIBRATED;
    if (!snapshot || !fv_gallery_snapshot_get_default_threshold (snapshot, &t)) {
      from = FV_GALLERY_THRESHOLD_DEFAULT;
      t = FV_GALLERY_DEFAULT_MATCH_THRESHOLD;
    }
  }
  if (source)
    *source = from;
  return (float) t;
}

/**
 * fv_gallery_threshold_source_to_string:
 * @source: where a threshold comes from
 *
 * Returns: (transfer none): its name in messages: "given", "calibrated"
 *   or "default"
 */
const char *
fv_gallery_threshold_source_to_string (FvGalleryThresholdSource source)
{
  switch (source) {
    case FV_GALLERY_THRESHOLD_GIVEN:
      return "given";
    case FV_GALLERY_THRESHOLD_CALIBRATED:
      return "calibrated";
    case FV_GALLERY_THRESHOLD_DEFAULT:
      return "default";
  }
  return "unknown";
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
reduce_init (Reduce * r)
{
  r->current = NO_IDENTITY;
  r->current_max = -INFINITY;
  r->best = NO_IDENTITY;
  r->best_dot = -INFINITY;
  r->second_dot = -INFINITY;
}

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

/* Rows come grouped by identity: an identity's score is its best row's. */
static inline void
reduce_row (Reduce * r, guint32 id, float score)
{
  if (id != r->current) {
    reduce_flush (r);
    r->current = id;
    r->current_max = score;
  } else if (score > r->current_max) {
    r->current_max = score;
  }
}

/* The queries of one pass: pointers, 1/norm, and the bound of the half
 * scan's error (below). */
typedef struct
{
  guint n;
  const float *q[FV_SCAN_MAX_QUERIES];
  float inv_norm[FV_SCAN_MAX_QUERIES];
  float eps[FV_SCAN_MAX_QUERIES];
} Queries;

static void
queries_init (Queries * qs, const float *queries, guint n, gsize dim)
{
  guint j;

  qs->n = n;
  for (j = 0; j < n; j++) {
    double sum = 0.0, sum_abs = 0.0;
    gsize k;

    qs->q[j] = queries + (gsize) (j) * dim;
    for (k = 0; k < dim; k++) {
      sum += (double) qs->q[j][k] * qs->q[j][k];
      sum_abs += fabs ((double) qs->q[j][k]);
    }
    qs->inv_norm[j] = (sum > 1e-20 && isfinite (sum))
        ? (float) (1.0 / sqrt (sum)) : 0.0f;
    /* |half dot - float dot| for a unit row x: rounding each x_k to half
     * moves it by at most 2^-11 |x_k| (2^-25 below half's normal range),
     * so the dot moves by at most 2^-11 |q| |x| + 2^-25 |q|_1; both float
     * sums of dim products add at most dim * 2^-24 |q| |x| each. Doubled
     * for rows a little off unit length and for safety. */
    qs->eps[j] = (float) (2.0 * (sqrt (sum) * (0x1p-11 + 2.0 * (double) dim
                * 0x1p-24) + sum_abs * 0x1p-25));
  }
}

static void
result_set (FvGallerySnapshot * snapshot, const Reduce * r, float inv_norm,
    float threshold, float margin, FvGalleryMatch * m)
{
  float sim, second;

  if (r->best == NO_IDENTITY || inv_norm == 0.0f || !isfinite (r->best_dot)) {
    m->index = -1;
    m->identity_id = -1;
    m->label = NULL;
    m->similarity = 0.0f;
    m->margin = 0.0f;
    m->known = FALSE;
    return;
  }
  sim = CLAMP (r->best_dot * inv_norm, -1.0f, 1.0f);
  second = isfinite (r->second_dot)
      ? CLAMP (r->second_dot * inv_norm, -1.0f, 1.0f) : -1.0f;
  m->index = (gint) r->best;
  m->identity_id = snapshot->identity_ids[r->best];
  m->label = snapshot->labels[r->best];
  m->similarity = sim;
  m->margin = sim - second;
  m->known = sim >= threshold && m->margin >= margin;
}

/* The float scan: every row, every query of the pass. */
static void
match_float (FvGallerySnapshot * snapshot, const Queries * qs,
    float threshold, float margin, FvGalleryMatch * results)
{
  const FvKernelTable *t = fv_gallery_kernels ();
  float scores[FV_SCAN_MAX_QUERIES * SCAN_CHUNK];
  Reduce red[FV_SCAN_MAX_QUERIES];
  guint j, r0;

  /* the half + residual form: rows rebuilt FV_SCAN_R at a time (the
   * kernel's results per row do not depend on how many rows it gets) */
  const guint chunk = snapshot->matrix ? SCAN_CHUNK : FV_SCAN_R;
  float *rebuilt = snapshot->matrix ? NULL : scratch_rows (snapshot);

  for (j = 0; j < qs->n; j++)
    reduce_init (&red[j]);
  for (r0 = 0; r0 < snapshot->n_samples; r0 += chunk) {
    const guint n = MIN (chunk, snapshot->n_samples - r0);
    const float *rows;

    if (rebuilt) {
      fv_gallery_snapshot_get_rows (snapshot, r0, n, rebuilt);
      rows = rebuilt;
    } else {
      rows = snapshot->matrix + (gsize) (r0) * snapshot->stride;
    }
    t->dotrows (n, snapshot->dim, rows, snapshot->stride, qs->n, qs->q,
        scores, SCAN_CHUNK);
    for (j = 0; j < qs->n; j++) {
      guint i;

      for (i = 0; i < n; i++)
        reduce_row (&red[j], snapshot->row_identity[r0 + i],
            scores[j * SCAN_CHUNK + i]);
    }
  }
  for (j = 0; j < qs->n; j++) {
    reduce_flush (&red[j]);
    result_set (snapshot, &red[j], qs->inv_norm[j], threshold, margin,
        &results[j]);
  }
}

/* Rows the half scan could not rule out of the top two identities, in row
 * order; more than this and the query is scanned again in float. */
#define MAX_CANDIDATES 256

typedef struct
{
  guint n;
  gboolean overflow;
  float floor;                  /* rows below it are out of the top two */
  guint32 row[MAX_CANDIDATES];
  float score[MAX_CANDIDATES];
} Candidates;

/* An identity whose half score is more than 2 eps below the second-best
 * half score cannot be among the top two in float (each score is within
 * eps of its float value), nor can a row that far below be the best row
 * of one that is. The second-best so far only grows, so the floor only
 * rises: rows dropped early would be dropped at the end too. */
static void
candidates_raise_floor (Candidates * c, const Reduce * r, float eps)
{
  guint i, kept = 0;

  c->floor = r->second_dot - 2.0f * eps;
  for (i = 0; i < c->n; i++) {
    if (c->score[i] < c->floor)
      continue;
    c->row[kept] = c->row[i];
    c->score[kept++] = c->score[i];
  }
  c->n = kept;
}

static inline void
candidates_add (Candidates * c, const Reduce * r, float eps, guint32 row,
    float score)
{
  if (score < c->floor || c->overflow)
    return;
  if (c->n == MAX_CANDIDATES) {
    candidates_raise_floor (c, r, eps);
    if (score < c->floor)
      return;
    if (c->n == MAX_CANDIDATES) {
      c->overflow = TRUE;
      return;
    }
  }
  c->row[c->n] = row;
  c->score[c->n++] = score;
}

/* The float score of @row for @q, bit for bit what match_float() gets: the
 * same kernel on the same group of four rows (or on the same tail). */
static float
float_score (FvGallerySnapshot * snapshot, const float *q, guint32 row,
    guint32 * group, float group_scores[FV_SCAN_R], float *rebuilt)
{
  const FvKernelTable *t = fv_gallery_kernels ();
  const guint32 g = row & ~(FV_SCAN_R - 1u);

  if (*group != g) {
    const guint n = MIN (FV_SCAN_R, snapshot->n_samples - g);
    const float *rows;

    if (snapshot->matrix) {
      rows = snapshot->matrix + (gsize) (g) * snapshot->stride;
    } else {
      fv_gallery_snapshot_get_rows (snapshot, g, n, rebuilt);
      rows = rebuilt;
    }
    t->dotrows (n, snapshot->dim, rows, snapshot->stride, 1, &q,
        group_scores, FV_SCAN_R);
    *group = g;
  }
  return group_scores[row - g];
}

/* The half scan, then the float scores of the rows it could not rule out:
 * the same best identity, similarity and margin as match_float(). */
static void
match_half (FvGallerySnapshot * snapshot, const Queries * qs,
    float threshold, float margin, FvGalleryMatch * results)
{
  const FvKernelTable *t = fv_gallery_kernels ();
  float scores[FV_SCAN_MAX_QUERIES * SCAN_CHUNK];
  Reduce red[FV_SCAN_MAX_QUERIES];
  Candidates cand[FV_SCAN_MAX_QUERIES];
  float *rebuilt = snapshot->matrix ? NULL : scratch_rows (snapshot);
  guint j, r0;

  for (j = 0; j < qs->n; j++) {
    reduce_init (&red[j]);
    cand[j].n = 0;
    cand[j].overflow = FALSE;
    cand[j].floor = -INFINITY;
  }
  for (r0 = 0; r0 < snapshot->n_samples; r0 += SCAN_CHUNK) {
    const guint n = MIN (SCAN_CHUNK, snapshot->n_samples - r0);

    t->dotrows_f16 (n, snapshot->dim, snapshot->matrix16 +
        (gsize) (r0) * snapshot->stride, snapshot->stride, qs->n, qs->q,
        scores, SCAN_CHUNK);
    for (j = 0; j < qs->n; j++) {
      guint i;

      for (i = 0; i < n; i++) {
        const float s = scores[j * SCAN_CHUNK + i];

        reduce_row (&red[j], snapshot->row_identity[r0 + i], s);
        candidates_add (&cand[j], &red[j], qs->eps[j], r0 + i, s);
      }
    }
  }

  for (j = 0; j < qs->n; j++) {
    Candidates *c = &cand[j];
    float group_scores[FV_SCAN_R];
    guint32 group = G_MAXUINT32;
    Reduce exact;
    guint i;

    reduce_flush (&red[j]);
    if (c->overflow) {
      Queries one = {.n = 1 };

      one.q[0] = qs->q[j];
      one.inv_norm[0] = qs->inv_norm[j];
      atomic_fetch_add_explicit (&rerank_rescans, 1, memory_order_relaxed);
      match_float (snapshot, &one, threshold, margin, &results[j]);
      continue;
    }
    candidates_raise_floor (c, &red[j], qs->eps[j]);
    atomic_fetch_add_explicit (&rerank_rows, c->n, memory_order_relaxed);
    reduce_init (&exact);
    for (i = 0; i < c->n; i++)
      reduce_row (&exact, snapshot->row_identity[c->row[i]],
          float_score (snapshot, qs->q[j], c->row[i], &group, group_scores,
              rebuilt));
    reduce_flush (&exact);
    result_set (snapshot, &exact, qs->inv_norm[j], threshold, margin,
        &results[j]);
  }
}

/**
 * fv_gallery_snapshot_match_with:
 * @snapshot: a snapshot
 * @scan: which matrix to scan
 * @queries: (array): @n_queries embeddings of the snapshot's dimension, one
 *   after the other; they need not be normalised
 * @n_queries: how many
 * @threshold: the match threshold (cosine similarity)
 * @margin: the match margin
 * @results: (out caller-allocates) (array length=n_queries): one result per
 *   query
 *
 * fv_gallery_snapshot_match() with the scan chosen by the caller. Both
 * scans give the same results, bit for bit: %FV_GALLERY_SCAN_HALF reads
 * the half floats of the matrix (half the bytes of a pass that memory
 * bandwidth limits) and then computes in float the few rows whose half
 * score is within the half scan's error bound of the two best identities
 * (their floats rebuilt exactly from half and residual); when more than
 * 256 rows are that close it scans that query in float.
 * %FV_GALLERY_SCAN_FLOAT on a snapshot in half floats rebuilds every row
 * (slower than a float matrix: set `FV_GALLERY_SCAN=float` to keep float
 * matrices instead).
 */
void
fv_gallery_snapshot_match_with (FvGallerySnapshot * snapshot,
    FvGalleryScan scan, const float *queries, guint n_queries,
    float threshold, float margin, FvGalleryMatch * results)
{
  guint q0;

  g_return_if_fail (snapshot != NULL);
  g_return_if_fail (n_queries == 0 || queries != NULL);
  g_return_if_fail (n_queries == 0 || results != NULL);

  if (scan == FV_GALLERY_SCAN_AUTO)
    scan = fv_gallery_scan_default (snapshot);
  for (q0 = 0; q0 < n_queries; q0 += FV_SCAN_MAX_QUERIES) {
    Queries qs;

    queries_init (&qs, queries + (gsize) (q0) * snapshot->dim,
        MIN (FV_SCAN_MAX_QUERIES, n_queries - q0), snapshot->dim);
    if (scan == FV_GALLERY_SCAN_HALF && snapshot->matrix16)
      match_half (snapshot, &qs, threshold, margin, results + q0);
    else
      match_float (snapshot, &qs, threshold, margin, results + q0);
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
 * its similarity >= @threshold and its margin >= @margin. Large snapshots
 * are scanned in half floats with an exact float re-rank (see
 * fv_gallery_snapshot_match_with(); `FV_GALLERY_SCAN=float` in the
 * environment keeps every matrix and scan in float).
 *
 * Allocates nothing and cannot fail: call it per frame (a thread's first
 * match on a large snapshot allocates its rows for the re-rank once). Any number of
 * threads may call it on the same snapshot at once.
 */
void
fv_gallery_snapshot_match (FvGallerySnapshot * snapshot,
    const float *queries, guint n_queries, float threshold, float margin,
    FvGalleryMatch * results)
{
  fv_gallery_snapshot_match_with (snapshot, FV_GALLERY_SCAN_AUTO, queries,
      n_queries, threshold, margin, results);
}
