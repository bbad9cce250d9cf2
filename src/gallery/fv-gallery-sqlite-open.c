/* gst-faceverify: face verification on the CPU
 *
 * fv-gallery-sqlite-open.c: the SQLite store's file: checks before SQLite
 * sees it, the connection, the schema (creation, version 1 compatibility,
 * migration), the metadata checks, and the SQLite helpers.
 */
#include "fv-config.h"
#include "core/fv-core.h"
#include "gallery/fv-gallery-sqlite.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define GALLERY_FORMAT "gst-faceverify-gallery"
/* How long a writer waits for another process's transaction. */
#define BUSY_TIMEOUT_MS 10000

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
void
fv_sqlite_set_error (GError ** error, sqlite3 * db, int rc, const char *path,
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

gboolean
fv_sqlite_exec (sqlite3 * db, const char *path, const char *sql,
    const char *what, GError ** error)
{
  int rc = sqlite3_exec (db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK) {
    fv_sqlite_set_error (error, db, rc, path, what);
    return FALSE;
  }
  return TRUE;
}

sqlite3_stmt *
fv_sqlite_prepare (sqlite3 * db, const char *path, const char *sql,
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
      fv_sqlite_set_error (error, db, rc, path, what);
    }
    sqlite3_finalize (stmt);
    return NULL;
  }
  return stmt;
}

/* Ends a loop of sqlite3_step() that stopped with @rc. */
gboolean
fv_sqlite_finish_rows (sqlite3_stmt * stmt, int rc, sqlite3 * db,
    const char *path, const char *what, GError ** error)
{
  if (rc != SQLITE_DONE) {
    fv_sqlite_set_error (error, db, rc, path, what);
    return FALSE;
  }
  return TRUE;
}

void
fv_sqlite_rollback (sqlite3 * db)
{
  if (!sqlite3_get_autocommit (db))
    sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
}

/* Runs a statement that returns no row (or whose rows are ignored). */
gboolean
fv_sqlite_step_done (sqlite3_stmt * stmt, sqlite3 * db, const char *path,
    const char *what, GError ** error)
{
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW);
  return fv_sqlite_finish_rows (stmt, rc, db, path, what, error);
}

/* ------------------------------------------------------------------------ */
/* The schema allow-list                                                    */
/* ------------------------------------------------------------------------ */

/* Everything a gallery's main schema may hold (schema 1 and 2 alike): its
 * three tables, the indexes of their UNIQUE and PRIMARY KEY constraints and
 * samples_by_identity. A trigger would run on our writes (DEFENSIVE and
 * trusted_schema=OFF do not stop plain DML in a trigger), and a view,
 * virtual table or extra table has no business in a gallery. */
static const struct
{
  const char *type;
  const char *name;
  const char *table;
} allowed_objects[] = {
  {"table", "meta", "meta"},
  {"index", "sqlite_autoindex_meta_1", "meta"},
  {"table", "identities", "identities"},
  {"index", "sqlite_autoindex_identities_1", "identities"},
  {"table", "samples", "samples"},
  {"index", "samples_by_identity", "samples"},
};

static gboolean
object_allowed (const char *type, const char *name, const char *table,
    const char *sql)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (allowed_objects); i++) {
    if (g_strcmp0 (type, allowed_objects[i].type) != 0
        || g_strcmp0 (name, allowed_objects[i].name) != 0
        || g_strcmp0 (table, allowed_objects[i].table) != 0)
      continue;
    /* A virtual table may take a table's name. */
    if (strcmp (type, "table") == 0 && (sql == NULL
            || g_ascii_strncasecmp (sql, "CREATE TABLE", 12) != 0))
      return FALSE;
    return TRUE;
  }
  return FALSE;
}

static char *
describe_object (const char *type, const char *name, const char *table,
    const char *sql)
{
  g_autofree char *n = g_strescape (name ? name : "", NULL);
  g_autofree char *t = g_strescape (table ? table : "", NULL);

  if (g_strcmp0 (type, "table") == 0 && sql
      && g_ascii_strncasecmp (sql, "CREATE VIRTUAL", 14) == 0)
    return g_strdup_printf ("virtual table \"%s\"", n);
  if (g_strcmp0 (type, "trigger") == 0 || g_strcmp0 (type, "index") == 0)
    return g_strdup_printf ("%s \"%s\" on %s", type, n, t);
  return g_strdup_printf ("%s \"%s\"", type ? type : "object", n);
}

gboolean
fv_sqlite_find_foreign_objects (sqlite3 * db, const char *path,
    GPtrArray * found, GError ** error)
{
  const char *what = "read the database schema";
  g_autoptr (sqlite3_stmt) stmt = fv_sqlite_prepare (db, path,
      "SELECT type, name, tbl_name, sql FROM main.sqlite_schema "
      "ORDER BY rowid", what, error);
  guint i;
  int rc;

  if (!stmt)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    const char *type = (const char *) sqlite3_column_text (stmt, 0);
    const char *name = (const char *) sqlite3_column_text (stmt, 1);
    const char *table = (const char *) sqlite3_column_text (stmt, 2);
    const char *sql = (const char *) sqlite3_column_text (stmt, 3);

    if (!object_allowed (type, name, table, sql))
      g_ptr_array_add (found, describe_object (type, name, table, sql));
  }
  if (!fv_sqlite_finish_rows (stmt, rc, db, path, what, error))
    return FALSE;
  g_clear_pointer (&stmt, sqlite3_finalize);

  /* A generated column computes what it returns. */
  stmt = fv_sqlite_prepare (db, path,
      "SELECT name FROM pragma_table_xinfo (?1, 'main') WHERE hidden != 0",
      what, error);
  if (!stmt)
    return FALSE;
  for (i = 0; i < G_N_ELEMENTS (allowed_objects); i++) {
    if (strcmp (allowed_objects[i].type, "table") != 0)
      continue;
    sqlite3_reset (stmt);
    sqlite3_bind_text (stmt, 1, allowed_objects[i].name, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
      g_autofree char *n =
          g_strescape ((const char *) sqlite3_column_text (stmt, 0), NULL);

      g_ptr_array_add (found, g_strdup_printf ("generated column \"%s\" of "
              "%s", n, allowed_objects[i].name));
    }
    if (!fv_sqlite_finish_rows (stmt, rc, db, path, what, error))
      return FALSE;
  }
  return TRUE;
}

gboolean
fv_sqlite_check_schema (sqlite3 * db, const char *path, GError ** error)
{
  g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func (g_free);

  if (!fv_sqlite_find_foreign_objects (db, path, found, error))
    return FALSE;
  if (found->len == 0)
    return TRUE;
  if (found->len == 1)
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_UNSAFE,
        "%s: refused: the gallery holds a %s, which a gst-faceverify gallery "
        "never has (it could change the gallery behind the application's "
        "back); `faceverify gallery repair` copies its identities and "
        "samples into a clean gallery", path, (char *) found->pdata[0]);
  else
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_UNSAFE,
        "%s: refused: the gallery holds a %s and %u more objects that a "
        "gst-faceverify gallery never has (they could change the gallery "
        "behind the application's back); `faceverify gallery repair` copies "
        "its identities and samples into a clean gallery", path,
        (char *) found->pdata[0], found->len - 1);
  return FALSE;
}

/* Checks the file before SQLite sees it: that it is a regular file and
 * starts like an SQLite database.
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
  /* No judging of the file's size against its header here: a writer
   * killed during a checkpoint leaves a main file shorter than its header
   * says while the WAL beside it still holds every page, and SQLite
   * recovers it. Damage shows in the integrity checks instead. */
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

gboolean
fv_sqlite_stat (const char *path, FvGalleryStamp * stamp)
{
  GStatBuf st;

  memset (stamp, 0, sizeof *stamp);
  if (g_stat (path, &st) != 0)
    return FALSE;
  stamp->exists = TRUE;
  stamp->dev = st.st_dev;
  stamp->ino = st.st_ino;
  stamp->mtime_ns = (gint64) st.st_mtim.tv_sec * 1000000000
      + st.st_mtim.tv_nsec;
  stamp->size = st.st_size;
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
    fv_sqlite_set_error (error, db, rc, path, "open the gallery");
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
  g_autoptr (sqlite3_stmt) stmt =
      fv_sqlite_prepare (db, path, sql, what, error);
  int rc;

  if (!stmt)
    return FALSE;
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW) {
    fv_sqlite_set_error (error, db, rc, path, what);
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

  stmt = fv_sqlite_prepare (db, path, "SELECT key, value FROM meta",
      "read the gallery's metadata", error);
  if (!stmt)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    const char *k = (const char *) sqlite3_column_text (stmt, 0);
    const char *v = (const char *) sqlite3_column_text (stmt, 1);

    if (k && v)
      g_hash_table_insert (meta, g_strdup (k), g_strdup (v));
  }
  return fv_sqlite_finish_rows (stmt, rc, db, path,
      "read the gallery's metadata", error);
}

static gboolean
table_exists (sqlite3 * db, const char *path, const char *name,
    gboolean * exists, GError ** error)
{
  g_autoptr (sqlite3_stmt) stmt = fv_sqlite_prepare (db, path,
      "SELECT 1 FROM main.sqlite_schema WHERE type = 'table' AND name = ?1",
      "read the database schema", error);
  int rc;

  if (!stmt)
    return FALSE;
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    fv_sqlite_set_error (error, db, rc, path, "read the database schema");
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
      fv_gallery_now ());
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
  if (!fv_sqlite_exec (db, path, "PRAGMA journal_mode = WAL",
          "switch the gallery to WAL mode", error))
    return FALSE;
  if (!fv_sqlite_exec (db, path, "BEGIN IMMEDIATE", "create the gallery",
          error))
    return FALSE;

  stmt = fv_sqlite_prepare (db, path, "SELECT count(*) FROM main.sqlite_schema",
      "create the gallery", error);
  if (!stmt)
    goto fail;
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW) {
    fv_sqlite_set_error (error, db, rc, path, "create the gallery");
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

  if (!fv_sqlite_exec (db, path, schema_v2, "create the gallery", error))
    goto fail;
  stmt = fv_sqlite_prepare (db, path,
      "INSERT INTO meta (key, value) VALUES (?1, ?2)", "create the gallery",
      error);
  if (!stmt)
    goto fail;
  for (i = 0; i < G_N_ELEMENTS (keys); i++) {
    sqlite3_reset (stmt);
    sqlite3_bind_text (stmt, 1, keys[i], -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 2, values[i], -1, SQLITE_STATIC);
    if (!fv_sqlite_step_done (stmt, db, path, "create the gallery", error))
      goto fail;
  }
  g_clear_pointer (&stmt, sqlite3_finalize);
  if (!fv_sqlite_exec (db, path, "PRAGMA user_version = "
          G_STRINGIFY (FV_GALLERY_SCHEMA_VERSION), "create the gallery", error))
    goto fail;
  if (!fv_sqlite_exec (db, path, "COMMIT", "create the gallery", error))
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

  if (!fv_sqlite_exec (db, path, "BEGIN IMMEDIATE", "migrate the gallery",
          error))
    return FALSE;
  /* Another process may have migrated it meanwhile. */
  if (!db_pragma_int (db, path, "user_version", &version, error))
    goto fail;
  if (version == 1 && !fv_sqlite_exec (db, path, migrate_v1_to_v2,
          "migrate the gallery from schema 1 to 2", error))
    goto fail;
  if (!fv_sqlite_exec (db, path,
          "UPDATE meta SET value = CAST(value AS INTEGER) + 1 "
          "WHERE key = 'generation'", "migrate the gallery", error))
    goto fail;
  if (!fv_sqlite_exec (db, path, "COMMIT", "migrate the gallery", error))
    goto fail;
  return TRUE;

fail:
  sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}

/* Opens the connection and reads the header and the schema once. */
static gboolean
connect (FvSqliteStore * s, const char *path, gboolean read_only,
    GError ** error)
{
  int rc;

  s->db = open_connection (path, read_only, FALSE, error);
  if (!s->db)
    return FALSE;
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
    fv_sqlite_set_error (error, s->db, rc, path, "open the gallery");
    return FALSE;
  }
  return TRUE;
}

/* Finds (or, when asked, creates) the gallery schema: its version in
 * *version, whether this call created it in *created. */
static gboolean
find_schema (FvSqliteStore * s, const char *path, gboolean create,
    gboolean fresh, const char *fingerprint, guint dim, gint64 * version,
    gboolean * created, GError ** error)
{
  gboolean has_meta;

  *created = FALSE;
  if (create && fresh && !init_gallery (s->db, path, fingerprint, dim,
          created, error))
    return FALSE;
  if (!db_pragma_int (s->db, path, "user_version", version, error)
      || !table_exists (s->db, path, "meta", &has_meta, error))
    return FALSE;
  if (*version == 0 && !has_meta) {
    g_autoptr (sqlite3_stmt) stmt = fv_sqlite_prepare (s->db, path,
        "SELECT count(*) FROM main.sqlite_schema", "read the schema", error);
    gint64 n_objects = 0;

    if (!stmt)
      return FALSE;
    if (sqlite3_step (stmt) == SQLITE_ROW)
      n_objects = sqlite3_column_int64 (stmt, 0);
    if (n_objects == 0 && create && !*created) {
      /* An empty SQLite database: nothing to lose by making it a
       * gallery. */
      g_clear_pointer (&stmt, sqlite3_finalize);
      if (!init_gallery (s->db, path, fingerprint, dim, created, error)
          || !db_pragma_int (s->db, path, "user_version", version, error)
          || !table_exists (s->db, path, "meta", &has_meta, error))
        return FALSE;
    }
  }
  if (!has_meta) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_NOT_GALLERY,
        "%s: an SQLite database, but not a gst-faceverify gallery", path);
    return FALSE;
  }
  if (*version > FV_GALLERY_SCHEMA_VERSION) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_VERSION,
        "%s: the gallery has schema version %" G_GINT64_FORMAT ", newer than "
        "the %d this gst-faceverify knows: use a newer gst-faceverify", path,
        *version, FV_GALLERY_SCHEMA_VERSION);
    return FALSE;
  }
  if (*version < 1) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_NOT_GALLERY,
        "%s: an SQLite database with a 'meta' table but no gallery schema "
        "version: not a gst-faceverify gallery", path);
    return FALSE;
  }
  return TRUE;
}

/* Checks the recorded format, model, dimension and metric against what
 * the caller wants; fills the store's. */
static gboolean
check_meta (FvSqliteStore * s, const char *path, const char *want_fingerprint,
    guint want_dim, GError ** error)
{
  g_autoptr (GHashTable) meta = g_hash_table_new_full (g_str_hash,
      g_str_equal, g_free, g_free);

  if (!read_meta (s->db, path, meta, error))
    return FALSE;
  if (g_strcmp0 (g_hash_table_lookup (meta, "format"), GALLERY_FORMAT) != 0) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_NOT_GALLERY,
        "%s: an SQLite database, but not a gst-faceverify gallery", path);
    return FALSE;
  }
  /* find_schema() has checked the schema version. */
  return fv_gallery_store_check_meta (&s->base, meta, -1, want_fingerprint,
      want_dim, error);
}

/* After SQLite has opened the file (and replayed its WAL), inside a read
 * transaction: a main file shorter than the database's pages is truncated
 * when the WAL holds no frame to serve them. (Before SQLite recovers, a
 * file shorter than its header says is normal: a checkpoint killed after
 * writing page 1.) The WAL cannot be reset while this transaction reads. */
static gboolean
check_size (sqlite3 * db, const char *path, GError ** error)
{
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  gint64 page_count = 0, page_size = 0;
  GStatBuf st;

  if (g_stat (wal, &st) == 0 && st.st_size >= 32)
    return TRUE;
  if (!db_pragma_int (db, path, "page_count", &page_count, error)
      || !db_pragma_int (db, path, "page_size", &page_size, error))
    return FALSE;
  if (g_stat (path, &st) == 0 && (guint64) st.st_size
      < (guint64) (page_count) * (guint64) page_size) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_CORRUPT,
        "%s: the gallery file is truncated: %" G_GUINT64_FORMAT " bytes, its "
        "%" G_GINT64_FORMAT " pages need %" G_GUINT64_FORMAT, path,
        (guint64) st.st_size, page_count,
        (guint64) (page_count) * (guint64) page_size);
    return FALSE;
  }
  return TRUE;
}

gboolean
fv_sqlite_quick_check (sqlite3 * db, const char *path, GError ** error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;
  const gboolean own = sqlite3_get_autocommit (db);
  const char *result;
  gboolean ok = FALSE;
  int rc;

  if (own && !fv_sqlite_exec (db, path, "BEGIN", "check the gallery", error))
    return FALSE;
  stmt = fv_sqlite_prepare (db, path, "PRAGMA quick_check (1)",
      "check the gallery", error);
  if (!stmt)
    goto out;
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW) {
    fv_sqlite_set_error (error, db, rc, path, "check the gallery");
    goto out;
  }
  result = (const char *) sqlite3_column_text (stmt, 0);
  if (g_strcmp0 (result, "ok") != 0) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_CORRUPT,
        "%s: the gallery file is damaged (integrity check: %s)", path,
        result ? result : "?");
    goto out;
  }
  g_clear_pointer (&stmt, sqlite3_finalize);
  ok = check_size (db, path, error);

out:
  g_clear_pointer (&stmt, sqlite3_finalize);
  if (own)
    sqlite3_exec (db, ok ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
  return ok;
}

/* Before the first write into a file that came from elsewhere: makes sure
 * it is sound, so damage is reported rather than spread; then migrates. */
static gboolean
prepare_for_writing (FvSqliteStore * s, const char *path, gboolean created,
    gint64 * version, GError ** error)
{
  if (!created) {
    if (!fv_sqlite_quick_check (s->db, path, error))
      return FALSE;
    if (!fv_sqlite_exec (s->db, path, "PRAGMA journal_mode = WAL",
            "switch the gallery to WAL mode", error))
      return FALSE;
  }
  if (!fv_sqlite_exec (s->db, path, "PRAGMA synchronous = FULL; "
          "PRAGMA foreign_keys = ON", "configure the gallery", error))
    return FALSE;
  if (*version < FV_GALLERY_SCHEMA_VERSION) {
    if (!migrate (s->db, path, error))
      return FALSE;
    *version = FV_GALLERY_SCHEMA_VERSION;
  }
  return TRUE;
}

void
fv_sqlite_store_close (FvGalleryStore * store)
{
  FvSqliteStore *s = FV_SQLITE_STORE (store);

  if (s == NULL)
    return;
  sqlite3_finalize (s->version_stmt);
  if (s->db)
    sqlite3_close_v2 (s->db);
  fv_gallery_store_free_base (store);
  g_free (s);
}

static void
sqlite_store_free (FvSqliteStore * s)
{
  fv_sqlite_store_close (&s->base);
}

/* *INDENT-OFF* */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FvSqliteStore, sqlite_store_free)
/* *INDENT-ON* */

/* Opens and checks the gallery file. */
FvGalleryStore *
fv_sqlite_store_open (const char *path, FvGalleryOpenFlags flags,
    const char *fingerprint, guint dim, GError ** error)
{
  const gboolean create = (flags & FV_GALLERY_OPEN_CREATE) != 0;
  g_autoptr (FvSqliteStore) s = g_new0 (FvSqliteStore, 1);
  gboolean read_only, salvage, exists, is_empty, created;
  gint64 version = 0;

  fv_gallery_store_init (&s->base, &fv_gallery_sqlite_class, g_strdup (path),
      flags);
  read_only = s->base.read_only;
  salvage = read_only && (flags & FV_GALLERY_OPEN_SALVAGE);
  s->salvage = salvage;
  s->data_version = -1;
  if (!check_file (path, create, &exists, &is_empty, error))
    return NULL;
  if (!read_only && !check_writable (path, exists, error))
    return NULL;
  if (!connect (s, path, read_only, error))
    return NULL;
  if (!find_schema (s, path, create, !exists || is_empty, fingerprint, dim,
          &version, &created, error))
    return NULL;
  if (!salvage && !fv_sqlite_check_schema (s->db, path, error))
    return NULL;
  if (!check_meta (s, path, fingerprint, dim, error))
    return NULL;
  if (!read_only) {
    if (!prepare_for_writing (s, path, created, &version, error))
      return NULL;
  } else if (version == 1) {
    if (!fv_sqlite_exec (s->db, path, compat_v1_views, "read the gallery",
            error))
      return NULL;
  }
  s->base.schema_version = (guint) version;
  fv_sqlite_stat (path, &s->stamp);
  return &g_steal_pointer (&s)->base;
}
