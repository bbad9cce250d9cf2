/* gst-faceverify: face verification on the CPU
 *
 * fv-gallery-sqlite.c: the SQLite store's data: one transaction per
 * change, reading, loading a snapshot, and change detection (PRAGMA
 * data_version, and the file's identity for a file replaced by another).
 */
#include "fv-config.h"
#include "core/fv-core.h"
#include "gallery/fv-gallery-sqlite.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#define DB(s) (FV_SQLITE_STORE (s)->db)
#define PATH(s) ((s)->location)

/* ------------------------------------------------------------------------ */
/* Changes                                                                  */
/* ------------------------------------------------------------------------ */

/* The id of @label, or 0 if it is not in the gallery; -1 on error. */
static gint64
lookup_identity (FvGalleryStore * store, const char *label, const char *what,
    GError ** error)
{
  g_autoptr (sqlite3_stmt) stmt = fv_sqlite_prepare (DB (store),
      PATH (store), "SELECT id FROM identities WHERE label = ?1", what, error);
  int rc;

  if (!stmt)
    return -1;
  sqlite3_bind_text (stmt, 1, label, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return sqlite3_column_int64 (stmt, 0);
  if (rc == SQLITE_DONE)
    return 0;
  fv_sqlite_set_error (error, DB (store), rc, PATH (store), what);
  return -1;
}

/* Runs "<sql> WHERE identity_id/id = @id". */
static gboolean
run_on_id (FvGalleryStore * store, const char *sql, gint64 id,
    const char *what, GError ** error)
{
  g_autoptr (sqlite3_stmt) stmt = fv_sqlite_prepare (DB (store),
      PATH (store), sql, what, error);

  if (!stmt)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, id);
  return fv_sqlite_step_done (stmt, DB (store), PATH (store), what, error);
}

/* Creates @e's identity or updates the one with its label; sets *id. */
static gboolean
write_identity (FvGalleryStore * store, const FvGalleryStoreIdentity * e,
    FvGalleryEnrollFlags flags, gint64 * id, GError ** error)
{
  const char *what = "enroll";
  g_autoptr (sqlite3_stmt) stmt = NULL;

  *id = lookup_identity (store, e->label, what, error);
  if (*id < 0)
    return FALSE;
  if (*id > 0 && flags == FV_GALLERY_ENROLL_NEW_ONLY) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_EXISTS,
        "%s: the label \"%s\" is already in the gallery", PATH (store),
        e->label);
    return FALSE;
  }
  if (*id > 0 && flags == FV_GALLERY_ENROLL_REPLACE) {
    if (!run_on_id (store, "DELETE FROM samples WHERE identity_id = ?1", *id,
            what, error))
      return FALSE;
    stmt = fv_sqlite_prepare (DB (store), PATH (store),
        "UPDATE identities SET display_name = ?2, updated = ?3 "
        "WHERE id = ?1", what, error);
  } else if (*id > 0) {
    stmt = fv_sqlite_prepare (DB (store), PATH (store),
        "UPDATE identities SET display_name = coalesce (?2, display_name),"
        " updated = ?3 WHERE id = ?1", what, error);
  } else {
    stmt = fv_sqlite_prepare (DB (store), PATH (store),
        "INSERT INTO identities (label, display_name, created, updated) "
        "VALUES (?1, ?2, ?3, ?4)", what, error);
  }
  if (!stmt)
    return FALSE;
  if (*id > 0) {
    sqlite3_bind_int64 (stmt, 1, *id);
    sqlite3_bind_text (stmt, 2, e->display_name, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 3, e->updated);
    return fv_sqlite_step_done (stmt, DB (store), PATH (store), what, error);
  }
  sqlite3_bind_text (stmt, 1, e->label, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, e->display_name, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, e->created);
  sqlite3_bind_int64 (stmt, 4, e->updated);
  if (!fv_sqlite_step_done (stmt, DB (store), PATH (store), what, error))
    return FALSE;
  *id = sqlite3_last_insert_rowid (DB (store));
  return TRUE;
}

/* Enrolls one identity inside the caller's transaction. Its messages
 * say "enroll" whatever the change (@change: "import", "repair"). */
static gboolean
enroll_one (FvGalleryStore * store, const FvGalleryStoreIdentity * e,
    FvGalleryEnrollFlags flags, const char *change G_GNUC_UNUSED,
    gint64 * identity_id, GError ** error)
{
  const char *what = "enroll";
  const guint dim = store->dim;
  g_autoptr (sqlite3_stmt) stmt = NULL;
  g_autofree float *unit = NULL;
  g_autofree guint8 *blob = NULL;
  gint64 id;
  guint i;

  if (!write_identity (store, e, flags, &id, error))
    return FALSE;
  stmt = fv_sqlite_prepare (DB (store), PATH (store),
      "INSERT INTO samples (identity_id, embedding, quality, source, created)"
      " VALUES (?1, ?2, ?3, ?4, ?5)", what, error);
  if (!stmt)
    return FALSE;
  unit = g_new (float, dim);
  blob = g_new (guint8, (gsize) (dim) * 4);
  for (i = 0; i < e->n_samples; i++) {
    const FvGallerySample *sample = &e->samples[i];
    g_autofree char *source = NULL;
    gboolean has_quality;

    if (!fv_gallery_store_encode_sample (sample, dim, unit, blob, &source,
            &has_quality, error))
      return FALSE;
    sqlite3_reset (stmt);
    sqlite3_bind_int64 (stmt, 1, id);
    sqlite3_bind_blob (stmt, 2, blob, (int) dim * 4, SQLITE_STATIC);
    if (has_quality)
      sqlite3_bind_double (stmt, 3, sample->quality);
    else
      sqlite3_bind_null (stmt, 3);
    sqlite3_bind_text (stmt, 4, source, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 5, e->sample_created ? e->sample_created[i]
        : e->updated);
    if (!fv_sqlite_step_done (stmt, DB (store), PATH (store), what, error))
      return FALSE;
  }
  if (identity_id)
    *identity_id = id;
  return TRUE;
}

/* The schema is checked again inside the transaction: another process
 * may have added a trigger since the gallery was opened. */
static gboolean
sqlite_begin_write (FvGalleryStore * store, const char *what, GError ** error)
{
  return fv_sqlite_exec (DB (store), PATH (store), "BEGIN IMMEDIATE", what,
      error) && fv_sqlite_check_schema (DB (store), PATH (store), error);
}

/* The generation is bumped last, just before COMMIT. */
static gboolean
sqlite_commit_write (FvGalleryStore * store, const char *what, GError ** error)
{
  if (!fv_sqlite_exec (DB (store), PATH (store),
          "UPDATE meta SET value = CAST(value AS INTEGER) + 1 "
          "WHERE key = 'generation'", what, error)
      || !fv_sqlite_exec (DB (store), PATH (store), "COMMIT", what, error))
    return FALSE;
  FV_SQLITE_STORE (store)->local_changes++;
  return TRUE;
}

static void
sqlite_rollback_write (FvGalleryStore * store)
{
  fv_sqlite_rollback (DB (store));
}

static gboolean
run_on_label (FvGalleryStore * store, const char *sql, const char *label,
    const char *value, const char *what, gboolean * changed, GError ** error)
{
  g_autoptr (sqlite3_stmt) stmt = fv_sqlite_prepare (DB (store),
      PATH (store), sql, what, error);

  if (!stmt)
    return FALSE;
  sqlite3_bind_text (stmt, 1, label, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, value, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, fv_gallery_now ());
  if (!fv_sqlite_step_done (stmt, DB (store), PATH (store), what, error))
    return FALSE;
  *changed = sqlite3_changes (DB (store)) > 0;
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                  */
/* ------------------------------------------------------------------------ */

static const char list_sql[] =
    "SELECT i.id, i.label, i.display_name, i.created, i.updated,"
    "  coalesce (c.n, 0)"
    " FROM identities AS i LEFT JOIN"
    "  (SELECT identity_id, count(*) AS n FROM samples GROUP BY identity_id)"
    "  AS c ON c.identity_id = i.id";

/* Reads columns @col.. as (id, label, display_name, created, updated) into
 * @id, borrowing the strings from the row. */
static void
identity_columns (sqlite3_stmt * stmt, int col, FvGalleryIdentity * id)
{
  id->id = sqlite3_column_int64 (stmt, col);
  id->label = (char *) sqlite3_column_text (stmt, col + 1);
  id->display_name = (char *) sqlite3_column_text (stmt, col + 2);
  id->created = sqlite3_column_int64 (stmt, col + 3);
  id->updated = sqlite3_column_int64 (stmt, col + 4);
}

static FvGalleryIdentity *
identity_from_row (sqlite3_stmt * stmt)
{
  FvGalleryIdentity row = { 0 };
  FvGalleryIdentity *id = g_new0 (FvGalleryIdentity, 1);

  identity_columns (stmt, 0, &row);
  *id = row;
  id->label = g_strdup (row.label ? row.label : "");
  id->display_name = g_strdup (row.display_name);
  id->n_samples = (guint) CLAMP (sqlite3_column_int64 (stmt, 5), 0, G_MAXUINT);
  return id;
}

static GPtrArray *
sqlite_list (FvGalleryStore * store, const char *label, GError ** error)
{
  const char *what = label ? "read the identity" : "list the identities";
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func
      ((GDestroyNotify) fv_gallery_identity_free);
  g_autofree char *sql = g_strconcat (list_sql, label ? " WHERE i.label = ?1"
      : " ORDER BY i.label", NULL);
  g_autoptr (sqlite3_stmt) stmt = fv_sqlite_prepare (DB (store),
      PATH (store), sql, what, error);
  int rc;

  if (!stmt)
    return NULL;
  if (label)
    sqlite3_bind_text (stmt, 1, label, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (list, identity_from_row (stmt));
  if (!fv_sqlite_finish_rows (stmt, rc, DB (store), PATH (store), what, error))
    return NULL;
  return g_steal_pointer (&list);
}

/* Reads columns @col.. as (id, quality, source, created, embedding) into
 * @s, the embedding decoded into @embedding. */
static gboolean
sample_columns (FvGalleryStore * store, sqlite3_stmt * stmt, int col,
    FvGalleryStoreSample * s, float *embedding, GError ** error)
{
  s->id = sqlite3_column_int64 (stmt, col);
  s->has_quality = sqlite3_column_type (stmt, col + 1) != SQLITE_NULL;
  s->quality = sqlite3_column_double (stmt, col + 1);
  s->source = (const char *) sqlite3_column_text (stmt, col + 2);
  s->created = sqlite3_column_int64 (stmt, col + 3);
  s->embedding = embedding;
  return fv_gallery_decode_embedding (store, s->id,
      sqlite3_column_blob (stmt, col + 4),
      (gsize) sqlite3_column_bytes (stmt, col + 4), embedding, error);
}

static GPtrArray *
sqlite_get_samples (FvGalleryStore * store, const char *label, GError ** error)
{
  const char *what = "read the samples";
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func
      ((GDestroyNotify) fv_gallery_sample_info_free);
  g_autoptr (sqlite3_stmt) stmt = NULL;
  gint64 id;
  int rc;

  if (!fv_sqlite_exec (DB (store), PATH (store), "BEGIN", what, error))
    goto fail;
  id = lookup_identity (store, label, what, error);
  if (id < 0)
    goto fail;
  if (id == 0) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_NOT_FOUND,
        "%s: no identity \"%s\" in the gallery", PATH (store), label);
    goto fail;
  }
  stmt = fv_sqlite_prepare (DB (store), PATH (store),
      "SELECT id, quality, source, created, embedding FROM samples "
      "WHERE identity_id = ?1 ORDER BY id", what, error);
  if (!stmt)
    goto fail;
  sqlite3_bind_int64 (stmt, 1, id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    FvGallerySampleInfo *info = g_new0 (FvGallerySampleInfo, 1);
    FvGalleryStoreSample s;

    g_ptr_array_add (list, info);
    info->embedding = g_new (float, store->dim);
    if (!sample_columns (store, stmt, 0, &s, info->embedding, error))
      goto fail;
    info->id = s.id;
    info->quality = s.has_quality ? (float) s.quality : -1.0f;
    info->source = g_strdup (s.source);
    info->created = s.created;
  }
  if (!fv_sqlite_finish_rows (stmt, rc, DB (store), PATH (store), what, error))
    goto fail;
  g_clear_pointer (&stmt, sqlite3_finalize);
  sqlite3_exec (DB (store), "COMMIT", NULL, NULL, NULL);
  return g_steal_pointer (&list);

fail:
  g_clear_pointer (&stmt, sqlite3_finalize);
  fv_sqlite_rollback (DB (store));
  return NULL;
}

static gboolean
sqlite_foreach_sample (FvGalleryStore * store, FvGalleryStoreVisit visit,
    gpointer user_data, GError ** error)
{
  const char *what = "export the gallery";
  g_autofree float *unit = g_new (float, store->dim);
  g_autoptr (sqlite3_stmt) stmt = fv_sqlite_prepare (DB (store),
      PATH (store),
      "SELECT i.id, i.label, i.display_name, i.created, i.updated,"
      "  s.id, s.quality, s.source, s.created, s.embedding"
      " FROM identities AS i LEFT JOIN samples AS s ON s.identity_id = i.id"
      " ORDER BY i.label, s.id", what, error);
  int rc;

  if (!stmt)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    FvGalleryIdentity identity = { 0 };
    FvGalleryStoreSample sample;
    gboolean has_sample = sqlite3_column_type (stmt, 5) != SQLITE_NULL;

    identity_columns (stmt, 0, &identity);
    if (has_sample && !sample_columns (store, stmt, 5, &sample, unit, error))
      return FALSE;
    if (!visit (&identity, has_sample ? &sample : NULL, user_data, error))
      return FALSE;
  }
  return fv_sqlite_finish_rows (stmt, rc, DB (store), PATH (store), what,
      error);
}

static gboolean
sqlite_get_meta (FvGalleryStore * store, const char *key, char **value,
    GError ** error)
{
  const char *what = "read the gallery's metadata";
  g_autoptr (sqlite3_stmt) stmt = fv_sqlite_prepare (DB (store),
      PATH (store), "SELECT value FROM meta WHERE key = ?1", what, error);
  int rc;

  *value = NULL;
  if (!stmt)
    return FALSE;
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    g_free (*value);
    *value = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  }
  if (!fv_sqlite_finish_rows (stmt, rc, DB (store), PATH (store), what, error)) {
    g_clear_pointer (value, g_free);
    return FALSE;
  }
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Loading and change detection                                             */
/* ------------------------------------------------------------------------ */

/* PRAGMA data_version with a statement prepared once, so that the check
 * allocates nothing. */
static gboolean
read_data_version (FvSqliteStore * s, gint64 * version, GError ** error)
{
  const char *what = "check the gallery for changes";
  int rc;

  if (s->version_stmt == NULL) {
    s->version_stmt = fv_sqlite_prepare (s->db, PATH (&s->base),
        "PRAGMA data_version", what, error);
    if (s->version_stmt == NULL)
      return FALSE;
  }
  rc = sqlite3_step (s->version_stmt);
  if (rc == SQLITE_ROW)
    *version = sqlite3_column_int64 (s->version_stmt, 0);
  sqlite3_reset (s->version_stmt);
  if (rc != SQLITE_ROW) {
    fv_sqlite_set_error (error, s->db, rc, PATH (&s->base), what);
    return FALSE;
  }
  return TRUE;
}

/* Every identity, by id (the table's own order). */
static gboolean
load_identities (FvGalleryStore * store, FvGallerySnapshotBuild * b,
    GError ** error)
{
  g_autoptr (sqlite3_stmt) stmt = fv_sqlite_prepare (DB (store),
      PATH (store), "SELECT id, label, display_name FROM identities "
      "ORDER BY id", "load the gallery", error);
  int rc;

  if (!stmt)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    fv_gallery_snapshot_build_identity (b, sqlite3_column_int64 (stmt, 0),
        (const char *) sqlite3_column_text (stmt, 1),
        (const char *) sqlite3_column_text (stmt, 2));
  return fv_sqlite_finish_rows (stmt, rc, DB (store), PATH (store),
      "load the gallery", error);
}

/* The samples: @count only counts them per identity, from the index alone
 * (a GROUP BY joined to the identities costs SQLite a temporary table and
 * a sort); otherwise each is placed, in file order. */
static gboolean
load_samples (FvGalleryStore * store, FvGallerySnapshotBuild * b,
    gboolean count, GError ** error)
{
  g_autoptr (sqlite3_stmt) stmt = fv_sqlite_prepare (DB (store),
      PATH (store), count ?
      "SELECT identity_id FROM samples ORDER BY identity_id" :
      "SELECT identity_id, embedding, id FROM samples", "load the gallery",
      error);
  int rc;

  if (!stmt)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    gint64 id = sqlite3_column_int64 (stmt, 0);
    gboolean ok = count ? fv_gallery_snapshot_build_count (b, id, error) :
        fv_gallery_snapshot_build_sample (b, id,
        sqlite3_column_int64 (stmt, 2), sqlite3_column_blob (stmt, 1),
        (gsize) sqlite3_column_bytes (stmt, 1), error);

    if (!ok)
      return FALSE;
  }
  return fv_sqlite_finish_rows (stmt, rc, DB (store), PATH (store),
      "load the gallery", error);
}

/* Reads the whole gallery into a new snapshot, in one read transaction. */
static FvGallerySnapshot *
read_snapshot (FvGalleryStore * store, GError ** error)
{
  const char *what = "load the gallery";
  g_autoptr (FvGallerySnapshotBuild) b = NULL;
  g_autoptr (sqlite3_stmt) stmt = NULL;
  guint64 generation = 0;
  int rc;

  if (!fv_sqlite_exec (DB (store), PATH (store), "BEGIN", what, error))
    return NULL;
  if (!FV_SQLITE_STORE (store)->salvage
      && !fv_sqlite_check_schema (DB (store), PATH (store), error))
    goto fail;
  /* Damage is reported, never loaded: SQLite's quick check (structure,
   * not index contents) in the same read transaction. */
  if (!fv_sqlite_quick_check (DB (store), PATH (store), error))
    goto fail;
  b = fv_gallery_snapshot_build_new (store);
  stmt = fv_sqlite_prepare (DB (store), PATH (store),
      "SELECT key, value FROM meta WHERE key IN ('generation', '"
      FV_GALLERY_META_THRESHOLD "')", what, error);
  if (!stmt)
    goto fail;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    const char *key = (const char *) sqlite3_column_text (stmt, 0);

    if (g_strcmp0 (key, "generation") == 0)
      generation = (guint64) sqlite3_column_int64 (stmt, 1);
    else if (!fv_gallery_snapshot_build_threshold (b,
            (const char *) sqlite3_column_text (stmt, 1), error))
      goto fail;
  }
  if (!fv_sqlite_finish_rows (stmt, rc, DB (store), PATH (store), what, error))
    goto fail;
  g_clear_pointer (&stmt, sqlite3_finalize);

  if (!load_identities (store, b, error) || !load_samples (store, b, TRUE,
          error))
    goto fail;
  fv_gallery_snapshot_build_layout (b, generation);
  if (!load_samples (store, b, FALSE, error))
    goto fail;
  sqlite3_exec (DB (store), "COMMIT", NULL, NULL, NULL);
  return fv_gallery_snapshot_build_finish (g_steal_pointer (&b), error);

fail:
  fv_sqlite_rollback (DB (store));
  return NULL;
}

static FvGallerySnapshot *
sqlite_load (FvGalleryStore * store, FvGallerySnapshot * previous,
    GError ** error)
{
  FvSqliteStore *s = FV_SQLITE_STORE (store);
  FvGallerySnapshot *snap;
  gint64 data_version = -1;
  guint64 local_changes;

  /* Read before loading: a commit in between makes the next poll report a
   * change, never hide one. */
  if (!read_data_version (s, &data_version, error))
    return NULL;
  local_changes = s->local_changes;
  if (s->immutable) {
    FvGalleryStamp now;

    if (fv_sqlite_stat (store->location, &now)) {
      s->stamp.mtime_ns = now.mtime_ns;
      s->stamp.size = now.size;
    }
  }
  snap = read_snapshot (store, error);
  if (snap) {
    s->data_version = data_version;
    s->loaded_local_changes = local_changes;
  }
  return snap;
}

static FvGalleryStoreChange
sqlite_poll (FvGalleryStore * store)
{
  FvSqliteStore *s = FV_SQLITE_STORE (store);
  FvGalleryStamp now;
  gint64 data_version;

  if (!fv_sqlite_stat (store->location, &now))
    now = s->stamp;
  if (now.dev != s->stamp.dev || now.ino != s->stamp.ino)
    return FV_GALLERY_STORE_REPLACED;
  if (s->immutable)
    return now.mtime_ns != s->stamp.mtime_ns || now.size != s->stamp.size ?
        FV_GALLERY_STORE_CHANGED : FV_GALLERY_STORE_UNCHANGED;
  if (s->local_changes != s->loaded_local_changes
      || !read_data_version (s, &data_version, NULL)
      || data_version != s->data_version)
    return FV_GALLERY_STORE_CHANGED;
  return FV_GALLERY_STORE_UNCHANGED;
}

/* A file never makes the caller wait on a network: no cancel. */
static FvGalleryStore *
sqlite_open (const char *path, FvGalleryOpenFlags flags,
    const char *fingerprint, guint dim, const gint * cancel, GError ** error)
{
  (void) cancel;
  return fv_sqlite_store_open (path, flags, fingerprint, dim, error);
}

const FvGalleryStoreClass fv_gallery_sqlite_class = {
  .name = "sqlite",
  .stat = fv_sqlite_stat,
  .open = sqlite_open,
  .close = fv_sqlite_store_close,
  .poll = sqlite_poll,
  .load = sqlite_load,
  .list = sqlite_list,
  .get_samples = sqlite_get_samples,
  .foreach_sample = sqlite_foreach_sample,
  .get_meta = sqlite_get_meta,
  .begin_write = sqlite_begin_write,
  .commit_write = sqlite_commit_write,
  .rollback_write = sqlite_rollback_write,
  .enroll_one = enroll_one,
  .lookup_identity = lookup_identity,
  .run_on_id = run_on_id,
  .run_on_label = run_on_label,
  .delete_samples_sql = "DELETE FROM samples WHERE identity_id = ?1",
  .delete_identity_sql = "DELETE FROM identities WHERE id = ?1",
  .set_label_sql = "UPDATE identities SET label = ?2, updated = ?3"
      " WHERE label = ?1",
  .set_display_name_sql = "UPDATE identities SET display_name = ?2,"
      " updated = ?3 WHERE label = ?1",
  .set_meta_sql = "INSERT INTO meta (key, value) VALUES (?1, ?2),"
      " (?1 || '_updated', ?3) ON CONFLICT (key) DO UPDATE"
      " SET value = excluded.value",
};
