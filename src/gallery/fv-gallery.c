/* gst-faceverify: face verification on the CPU
 *
 * fv-gallery.c: the gallery file (SQLite, WAL mode): opening with every
 * check, schema migration, one transaction per change, listing, JSON
 * export/import, and loading the matrix snapshot.
 */
#include "fv-config.h"
#include "core/fv-core.h"
#include "gallery/fv-gallery-private.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#define GALLERY_FORMAT "gst-faceverify-gallery"
#define JSON_FORMAT "gst-faceverify-gallery-export"
#define JSON_VERSION 1
#define MAX_DIM 65536
#define MAX_DISPLAY_NAME 1024
#define MAX_FINGERPRINT 128
/* How long a writer waits for another process's transaction. */
#define BUSY_TIMEOUT_MS 10000

/**
 * fv_gallery_error_quark:
 *
 * Returns: the #GQuark of the %FV_GALLERY_ERROR domain
 */
G_DEFINE_QUARK (fv-gallery-error-quark, fv_gallery_error);

struct _FvGallery
{
  char *path;
  gboolean read_only;
  /* Opened with immutable=1: a WAL gallery in a folder where the -shm file
   * cannot be created. No change detection but the file's stat. */
  gboolean immutable;

  /* db_lock guards db and everything below it up to snap_lock. The
   * matching thread never takes it: fv_gallery_needs_reload() only tries. */
  GMutex db_lock;
  sqlite3 *db;
  char *fingerprint;
  guint dim;
  char *metric;
  guint schema_version;
  dev_t dev;
  ino_t ino;
  gint64 mtime_ns;
  goffset size;
  gint64 data_version;          /* PRAGMA data_version at the last load */
  sqlite3_stmt *version_stmt;   /* PRAGMA data_version, kept prepared */
  guint64 local_changes;        /* commits made through this handle */
  guint64 loaded_local_changes;

  GMutex snap_lock;             /* guards only the snapshot pointer */
  FvGallerySnapshot *snapshot;
};

/* ------------------------------------------------------------------------ */
/* Schema                                                                   */
/* ------------------------------------------------------------------------ */

/* Version 2, written by new galleries. Version 1 had no display_name and
 * updated (identities) and no quality and source (samples). */
static const char schema_v2[] =
    "CREATE TABLE meta ("
    "  key TEXT PRIMARY KEY NOT NULL,"
    "  value TEXT NOT NULL);"
    "CREATE TABLE identities ("
    "  id INTEGER PRIMARY KEY,"
    "  label TEXT NOT NULL UNIQUE,"
    "  display_name TEXT,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL);"
    "CREATE TABLE samples ("
    "  id INTEGER PRIMARY KEY,"
    "  identity_id INTEGER NOT NULL REFERENCES identities (id)"
    "    ON DELETE CASCADE,"
    "  embedding BLOB NOT NULL,"
    "  quality REAL,"
    "  source TEXT,"
    "  created INTEGER NOT NULL);"
    "CREATE INDEX samples_by_identity ON samples (identity_id);";

static const char migrate_v1_to_v2[] =
    "ALTER TABLE identities ADD COLUMN display_name TEXT;"
    "ALTER TABLE identities ADD COLUMN updated INTEGER NOT NULL DEFAULT 0;"
    "UPDATE identities SET updated = created;"
    "ALTER TABLE samples ADD COLUMN quality REAL;"
    "ALTER TABLE samples ADD COLUMN source TEXT;" "PRAGMA user_version = 2;";

/* A read-only handle cannot migrate: temporary views with the columns of
 * the current schema hide the old tables (the temp schema is searched
 * first), so every query below works on a version 1 file. */
static const char compat_v1_views[] =
    "CREATE TEMP VIEW identities AS"
    "  SELECT id, label, NULL AS display_name, created, created AS updated"
    "  FROM main.identities;"
    "CREATE TEMP VIEW samples AS"
    "  SELECT id, identity_id, embedding, NULL AS quality, NULL AS source,"
    "  created FROM main.samples;";

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

static FvGalleryError
error_code_for (int rc)
{
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
      return FV_GALLERY_ERROR_CORRUPT;
    case SQLITE_NOTADB:
      return FV_GALLERY_ERROR_NOT_GALLERY;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return FV_GALLERY_ERROR_READ_ONLY;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return FV_GALLERY_ERROR_BUSY;
    case SQLITE_CONSTRAINT:
      return FV_GALLERY_ERROR_EXISTS;
    default:
      return FV_GALLERY_ERROR_IO;
  }
}

/* "<path>: cannot <what>: <reason>" from the last SQLite error. */
static void
set_db_error (GError ** error, sqlite3 * db, int rc, const char *path,
    const char *what)
{
  FvGalleryError code = error_code_for (rc);
  const char *reason = db ? sqlite3_errmsg (db) : sqlite3_errstr (rc);

  if ((rc & 0xff) == SQLITE_IOERR && rc == SQLITE_IOERR_SHORT_READ)
    code = FV_GALLERY_ERROR_CORRUPT;

  switch (code) {
    case FV_GALLERY_ERROR_CORRUPT:
      g_set_error (error, FV_GALLERY_ERROR, code,
          "%s: cannot %s: the gallery file is damaged or truncated (%s)",
          path, what, reason);
      break;
    case FV_GALLERY_ERROR_NOT_GALLERY:
      g_set_error (error, FV_GALLERY_ERROR, code,
          "%s: not a gallery: the file is not an SQLite database (%s)",
          path, reason);
      break;
    case FV_GALLERY_ERROR_BUSY:
      g_set_error (error, FV_GALLERY_ERROR, code,
          "%s: cannot %s: another process kept the gallery locked for "
          "more than %d s (%s)", path, what, BUSY_TIMEOUT_MS / 1000, reason);
      break;
    case FV_GALLERY_ERROR_READ_ONLY:
      g_set_error (error, FV_GALLERY_ERROR, code,
          "%s: cannot %s: the gallery or its folder is read-only (%s)",
          path, what, reason);
      break;
    default:
      g_set_error (error, FV_GALLERY_ERROR, code, "%s: cannot %s: %s",
          path, what, reason);
      break;
  }
}

/* ------------------------------------------------------------------------ */
/* Small SQLite helpers                                                     */
/* ------------------------------------------------------------------------ */

static void
finalize_stmt (sqlite3_stmt * stmt)
{
  sqlite3_finalize (stmt);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, finalize_stmt)

static gboolean
db_exec (sqlite3 * db, const char *path, const char *sql, const char *what,
    GError ** error)
{
  int rc = sqlite3_exec (db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK) {
    set_db_error (error, db, rc, path, what);
    return FALSE;
  }
  return TRUE;
}

static sqlite3_stmt *
db_prepare (sqlite3 * db, const char *path, const char *sql,
    const char *what, GError ** error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);

  if (rc != SQLITE_OK) {
    /* A prepare fails when a table or column is missing: in a file that
     * passed the schema check, that means damage. */
    if ((rc & 0xff) == SQLITE_ERROR) {
      g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_CORRUPT,
          "%s: cannot %s: the gallery's tables are damaged (%s)", path, what,
          sqlite3_errmsg (db));
    } else {
      set_db_error (error, db, rc, path, what);
    }
    sqlite3_finalize (stmt);
    return NULL;
  }
  return stmt;
}

/* Runs a statement that returns no row (or whose rows are ignored). */
static gboolean
db_step_done (sqlite3_stmt * stmt, sqlite3 * db, const char *path,
    const char *what, GError ** error)
{
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW);
  if (rc != SQLITE_DONE) {
    set_db_error (error, db, rc, path, what);
    return FALSE;
  }
  return TRUE;
}

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* ------------------------------------------------------------------------ */
/* Embedding blobs                                                          */
/* ------------------------------------------------------------------------ */

static void
floats_to_le (const float *src, guint n, guint8 * dst)
{
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  memcpy (dst, src, (gsize) n * sizeof (float));
#else
  guint i;

  for (i = 0; i < n; i++) {
    guint32 v;

    memcpy (&v, &src[i], 4);
    v = GUINT32_TO_LE (v);
    memcpy (dst + 4 * i, &v, 4);
  }
#endif
}

/* Reads a stored blob into @dst and normalises it; FALSE when it has the
 * wrong size or holds non-finite or all-zero values. */
static gboolean
blob_to_unit_floats (const void *blob, int bytes, guint dim, float *dst)
{
  double sum = 0.0;
  guint i;

  if (blob == NULL || bytes < 0 || (gsize) bytes != (gsize) dim * 4)
    return FALSE;
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  memcpy (dst, blob, (gsize) dim * 4);
#else
  for (i = 0; i < dim; i++) {
    guint32 v;

    memcpy (&v, (const guint8 *) blob + 4 * i, 4);
    v = GUINT32_FROM_LE (v);
    memcpy (&dst[i], &v, 4);
  }
#endif
  for (i = 0; i < dim; i++) {
    if (!isfinite (dst[i]))
      return FALSE;
    sum += (double) dst[i] * dst[i];
  }
  if (!(sum > 1e-20))
    return FALSE;
  fv_l2_normalize (dst, dim);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Validation of arguments                                                  */
/* ------------------------------------------------------------------------ */

static gboolean
check_text (const char *what, const char *text, gsize max_bytes,
    GError ** error)
{
  const char *p;
  gsize len = strlen (text);

  if (len == 0) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
        "the %s is empty", what);
    return FALSE;
  }
  if (len > max_bytes) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
        "the %s is longer than %" G_GSIZE_FORMAT " bytes", what, max_bytes);
    return FALSE;
  }
  if (!g_utf8_validate (text, len, NULL)) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
        "the %s is not valid UTF-8", what);
    return FALSE;
  }
  for (p = text; *p; p = g_utf8_next_char (p)) {
    gunichar c = g_utf8_get_char (p);

    if (g_unichar_iscntrl (c)) {
      g_autofree char *escaped = g_strescape (text, NULL);

      g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
          "the %s \"%s\" contains a control character", what, escaped);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
check_label (const char *label, GError ** error)
{
  if (label == NULL) {
    g_set_error_literal (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
        "no label given");
    return FALSE;
  }
  return check_text ("label", label, FV_GALLERY_MAX_LABEL, error);
}

static gboolean
check_display_name (const char *name, GError ** error)
{
  return name == NULL || check_text ("display name", name, MAX_DISPLAY_NAME,
      error);
}

/* Copies the sample's embedding, normalised, into @unit. */
static gboolean
check_embedding (const float *embedding, guint dim, float *unit,
    GError ** error)
{
  double sum = 0.0;
  guint i;

  if (embedding == NULL) {
    g_set_error_literal (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
        "a sample has no embedding");
    return FALSE;
  }
  for (i = 0; i < dim; i++) {
    if (!isfinite (embedding[i])) {
      g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
          "an embedding holds a non-finite value (element %u)", i);
      return FALSE;
    }
    sum += (double) embedding[i] * embedding[i];
  }
  if (!(sum > 1e-20)) {
    g_set_error_literal (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
        "an embedding is all zeros");
    return FALSE;
  }
  memcpy (unit, embedding, (gsize) dim * sizeof (float));
  fv_l2_normalize (unit, dim);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Opening                                                                  */
/* ------------------------------------------------------------------------ */

/* What open_db() found and checked: becomes the FvGallery's state. */
typedef struct
{
  sqlite3 *db;
  gboolean immutable;
  char *fingerprint;
  guint dim;
  char *metric;
  guint schema_version;
  dev_t dev;
  ino_t ino;
  gint64 mtime_ns;
  goffset size;
} DbState;

static void
db_state_clear (DbState * s)
{
  if (s->db)
    sqlite3_close_v2 (s->db);
  g_free (s->fingerprint);
  g_free (s->metric);
  memset (s, 0, sizeof *s);
}

static inline guint32
read_be32 (const guint8 * p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16)
      | ((guint32) p[2] << 8) | p[3];
}

/* Checks the file before SQLite sees it: that it is a regular file, starts
 * like an SQLite database and is not shorter than its header says.
 * *is_empty is set for a zero-length file. */
static gboolean
check_file (const char *path, gboolean create, gboolean * exists,
    gboolean * is_empty, GError ** error)
{
  GStatBuf st;
  guint8 header[100];
  int fd;
  gssize n;
  guint page_size;
  guint32 page_count, change_counter, valid_for;

  *exists = FALSE;
  *is_empty = FALSE;
  if (g_stat (path, &st) != 0) {
    int e = errno;

    if (e == ENOENT && create)
      return TRUE;
    g_set_error (error, FV_GALLERY_ERROR,
        e == ENOENT ? FV_GALLERY_ERROR_NOT_FOUND : FV_GALLERY_ERROR_IO,
        "%s: %s", path, e == ENOENT ? "no such gallery file" : g_strerror (e));
    return FALSE;
  }
  *exists = TRUE;
  if (S_ISDIR (st.st_mode)) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_IO,
        "%s: is a folder, not a gallery file", path);
    return FALSE;
  }
  if (!S_ISREG (st.st_mode)) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_NOT_GALLERY,
        "%s: not a regular file", path);
    return FALSE;
  }
  if (st.st_size == 0) {
    *is_empty = TRUE;
    if (create)
      return TRUE;
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_NOT_GALLERY,
        "%s: the file is empty, not a gallery", path);
    return FALSE;
  }

  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    int e = errno;

    g_set_error (error, FV_GALLERY_ERROR, e == EACCES ?
        FV_GALLERY_ERROR_READ_ONLY : FV_GALLERY_ERROR_IO,
        "%s: cannot read: %s", path, g_strerror (e));
    return FALSE;
  }
  do {
    n = read (fd, header, sizeof header);
  } while (n < 0 && errno == EINTR);
  close (fd);
  if (n < 0) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_IO,
        "%s: cannot read: %s", path, g_strerror (errno));
    return FALSE;
  }
  if (n < 16 || memcmp (header, "SQLite format 3", 16) != 0) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_NOT_GALLERY,
        "%s: not a gallery: the file is not an SQLite database", path);
    return FALSE;
  }
  if (n < (gssize) sizeof header) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_CORRUPT,
        "%s: the gallery file is truncated (%" G_GSSIZE_FORMAT " bytes)",
        path, n);
    return FALSE;
  }
  page_size = ((guint) header[16] << 8) | header[17];
  if (page_size == 1)
    page_size = 65536;
  if (page_size < 512 || (page_size & (page_size - 1)) != 0) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_CORRUPT,
        "%s: the gallery file is damaged (page size %u in its header)",
        path, page_size);
    return FALSE;
  }
  /* The page count in the header is valid when the change counter matches
   * "version valid for" (SQLite >= 3.7.0 keeps both). A file shorter than
   * that lost its tail. */
  page_count = read_be32 (header + 28);
  change_counter = read_be32 (header + 24);
  valid_for = read_be32 (header + 92);
  if (page_count > 0 && change_counter == valid_for
      && (guint64) st.st_size < (guint64) page_count * page_size) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_CORRUPT,
        "%s: the gallery file is truncated: %" G_GUINT64_FORMAT
        " bytes, its header says %" G_GUINT64_FORMAT, path,
        (guint64) st.st_size, (guint64) page_count * page_size);
    return FALSE;
  }
  return TRUE;
}

/* Whether this process may write @path (if it exists) and create the
 * -wal and -shm files beside it. */
static gboolean
check_writable (const char *path, gboolean exists, GError ** error)
{
  g_autofree char *dir = g_path_get_dirname (path);

  if (exists && access (path, W_OK) != 0) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_READ_ONLY,
        "%s: cannot write the gallery: %s", path, g_strerror (errno));
    return FALSE;
  }
  if (access (dir, W_OK | X_OK) != 0) {
    int e = errno;

    g_set_error (error, FV_GALLERY_ERROR, e == ENOENT ?
        FV_GALLERY_ERROR_NOT_FOUND : FV_GALLERY_ERROR_READ_ONLY,
        "%s: cannot %s the gallery: the folder %s %s", path,
        exists ? "write" : "create", dir,
        e == ENOENT ? "does not exist" : e == EROFS ?
        "is on a read-only file system" : "is not writable");
    return FALSE;
  }
  return TRUE;
}

static gboolean
record_stat (DbState * s, const char *path)
{
  GStatBuf st;

  if (g_stat (path, &st) != 0)
    return FALSE;
  s->dev = st.st_dev;
  s->ino = st.st_ino;
  s->mtime_ns = (gint64) st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
  s->size = st.st_size;
  return TRUE;
}

static sqlite3 *
open_connection (const char *path, gboolean read_only, gboolean immutable,
    GError ** error)
{
  sqlite3 *db = NULL;
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE;
  g_autofree char *uri = NULL;
  const char *name = path;
  int rc;

  if (read_only)
    flags |= SQLITE_OPEN_READONLY;
  else
    flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  if (immutable) {
    g_autofree char *escaped = g_uri_escape_string (path, "/", FALSE);

    uri = g_strdup_printf ("file:%s?immutable=1", escaped);
    name = uri;
    flags |= SQLITE_OPEN_URI;
  }

  rc = sqlite3_open_v2 (name, &db, flags, NULL);
  if (rc != SQLITE_OK) {
    set_db_error (error, db, rc, path, "open the gallery");
    sqlite3_close_v2 (db);
    return NULL;
  }
  sqlite3_extended_result_codes (db, 1);
  sqlite3_busy_timeout (db, BUSY_TIMEOUT_MS);
  /* The file may come from anywhere: no writes to the schema table, no
   * functions from the schema. */
  sqlite3_db_config (db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
  sqlite3_db_config (db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
  return db;
}

/* Reads `PRAGMA <name>` as an integer. */
static gboolean
db_pragma_int (sqlite3 * db, const char *path, const char *name,
    gint64 * value, GError ** error)
{
  g_autofree char *sql = g_strdup_printf ("PRAGMA %s", name);
  g_autofree char *what = g_strdup_printf ("read the %s", name);
  g_autoptr (sqlite3_stmt) stmt = db_prepare (db, path, sql, what, error);
  int rc;

  if (!stmt)
    return FALSE;
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW) {
    set_db_error (error, db, rc, path, what);
    return FALSE;
  }
  *value = sqlite3_column_int64 (stmt, 0);
  return TRUE;
}

static gboolean
read_meta (sqlite3 * db, const char *path, GHashTable * meta, GError ** error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;
  int rc;

  stmt = db_prepare (db, path, "SELECT key, value FROM meta",
      "read the gallery's metadata", error);
  if (!stmt)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    const char *k = (const char *) sqlite3_column_text (stmt, 0);
    const char *v = (const char *) sqlite3_column_text (stmt, 1);

    if (k && v)
      g_hash_table_insert (meta, g_strdup (k), g_strdup (v));
  }
  if (rc != SQLITE_DONE) {
    set_db_error (error, db, rc, path, "read the gallery's metadata");
    return FALSE;
  }
  return TRUE;
}

static gboolean
table_exists (sqlite3 * db, const char *path, const char *name,
    gboolean * exists, GError ** error)
{
  g_autoptr (sqlite3_stmt) stmt = db_prepare (db, path,
      "SELECT 1 FROM main.sqlite_schema WHERE type = 'table' AND name = ?1",
      "read the database schema", error);
  int rc;

  if (!stmt)
    return FALSE;
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    set_db_error (error, db, rc, path, "read the database schema");
    return FALSE;
  }
  *exists = rc == SQLITE_ROW;
  return TRUE;
}

/* Creates the tables of a new gallery, unless another process did it
 * first. *created tells which. */
static gboolean
init_gallery (sqlite3 * db, const char *path, const char *fingerprint,
    guint dim, gboolean * created, GError ** error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;
  g_autofree char *dim_str = g_strdup_printf ("%u", dim);
  g_autofree char *created_str = g_strdup_printf ("%" G_GINT64_FORMAT,
      now_seconds ());
  const char *keys[] = { "format", "model_sha256", "dim", "metric",
    "generation", "created"
  };
  const char *values[] = { GALLERY_FORMAT, fingerprint, dim_str,
    FV_GALLERY_METRIC, "0", created_str
  };
  gint64 n_objects = 0, version = 0;
  guint i;
  int rc;

  *created = FALSE;
  if (!db_exec (db, path, "PRAGMA journal_mode = WAL",
          "switch the gallery to WAL mode", error))
    return FALSE;
  if (!db_exec (db, path, "BEGIN IMMEDIATE", "create the gallery", error))
    return FALSE;

  stmt = db_prepare (db, path, "SELECT count(*) FROM main.sqlite_schema",
      "create the gallery", error);
  if (!stmt)
    goto fail;
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW) {
    set_db_error (error, db, rc, path, "create the gallery");
    goto fail;
  }
  n_objects = sqlite3_column_int64 (stmt, 0);
  g_clear_pointer (&stmt, sqlite3_finalize);
  if (!db_pragma_int (db, path, "user_version", &version, error))
    goto fail;
  if (n_objects > 0 || version != 0) {
    /* Someone else created it meanwhile: validate it as any other. */
    sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
    return TRUE;
  }

  if (!db_exec (db, path, schema_v2, "create the gallery", error))
    goto fail;
  stmt = db_prepare (db, path, "INSERT INTO meta (key, value) VALUES (?1, ?2)",
      "create the gallery", error);
  if (!stmt)
    goto fail;
  for (i = 0; i < G_N_ELEMENTS (keys); i++) {
    sqlite3_reset (stmt);
    sqlite3_bind_text (stmt, 1, keys[i], -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 2, values[i], -1, SQLITE_STATIC);
    if (!db_step_done (stmt, db, path, "create the gallery", error))
      goto fail;
  }
  g_clear_pointer (&stmt, sqlite3_finalize);
  if (!db_exec (db, path, "PRAGMA user_version = "
          G_STRINGIFY (FV_GALLERY_SCHEMA_VERSION), "create the gallery", error))
    goto fail;
  if (!db_exec (db, path, "COMMIT", "create the gallery", error))
    goto fail;
  *created = TRUE;
  return TRUE;

fail:
  g_clear_pointer (&stmt, sqlite3_finalize);
  sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}

static gboolean
migrate (sqlite3 * db, const char *path, GError ** error)
{
  gint64 version = 0;

  if (!db_exec (db, path, "BEGIN IMMEDIATE", "migrate the gallery", error))
    return FALSE;
  /* Another process may have migrated it meanwhile. */
  if (!db_pragma_int (db, path, "user_version", &version, error))
    goto fail;
  if (version == 1 && !db_exec (db, path, migrate_v1_to_v2,
          "migrate the gallery from schema 1 to 2", error))
    goto fail;
  if (!db_exec (db, path,
          "UPDATE meta SET value = CAST(value AS INTEGER) + 1 "
          "WHERE key = 'generation'", "migrate the gallery", error))
    goto fail;
  if (!db_exec (db, path, "COMMIT", "migrate the gallery", error))
    goto fail;
  return TRUE;

fail:
  sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}

/* Opens and checks the gallery file; fills @s. */
static gboolean
open_db (const char *path, FvGalleryOpenFlags flags,
    const char *want_fingerprint, guint want_dim, DbState * s, GError ** error)
{
  const gboolean create = (flags & FV_GALLERY_OPEN_CREATE) != 0;
  const gboolean read_only = (flags & (FV_GALLERY_OPEN_CREATE |
          FV_GALLERY_OPEN_READ_WRITE)) == 0;
  g_autoptr (GHashTable) meta = NULL;
  gboolean exists, is_empty, has_meta, created = FALSE;
  gint64 version = 0, n_objects = 0;
  const char *format, *fp, *dim_str, *metric;
  char *end = NULL;
  guint64 dim;
  int rc;

  memset (s, 0, sizeof *s);
  if (!check_file (path, create, &exists, &is_empty, error))
    return FALSE;
  if (!read_only && !check_writable (path, exists, error))
    return FALSE;

  s->db = open_connection (path, read_only, FALSE, error);
  if (!s->db)
    return FALSE;

  /* The first read: SQLite looks at the header and the schema. */
  rc = sqlite3_exec (s->db, "SELECT count(*) FROM main.sqlite_schema", NULL,
      NULL, NULL);
  if (rc != SQLITE_OK && read_only && ((rc & 0xff) == SQLITE_CANTOPEN
          || (rc & 0xff) == SQLITE_READONLY)) {
    /* A WAL gallery in a folder that this process cannot write: without a
     * -wal file beside it, the main file holds everything, and it can be
     * read as immutable. */
    g_autofree char *wal = g_strconcat (path, "-wal", NULL);

    if (!g_file_test (wal, G_FILE_TEST_EXISTS)) {
      sqlite3_close_v2 (s->db);
      s->db = open_connection (path, TRUE, TRUE, error);
      if (!s->db)
        return FALSE;
      s->immutable = TRUE;
      rc = sqlite3_exec (s->db, "SELECT count(*) FROM main.sqlite_schema",
          NULL, NULL, NULL);
    }
  }
  if (rc != SQLITE_OK) {
    set_db_error (error, s->db, rc, path, "open the gallery");
    goto fail;
  }

  if (create && (!exists || is_empty)) {
    if (!init_gallery (s->db, path, want_fingerprint, want_dim, &created,
            error))
      goto fail;
  }

  if (!db_pragma_int (s->db, path, "user_version", &version, error))
    goto fail;
  if (!table_exists (s->db, path, "meta", &has_meta, error))
    goto fail;
  if (version == 0 && !has_meta) {
    g_autoptr (sqlite3_stmt) stmt = db_prepare (s->db, path,
        "SELECT count(*) FROM main.sqlite_schema", "read the schema", error);

    if (!stmt)
      goto fail;
    if (sqlite3_step (stmt) == SQLITE_ROW)
      n_objects = sqlite3_column_int64 (stmt, 0);
    if (n_objects == 0 && create && !created) {
      /* An empty SQLite database: nothing to lose by making it a
       * gallery. */
      g_clear_pointer (&stmt, sqlite3_finalize);
      if (!init_gallery (s->db, path, want_fingerprint, want_dim, &created,
              error))
        goto fail;
      if (!db_pragma_int (s->db, path, "user_version", &version, error))
        goto fail;
      if (!table_exists (s->db, path, "meta", &has_meta, error))
        goto fail;
    }
  }
  if (!has_meta) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_NOT_GALLERY,
        "%s: an SQLite database, but not a gst-faceverify gallery", path);
    goto fail;
  }
  if (version > FV_GALLERY_SCHEMA_VERSION) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_VERSION,
        "%s: the gallery has schema version %" G_GINT64_FORMAT ", newer than "
        "the %d this gst-faceverify knows: use a newer gst-faceverify", path,
        version, FV_GALLERY_SCHEMA_VERSION);
    goto fail;
  }
  if (version < 1) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_NOT_GALLERY,
        "%s: an SQLite database with a 'meta' table but no gallery schema "
        "version: not a gst-faceverify gallery", path);
    goto fail;
  }

  meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (!read_meta (s->db, path, meta, error))
    goto fail;
  format = g_hash_table_lookup (meta, "format");
  if (g_strcmp0 (format, GALLERY_FORMAT) != 0) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_NOT_GALLERY,
        "%s: an SQLite database, but not a gst-faceverify gallery", path);
    goto fail;
  }
  fp = g_hash_table_lookup (meta, "model_sha256");
  dim_str = g_hash_table_lookup (meta, "dim");
  metric = g_hash_table_lookup (meta, "metric");
  dim = dim_str ? g_ascii_strtoull (dim_str, &end, 10) : 0;
  if (fp == NULL || *fp == '\0' || dim == 0 || dim > MAX_DIM
      || end == NULL || *end != '\0' || metric == NULL) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_CORRUPT,
        "%s: the gallery's metadata is damaged (model, dimension or metric "
        "missing or invalid)", path);
    goto fail;
  }
  if (strcmp (metric, FV_GALLERY_METRIC) != 0) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_MODEL_MISMATCH,
        "%s: the gallery uses the metric \"%s\"; this gst-faceverify "
        "matches with \"" FV_GALLERY_METRIC "\" only", path, metric);
    goto fail;
  }
  if (want_fingerprint && g_ascii_strcasecmp (fp, want_fingerprint) != 0) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_MODEL_MISMATCH,
        "%s: the gallery was enrolled with another model (SHA-256 %.16s…, "
        "the model in use is %.16s…); its embeddings cannot be compared: "
        "enrol the people again with this model", path, fp, want_fingerprint);
    goto fail;
  }
  if (want_dim && dim != want_dim) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_DIM_MISMATCH,
        "%s: the gallery holds %" G_GUINT64_FORMAT "-dimensional embeddings, "
        "the model makes %u-dimensional ones", path, dim, want_dim);
    goto fail;
  }

  if (!read_only) {
    /* Before the first write into a file that came from elsewhere: make
     * sure it is sound, so damage is reported rather than spread. */
    g_autoptr (sqlite3_stmt) stmt = NULL;
    const char *result;

    if (!created) {
      stmt = db_prepare (s->db, path, "PRAGMA quick_check",
          "check the gallery", error);
      if (!stmt)
        goto fail;
      rc = sqlite3_step (stmt);
      if (rc != SQLITE_ROW) {
        set_db_error (error, s->db, rc, path, "check the gallery");
        goto fail;
      }
      result = (const char *) sqlite3_column_text (stmt, 0);
      if (g_strcmp0 (result, "ok") != 0) {
        g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_CORRUPT,
            "%s: the gallery file is damaged (integrity check: %s)", path,
            result ? result : "?");
        goto fail;
      }
      g_clear_pointer (&stmt, sqlite3_finalize);
      if (!db_exec (s->db, path, "PRAGMA journal_mode = WAL",
              "switch the gallery to WAL mode", error))
        goto fail;
    }
    if (!db_exec (s->db, path, "PRAGMA synchronous = FULL; "
            "PRAGMA foreign_keys = ON", "configure the gallery", error))
      goto fail;
    if (version < FV_GALLERY_SCHEMA_VERSION) {
      if (!migrate (s->db, path, error))
        goto fail;
      version = FV_GALLERY_SCHEMA_VERSION;
    }
  } else if (version == 1) {
    if (!db_exec (s->db, path, compat_v1_views, "read the gallery", error))
      goto fail;
  }

  s->fingerprint = g_ascii_strdown (fp, -1);
  s->dim = (guint) dim;
  s->metric = g_strdup (metric);
  s->schema_version = (guint) version;
  record_stat (s, path);
  return TRUE;

fail:
  db_state_clear (s);
  return FALSE;
}

/**
 * fv_gallery_open:
 * @path: (type filename): the gallery file
 * @flags: how to open it
 * @model_fingerprint: (nullable): the SHA-256 (hex) of the model whose
 *   embeddings will be matched or enrolled (fv_embedder_get_fingerprint()),
 *   or %NULL to accept a gallery of any model (for listing and exporting).
 *   Required with %FV_GALLERY_OPEN_CREATE.
 * @dim: the embedding dimension, or 0 to accept any. Required with
 *   %FV_GALLERY_OPEN_CREATE.
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Opens a gallery and checks it: the file must be an SQLite database with
 * the gallery schema (%FV_GALLERY_ERROR_NOT_GALLERY), not damaged or
 * truncated (%FV_GALLERY_ERROR_CORRUPT; opened for writing, the whole file
 * is checked first), of a known schema version (%FV_GALLERY_ERROR_VERSION),
 * made with @model_fingerprint (%FV_GALLERY_ERROR_MODEL_MISMATCH) and of
 * dimension @dim (%FV_GALLERY_ERROR_DIM_MISMATCH). For writing, the file
 * and its folder must be writable (%FV_GALLERY_ERROR_READ_ONLY). A file
 * that fails a check is left untouched.
 *
 * Opened for writing, a gallery with an older schema is migrated (one
 * transaction); read-only, it is read as it is.
 *
 * Opening does not load the embeddings: call fv_gallery_reload().
 *
 * Returns: (transfer full) (nullable): the gallery, or %NULL on error
 */
FvGallery *
fv_gallery_open (const char *path, FvGalleryOpenFlags flags,
    const char *model_fingerprint, guint dim, GError ** error)
{
  FvGallery *g;
  DbState s;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (!(flags & FV_GALLERY_OPEN_CREATE)
      || (model_fingerprint != NULL && dim > 0), NULL);
  g_return_val_if_fail (dim <= MAX_DIM, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (model_fingerprint && !check_text ("model fingerprint",
          model_fingerprint, MAX_FINGERPRINT, error))
    return NULL;
  if (!open_db (path, flags, model_fingerprint, dim, &s, error))
    return NULL;

  g = g_new0 (FvGallery, 1);
  g->path = g_strdup (path);
  g->read_only = (flags & (FV_GALLERY_OPEN_CREATE |
          FV_GALLERY_OPEN_READ_WRITE)) == 0;
  g_mutex_init (&g->db_lock);
  g_mutex_init (&g->snap_lock);
  g->db = s.db;
  g->immutable = s.immutable;
  g->fingerprint = s.fingerprint;
  g->dim = s.dim;
  g->metric = s.metric;
  g->schema_version = s.schema_version;
  g->dev = s.dev;
  g->ino = s.ino;
  g->mtime_ns = s.mtime_ns;
  g->size = s.size;
  g->data_version = -1;
  return g;
}

/**
 * fv_gallery_free:
 * @gallery: (transfer full): a gallery
 *
 * Closes the file and drops the gallery's reference to its snapshot
 * (snapshots handed out stay valid).
 */
void
fv_gallery_free (FvGallery * gallery)
{
  if (gallery == NULL)
    return;
  if (gallery->snapshot)
    fv_gallery_snapshot_unref (gallery->snapshot);
  sqlite3_finalize (gallery->version_stmt);
  sqlite3_close_v2 (gallery->db);
  g_mutex_clear (&gallery->db_lock);
  g_mutex_clear (&gallery->snap_lock);
  g_free (gallery->path);
  g_free (gallery->fingerprint);
  g_free (gallery->metric);
  g_free (gallery);
}

/**
 * fv_gallery_get_path:
 * @gallery: a gallery
 *
 * Returns: (transfer none) (type filename): the file's path
 */
const char *
fv_gallery_get_path (FvGallery * gallery)
{
  g_return_val_if_fail (gallery != NULL, NULL);
  return gallery->path;
}

/**
 * fv_gallery_get_model_fingerprint:
 * @gallery: a gallery
 *
 * Returns: (transfer none): the SHA-256 (lower-case hex) of the model that
 *   made the gallery's embeddings
 */
const char *
fv_gallery_get_model_fingerprint (FvGallery * gallery)
{
  g_return_val_if_fail (gallery != NULL, NULL);
  return gallery->fingerprint;
}

/**
 * fv_gallery_get_dim:
 * @gallery: a gallery
 *
 * Returns: the embedding dimension
 */
guint
fv_gallery_get_dim (FvGallery * gallery)
{
  g_return_val_if_fail (gallery != NULL, 0);
  return gallery->dim;
}

/**
 * fv_gallery_get_metric:
 * @gallery: a gallery
 *
 * Returns: (transfer none): the metric (%FV_GALLERY_METRIC)
 */
const char *
fv_gallery_get_metric (FvGallery * gallery)
{
  g_return_val_if_fail (gallery != NULL, NULL);
  return gallery->metric;
}

/**
 * fv_gallery_get_schema_version:
 * @gallery: a gallery
 *
 * Returns: the file's schema version (%FV_GALLERY_SCHEMA_VERSION unless an
 *   older gallery was opened read-only)
 */
guint
fv_gallery_get_schema_version (FvGallery * gallery)
{
  g_return_val_if_fail (gallery != NULL, 0);
  return gallery->schema_version;
}

/**
 * fv_gallery_is_read_only:
 * @gallery: a gallery
 *
 * Returns: whether the gallery was opened read-only
 */
gboolean
fv_gallery_is_read_only (FvGallery * gallery)
{
  g_return_val_if_fail (gallery != NULL, TRUE);
  return gallery->read_only;
}

/* ------------------------------------------------------------------------ */
/* Changes                                                                  */
/* ------------------------------------------------------------------------ */

static gboolean
check_writable_handle (FvGallery * g, GError ** error)
{
  if (g->read_only) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_READ_ONLY,
        "%s: the gallery was opened read-only", g->path);
    return FALSE;
  }
  return TRUE;
}

static gboolean
begin_write (FvGallery * g, const char *what, GError ** error)
{
  return db_exec (g->db, g->path, "BEGIN IMMEDIATE", what, error);
}

static gboolean
commit_write (FvGallery * g, const char *what, GError ** error)
{
  if (!db_exec (g->db, g->path,
          "UPDATE meta SET value = CAST(value AS INTEGER) + 1 "
          "WHERE key = 'generation'", what, error))
    return FALSE;
  if (!db_exec (g->db, g->path, "COMMIT", what, error))
    return FALSE;
  g->local_changes++;
  return TRUE;
}

static void
rollback (FvGallery * g)
{
  if (!sqlite3_get_autocommit (g->db))
    sqlite3_exec (g->db, "ROLLBACK", NULL, NULL, NULL);
}

/* The id of @label, or 0 if it is not in the gallery; -1 on error. */
static gint64
lookup_identity (FvGallery * g, const char *label, const char *what,
    GError ** error)
{
  g_autoptr (sqlite3_stmt) stmt = db_prepare (g->db, g->path,
      "SELECT id FROM identities WHERE label = ?1", what, error);
  int rc;

  if (!stmt)
    return -1;
  sqlite3_bind_text (stmt, 1, label, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return sqlite3_column_int64 (stmt, 0);
  if (rc == SQLITE_DONE)
    return 0;
  set_db_error (error, g->db, rc, g->path, what);
  return -1;
}

/* Enrols one identity inside the caller's transaction. @created is the
 * identity's creation time for a new label (and its update time),
 * @sample_created the samples' (NULL: @created). */
static gboolean
enroll_in_transaction (FvGallery * g, const char *label,
    const char *display_name, const FvGallerySample * samples,
    guint n_samples, FvGalleryEnrollFlags flags, gint64 created,
    gint64 updated, const gint64 * sample_created, gint64 * identity_id,
    GError ** error)
{
  const char *what = "enrol";
  g_autoptr (sqlite3_stmt) stmt = NULL;
  g_autofree float *unit = NULL;
  g_autofree guint8 *blob = NULL;
  gint64 id;
  guint i;

  id = lookup_identity (g, label, what, error);
  if (id < 0)
    return FALSE;

  if (id > 0) {
    if (flags == FV_GALLERY_ENROLL_NEW_ONLY) {
      g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_EXISTS,
          "%s: the label \"%s\" is already in the gallery", g->path, label);
      return FALSE;
    }
    if (flags == FV_GALLERY_ENROLL_REPLACE) {
      stmt = db_prepare (g->db, g->path,
          "DELETE FROM samples WHERE identity_id = ?1", what, error);
      if (!stmt)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, id);
      if (!db_step_done (stmt, g->db, g->path, what, error))
        return FALSE;
      g_clear_pointer (&stmt, sqlite3_finalize);
      stmt = db_prepare (g->db, g->path,
          "UPDATE identities SET display_name = ?2, updated = ?3 "
          "WHERE id = ?1", what, error);
    } else {
      stmt = db_prepare (g->db, g->path,
          "UPDATE identities SET display_name = coalesce (?2, display_name),"
          " updated = ?3 WHERE id = ?1", what, error);
    }
    if (!stmt)
      return FALSE;
    sqlite3_bind_int64 (stmt, 1, id);
    sqlite3_bind_text (stmt, 2, display_name, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 3, updated);
    if (!db_step_done (stmt, g->db, g->path, what, error))
      return FALSE;
  } else {
    stmt = db_prepare (g->db, g->path,
        "INSERT INTO identities (label, display_name, created, updated) "
        "VALUES (?1, ?2, ?3, ?4)", what, error);
    if (!stmt)
      return FALSE;
    sqlite3_bind_text (stmt, 1, label, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 2, display_name, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 3, created);
    sqlite3_bind_int64 (stmt, 4, updated);
    if (!db_step_done (stmt, g->db, g->path, what, error))
      return FALSE;
    id = sqlite3_last_insert_rowid (g->db);
  }
  g_clear_pointer (&stmt, sqlite3_finalize);

  stmt = db_prepare (g->db, g->path,
      "INSERT INTO samples (identity_id, embedding, quality, source, created)"
      " VALUES (?1, ?2, ?3, ?4, ?5)", what, error);
  if (!stmt)
    return FALSE;
  unit = g_new (float, g->dim);
  blob = g_new (guint8, (gsize) g->dim * 4);
  for (i = 0; i < n_samples; i++) {
    g_autofree char *source = NULL;

    if (!check_embedding (samples[i].embedding, g->dim, unit, error))
      return FALSE;
    floats_to_le (unit, g->dim, blob);
    if (samples[i].source)
      source = g_utf8_make_valid (samples[i].source, -1);
    sqlite3_reset (stmt);
    sqlite3_bind_int64 (stmt, 1, id);
    sqlite3_bind_blob (stmt, 2, blob, (int) g->dim * 4, SQLITE_STATIC);
    if (samples[i].quality >= 0.0f && isfinite (samples[i].quality))
      sqlite3_bind_double (stmt, 3, samples[i].quality);
    else
      sqlite3_bind_null (stmt, 3);
    sqlite3_bind_text (stmt, 4, source, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 5, sample_created ? sample_created[i] : updated);
    if (!db_step_done (stmt, g->db, g->path, what, error))
      return FALSE;
  }
  if (identity_id)
    *identity_id = id;
  return TRUE;
}

static gboolean
check_enrollment (const FvGalleryEnrollment * e, GError ** error)
{
  if (!check_label (e->label, error))
    return FALSE;
  if (!check_display_name (e->display_name, error))
    return FALSE;
  if (e->n_samples == 0 || e->samples == NULL) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
        "no sample to enrol for \"%s\"", e->label);
    return FALSE;
  }
  return TRUE;
}

/**
 * fv_gallery_enroll_batch:
 * @gallery: a gallery opened for writing
 * @enrollments: (array length=n_enrollments): the identities to enrol
 * @n_enrollments: how many
 * @flags: what to do with labels that are already there
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Enrols several identities in one transaction: either all of them are in
 * the gallery afterwards, or (on error, or if the process dies) none.
 * Every embedding is checked (finite, not zero) and stored normalised.
 *
 * Returns: %TRUE on success
 */
gboolean
fv_gallery_enroll_batch (FvGallery * gallery,
    const FvGalleryEnrollment * enrollments, guint n_enrollments,
    FvGalleryEnrollFlags flags, GError ** error)
{
  const char *what = "enrol";
  gint64 now = now_seconds ();
  guint i;

  g_return_val_if_fail (gallery != NULL, FALSE);
  g_return_val_if_fail (n_enrollments == 0 || enrollments != NULL, FALSE);
  g_return_val_if_fail (flags <= FV_GALLERY_ENROLL_NEW_ONLY, FALSE);

  if (!check_writable_handle (gallery, error))
    return FALSE;
  for (i = 0; i < n_enrollments; i++)
    if (!check_enrollment (&enrollments[i], error))
      return FALSE;

  g_mutex_lock (&gallery->db_lock);
  if (!begin_write (gallery, what, error))
    goto fail;
  for (i = 0; i < n_enrollments; i++) {
    const FvGalleryEnrollment *e = &enrollments[i];

    if (!enroll_in_transaction (gallery, e->label, e->display_name,
            e->samples, e->n_samples, flags, now, now, NULL, NULL, error))
      goto fail;
  }
  if (!commit_write (gallery, what, error))
    goto fail;
  g_mutex_unlock (&gallery->db_lock);
  return TRUE;

fail:
  rollback (gallery);
  g_mutex_unlock (&gallery->db_lock);
  return FALSE;
}

/**
 * fv_gallery_enroll:
 * @gallery: a gallery opened for writing
 * @label: the identity's label
 * @display_name: (nullable): a name to show; with
 *   %FV_GALLERY_ENROLL_APPEND, %NULL keeps the current one
 * @samples: (array length=n_samples): the samples (at least one)
 * @n_samples: how many
 * @flags: what to do if @label is already in the gallery
 * @identity_id: (out) (optional): the identity's database id
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Enrols one identity with its samples in one transaction.
 *
 * Returns: %TRUE on success
 */
gboolean
fv_gallery_enroll (FvGallery * gallery, const char *label,
    const char *display_name, const FvGallerySample * samples,
    guint n_samples, FvGalleryEnrollFlags flags, gint64 * identity_id,
    GError ** error)
{
  const char *what = "enrol";
  FvGalleryEnrollment e = { label, display_name, samples, n_samples };
  gint64 now = now_seconds ();

  g_return_val_if_fail (gallery != NULL, FALSE);
  g_return_val_if_fail (flags <= FV_GALLERY_ENROLL_NEW_ONLY, FALSE);

  if (!check_writable_handle (gallery, error))
    return FALSE;
  if (!check_enrollment (&e, error))
    return FALSE;

  g_mutex_lock (&gallery->db_lock);
  if (!begin_write (gallery, what, error))
    goto fail;
  if (!enroll_in_transaction (gallery, label, display_name, samples,
          n_samples, flags, now, now, NULL, identity_id, error))
    goto fail;
  if (!commit_write (gallery, what, error))
    goto fail;
  g_mutex_unlock (&gallery->db_lock);
  return TRUE;

fail:
  rollback (gallery);
  g_mutex_unlock (&gallery->db_lock);
  return FALSE;
}

/* Runs one UPDATE/DELETE on @label in its own transaction; NOT_FOUND when
 * it touched no row. */
static gboolean
change_identity (FvGallery * g, const char *sql, const char *label,
    const char *arg, const char *what, GError ** error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;
  int rc;

  if (!check_writable_handle (g, error))
    return FALSE;

  g_mutex_lock (&g->db_lock);
  if (!begin_write (g, what, error))
    goto fail;
  stmt = db_prepare (g->db, g->path, sql, what, error);
  if (!stmt)
    goto fail;
  sqlite3_bind_text (stmt, 1, label, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, arg, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, now_seconds ());
  rc = sqlite3_step (stmt);
  if ((rc & 0xff) == SQLITE_CONSTRAINT) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_EXISTS,
        "%s: cannot %s: the label \"%s\" is already in the gallery",
        g->path, what, arg);
    goto fail;
  }
  if (rc != SQLITE_DONE) {
    set_db_error (error, g->db, rc, g->path, what);
    goto fail;
  }
  if (sqlite3_changes (g->db) == 0) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_NOT_FOUND,
        "%s: cannot %s: no identity \"%s\" in the gallery", g->path, what,
        label);
    goto fail;
  }
  g_clear_pointer (&stmt, sqlite3_finalize);
  if (!commit_write (g, what, error))
    goto fail;
  g_mutex_unlock (&g->db_lock);
  return TRUE;

fail:
  g_clear_pointer (&stmt, sqlite3_finalize);
  rollback (g);
  g_mutex_unlock (&g->db_lock);
  return FALSE;
}

/**
 * fv_gallery_remove:
 * @gallery: a gallery opened for writing
 * @label: the identity to remove
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Removes an identity and all its samples, in one transaction.
 * %FV_GALLERY_ERROR_NOT_FOUND if there is no such label.
 *
 * Returns: %TRUE on success
 */
gboolean
fv_gallery_remove (FvGallery * gallery, const char *label, GError ** error)
{
  const char *what = "remove the identity";
  g_autoptr (sqlite3_stmt) stmt = NULL;
  gint64 id;

  g_return_val_if_fail (gallery != NULL, FALSE);
  g_return_val_if_fail (label != NULL, FALSE);

  if (!check_writable_handle (gallery, error))
    return FALSE;

  g_mutex_lock (&gallery->db_lock);
  if (!begin_write (gallery, what, error))
    goto fail;
  id = lookup_identity (gallery, label, what, error);
  if (id < 0)
    goto fail;
  if (id == 0) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_NOT_FOUND,
        "%s: cannot %s: no identity \"%s\" in the gallery", gallery->path,
        what, label);
    goto fail;
  }
  /* The samples go explicitly, whatever the foreign_keys setting. */
  stmt = db_prepare (gallery->db, gallery->path,
      "DELETE FROM samples WHERE identity_id = ?1", what, error);
  if (!stmt)
    goto fail;
  sqlite3_bind_int64 (stmt, 1, id);
  if (!db_step_done (stmt, gallery->db, gallery->path, what, error))
    goto fail;
  g_clear_pointer (&stmt, sqlite3_finalize);
  stmt = db_prepare (gallery->db, gallery->path,
      "DELETE FROM identities WHERE id = ?1", what, error);
  if (!stmt)
    goto fail;
  sqlite3_bind_int64 (stmt, 1, id);
  if (!db_step_done (stmt, gallery->db, gallery->path, what, error))
    goto fail;
  g_clear_pointer (&stmt, sqlite3_finalize);
  if (!commit_write (gallery, what, error))
    goto fail;
  g_mutex_unlock (&gallery->db_lock);
  return TRUE;

fail:
  g_clear_pointer (&stmt, sqlite3_finalize);
  rollback (gallery);
  g_mutex_unlock (&gallery->db_lock);
  return FALSE;
}

/**
 * fv_gallery_rename:
 * @gallery: a gallery opened for writing
 * @label: the identity's label
 * @new_label: its new label
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Changes an identity's label (its id, samples and display name stay).
 * %FV_GALLERY_ERROR_NOT_FOUND if there is no @label,
 * %FV_GALLERY_ERROR_EXISTS if @new_label is taken.
 *
 * Returns: %TRUE on success
 */
gboolean
fv_gallery_rename (FvGallery * gallery, const char *label,
    const char *new_label, GError ** error)
{
  g_return_val_if_fail (gallery != NULL, FALSE);
  g_return_val_if_fail (label != NULL, FALSE);

  if (!check_label (new_label, error))
    return FALSE;
  return change_identity (gallery,
      "UPDATE identities SET label = ?2, updated = ?3 WHERE label = ?1",
      label, new_label, "rename the identity", error);
}

/**
 * fv_gallery_set_display_name:
 * @gallery: a gallery opened for writing
 * @label: the identity's label
 * @display_name: (nullable): the new display name, or %NULL for none
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Returns: %TRUE on success
 */
gboolean
fv_gallery_set_display_name (FvGallery * gallery, const char *label,
    const char *display_name, GError ** error)
{
  g_return_val_if_fail (gallery != NULL, FALSE);
  g_return_val_if_fail (label != NULL, FALSE);

  if (!check_display_name (display_name, error))
    return FALSE;
  return change_identity (gallery,
      "UPDATE identities SET display_name = ?2, updated = ?3 "
      "WHERE label = ?1", label, display_name, "set the display name", error);
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                  */
/* ------------------------------------------------------------------------ */

/**
 * fv_gallery_identity_free:
 * @identity: (transfer full) (nullable): an identity
 */
void
fv_gallery_identity_free (FvGalleryIdentity * identity)
{
  if (identity == NULL)
    return;
  g_free (identity->label);
  g_free (identity->display_name);
  g_free (identity);
}

/**
 * fv_gallery_sample_info_free:
 * @sample: (transfer full) (nullable): a sample
 */
void
fv_gallery_sample_info_free (FvGallerySampleInfo * sample)
{
  if (sample == NULL)
    return;
  g_free (sample->source);
  g_free (sample->embedding);
  g_free (sample);
}

static const char list_sql[] =
    "SELECT i.id, i.label, i.display_name, i.created, i.updated,"
    "  coalesce (c.n, 0)"
    " FROM identities AS i LEFT JOIN"
    "  (SELECT identity_id, count(*) AS n FROM samples GROUP BY identity_id)"
    "  AS c ON c.identity_id = i.id";

static FvGalleryIdentity *
identity_from_row (sqlite3_stmt * stmt)
{
  FvGalleryIdentity *id = g_new0 (FvGalleryIdentity, 1);
  const char *name = (const char *) sqlite3_column_text (stmt, 2);

  id->id = sqlite3_column_int64 (stmt, 0);
  id->label = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
  if (id->label == NULL)
    id->label = g_strdup ("");
  id->display_name = g_strdup (name);
  id->created = sqlite3_column_int64 (stmt, 3);
  id->updated = sqlite3_column_int64 (stmt, 4);
  id->n_samples = (guint) CLAMP (sqlite3_column_int64 (stmt, 5), 0, G_MAXUINT);
  return id;
}

/**
 * fv_gallery_list:
 * @gallery: a gallery
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Lists the identities, sorted by label.
 *
 * Returns: (transfer full) (element-type FvGalleryIdentity) (nullable): the
 *   identities (the array frees them), or %NULL on error
 */
GPtrArray *
fv_gallery_list (FvGallery * gallery, GError ** error)
{
  const char *what = "list the identities";
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (sqlite3_stmt) stmt = NULL;
  g_autofree char *sql = g_strconcat (list_sql, " ORDER BY i.label", NULL);
  int rc;

  g_return_val_if_fail (gallery != NULL, NULL);

  list = g_ptr_array_new_with_free_func ((GDestroyNotify)
      fv_gallery_identity_free);
  g_mutex_lock (&gallery->db_lock);
  stmt = db_prepare (gallery->db, gallery->path, sql, what, error);
  if (!stmt) {
    g_mutex_unlock (&gallery->db_lock);
    return NULL;
  }
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (list, identity_from_row (stmt));
  if (rc != SQLITE_DONE) {
    set_db_error (error, gallery->db, rc, gallery->path, what);
    g_mutex_unlock (&gallery->db_lock);
    return NULL;
  }
  g_mutex_unlock (&gallery->db_lock);
  return g_steal_pointer (&list);
}

/**
 * fv_gallery_get_identity:
 * @gallery: a gallery
 * @label: a label
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Returns: (transfer full) (nullable): the identity, or %NULL with
 *   %FV_GALLERY_ERROR_NOT_FOUND if there is no such label (or another
 *   error)
 */
FvGalleryIdentity *
fv_gallery_get_identity (FvGallery * gallery, const char *label,
    GError ** error)
{
  const char *what = "read the identity";
  g_autoptr (sqlite3_stmt) stmt = NULL;
  g_autofree char *sql = g_strconcat (list_sql, " WHERE i.label = ?1", NULL);
  FvGalleryIdentity *result = NULL;
  int rc;

  g_return_val_if_fail (gallery != NULL, NULL);
  g_return_val_if_fail (label != NULL, NULL);

  g_mutex_lock (&gallery->db_lock);
  stmt = db_prepare (gallery->db, gallery->path, sql, what, error);
  if (stmt) {
    sqlite3_bind_text (stmt, 1, label, -1, SQLITE_STATIC);
    rc = sqlite3_step (stmt);
    if (rc == SQLITE_ROW)
      result = identity_from_row (stmt);
    else if (rc == SQLITE_DONE)
      g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_NOT_FOUND,
          "%s: no identity \"%s\" in the gallery", gallery->path, label);
    else
      set_db_error (error, gallery->db, rc, gallery->path, what);
  }
  g_mutex_unlock (&gallery->db_lock);
  return result;
}

/**
 * fv_gallery_get_samples:
 * @gallery: a gallery
 * @label: a label
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Reads an identity's samples, oldest first.
 *
 * Returns: (transfer full) (element-type FvGallerySampleInfo) (nullable):
 *   the samples (the array frees them), or %NULL with
 *   %FV_GALLERY_ERROR_NOT_FOUND if there is no such label (or another
 *   error)
 */
GPtrArray *
fv_gallery_get_samples (FvGallery * gallery, const char *label, GError ** error)
{
  const char *what = "read the samples";
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (sqlite3_stmt) stmt = NULL;
  gint64 id;
  int rc;

  g_return_val_if_fail (gallery != NULL, NULL);
  g_return_val_if_fail (label != NULL, NULL);

  list = g_ptr_array_new_with_free_func ((GDestroyNotify)
      fv_gallery_sample_info_free);
  g_mutex_lock (&gallery->db_lock);
  if (!db_exec (gallery->db, gallery->path, "BEGIN", what, error))
    goto fail;
  id = lookup_identity (gallery, label, what, error);
  if (id < 0)
    goto fail;
  if (id == 0) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_NOT_FOUND,
        "%s: no identity \"%s\" in the gallery", gallery->path, label);
    goto fail;
  }
  stmt = db_prepare (gallery->db, gallery->path,
      "SELECT id, quality, source, created, embedding FROM samples "
      "WHERE identity_id = ?1 ORDER BY id", what, error);
  if (!stmt)
    goto fail;
  sqlite3_bind_int64 (stmt, 1, id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    FvGallerySampleInfo *s = g_new0 (FvGallerySampleInfo, 1);

    g_ptr_array_add (list, s);
    s->id = sqlite3_column_int64 (stmt, 0);
    s->quality = sqlite3_column_type (stmt, 1) == SQLITE_NULL ? -1.0f
        : (float) sqlite3_column_double (stmt, 1);
    s->source = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
    s->created = sqlite3_column_int64 (stmt, 3);
    s->embedding = g_new (float, gallery->dim);
    if (!blob_to_unit_floats (sqlite3_column_blob (stmt, 4),
            sqlite3_column_bytes (stmt, 4), gallery->dim, s->embedding)) {
      g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_CORRUPT,
          "%s: the gallery file is damaged: sample %" G_GINT64_FORMAT
          " is not a valid %u-dimensional embedding", gallery->path, s->id,
          gallery->dim);
      goto fail;
    }
  }
  if (rc != SQLITE_DONE) {
    set_db_error (error, gallery->db, rc, gallery->path, what);
    goto fail;
  }
  g_clear_pointer (&stmt, sqlite3_finalize);
  sqlite3_exec (gallery->db, "COMMIT", NULL, NULL, NULL);
  g_mutex_unlock (&gallery->db_lock);
  return g_steal_pointer (&list);

fail:
  g_clear_pointer (&stmt, sqlite3_finalize);
  rollback (gallery);
  g_mutex_unlock (&gallery->db_lock);
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* JSON export and import                                                   */
/* ------------------------------------------------------------------------ */

static void
json_append_string (GString * out, const char *s)
{
  const char *p;

  if (s == NULL) {
    g_string_append (out, "null");
    return;
  }
  g_string_append_c (out, '"');
  for (p = s; *p; p++) {
    guchar c = (guchar) * p;

    switch (c) {
      case '"':
        g_string_append (out, "\\\"");
        break;
      case '\\':
        g_string_append (out, "\\\\");
        break;
      case '\n':
        g_string_append (out, "\\n");
        break;
      case '\r':
        g_string_append (out, "\\r");
        break;
      case '\t':
        g_string_append (out, "\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7f)
          g_string_append_printf (out, "\\u%04x", c);
        else
          g_string_append_c (out, (char) c);
        break;
    }
  }
  g_string_append_c (out, '"');
}

static void
json_append_time (GString * out, gint64 t)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (t);
  g_autofree char *s = dt ? g_date_time_format_iso8601 (dt) : NULL;

  json_append_string (out, s ? s : "1970-01-01T00:00:00Z");
}

static void
json_append_float (GString * out, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  /* Nine significant digits bring a float32 back exactly. */
  g_string_append (out, g_ascii_formatd (buf, sizeof buf, "%.9g", v));
}

/**
 * fv_gallery_export_json:
 * @gallery: a gallery
 * @length: (out) (optional): the length of the text
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Writes the whole gallery as JSON, read in one transaction:
 *
 * |[
 * { "format": "gst-faceverify-gallery-export", "version": 1,
 *   "model_sha256": "d8ba…", "dim": 192, "metric": "cosine",
 *   "identities": [
 *     { "label": "alice", "display_name": "Alice", "created": "2024-…Z",
 *       "updated": "2024-…Z",
 *       "samples": [ { "quality": 0.99, "source": "alice1.jpg",
 *                      "created": "2024-…Z", "embedding": [0.01, …] } ] } ] }
 * ]|
 *
 * Times are ISO 8601 in UTC, embeddings L2-normalised with nine
 * significant digits (float32 values come back exactly), identities sorted
 * by label. `quality`, `source` and `display_name` may be null.
 *
 * Returns: (transfer full) (nullable): the JSON text, or %NULL on error
 */
char *
fv_gallery_export_json (FvGallery * gallery, gsize * length, GError ** error)
{
  const char *what = "export the gallery";
  g_autoptr (sqlite3_stmt) stmt = NULL;
  g_autoptr (GString) out = NULL;
  g_autofree float *unit = NULL;
  gboolean first_identity = TRUE, first_sample = TRUE;
  gint64 current = G_MININT64;
  int rc;
  guint k;

  g_return_val_if_fail (gallery != NULL, NULL);

  out = g_string_new ("{\n  \"format\": \"" JSON_FORMAT "\",\n  \"version\": "
      G_STRINGIFY (JSON_VERSION) ",\n  \"model_sha256\": ");
  json_append_string (out, gallery->fingerprint);
  g_string_append_printf (out, ",\n  \"dim\": %u,\n  \"metric\": ",
      gallery->dim);
  json_append_string (out, gallery->metric);
  g_string_append (out, ",\n  \"identities\": [");
  unit = g_new (float, gallery->dim);

  g_mutex_lock (&gallery->db_lock);
  stmt = db_prepare (gallery->db, gallery->path,
      "SELECT i.id, i.label, i.display_name, i.created, i.updated,"
      "  s.id, s.quality, s.source, s.created, s.embedding"
      " FROM identities AS i LEFT JOIN samples AS s ON s.identity_id = i.id"
      " ORDER BY i.label, s.id", what, error);
  if (!stmt)
    goto fail;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    gint64 id = sqlite3_column_int64 (stmt, 0);

    if (id != current) {
      if (!first_identity)
        g_string_append (out, "\n      ]\n    },");
      first_identity = FALSE;
      first_sample = TRUE;
      current = id;
      g_string_append (out, "\n    {\n      \"label\": ");
      json_append_string (out, (const char *) sqlite3_column_text (stmt, 1));
      g_string_append (out, ",\n      \"display_name\": ");
      json_append_string (out, (const char *) sqlite3_column_text (stmt, 2));
      g_string_append (out, ",\n      \"created\": ");
      json_append_time (out, sqlite3_column_int64 (stmt, 3));
      g_string_append (out, ",\n      \"updated\": ");
      json_append_time (out, sqlite3_column_int64 (stmt, 4));
      g_string_append (out, ",\n      \"samples\": [");
    }
    if (sqlite3_column_type (stmt, 5) == SQLITE_NULL)
      continue;
    if (!blob_to_unit_floats (sqlite3_column_blob (stmt, 9),
            sqlite3_column_bytes (stmt, 9), gallery->dim, unit)) {
      g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_CORRUPT,
          "%s: the gallery file is damaged: sample %" G_GINT64_FORMAT
          " is not a valid %u-dimensional embedding", gallery->path,
          (gint64) sqlite3_column_int64 (stmt, 5), gallery->dim);
      goto fail;
    }
    g_string_append (out, first_sample ? "\n        " : ",\n        ");
    first_sample = FALSE;
    g_string_append (out, "{\"quality\": ");
    if (sqlite3_column_type (stmt, 6) == SQLITE_NULL)
      g_string_append (out, "null");
    else
      json_append_float (out, sqlite3_column_double (stmt, 6));
    g_string_append (out, ", \"source\": ");
    json_append_string (out, (const char *) sqlite3_column_text (stmt, 7));
    g_string_append (out, ", \"created\": ");
    json_append_time (out, sqlite3_column_int64 (stmt, 8));
    g_string_append (out, ", \"embedding\": [");
    for (k = 0; k < gallery->dim; k++) {
      if (k)
        g_string_append_c (out, ',');
      json_append_float (out, unit[k]);
    }
    g_string_append (out, "]}");
  }
  if (rc != SQLITE_DONE) {
    set_db_error (error, gallery->db, rc, gallery->path, what);
    goto fail;
  }
  g_clear_pointer (&stmt, sqlite3_finalize);
  g_mutex_unlock (&gallery->db_lock);

  if (!first_identity)
    g_string_append (out, "\n      ]\n    }\n  ");
  g_string_append (out, "]\n}\n");
  if (length)
    *length = out->len;
  return g_string_free (g_steal_pointer (&out), FALSE);

fail:
  g_clear_pointer (&stmt, sqlite3_finalize);
  g_mutex_unlock (&gallery->db_lock);
  return NULL;
}

typedef struct
{
  char *label;
  char *display_name;
  gint64 created;
  gint64 updated;
  GArray *embeddings;           /* float, dim per sample */
  GArray *quality;              /* float */
  GPtrArray *sources;           /* char * or NULL */
  GArray *sample_created;       /* gint64 */
} ImportIdentity;

static void
import_identity_free (ImportIdentity * ii)
{
  g_free (ii->label);
  g_free (ii->display_name);
  g_array_unref (ii->embeddings);
  g_array_unref (ii->quality);
  g_ptr_array_unref (ii->sources);
  g_array_unref (ii->sample_created);
  g_free (ii);
}

/* A time from the JSON: an ISO 8601 string or seconds since the epoch. */
static gboolean
column_time (sqlite3_stmt * stmt, int col, gint64 fallback, gint64 * t)
{
  int type = sqlite3_column_type (stmt, col);

  if (type == SQLITE_NULL) {
    *t = fallback;
    return TRUE;
  }
  if (type == SQLITE_INTEGER) {
    *t = sqlite3_column_int64 (stmt, col);
    return TRUE;
  }
  if (type == SQLITE_TEXT) {
    g_autoptr (GDateTime) dt = g_date_time_new_from_iso8601 ((const char *)
        sqlite3_column_text (stmt, col), NULL);

    if (dt) {
      *t = g_date_time_to_unix (dt);
      return TRUE;
    }
  }
  return FALSE;
}

/* Parses "[x,y,…]" with exactly @dim numbers into @out. */
static gboolean
parse_vector (const char *text, guint dim, float *out)
{
  const char *p = text;
  guint n = 0;

  if (p == NULL)
    return FALSE;
  while (g_ascii_isspace (*p))
    p++;
  if (*p++ != '[')
    return FALSE;
  for (;;) {
    char *end;
    double v;

    while (g_ascii_isspace (*p))
      p++;
    v = g_ascii_strtod (p, &end);
    if (end == p || n >= dim || !isfinite (v))
      return FALSE;
    out[n++] = (float) v;
    p = end;
    while (g_ascii_isspace (*p))
      p++;
    if (*p == ']')
      break;
    if (*p++ != ',')
      return FALSE;
  }
  return n == dim;
}

static gboolean
json_error (GError ** error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
json_error (GError ** error, const char *format, ...)
{
  va_list args;
  g_autofree char *msg = NULL;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
      "cannot import: %s", msg);
  return FALSE;
}

/* Parses the export format into @out (ImportIdentity *), with the
 * connection's JSON functions. Runs under db_lock. */
static gboolean
parse_import (FvGallery * g, const char *json, gsize length, GPtrArray * out,
    GError ** error)
{
  const char *what = "read the JSON";
  g_autoptr (sqlite3_stmt) stmt = NULL;
  gint64 now = now_seconds (), current = -1;
  ImportIdentity *ii = NULL;
  const char *format, *fp, *metric, *type;
  gint64 version, dim;
  int rc;

  if (length > (gsize) G_MAXINT32 / 2)
    return json_error (error, "the JSON text is too large (%" G_GSIZE_FORMAT
        " bytes)", length);

  stmt = db_prepare (g->db, g->path,
      "SELECT json_valid (?1), json_extract (?1, '$.format'),"
      " json_extract (?1, '$.version'), json_extract (?1, '$.model_sha256'),"
      " json_extract (?1, '$.dim'), json_extract (?1, '$.metric'),"
      " json_type (?1, '$.identities')", what, error);
  if (!stmt)
    return FALSE;
  sqlite3_bind_text (stmt, 1, json, (int) length, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW || sqlite3_column_int (stmt, 0) != 1)
    return json_error (error, "not well-formed JSON");
  format = (const char *) sqlite3_column_text (stmt, 1);
  version = sqlite3_column_int64 (stmt, 2);
  fp = (const char *) sqlite3_column_text (stmt, 3);
  dim = sqlite3_column_int64 (stmt, 4);
  metric = (const char *) sqlite3_column_text (stmt, 5);
  type = (const char *) sqlite3_column_text (stmt, 6);
  if (g_strcmp0 (format, JSON_FORMAT) != 0)
    return json_error (error, "not a gst-faceverify gallery export (\"format\""
        " is not \"" JSON_FORMAT "\")");
  if (version != JSON_VERSION)
    return json_error (error, "export format version %" G_GINT64_FORMAT
        " is not supported (this gst-faceverify reads version %d)", version,
        JSON_VERSION);
  if (fp == NULL || g_ascii_strcasecmp (fp, g->fingerprint) != 0) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_MODEL_MISMATCH,
        "cannot import: the export was made with another model (SHA-256 "
        "%.16s…) than the gallery %s (%.16s…)", fp ? fp : "none", g->path,
        g->fingerprint);
    return FALSE;
  }
  if (g_strcmp0 (metric, g->metric) != 0) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_MODEL_MISMATCH,
        "cannot import: the export uses the metric \"%s\", the gallery %s "
        "\"%s\"", metric ? metric : "none", g->path, g->metric);
    return FALSE;
  }
  if (dim != (gint64) g->dim) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_DIM_MISMATCH,
        "cannot import: the export holds %" G_GINT64_FORMAT "-dimensional "
        "embeddings, the gallery %s %u-dimensional ones", dim, g->path, g->dim);
    return FALSE;
  }
  if (g_strcmp0 (type, "array") != 0)
    return json_error (error, "\"identities\" is not an array");
  g_clear_pointer (&stmt, sqlite3_finalize);

  stmt = db_prepare (g->db, g->path,
      "SELECT i.key, json_type (i.value),"
      "  json_extract (i.value, '$.label'),"
      "  json_extract (i.value, '$.display_name'),"
      "  json_extract (i.value, '$.created'),"
      "  json_extract (i.value, '$.updated'),"
      "  json_type (i.value, '$.samples'),"
      "  s.key, json_type (s.value),"
      "  json_extract (s.value, '$.embedding'),"
      "  json_extract (s.value, '$.quality'),"
      "  json_extract (s.value, '$.source'),"
      "  json_extract (s.value, '$.created')"
      " FROM json_each (?1, '$.identities') AS i"
      " LEFT JOIN json_each (CASE json_type (i.value) WHEN 'object'"
      "   THEN i.value ELSE '{}' END, '$.samples') AS s", what, error);
  if (!stmt)
    return FALSE;
  sqlite3_bind_text (stmt, 1, json, (int) length, SQLITE_STATIC);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    gint64 key = sqlite3_column_int64 (stmt, 0);
    float quality = -1.0f;
    gint64 t;
    const char *source;

    if (key != current) {
      const char *label = (const char *) sqlite3_column_text (stmt, 2);
      const char *name = (const char *) sqlite3_column_text (stmt, 3);

      current = key;
      if (g_strcmp0 ((const char *) sqlite3_column_text (stmt, 1),
              "object") != 0)
        return json_error (error, "identity %" G_GINT64_FORMAT " is not an "
            "object", key);
      if (label == NULL || sqlite3_column_type (stmt, 2) != SQLITE_TEXT)
        return json_error (error, "identity %" G_GINT64_FORMAT " has no "
            "label", key);
      if (g_strcmp0 ((const char *) sqlite3_column_text (stmt, 6),
              "array") != 0)
        return json_error (error, "identity \"%s\" has no \"samples\" array",
            label);
      ii = g_new0 (ImportIdentity, 1);
      g_ptr_array_add (out, ii);
      ii->label = g_strdup (label);
      ii->display_name = g_strdup (name);
      ii->embeddings = g_array_new (FALSE, FALSE, sizeof (float));
      ii->quality = g_array_new (FALSE, FALSE, sizeof (float));
      ii->sources = g_ptr_array_new_with_free_func (g_free);
      ii->sample_created = g_array_new (FALSE, FALSE, sizeof (gint64));
      if (!column_time (stmt, 4, now, &ii->created)
          || !column_time (stmt, 5, ii->created, &ii->updated))
        return json_error (error, "identity \"%s\" has an invalid time", label);
    }
    if (sqlite3_column_type (stmt, 7) == SQLITE_NULL)
      continue;                 /* no samples: reported by the enrolment */
    if (g_strcmp0 ((const char *) sqlite3_column_text (stmt, 8), "object") != 0)
      return json_error (error, "a sample of \"%s\" is not an object",
          ii->label);
    g_array_set_size (ii->embeddings, ii->embeddings->len + g->dim);
    if (!parse_vector ((const char *) sqlite3_column_text (stmt, 9), g->dim,
            &g_array_index (ii->embeddings, float,
                ii->embeddings->len - g->dim)))
        return json_error (error, "a sample of \"%s\" has no embedding of %u "
          "finite numbers", ii->label, g->dim);
    if (sqlite3_column_type (stmt, 10) == SQLITE_INTEGER
        || sqlite3_column_type (stmt, 10) == SQLITE_FLOAT)
      quality = (float) sqlite3_column_double (stmt, 10);
    else if (sqlite3_column_type (stmt, 10) != SQLITE_NULL)
      return json_error (error, "a sample of \"%s\" has a quality that is not"
          " a number", ii->label);
    g_array_append_val (ii->quality, quality);
    source = (const char *) sqlite3_column_text (stmt, 11);
    g_ptr_array_add (ii->sources, g_strdup (source));
    if (!column_time (stmt, 12, ii->updated, &t))
      return json_error (error, "a sample of \"%s\" has an invalid time",
          ii->label);
    g_array_append_val (ii->sample_created, t);
  }
  if (rc != SQLITE_DONE) {
    if ((rc & 0xff) == SQLITE_ERROR || (rc & 0xff) == SQLITE_TOOBIG)
      return json_error (error, "%s", sqlite3_errmsg (g->db));
    set_db_error (error, g->db, rc, g->path, what);
    return FALSE;
  }
  return TRUE;
}

/**
 * fv_gallery_json_get_model:
 * @json: (array length=length): text written by fv_gallery_export_json()
 * @length: its length, or -1 if it is nul-terminated
 * @model_fingerprint: (out) (transfer full): the model's SHA-256
 * @dim: (out): the embedding dimension
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Reads which model and dimension an export was made with, e.g. to create
 * the gallery it is imported into.
 *
 * Returns: %TRUE on success, %FALSE with %FV_GALLERY_ERROR_INVALID if the
 *   text is not such an export
 */
gboolean
fv_gallery_json_get_model (const char *json, gssize length,
    char **model_fingerprint, guint * dim, GError ** error)
{
  sqlite3 *db = NULL;
  g_autoptr (sqlite3_stmt) stmt = NULL;
  const char *format, *fp;
  gint64 d;
  gboolean ok = FALSE;

  g_return_val_if_fail (json != NULL, FALSE);
  g_return_val_if_fail (model_fingerprint != NULL && dim != NULL, FALSE);

  if (length < 0)
    length = (gssize) strlen (json);
  if ((gsize) length > (gsize) G_MAXINT32 / 2)
    return json_error (error, "the JSON text is too large (%" G_GSSIZE_FORMAT
        " bytes)", length);
  if (sqlite3_open_v2 (":memory:", &db, SQLITE_OPEN_READWRITE, NULL)
      != SQLITE_OK) {
    set_db_error (error, db, SQLITE_CANTOPEN, "(memory)", "read the JSON");
    sqlite3_close_v2 (db);
    return FALSE;
  }
  if (sqlite3_prepare_v2 (db, "SELECT json_valid (?1),"
          " json_extract (?1, '$.format'),"
          " json_extract (?1, '$.model_sha256'),"
          " json_extract (?1, '$.dim')", -1, &stmt, NULL) != SQLITE_OK) {
    set_db_error (error, db, SQLITE_ERROR, "(memory)", "read the JSON");
    goto out;
  }
  sqlite3_bind_text (stmt, 1, json, (int) length, SQLITE_STATIC);
  if (sqlite3_step (stmt) != SQLITE_ROW || sqlite3_column_int (stmt, 0) != 1) {
    json_error (error, "not well-formed JSON");
    goto out;
  }
  format = (const char *) sqlite3_column_text (stmt, 1);
  fp = (const char *) sqlite3_column_text (stmt, 2);
  d = sqlite3_column_int64 (stmt, 3);
  if (g_strcmp0 (format, JSON_FORMAT) != 0) {
    json_error (error, "not a gst-faceverify gallery export (\"format\" is "
        "not \"" JSON_FORMAT "\")");
    goto out;
  }
  if (fp == NULL || *fp == '\0' || d <= 0 || d > MAX_DIM) {
    json_error (error, "the export names no model or dimension");
    goto out;
  }
  *model_fingerprint = g_strdup (fp);
  *dim = (guint) d;
  ok = TRUE;

out:
  g_clear_pointer (&stmt, sqlite3_finalize);
  sqlite3_close_v2 (db);
  return ok;
}

/**
 * fv_gallery_import_json:
 * @gallery: a gallery opened for writing
 * @json: (array length=length): text written by fv_gallery_export_json()
 * @length: its length, or -1 if it is nul-terminated
 * @flags: what to do with labels that are already in the gallery
 *   (%FV_GALLERY_ENROLL_NEW_ONLY: the import fails and changes nothing)
 * @n_identities: (out) (optional): how many identities were imported
 * @n_samples: (out) (optional): how many samples
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Adds the identities of an export to the gallery, in one transaction,
 * keeping their times. The export must be of the gallery's model,
 * dimension and metric (%FV_GALLERY_ERROR_MODEL_MISMATCH,
 * %FV_GALLERY_ERROR_DIM_MISMATCH); malformed text is
 * %FV_GALLERY_ERROR_INVALID.
 *
 * Returns: %TRUE on success
 */
gboolean
fv_gallery_import_json (FvGallery * gallery, const char *json,
    gssize length, FvGalleryEnrollFlags flags, guint * n_identities,
    guint * n_samples, GError ** error)
{
  const char *what = "import";
  g_autoptr (GPtrArray) items = NULL;
  guint i, total = 0;

  g_return_val_if_fail (gallery != NULL, FALSE);
  g_return_val_if_fail (json != NULL, FALSE);
  g_return_val_if_fail (flags <= FV_GALLERY_ENROLL_NEW_ONLY, FALSE);

  if (!check_writable_handle (gallery, error))
    return FALSE;
  if (length < 0)
    length = (gssize) strlen (json);

  items = g_ptr_array_new_with_free_func ((GDestroyNotify)
      import_identity_free);
  g_mutex_lock (&gallery->db_lock);
  if (!parse_import (gallery, json, (gsize) length, items, error))
    goto fail;
  for (i = 0; i < items->len; i++) {
    ImportIdentity *ii = items->pdata[i];

    if (!check_label (ii->label, error)
        || !check_display_name (ii->display_name, error))
      goto fail;
    if (ii->quality->len == 0) {
      g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_INVALID,
          "cannot import: identity \"%s\" has no samples", ii->label);
      goto fail;
    }
  }

  if (!begin_write (gallery, what, error))
    goto fail;
  for (i = 0; i < items->len; i++) {
    ImportIdentity *ii = items->pdata[i];
    g_autofree FvGallerySample *samples = g_new0 (FvGallerySample,
        ii->quality->len);
    guint k;

    for (k = 0; k < ii->quality->len; k++) {
      samples[k].embedding = &g_array_index (ii->embeddings, float,
          (gsize) k * gallery->dim);
      samples[k].quality = g_array_index (ii->quality, float, k);
      samples[k].source = ii->sources->pdata[k];
    }
    if (!enroll_in_transaction (gallery, ii->label, ii->display_name,
            samples, ii->quality->len, flags, ii->created, ii->updated,
            (const gint64 *) ii->sample_created->data, NULL, error))
      goto fail;
    total += ii->quality->len;
  }
  if (!commit_write (gallery, what, error))
    goto fail;
  g_mutex_unlock (&gallery->db_lock);
  if (n_identities)
    *n_identities = items->len;
  if (n_samples)
    *n_samples = total;
  return TRUE;

fail:
  rollback (gallery);
  g_mutex_unlock (&gallery->db_lock);
  return FALSE;
}

/* ------------------------------------------------------------------------ */
/* Snapshots and reloading                                                  */
/* ------------------------------------------------------------------------ */

static int
compare_i64 (const void *a, const void *b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

/* Reads the whole gallery into a new snapshot, in one read transaction.
 * Runs under db_lock. */
static FvGallerySnapshot *
load_snapshot (FvGallery * g, GError ** error)
{
  const char *what = "load the gallery";
  g_autoptr (sqlite3_stmt) stmt = NULL;
  g_autoptr (GArray) ids = NULL;
  g_autoptr (GArray) counts = NULL;
  g_autoptr (GPtrArray) labels = NULL;
  g_autoptr (GPtrArray) names = NULL;
  g_autoptr (GArray) all_ids = NULL;
  g_autoptr (GPtrArray) all_labels = NULL;
  g_autoptr (GPtrArray) all_names = NULL;
  g_autofree guint *all_counts = NULL;
  g_autofree guint *offsets = NULL;
  g_autofree guint *filled = NULL;
  FvGallerySnapshot *snap = NULL;
  guint64 total = 0, generation = 0;
  guint i;
  int rc;

  if (!db_exec (g->db, g->path, "BEGIN", what, error))
    return NULL;

  stmt = db_prepare (g->db, g->path,
      "SELECT value FROM meta WHERE key = 'generation'", what, error);
  if (!stmt)
    goto fail;
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    generation = (guint64) sqlite3_column_int64 (stmt, 0);
  else if (rc != SQLITE_DONE) {
    set_db_error (error, g->db, rc, g->path, what);
    goto fail;
  }
  g_clear_pointer (&stmt, sqlite3_finalize);

  /* Every identity, by id (the table's own order). */
  all_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  all_labels = g_ptr_array_new_with_free_func (g_free);
  all_names = g_ptr_array_new_with_free_func (g_free);
  stmt = db_prepare (g->db, g->path,
      "SELECT id, label, display_name FROM identities ORDER BY id", what,
      error);
  if (!stmt)
    goto fail;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    gint64 id = sqlite3_column_int64 (stmt, 0);

    g_array_append_val (all_ids, id);
    g_ptr_array_add (all_labels, g_strdup ((const char *)
            sqlite3_column_text (stmt, 1)));
    g_ptr_array_add (all_names, g_strdup ((const char *)
            sqlite3_column_text (stmt, 2)));
  }
  if (rc != SQLITE_DONE) {
    set_db_error (error, g->db, rc, g->path, what);
    goto fail;
  }
  g_clear_pointer (&stmt, sqlite3_finalize);

  /* Samples per identity, counted from the index alone (a GROUP BY joined
   * to the identities costs SQLite a temporary table and a sort). */
  all_counts = g_new0 (guint, MAX (all_ids->len, 1));
  stmt = db_prepare (g->db, g->path,
      "SELECT identity_id FROM samples ORDER BY identity_id", what, error);
  if (!stmt)
    goto fail;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    gint64 id = sqlite3_column_int64 (stmt, 0);
    const gint64 *found = bsearch (&id, all_ids->data, all_ids->len,
        sizeof (gint64), compare_i64);

    if (found == NULL)
      continue;                 /* an orphan: not reachable by any label */
    if (total >= G_MAXUINT32 - 1) {
      g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_CORRUPT,
          "%s: cannot %s: too many samples", g->path, what);
      goto fail;
    }
    all_counts[found - (const gint64 *) all_ids->data]++;
    total++;
  }
  if (rc != SQLITE_DONE) {
    set_db_error (error, g->db, rc, g->path, what);
    goto fail;
  }
  g_clear_pointer (&stmt, sqlite3_finalize);

  /* The identities that have samples. */
  ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  counts = g_array_new (FALSE, FALSE, sizeof (guint));
  labels = g_ptr_array_new ();
  names = g_ptr_array_new ();
  for (i = 0; i < all_ids->len; i++) {
    if (all_counts[i] == 0)
      continue;
    g_array_append_val (ids, g_array_index (all_ids, gint64, i));
    g_array_append_val (counts, all_counts[i]);
    g_ptr_array_add (labels, all_labels->pdata[i]);
    g_ptr_array_add (names, all_names->pdata[i]);
  }

  snap = fv_gallery_snapshot_alloc (g->dim, ids->len, (guint) total);
  snap->generation = generation;
  offsets = g_new0 (guint, ids->len + 1);
  filled = g_new0 (guint, MAX (ids->len, 1));
  for (i = 0; i < ids->len; i++) {
    const char *label = labels->pdata[i];

    snap->identity_ids[i] = g_array_index (ids, gint64, i);
    snap->labels[i] = g_string_chunk_insert (snap->strings, label ? label : "");
    snap->display_names[i] = names->pdata[i]
        ? g_string_chunk_insert (snap->strings, names->pdata[i]) : NULL;
    offsets[i + 1] = offsets[i] + g_array_index (counts, guint, i);
  }

  /* The samples in file order, each placed in its identity's rows. */
  stmt = db_prepare (g->db, g->path,
      "SELECT identity_id, embedding, id FROM samples", what, error);
  if (!stmt)
    goto fail;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    gint64 id = sqlite3_column_int64 (stmt, 0);
    const gint64 *found = bsearch (&id, ids->data, ids->len, sizeof (gint64),
        compare_i64);
    guint idx, row;

    if (found == NULL)
      continue;                 /* an orphan: not reachable by any label */
    idx = (guint) (found - (const gint64 *) ids->data);
    if (offsets[idx] + filled[idx] >= offsets[idx + 1]) {
      g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_CORRUPT,
          "%s: the gallery file is damaged: its sample index disagrees with "
          "its samples", g->path);
      goto fail;
    }
    row = offsets[idx] + filled[idx]++;
    snap->row_identity[row] = idx;
    if (!blob_to_unit_floats (sqlite3_column_blob (stmt, 1),
            sqlite3_column_bytes (stmt, 1), g->dim,
            snap->matrix + (gsize) row * snap->stride)) {
      g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_CORRUPT,
          "%s: the gallery file is damaged: sample %" G_GINT64_FORMAT
          " is not a valid %u-dimensional embedding", g->path,
          (gint64) sqlite3_column_int64 (stmt, 2), g->dim);
      goto fail;
    }
  }
  if (rc != SQLITE_DONE) {
    set_db_error (error, g->db, rc, g->path, what);
    goto fail;
  }
  g_clear_pointer (&stmt, sqlite3_finalize);
  for (i = 0; i < ids->len; i++) {
    if (offsets[i] + filled[i] != offsets[i + 1]) {
      g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_CORRUPT,
          "%s: the gallery file is damaged: its sample index disagrees with "
          "its samples", g->path);
      goto fail;
    }
  }
  sqlite3_exec (g->db, "COMMIT", NULL, NULL, NULL);
  return snap;

fail:
  g_clear_pointer (&stmt, sqlite3_finalize);
  if (snap)
    fv_gallery_snapshot_unref (snap);
  rollback (g);
  return NULL;
}

/* PRAGMA data_version with a statement prepared once, so that the check
 * allocates nothing. Runs under db_lock. */
static gboolean
read_data_version (FvGallery * g, gint64 * version, GError ** error)
{
  int rc;

  if (g->version_stmt == NULL) {
    g->version_stmt = db_prepare (g->db, g->path, "PRAGMA data_version",
        "check the gallery for changes", error);
    if (g->version_stmt == NULL)
      return FALSE;
  }
  rc = sqlite3_step (g->version_stmt);
  if (rc == SQLITE_ROW)
    *version = sqlite3_column_int64 (g->version_stmt, 0);
  sqlite3_reset (g->version_stmt);
  if (rc != SQLITE_ROW) {
    set_db_error (error, g->db, rc, g->path, "check the gallery for changes");
    return FALSE;
  }
  return TRUE;
}

/* Whether the path now names another file than the one that is open. */
static gboolean
file_replaced (FvGallery * g)
{
  GStatBuf st;

  if (g_stat (g->path, &st) != 0)
    return FALSE;
  return st.st_dev != g->dev || st.st_ino != g->ino;
}

/**
 * fv_gallery_reload:
 * @gallery: a gallery
 * @error: return location for a %FV_GALLERY_ERROR
 *
 * Loads all identities and samples into a new #FvGallerySnapshot, in one
 * read transaction, and makes it the one fv_gallery_get_snapshot() returns.
 * Threads that match keep using the snapshot they hold and are never
 * blocked. If the path now names another file (the gallery was replaced
 * by a copy), that file is opened and checked as by fv_gallery_open() with
 * the same model and dimension. On error the current snapshot stays.
 *
 * Returns: %TRUE on success
 */
gboolean
fv_gallery_reload (FvGallery * gallery, GError ** error)
{
  FvGallerySnapshot *snap, *old;
  gint64 data_version = -1;
  guint64 local_changes;

  g_return_val_if_fail (gallery != NULL, FALSE);

  g_mutex_lock (&gallery->db_lock);
  if (file_replaced (gallery)) {
    DbState s;

    if (!open_db (gallery->path, gallery->read_only ?
            FV_GALLERY_OPEN_READ_ONLY : FV_GALLERY_OPEN_READ_WRITE,
            gallery->fingerprint, gallery->dim, &s, error)) {
      g_mutex_unlock (&gallery->db_lock);
      return FALSE;
    }
    g_clear_pointer (&gallery->version_stmt, sqlite3_finalize);
    sqlite3_close_v2 (gallery->db);
    g_free (gallery->metric);
    g_free (s.fingerprint);
    gallery->db = s.db;
    gallery->immutable = s.immutable;
    gallery->metric = s.metric;
    gallery->schema_version = s.schema_version;
    gallery->dev = s.dev;
    gallery->ino = s.ino;
    gallery->mtime_ns = s.mtime_ns;
    gallery->size = s.size;
  }
  /* Read before loading: a commit in between makes the next check report
   * a change, never hide one. */
  if (!read_data_version (gallery, &data_version, error)) {
    g_mutex_unlock (&gallery->db_lock);
    return FALSE;
  }
  local_changes = gallery->local_changes;
  if (gallery->immutable) {
    DbState s = { 0 };

    if (record_stat (&s, gallery->path)) {
      gallery->mtime_ns = s.mtime_ns;
      gallery->size = s.size;
    }
  }
  snap = load_snapshot (gallery, error);
  if (snap) {
    gallery->data_version = data_version;
    gallery->loaded_local_changes = local_changes;
  }
  g_mutex_unlock (&gallery->db_lock);
  if (!snap)
    return FALSE;

  g_mutex_lock (&gallery->snap_lock);
  old = gallery->snapshot;
  gallery->snapshot = snap;
  g_mutex_unlock (&gallery->snap_lock);
  if (old)
    fv_gallery_snapshot_unref (old);
  return TRUE;
}

/**
 * fv_gallery_needs_reload:
 * @gallery: a gallery
 *
 * A cheap check (a `PRAGMA data_version` and a stat(), no reading of the
 * data) whether the gallery file changed since the last fv_gallery_reload()
 * — through this handle, another handle or another process — or was
 * replaced by another file. Also %TRUE when nothing was loaded yet.
 *
 * Never waits: while another thread uses the gallery's connection (a
 * reload or a change in progress) it returns %FALSE, and a later call
 * tells.
 *
 * Returns: whether fv_gallery_reload() would load something new
 */
gboolean
fv_gallery_needs_reload (FvGallery * gallery)
{
  gboolean loaded, changed = FALSE;
  gint64 data_version;

  g_return_val_if_fail (gallery != NULL, FALSE);

  g_mutex_lock (&gallery->snap_lock);
  loaded = gallery->snapshot != NULL;
  g_mutex_unlock (&gallery->snap_lock);
  if (!loaded)
    return TRUE;

  if (!g_mutex_trylock (&gallery->db_lock))
    return FALSE;
  if (file_replaced (gallery)) {
    changed = TRUE;
  } else if (gallery->immutable) {
    DbState s = { 0 };

    changed = record_stat (&s, gallery->path)
        && (s.mtime_ns != gallery->mtime_ns || s.size != gallery->size);
  } else {
    changed = gallery->local_changes != gallery->loaded_local_changes
        || !read_data_version (gallery, &data_version, NULL)
        || data_version != gallery->data_version;
  }
  g_mutex_unlock (&gallery->db_lock);
  return changed;
}

/**
 * fv_gallery_get_snapshot:
 * @gallery: a gallery
 *
 * The snapshot loaded by the last successful fv_gallery_reload(). Takes a
 * lock only long enough to add a reference: safe to call per frame.
 *
 * Returns: (transfer full) (nullable): the snapshot, or %NULL if none was
 *   loaded yet
 */
FvGallerySnapshot *
fv_gallery_get_snapshot (FvGallery * gallery)
{
  FvGallerySnapshot *snap = NULL;

  g_return_val_if_fail (gallery != NULL, NULL);

  g_mutex_lock (&gallery->snap_lock);
  if (gallery->snapshot)
    snap = fv_gallery_snapshot_ref (gallery->snapshot);
  g_mutex_unlock (&gallery->snap_lock);
  return snap;
}
