/* gst-faceverify: face verification on the CPU
 *
 * fv-gallery-pg.h: what the PostgreSQL store's files (connection and
 * schema, data) share: the store, queries and errors.
 */
#ifndef FV_GALLERY_PG_H
#define FV_GALLERY_PG_H

#include "gallery/fv-gallery-store.h"

#include <libpq-fe.h>

G_BEGIN_DECLS

/* The channel writers NOTIFY on commit (with the new generation) and
 * readers LISTEN on. */
#define FV_PG_CHANNEL "faceverify_gallery"

/* The schema version of a PostgreSQL gallery (fv_meta's schema_version):
 * 2 = the tables of an SQLite gallery's version 2 (fv_meta, fv_identities,
 * fv_samples); 3 = adds fv_changes, the change log. Version 2 is read as
 * it is (every change loads everything) and migrated on a write-open. */
#define FV_PG_SCHEMA_VERSION 3

/* The change log: each write transaction adds one row (generation,
 * identity id) per identity it touched (identity 0 when none, -1 when more
 * than FV_PG_LOG_MAX_IDS: "load everything"), and deletes the rows of the
 * generations more than FV_PG_LOG_KEEP behind its own, so the log stays
 * bounded (at most FV_PG_LOG_KEEP x FV_PG_LOG_MAX_IDS rows). A reader
 * applies the identities of the generations after its own when every one
 * of them is in the log; otherwise (pruned, written around the log) it
 * loads everything. */
#define FV_PG_LOG_KEEP 10000
#define FV_PG_LOG_MAX_IDS 1000

typedef struct
{
  FvGalleryStore base;          /* base.location: the redacted URI */
  char *conninfo;               /* the URI as given (may hold a password) */
  PGconn *conn;                 /* NULL while disconnected */
  gboolean notified;            /* a notification since the last load */
  gint64 retry_at;              /* monotonic µs: next reconnection */
  gint64 backoff_us;
  guint64 reconnects;
  gint64 loaded_generation;     /* fv_meta's generation at the last load */
  gint64 check_at;              /* monotonic µs: next generation check */
  guint64 local_changes;        /* commits made through this store */
  guint64 loaded_local_changes;
  const gint *cancel;           /* non-zero: abandon waits on the server */
  gboolean has_log;             /* loads may follow fv_changes */
  GArray *touched;              /* gint64: identities of the open write */
} FvPgStore;

#define FV_PG_STORE(s) ((FvPgStore *) (s))

/* Up to 8 query parameters: text, 64-bit integers (as text) and binary. */
typedef struct
{
  const char *values[8];
  int lengths[8];
  int formats[8];
  int n;
  char buf[8][32];
} FvPgParams;

void fv_pg_param_text (FvPgParams * p, const char *text);
void fv_pg_param_int (FvPgParams * p, gint64 value);
void fv_pg_param_double (FvPgParams * p, double value);
void fv_pg_param_binary (FvPgParams * p, const void *data, int bytes);

/* fv-gallery-pg-open.c */
FvGalleryStore *fv_pg_store_open (const char *uri, FvGalleryOpenFlags flags,
    const char *fingerprint, guint dim, const gint * cancel, GError ** error);
void fv_pg_store_close (FvGalleryStore * store);
gboolean fv_pg_stat (const char *uri, FvGalleryStamp * stamp);
gboolean fv_pg_connect (FvPgStore * s, GError ** error);
void fv_pg_disconnect (FvPgStore * s);
void fv_pg_lost (FvPgStore * s);

/* Runs @sql: NULL (and @error set, "<location>: cannot <what>: <reason>")
 * unless it succeeded. @binary asks for results in binary format. */
PGresult *fv_pg_query (FvPgStore * s, const char *sql, const FvPgParams * p,
    gboolean binary, const char *what, GError ** error);
gboolean fv_pg_exec (FvPgStore * s, const char *sql, const char *what,
    GError ** error);
void fv_pg_rollback (FvPgStore * s);

/* Binary result columns. */
gint64 fv_pg_get_int (const PGresult * res, int row, int col);
double fv_pg_get_double (const PGresult * res, int row, int col);
const char *fv_pg_get_text (const PGresult * res, int row, int col);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PGresult, PQclear)

G_END_DECLS

#endif /* FV_GALLERY_PG_H */
