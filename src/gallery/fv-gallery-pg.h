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

/* The channel writers NOTIFY on commit and readers LISTEN on. */
#define FV_PG_CHANNEL "faceverify_gallery"

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
    const char *fingerprint, guint dim, GError ** error);
void fv_pg_store_close (FvGalleryStore * store);
gboolean fv_pg_stat (const char *uri, FvGalleryStamp * stamp);
gboolean fv_pg_connect (FvPgStore * s, GError ** error);
void fv_pg_disconnect (FvPgStore * s);

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
