/* gst-faceverify: face verification on the CPU
 *
 * fv-gallery-sqlite-check.c: `gallery check` and `gallery repair` for
 * SQLite gallery files. Both read the file through a salvage handle (no
 * schema allow-list; reading runs no trigger): check lists every problem,
 * repair copies what is sound into a fresh gallery that this code creates.
 */
#include "fv-config.h"
#include "core/fv-core.h"
#include "gallery/fv-gallery-sqlite.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define DB_OF(store) (FV_SQLITE_STORE (store)->db)

/* At most this many lines of PRAGMA integrity_check are reported. */
#define MAX_INTEGRITY_LINES 20

static void
sqlite_store_unref (FvGalleryStore * store)
{
  if (store)
    store->klass->close (store);
}

/* *INDENT-OFF* */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FvGalleryStore, sqlite_store_unref)
/* *INDENT-ON* */

static FvGalleryStore *
open_salvage (const char *path, GError ** error)
{
  return fv_sqlite_store_open (path, FV_GALLERY_OPEN_READ_ONLY |
      FV_GALLERY_OPEN_SALVAGE, NULL, 0, error);
}

/* The full integrity check, each line that is not "ok" into @problems. */
static gboolean
integrity_check (FvGalleryStore * store, GPtrArray * problems, GError ** error)
{
  const char *what = "check the gallery";
  g_autoptr (sqlite3_stmt) stmt = fv_sqlite_prepare (DB_OF (store),
      store->location, "PRAGMA integrity_check (" G_STRINGIFY
      (MAX_INTEGRITY_LINES) ")", what, error);
  int rc;

  if (!stmt)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    const char *line = (const char *) sqlite3_column_text (stmt, 0);

    if (g_strcmp0 (line, "ok") != 0)
      g_ptr_array_add (problems, g_strdup_printf ("damaged: %s",
              line ? line : "?"));
  }
  if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB
      || rc == SQLITE_IOERR_SHORT_READ) {
    g_ptr_array_add (problems, g_strdup_printf ("damaged: %s",
            sqlite3_errmsg (DB_OF (store))));
    return TRUE;
  }
  return fv_sqlite_finish_rows (stmt, rc, DB_OF (store), store->location,
      what, error);
}

/* One identity as read for repair. */
typedef struct
{
  gint64 id;
  char *label;
  char *display_name;
  gint64 created;
  gint64 updated;
  gboolean valid;
  GArray *samples;              /* FvGallerySample; embedding owned */
  GArray *sample_created;       /* gint64 */
} Salvaged;

static void
salvaged_free (Salvaged * s)
{
  guint i;

  for (i = 0; i < s->samples->len; i++) {
    FvGallerySample *x = &g_array_index (s->samples, FvGallerySample, i);

    g_free ((gpointer) x->embedding);
    g_free ((gpointer) x->source);
  }
  g_array_unref (s->samples);
  g_array_unref (s->sample_created);
  g_free (s->label);
  g_free (s->display_name);
  g_free (s);
}

/* Reads every identity (into @ids, by id) and every sample that is sound
 * (into its identity); each row that is not is described in @problems.
 * With @keep FALSE the samples are only checked. */
static gboolean
read_rows (FvGalleryStore * store, GPtrArray * ids, GHashTable * by_id,
    gboolean keep, GPtrArray * problems, GError ** error)
{
  const char *what = "read the gallery";
  sqlite3 *db = DB_OF (store);
  g_autoptr (sqlite3_stmt) stmt = NULL;
  g_autofree float *unit = g_new (float, store->dim);
  int rc;

  stmt = fv_sqlite_prepare (db, store->location, "SELECT id, label, "
      "display_name, created, updated FROM identities ORDER BY id", what,
      error);
  if (!stmt)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    Salvaged *s = g_new0 (Salvaged, 1);
    const char *label = (const char *) sqlite3_column_text (stmt, 1);
    const char *name = (const char *) sqlite3_column_text (stmt, 2);
    g_autoptr (GError) bad = NULL;

    s->id = sqlite3_column_int64 (stmt, 0);
    s->label = g_strdup (label ? label : "");
    s->display_name = name && fv_gallery_check_display_name (name, NULL)
        ? g_strdup (name) : NULL;
    s->created = sqlite3_column_int64 (stmt, 3);
    s->updated = sqlite3_column_int64 (stmt, 4);
    s->samples = g_array_new (FALSE, FALSE, sizeof (FvGallerySample));
    s->sample_created = g_array_new (FALSE, FALSE, sizeof (gint64));
    s->valid = fv_gallery_check_label (s->label, &bad);
    if (!s->valid) {
      g_autofree char *shown = g_strescape (s->label, NULL);

      g_ptr_array_add (problems, g_strdup_printf ("identity %"
              G_GINT64_FORMAT " (\"%s\"): %s", s->id, shown, bad->message));
    }
    g_ptr_array_add (ids, s);
    g_hash_table_insert (by_id, &s->id, s);
  }
  if (!fv_sqlite_finish_rows (stmt, rc, db, store->location, what, error))
    return FALSE;
  g_clear_pointer (&stmt, sqlite3_finalize);

  stmt = fv_sqlite_prepare (db, store->location, "SELECT id, identity_id, "
      "embedding, quality, source, created FROM samples ORDER BY id", what,
      error);
  if (!stmt)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    gint64 sample_id = sqlite3_column_int64 (stmt, 0);
    gint64 identity_id = sqlite3_column_int64 (stmt, 1);
    Salvaged *s = g_hash_table_lookup (by_id, &identity_id);
    g_autoptr (GError) bad = NULL;
    FvGallerySample x;
    gint64 created;

    if (s == NULL) {
      g_ptr_array_add (problems, g_strdup_printf ("sample %" G_GINT64_FORMAT
              ": its identity %" G_GINT64_FORMAT " is not in the gallery",
              sample_id, identity_id));
      continue;
    }
    if (!fv_gallery_decode_embedding (store, sample_id,
            sqlite3_column_blob (stmt, 2),
            (gsize) sqlite3_column_bytes (stmt, 2), unit, &bad)) {
      g_ptr_array_add (problems, g_strdup_printf ("sample %" G_GINT64_FORMAT
              " of \"%s\": %s", sample_id, s->label, bad->message));
      continue;
    }
    if (!keep || !s->valid)
      continue;
    x.embedding = g_memdup2 (unit, (gsize) store->dim * sizeof (float));
    x.quality = sqlite3_column_type (stmt, 3) == SQLITE_NULL ? -1.0f
        : (float) sqlite3_column_double (stmt, 3);
    x.source = sqlite3_column_text (stmt, 4) ?
        g_utf8_make_valid ((const char *) sqlite3_column_text (stmt, 4), -1)
        : NULL;
    created = sqlite3_column_int64 (stmt, 5);
    g_array_append_val (s->samples, x);
    g_array_append_val (s->sample_created, created);
  }
  return fv_sqlite_finish_rows (stmt, rc, db, store->location, what, error);
}

/* The calibrated threshold of @store into *@threshold (*@has FALSE when
 * there is none); one that is damaged or cannot be read is a problem,
 * left out. */
static void
read_threshold (FvGalleryStore * store, gboolean * has, double *threshold,
    GPtrArray * problems)
{
  g_autofree char *text = NULL;
  g_autoptr (GError) bad = NULL;

  *has = FALSE;
  if (!store->klass->get_meta (store, FV_GALLERY_META_THRESHOLD, &text, &bad))
    g_ptr_array_add (problems, g_strdup_printf ("metadata %s: %s",
            FV_GALLERY_META_THRESHOLD, bad->message));
  else if (text && fv_gallery_parse_threshold (text, threshold))
    *has = TRUE;
  else if (text)
    g_ptr_array_add (problems, g_strdup_printf ("metadata %s: not a number "
            "in [-1, 1]", FV_GALLERY_META_THRESHOLD));
}

/**
 * fv_gallery_check_file:
 * @path: (type filename): a gallery file
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Checks a gallery file thoroughly, without changing it: the schema
 * allow-list (every trigger, view, virtual or extra table, extra index or
 * generated column is named), SQLite's full `PRAGMA integrity_check`, and
 * every row (labels by the label rule, embeddings as the snapshot checks
 * them, samples whose identity is missing) and the calibrated match
 * threshold (a number in [-1, 1]).
 *
 * Returns: (transfer full) (element-type utf8) (nullable): one line per
 *   problem found (empty when the gallery is sound), or %NULL with @error
 *   set when the file cannot be read as a gallery at all
 */
GPtrArray *
fv_gallery_check_file (const char *path, GError ** error)
{
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func
      ((GDestroyNotify) salvaged_free);
  g_autoptr (GHashTable) by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr (FvGalleryStore) store = NULL;
  GPtrArray *foreign;
  gboolean has_threshold;
  double threshold;
  guint i;

  g_return_val_if_fail (path != NULL, NULL);

  store = open_salvage (path, error);
  if (!store)
    return NULL;
  foreign = g_ptr_array_new_with_free_func (g_free);
  if (!fv_sqlite_find_foreign_objects (DB_OF (store), path, foreign, error)) {
    g_ptr_array_unref (foreign);
    return NULL;
  }
  for (i = 0; i < foreign->len; i++)
    g_ptr_array_add (problems, g_strdup_printf ("unsafe: the schema holds a "
            "%s, which a gst-faceverify gallery never has",
            (char *) foreign->pdata[i]));
  g_ptr_array_unref (foreign);
  if (!integrity_check (store, problems, error))
    return NULL;
  read_threshold (store, &has_threshold, &threshold, problems);
  if (!read_rows (store, ids, by_id, FALSE, problems, error)) {
    /* Rows that cannot be read at all are one more problem. */
    if (problems->len == 0)
      return NULL;
    g_ptr_array_add (problems, g_strdup ((*error)->message));
    g_clear_error (error);
  }
  return g_steal_pointer (&problems);
}

static void
remove_gallery_files (const char *path)
{
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autofree char *shm = g_strconcat (path, "-shm", NULL);

  g_unlink (wal);
  g_unlink (shm);
  g_unlink (path);
}

/**
 * fv_gallery_repair:
 * @path: (type filename): the gallery to copy from (not changed)
 * @new_path: (type filename): the new gallery; must not exist
 * @n_identities: (out) (optional): identities copied
 * @n_samples: (out) (optional): samples copied
 * @n_skipped: (out) (optional): identities, samples and metadata left
 *   behind because they are not sound (an invalid label, a damaged
 *   embedding, a sample without identity, a calibrated threshold that is
 *   not a number in [-1, 1])
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Copies the identities and samples of a gallery, including one that
 * fv_gallery_open() refuses as %FV_GALLERY_ERROR_UNSAFE, into a new, clean
 * gallery with the same model and dimension, in one transaction, with the
 * calibrated match threshold (fv_gallery_set_default_threshold()) when it
 * is sound. Only the data is copied, never the schema: the new gallery
 * has the gallery's own tables and nothing else. Reading the source runs none of its triggers.
 *
 * @new_path is created exclusively (%FV_GALLERY_ERROR_EXISTS when anything
 * is there, including @path itself); on error it is removed again.
 *
 * Returns: %TRUE on success
 */
gboolean
fv_gallery_repair (const char *path, const char *new_path,
    guint * n_identities, guint * n_samples, guint * n_skipped, GError ** error)
{
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func
      ((GDestroyNotify) salvaged_free);
  g_autoptr (GHashTable) by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr (FvGalleryStore) src = NULL;
  g_autoptr (FvGalleryStore) dst = NULL;
  g_autofree FvGalleryStoreIdentity *items = NULL;
  guint n_items = 0, total = 0, i;
  gboolean has_threshold = FALSE;
  double threshold = 0.0;
  int fd;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (new_path != NULL, FALSE);

  src = open_salvage (path, error);
  if (!src || !read_rows (src, ids, by_id, TRUE, problems, error))
    return FALSE;
  read_threshold (src, &has_threshold, &threshold, problems);

  fd = g_open (new_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
      0644);
  if (fd < 0) {
    int e = errno;

    g_set_error (error, FV_GALLERY_ERROR, e == EEXIST ?
        FV_GALLERY_ERROR_EXISTS : FV_GALLERY_ERROR_IO,
        "%s: cannot create the repaired gallery: %s", new_path,
        e == EEXIST ? "a file is already there" : g_strerror (e));
    return FALSE;
  }
  close (fd);
  dst = fv_sqlite_store_open (new_path, FV_GALLERY_OPEN_CREATE,
      src->fingerprint, src->dim, error);
  if (!dst) {
    remove_gallery_files (new_path);
    return FALSE;
  }

  items = g_new0 (FvGalleryStoreIdentity, MAX (ids->len, 1));
  for (i = 0; i < ids->len; i++) {
    Salvaged *s = ids->pdata[i];

    if (!s->valid)
      continue;
    items[n_items++] = (FvGalleryStoreIdentity) {
    s->label, s->display_name, (const FvGallerySample *) s->samples->data,
          s->samples->len, s->created, s->updated,
          (const gint64 *) s->sample_created->data};
    total += s->samples->len;
  }
  if ((n_items > 0 || has_threshold)
      && !fv_gallery_store_enroll_calibrated (dst, items, n_items,
          FV_GALLERY_ENROLL_APPEND, "repair",
          has_threshold ? &threshold : NULL, error)) {
    g_clear_pointer (&dst, sqlite_store_unref);
    remove_gallery_files (new_path);
    return FALSE;
  }
  if (n_identities)
    *n_identities = n_items;
  if (n_samples)
    *n_samples = total;
  if (n_skipped)
    *n_skipped = problems->len;
  return TRUE;
}
