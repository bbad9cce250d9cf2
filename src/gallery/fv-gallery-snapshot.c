/* gst-faceverify: face verification on the CPU
 *
 * fv-gallery-snapshot.c: building a matrix snapshot from a store's rows,
 * the same for every backend: identities with samples only, the rows of
 * each identity side by side, every row checked.
 */
#include "fv-config.h"
#include "core/fv-core.h"
#include "gallery/fv-gallery-store.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct _FvGallerySnapshotBuild
{
  const FvGalleryStore *store;
  /* every identity, by ascending id */
  GArray *all_ids;              /* gint64 */
  GPtrArray *all_labels;
  GPtrArray *all_names;
  GArray *all_counts;           /* guint */
  guint64 total;
  double threshold;             /* NAN: none */
  /* after layout(): the identities with samples */
  GArray *ids;                  /* gint64 */
  guint *offsets;
  guint *filled;
  FvGallerySnapshot *snap;
  float *row;                   /* a sample, decoded */
  GHashTable *bad_ids;          /* identities left out (their label) */
  GPtrArray *skipped;           /* what was left out, one line each */
};

static int
compare_i64 (const void *a, const void *b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

/* The index of @id in @ids, or -1 (an orphan: not reachable by any
 * label). */
static gint
find_id (GArray * ids, gint64 id)
{
  const gint64 *found;

  /* an empty GArray may have no data, which bsearch() must not get */
  if (ids->len == 0)
    return -1;
  found = bsearch (&id, ids->data, ids->len, sizeof (gint64), compare_i64);
  return found ? (gint) (found - (const gint64 *) ids->data) : -1;
}

FvGallerySnapshotBuild *
fv_gallery_snapshot_build_new (const FvGalleryStore * store)
{
  FvGallerySnapshotBuild *b = g_new0 (FvGallerySnapshotBuild, 1);

  b->store = store;
  b->threshold = NAN;
  b->all_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  b->all_labels = g_ptr_array_new_with_free_func (g_free);
  b->all_names = g_ptr_array_new_with_free_func (g_free);
  b->all_counts = g_array_new (FALSE, TRUE, sizeof (guint));
  b->bad_ids = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
      NULL);
  b->skipped = g_ptr_array_new_with_free_func (g_free);
  return b;
}

void
fv_gallery_snapshot_build_free (FvGallerySnapshotBuild * b)
{
  if (b == NULL)
    return;
  g_array_unref (b->all_ids);
  g_ptr_array_unref (b->all_labels);
  g_ptr_array_unref (b->all_names);
  g_array_unref (b->all_counts);
  g_hash_table_unref (b->bad_ids);
  g_ptr_array_unref (b->skipped);
  if (b->ids)
    g_array_unref (b->ids);
  g_free (b->offsets);
  g_free (b->filled);
  fv_free_floats (b->row);
  if (b->snap)
    fv_gallery_snapshot_unref (b->snap);
  g_free (b);
}

/* An identity whose label breaks the rule is left out with its samples
 * (they become unreachable, like orphans); a display name that breaks it
 * is dropped. Identities come in ascending id order. */
void
fv_gallery_snapshot_build_identity (FvGallerySnapshotBuild * b, gint64 id,
    const char *label, const char *display_name)
{
  g_autoptr (GError) bad = NULL;

  if (label == NULL || !fv_gallery_check_label (label, &bad)) {
    g_autofree char *shown = g_strescape (label ? label : "", NULL);

    g_ptr_array_add (b->skipped, g_strdup_printf ("identity %"
            G_GINT64_FORMAT " (\"%s\") and its samples: %s", id, shown,
            bad ? bad->message : "no label"));
    g_hash_table_add (b->bad_ids, g_memdup2 (&id, sizeof id));
    return;
  }
  if (display_name && !fv_gallery_check_display_name (display_name, NULL))
    display_name = NULL;
  g_array_append_val (b->all_ids, id);
  g_ptr_array_add (b->all_labels, g_strdup (label));
  g_ptr_array_add (b->all_names, g_strdup (display_name));
}

gboolean
fv_gallery_snapshot_build_count (FvGallerySnapshotBuild * b,
    gint64 identity_id, GError ** error)
{
  gint idx = find_id (b->all_ids, identity_id);

  if (idx < 0)
    return TRUE;
  if (b->total >= G_MAXUINT32 - 1) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_CORRUPT,
        "%s: cannot load the gallery: too many samples", b->store->location);
    return FALSE;
  }
  if (b->all_counts->len < b->all_ids->len)
    g_array_set_size (b->all_counts, b->all_ids->len);
  g_array_index (b->all_counts, guint, idx)++;
  b->total++;
  return TRUE;
}

void
fv_gallery_snapshot_build_layout (FvGallerySnapshotBuild * b,
    guint64 generation)
{
  g_autoptr (GArray) counts = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr (GPtrArray) labels = g_ptr_array_new ();
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  FvGallerySnapshot *snap;
  guint i;

  g_array_set_size (b->all_counts, b->all_ids->len);
  b->ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (i = 0; i < b->all_ids->len; i++) {
    guint n = g_array_index (b->all_counts, guint, i);

    if (n == 0)
      continue;
    g_array_append_val (b->ids, g_array_index (b->all_ids, gint64, i));
    g_array_append_val (counts, n);
    g_ptr_array_add (labels, b->all_labels->pdata[i]);
    g_ptr_array_add (names, b->all_names->pdata[i]);
  }

  snap = fv_gallery_snapshot_alloc (b->store->dim, b->ids->len,
      (guint) b->total);
  snap->generation = generation;
  snap->default_threshold = b->threshold;
  b->offsets = g_new0 (guint, b->ids->len + 1);
  b->filled = g_new0 (guint, MAX (b->ids->len, 1));
  for (i = 0; i < b->ids->len; i++) {
    const char *label = labels->pdata[i];

    snap->identity_ids[i] = g_array_index (b->ids, gint64, i);
    snap->labels[i] = g_string_chunk_insert (snap->strings, label ? label : "");
    snap->display_names[i] = names->pdata[i]
        ? g_string_chunk_insert (snap->strings, names->pdata[i]) : NULL;
    b->offsets[i + 1] = b->offsets[i] + g_array_index (counts, guint, i);
  }
  b->snap = snap;
  b->row = fv_alloc_floats (snap->stride);
}

gboolean
fv_gallery_snapshot_build_threshold (FvGallerySnapshotBuild * b,
    const char *text, GError ** error)
{
  double value;

  if (text == NULL)
    return TRUE;
  if (!fv_gallery_parse_threshold (text, &value)) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_CORRUPT,
        "%s: cannot load the gallery: its %s is damaged (not a number in "
        "[-1, 1])", b->store->location, FV_GALLERY_META_THRESHOLD);
    return FALSE;
  }
  b->threshold = value;
  return TRUE;
}

static gboolean
index_disagrees (FvGallerySnapshotBuild * b, GError ** error)
{
  g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_CORRUPT,
      "%s: the gallery file is damaged: its sample index disagrees with "
      "its samples", b->store->location);
  return FALSE;
}

/* A damaged sample keeps its row (the layout is fixed) but is marked
 * (row_identity G_MAXUINT32) and dropped by finish(). */
gboolean
fv_gallery_snapshot_build_sample (FvGallerySnapshotBuild * b,
    gint64 identity_id, gint64 sample_id, const void *blob, gsize bytes,
    GError ** error)
{
  gint idx = find_id (b->ids, identity_id);
  g_autoptr (GError) bad = NULL;
  guint row;

  b->snap->n_fetched++;
  if (idx < 0) {
    if (!g_hash_table_contains (b->bad_ids, &identity_id))
      g_ptr_array_add (b->skipped, g_strdup_printf ("sample %"
              G_GINT64_FORMAT ": its identity %" G_GINT64_FORMAT " is not in "
              "the gallery", sample_id, identity_id));
    return TRUE;
  }
  if (b->offsets[idx] + b->filled[idx] >= b->offsets[idx + 1])
    return index_disagrees (b, error);
  row = b->offsets[idx] + b->filled[idx]++;
  if (fv_gallery_decode_embedding (b->store, sample_id, blob, bytes, b->row,
          &bad)) {
    fv_gallery_snapshot_set_row (b->snap, row, b->row);
    b->snap->row_identity[row] = (guint32) idx;
    return TRUE;
  }
  /* the row stays zero */
  b->snap->row_identity[row] = G_MAXUINT32;
  g_ptr_array_add (b->skipped, g_strdup_printf ("sample %" G_GINT64_FORMAT
          " of \"%s\": %s", sample_id, b->snap->labels[idx],
          strstr (bad->message, "sample") ? strstr (bad->message, "sample")
          : bad->message));
  return TRUE;
}

/* Drops the marked rows, and the identities left without any, in place. */
static void
compact (FvGallerySnapshot * snap)
{
  g_autofree guint *new_index = g_new (guint, MAX (snap->n_identities, 1));
  g_autofree guint *kept = g_new0 (guint, MAX (snap->n_identities, 1));
  g_autofree guint *new_row = g_new (guint, MAX (snap->n_samples, 1));
  guint i, n_rows = 0, n_ids = 0;

  for (i = 0; i < snap->n_samples; i++)
    if (snap->row_identity[i] != G_MAXUINT32)
      kept[snap->row_identity[i]]++;
  for (i = 0; i < snap->n_identities; i++) {
    new_index[i] = n_ids;
    if (kept[i] == 0)
      continue;
    snap->identity_ids[n_ids] = snap->identity_ids[i];
    snap->labels[n_ids] = snap->labels[i];
    snap->display_names[n_ids] = snap->display_names[i];
    n_ids++;
  }
  for (i = 0; i < snap->n_samples; i++) {
    new_row[i] = G_MAXUINT;
    if (snap->row_identity[i] == G_MAXUINT32)
      continue;
    new_row[i] = n_rows;
    snap->row_identity[n_rows++] = new_index[snap->row_identity[i]];
  }
  fv_gallery_snapshot_pack_rows (snap, new_row);
  snap->n_identities = n_ids;
  snap->n_samples = n_rows;
}

/* Takes @b; returns the snapshot when every identity got all its rows. */
FvGallerySnapshot *
fv_gallery_snapshot_build_finish (FvGallerySnapshotBuild * b, GError ** error)
{
  FvGallerySnapshot *snap = NULL;
  guint i;

  for (i = 0; i < b->ids->len; i++) {
    if (b->offsets[i] + b->filled[i] != b->offsets[i + 1]) {
      index_disagrees (b, error);
      break;
    }
  }
  if (i == b->ids->len) {
    snap = g_steal_pointer (&b->snap);
    if (b->skipped->len > 0) {
      compact (snap);
      snap->skipped = g_ptr_array_ref (b->skipped);
    }
    fv_gallery_snapshot_seal (snap);
  }
  fv_gallery_snapshot_build_free (b);
  return snap;
}

/* Where each identity's rows start in @snap (n_identities + 1 entries). */
static guint *
row_offsets (const FvGallerySnapshot * snap)
{
  guint *off = g_new0 (guint, snap->n_identities + 1);
  guint r;

  for (r = 0; r < snap->n_samples; r++)
    off[snap->row_identity[r] + 1]++;
  for (r = 0; r < snap->n_identities; r++)
    off[r + 1] += off[r];
  return off;
}

static gboolean
is_changed (const gint64 * changed, guint n_changed, gint64 id)
{
  return n_changed > 0 && bsearch (&id, changed, n_changed, sizeof (gint64),
      compare_i64) != NULL;
}

/* Appends identity @k of @from, with its rows, as identity @to of @dst at
 * row *@row. */
static void
copy_identity (FvGallerySnapshot * dst, guint to, guint * row,
    FvGallerySnapshot * from, const guint * off, guint k)
{
  guint n = off[k + 1] - off[k], r;

  dst->identity_ids[to] = from->identity_ids[k];
  dst->labels[to] = g_string_chunk_insert (dst->strings, from->labels[k]);
  dst->display_names[to] = from->display_names[k]
      ? g_string_chunk_insert (dst->strings, from->display_names[k]) : NULL;
  /* in the form they have when both have the same: converting all of a
   * large gallery again for every small change would cost more than the
   * change */
  fv_gallery_snapshot_copy_rows (dst, *row, from, off[k], n);
  for (r = 0; r < n; r++)
    dst->row_identity[*row + r] = to;
  *row += n;
}

FvGallerySnapshot *
fv_gallery_snapshot_merge (FvGallerySnapshot * old, const gint64 * changed,
    guint n_changed, FvGallerySnapshot * delta)
{
  g_autofree guint *old_off = NULL, *delta_off = NULL;
  FvGallerySnapshot *snap;
  guint i, j, n_ids = 0, n_rows = 0, to = 0, row = 0;

  g_return_val_if_fail (old->dim == delta->dim && old->skipped == NULL, NULL);

  old_off = row_offsets (old);
  delta_off = row_offsets (delta);
  for (i = 0; i < old->n_identities; i++) {
    if (is_changed (changed, n_changed, old->identity_ids[i]))
      continue;
    n_ids++;
    n_rows += old_off[i + 1] - old_off[i];
  }
  snap = fv_gallery_snapshot_alloc (old->dim, n_ids + delta->n_identities,
      n_rows + delta->n_samples);
  snap->generation = delta->generation;
  snap->n_fetched = delta->n_fetched;
  if (delta->skipped)
    snap->skipped = g_ptr_array_ref (delta->skipped);

  /* Both in ascending id order: merge. */
  for (i = 0, j = 0; i < old->n_identities || j < delta->n_identities;) {
    if (i < old->n_identities && is_changed (changed, n_changed,
            old->identity_ids[i])) {
      i++;
    } else if (j >= delta->n_identities || (i < old->n_identities
            && old->identity_ids[i] < delta->identity_ids[j])) {
      copy_identity (snap, to++, &row, old, old_off, i++);
    } else {
      copy_identity (snap, to++, &row, delta, delta_off, j++);
    }
  }
  g_assert (to == snap->n_identities && row == snap->n_samples);
  fv_gallery_snapshot_seal (snap);
  return snap;
}
