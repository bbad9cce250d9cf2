/* gst-faceverify: face verification on the CPU
 *
 * fv-gallery-pg-open.c: the PostgreSQL store's connection, errors and
 * schema: a libpq URI names a database; the gallery's tables are created
 * there on first use and checked as the SQLite file's are.
 */
#include "fv-config.h"
#include "core/fv-core.h"
#include "gallery/fv-gallery-pg.h"

#include <errno.h>
#include <string.h>

#define GALLERY_FORMAT "gst-faceverify-gallery"

/* Taken while the schema is created, so that concurrent first writers
 * create it once. */
#define SCHEMA_LOCK_KEY "7046211377"

#define BACKOFF_MIN_US (500 * G_TIME_SPAN_MILLISECOND)
#define BACKOFF_MAX_US (30 * G_TIME_SPAN_SECOND)

/* How soon a wait on the server notices a cancel. */
#define WAIT_SLICE_MS 50

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

/* Version 3: the change log (see FV_PG_LOG_KEEP). */
static const char schema_v3_changes[] =
    "CREATE TABLE fv_changes ("
    "  generation bigint NOT NULL,"
    "  identity_id bigint NOT NULL,"
    "  PRIMARY KEY (generation, identity_id));";

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

static gboolean
cancelled (FvPgStore * s)
{
  return s->cancel != NULL && g_atomic_int_get (s->cancel) != 0;
}

/* Waits until the connection's socket is ready (to read, or to write with
 * @write), in slices so that a cancel shows within one; FALSE with *@why
 * when cancelled, past @deadline (monotonic µs; 0: none) or broken. */
static gboolean
wait_socket (FvPgStore * s, gboolean write, gint64 deadline, const char **why)
{
  GPollFD pfd = { PQsocket (s->conn), write ? G_IO_OUT : G_IO_IN, 0 };

  if (pfd.fd < 0) {
    *why = "no connection to the server";
    return FALSE;
  }
  for (;;) {
    gint64 now = g_get_monotonic_time ();
    gint ms = WAIT_SLICE_MS;
    int r;

    if (cancelled (s)) {
      *why = "cancelled";
      return FALSE;
    }
    if (deadline > 0 && now >= deadline) {
      *why = "timeout expired";
      return FALSE;
    }
    if (deadline > 0)
      ms = (gint) MIN (ms, (deadline - now + 999) / 1000);
    r = g_poll (&pfd, 1, ms);
    if (r > 0)
      return TRUE;
    if (r < 0 && errno != EINTR) {
      *why = g_strerror (errno);
      return FALSE;
    }
  }
}

static gboolean
is_error (const PGresult * res)
{
  ExecStatusType st = PQresultStatus (res);

  return st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK;
}

/* Sends @sql and collects its results without blocking: the first error,
 * else the last result (as PQexec() does). A cancel abandons the
 * connection (the server notices the closed socket). NULL with *@why
 * when there is no result. */
static PGresult *
run (FvPgStore * s, const char *sql, const FvPgParams * p, gboolean binary,
    const char **why)
{
  PGresult *keep = NULL, *res;
  int sent, flushed;

  /* Without parameters, the simple protocol (which runs several
   * statements, as the schema needs). */
  if (p == NULL && !binary)
    sent = PQsendQuery (s->conn, sql);
  else
    sent = PQsendQueryParams (s->conn, sql, p ? p->n : 0, NULL,
        p ? p->values : NULL, p ? p->lengths : NULL, p ? p->formats : NULL,
        binary ? 1 : 0);
  if (!sent) {
    *why = PQerrorMessage (s->conn);
    return NULL;
  }
  while ((flushed = PQflush (s->conn)) == 1)
    if (!wait_socket (s, TRUE, 0, why))
      goto abandon;
  for (;;) {
    while (flushed == 0 && PQisBusy (s->conn)) {
      if (!wait_socket (s, FALSE, 0, why))
        goto abandon;
      if (!PQconsumeInput (s->conn))
        break;
    }
    res = PQgetResult (s->conn);
    if (res == NULL)
      break;
    if (keep && is_error (keep)) {
      PQclear (res);
    } else {
      PQclear (keep);
      keep = res;
    }
    if (PQstatus (s->conn) == CONNECTION_BAD)
      break;
  }
  if (keep == NULL)
    *why = PQerrorMessage (s->conn);
  return keep;

abandon:
  PQclear (keep);
  fv_pg_disconnect (s);
  return NULL;
}

PGresult *
fv_pg_query (FvPgStore * s, const char *sql, const FvPgParams * p,
    gboolean binary, const char *what, GError ** error)
{
  g_autofree char *reason = NULL;
  const char *why = NULL;
  PGresult *res;

  if (s->conn == NULL || PQstatus (s->conn) != CONNECTION_OK) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_IO,
        "%s: cannot %s: the connection to the database was lost",
        s->base.location, what);
    return NULL;
  }
  res = run (s, sql, p, binary, &why);
  if (res && !is_error (res))
    return res;
  if (res) {
    set_error (s, res, what, error);
    PQclear (res);
    return NULL;
  }
  reason = g_strstrip (g_strdup (why && *why ? why : "no result"));
  g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_IO,
      "%s: cannot %s: %s", s->base.location, what, reason);
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
  const char *why;

  if (s->conn && PQstatus (s->conn) == CONNECTION_OK
      && PQtransactionStatus (s->conn) != PQTRANS_IDLE)
    PQclear (run (s, "ROLLBACK", NULL, FALSE, &why));
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

/* Lost or refused: the next try is due after a growing back-off. */
void
fv_pg_lost (FvPgStore * s)
{
  fv_pg_disconnect (s);
  s->backoff_us = CLAMP (s->backoff_us * 2, BACKOFF_MIN_US, BACKOFF_MAX_US);
  s->retry_at = g_get_monotonic_time () + s->backoff_us;
}

/* When the connection attempt gives up: libpq applies connect_timeout
 * only in its blocking calls, so the same value bounds the polling here
 * (0 or none: no bound but a cancel). */
static gint64
connect_deadline (FvPgStore * s)
{
  PQconninfoOption *opts = PQconninfo (s->conn), *o;
  gint64 secs = 0;

  for (o = opts; o && o->keyword; o++)
    if (strcmp (o->keyword, "connect_timeout") == 0 && o->val)
      secs = g_ascii_strtoll (o->val, NULL, 10);
  PQconninfoFree (opts);
  if (secs <= 0)
    return 0;
  return g_get_monotonic_time () + MAX (secs, 2) * G_TIME_SPAN_SECOND;
}

/* Connects (again) without blocking, so that a cancel (a pipeline
 * stopping) ends the wait at once, and LISTENs. The URI's own parameters
 * (sslmode, passfile, service, connect_timeout, keepalives...) win over
 * the defaults here; the keepalives notice a vanished server within about
 * 25 s. On failure the next try is due after a growing back-off.
 */
gboolean
fv_pg_connect (FvPgStore * s, GError ** error)
{
  const char *keys[] = { "connect_timeout", "application_name",
    "keepalives_idle", "keepalives_interval", "keepalives_count", "dbname",
    NULL
  };
  const char *values[] = { "10", "faceverify", "10", "5", "3", s->conninfo,
    NULL
  };
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  g_autofree char *reason = NULL;
  const char *why = NULL;
  gint64 deadline;

  fv_pg_disconnect (s);
  s->conn = PQconnectStartParams (keys, values, 1);
  if (s->conn && PQstatus (s->conn) != CONNECTION_BAD) {
    deadline = connect_deadline (s);
    while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
      if (!wait_socket (s, st == PGRES_POLLING_WRITING, deadline, &why))
        break;
      st = PQconnectPoll (s->conn);
    }
  }
  if (st == PGRES_POLLING_OK && PQstatus (s->conn) == CONNECTION_OK) {
    PQsetNoticeProcessor (s->conn, ignore_notice, NULL);
    if (fv_pg_exec (s, "LISTEN " FV_PG_CHANNEL, "listen for changes", error)) {
      s->backoff_us = 0;
      s->reconnects++;
      s->notified = TRUE;
      return TRUE;
    }
  } else {
    reason = g_strstrip (g_strdup (why ? why : s->conn ?
            PQerrorMessage (s->conn) : "out of memory"));
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_IO,
        "%s: cannot connect to the database: %s", s->base.location, reason);
  }
  fv_pg_lost (s);
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
      || !fv_pg_exec (s, schema_v3_changes, what, error)
      || !insert_meta (s, "format", GALLERY_FORMAT, error)
      || !insert_meta (s, "schema_version",
          G_STRINGIFY (FV_PG_SCHEMA_VERSION), error)
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

/* Migrates a version 2 gallery to 3 (adds the change log) in one
 * transaction, under the schema lock, unless another writer just did. */
static gboolean
migrate (FvPgStore * s, GError ** error)
{
  const char *what = "migrate the gallery to schema version "
      G_STRINGIFY (FV_PG_SCHEMA_VERSION);
  g_autoptr (PGresult) res = NULL;

  if (!fv_pg_exec (s, "BEGIN", what, error)
      || !fv_pg_exec (s, "SELECT pg_advisory_xact_lock (" SCHEMA_LOCK_KEY
          ")", what, error))
    goto fail;
  res = fv_pg_query (s, "SELECT to_regclass ('fv_changes') IS NULL", NULL,
      FALSE, what, error);
  if (!res)
    goto fail;
  if (PQgetvalue (res, 0, 0)[0] == 't'
      && !fv_pg_exec (s, schema_v3_changes, what, error))
    goto fail;
  if (!fv_pg_exec (s, "UPDATE fv_meta SET value = '"
          G_STRINGIFY (FV_PG_SCHEMA_VERSION) "' WHERE key = 'schema_version'",
          what, error)
      || !fv_pg_exec (s, "COMMIT", what, error))
    goto fail;
  s->base.schema_version = FV_PG_SCHEMA_VERSION;
  return TRUE;

fail:
  fv_pg_rollback (s);
  return FALSE;
}

/* Whether loads can follow the change log: version 3, and the role may
 * read it (a node granted only the three tables of version 2 loads
 * everything on each change). */
static gboolean
check_log (FvPgStore * s, GError ** error)
{
  g_autoptr (PGresult) res = NULL;

  s->has_log = FALSE;
  if (s->base.schema_version < 3)
    return TRUE;
  res = fv_pg_query (s, "SELECT to_regclass ('fv_changes') IS NOT NULL AND"
      " has_table_privilege ('fv_changes', 'SELECT')", NULL, FALSE,
      "check the gallery", error);
  if (!res)
    return FALSE;
  s->has_log = PQgetvalue (res, 0, 0)[0] == 't';
  return TRUE;
}

/* A gallery is untrusted input: our tables must carry no triggers or
 * rules (a trigger would run with the writer's rights). */
static gboolean
check_tables (FvPgStore * s, GError ** error)
{
  g_autoptr (PGresult) res = fv_pg_query (s,
      "WITH t AS (SELECT unnest (ARRAY[to_regclass ('fv_meta'),"
      "   to_regclass ('fv_identities'), to_regclass ('fv_samples'),"
      "   to_regclass ('fv_changes')]) AS oid)"
      "SELECT (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND"
      "   tgrelid IN (SELECT oid FROM t))"
      " + (SELECT count(*) FROM pg_rewrite WHERE ev_class IN"
      "   (SELECT oid FROM t))", NULL, FALSE, "check the gallery", error);

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
  if (version > FV_PG_SCHEMA_VERSION) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_VERSION,
        "%s: the gallery has schema version %" G_GUINT64_FORMAT "; this "
        "gst-faceverify reads up to version %d", loc, version,
        FV_PG_SCHEMA_VERSION);
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
      " AND (to_regclass ('fv_changes') IS NULL"
      "   OR has_table_privilege ('fv_changes', 'INSERT, DELETE'))"
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
  if (s->touched)
    g_array_unref (s->touched);
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
    const char *fingerprint, guint dim, const gint * cancel, GError ** error)
{
  const gboolean create = (flags & FV_GALLERY_OPEN_CREATE) != 0;
  g_autoptr (FvPgStore) s = g_new0 (FvPgStore, 1);
  gboolean exists = FALSE;

  fv_gallery_store_init (&s->base, &fv_gallery_pg_class,
      fv_gallery_location_redact (uri), flags);
  s->conninfo = g_strdup (uri);
  s->cancel = cancel;
  s->loaded_generation = -1;
  s->touched = g_array_new (FALSE, FALSE, sizeof (gint64));
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
  if (!s->base.read_only && (!check_write_rights (s, error)
          || (s->base.schema_version < FV_PG_SCHEMA_VERSION
              && !migrate (s, error))))
    return NULL;
  if (!check_log (s, error))
    return NULL;
  return &g_steal_pointer (&s)->base;
}
