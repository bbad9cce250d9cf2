/* gst-faceverify: face verification on the CPU
 *
 * fv-gallery-pg.c: the PostgreSQL store's data: one transaction per
 * change (which bumps the generation and NOTIFYs on commit), reading,
 * loading a snapshot in one repeatable-read transaction, and change
 * detection from the notifications on the store's own connection.
 */
#include "fv-config.h"
#include "core/fv-core.h"
#include "gallery/fv-gallery-pg.h"

#include <math.h>
#include <string.h>

#define LOC(s) ((s)->location)

/* How often poll() compares the generation, in case notifications do not
 * arrive (a connection pooler in between, say). */
#define GENERATION_CHECK_US (5 * G_TIME_SPAN_SECOND)

/* ------------------------------------------------------------------------ */
/* Changes                                                                  */
/* ------------------------------------------------------------------------ */

/* The id of @label, or 0 if it is not in the gallery; -1 on error. */
static gint64
lookup_identity (FvGalleryStore * store, const char *label, const char *what,
    GError ** error)
{
  FvPgStore *s = FV_PG_STORE (store);
  FvPgParams p = { 0 };
  g_autoptr (PGresult) res = NULL;

  fv_pg_param_text (&p, label);
  res = fv_pg_query (s, "SELECT id FROM fv_identities WHERE label = $1", &p,
      TRUE, what, error);
  if (!res)
    return -1;
  return PQntuples (res) > 0 ? fv_pg_get_int (res, 0, 0) : 0;
}

/* An identity the open write transaction changes, for the change log. */
static void
touch (FvPgStore * s, gint64 id)
{
  g_array_append_val (s->touched, id);
}

static gboolean
run_on_id (FvGalleryStore * store, const char *sql, gint64 id,
    const char *what, GError ** error)
{
  FvPgStore *s = FV_PG_STORE (store);
  FvPgParams p = { 0 };
  g_autoptr (PGresult) res = NULL;

  fv_pg_param_int (&p, id);
  res = fv_pg_query (s, sql, &p, FALSE, what, error);
  if (res)
    touch (s, id);
  return res != NULL;
}

/* Creates @e's identity or updates the one with its label; sets *id. A
 * new label (the bulk of an enrolment) takes one round trip. */
static gboolean
write_identity (FvPgStore * s, const FvGalleryStoreIdentity * e,
    FvGalleryEnrollFlags flags, const char *what, gint64 * id, GError ** error)
{
  FvPgParams p = { 0 };
  g_autoptr (PGresult) res = NULL;
  const char *sql;

  fv_pg_param_text (&p, e->label);
  fv_pg_param_text (&p, e->display_name);
  fv_pg_param_int (&p, e->created);
  fv_pg_param_int (&p, e->updated);
  res = fv_pg_query (s, "INSERT INTO fv_identities (label, display_name,"
      " created, updated) VALUES ($1, $2, $3, $4)"
      " ON CONFLICT (label) DO NOTHING RETURNING id", &p, TRUE, what, error);
  if (!res)
    return FALSE;
  if (PQntuples (res) > 0) {
    *id = fv_pg_get_int (res, 0, 0);
    return TRUE;
  }
  g_clear_pointer (&res, PQclear);
  memset (&p, 0, sizeof p);

  *id = lookup_identity (&s->base, e->label, what, error);
  if (*id < 0)
    return FALSE;
  if (*id == 0 || flags == FV_GALLERY_ENROLL_NEW_ONLY) {
    g_set_error (error, FV_GALLERY_ERROR, *id == 0 ? FV_GALLERY_ERROR_BUSY :
        FV_GALLERY_ERROR_EXISTS, *id == 0 ? "%s: the label \"%s\" changed "
        "while it was enrolled: try again" : "%s: the label \"%s\" is "
        "already in the gallery", LOC (&s->base), e->label);
    return FALSE;
  }
  if (flags == FV_GALLERY_ENROLL_REPLACE) {
    if (!run_on_id (&s->base, "DELETE FROM fv_samples WHERE identity_id = $1",
            *id, what, error))
      return FALSE;
    sql = "UPDATE fv_identities SET display_name = $2, updated = $3 "
        "WHERE id = $1";
  } else {
    sql = "UPDATE fv_identities SET display_name = coalesce ($2,"
        " display_name), updated = $3 WHERE id = $1";
  }
  fv_pg_param_int (&p, *id);
  fv_pg_param_text (&p, e->display_name);
  fv_pg_param_int (&p, e->updated);
  res = fv_pg_query (s, sql, &p, FALSE, what, error);
  return res != NULL;
}

/* Enrolls one identity inside the caller's transaction. */
static gboolean
enroll_one (FvGalleryStore * store, const FvGalleryStoreIdentity * e,
    FvGalleryEnrollFlags flags, const char *what, gint64 * identity_id,
    GError ** error)
{
  FvPgStore *s = FV_PG_STORE (store);
  const guint dim = s->base.dim;
  g_autofree float *unit = g_new (float, dim);
  g_autofree guint8 *blob = g_new (guint8, (gsize) (dim) * 4);
  gint64 id;
  guint i;

  if (!write_identity (s, e, flags, what, &id, error))
    return FALSE;
  touch (s, id);
  for (i = 0; i < e->n_samples; i++) {
    const FvGallerySample *sample = &e->samples[i];
    g_autofree char *source = NULL;
    g_autoptr (PGresult) res = NULL;
    FvPgParams p = { 0 };
    gboolean has_quality;

    if (!fv_gallery_store_encode_sample (sample, dim, unit, blob, &source,
            &has_quality, error))
      return FALSE;
    fv_pg_param_int (&p, id);
    fv_pg_param_binary (&p, blob, (int) dim * 4);
    if (has_quality)
      fv_pg_param_double (&p, sample->quality);
    else
      fv_pg_param_text (&p, NULL);
    fv_pg_param_text (&p, source);
    fv_pg_param_int (&p, e->sample_created ? e->sample_created[i]
        : e->updated);
    res = fv_pg_query (s, "INSERT INTO fv_samples (identity_id, embedding,"
        " quality, source, created) VALUES ($1, $2, $3, $4, $5)", &p, FALSE,
        what, error);
    if (!res)
      return FALSE;
  }
  if (identity_id)
    *identity_id = id;
  return TRUE;
}

/* Appends a quoted element (NULL for %NULL) to an array literal. */
static void
array_add_text (GString * a, const char *text)
{
  const char *c;

  if (a->len > 1)
    g_string_append_c (a, ',');
  if (text == NULL) {
    g_string_append (a, "NULL");
    return;
  }
  g_string_append_c (a, '"');
  for (c = text; *c; c++) {
    if (*c == '"' || *c == '\\')
      g_string_append_c (a, '\\');
    g_string_append_c (a, *c);
  }
  g_string_append_c (a, '"');
}

static void
array_add_int (GString * a, gint64 v)
{
  if (a->len > 1)
    g_string_append_c (a, ',');
  g_string_append_printf (a, "%" G_GINT64_FORMAT, v);
}

/* The columns of a batch as array literals, for unnest(); handed to the
 * parameters (which then own the text) or freed by columns_clear(). */
typedef struct
{
  GString *col[5];
} Columns;

static void
columns_init (Columns * c, guint n)
{
  guint i;

  for (i = 0; i < n; i++)
    c->col[i] = g_string_new ("{");
  for (; i < G_N_ELEMENTS (c->col); i++)
    c->col[i] = NULL;
}

static void
columns_clear (Columns * c, FvPgParams * p)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (c->col) && c->col[i]; i++) {
    if (p) {
      g_string_append_c (c->col[i], '}');
      fv_pg_param_text (p, g_string_free (c->col[i], FALSE));
    } else {
      g_string_free (c->col[i], TRUE);
    }
  }
}

/* Adds @e's samples (checked) to the sample columns of identity @id. */
static gboolean
add_samples (FvPgStore * s, const FvGalleryStoreIdentity * e, gint64 id,
    Columns * c, float *unit, guint8 * blob, GError ** error)
{
  const guint dim = s->base.dim;
  guint i, k;

  for (i = 0; i < e->n_samples; i++) {
    const FvGallerySample *sample = &e->samples[i];
    g_autofree char *source = NULL;
    gboolean has_quality;

    if (!fv_gallery_store_encode_sample (sample, dim, unit, blob, &source,
            &has_quality, error))
      return FALSE;
    array_add_int (c->col[0], id);
    g_string_append (c->col[1], c->col[1]->len > 1 ? ",\"\\\\x" : "\"\\\\x");
    for (k = 0; k < dim * 4; k++) {
      g_string_append_c (c->col[1], "0123456789abcdef"[blob[k] >> 4]);
      g_string_append_c (c->col[1], "0123456789abcdef"[blob[k] & 15]);
    }
    g_string_append_c (c->col[1], '"');
    if (c->col[2]->len > 1)
      g_string_append_c (c->col[2], ',');
    if (has_quality) {
      char q[G_ASCII_DTOSTR_BUF_SIZE];
      g_string_append (c->col[2], g_ascii_formatd (q, sizeof q, "%.17g",
              sample->quality));
    } else {
      g_string_append (c->col[2], "NULL");
    }
    array_add_text (c->col[3], source);
    array_add_int (c->col[4], e->sample_created ? e->sample_created[i]
        : e->updated);
  }
  return TRUE;
}

/* Inserts the first of each label of @ids in one statement and the
 * samples of those that were new in a second; the rest (labels already
 * there, repeated labels) go through enroll_one() in order afterwards,
 * which gives each identity what the one-by-one loop gives it: nothing
 * else touches a new label in between. Two round trips per batch
 * instead of two per identity. */
static gboolean
enroll_many (FvGalleryStore * store, const FvGalleryStoreIdentity * ids,
    guint n, FvGalleryEnrollFlags flags, const char *what,
    gint64 * identity_id, GError ** error)
{
  FvPgStore *s = FV_PG_STORE (store);
  g_autoptr (GHashTable) first = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree gint64 *id = g_new0 (gint64, n);
  g_autofree gboolean *done = g_new0 (gboolean, n);
  g_autofree float *unit = g_new (float, store->dim);
  g_autofree guint8 *blob = g_new (guint8, (gsize) (store->dim) * 4);
  g_autoptr (PGresult) res = NULL;
  FvPgParams p = { 0 };
  Columns c;
  guint i;
  int row;
  gboolean any = FALSE;

  columns_init (&c, 4);
  for (i = 0; i < n; i++) {
    if (g_hash_table_contains (first, ids[i].label))
      continue;
    g_hash_table_insert (first, (gpointer) ids[i].label, GUINT_TO_POINTER (i));
    array_add_text (c.col[0], ids[i].label);
    array_add_text (c.col[1], ids[i].display_name);
    array_add_int (c.col[2], ids[i].created);
    array_add_int (c.col[3], ids[i].updated);
  }
  columns_clear (&c, &p);
  res = fv_pg_query (s, "INSERT INTO fv_identities (label, display_name,"
      " created, updated) SELECT * FROM unnest ($1::text[], $2::text[],"
      " $3::int8[], $4::int8[]) ON CONFLICT (label) DO NOTHING"
      " RETURNING id, label", &p, TRUE, what, error);
  for (i = 0; i < 4; i++)
    g_free ((char *) p.values[i]);
  if (!res)
    return FALSE;

  columns_init (&c, 5);
  for (row = 0; row < PQntuples (res); row++) {
    gpointer v;
    if (!g_hash_table_lookup_extended (first, PQgetvalue (res, row, 1), NULL,
            &v))
      continue;
    i = GPOINTER_TO_UINT (v);
    id[i] = fv_pg_get_int (res, row, 0);
    done[i] = TRUE;
    touch (s, id[i]);
    if (!add_samples (s, &ids[i], id[i], &c, unit, blob, error)) {
      columns_clear (&c, NULL);
      return FALSE;
    }
    any = any || ids[i].n_samples > 0;
  }
  g_clear_pointer (&res, PQclear);
  memset (&p, 0, sizeof p);
  columns_clear (&c, &p);
  if (any)
    res = fv_pg_query (s, "INSERT INTO fv_samples (identity_id, embedding,"
        " quality, source, created) SELECT * FROM unnest ($1::int8[],"
        " $2::bytea[], $3::float8[], $4::text[], $5::int8[])", &p, FALSE,
        what, error);
  for (i = 0; i < 5; i++)
    g_free ((char *) p.values[i]);
  if (any && !res)
    return FALSE;

  for (i = 0; i < n; i++)
    if (!done[i] && !enroll_one (store, &ids[i], flags, what, &id[i], error))
      return FALSE;
  if (identity_id)
    *identity_id = id[n - 1];
  return TRUE;
}

/* BEGIN and the generation bumped first (its row lock orders the
 * writers, so each sees the one before); the change; NOTIFY and COMMIT. */
static gboolean
pg_begin_write (FvGalleryStore * store, const char *what, GError ** error)
{
  FvPgStore *s = FV_PG_STORE (store);

  if (store->read_only) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_READ_ONLY,
        "%s: cannot %s: the gallery was opened read-only", LOC (store), what);
    return FALSE;
  }
  g_array_set_size (s->touched, 0);
  return fv_pg_exec (s, "BEGIN", what, error)
      && fv_pg_exec (s, "UPDATE fv_meta SET value = (value::bigint + 1)::text"
      " WHERE key = 'generation'", what, error);
}

static int
compare_i64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

/* The identities of the open write as an array literal: each once; {0}
 * for none and {-1} (load everything) for too many. */
static char *
touched_literal (FvPgStore * s)
{
  GArray *t = s->touched;
  GString *out = g_string_new ("{");
  guint i, n = 0;

  g_array_sort (t, compare_i64);
  for (i = 0; i < t->len; i++)
    if (i == 0 || g_array_index (t, gint64, i) != g_array_index (t, gint64,
            i - 1))
      n++;
  if (n == 0 || n > FV_PG_LOG_MAX_IDS) {
    g_string_append (out, n == 0 ? "0}" : "-1}");
    return g_string_free (out, FALSE);
  }
  for (i = 0; i < t->len; i++) {
    gint64 id = g_array_index (t, gint64, i);

    if (i > 0 && id == g_array_index (t, gint64, i - 1))
      continue;
    g_string_append_printf (out, "%s%" G_GINT64_FORMAT, out->len > 1 ? ","
        : "", id);
  }
  g_string_append_c (out, '}');
  return g_string_free (out, FALSE);
}

/* Logs the identities (version 3), prunes the log to FV_PG_LOG_KEEP
 * generations, NOTIFYs with the generation and commits. */
static gboolean
pg_commit_write (FvGalleryStore * store, const char *what, GError ** error)
{
  FvPgStore *s = FV_PG_STORE (store);
  g_autofree char *ids = NULL;
  g_autoptr (PGresult) res = NULL;
  FvPgParams p = { 0 };

  if (store->schema_version >= 3) {
    ids = touched_literal (s);
    fv_pg_param_text (&p, ids);
    fv_pg_param_int (&p, FV_PG_LOG_KEEP);
    res = fv_pg_query (s, "WITH g AS (SELECT value::bigint AS gen FROM"
        " fv_meta WHERE key = 'generation'),"
        " logged AS (INSERT INTO fv_changes (generation, identity_id)"
        "  SELECT g.gen, x FROM g, unnest ($1::bigint[]) AS x),"
        " pruned AS (DELETE FROM fv_changes USING g"
        "  WHERE fv_changes.generation <= g.gen - $2)"
        " SELECT pg_notify ('" FV_PG_CHANNEL "', g.gen::text) FROM g", &p,
        FALSE, what, error);
  } else {
    res = fv_pg_query (s, "SELECT pg_notify ('" FV_PG_CHANNEL "', value)"
        " FROM fv_meta WHERE key = 'generation'", NULL, FALSE, what, error);
  }
  if (!res || !fv_pg_exec (s, "COMMIT", what, error))
    return FALSE;
  s->local_changes++;
  return TRUE;
}

static void
pg_rollback_write (FvGalleryStore * store)
{
  fv_pg_rollback (FV_PG_STORE (store));
}

static gboolean
run_on_label (FvGalleryStore * store, const char *sql, const char *label,
    const char *value, const char *what, gboolean * changed, GError ** error)
{
  FvPgParams p = { 0 };
  g_autoptr (PGresult) res = NULL;

  fv_pg_param_text (&p, label);
  fv_pg_param_text (&p, value);
  fv_pg_param_int (&p, fv_gallery_now ());
  res = fv_pg_query (FV_PG_STORE (store), sql, &p, FALSE, what, error);
  if (!res)
    return FALSE;
  *changed = strcmp (PQcmdTuples (res), "0") != 0;
  if (*changed && PQntuples (res) > 0)  /* RETURNING id */
    touch (FV_PG_STORE (store), g_ascii_strtoll (PQgetvalue (res, 0, 0),
            NULL, 10));
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Reading (binary results)                                                 */
/* ------------------------------------------------------------------------ */

static const char list_sql[] =
    "SELECT i.id, i.label, i.display_name, i.created, i.updated,"
    "  coalesce (c.n, 0)"
    " FROM fv_identities AS i LEFT JOIN"
    "  (SELECT identity_id, count(*) AS n FROM fv_samples"
    "   GROUP BY identity_id) AS c ON c.identity_id = i.id";

static void
identity_columns (const PGresult * res, int row, int col,
    FvGalleryIdentity * id)
{
  id->id = fv_pg_get_int (res, row, col);
  id->label = (char *) fv_pg_get_text (res, row, col + 1);
  id->display_name = (char *) fv_pg_get_text (res, row, col + 2);
  id->created = fv_pg_get_int (res, row, col + 3);
  id->updated = fv_pg_get_int (res, row, col + 4);
}

static GPtrArray *
pg_list (FvGalleryStore * store, const char *label, GError ** error)
{
  const char *what = label ? "read the identity" : "list the identities";
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func
      ((GDestroyNotify) fv_gallery_identity_free);
  g_autofree char *sql = g_strconcat (list_sql, label ? " WHERE i.label = $1"
      : " ORDER BY i.label COLLATE \"C\"", NULL);
  FvPgParams p = { 0 };
  g_autoptr (PGresult) res = NULL;
  int i;

  if (label)
    fv_pg_param_text (&p, label);
  res = fv_pg_query (FV_PG_STORE (store), sql, &p, TRUE, what, error);
  if (!res)
    return NULL;
  for (i = 0; i < PQntuples (res); i++) {
    FvGalleryIdentity row = { 0 };
    FvGalleryIdentity *id = g_new0 (FvGalleryIdentity, 1);

    identity_columns (res, i, 0, &row);
    *id = row;
    id->label = g_strdup (row.label ? row.label : "");
    id->display_name = g_strdup (row.display_name);
    id->n_samples = (guint) CLAMP (fv_pg_get_int (res, i, 5), 0, G_MAXUINT);
    g_ptr_array_add (list, id);
  }
  return g_steal_pointer (&list);
}

/* Columns @col.. as (id, quality, source, created, embedding). */
static gboolean
sample_columns (FvGalleryStore * store, const PGresult * res, int row,
    int col, FvGalleryStoreSample * s, float *embedding, GError ** error)
{
  s->id = fv_pg_get_int (res, row, col);
  s->has_quality = !PQgetisnull (res, row, col + 1);
  s->quality = fv_pg_get_double (res, row, col + 1);
  s->source = fv_pg_get_text (res, row, col + 2);
  s->created = fv_pg_get_int (res, row, col + 3);
  s->embedding = embedding;
  return fv_gallery_decode_embedding (store, s->id,
      PQgetisnull (res, row, col + 4) ? NULL : PQgetvalue (res, row, col + 4),
      (gsize) PQgetlength (res, row, col + 4), embedding, error);
}

static GPtrArray *
pg_get_samples (FvGalleryStore * store, const char *label, GError ** error)
{
  const char *what = "read the samples";
  FvPgStore *s = FV_PG_STORE (store);
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func
      ((GDestroyNotify) fv_gallery_sample_info_free);
  FvPgParams p = { 0 };
  g_autoptr (PGresult) res = NULL;
  int i;

  fv_pg_param_text (&p, label);
  res = fv_pg_query (s, "SELECT i.id, s.id, s.quality, s.source, s.created,"
      " s.embedding FROM fv_identities AS i LEFT JOIN fv_samples AS s"
      " ON s.identity_id = i.id WHERE i.label = $1 ORDER BY s.id", &p, TRUE,
      what, error);
  if (!res)
    return NULL;
  if (PQntuples (res) == 0) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_NOT_FOUND,
        "%s: no identity \"%s\" in the gallery", LOC (store), label);
    return NULL;
  }
  for (i = 0; i < PQntuples (res); i++) {
    FvGallerySampleInfo *info;
    FvGalleryStoreSample sample;

    if (PQgetisnull (res, i, 1))
      continue;
    info = g_new0 (FvGallerySampleInfo, 1);
    g_ptr_array_add (list, info);
    info->embedding = g_new (float, store->dim);
    if (!sample_columns (store, res, i, 1, &sample, info->embedding, error))
      return NULL;
    info->id = sample.id;
    info->quality = sample.has_quality ? (float) sample.quality : -1.0f;
    info->source = g_strdup (sample.source);
    info->created = sample.created;
  }
  return g_steal_pointer (&list);
}

static gboolean
pg_foreach_sample (FvGalleryStore * store, FvGalleryStoreVisit visit,
    gpointer user_data, GError ** error)
{
  g_autofree float *unit = g_new (float, store->dim);
  g_autoptr (PGresult) res = fv_pg_query (FV_PG_STORE (store),
      "SELECT i.id, i.label, i.display_name, i.created, i.updated,"
      "  s.id, s.quality, s.source, s.created, s.embedding"
      " FROM fv_identities AS i LEFT JOIN fv_samples AS s"
      " ON s.identity_id = i.id ORDER BY i.label COLLATE \"C\", s.id", NULL,
      TRUE, "export the gallery", error);
  int i;

  if (!res)
    return FALSE;
  for (i = 0; i < PQntuples (res); i++) {
    FvGalleryIdentity identity = { 0 };
    FvGalleryStoreSample sample;
    gboolean has_sample = !PQgetisnull (res, i, 5);

    identity_columns (res, i, 0, &identity);
    if (has_sample && !sample_columns (store, res, i, 5, &sample, unit, error))
      return FALSE;
    if (!visit (&identity, has_sample ? &sample : NULL, user_data, error))
      return FALSE;
  }
  return TRUE;
}

static gboolean
pg_get_meta (FvGalleryStore * store, const char *key, char **value,
    GError ** error)
{
  FvPgParams p = { 0 };
  g_autoptr (PGresult) res = NULL;

  *value = NULL;
  fv_pg_param_text (&p, key);
  res = fv_pg_query (FV_PG_STORE (store), "SELECT value FROM fv_meta"
      " WHERE key = $1", &p, FALSE, "read the gallery's metadata", error);
  if (!res)
    return FALSE;
  if (PQntuples (res) > 0)
    *value = g_strdup (fv_pg_get_text (res, 0, 0));
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Loading and change detection                                             */
/* ------------------------------------------------------------------------ */

/* A snapshot of the identities in @ids (id, label, display name; by id)
 * and the samples in @samples (identity id, embedding, id; by identity
 * and id). */
static FvGallerySnapshot *
build (FvPgStore * s, const PGresult * ids, const PGresult * samples,
    guint64 generation, GError ** error)
{
  g_autoptr (FvGallerySnapshotBuild) b = NULL;
  int i, n = PQntuples (samples);

  b = fv_gallery_snapshot_build_new (&s->base);
  for (i = 0; i < PQntuples (ids); i++)
    fv_gallery_snapshot_build_identity (b, fv_pg_get_int (ids, i, 0),
        fv_pg_get_text (ids, i, 1), fv_pg_get_text (ids, i, 2));
  for (i = 0; i < n; i++)
    if (!fv_gallery_snapshot_build_count (b, fv_pg_get_int (samples, i, 0),
            error))
      return NULL;
  fv_gallery_snapshot_build_layout (b, generation);
  for (i = 0; i < n; i++)
    if (!fv_gallery_snapshot_build_sample (b, fv_pg_get_int (samples, i, 0),
            fv_pg_get_int (samples, i, 2), PQgetvalue (samples, i, 1),
            (gsize) PQgetlength (samples, i, 1), error))
      return NULL;
  return fv_gallery_snapshot_build_finish (g_steal_pointer (&b), error);
}

/* Everything, inside the caller's read transaction. */
static FvGallerySnapshot *
read_all (FvPgStore * s, guint64 generation, GError ** error)
{
  const char *what = "load the gallery";
  g_autoptr (PGresult) ids = NULL;
  g_autoptr (PGresult) samples = NULL;

  ids = fv_pg_query (s, "SELECT id, label, display_name FROM"
      " fv_identities ORDER BY id", NULL, TRUE, what, error);
  samples = ids ? fv_pg_query (s, "SELECT identity_id, embedding, id FROM"
      " fv_samples ORDER BY identity_id, id", NULL, TRUE, what, error) : NULL;
  return samples ? build (s, ids, samples, generation, error) : NULL;
}

/* The identities that the generations after @previous's up to
 * @generation changed, from the change log (ascending, as an array literal
 * in *@literal); NULL without @error when the log cannot tell (pruned, a
 * change written around it, "everything", or so many that loading
 * everything is cheaper). */
static GArray *
read_log (FvPgStore * s, FvGallerySnapshot * previous, guint64 generation,
    char **literal, GError ** error)
{
  const char *what = "read the gallery's changes";
  const guint64 from = fv_gallery_snapshot_get_generation (previous);
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (PGresult) count = NULL;
  g_autoptr (PGresult) rows = NULL;
  FvPgParams p = { 0 };
  GString *lit;
  guint max;
  int i;

  fv_pg_param_int (&p, (gint64) from);
  fv_pg_param_int (&p, (gint64) generation);
  count = fv_pg_query (s, "SELECT count(DISTINCT generation) FROM fv_changes"
      " WHERE generation > $1 AND generation <= $2", &p, TRUE, what, error);
  if (!count || fv_pg_get_int (count, 0, 0) != (gint64) (generation - from))
    return NULL;
  rows = fv_pg_query (s, "SELECT DISTINCT identity_id FROM fv_changes"
      " WHERE generation > $1 AND generation <= $2 ORDER BY 1", &p, TRUE,
      what, error);
  max = MAX (64, fv_gallery_snapshot_get_n_identities (previous) / 2);
  if (!rows || (guint) PQntuples (rows) > max)
    return NULL;
  lit = g_string_new ("{");
  for (i = 0; i < PQntuples (rows); i++) {
    gint64 id = fv_pg_get_int (rows, i, 0);

    if (id < 0) {
      g_string_free (lit, TRUE);
      return NULL;
    }
    g_array_append_val (ids, id);
    g_string_append_printf (lit, "%s%" G_GINT64_FORMAT, i ? "," : "", id);
  }
  g_string_append_c (lit, '}');
  *literal = g_string_free (lit, FALSE);
  return g_steal_pointer (&ids);
}

/* @previous plus the changes after it, inside the caller's read
 * transaction; NULL without @error when a full load is due. */
static FvGallerySnapshot *
read_changes (FvPgStore * s, FvGallerySnapshot * previous,
    guint64 generation, GError ** error)
{
  const char *what = "load the gallery's changes";
  g_autofree char *literal = NULL;
  g_autoptr (GArray) changed = NULL;
  g_autoptr (PGresult) ids = NULL;
  g_autoptr (PGresult) samples = NULL;
  g_autoptr (FvGallerySnapshot) delta = NULL;
  FvPgParams p = { 0 };

  if (fv_gallery_snapshot_get_generation (previous) == generation)
    return fv_gallery_snapshot_ref (previous);
  changed = read_log (s, previous, generation, &literal, error);
  if (!changed)
    return NULL;
  fv_pg_param_text (&p, literal);
  ids = fv_pg_query (s, "SELECT id, label, display_name FROM fv_identities"
      " WHERE id = ANY ($1::bigint[]) ORDER BY id", &p, TRUE, what, error);
  samples = ids ? fv_pg_query (s, "SELECT identity_id, embedding, id FROM"
      " fv_samples WHERE identity_id = ANY ($1::bigint[])"
      " ORDER BY identity_id, id", &p, TRUE, what, error) : NULL;
  delta = samples ? build (s, ids, samples, generation, error) : NULL;
  if (!delta)
    return NULL;
  return fv_gallery_snapshot_merge (previous, (const gint64 *) changed->data,
      changed->len, delta);
}

static gboolean
connection_ok (FvPgStore * s)
{
  return s->conn != NULL && PQstatus (s->conn) == CONNECTION_OK;
}

/* Whether @previous is what this store loaded last, so that the change log
 * can bring it up to date. */
static gboolean
can_follow_log (FvPgStore * s, FvGallerySnapshot * previous)
{
  return s->has_log && previous != NULL && s->loaded_generation >= 0
      && fv_gallery_snapshot_get_generation (previous) ==
      (guint64) s->loaded_generation
      && fv_gallery_snapshot_get_n_skipped (previous) == 0
      && fv_gallery_snapshot_get_dim (previous) == s->base.dim;
}

/* One repeatable-read transaction: the generation, then the changes after
 * @previous from the log when it can tell, else everything. */
static FvGallerySnapshot *
read_snapshot (FvPgStore * s, FvGallerySnapshot * previous, GError ** error)
{
  const char *what = "load the gallery";
  g_autoptr (PGresult) gen = NULL;
  g_autoptr (GError) err = NULL;
  FvGallerySnapshot *snap = NULL;
  double threshold = NAN;
  guint64 generation;

  if (!fv_pg_exec (s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
          what, error))
    return NULL;
  gen = fv_pg_query (s, "SELECT value::bigint, (SELECT value FROM fv_meta"
      " WHERE key = '" FV_GALLERY_META_THRESHOLD "') FROM fv_meta"
      " WHERE key = 'generation'", NULL, TRUE, what, error);
  if (gen && PQntuples (gen) > 0 && !PQgetisnull (gen, 0, 1)
      && !fv_gallery_parse_threshold (PQgetvalue (gen, 0, 1), &threshold)) {
    g_set_error (error, FV_GALLERY_ERROR, FV_GALLERY_ERROR_CORRUPT,
        "%s: cannot load the gallery: its %s is damaged (not a number in "
        "[-1, 1])", s->base.location, FV_GALLERY_META_THRESHOLD);
    g_clear_pointer (&gen, PQclear);
  }
  if (gen) {
    generation = PQntuples (gen) > 0 ? (guint64) fv_pg_get_int (gen, 0, 0)
        : 0;
    if (can_follow_log (s, previous))
      snap = read_changes (s, previous, generation, &err);
    if (!snap && !err)
      snap = read_all (s, generation, &err);
    if (snap) {
      s->loaded_generation = (gint64) generation;
      /* a new snapshot (the same generation returns @previous as it is):
       * the calibration is in fv_meta, not in the change log */
      if (snap != previous)
        snap->default_threshold = threshold;
    } else {
      g_propagate_error (error, g_steal_pointer (&err));
    }
  }
  fv_pg_rollback (s);
  return snap;
}

static FvGallerySnapshot *
pg_load (FvGalleryStore * store, FvGallerySnapshot * previous, GError ** error)
{
  FvPgStore *s = FV_PG_STORE (store);
  FvGallerySnapshot *snap;
  guint64 local_changes = s->local_changes;

  /* A lost connection: reconnect (LISTEN again); the generation then
   * catches up whatever the notifications missed meanwhile. */
  if (!connection_ok (s) && !fv_pg_connect (s, error))
    return NULL;
  /* Cleared before reading: a commit after this shows in the next poll. */
  s->notified = FALSE;
  snap = read_snapshot (s, previous, error);
  if (!snap) {
    s->notified = connection_ok (s);
    if (!s->notified)
      fv_pg_lost (s);
    return NULL;
  }
  s->loaded_local_changes = local_changes;
  s->check_at = g_get_monotonic_time () + GENERATION_CHECK_US;
  return snap;
}

/* Whether the generation differs from the one loaded (one round trip);
 * also TRUE when the check fails, so that load() tells why. */
static gboolean
generation_moved (FvPgStore * s)
{
  g_autoptr (PGresult) res = fv_pg_query (s, "SELECT value::bigint FROM"
      " fv_meta WHERE key = 'generation'", NULL, TRUE, "check the gallery",
      NULL);

  s->check_at = g_get_monotonic_time () + GENERATION_CHECK_US;
  return res == NULL || PQntuples (res) != 1
      || fv_pg_get_int (res, 0, 0) != s->loaded_generation;
}

/* Never blocks but for a generation check every GENERATION_CHECK_US:
 * reads what the socket holds. A lost connection asks for a
 * load (which reconnects) once its back-off has passed. */
static FvGalleryStoreChange
pg_poll (FvGalleryStore * store)
{
  FvPgStore *s = FV_PG_STORE (store);
  PGnotify *n;

  if (connection_ok (s) && PQconsumeInput (s->conn) && connection_ok (s)) {
    while ((n = PQnotifies (s->conn)) != NULL) {
      /* The payload is the writer's generation: one already loaded (the
       * echo of a change that a load has seen) asks for nothing. */
      if (g_ascii_strtoll (n->extra, NULL, 10) > s->loaded_generation)
        s->notified = TRUE;
      PQfreemem (n);
    }
    if (!s->notified && g_get_monotonic_time () >= s->check_at)
      s->notified = generation_moved (s);
    return s->notified || s->local_changes != s->loaded_local_changes ?
        FV_GALLERY_STORE_CHANGED : FV_GALLERY_STORE_UNCHANGED;
  }
  if (s->conn) {
    /* Just lost: the first reconnection is due now. */
    fv_pg_disconnect (s);
    s->retry_at = g_get_monotonic_time ();
  }
  return g_get_monotonic_time () >= s->retry_at ? FV_GALLERY_STORE_CHANGED :
      FV_GALLERY_STORE_UNCHANGED;
}

const FvGalleryStoreClass fv_gallery_pg_class = {
  .name = "postgresql",
  .remote = TRUE,
  .stat = fv_pg_stat,
  .open = fv_pg_store_open,
  .close = fv_pg_store_close,
  .poll = pg_poll,
  .load = pg_load,
  .list = pg_list,
  .get_samples = pg_get_samples,
  .foreach_sample = pg_foreach_sample,
  .get_meta = pg_get_meta,
  .begin_write = pg_begin_write,
  .commit_write = pg_commit_write,
  .rollback_write = pg_rollback_write,
  .enroll_one = enroll_one,
  .enroll_many = enroll_many,
  .lookup_identity = lookup_identity,
  .run_on_id = run_on_id,
  .run_on_label = run_on_label,
  .delete_samples_sql = "DELETE FROM fv_samples WHERE identity_id = $1",
  .delete_identity_sql = "DELETE FROM fv_identities WHERE id = $1",
  .set_label_sql = "UPDATE fv_identities SET label = $2, updated = $3"
      " WHERE label = $1 RETURNING id",
  .set_display_name_sql = "UPDATE fv_identities SET display_name = $2,"
      " updated = $3 WHERE label = $1 RETURNING id",
  .set_meta_sql = "INSERT INTO fv_meta (key, value) VALUES ($1, $2),"
      " ($1::text || '_updated', $3) ON CONFLICT (key) DO UPDATE"
      " SET value = EXCLUDED.value",
};
