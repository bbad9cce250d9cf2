/* gst-faceverify: face verification on the CPU
 *
 * fv-gallery-sqlite.h: what the SQLite store's files (open and schema,
 * data) and the JSON parser share: the store and the SQLite helpers.
 */
#ifndef FV_GALLERY_SQLITE_H
#define FV_GALLERY_SQLITE_H

#include "gallery/fv-gallery-store.h"

#include <sqlite3.h>

G_BEGIN_DECLS

typedef struct
{
  FvGalleryStore base;
  sqlite3 *db;
  /* Opened with immutable=1: a WAL gallery in a folder where the -shm file
   * cannot be created. No change detection but the file's stamp. */
  gboolean immutable;
  /* Opened with FV_GALLERY_OPEN_SALVAGE: no schema allow-list. */
  gboolean salvage;
  FvGalleryStamp stamp;         /* the file when opened (immutable: loaded) */
  gint64 data_version;          /* PRAGMA data_version at the last load */
  sqlite3_stmt *version_stmt;   /* PRAGMA data_version, kept prepared */
  guint64 local_changes;        /* commits made through this store */
  guint64 loaded_local_changes;
} FvSqliteStore;

#define FV_SQLITE_STORE(s) ((FvSqliteStore *) (s))

/* fv-gallery-sqlite-open.c */
FvGalleryStore *fv_sqlite_store_open (const char *path,
    FvGalleryOpenFlags flags, const char *fingerprint, guint dim,
    GError ** error);
void fv_sqlite_store_close (FvGalleryStore * store);
gboolean fv_sqlite_stat (const char *path, FvGalleryStamp * stamp);

/* The schema allow-list: every object of main.sqlite_schema that is not
 * one of the gallery's own tables and indexes, and every generated column,
 * described ("trigger \"x\" on samples"), appended to @found. */
gboolean fv_sqlite_find_foreign_objects (sqlite3 * db, const char *path,
    GPtrArray * found, GError ** error);
/* FV_GALLERY_ERROR_UNSAFE naming the first foreign object, if any. */
gboolean fv_sqlite_check_schema (sqlite3 * db, const char *path,
    GError ** error);

/* PRAGMA quick_check: CORRUPT with its first line unless "ok". */
gboolean fv_sqlite_quick_check (sqlite3 * db, const char *path,
    GError ** error);

/* Errors and statements: "<path>: cannot <what>: <reason>". */
void fv_sqlite_set_error (GError ** error, sqlite3 * db, int rc,
    const char *path, const char *what);
gboolean fv_sqlite_exec (sqlite3 * db, const char *path, const char *sql,
    const char *what, GError ** error);
sqlite3_stmt *fv_sqlite_prepare (sqlite3 * db, const char *path,
    const char *sql, const char *what, GError ** error);
gboolean fv_sqlite_step_done (sqlite3_stmt * stmt, sqlite3 * db,
    const char *path, const char *what, GError ** error);
gboolean fv_sqlite_finish_rows (sqlite3_stmt * stmt, int rc, sqlite3 * db,
    const char *path, const char *what, GError ** error);
void fv_sqlite_rollback (sqlite3 * db);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

G_END_DECLS

#endif /* FV_GALLERY_SQLITE_H */
