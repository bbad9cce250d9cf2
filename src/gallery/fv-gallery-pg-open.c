/* gst-faceverify: face verification on the CPU
 *
 * fv-gallery-pg-open.c: the PostgreSQL store's connection, errors and
 * schema: a libpq URI names a database; the gallery's tables are created
 * there on first use and checked as the SQLite file's are.
 */
#include "fv-config.h"
#include "core/fv-core.h"
#include "gallery/fv-gallery-pg.h"

#include <string.h>

#define GALLERY_FORMAT "gst-faceverify-gallery"

/* Taken while the schema is created, so that concurrent first writers
 * create it once. */
#define SCHEMA_LOCK_KEY "7046211377"

#define BACKOFF_MIN_US (500 * G_TIME_SPAN_MILLISECOND)
#define BACKOFF_MAX_US (30 * G_TIME_SPAN_SECOND)

/* Tables only: no triggers, functions or views. */
static const char schema_v2[] =
    "CREATE TABLE fv_meta ("
    "  key text PRIMARY KEY,"
    "  value text NOT NULL);"
    "CREATE TABLE fv_identities ("
    "  id bigserial PRIMARY KEY,"
    "  label text NOT NULL UNIQUE,"
    "  display_name text,"
    "  created bigint NOT NULL,"
    "  updated bigint NOT NULL);"
    "CREATE TABLE fv_samples ("
    "  id bigserial PRIMARY KEY,"
    "  identity_id bigint NOT NULL REFERENCES fv_identities (id)"
    "    ON DELETE CASCADE,"
    "  embedding bytea NOT NULL,"
    "  quality double precision,"
    "  source text,"
    "  created bigint NOT NULL);"
    "CREATE INDEX fv_samples_by_identity ON fv_samples (identity_id);";

/* ------------------------------------------------------------------------ */
/* Parameters, results and errors                                           */
/* ------------------------------------------------------------------------ */

void
fv_pg_param_text (FvPgParams * p, const char *text)
{
  g_assert (p->n < (int) G_N_ELEMENTS (p->values));
  p->values[p->n] = text;
  p->lengths[p->n] = 0;
  p->formats[p->n] = 0;
  p->n++;
}

void
fv_pg_param_int (FvPgParams * p, gint64 value)
{
  g_assert (p->n < (int) G_N_ELEMENTS (p->values));
  g_snprintf (p->buf[p->n], sizeof p->buf[0], "%" G_GINT64_FORMAT, value);
  fv_pg_param_text (p, p->buf[p->n]);
}

void
fv_pg_param_double (FvPgParams * p, double value)
{
  g_assert (p->n < (int) G_N_ELEMENTS (p->values));
  g_ascii_formatd (p->buf[p->n], sizeof p->buf[0], "%.17g", value);
  fv_pg_param_text (p, p->buf[p->n]);
}

void
fv_pg_param_binary (FvPgParams * p, const void *data, int bytes)
{
  g_assert (p->n < (int) G_N_ELEMENTS (p->values));
  p->values[p->n] = data;
  p->lengths[p->n] = bytes;
  p->formats[p->n] = 1;
  p->n++;
}

gint64
fv_pg_get_int (const PGresult * res, int row, int col)
{
  const char *v = PQgetvalue (res, row, col);
  guint64 be = 0;
  guint32 be32 = 0;

  if (PQgetisnull (res, row, col))
    return 0;
  switch (PQgetlength (res, row, col)) {
    case 8:
      memcpy (&be, v, 8);
      return (gint64) GUINT64_FROM_BE (be);
    case 4:
      memcpy (&be32, v, 4);
      return (gint32) GUINT32_FROM_BE (be32);
    default:
      return 0;
  }
}

double
fv_pg_get_double (const PGresult * res, int row, int col)
{
  guint64 be;
  double d;

  if (PQgetisnull (res, row, col) || PQgetlength (res, row, col) != 8)
    return 0.0;
  memcpy (&be, PQgetvalue (res, row, col), 8);
  be = GUINT64_FROM_BE (be);
  memcpy (&d, &be, 8);
  return d;
}

const char *
fv_pg_get_text (const PGresult * res, int row, int col)
{
  return PQgetisnull (res, row, col) ? NULL : PQgetvalue (res, row, col);
}

/* libpq's messages end with a newline; the SQLSTATE picks the code. */
static void
set_error (FvPgStore * s, const PGresult * res, const char *what,
    GError ** error)
{
  const char *state = res ? PQresultErrorField (res, PG_DIAG_SQLSTATE) : NULL;
  const char *msg = res ? PQresultErrorMessage (res) : "";
  g_autofree char *reason = NULL;
  FvGalleryError code = FV_GALLERY_ERROR_IO;

  if (!msg || !*msg)
    msg = s->conn ? PQerrorMessage (s->conn) : "not connected";
  reason = g_strstrip (g_strdup (msg));
  if (g_strcmp0 (state, "42501") == 0 || g_strcmp0 (state, "25006") == 0) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_READ_ONLY,
        "%s: cannot %s: the database role may only read the gallery (%s)",
        s->base.location, what, reason);
    return;
  }
  if (g_strcmp0 (state, "23505") == 0)
    code = FV_GALLERY_ERROR_EXISTS;
  else if (state && (g_str_has_prefix (state, "40")
          || strcmp (state, "55P03") == 0))
    code = FV_GALLERY_ERROR_BUSY;
  g_set_error (error, FV_GALLERY_ERROR, code, "%s: cannot %s: %s",
      s->base.location, what, reason);
}

PGresult *
fv_pg_query (FvPgStore * s, const char *sql, const FvPgParams * p,
    gboolean binary, const char *what, GError ** error)
{
  PGresult *res;
  ExecStatusType st;

  if (s->conn == NULL || PQstatus (s->conn) != CONNECTION_OK) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_IO,
        "%s: cannot %s: the connection to the database was lost",
        s->base.location, what);
    return NULL;
  }
  /* Without parameters, the simple protocol (which runs several
   * statements, as the schema needs). */
  if (p == NULL && !binary)
    res = PQexec (s->conn, sql);
  else
    res = PQexecParams (s->conn, sql, p ? p->n : 0, NULL,
        p ? p->values : NULL, p ? p->lengths : NULL, p ? p->formats : NULL,
        binary ? 1 : 0);
  st = PQresultStatus (res);
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
    return res;
  set_error (s, res, what, error);
  PQclear (res);
  return NULL;
}

gboolean
fv_pg_exec (FvPgStore * s, const char *sql, const char *what, GError ** error)
{
  PGresult *res = fv_pg_query (s, sql, NULL, FALSE, what, error);

  if (!res)
    return FALSE;
  PQclear (res);
  return TRUE;
}

void
fv_pg_rollback (FvPgStore * s)
{
  if (s->conn && PQstatus (s->conn) == CONNECTION_OK
      && PQtransactionStatus (s->conn) != PQTRANS_IDLE)
    PQclear (PQexec (s->conn, "ROLLBACK"));
}

/* ------------------------------------------------------------------------ */
/* Connection                                                               */
/* ------------------------------------------------------------------------ */

/* The library never prints: notices (and the server's goodbye) are
 * dropped. */
static void
ignore_notice (void *arg, const char *message)
{
  (void) arg;
  (void) message;
}

void
fv_pg_disconnect (FvPgStore * s)
{
  g_clear_pointer (&s->conn, PQfinish);
}

/* Connects (again) and LISTENs. The URI's own parameters (sslmode,
 * passfile, service, connect_timeout...) win over the defaults here. On
 * failure the next try is due after a growing back-off.
 */
gboolean
fv_pg_connect (FvPgStore * s, GError ** error)
{
  const char *keys[] = { "connect_timeout", "application_name", "dbname",
    NULL
  };
  const char *values[] = { "10", "faceverify", s->conninfo, NULL };
  g_autofree char *reason = NULL;

  fv_pg_disconnect (s);
  s->conn = PQconnectdbParams (keys, values, 1);
  if (s->conn && PQstatus (s->conn) == CONNECTION_OK) {
    PQsetNoticeProcessor (s->conn, ignore_notice, NULL);
    if (fv_pg_exec (s, "LISTEN " FV_PG_CHANNEL, "listen for changes", error)) {
      s->backoff_us = 0;
      s->reconnects++;
      s->notified = TRUE;
      return TRUE;
    }
  } else {
    reason = g_strstrip (g_strdup (s->conn ? PQerrorMessage (s->conn) :
            "out of memory"));
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_IO,
        "%s: cannot connect to the database: %s", s->base.location, reason);
  }
  fv_pg_disconnect (s);
  s->backoff_us = CLAMP (s->backoff_us * 2, BACKOFF_MIN_US, BACKOFF_MAX_US);
  s->retry_at = g_get_monotonic_time () + s->backoff_us;
  return FALSE;
}

/* A database has no file: it always "exists" and its stamp never moves;
 * its changes and reconnections show in poll(). */
gboolean
fv_pg_stat (const char *uri, FvGalleryStamp * stamp)
{
  (void) uri;
  memset (stamp, 0, sizeof *stamp);
  stamp->exists = TRUE;
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Schema                                                                   */
/* ------------------------------------------------------------------------ */

/* Whether the gallery's tables exist (in the search path). */
static gboolean
have_schema (FvPgStore * s, gboolean * exists, GError ** error)
{
  g_autoptr (PGresult) res = fv_pg_query (s,
      "SELECT to_regclass ('fv_meta') IS NOT NULL", NULL, FALSE,
      "open the gallery", error);

  if (!res)
    return FALSE;
  *exists = PQntuples (res) == 1 && PQgetvalue (res, 0, 0)[0] == 't';
  return TRUE;
}

static gboolean
insert_meta (FvPgStore * s, const char *key, const char *value, GError ** error)
{
  FvPgParams p = { 0 };
  g_autoptr (PGresult) res = NULL;

  fv_pg_param_text (&p, key);
  fv_pg_param_text (&p, value);
  res = fv_pg_query (s, "INSERT INTO fv_meta (key, value) VALUES ($1, $2)",
      &p, FALSE, "create the gallery", error);
  return res != NULL;
}

/* Creates the tables unless they are there, under a lock so that
 * concurrent first writers create them once. */
static gboolean
create_schema (FvPgStore * s, const char *fingerprint, guint dim,
    GError ** error)
{
  const char *what = "create the gallery";
  g_autofree char *dim_str = g_strdup_printf ("%u", dim);
  g_autofree char *now = g_strdup_printf ("%" G_GINT64_FORMAT,
      fv_gallery_now ());
  gboolean exists = FALSE;

  if (!fv_pg_exec (s, "BEGIN", what, error)
      || !fv_pg_exec (s, "SELECT pg_advisory_xact_lock (" SCHEMA_LOCK_KEY
          ")", what, error)
      || !have_schema (s, &exists, error))
    goto fail;
  if (exists) {
    fv_pg_rollback (s);
    return TRUE;
  }
  if (!fv_pg_exec (s, schema_v2, what, error)
      || !insert_meta (s, "format", GALLERY_FORMAT, error)
      || !insert_meta (s, "schema_version",
          G_STRINGIFY (FV_GALLERY_SCHEMA_VERSION), error)
      || !insert_meta (s, "model_sha256", fingerprint, error)
      || !insert_meta (s, "dim", dim_str, error)
      || !insert_meta (s, "metric", FV_GALLERY_METRIC, error)
      || !insert_meta (s, "generation", "0", error)
      || !insert_meta (s, "created", now, error)
      || !fv_pg_exec (s, "COMMIT", what, error))
    goto fail;
  return TRUE;

fail:
  fv_pg_rollback (s);
  return FALSE;
}

/* A gallery is untrusted input: our tables must carry no triggers or
 * rules (a trigger would run with the writer's rights). */
static gboolean
check_tables (FvPgStore * s, GError ** error)
{
  g_autoptr (PGresult) res = fv_pg_query (s,
      "SELECT (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND"
      "   tgrelid IN (to_regclass ('fv_meta'), to_regclass ('fv_identities'),"
      "   to_regclass ('fv_samples')))"
      " + (SELECT count(*) FROM pg_rewrite WHERE ev_class IN"
      "   (to_regclass ('fv_meta'), to_regclass ('fv_identities'),"
      "   to_regclass ('fv_samples')))", NULL, FALSE, "check the gallery",
      error);

  if (!res)
    return FALSE;
  if (strcmp (PQgetvalue (res, 0, 0), "0") != 0) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_NOT_GALLERY,
        "%s: the gallery's tables carry triggers or rules: refusing to use "
        "them", s->base.location);
    return FALSE;
  }
  return TRUE;
}

static gboolean
read_meta (FvPgStore * s, GHashTable * meta, GError ** error)
{
  g_autoptr (PGresult) res = fv_pg_query (s,
      "SELECT key, value FROM fv_meta", NULL, FALSE, "read the gallery", error);
  int i;

  if (!res)
    return FALSE;
  for (i = 0; i < PQntuples (res); i++)
    g_hash_table_insert (meta, g_strdup (PQgetvalue (res, i, 0)),
        g_strdup (PQgetvalue (res, i, 1)));
  return TRUE;
}

/* The version, model, dimension and metric, against what the caller
 * wants; fills the store's. */
static gboolean
check_meta (FvPgStore * s, const char *want_fingerprint, guint want_dim,
    GError ** error)
{
  const char *loc = s->base.location;
  g_autoptr (GHashTable) meta = g_hash_table_new_full (g_str_hash,
      g_str_equal, g_free, g_free);
  const char *version_str;
  guint64 version;

  if (!read_meta (s, meta, error))
    return FALSE;
  if (g_strcmp0 (g_hash_table_lookup (meta, "format"), GALLERY_FORMAT) != 0) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_NOT_GALLERY,
        "%s: the table fv_meta is not a gst-faceverify gallery's", loc);
    return FALSE;
  }
  version_str = g_hash_table_lookup (meta, "schema_version");
  version = version_str ? g_ascii_strtoull (version_str, NULL, 10) : 0;
  if (version > FV_GALLERY_SCHEMA_VERSION) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_VERSION,
        "%s: the gallery has schema version %" G_GUINT64_FORMAT "; this "
        "gst-faceverify reads up to version %d", loc, version,
        FV_GALLERY_SCHEMA_VERSION);
    return FALSE;
  }
  if (!fv_gallery_store_check_meta (&s->base, meta, (gint64) version,
          want_fingerprint, want_dim, error))
    return FALSE;
  s->base.schema_version = (guint) version;
  return TRUE;
}

/* Opened for writing: the role must be allowed to write. */
static gboolean
check_write_rights (FvPgStore * s, GError ** error)
{
  g_autoptr (PGresult) res = fv_pg_query (s,
      "SELECT current_user, has_table_privilege ('fv_meta', 'UPDATE')"
      " AND has_table_privilege ('fv_identities', 'INSERT, UPDATE, DELETE')"
      " AND has_table_privilege ('fv_samples', 'INSERT, DELETE')"
      " AND has_sequence_privilege ('fv_identities_id_seq', 'USAGE')"
      " AND has_sequence_privilege ('fv_samples_id_seq', 'USAGE')"
      " AND NOT current_setting ('transaction_read_only')::boolean",
      NULL, FALSE, "check the database role's rights", error);

  if (!res)
    return FALSE;
  if (PQgetvalue (res, 0, 1)[0] != 't') {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_READ_ONLY,
        "%s: the database role \"%s\" may only read the gallery: changes "
        "need a role with write rights", s->base.location,
        PQgetvalue (res, 0, 0));
    return FALSE;
  }
  return TRUE;
}

void
fv_pg_store_close (FvGalleryStore * store)
{
  FvPgStore *s = FV_PG_STORE (store);

  if (s == NULL)
    return;
  fv_pg_disconnect (s);
  g_free (s->conninfo);
  fv_gallery_store_free_base (store);
  g_free (s);
}

static void
pg_store_free (FvPgStore * s)
{
  fv_pg_store_close (&s->base);
}

/* *INDENT-OFF* */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FvPgStore, pg_store_free)
/* *INDENT-ON* */

/* Connects and checks the gallery in the database; with CREATE, creates
 * its tables first. */
FvGalleryStore *
fv_pg_store_open (const char *uri, FvGalleryOpenFlags flags,
    const char *fingerprint, guint dim, GError ** error)
{
  const gboolean create = (flags & FV_GALLERY_OPEN_CREATE) != 0;
  g_autoptr (FvPgStore) s = g_new0 (FvPgStore, 1);
  gboolean exists = FALSE;

  fv_gallery_store_init (&s->base, &fv_gallery_pg_class,
      fv_gallery_location_redact (uri), flags);
  s->conninfo = g_strdup (uri);
  if (!fv_pg_connect (s, error))
    return NULL;
  if (create && !create_schema (s, fingerprint, dim, error))
    return NULL;
  if (!have_schema (s, &exists, error))
    return NULL;
  if (!exists) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_NOT_FOUND,
        "%s: no gallery in this database (enrolling creates one)",
        s->base.location);
    return NULL;
  }
  if (!check_tables (s, error) || !check_meta (s, fingerprint, dim, error))
    return NULL;
  if (!s->base.read_only && !check_write_rights (s, error))
    return NULL;
  return &g_steal_pointer (&s)->base;
}
